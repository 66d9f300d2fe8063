"""Scheduled runs, domain only: cron and interval timing, schedules, windows and freezes.

The leader-elected loop that fires them is a front end (``bot.frontends.scheduler``):
it types each schedule's command for its owner through the pipeline.
"""
