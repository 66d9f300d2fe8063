"""Text -> Reply: parse, authorize, confirm or approve, run a builtin or submit a job."""
