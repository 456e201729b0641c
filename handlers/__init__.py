"""The Slack side: one package per command family (``register(app, services)``, ``ROUTES``, Block Kit), listed
in ``families.py``; ``middleware/`` for what every request passes through; ``ui/`` for shared Block Kit."""
