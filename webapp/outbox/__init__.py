"""The outbox engine: every email is a row here before it is sent.

The package sits below services: it imports models and `webapp.core`, never services or
blueprints. What the rest of the app uses is named here; its modules are its own business.

For the app (services and the Outbox page):
    enqueue, message_values, dedupe_key   rows in the caller's transaction (never committed)
    add_attachments, attachments_of       the files a row carries, frozen at queue time
    retry_now, cancel, resend, bulk_*     sysadmin actions (each commits, with its audit entry)
    overview, counters, health, page, export_rows, get, count_matching, filter_choices, Filter
For the worker (jobs):
    drain, reap, purge, beat, forget_worker   (each commits its own work)

Modules: rows (values of a row), queue (claim, record, release, purge), mime (a message's
bytes, pure), smtp (one connection to the relay), sending (one message: mime over smtp, and
what the answer means), drain (the run), admin (page queries and actions), workers
(heartbeats).
"""

from webapp.outbox.admin import (
    CANCELLABLE,
    RETRYABLE,
    Filter,
    Health,
    bulk_cancel,
    bulk_retry,
    cancel,
    count_matching,
    counters,
    export_rows,
    filter_choices,
    get,
    health,
    overview,
    page,
    resend,
    retry_now,
)
from webapp.outbox.attachments import add as add_attachments
from webapp.outbox.attachments import of_messages as attachments_of
from webapp.outbox.drain import DrainReport, drain
from webapp.outbox.queue import purge
from webapp.outbox.queue import release_expired_leases as reap
from webapp.outbox.rows import STANDARD_HEADERS, dedupe_key, enqueue, message_values
from webapp.outbox.workers import beat, forget_worker

__all__ = [
    "CANCELLABLE", "RETRYABLE", "STANDARD_HEADERS", "DrainReport", "Filter", "Health",
    "add_attachments", "attachments_of", "beat",
    "bulk_cancel", "bulk_retry", "cancel", "count_matching", "counters", "dedupe_key", "drain",
    "enqueue", "export_rows", "filter_choices", "forget_worker", "get", "health", "message_values",
    "overview", "page", "purge", "reap", "resend", "retry_now",
]
