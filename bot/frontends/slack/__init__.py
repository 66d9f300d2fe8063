"""The Slack front end: Bolt app, Block Kit views, live job messages, delivery with retries."""
