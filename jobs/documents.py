"""Documents housekeeping for the worker: stored files that no row names any more."""

import logging

from flask import Flask

from webapp.services import documents

log = logging.getLogger("missive.documents")


def purge(app: Flask) -> int:
    """Remove stored files nobody references (a replaced upload, a deleted application);
    returns how many went."""
    with app.app_context():
        removed = documents.purge_unreferenced()
    if removed:
        log.info("Purged %d unreferenced stored files", removed)
    return removed
