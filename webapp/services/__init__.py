"""Domain logic. Services take plain values and users, never Flask's request objects."""
