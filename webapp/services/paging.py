"""Kept for the campaigns blueprint until it imports `webapp.core.paging` (lists' sorting and
pages live there, below the models, so that the outbox builds its pages alike)."""

from webapp.core.paging import Page, Sort

__all__ = ["Page", "Sort"]
