"""Who may run what: scoped rules, user groups, rate limits, reloads."""
