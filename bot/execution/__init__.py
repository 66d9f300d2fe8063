"""A queued job -> Ansible -> per-host results: jobs, locks, the run, workers."""
