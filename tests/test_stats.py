"""Paired statistics over seeds."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.stats import mean_interval, paired_difference, relative_to, replicates_needed

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
paired_lists = st.integers(2, 20).flatmap(
    lambda n: st.tuples(st.lists(finite, min_size=n, max_size=n), st.lists(finite, min_size=n, max_size=n))
)


def test_t_interval_matches_a_hand_computed_case():
    baseline = np.array([10.0, 12.0, 11.0, 13.0])
    scenario = baseline + np.array([1.0, 2.0, 3.0, 2.0])  # diffs: mean 2, sd sqrt(2/3)
    row = paired_difference(baseline, scenario)
    half = 3.182446305284263 * math.sqrt(2 / 3) / 2  # t(0.975, 3) * sd / sqrt(4)
    assert row["diff_mean"] == pytest.approx(2.0)
    assert row["ci_low"] == pytest.approx(2.0 - half)
    assert row["ci_high"] == pytest.approx(2.0 + half)
    assert row["rel_change"] == pytest.approx(2.0 / 11.5)
    assert row["rel_ci_low"] == pytest.approx((2.0 - half) / 11.5)
    assert (row["n"], row["method"]) == (4, "t")


@pytest.mark.parametrize("method", ["t", "bootstrap"])
def test_interval_covers_a_true_effect_of_three(method):
    rng = np.random.default_rng(7)
    seed_noise = rng.normal(100, 20, 30)  # shared by both arms: pairing must cancel it
    baseline = seed_noise + rng.normal(0, 1, 30)
    scenario = seed_noise + 3 + rng.normal(0, 1, 30)
    row = paired_difference(baseline, scenario, method=method)
    assert row["ci_low"] < 3 < row["ci_high"]
    assert row["ci_high"] - row["ci_low"] < 2  # far narrower than the 20-unit seed noise


def test_bootstrap_is_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    base, scen = rng.normal(0, 1, 10), rng.normal(0.5, 1, 10)
    first = paired_difference(base, scen, method="bootstrap", rng_seed=3)
    assert first == paired_difference(base, scen, method="bootstrap", rng_seed=3)
    assert first["method"] == "bootstrap"


@settings(max_examples=60, deadline=None)
@given(values=st.lists(finite, min_size=2, max_size=20), method=st.sampled_from(["t", "bootstrap"]))
def test_identical_arms_give_an_exactly_zero_interval(values, method):
    row = paired_difference(values, list(values), method=method)
    assert (row["diff_mean"], row["ci_low"], row["ci_high"]) == (0.0, 0.0, 0.0)
    assert (row["rel_change"], row["rel_ci_low"], row["rel_ci_high"]) == (0.0, 0.0, 0.0)


@settings(max_examples=60, deadline=None)
@given(pair=paired_lists)
def test_interval_contains_the_mean_and_flips_when_arms_swap(pair):
    baseline, scenario = pair
    row = paired_difference(baseline, scenario)
    swapped = paired_difference(scenario, baseline)
    tol = 1e-9 * (1 + abs(row["diff_mean"]))
    assert row["ci_low"] - tol <= row["diff_mean"] <= row["ci_high"] + tol
    assert swapped["diff_mean"] == pytest.approx(-row["diff_mean"], abs=1e-6)
    assert swapped["ci_low"] == pytest.approx(-row["ci_high"], rel=1e-9, abs=1e-6)


def test_pairs_with_a_nan_are_dropped():
    row = paired_difference([1.0, np.nan, 3.0, 5.0], [2.0, 4.0, np.nan, 7.0])
    assert row["n"] == 2
    assert row["baseline_mean"] == 3.0 and row["scenario_mean"] == 4.5


@pytest.mark.parametrize("baseline, scenario", [([1.0], [2.0]), ([], []), ([np.nan, 1.0], [1.0, np.nan])])
def test_fewer_than_two_pairs_give_a_nan_interval(baseline, scenario):
    row = paired_difference(baseline, scenario)
    assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
    assert math.isnan(row["rel_ci_low"])


def test_zero_baseline_gives_signed_infinite_relative_change():
    row = paired_difference([0.0, 0.0, 0.0], [1.0, 2.0, 3.0])
    assert row["rel_change"] == math.inf
    assert row["rel_ci_high"] == math.inf
    assert relative_to(-2.0, 0.0) == -math.inf
    assert relative_to(0.0, 0.0) == 0.0
    assert relative_to(1.0, -4.0) == 0.25  # relative to the size of the baseline


def test_bad_inputs_raise_one_line_errors():
    with pytest.raises(ValueError, match="method='median'"):
        paired_difference([1, 2], [1, 2], method="median")
    with pytest.raises(ValueError, match="pair up"):
        paired_difference([1, 2, 3], [1, 2])


def test_mean_interval_of_ratios():
    mean, low, high = mean_interval([1.1, 1.2, 1.3, np.nan])
    assert mean == pytest.approx(1.2)
    assert low < 1.2 < high


def test_replicates_needed_reaches_the_target_half_width():
    diffs = np.random.default_rng(0).normal(1.0, 2.0, 12)
    n = replicates_needed(diffs, half_width=0.5)
    sd = diffs.std(ddof=1)
    from scipy import stats

    assert stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) <= 0.5
    assert stats.t.ppf(0.975, n - 2) * sd / math.sqrt(n - 1) > 0.5  # and no fewer would do
    assert replicates_needed(diffs, half_width=0.25) > n


def test_replicates_needed_without_spread_is_two():
    assert replicates_needed([0.0, 0.0, 0.0], half_width=0.1) == 2
    assert replicates_needed([1.5], half_width=0.1) == 2
    with pytest.raises(ValueError, match="half_width"):
        replicates_needed([1.0, 2.0], half_width=0)
