"""What one outbox message is, as the message builder reads it: the shape the queue claims
its rows in (`queue.Claimed` adds the claim's own fields) and `mime.build_message` builds.

A pure module (no Flask, no database), below the queue and the builder both."""

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageRow:
    """The columns of an outbox row that make its message."""

    id: int
    message_id: str
    to_addr: str
    to_name: str
    cc: str
    bcc: str
    sender: str
    reply_to: str
    subject: str
    body_html: str
    body_text: str
    headers: dict
