"""What everything stands on: Redis, key names, YAML validation, audit, errors."""
