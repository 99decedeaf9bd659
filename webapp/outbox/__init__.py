"""The outbox: rows written in the event's transaction, sent by a worker with retries."""
