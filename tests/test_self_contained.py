"""The repository stands on its own: nothing refers outside it, and the calibration targets ship
under conf/ (a user's clone has nothing beside it)."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

from experiments.calibration import calibration_table, format_table, load_targets
from sim.metric_registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def test_nothing_refers_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = "../" + "shared"  # spelled apart so this file does not find itself
    hits = [f"{name}:{n}" for name in tracked if (ROOT / name).is_file()
            for n, line in enumerate((ROOT / name).read_text(errors="ignore").splitlines(), start=1)
            if outside in line]
    assert hits == [], hits


def test_calibration_targets_ship_with_the_package():
    targets = load_targets()
    assert len(targets) >= 15
    for name, target in targets.items():
        assert name in REGISTRY, f"{name}: not a metric of sim/metric_registry.py"
        low, high = target["band"]
        assert low < high and low <= target["value"] <= high, name
        assert target["source"].strip() and target["status"] in ("sourced", "derived"), name


def test_calibration_table_marks_values_inside_their_band():
    targets = {"closure_rate": {"value": 0.115, "band": [0.09, 0.14], "source": "x"},
               "moderators": {"value": 25, "band": [20, 30], "source": "x", "kind": "input"}}
    rows = calibration_table({"closure_rate": 0.2, "moderators": 25.0}, targets)
    assert [r["in_band"] for r in rows] == [False, True]
    assert [r["kind"] for r in rows] == ["emergent", "input"]
    # the summary counts every target and, apart, the emergent ones (the only evidence; inputs echo config)
    assert format_table(rows).endswith("1/2 targets inside their band (0/1 emergent)")
    rows = calibration_table({"closure_rate": math.nan}, targets)  # missing or NaN: outside
    assert [r["in_band"] for r in rows] == [False, False]
    assert format_table(rows).endswith("0/2 targets inside their band (0/1 emergent)")
