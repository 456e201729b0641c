"""The vendor clients (Capillary, Comm), their typed errors, and the retries and rate limit they share."""
