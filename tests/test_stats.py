"""Paired statistics over seeds."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.stats import (
    BOOTSTRAP_MIN_PAIRS,
    mean_interval,
    paired_difference,
    relative_to,
    replicates_needed,
    seeds_to_decide,
    spending_levels,
)

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
    assert (row["n"], row["method"]) == (4, "t")
    assert row["p_value"] == pytest.approx(0.016276603459428555)  # scipy.stats.ttest_rel of the same pairs


def test_relative_interval_is_fiellers_and_agrees_with_the_difference():
    """Hand-computed Fieller interval of mean(scenario) / mean(baseline) on the same pairs."""
    baseline = np.array([10.0, 12.0, 11.0, 13.0])
    scenario = baseline + np.array([1.0, 2.0, 3.0, 2.0])
    row = paired_difference(baseline, scenario)
    q = 3.182446305284263
    cov = np.cov(scenario, baseline) / 4  # variances and covariance of the two means
    ms, mb = scenario.mean(), baseline.mean()
    a, b, c = mb**2 - q**2 * cov[1, 1], ms * mb - q**2 * cov[0, 1], ms**2 - q**2 * cov[0, 0]
    low, high = (b - math.sqrt(b * b - a * c)) / a, (b + math.sqrt(b * b - a * c)) / a
    assert (row["rel_ci_low"], row["rel_ci_high"]) == (pytest.approx(low - 1), pytest.approx(high - 1))
    # ratio 1 is inside Fieller's set exactly when 0 is inside the paired t interval
    assert row["rel_ci_low"] > 0 and row["ci_low"] > 0


def test_bootstrap_is_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    base, scen = rng.normal(0, 1, BOOTSTRAP_MIN_PAIRS), rng.normal(0.5, 1, BOOTSTRAP_MIN_PAIRS)
    first = paired_difference(base, scen, method="bootstrap", rng_seed=3)
    assert first == paired_difference(base, scen, method="bootstrap", rng_seed=3)
    assert first["method"] == "bootstrap"
    assert first["ci_low"] < first["diff_mean"] < first["ci_high"]
    assert first["rel_ci_low"] < first["rel_change"] < first["rel_ci_high"]
    assert (first["p_value"] < 0.05) == (first["ci_low"] > 0 or first["ci_high"] < 0)


def test_bootstrap_is_not_used_below_its_minimum_pairs():
    """Issue 11 item 6: the percentile bootstrap covered 76-83% at 4 seeds. Below
    BOOTSTRAP_MIN_PAIRS the paired t interval is used, and the row says so."""
    rng = np.random.default_rng(1)
    base, scen = rng.normal(0, 1, 8), rng.normal(0.5, 1, 8)
    row = paired_difference(base, scen, method="bootstrap")
    t_row = paired_difference(base, scen)
    assert row["method"] == "t"
    assert (row["ci_low"], row["ci_high"]) == (t_row["ci_low"], t_row["ci_high"])


@pytest.mark.slow
def test_bootstrap_covers_at_its_minimum_pairs():
    """BCa at BOOTSTRAP_MIN_PAIRS pairs of skewed (lognormal) differences: coverage of the true
    mean within binomial tolerance of 95% over 300 samples (the percentile bootstrap at 4 pairs
    covers about 80%)."""
    rng = np.random.default_rng(11)
    sigma, trials = 0.5, 300
    truth = math.exp(sigma**2 / 2)
    covered = 0
    for i in range(trials):
        x = rng.lognormal(0, sigma, BOOTSTRAP_MIN_PAIRS)
        row = paired_difference(np.zeros_like(x), x, method="bootstrap", rng_seed=i)
        covered += row["ci_low"] <= truth <= row["ci_high"]
    from scipy import stats

    assert stats.binom.cdf(covered, trials, 0.95) > 0.001, covered / trials


@settings(max_examples=60, deadline=None)
@given(values=st.lists(finite, min_size=2, max_size=20), method=st.sampled_from(["t", "bootstrap"]))
def test_identical_arms_give_an_exactly_zero_interval(values, method):
    """Arms with the same configuration: the difference is zero by construction, not by chance."""
    row = paired_difference(values, list(values), method=method, identical=True)
    assert (row["diff_mean"], row["ci_low"], row["ci_high"]) == (0.0, 0.0, 0.0)
    assert (row["rel_change"], row["rel_ci_low"], row["rel_ci_high"]) == (0.0, 0.0, 0.0)
    assert not row["degenerate"]


def test_equal_differences_of_a_rare_count_do_not_give_a_zero_width_interval():
    """Issue 11 item 7: four seeds with the same appeals upheld in both arms gave [0, 0] although
    the long-run difference is not zero. The pooled Poisson counts bound what few events can show."""
    baseline = [0.0, 1.0, 0.0, 0.0]
    row = paired_difference(baseline, list(baseline), kind="count")
    assert row["method"] == "rare-event" and row["events"] == [1, 1]
    assert row["ci_low"] < 0 < row["ci_high"]
    assert row["ci_high"] >= (5.572 - 1) / 4 - 1e-3  # Garwood 97.5% limit of 1 event: 5.572, over 4 seeds
    assert row["rel_ci_low"] == -1.0 and row["rel_ci_high"] == math.inf  # 2 events cannot bound a ratio
    assert not row["degenerate"]
    none = paired_difference([0.0] * 4, [0.0] * 4, kind="count")
    assert none["ci_high"] == pytest.approx(3.6889 / 4, rel=1e-3)  # "rule of three": no events in 4 seeds


def test_a_count_with_few_events_gets_the_rare_event_interval_even_with_spread():
    baseline, scenario = [1.0, 0.0, 2.0, 0.0], [2.0, 0.0, 2.0, 1.0]
    row = paired_difference(baseline, scenario, kind="count")
    t_row = paired_difference(baseline, scenario)
    assert row["method"] == "rare-event"
    assert row["ci_low"] <= t_row["ci_low"] and row["ci_high"] >= t_row["ci_high"]
    many = paired_difference(np.array(baseline) + 50, np.array(scenario) + 50, kind="count")
    assert many["method"] == "t"  # 200+ events per arm: the paired t interval


def test_equal_differences_of_a_share_borrow_the_arms_spread():
    """A share identical in both arms of every seed: the unpaired spread of the arms, not zero."""
    values = [0.98, 1.0, 0.99, 1.0]
    row = paired_difference(values, list(values), kind="share")
    assert row["method"] == "rare-event" and row["ci_low"] < 0 < row["ci_high"]
    flat = paired_difference([1.0] * 4, [1.0] * 4, kind="share")
    q = 1 - 0.05 ** (1 / 4)  # all 4 seeds agree: the chance a seed differs is at most q
    assert (flat["ci_low"], flat["ci_high"]) == (pytest.approx(-q), pytest.approx(q))
    assert flat["p_value"] == 1.0 and not flat["degenerate"]


def test_no_spread_at_all_in_a_level_is_flagged_degenerate():
    row = paired_difference([2.0] * 4, [2.0] * 4, kind="level")
    assert row["ci_low"] == row["ci_high"] == 0.0
    assert row["degenerate"]  # no guardrail may be decided from it


def test_p_value_agrees_with_the_interval():
    rng = np.random.default_rng(5)
    for kind in ("count", "level"):
        for _ in range(30):
            base = rng.poisson(3, 6).astype(float)
            scen = base + rng.poisson(1.5, 6) - rng.poisson(1, 6)
            scen = np.maximum(scen, 0)
            row = paired_difference(base, scen, kind=kind)
            excludes = row["ci_low"] > 0 or row["ci_high"] < 0
            assert excludes == (row["p_value"] < 0.05) or row["p_value"] == pytest.approx(0.05, abs=1e-3)


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


def test_seeds_to_decide_a_guardrail_from_the_distance_to_its_bound():
    """Issue 11 item 9: the seeds that would decide an undecided interval, if the estimate holds."""
    from scipy import stats

    n, est, half, bound = 4, 0.02, 0.05, 0.05
    needed = seeds_to_decide(est, est - half, est + half, bound, n)
    spread = half * math.sqrt(n) / stats.t.ppf(0.975, n - 1)

    def clears(m):
        return (stats.t.ppf(0.975, m - 1) + stats.t.ppf(0.8, m - 1)) * spread / math.sqrt(m) <= bound - est

    assert clears(needed) and not clears(needed - 1)
    assert seeds_to_decide(est, est - half, est + half, bound, n, power=0.95) > needed
    assert seeds_to_decide(0.5, 0.4, 0.6, 0.05, 4) == 4  # already decided: the seeds it has
    assert seeds_to_decide(0.05, 0.0, 0.1, 0.05, 4) is None  # the estimate on the bound
    assert seeds_to_decide(0.0, 0.0, 0.0, 0.05, 4) == 4


def test_spending_levels_add_up_to_alpha():
    looks = spending_levels(4, 4, 30, 0.05)
    assert [n for n, _ in looks] == [4, 8, 12, 16, 20, 24, 28, 30]
    assert sum(a for _, a in looks) == pytest.approx(0.05)
    assert looks[0][1] == pytest.approx(0.05 * 4 / 30) and looks[-1][1] == pytest.approx(0.05 * 2 / 30)
    assert spending_levels(8, 4, 8, 0.05) == [(8, 0.05)]


def test_replicates_needed_without_spread_is_two():
    assert replicates_needed([0.0, 0.0, 0.0], half_width=0.1) == 2
    assert replicates_needed([1.5], half_width=0.1) == 2
    with pytest.raises(ValueError, match="half_width"):
        replicates_needed([1.0, 2.0], half_width=0)


def test_mostly_tied_differences_get_the_rare_event_interval():
    """Most seeds showing no difference at all is the mark of a rare event under common random
    numbers: with one seed in eight differing, the t interval would rest on that one seed."""
    baseline = np.array([0.98, 1.0, 0.99, 1.0, 0.97, 1.0, 1.0, 0.99])
    scenario = baseline.copy()
    scenario[3] = 0.96
    row = paired_difference(baseline, scenario, kind="share")
    t_row = paired_difference(baseline, scenario, kind="level", rare_events=0)
    assert row["method"] == "rare-event" == t_row["method"]  # the rule is about the differences, not the kind
    spread = paired_difference(baseline, scenario + np.linspace(0, 0.01, 8))
    assert spread["method"] == "t"
