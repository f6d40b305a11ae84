"""Golden summary: the same seed gives the recorded metrics.

Guards determinism across refactors and optimisations. A deliberate behaviour change updates the
file: ``PREFLIGHT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` (and say why in the commit).
Counts and every other non-float value must match exactly; floats to 1e-12 relative, because a
newer numpy within the pinned range may sum the same numbers in another order (numpy 2.5.5 moved
two harm-exposure sums by one unit in the last place), which is not a change of behaviour.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from preflight.files import json_ready
from preflight.run import simulate
from tests.sites import small

GOLDEN = Path(__file__).parent / "golden" / "small_seed7.json"


def current() -> dict:
    result = simulate(small(days=25, warmup=5, seed=7))
    return {"metrics": json_ready(result.metrics), "events": result.events,
            "daily_questions": result.series["questions_per_day"].tolist()}


def test_golden_summary():
    got = json.loads(json.dumps(current(), sort_keys=True))
    if os.environ.get("PREFLIGHT_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert differences(got, want) == []


def differences(got, want, path: str = "") -> list[str]:
    """Where ``got`` and ``want`` differ: exact for everything but floats, which must agree to
    1e-12 relative (NaN equal to NaN)."""
    if isinstance(want, dict) and isinstance(got, dict):
        if set(got) != set(want):
            return [f"{path}: keys {sorted(set(got) ^ set(want))}"]
        return [d for k in sorted(want) for d in differences(got[k], want[k], f"{path}.{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{path}: length {len(got)} vs {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in differences(g, w, f"{path}[{i}]")]
    if isinstance(want, float) and isinstance(got, float):
        same = (math.isnan(got) and math.isnan(want)) or math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0)
        return [] if same else [f"{path}: {got!r} vs {want!r}"]
    return [] if (type(got) is type(want) and got == want) else [f"{path}: {got!r} vs {want!r}"]
