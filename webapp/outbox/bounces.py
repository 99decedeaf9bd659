"""Bounce collection: read the bounce mailbox over IMAP and file what it holds.

Each message is read once (by UID, within the folder's UIDVALIDITY), parsed (`dsn`) and filed
(`filing`). A message not understood is listed on the Outbox page and left unread in the
mailbox. Nothing is ever deleted from the mailbox; what was filed is marked \\Seen.

`poll` commits its own work, a chunk of messages at a time.
"""

import imaplib
import logging
import re
from dataclasses import dataclass, fields
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from webapp.extensions import db
from webapp.models import DeliveryReport, ReportKind
from webapp.outbox.filing import file_messages
from webapp.outbox.smtp import tls_context

log = logging.getLogger("missive.bounces")

FETCH_CHUNK = 250


@dataclass
class PollReport:
    read: int = 0
    hard: int = 0
    soft: int = 0
    complaints: int = 0
    delayed: int = 0
    delivered: int = 0
    auto_replies: int = 0
    unsubscribed: int = 0
    unknown: int = 0
    error: str = ""

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class NotConfigured(RuntimeError):
    pass


# --- The mailbox ----------------------------------------------------------------------------


def _connect(config) -> imaplib.IMAP4:
    host, port = config["BOUNCE_IMAP_HOST"], int(config["BOUNCE_IMAP_PORT"])
    context = tls_context(config.get("BOUNCE_IMAP_CA_FILE") or config.get("MAIL_CA_FILE"),
                          config.get("MAIL_TLS_VERIFY") is not False)
    timeout = config.get("MAIL_TIMEOUT_SECONDS") or 30
    if config.get("BOUNCE_IMAP_SSL", True):
        connection = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
    else:
        connection = imaplib.IMAP4(host, port, timeout=timeout)
        connection.starttls(ssl_context=context)
    try:
        connection.login(config["BOUNCE_IMAP_USER"], config["BOUNCE_IMAP_PASSWORD"])
    except BaseException:
        connection.shutdown()
        raise
    return connection


def _last_uid(folder: str, uidvalidity: int) -> int:
    r = DeliveryReport.__table__.c
    return db.session.scalar(sa.select(sa.func.max(r.uid)).where(
        r.folder == folder, r.uidvalidity == uidvalidity)) or 0


def poll(limit: int | None = None) -> PollReport:
    """Read what arrived in the bounce mailbox since the last poll and file it; commits
    each chunk. Raises NotConfigured without BOUNCE_IMAP_HOST."""
    config = current_app.config
    if not config.get("BOUNCE_IMAP_HOST"):
        raise NotConfigured("BOUNCE_IMAP_HOST is not set")
    folder = config.get("BOUNCE_IMAP_FOLDER") or "INBOX"
    secret = str(config["SECRET_KEY"] or "")
    report = PollReport()
    connection = _connect(config)
    try:
        typ, _ = connection.select(_quoted(folder))
        if typ != "OK":
            raise imaplib.IMAP4.error(f"Cannot open folder {folder!r}")
        uidvalidity = int(connection.untagged_responses.get("UIDVALIDITY", [b"0"])[-1])
        last = _last_uid(folder, uidvalidity)
        typ, data = connection.uid("SEARCH", None, f"UID {last + 1}:*")
        uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > last)
        if limit:
            uids = uids[:limit]
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start:start + FETCH_CHUNK]
            typ, data = connection.uid("FETCH", ",".join(map(str, chunk)), "(UID BODY.PEEK[])")
            filed = []
            fetched = _fetched(data)
            for (uid, _), kinds in zip(fetched, file_messages(
                    fetched, folder=folder, uidvalidity=uidvalidity, secret=secret),
                    strict=True):
                report.read += 1
                _count(report, kinds)
                if "unknown" not in kinds:
                    filed.append(uid)
            db.session.commit()
            if filed:  # what was understood is read; the unknown stay unread for a person
                connection.uid("STORE", ",".join(map(str, filed)), "+FLAGS", "(\\Seen)")
    except Exception as error:
        db.session.rollback()
        report.error = f"{type(error).__name__}: {error}"[:2000]
        log.exception("Bounce poll failed")
        raise
    finally:
        try:
            connection.logout()
        except Exception:  # noqa: BLE001 — the server may have gone
            log.debug("IMAP logout failed", exc_info=True)
    if report.read:
        log.info("Bounce poll: %s", report.as_dict())
    return report


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetched(data) -> list[tuple[int, bytes]]:
    found = []
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            match = re.search(rb"UID (\d+)", item[0])
            if match:
                found.append((int(match.group(1)), item[1]))
    return found


def _count(report: PollReport, kinds: list[str]) -> None:
    names = {"hard": "hard", "soft": "soft", "complaint": "complaints", "delayed": "delayed",
             "delivered": "delivered", "autoreply": "auto_replies", "unknown": "unknown",
             "unsubscribe": "unsubscribed"}
    for kind in set(kinds):
        setattr(report, names[kind], getattr(report, names[kind]) + 1)


def unknown_reports(limit: int = 50) -> list[DeliveryReport]:
    """Messages of the bounce mailbox not understood, newest first (kept in the mailbox)."""
    return list(db.session.scalars(
        sa.select(DeliveryReport).where(DeliveryReport.kind == ReportKind.UNKNOWN.value)
        .order_by(DeliveryReport.id.desc()).limit(limit)))


def recent_window() -> timedelta:
    return timedelta(days=current_app.config["SUPPRESSION_SOFT_DAYS"])
