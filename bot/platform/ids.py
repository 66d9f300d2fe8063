"""Identifiers shared by every layer."""

#: A Slack user id (U… or W…); toilbot.yaml and the console use the same form.
USER_ID = r"[UW][A-Z0-9]{2,20}"
