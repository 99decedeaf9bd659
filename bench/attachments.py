"""Figures of documents and attachments.

- drain of messages each carrying a 200 KB PDF against the same drain without, both behind a
  relay answering 5 ms late (the files are read from storage and encoded per message);
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

import sqlalchemy as sa

from bench.common import ROOT, make_app, throwaway_database
from bench.drain import empty_outbox, queue_rows
from bench.harness import Figure

KB = 1024


def _pdf(size: int) -> bytes:
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(size - len(head) - 6) + b"\n%%EOF"


def _attach_to_all(pdf: bytes) -> None:
    from webapp import outbox
    from webapp.extensions import db
    from webapp.models import OutboxMessage
    from webapp.services import documents

    stored = documents.store().put(io.BytesIO(pdf))
    spec = dict(sha256=stored.sha256, filename="Lettre d’acceptation.pdf",
                content_type="application/pdf", size=stored.size)
    ids = db.session.scalars(sa.select(OutboxMessage.message_id)).all()
    for start in range(0, len(ids), 1000):
        outbox.add_attachments({mid: [spec] for mid in ids[start:start + 1000]})
    db.session.commit()


def _drain(app, server, n: int, tag: str, pdf: bytes | None) -> float:
    from jobs.drain import drain_once

    with app.app_context():
        empty_outbox()
        queue_rows(n, tag)
        if pdf:
            _attach_to_all(pdf)
    server.reset()
    start = time.perf_counter()
    report = drain_once(app)
    seconds = time.perf_counter() - start
    if report["sent"] != n:
        raise AssertionError(f"drain {tag}: {report}")
    server.expect(n, f"drain {tag}")
    return n / seconds


def drain_figure(server, folder, rounds: int, n: int) -> Figure:
    with_files, without = [], []
    pdf = _pdf(200 * KB)
    with throwaway_database("sqlite", folder) as url:
        app = make_app(url, server.port)
        server.relay(0.005, False)
        try:
            for r in range(rounds):
                without.append(_drain(app, server, n, f"plain-{r}", None))
                with_files.append(_drain(app, server, n, f"pdf-{r}", pdf))
        finally:
            server.relay(0.0, False)
            with app.app_context():
                from webapp.extensions import db

                db.engine.dispose()
    return Figure(f"drain {n:,} with a 200 KB PDF each, relay 5 ms", "msgs/s", with_files,
                  "same drain without attachments", without, target="≥ 0.5×")


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


def upload_figure(folder, rounds: int) -> Figure:
    big = [_growth_mib(folder, 20 * 1024 * KB) for _ in range(rounds)]
    small = [_growth_mib(folder, 20 * KB) for _ in range(rounds)]
    return Figure("web process peak RSS growth, uploading 20 MB", "MiB", big,
                  "same, uploading 20 KB", small, target="< 5 MiB", higher_is_better=False)


def run(server, folder, rounds: int, quick: bool = False) -> list[Figure]:
    return [drain_figure(server, folder, rounds, n=200 if quick else 5000),
            letter_figure(folder, rounds, n=50 if quick else 1000),
            upload_figure(folder, rounds)]
