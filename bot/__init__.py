"""commops: Slack chat-ops for Capillary and Comm customer messaging."""
