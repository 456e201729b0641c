"""The append-only audit log: recording every attempt, bounding denials, and reporting (``commops audit``)."""
