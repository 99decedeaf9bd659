"""Figure 5: peak RSS of a worker process draining 50,000 messages.

The worker is `flask --app wsgi outbox drain` (what `worker --once` runs), a subprocess on a
SQLite file; its peak RSS is the kernel's VmHWM of the process, read at exit (not wait4's
ru_maxrss, which keeps the peak of the bench process forked before exec). Baseline: the same
command on an empty outbox, i.e. the process after app start.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, make_app, throwaway_database, worker_env
from bench.drain import queue_rows
from bench.harness import Figure

# `flask --app wsgi outbox drain`, noting its VmHWM (KiB) in a file when it exits.
_LAUNCHER = """
import atexit, re, sys
from pathlib import Path
def note():
    status = Path("/proc/self/status").read_text()
    Path(out).write_text(re.search(r"VmHWM:\\s*(\\d+)", status).group(1))
atexit.register(note)
out = sys.argv[1]
sys.argv = ["flask", "--app", "wsgi", "outbox", "drain"]
from flask.cli import main
main()
"""


def peak_mib(url: str, port: int, **settings) -> float:
    """The peak RSS of `flask --app wsgi outbox drain` on `url` (`settings`: its config)."""
    out = Path(tempfile.mkstemp(prefix="missive-hwm-")[1])
    code = subprocess.call([sys.executable, "-c", _LAUNCHER, str(out)], cwd=ROOT,
                           env=worker_env(url, port, **settings), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    if code != 0:
        raise AssertionError(f"the worker exited with {code}")
    return int(out.read_text()) / 1024


def run(server, folder, rounds: int, n: int = 50_000) -> list[Figure]:
    from webapp.extensions import db

    peaks, idle = [], []
    for r in range(rounds):
        with throwaway_database("sqlite", folder) as url:
            app = make_app(url, server.port)
            server.reset()
            idle.append(peak_mib(url, server.port))
            with app.app_context():
                queue_rows(n, f"memory-{r}")
                db.engine.dispose()
            peaks.append(peak_mib(url, server.port))
            server.expect(n, "memory: worker drain")
    return [Figure(f"worker peak RSS, draining {n:,}", "MiB", peaks,
                   "same process idle after app start", idle, target="≤ 100 MiB",
                   higher_is_better=False)]
