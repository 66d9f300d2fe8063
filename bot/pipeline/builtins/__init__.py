"""Commands written in Python: help, jobs, toil, schedule, approvals..."""
