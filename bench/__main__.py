"""`make bench`: every figure of the benchmark, each beside a baseline measured in the same run.

    .venv/bin/python -m bench [--quick] [--only drain,relay,enqueue,...,templates,reminders]

PostgreSQL rows need BENCH_POSTGRES_URL (or TEST_POSTGRES_URL): a server where the bench may
create and drop a throwaway database. The table is printed and written to
bench/results/latest.json.
"""

import argparse
import datetime
import os
import platform
import tempfile
import time
from pathlib import Path

from bench import (
    attachments,
    bulk_status_change,
    drain,
    latency,
    memory,
    relay,
    reminders,
    scaling,
    template_budget,
)
from bench.common import CountingServer, postgres_url
from bench.harness import Figure, table, write_json

RESULTS = Path(__file__).parent / "results" / "latest.json"
FIGURES = ("drain", "relay", "enqueue", "latency", "scaling", "memory", "templates",
           "reminders", "attachments")


def not_measured(name: str, reason: str) -> Figure:
    return Figure(name, "", [float("nan")], reason, [float("nan")], notes=[reason])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and rows (a smoke run)")
    parser.add_argument("--only", default=",".join(FIGURES))
    args = parser.parse_args()
    only = set(args.only.split(","))
    rounds = 1 if args.quick else 3
    pg = postgres_url()
    backends = ["sqlite"] + (["postgresql"] if pg else [])
    no_pg = "not measured: set BENCH_POSTGRES_URL (or TEST_POSTGRES_URL)"
    folder = Path(tempfile.mkdtemp(prefix="missive-bench-"))
    figures: list[Figure] = []
    plans: dict = {}
    timings: dict[str, float] = {}
    with CountingServer() as server:
        for name in FIGURES:
            if name not in only:
                continue
            start = time.perf_counter()
            print(f"… {name}", flush=True)
            if name == "drain":
                figures += drain.run(server, folder, backends, rounds,
                                     n=1000 if args.quick else 5000)
                if not pg:
                    figures.append(not_measured("drain, PostgreSQL", no_pg))
            elif name == "relay":
                figures += relay.run(server, folder, rounds=1 if args.quick else 2,
                                     quick=args.quick)
            elif name == "enqueue":
                figures += bulk_status_change.run(server, folder, backends, rounds)
                if not pg:
                    figures.append(not_measured("bulk status change, PostgreSQL", no_pg))
            elif name == "latency":
                figures += latency.run(server, folder, rounds=1)
            elif name == "scaling":
                found, plans = scaling.run(server, folder, requests=10 if args.quick else 20,
                                           sizes=(1_000, 100_000 if args.quick else 1_000_000))
                figures += found
            elif name == "memory":
                figures += memory.run(server, folder, rounds=1,
                                      n=5_000 if args.quick else 50_000)
            elif name == "templates":
                figures += template_budget.run(rounds)
            elif name == "reminders":
                figures += reminders.run(server, folder, backends, rounds)
            elif name == "attachments":
                figures += attachments.run(server, folder, rounds, quick=args.quick)
            timings[name] = round(time.perf_counter() - start, 1)
    print()
    print(table(figures))
    for figure in figures:
        for note in figure.notes:
            print(f"  {figure.name}: {note}")
    meta = {"when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                       f"{platform.python_version()}",
            "rounds": rounds, "quick": args.quick, "seconds": timings,
            "postgresql": bool(pg), "smtp_server": "aiosmtpd in a separate process",
            "query_plans": plans}
    write_json(figures, RESULTS, meta)
    print(f"\nWritten to {RESULTS}; seconds per figure: {timings}")


if __name__ == "__main__":
    main()
