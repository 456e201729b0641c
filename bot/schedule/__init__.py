"""Pauses and resumes of Comm campaigns to do later: times read in the person's time zone (when.py), the store's
scheduled actions claimed once across replicas (actions.py), scheduling and running them (service.py), the runner
polling for what is due (runner.py), and what the channel is told (report.py). Slack-free: handlers/campaign is the
Slack side."""
