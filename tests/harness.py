"""A chat-transcript harness on the real pipeline: ``assert "ok" in bot.say("status localhost")``.

Jobs run in this process on the real RQ queue, as in `toilbot console`: with
real Ansible by default, or with any runner of ``run_playbook``'s signature
(the fast tier's ``tests/fast/fake_runner.py``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from bot.config.settings import Settings
from bot.execution.ansible import run_playbook
from bot.execution.run import PlaybookRunner
from bot.frontends.console import Session
from bot.frontends.wiring import assemble
from bot.pipeline.bot import Bot
from bot.platform.store import Store


@dataclass
class Harness:
    bot: Bot
    store: Store
    last_exit: int = 0

    @classmethod
    def start(
        cls, settings: Settings, store: Store, runner: PlaybookRunner = run_playbook
    ) -> Harness:
        """The bot as every process assembles it; its jobs run with ``runner``."""
        return cls(assemble(settings, store, runner=runner).bot, store)

    def say(self, text: str, user: str | None = None, *, confirm: bool = True) -> str:
        """What the bot prints for ``text`` typed by ``user``, with jobs run to the end."""
        session = Session(self.bot, self.store, user or self.bot.settings.local_user, "test")
        out = io.StringIO()
        self.last_exit = session.run(text, lambda _prompt: confirm, out)
        return out.getvalue()
