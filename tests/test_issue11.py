"""Regression tests of issue 11, items 7 and 10, written against the comparison's public API of
before the fix (``summarize_pairs``, ``paired_difference``, ``evaluate``), so they ran, and failed,
on the code the issue was filed against."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.compare import summarize_pairs
from experiments.guardrails import evaluate
from experiments.stats import paired_difference
from tests.comparison_cases import runs_from, strike_settings


@pytest.fixture(scope="module")
def strike():
    return strike_settings()


def test_rare_event_metrics_do_not_pass_guardrails_from_zero_width_intervals(strike):
    """Item 7. Four seeds where a scenario leaves appeals upheld and the spam detector's precision
    exactly as in baseline: the intervals were [0, 0] and a "must not decrease" guardrail PASSed."""
    settings = dataclasses.replace(strike, guardrails=[
        {"name": "precision_kept", "metric": "spam_autoflag_precision", "max_relative_decrease": 0.0},
        {"name": "appeals_flat", "metric": "appeals_upheld", "max_absolute_increase": 0.5},
    ])
    same = {"appeals_upheld": [0.0, 1.0, 0.0, 0.0], "spam_autoflag_precision": [1.0, 1.0, 1.0, 1.0],
            "harm_exposure": [500.0, 520.0, 480.0, 510.0]}
    scen = {**same, "harm_exposure": [700.0, 650.0, 720.0, 690.0]}
    comparison = summarize_pairs(settings, runs_from({"baseline": same, "scenario": scen}))
    appeals = comparison["metrics"]["appeals_upheld"]
    assert appeals["ci_low"] < 0 < appeals["ci_high"]
    assert appeals["method"] == "rare-event" and appeals["events"] == [1, 1]
    rails = {g["name"]: g for g in comparison["guardrails"]}
    assert rails["precision_kept"]["verdict"] == "INCONCLUSIVE"
    assert rails["appeals_flat"]["verdict"] == "INCONCLUSIVE"  # 2 events in 8 runs cannot bound it by 0.5
    assert comparison["verdict"] != "PASS"


def test_a_share_identical_in_every_seed_does_not_pass_a_must_not_decrease_guardrail():
    spec = {"metric": "spam_autoflag_precision", "max_relative_decrease": 0.0}
    result = evaluate(spec, {"baseline": [1.0, 1.0, 1.0, 1.0], "scenario": [1.0, 1.0, 1.0, 1.0]})
    assert result["verdict"] == "INCONCLUSIVE"
    assert result["ci_low"] < result["ci_high"]


# --- item 10: relative changes -----------------------------------------------------------------


def test_relative_change_never_below_minus_100_percent_for_a_nonnegative_metric():
    """-119% appeared; a non-negative metric cannot fall by more than all of it."""
    row = paired_difference([0.5, 5.0, 1.0, 0.2], [0.1, 0.2, 0.1, 0.1])
    assert row["rel_ci_low"] >= -1.0
    assert row["rel_ci_low"] <= row["rel_change"] <= row["rel_ci_high"]


nonnegative_pairs = st.integers(2, 12).flatmap(lambda n: st.tuples(
    st.lists(st.floats(0, 1e4, allow_nan=False), min_size=n, max_size=n),
    st.lists(st.floats(0, 1e4, allow_nan=False), min_size=n, max_size=n)))


@settings(max_examples=80, deadline=None)
@given(pair=nonnegative_pairs)
def test_relative_interval_of_a_nonnegative_metric_stays_above_minus_100_percent(pair):
    baseline, scenario = pair
    row = paired_difference(baseline, scenario)
    assert row["rel_ci_low"] >= -1.0 or np.isnan(row["rel_ci_low"])


def test_relative_changes_respect_the_scale_in_the_comparison(strike):
    base = {"harm_exposure": [0.5, 5.0, 1.0, 0.2], "questions_per_day": [20.0, 21.0, 19.0, 20.5]}
    scen = {"harm_exposure": [0.1, 0.2, 0.1, 0.1], "questions_per_day": [19.0, 20.5, 18.0, 19.0]}
    comparison = summarize_pairs(strike, runs_from({"baseline": base, "scenario": scen}))
    for name, row in comparison["metrics"].items():
        assert row["rel_ci_low"] >= -1.0, (name, row["rel_ci_low"])
    harm = next(g for g in comparison["guardrails"] if g["metric"] == "harm_exposure")
    assert harm["ci_low"] >= -1.0
