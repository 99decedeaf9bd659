"""The outbox engine: every email is a row here before it is sent.

The package sits below services: it imports models and `webapp.core`, never services or
blueprints. What the rest of the app uses is named here: the import contract `outbox-api`
(pyproject.toml) keeps services, views and jobs out of its modules, and `outbox-table` out of
its table (`webapp.models.outbox`): rows are written here only (a unit test checks it), and
read through the functions below (`webapp.models` does not name the rows).

For the app (services and the Outbox page):
    enqueue, message_values, dedupe_key   rows in the caller's transaction (never committed)
    insert_many, insert_new               many rows at once; insert_new skips a known key (same)
    withdraw                              cancel waiting rows whose reason has gone (same)
    count_since, queued_about, of_application, known_keys, held_rows, message, sent_about,
    sent_per_trigger, waiting_applications   questions services ask of the rows (read only)
    add_attachments, attachments_of       the files a row carries, frozen at queue time
    release_held, cancel_held             a held row to the worker, or cancelled (same)
    retry_now, cancel, resend, bulk_*     sysadmin actions (each commits, with its audit entry)
    set_renderer, never_rendered, rendering_problem   a failed rendering is rendered again
    overview, counters, health, page, export_rows, get, count_matching, filter_choices, Filter
    per_automatic_email, active_pauses, unknown_messages, suppressed_count,
    export_suppressed, suppressed_reason       after the relay (delivery)
    resume, end_suppression, unsuppress       (each commits, with its audit entry)
    requeue_for                               a corrected address (caller's transaction)
    unsubscribe, unsubscribe_address          one-click unsubscribe (commits, audited)
For the worker (jobs):
    drain, reap, purge, beat, forget_worker   (each commits its own work)
    poll_bounces                              read the bounce mailbox, file what came back

Modules: rows (values of a row), queue (claim, record, release, purge), mime (a message's
bytes, pure), smtp (one connection to the relay), sending (one message: mime over smtp, and
what the answer means), drain (the run), circuit (its breaker, the pause after it),
admin (the page's queries), actions (retry, cancel, resend), reads (what services ask of
the rows), workers (heartbeats).
"""

from webapp.outbox.actions import (
    CANCELLABLE,
    RETRYABLE,
    bulk_cancel,
    bulk_retry,
    cancel,
    count_never_rendered,
    never_rendered,
    rendering_problem,
    resend,
    retry_now,
    set_renderer,
)
from webapp.outbox.admin import (
    Filter,
    Health,
    count_matching,
    counters,
    export_rows,
    filter_choices,
    get,
    health,
    overview,
    page,
)
from webapp.outbox.attachments import add as add_attachments
from webapp.outbox.attachments import of_messages as attachments_of
from webapp.outbox.bounces import poll as poll_bounces
from webapp.outbox.delivery import (
    active_pauses,
    end_suppression,
    export_suppressed,
    per_automatic_email,
    requeue_for,
    resume,
    suppressed_count,
    suppressed_reason,
    unknown_messages,
    unsubscribe,
    unsubscribe_address,
    unsuppress,
)
from webapp.outbox.drain import DrainReport, drain
from webapp.outbox.queue import cancel_held, purge, release_held, withdraw
from webapp.outbox.queue import release_expired_leases as reap
from webapp.outbox.reads import (
    count_since,
    held_rows,
    known_keys,
    message,
    of_application,
    queued_about,
    sent_about,
    sent_per_trigger,
    waiting_applications,
)
from webapp.outbox.rows import (
    STANDARD_HEADERS,
    dedupe_key,
    enqueue,
    insert_many,
    insert_new,
    message_values,
)
from webapp.outbox.workers import beat, forget_worker

__all__ = [
    "CANCELLABLE", "RETRYABLE", "STANDARD_HEADERS", "DrainReport", "Filter", "Health",
    "add_attachments", "attachments_of", "beat",
    "bulk_cancel", "bulk_retry", "cancel", "count_matching", "count_never_rendered", "counters",
    "dedupe_key", "drain",
    "enqueue", "export_rows", "filter_choices", "forget_worker", "get", "health", "message_values",
    "never_rendered", "overview", "page", "purge", "reap", "rendering_problem", "resend",
    "retry_now", "set_renderer", "withdraw", "poll_bounces", "active_pauses", "end_suppression",
    "export_suppressed", "per_automatic_email", "requeue_for", "resume", "suppressed_count",
    "suppressed_reason", "unknown_messages", "unsubscribe", "unsubscribe_address", "unsuppress",
    "insert_many", "insert_new", "release_held", "cancel_held",
    "count_since", "held_rows", "known_keys", "of_application", "queued_about",
    "message", "sent_about", "sent_per_trigger", "waiting_applications",
]
