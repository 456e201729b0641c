"""What the bot tells its operators besides its replies: the request being served (for log lines and metrics,
``context.py``) and the Prometheus metrics (``metrics.py``), served on ``/metrics``.

Plumbing: any package may import it; it imports nothing of the bot.
"""
