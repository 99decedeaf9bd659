"""Figures of documents and attachments.

- drain of messages each carrying a 200 KB PDF against the same drain without, both behind a
  relay answering 5 ms late (each file is streamed from the base64 form the store wrote when
  it was stored, as an upload or a frozen letter is: the drain encodes nothing);
- a status change whose email attaches a generated letter, per application, against the same
  change without the letter (the letter is rendered once, when the email is queued);
- the web process's peak memory growth while a 20 MB file is uploaded, against a 20 KB one
  (a subprocess, its VmHWM read from /proc before and after the upload).
"""

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import sqlalchemy as sa

from bench.common import ROOT, make_app, throwaway_database
from bench.drain import empty_outbox, queue_rows
from bench.harness import Figure

KB = 1024


def _pdf(size: int) -> bytes:
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(size - len(head) - 6) + b"\n%%EOF"


def _attach_distinct(size: int) -> list[str]:
    """A PDF of `size` bytes of its own for every queued row (each application's letter
    differs), stored as the queue stores letters; returns their hashes."""
    from webapp import outbox
    from webapp.extensions import db
    from webapp.models.outbox import OutboxMessage
    from webapp.services import documents

    store = documents.store()
    ids = db.session.scalars(sa.select(OutboxMessage.message_id)).all()
    hashes = []
    for start in range(0, len(ids), 1000):
        frozen = {}
        for message_id in ids[start:start + 1000]:
            stored = store.put(io.BytesIO(_pdf(size)))
            hashes.append(stored.sha256)
            frozen[message_id] = [dict(sha256=stored.sha256, size=stored.size,
                                       filename="Lettre d’acceptation.pdf",
                                       content_type="application/pdf")]
        outbox.add_attachments(frozen)
    db.session.commit()
    return hashes


def _queue(n: int, tag: str, with_files: bool) -> list[str]:
    from webapp.extensions import db
    from webapp.models import OutboxAttachment

    db.session.execute(sa.delete(OutboxAttachment.__table__))
    empty_outbox()
    queue_rows(n, tag)
    return _attach_distinct(200 * KB) if with_files else []


def _forget(hashes: list[str]) -> None:
    from webapp.services import documents

    store = documents.store()
    for sha256 in hashes:
        store.delete(sha256)


def _drain(app, server, n: int, tag: str, with_files: bool) -> tuple[float, float]:
    """Messages per second, and the relay's CPU milliseconds per message."""
    from jobs.drain import drain_once

    with app.app_context():
        hashes = _queue(n, tag, with_files)
    server.reset()
    relay_cpu = server.cpu_seconds()
    start = time.perf_counter()
    report = drain_once(app)
    seconds = time.perf_counter() - start
    relay_ms = (server.cpu_seconds() - relay_cpu) / n * 1000
    if report["sent"] != n:
        raise AssertionError(f"drain {tag}: {report}")
    server.expect(n, f"drain {tag}")
    if with_files and server.received_bytes() < n * 200 * KB * 4 // 3:
        raise AssertionError(f"drain {tag}: the relay received too few bytes")
    with app.app_context():
        _forget(hashes)
    return n / seconds, relay_ms


def drain_figures(server, folder, rounds: int, n: int) -> list[Figure]:
    """Throughput with and without a distinct 200 KB PDF per message, the relay reading DATA
    in blocks for both (see bench.common._relay_smtp); then, once, a smaller drain with
    aiosmtpd's own line by line reading, to show what that would measure; then the worker's
    peak RSS, a `flask outbox drain` process draining the same messages."""
    with_files, without, relay_with, relay_without = [], [], [], []
    with throwaway_database("sqlite", folder) as url:
        app = make_app(url, server.port, STORAGE_PATH=str(folder / "files"))
        server.relay(0.005, False)
        try:
            server.bulk_data(True)
            for r in range(rounds):
                rate, relay_ms = _drain(app, server, n, f"plain-{r}", False)
                without.append(rate)
                relay_without.append(relay_ms)
                rate, relay_ms = _drain(app, server, n, f"pdf-{r}", True)
                with_files.append(rate)
                relay_with.append(relay_ms)
            server.bulk_data(False)
            small = max(n // 25, min(n, 50))
            line_plain = _drain(app, server, small, "plain-lines", False)
            line_pdf = _drain(app, server, small, "pdf-lines", True)
            server.bulk_data(True)
            peak = _worker_peak(app, url, server, n, True)
            peak_plain = _worker_peak(app, url, server, n, False)
        finally:
            server.bulk_data(False)
            server.relay(0.0, False)
            with app.app_context():
                from webapp.extensions import db

                db.engine.dispose()
    notes = [f"the relay's CPU per message: {median(relay_with):.2f} ms with the PDF, "
             f"{median(relay_without):.2f} ms without (DATA read in blocks, as Postfix does)",
             f"with aiosmtpd's line by line DATA ({small} messages): {line_pdf[1]:.1f} ms of "
             f"relay CPU per message with the PDF, {line_plain[1]:.2f} ms without; "
             f"{line_pdf[0]:.0f} against {line_plain[0]:.0f} msgs/s "
             f"({line_pdf[0] / line_plain[0]:.2f}×): that measures the bench's relay",
             "each message has a PDF of its own, streamed from the base64 form written when it "
             "was stored: nothing is cached, nothing encoded in the drain"]
    return [Figure(f"drain {n:,} with a 200 KB PDF each, relay 5 ms", "msgs/s", with_files,
                   "same drain without attachments", without, target="≥ 0.5×", notes=notes),
            Figure(f"worker peak RSS, draining {n:,} with a 200 KB PDF each", "MiB", [peak],
                   "same drain without attachments", [peak_plain], target="≤ 150 MiB",
                   higher_is_better=False,
                   notes=["`flask outbox drain` in its own process, its VmHWM at exit"])]


def _worker_peak(app, url: str, server, n: int, with_files: bool) -> float:
    from bench.memory import peak_mib

    with app.app_context():
        hashes = _queue(n, f"rss-{with_files}", with_files)
        from webapp.extensions import db

        db.engine.dispose()
    server.reset()
    peak = peak_mib(url, server.port, STORAGE_PATH=app.config["STORAGE_PATH"])
    server.expect(n, "worker drain with attachments")
    with app.app_context():
        _forget(hashes)
    return peak


def letter_figure(folder, rounds: int, n: int) -> Figure:
    """Seconds per application of a bulk status change, with and without a letter."""
    from tests import factories
    from webapp.extensions import db
    from webapp.models import LetterTemplate, Role
    from webapp.services import applications, letters
    from webapp.services.applications import Selection

    per_app_with, per_app_without = [], []
    for r in range(rounds):
        for with_letter in (False, True):
            with throwaway_database("sqlite", folder) as url:
                app = make_app(url, 1)
                with app.test_request_context():
                    manager = factories.make_user(Role.MANAGER, email=f"m{r}@example.org")
                    campaign = factories.make_campaign(managers=[manager])
                    template = factories.make_template(name="Accepté")
                    factories.make_trigger(campaign, template, to_status="accepted")
                    ids = tuple(factories.make_application(campaign, status_code="submitted").id
                                for _ in range(n))
                    db.session.commit()
                    if with_letter:
                        letter = LetterTemplate(name="Lettre", body_fr=(
                            "<p>Chère {{ candidate_name }}, votre dossier "
                            "{{ application_reference }} est retenu.</p>" * 5))
                        db.session.add(letter)
                        db.session.commit()
                        letters.set_attachments(manager, template, [letter.id], [])
                    accepted = factories.status("accepted").id
                    start = time.perf_counter()
                    applications.bulk_change_status(manager, Selection(campaign.id, ids=ids),
                                                    accepted)
                    seconds = time.perf_counter() - start
                    db.engine.dispose()
            (per_app_with if with_letter else per_app_without).append(seconds / n * 1000)
    return Figure(f"bulk change of {n:,} applications, the email attaching a letter", "ms/app",
                  per_app_with, "same change without a letter", per_app_without,
                  higher_is_better=False, notes=["the letter is rendered once, when queued"])


# Runs in its own process: start the app, note VmHWM, upload, note VmHWM again.
_UPLOADER = """
import io, os, re, sys, tempfile
from pathlib import Path
from werkzeug.datastructures import FileStorage
from werkzeug.test import EnvironBuilder

def hwm_kib():
    return int(re.search(r"VmHWM:\\s*(\\d+)", Path("/proc/self/status").read_text()).group(1))

size, url, body_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
from bench.common import make_app
from tests import factories
from webapp.extensions import db
from webapp.models import RequestedDocument
app = make_app(url, 1, DOCUMENTS_MAX_FILE_MB=25)
with app.app_context():
    candidate = factories.make_user(email="upload@example.org")
    campaign = factories.make_campaign()
    requested = RequestedDocument(campaign_id=campaign.id, name_fr="CV", name_en="CV",
                                  kinds="pdf", max_size_mb=25)
    db.session.add(requested)
    application = factories.make_application(campaign, candidate)
    db.session.commit()
    ids = (candidate.id, application.id, requested.id)
client = app.test_client()
client.post("/auth/login", data={"email": "upload@example.org", "password": factories.PASSWORD})
# The peak so far (app start, password hashing at sign-in) would hide the upload's: reset it
# to the current RSS (Linux: "5" > clear_refs), then read it again after the upload.
Path("/proc/self/clear_refs").write_text("5")
before = hwm_kib()
with open(body_path, "rb") as body:
    response = client.post(f"/my/applications/{ids[1]}/documents/{ids[2]}", input_stream=body,
                           content_length=os.path.getsize(body_path),
                           content_type=sys.argv[4])
assert response.status_code == 303, response.status_code
print(hwm_kib() - before)
"""


def _multipart_file(folder: Path, size: int) -> tuple[Path, str]:
    boundary = "benchboundary7MA4YWxkTrZu0gW"
    path = folder / f"upload-{size}.bin"
    pdf = _pdf(size)
    with open(path, "wb") as out:
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                  f"filename=\"cv.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".encode())
        out.write(pdf)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    return path, f"multipart/form-data; boundary={boundary}"


def _growth_mib(folder: Path, size: int) -> float:
    with throwaway_database("sqlite", folder) as url:
        body, content_type = _multipart_file(folder, size)
        env = {**os.environ, "MISSIVE_INSTANCE_PATH": tempfile.mkdtemp(prefix="missive-up-")}
        out = subprocess.run([sys.executable, "-c", _UPLOADER, str(size), url, str(body),
                              content_type], cwd=ROOT, env=env, capture_output=True, text=True)
        body.unlink()
    if out.returncode != 0:
        raise AssertionError(f"the upload failed: {out.stderr[-2000:]}")
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def upload_figure(folder, rounds: int, mb: int = 20) -> Figure:
    big = [_growth_mib(folder, mb * 1024 * KB) for _ in range(rounds)]
    small = [_growth_mib(folder, 20 * KB) for _ in range(rounds)]
    return Figure(f"web process peak RSS growth, uploading {mb} MB", "MiB", big,
                  "same, uploading 20 KB", small, target="< 5 MiB", higher_is_better=False)


# A quick run (`--quick`, and `python -m bench --quick` in `make test`) only checks that
# every figure runs: a few messages, letters and megabytes, not the real sizes.
SIZES = {"drain": 5000, "letters": 1000, "upload_mb": 20}
QUICK = {"drain": 30, "letters": 10, "upload_mb": 2}


def run(server, folder, rounds: int, quick: bool = False) -> list[Figure]:
    sizes = QUICK if quick else SIZES
    return [*drain_figures(server, folder, rounds, n=sizes["drain"]),
            letter_figure(folder, rounds, n=sizes["letters"]),
            upload_figure(folder, rounds, mb=sizes["upload_mb"])]


def main() -> None:
    import argparse

    from bench.common import CountingServer
    from bench.harness import table

    parser = argparse.ArgumentParser(description="the figures of documents and attachments")
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument("--only", default="drain,letter,upload",
                        help="comma-separated: drain, letter, upload")
    args = parser.parse_args()
    only = set(args.only.split(","))
    rounds = 1 if args.quick else 3
    sizes = QUICK if args.quick else SIZES
    folder = Path(tempfile.mkdtemp(prefix="missive-bench-"))
    figures = []
    with CountingServer() as server:
        if "drain" in only:
            figures += drain_figures(server, folder, rounds, n=sizes["drain"])
        if "letter" in only:
            figures += [letter_figure(folder, rounds, n=sizes["letters"])]
        if "upload" in only:
            figures += [upload_figure(folder, rounds, mb=sizes["upload_mb"])]
    print(table(figures))
    for found in figures:
        for note in found.notes:
            print(f"  {found.name}: {note}")


if __name__ == "__main__":
    main()
