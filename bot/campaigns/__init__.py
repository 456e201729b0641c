"""Comm SMS campaigns: reading ``/campaign`` arguments, planning pause/resume, and the service that does them."""
