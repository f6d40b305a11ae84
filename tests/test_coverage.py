"""Coverage of the comparison's intervals and the false-FAIL rate of its verdict (docs/statistics.md).

Recomputes every interval and verdict of ``benchmarks/interval_coverage.py study`` from the cached
per-seed runs of the small site in ``benchmarks/results/coverage/`` (real simulator output; no
simulation here), with fewer resampled comparisons than the documented study.
"""

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import interval_coverage as study  # noqa: E402


@pytest.fixture(scope="module")
def measured():
    if not any(study.cache_path(name).exists() for name in study.STUDY_SCENARIOS):
        pytest.fail("no cached runs in benchmarks/results/coverage/: run benchmarks/interval_coverage.py collect")
    return study.study(draws=study.QUICK_DRAWS, legacy=False)


@pytest.mark.slow
def test_every_interval_covers_within_binomial_tolerance(measured):
    """Every metric whose paired differences are not strongly skewed: within tolerance of 95%;
    strongly skewed ones (the t interval's known small-sample weakness, docs/statistics.md): at
    least SKEWED_FLOOR."""
    cells = [c for c in measured["coverage"] for scale in ("diff", "rel") if c[scale][1]]
    assert len(cells) > 200
    under = [(c["scenario"], c["metric"], c["k"], c["design"], scale, c[scale])
             for c in measured["coverage"] for scale in ("diff", "rel")
             if c.get(f"{scale}_status") == "under" and not c["skewed"]]
    assert not under, under
    floor = [(c["scenario"], c["metric"], c["k"], c["design"], scale, c[scale])
             for c in measured["coverage"] for scale in ("diff", "rel")
             if c["skewed"] and c[scale][1] and c[f"{scale}_below_floor"]]
    assert not floor, floor


@pytest.mark.slow
def test_no_false_fail_beyond_tolerance_when_no_guardrail_is_violated(measured):
    null = [v for v in measured["verdicts"] if v["scenario"] == study.NULL]
    assert null and all(not v["violated"] for v in null)
    for v in measured["verdicts"]:
        if not v["violated"]:
            assert v["false_fail_status"] == "ok", v
    resampled = [v for v in null if v["design"] == "resampled"]
    rate = sum(v["false_fail"] for v in resampled) / sum(v["comparisons"] for v in resampled)
    assert rate <= 2 * study.FALSE_FAIL_TARGET, rate


@pytest.mark.slow
def test_the_cache_is_the_simulators_output():
    """One cached seed re-simulated: if the model changed, the cache (and docs/statistics.md) must be
    re-measured (``collect`` after deleting the CSVs, then ``study --write-docs``)."""
    name = study.STUDY_SCENARIOS[0]
    cached = study.load_runs(name)
    if 0 not in cached["baseline"]:
        pytest.fail(f"seed 0 of {name} is not cached")
    fresh = study._one(study._settings(name), "baseline", 0)
    differ = [m for m, v in cached["baseline"][0].items()
              if not (math.isnan(v) and math.isnan(fresh[m])) and not math.isclose(v, fresh[m], rel_tol=1e-9)]
    if differ:
        pytest.skip(f"coverage cache is stale (the model changed: {', '.join(differ[:5])}...): re-run "
                    "benchmarks/interval_coverage.py collect and study --write-docs")
