"""The toil ledger: operating versus coding time, per person and team, by ISO week."""
