"""`make bench`: every figure of the benchmark, each beside a baseline measured in the same run.

    .venv/bin/python -m bench [--quick] [--only drain,relay,...] [--json PATH]

PostgreSQL rows need BENCH_POSTGRES_URL (or TEST_POSTGRES_URL): a server where the bench may
create and drop a throwaway database. Each figure's rows are printed, and bench/results/latest.json
rewritten, as soon as it is measured; the whole table is printed at the end. A figure that
fails is said with its traceback, the others still run, and the run then exits non-zero.

`--quick` runs every figure on small sizes and one round, in seconds: a smoke run whose
numbers mean nothing, which `make test` runs (tests/integration/test_bench_quick.py) so that
the benchmark cannot break unnoticed. Every figure is registered below with `@figure`, the
one list of what the bench runs; a module of bench/ that no figure uses fails that test.
"""

import argparse
import contextlib
import datetime
import os
import platform
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import (
    attachments,
    bulk_status_change,
    delivery,
    drain,
    latency,
    memory,
    purge,
    relay,
    reminders,
    scaling,
    template_budget,
    wire,
)
from bench.common import CountingServer, postgres_url
from bench.harness import Figure, table, write_json

RESULTS = Path(__file__).parent / "results" / "latest.json"
# Modules that measure nothing themselves: what the figures share.
HELPERS = ("__main__", "baselines", "common", "harness")
NO_POSTGRES = "not measured: set BENCH_POSTGRES_URL (or TEST_POSTGRES_URL)"


@dataclass
class Bench:
    """What a figure gets: the counting SMTP server, a folder for SQLite files, the backends
    to measure on, and whether this is a quick run."""

    server: CountingServer
    folder: Path
    backends: list[str]
    quick: bool
    plans: dict = field(default_factory=dict)  # the scaling figure's query plans

    @property
    def rounds(self) -> int:
        return 1 if self.quick else 3

    def size(self, full, quick):
        """`full` in a real run, `quick` in a quick one."""
        return quick if self.quick else full

    def unmeasured_postgres(self, name: str) -> list[Figure]:
        """A row saying why the PostgreSQL figure `name` is missing, if it is."""
        if "postgresql" in self.backends:
            return []
        return [Figure(name, "", [float("nan")], NO_POSTGRES, [float("nan")],
                       notes=[NO_POSTGRES])]


FIGURES: dict[str, Callable[[Bench], list[Figure]]] = {}
MODULES: dict[str, object] = {}  # figure name -> the bench module it runs


def figure(name: str, module):
    """Register a figure: `make bench` runs them in this file's order."""
    def register(run: Callable[[Bench], list[Figure]]):
        FIGURES[name] = run
        MODULES[name] = module
        return run
    return register


@figure("drain", drain)
def _drain(b: Bench) -> list[Figure]:
    return (drain.run(b.server, b.folder, b.backends, b.rounds, n=b.size(5000, 50))
            + b.unmeasured_postgres("drain, PostgreSQL"))


@figure("relay", relay)
def _relay(b: Bench) -> list[Figure]:
    return relay.run(b.server, b.folder, rounds=b.size(2, 1), quick=b.quick)


@figure("enqueue", bulk_status_change)
def _enqueue(b: Bench) -> list[Figure]:
    return (bulk_status_change.run(b.server, b.folder, b.backends, b.rounds,
                                   sizes=b.size((1000, 10000), (20, 100)))
            + b.unmeasured_postgres("bulk status change, PostgreSQL"))


@figure("latency", latency)
def _latency(b: Bench) -> list[Figure]:
    return latency.run(b.server, b.folder, rounds=1, submissions=b.size(50, 3))


@figure("scaling", scaling)
def _scaling(b: Bench) -> list[Figure]:
    found, plans = scaling.run(b.server, b.folder, requests=b.size(20, 2),
                               sizes=b.size((1_000, 1_000_000), (100, 500)))
    b.plans = plans
    return found


@figure("memory", memory)
def _memory(b: Bench) -> list[Figure]:
    return memory.run(b.server, b.folder, rounds=1, n=b.size(50_000, 100))


@figure("templates", template_budget)
def _templates(b: Bench) -> list[Figure]:
    return template_budget.run(b.rounds)


@figure("reminders", reminders)
def _reminders(b: Bench) -> list[Figure]:
    return reminders.run(b.server, b.folder, b.backends, b.rounds,
                         sizes=b.size((1_000, 100_000), (50, 500)), due=b.size(1_000, 20))


@figure("emails-tab", reminders)
def _emails_tab(b: Bench) -> list[Figure]:
    return reminders.run_emails_tab(b.server, b.folder, b.backends,
                                    sizes=b.size((100, 50_000), (10, 100)),
                                    requests=b.size(reminders.TAB_REQUESTS, 2))


@figure("purge", purge)
def _purge(b: Bench) -> list[Figure]:
    return purge.run(b.server, b.folder, b.backends, b.rounds,
                     sizes=b.size((10_000, 100_000), (100, 1_000)))


@figure("delivery", delivery)
def _delivery(b: Bench) -> list[Figure]:
    n = b.size(10_000, 200)
    return (delivery.bounce_filing(b.server, b.folder, b.rounds, n)
            + delivery.suppression_overhead(b.server, b.folder, b.rounds, n)
            + delivery.dkim_drain(b.server, b.folder, b.rounds, b.size(2_000, 100)))


@figure("attachments", attachments)
def _attachments(b: Bench) -> list[Figure]:
    return attachments.run(b.server, b.folder, b.rounds, quick=b.quick)


@figure("wire", wire)
def _wire(b: Bench) -> list[Figure]:
    return wire.figures(b.server, n=b.size(wire.N, 100), rounds=b.size(wire.ROUNDS, 1))


def main(argv: list[str] | None = None, server: CountingServer | None = None) -> None:
    """`server`: a counting server already running, for several runs in one process (the
    quick run's tests); by default the run starts its own."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="every figure on small sizes, one round: a smoke run")
    parser.add_argument("--only", default=",".join(FIGURES),
                        help="figures to run, comma-separated: " + ",".join(FIGURES))
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the table")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    unknown = only - set(FIGURES)
    if unknown:
        parser.error(f"no figure named {', '.join(sorted(unknown))}")
    pg = postgres_url()
    folder = Path(tempfile.mkdtemp(prefix="missive-bench-"))
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    failed: dict[str, BaseException] = {}
    meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                       f"{platform.python_version()}",
            "quick": args.quick, "seconds": timings, "postgresql": bool(pg),
            "smtp_server": "aiosmtpd in a separate process"}
    with contextlib.ExitStack() as stack:
        if server is None:
            server = stack.enter_context(CountingServer())
        bench = Bench(server, folder, ["sqlite"] + (["postgresql"] if pg else []), args.quick)
        meta.update(rounds=bench.rounds, query_plans=bench.plans)
        for name, run in FIGURES.items():
            if name not in only:
                continue
            start = time.perf_counter()
            print(f"… {name}", flush=True)
            try:
                found = run(bench)
            except Exception as error:  # noqa: BLE001 — said, and the other figures still run
                failed[name] = error
                traceback.print_exc()
                found = []
            timings[name] = round(time.perf_counter() - start, 1)
            figures += found
            # Each figure as soon as it is measured: a long run stopped half-way keeps them.
            for row in table(found).splitlines()[2:]:
                print(f"  {row}", flush=True)
            meta.update(when=_now(), failed=sorted(failed), query_plans=bench.plans)
            write_json(figures, args.json, meta)
    print()
    print(table(figures))
    for found in figures:
        for note in found.notes:
            print(f"  {found.name}: {note}")
    print(f"\nWritten to {args.json}; seconds per figure: {timings}")
    if failed:
        names = ", ".join(sorted(failed))
        raise SystemExit(f"figures that failed: {names}") from next(iter(failed.values()))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")

if __name__ == "__main__":
    main()
