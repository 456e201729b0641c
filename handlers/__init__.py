"""Slack-facing listeners: one module per command family, each exposing ``register(app, services)``."""
