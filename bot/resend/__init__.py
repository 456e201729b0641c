"""Resending undelivered Capillary messages once: parsing ids, the duplicate guard, the outcomes."""
