"""Retention: what the store forgets, when, and the job that prunes it (one replica at a time)."""
