"""Undelivered-message alerts: the watch-list, the scheduled job, its outbox, and the Resend buttons' logic."""
