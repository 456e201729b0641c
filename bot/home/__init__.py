"""The App Home: what one person sees when they open the bot (Slack-free; handlers/home renders it)."""
