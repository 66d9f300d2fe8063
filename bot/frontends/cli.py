"""toilbot console | exec | worker | check | audit ...: the only place that exits."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.config.settings import load_settings
from bot.config.wiring import Assembly
from bot.frontends import health
from bot.frontends import text as frontend_text
from bot.frontends.console import EXIT_CONFIG, EXIT_REFUSED, Session, console
from bot.frontends.terminal import Terminal
from bot.frontends.toil_files import toil_export, toil_import
from bot.frontends.wiring import assemble
from bot.pipeline.bot import Bot
from bot.pipeline.settings import Settings
from bot.platform import logs
from bot.platform.errors import ConfigError, StoreError, ToilbotError
from bot.platform.ids import USER_ID
from bot.platform.store import Store, connect

if TYPE_CHECKING:
    from bot.frontends.scheduler import Scheduler

# Start-up cost: what only some commands need (the checks, the RQ worker, the scheduler,
# Slack, ansible-runner) is imported inside the function that needs it, so `exec help`,
# `whoami` or a refusal load none of it (tests/frontends/test_startup.py).

EXIT_AUDIT_BROKEN = 1  # `toilbot audit verify` found an edited, deleted or reordered entry


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toilbot", description="ChatOps for operations teams: patch, restart, measure toil."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    con = sub.add_parser("console", help="interactive console on the local pipeline")
    con.add_argument(
        "--user", help="act as this Slack user id (default: local_user from toilbot.yaml)"
    )
    con.add_argument(
        "--no-worker", action="store_true", help="leave jobs to `toilbot worker` processes"
    )
    ex = sub.add_parser("exec", help="run one command and print the result")
    ex.add_argument("text", help='the command, e.g. "status localhost"')
    ex.add_argument(
        "--user", help="act as this Slack user id (default: local_user from toilbot.yaml)"
    )
    ex.add_argument("--json", action="store_true", help="print one JSON object")
    ex.add_argument("--yes", action="store_true", help="confirm commands that ask for confirmation")
    ex.add_argument(
        "--no-worker", action="store_true", help="leave the job to `toilbot worker` processes"
    )
    wk = sub.add_parser(
        "worker", help="run queued jobs (production; scale out with more processes)"
    )
    wk.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    sub.add_parser(
        "scheduler",
        help="fire scheduled runs (run several for high availability: one leads at a time)",
    )
    sub.add_parser("check", help="validate config, specs, policy, inventory and playbooks")
    health.add_parser(sub)
    sv = sub.add_parser(
        "serve", help="the Slack app over HTTP (Events API, slash commands, buttons)"
    )
    sv.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")  # noqa: S104 - a server
    sv.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    sv.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    sub.add_parser("socket", help="the Slack app over Socket Mode (no public URL needed)")
    tl = sub.add_parser(
        "toil", help="the toil ledger: `toilbot toil report --week 2026-W47 --json`"
    )
    tl_sub = tl.add_subparsers(dest="toil_command", required=True, metavar="COMMAND")
    tr = tl_sub.add_parser("report", help="a week's team and per-person figures")
    tr.add_argument("--week", help="ISO week such as 2026-W47 (default: this week)")
    tr.add_argument("--json", action="store_true", help="print one JSON object")
    ts = tl_sub.add_parser("summary", help="the weekly summary: preview it, or post it to Slack")
    ts.add_argument("--week", help="ISO week such as 2026-W47 (default: last week)")
    ts.add_argument("--png", help="write the chart to this file")
    ts.add_argument("--post", action="store_true", help="post it to toil.summary.channel, DM all")
    ti = tl_sub.add_parser("import", help="add entries from a CSV or JSON export, all or none")
    ti.add_argument("file", help="user,kind,category,start,end,note rows (.csv or .json)")
    te = tl_sub.add_parser("export", help="print entries as CSV or JSON")
    te.add_argument(
        "--since", required=True, help="a date (team midnight), an ISO time or an age (7d)"
    )
    te.add_argument("--until", help="a date or ISO time (default: now)")
    te.add_argument("--format", choices=("csv", "json"), default="csv", help="default csv")
    au = sub.add_parser("audit", help="the audit log: `toilbot audit verify`, `export --since 7d`")
    au_sub = au.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    ae = au_sub.add_parser("export", help="print entries, oldest first")
    ae.add_argument(
        "--since", help="a date (2026-11-01), a time (2026-11-01T09:30Z) or an age (7d)"
    )
    ae.add_argument("--until", help="same forms; entries before this time (default: now)")
    ae.add_argument("--json", action="store_true", help="one JSON object per line")
    au_sub.add_parser("verify", help="check the hash chain; names the first broken entry")
    au_sub.add_parser("trim", help="apply audit.retention from toilbot.yaml now")
    rn = sub.add_parser("run", help="the Slack app, a worker and the scheduler, for small teams")
    rn.add_argument(
        "--port",
        type=int,
        default=3000,
        help="HTTP port when SLACK_APP_TOKEN is not set (default 3000)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command in ("worker", "scheduler", "run") else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "health":
        return health.run_health(args, sys.stdout)
    if args.command == "check":
        from bot.config.check import run_checks

        return run_checks(sys.stdout)
    try:
        settings = load_settings()
        logs.configure(settings.logging, logging.getLevelName(logging.getLogger().level))
        user = getattr(args, "user", None) or settings.local_user
        if not re.fullmatch(USER_ID, user):
            print(frontend_text.bad_user_id(user), file=sys.stderr)
            return EXIT_REFUSED
        store = connect(settings.redis_url, settings.data_dir)
        assembly = assemble(settings, store)
    except (ConfigError, StoreError) as exc:
        print(frontend_text.config_invalid(str(exc)), file=sys.stderr)
        return EXIT_CONFIG
    try:
        return _dispatch(args, settings, store, assembly, user)
    except ConfigError as exc:
        print(frontend_text.config_invalid(str(exc)), file=sys.stderr)
        return EXIT_CONFIG
    except ToilbotError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG


def _dispatch(
    args: argparse.Namespace, settings: Settings, store: Store, assembly: Assembly, user: str
) -> int:
    bot = assembly.bot
    if args.command in ("serve", "socket", "run"):
        return _slack(args, settings, store, assembly)
    if args.command == "toil":
        toil = {"summary": _toil_summary, "import": toil_import, "export": toil_export}
        return toil.get(args.toil_command, _toil_report)(args, settings, store)
    if args.command == "audit":
        return _audit(args, settings, bot)
    if args.command in ("scheduler", "worker"):
        from bot.frontends.observe import open_metrics_port

        print(frontend_text.redis_in_use(store.description), file=sys.stderr, flush=True)
        open_metrics_port(settings, store, args.command, horses=args.command == "worker")
        if args.command == "scheduler":
            _run_scheduler(bot, store)
        else:
            _work(store, assembly, burst=args.burst)
        return 0
    terminal = Terminal(tty=sys.stdout.isatty(), timezone=settings.timezone)
    session = Session(
        bot, store, user, args.command, local_worker=not args.no_worker, terminal=terminal
    )
    if args.command == "console":
        banner = frontend_text.console_banner(
            user, store.description, str(settings.config_path), settings.inventory.label
        )
        return console(session, banner)
    print(frontend_text.redis_in_use(store.description), file=sys.stderr, flush=True)
    return session.run(args.text, lambda _prompt: bool(args.yes), sys.stdout, as_json=args.json)


def _work(store: Store, assembly: Assembly, burst: bool = False) -> None:
    from bot.execution.worker import run_worker

    jobs, lease = assembly.bot.jobs, assembly.execution.jobs.lease_seconds
    run_worker(store, jobs, assembly.sweeps, lease, burst=burst)


def _slack(args: argparse.Namespace, settings: Settings, store: Store, assembly: Assembly) -> int:
    bot = assembly.bot
    from bot.frontends.slack import server
    from bot.frontends.slack.client import make_client
    from bot.frontends.slack.settings import slack_settings

    mode = {"serve": "http", "socket": "socket"}.get(args.command)
    if mode is None:  # run: Socket Mode when there is an app token, else HTTP
        mode = "socket" if os.environ.get("SLACK_APP_TOKEN") else "http"
    slack = slack_settings(mode=mode)
    identity = server.check_token(make_client(slack))
    print(
        frontend_text.slack_ready(identity, slack.api_url, store.description),
        file=sys.stderr,
        flush=True,
    )
    if args.command == "serve":
        server.serve_http(settings, slack, args.host, args.port, args.workers)
    elif args.command == "socket":
        from bot.frontends.observe import open_metrics_port

        open_metrics_port(settings, store, "socket", horses=False)
        server.serve_socket(settings, slack)
    else:
        from bot.frontends.observe import open_metrics_port

        open_metrics_port(settings, store, "run", horses=True)  # shared with its `serve` child
        how, child = server.start_in_background(settings, slack, args.port)
        print(frontend_text.running_all(how), file=sys.stderr, flush=True)
        stopped = threading.Event()
        scheduler = _scheduler(bot, store)
        threading.Thread(
            target=scheduler.run, args=(stopped,), name="toilbot-scheduler", daemon=True
        ).start()
        try:
            _work(store, assembly)
        finally:
            stopped.set()
            scheduler.resign()
            server.stop_child(child)
    return 0


def _scheduler(bot: Bot, store: Store) -> Scheduler:
    from bot.frontends.scheduler import Scheduler
    from bot.frontends.slack.client import make_client
    from bot.frontends.slack.schedule_notices import Announcer
    from bot.frontends.slack.settings import slack_configured, slack_settings
    from bot.frontends.slack.weekly import summary_tasks

    client = make_client(slack_settings(mode="client")) if slack_configured() else None
    announcer = Announcer(store.redis, client, bot.settings.timezone)
    tasks = () if client is None else summary_tasks(bot.settings, store, client)
    return Scheduler(bot, bot.schedules, announcer, tasks=tasks)


def _run_scheduler(bot: Bot, store: Store) -> None:
    """`toilbot scheduler`: until SIGTERM or Ctrl-C, then hand the lead over at once."""
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    scheduler = _scheduler(bot, store)
    print(frontend_text.scheduler_started(scheduler.replica), file=sys.stderr, flush=True)
    scheduler.run(stopped)


def _toil_report(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    from bot.toil.ledger import Ledger
    from bot.toil.report import week_figures
    from bot.toil.weeks import parse_week, week_of

    if args.week:
        parsed = parse_week(args.week)
        if parsed is None:
            print(frontend_text.bad_week(args.week), file=sys.stderr)
            return EXIT_REFUSED
    else:
        parsed = week_of(time.time(), settings.timezone)
    figures = week_figures(Ledger(store.redis), *parsed, settings.timezone)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(frontend_text.toil_week(figures))
    return 0


def _toil_summary(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    from pathlib import Path

    from bot.frontends.slack.weekly import post_weekly_summary, weekly_summary
    from bot.toil.chart import chart_png

    if args.post and settings.toil.summary_channel is None:
        print(frontend_text.summary_no_channel(), file=sys.stderr)
        return EXIT_CONFIG
    if args.post:
        from bot.frontends.slack.client import make_client
        from bot.frontends.slack.settings import slack_settings

        client = make_client(slack_settings(mode="client"))
        posted = post_weekly_summary(settings, store, client, args.week)
        summary, text = posted.summary, posted.text
    else:
        summary = weekly_summary(settings, store, args.week)
        text = frontend_text.weekly_summary(summary, settings.toil.summary_names)
    print(text)
    if args.png:
        Path(args.png).write_bytes(chart_png(summary))
        print(frontend_text.chart_written(args.png), file=sys.stderr)
    if args.post:
        print(
            frontend_text.summary_posted(
                str(settings.toil.summary_channel), summary.week, len(posted.dms), posted.failed
            ),
            file=sys.stderr,
        )
    return 0


def _audit(args: argparse.Namespace, settings: Settings, bot: Bot) -> int:
    from bot.platform.audit import parse_when

    audit = bot.audit
    if args.audit_command == "verify":
        result = audit.verify()
        if result.broken is None:
            print(
                frontend_text.audit_intact(
                    result.count,
                    result.first_seq,
                    result.last_seq,
                    result.trimmed_through,
                    result.keyed,
                )
            )
            return 0
        broken = result.broken
        print(frontend_text.audit_broken(broken.problem.value, broken.text, result.count))
        return EXIT_AUDIT_BROKEN
    if args.audit_command == "trim":
        if settings.audit_retention is None:
            print(frontend_text.audit_no_retention())
            return 0
        removed = audit.trim(settings.audit_retention, user="toilbot", source="cli")
        print(frontend_text.audit_trim_done(removed, settings.audit_retention // 86400))
        return 0
    bounds = []
    for value in (args.since, args.until):
        moment = None if value is None else parse_when(value, settings.timezone)
        if value is not None and moment is None:
            print(frontend_text.bad_audit_time(value), file=sys.stderr)
            return EXIT_REFUSED
        bounds.append(moment)
    try:
        for entry in audit.entries(*bounds):
            if args.json:
                print(json.dumps(entry.to_json(), ensure_ascii=False))
            else:
                print(frontend_text.audit_line(entry.data))
        sys.stdout.flush()
    except BrokenPipeError:  # `toilbot audit export | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
