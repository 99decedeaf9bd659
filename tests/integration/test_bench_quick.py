"""The benchmark still runs: `python -m bench --quick`, every figure on small sizes, in a process
of its own. Its numbers are not looked at (timings never belong in tests); what is checked is
that every figure ran to the end and produced its rows, so a change that breaks the bench
breaks `make test`."""

import json
import math
import pkgutil
import subprocess
import sys

import pytest

import bench
from bench.__main__ import FIGURES, HELPERS, MODULES
from webapp import ROOT

pytestmark = pytest.mark.slow


def test_every_bench_module_is_a_registered_figure():
    modules = {info.name for info in pkgutil.iter_modules(bench.__path__)}
    registered = {module.__name__.rsplit(".", 1)[1] for module in MODULES.values()}
    forgotten = modules - registered - set(HELPERS)
    assert not forgotten, (f"bench modules no figure runs: {sorted(forgotten)}; register "
                           "each with @figure in bench/__main__.py")


def test_the_quick_bench_runs_every_figure(tmp_path):
    results = tmp_path / "quick.json"
    # A hang guard, not a timing: the quick run takes well under a minute.
    run = subprocess.run([sys.executable, "-m", "bench", "--quick", "--json", str(results)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for name in FIGURES:
        assert f"… {name}\n" in run.stdout
    report = json.loads(results.read_text())
    assert list(report["meta"]["seconds"]) == list(FIGURES)
    figures = report["figures"]
    assert len(figures) >= len(FIGURES)
    for figure in figures:
        if figure.get("measured") is False:  # a PostgreSQL row without a server: says why
            assert "BENCH_POSTGRES_URL" in figure["reason"], figure
            continue
        values = figure["values"] + figure["baseline_values"]
        assert values and all(math.isfinite(v) and v >= 0 for v in values), figure
    assert "Written to" in run.stdout
