"""Rounds, medians and the printed table of `make bench`."""

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Figure:
    name: str
    unit: str
    values: list[float]
    baseline_name: str
    baseline_values: list[float]
    target: str = ""
    higher_is_better: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def baseline(self) -> float:
        return statistics.median(self.baseline_values)

    @property
    def ratio(self) -> float:
        return self.median / self.baseline if self.baseline else float("nan")

    def as_dict(self) -> dict:
        data = asdict(self)
        if self.values and self.values[0] != self.values[0]:  # NaN: not measured
            return {"name": self.name, "measured": False, "reason": self.baseline_name}
        data.update(median=self.median, baseline=self.baseline, ratio=self.ratio,
                    min=min(self.values), max=max(self.values),
                    baseline_min=min(self.baseline_values),
                    baseline_max=max(self.baseline_values))
        return data


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(figures: list[Figure]) -> str:
    header = ("figure", "median", "min–max", "unit", "baseline (median)", "ratio", "target")
    rows = [header]
    for f in figures:
        if f.values and f.values[0] != f.values[0]:  # NaN: not measured
            rows.append((f.name, "—", "", "", f.baseline_name, "", f.target))
            continue
        rows.append((
            f.name, _fmt(f.median), f"{_fmt(min(f.values))}–{_fmt(max(f.values))}", f.unit,
            f"{f.baseline_name}: {_fmt(f.baseline)}", f"{f.ratio:.2f}×", f.target,
        ))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(figures: list[Figure], path: Path, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "figures": [f.as_dict() for f in figures]},
                               indent=2, ensure_ascii=False))
