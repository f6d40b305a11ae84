"""Golden summary: the same seed gives the recorded metrics.

Guards determinism across refactors and optimisations. A deliberate behaviour change updates the
file: ``PREFLIGHT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` (and say why in the commit).
Counts and every other non-float value must match exactly; floats to 1e-12 relative, because a
newer numpy within the pinned range may sum the same numbers in another order (numpy 2.5.5 moved
two harm-exposure sums by one unit in the last place), which is not a change of behaviour.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from preflight.files import json_ready
from preflight.run import simulate
from tests.golden_match import differences
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
