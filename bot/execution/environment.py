"""The environment a playbook runs with: an allow-list, never the worker's own secrets.

ansible-runner seeds a run's environment with a copy of ``os.environ`` and has no
switch to stop it, and it writes that environment to ``artifacts/<id>/command``.
The worker's environment holds toilbot's secrets (``SLACK_BOT_TOKEN``,
``SLACK_SIGNING_SECRET``, ``SLACK_APP_TOKEN``, ``TOILBOT_AUDIT_KEY``, ``REDIS_URL``
with its password...), so after ansible-runner has prepared a run, ``restrict``
drops every variable it copied from the worker that is not on the allow-list
below: what Ansible, ssh and the modules it runs locally need.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Inherited from the worker by name.
INHERITED = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TERM",
        "SSH_AUTH_SOCK",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
    }
)
#: Inherited from the worker by prefix: locale settings and Ansible's own configuration.
INHERITED_PREFIXES = ("LC_", "ANSIBLE_")


def inherited(name: str) -> bool:
    """True if a worker's variable of this name may reach Ansible."""
    return name in INHERITED or name.startswith(INHERITED_PREFIXES)


def restrict(prepared: Mapping[str, str], worker: Mapping[str, str]) -> dict[str, str]:
    """ansible-runner's ``prepared`` environment without what it copied from the ``worker``'s
    environment unless allowed; what toilbot or ansible-runner set themselves stays."""
    return {
        name: value
        for name, value in prepared.items()
        if name not in worker or inherited(name) or worker[name] != value
    }
