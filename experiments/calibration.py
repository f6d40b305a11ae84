"""Compare a run's steady-state metrics with the real Stack Overflow figures in
``conf/calibration/stackoverflow_2018.yaml`` (value, accepted band, source), shipped with the package.

Usage: ``python -m experiments.calibration [overrides...]`` runs the full-scale preset (by default
365 days after a 60-day warm-up) and prints each target with the simulated value and whether it
falls in its band; ``--json PATH`` writes the table.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import yaml

#: The targets of the full-scale preset, inside the ``conf`` package (found in a clone and an install).
TARGETS = ("calibration", "stackoverflow_2018.yaml")


def load_targets(path: str | Path | None = None) -> dict[str, dict]:
    """The calibration targets (name -> value, band, status, source).

    Args:
        path: A targets file; default ``conf/calibration/stackoverflow_2018.yaml``.
    """
    text = Path(path).read_text() if path else resources.files("conf").joinpath(*TARGETS).read_text()
    return yaml.safe_load(text)["targets"]


def calibration_table(metrics: dict[str, float], targets: dict[str, dict]) -> list[dict]:
    """One row per target: simulated value, band and whether it is inside."""
    rows = []
    for name, t in targets.items():
        value = metrics.get(name, float("nan"))
        lo, hi = t["band"]
        rows.append({"target": name, "real": t["value"], "band": [lo, hi], "simulated": value,
                     "in_band": bool(value == value and lo <= value <= hi)})
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'target':<38}{'real':>10}{'band':>20}{'simulated':>12}  ok"]
    for r in rows:
        band = f"[{r['band'][0]:g}, {r['band'][1]:g}]"
        sim = r["simulated"]
        lines.append(f"{r['target']:<38}{r['real']:>10g}{band:>20}{sim:>12.4g}  {'yes' if r['in_band'] else 'NO'}")
    inside = sum(r["in_band"] for r in rows)
    lines.append(f"{inside}/{len(rows)} targets inside their band")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from preflight.compose import compose
    from preflight.run import simulate

    args = list(sys.argv[1:] if argv is None else argv)
    out = None
    if "--json" in args:
        i = args.index("--json")
        out = Path(args[i + 1])
        del args[i:i + 2]
    overrides = ["site=stackoverflow_2018", "run.days=425", "run.warmup_days=60", *args]
    _, settings = compose(overrides)
    result = simulate(settings, progress=True)
    rows = calibration_table(result.metrics, load_targets())
    print(format_table(rows))
    print(f"wall time {result.wall_time_s:.1f} s, {result.events:,} events")
    if out:
        out.write_text(json.dumps({"overrides": overrides, "rows": rows, "wall_time_s": result.wall_time_s}, indent=2))


if __name__ == "__main__":
    main()
