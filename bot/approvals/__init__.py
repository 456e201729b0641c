"""The two-person rule: actions under an ``[[approval]]`` of the access policy wait for a second person's approval
(requests in the store, decided once, carried out through the same services as the direct path)."""
