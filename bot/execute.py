"""Compatibility for one release: jobs queued by toilbot 0.1 name ``bot.execute.run_job``.

RQ stores a queued job's function as a dotted path; a worker of this version must
still find the old one. New jobs name ``bot.execution.run.run_job``.
"""

from bot.execution.run import run_job

__all__ = ["run_job"]
