"""Where text arrives and answers leave: the CLI, console/exec, the scheduler loop, Slack."""
