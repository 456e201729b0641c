"""Block Kit pieces several command families share."""
