"""The one exception tree of toilbot.

    ToilbotError                  anything toilbot reports to a person
    ├── ConfigError               toilbot.yaml, a command spec or the inventory is wrong
    ├── StoreError                Redis cannot be reached or started
    ├── CommandError              what a person typed cannot run
    │   ├── ParseError            the text does not match a command
    │   ├── Denied                the policy says no
    │   ├── ScheduleError         a schedule cannot be found, added or changed  [schedule.registry]
    │   └── LedgerError           the toil ledger refuses a change              [toil.ledger]
    ├── ImportRefused             a toil import file has bad rows, none written [toil.transfer]
    ├── JobError                  a job cannot be found, queued or cancelled
    │   └── LeaseLost             a running job lost its lease and was stopped  [execution.run]
    ├── RequestRefused            a Slack request is unsigned or malformed [frontends.slack.guard]
    └── AuditError                the audit log cannot be written or read

An error of one domain is defined beside it (the module in brackets, under
``bot.``) and derives from a class here; all others are defined here.
tests/platform/test_errors.py checks that this drawing is complete and true:
every exception class in ``bot`` appears, under its real base.

Every message says what is wrong and how to fix it. Only the CLI exits.
"""

from __future__ import annotations


class ToilbotError(Exception):
    """Base of every error toilbot reports to a person."""


class ConfigError(ToilbotError):
    """A configuration file is invalid: names the file, the key and the fix."""

    def __init__(self, path: str, key: str, problem: str, fix: str) -> None:
        self.path = path
        self.key = key
        self.problem = problem
        self.fix = fix
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {problem}. Fix: {fix}")


class StoreError(ToilbotError):
    """Redis cannot be reached or the embedded server cannot be started."""


class CommandError(ToilbotError):
    """What a person typed cannot run."""


class ParseError(CommandError):
    """The text does not match a command; the message shows the usage line."""


class Denied(CommandError):
    """The policy refuses the command; the message names the missing permission."""


class JobError(ToilbotError):
    """A job cannot be found, queued or cancelled."""


class AuditError(ToilbotError):
    """The audit log cannot be written or read (Redis failed, or its head key is damaged)."""
