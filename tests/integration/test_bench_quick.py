"""The benchmark still runs: `python -m bench --quick`, every figure on small sizes. Each figure
is a test of its own (the parallel workers share them out); each runs the bench's own entry
point, `--quick --only <figure>`. Its numbers are not looked at (timings never belong in
tests); what is checked is that the figure ran to the end and produced its rows, so a change
that breaks the bench breaks `make test`. Every figure registered in bench/__main__.py is
tested, and every module of bench/ must be registered."""

import json
import math
import pkgutil

import pytest

import bench
from bench import __main__ as bench_main
from bench.__main__ import FIGURES, HELPERS, MODULES
from bench.common import CountingServer

pytestmark = pytest.mark.slow


def test_every_bench_module_is_a_registered_figure():
    modules = {info.name for info in pkgutil.iter_modules(bench.__path__)}
    registered = {module.__name__.rsplit(".", 1)[1] for module in MODULES.values()}
    forgotten = modules - registered - set(HELPERS)
    assert not forgotten, (f"bench modules no figure runs: {sorted(forgotten)}; register "
                           "each with @figure in bench/__main__.py")


@pytest.fixture(scope="module")
def counting_server():
    """The bench's SMTP server (a process of its own), shared by the figures as in a full run:
    each resets it first."""
    with CountingServer() as server:
        yield server


@pytest.mark.parametrize("name", list(FIGURES))
def test_the_quick_bench_runs_the_figure(name, counting_server, tmp_path, monkeypatch, capsys):
    results = tmp_path / "quick.json"
    monkeypatch.setenv("MISSIVE_INSTANCE_PATH", str(tmp_path / "instance"))
    bench_main.main(["--quick", "--only", name, "--json", str(results)], counting_server)
    out = capsys.readouterr().out
    assert f"… {name}\n" in out
    report = json.loads(results.read_text())
    assert list(report["meta"]["seconds"]) == [name]
    figures = report["figures"]
    assert figures
    for figure in figures:
        if figure.get("measured") is False:  # a PostgreSQL row without a server: says why
            assert "BENCH_POSTGRES_URL" in figure["reason"], figure
            continue
        values = figure["values"] + figure["baseline_values"]
        assert values and all(math.isfinite(v) and v >= 0 for v in values), figure
    assert "Written to" in out


def test_a_figure_that_fails_is_said_and_the_others_are_kept(counting_server, tmp_path,
                                                             monkeypatch, capsys):
    def broken(_bench):
        raise RuntimeError("the relay went away")

    monkeypatch.setitem(FIGURES, "broken", broken)
    results = tmp_path / "quick.json"
    with pytest.raises(SystemExit, match="figures that failed: broken"):
        bench_main.main(["--quick", "--only", "broken,templates", "--json", str(results)],
                        counting_server)
    out = capsys.readouterr()
    assert "RuntimeError: the relay went away" in out.err
    report = json.loads(results.read_text())
    assert report["meta"]["failed"] == ["broken"]
    measured = [figure["name"] for figure in report["figures"]]
    assert measured and all(name in out.out for name in measured)
