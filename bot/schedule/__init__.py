"""Scheduled runs: cron timing, schedules, windows and freezes, the leader-elected loop."""
