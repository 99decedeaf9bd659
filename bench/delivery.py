"""Delivery after the relay, three figures, each against a baseline measured in the same run:

- bounce filing: the bounce job reads and files N Postfix reports from a real IMAP server
  (Dovecot on loopback, TLS), in reports/s, against the drain sending N messages to the
  loopback relay (msgs/s); target ≥ 1×.
- suppression overhead: a bulk status change of 10,000 applications with 5,000 suppressed
  addresses on the list (100 of them the candidates'), against the same change with an empty
  list; target ≥ 0.9×.
- DKIM: the drain with DKIM signing, against the same drain without, the relay answering 5 ms
  late; target ≥ 0.7×.

    .venv/bin/python -m bench.delivery [--quick]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import CountingServer, make_app, throwaway_database
from bench.drain import drain_rate, empty_outbox
from bench.harness import Figure, table


class _Received:
    """What bounce_messages reads of a sent message."""

    def __init__(self, mail_from: str, rcpt: str, data: bytes):
        self.mail_from, self.rcpt_tos, self.data = mail_from, [rcpt], data

    def __getitem__(self, name):
        return None


def _write_reports(imap, folder_path: Path, rows: list[tuple[int, str]], secret: str) -> None:
    """Postfix reports for `rows`, written straight into the mailbox's maildir (setup, not
    timed: the job reads them over IMAP)."""
    from tests import bounce_messages
    from webapp.outbox import verp

    new = folder_path / "new"
    for name in ("new", "cur", "tmp"):
        (folder_path / name).mkdir(parents=True, exist_ok=True)
    for row_id, address in rows:
        reference = verp.reference(row_id, secret)
        headers = (f"Message-ID: <{row_id}@bench>\r\nX-Missive-Ref: {reference}\r\n"
                   f"To: {address}\r\nSubject: Bench\r\n\r\n").encode()
        raw = bounce_messages.postfix(_Received(
            verp.bounce_address("bounces@apply.example.org", row_id, secret), address, headers))
        (new / f"{time.time_ns()}.{row_id}.bench").write_bytes(raw)
    if os.getuid() == 0:
        import pwd

        owner = pwd.getpwnam("nobody")
        for path in [folder_path, *folder_path.rglob("*")]:
            os.chown(path, owner.pw_uid, owner.pw_gid)


def bounce_filing(server, folder: Path, rounds: int, n: int) -> list[Figure]:
    import trustme

    from jobs.bounces import poll_once
    from tests.imap_server import IMAPServer, available
    from webapp.extensions import db
    from webapp.models import DeliveryReport, Suppression
    from webapp.models.outbox import OutboxMessage

    if not available():
        return [Figure("bounce filing", "", [float("nan")], "not measured: Dovecot missing",
                       [float("nan")], notes=["Dovecot (dovecot-imapd) is not installed"])]
    ca = trustme.CA()
    imap = IMAPServer(ca=ca).start()
    ca_file = folder / "imap-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    filing, drains = [], []
    try:
        with throwaway_database("sqlite", folder) as url:
            app = make_app(url, server.port, BOUNCE_ADDRESS="bounces@apply.example.org",
                           BOUNCE_IMAP_HOST="127.0.0.1", BOUNCE_IMAP_PORT=imap.port,
                           BOUNCE_IMAP_USER=imap.user, BOUNCE_IMAP_PASSWORD=imap.password,
                           BOUNCE_IMAP_CA_FILE=str(ca_file))
            for r in range(rounds):
                drains.append(drain_rate(app, server, n, f"bounce-{r}", {}))
                folder_name = f"Bench{r}"
                with app.app_context():
                    rows = db.session.execute(sa.select(OutboxMessage.id,
                                                        OutboxMessage.to_addr)).all()
                    secret = str(app.config["SECRET_KEY"])
                    db.session.execute(sa.delete(Suppression.__table__))
                    db.session.execute(sa.delete(DeliveryReport.__table__))
                    db.session.commit()
                app.config["BOUNCE_IMAP_FOLDER"] = folder_name
                _write_reports(imap, imap.root / "mail" / imap.user / f".{folder_name}",
                               list(rows), secret)
                start = time.perf_counter()
                filed = poll_once(app)
                seconds = time.perf_counter() - start
                if filed.get("hard") != n:
                    raise AssertionError(f"bounce filing: {filed}")
                filing.append(n / seconds)
                with app.app_context():
                    empty_outbox()
                    # The next round sends to the same addresses: they must not start suppressed.
                    db.session.execute(sa.delete(Suppression.__table__))
                    db.session.execute(sa.delete(DeliveryReport.__table__))
                    db.session.commit()
            with app.app_context():
                db.engine.dispose()
    finally:
        imap.stop()
    return [Figure(f"bounce filing {n:,} reports (IMAP, SQLite)", "reports/s", filing,
                   f"drain of {n:,} to the loopback relay (msgs/s)", drains, target="≥ 1×")]


def suppression_overhead(server, folder: Path, rounds: int, size: int) -> list[Figure]:
    """Each variant on a database of its own, built the same way, so neither pays for the
    other's rows."""
    from bench.bulk_status_change import populate
    from webapp.core import clock
    from webapp.extensions import db
    from webapp.models import Suppression, User
    from webapp.services import applications
    from webapp.services.applications import Selection
    from webapp.services.statuses import by_code

    rates: dict[bool, list[float]] = {False: [], True: []}
    for r in range(rounds):
        for suppressed in ((False, True) if r % 2 == 0 else (True, False)):
            with throwaway_database("sqlite", folder) as url:
                app = make_app(url, server.port)
                with app.app_context():
                    accepted = by_code("accepted").id
                    campaign_id, manager_id = populate(size, r)
                    if suppressed:
                        now = clock.now()
                        entries = [{"address": f"gone{n}@example.net", "kind": "hard",
                                    "reason": "Bounced", "source": "bench", "created_at": now,
                                    "ended_reason": ""} for n in range(4900)]
                        entries += [{"address": f"c{size}-{r}-{n}@example.org", "kind": "hard",
                                     "reason": "Bounced", "source": "bench",
                                     "created_at": now, "ended_reason": ""}
                                    for n in range(100)]
                        db.session.execute(sa.insert(Suppression.__table__), entries)
                        db.session.commit()
                    manager = db.session.get(User, manager_id)
                    start = time.perf_counter()
                    result = applications.bulk_change_status(
                        manager, Selection(campaign_id, all_matching=True), accepted)
                    rates[suppressed].append(size / (time.perf_counter() - start))
                    if result.moved != size:
                        raise AssertionError(f"bulk change: {result}")
                    db.engine.dispose()
    return [Figure(f"bulk status change {size:,} with 5,000 suppressed, SQLite", "rows/s",
                   rates[True], "the same change, nothing suppressed", rates[False],
                   target="≥ 0.9×")]


def dkim_drain(server, folder: Path, rounds: int, n: int) -> list[Figure]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = folder / "dkim.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    signed, plain = [], []
    server.relay(0.005, True)
    server.bulk_data(True)  # both sides: see bench.common._relay_smtp
    try:
        with throwaway_database("sqlite", folder) as url:
            app = make_app(url, server.port)
            dkim = {"DKIM_DOMAIN": "apply.example.org", "DKIM_SELECTOR": "bench",
                    "DKIM_PRIVATE_KEY_FILE": str(key_file)}
            for r in range(rounds):
                plain.append(drain_rate(app, server, n, f"plain-{r}", {}))
                signed.append(drain_rate(app, server, n, f"dkim-{r}", dkim))
            with app.app_context():
                from webapp.extensions import db

                db.engine.dispose()
    finally:
        server.bulk_data(False)
        server.relay(0.0, False)
    return [Figure("drain with DKIM, relay 5 ms, SQLite", "msgs/s", signed,
                   "the same drain without DKIM", plain, target="≥ 0.7×")]


def run(server, folder: Path, rounds: int, quick: bool) -> list[Figure]:
    """Every figure; a quick run only checks that each runs (the sizes of
    `python -m bench --quick`)."""
    n = 200 if quick else 10_000
    return (bounce_filing(server, folder, rounds, n)
            + suppression_overhead(server, folder, rounds, n)
            + dkim_drain(server, folder, rounds, 100 if quick else 2_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="bounces,suppression,dkim")
    args = parser.parse_args()
    only = set(args.only.split(","))
    rounds = 1 if args.quick else 3
    folder = Path(tempfile.mkdtemp(prefix="missive-bench-"))
    figures = []
    with CountingServer() as server:
        n = 200 if args.quick else 10_000
        if "bounces" in only:
            figures += bounce_filing(server, folder, rounds, n)
        if "suppression" in only:
            figures += suppression_overhead(server, folder, rounds, n)
        if "dkim" in only:
            figures += dkim_drain(server, folder, rounds, 100 if args.quick else 2_000)
    print(table(figures))


if __name__ == "__main__":
    main()
