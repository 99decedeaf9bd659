"""View helpers shared by the blueprints.

Where commits happen: one unit of work per request or job. A view calls one service that
changes something; that service commits once, as its last step, or raises having written
nothing (it rolls back what it flushed). A refusal never follows a commit: when part of the
work must be kept whatever the answer (a draft saved before a submission is checked), it is
its own call, committed before the check (`save_draft`, then `check_submission`). Functions
that add to the caller's transaction (`outbox.enqueue`, `outbox.insert_many`, `audit.record`,
`triggers.enqueue_for_event`) never commit. The worker's jobs commit each step of their own
(a claim, a group of outcomes) in the outbox's queue. The exception kept on purpose: the
sign-in throttle commits its count before it refuses, so that a refused attempt still counts.
"""
