"""The bounce job: every BOUNCE_POLL_SECONDS, read the bounce mailbox and file what came back
(only when BOUNCE_IMAP_HOST is set)."""

import logging

from flask import Flask

from webapp import outbox

log = logging.getLogger("missive.bounces")


def poll_once(app: Flask) -> dict:
    """One poll; returns what it filed. A failure is logged, and the next poll tries again
    from the same place (messages are filed by UID, once)."""
    with app.app_context():
        if not app.config.get("BOUNCE_IMAP_HOST"):
            return {}
        try:
            return outbox.poll_bounces().as_dict()
        except Exception as error:  # noqa: BLE001 — the worker's other jobs go on
            log.error("Bounce poll failed: %s", error)
            return {"error": f"{type(error).__name__}: {error}"}
