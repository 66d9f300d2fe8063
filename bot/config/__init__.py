"""Settings from the environment and toilbot.yaml, the start-up checks, the wiring."""
