"""Guardrail validation and verdicts."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.guardrails import (
    Guardrail,
    evaluate,
    exit_code,
    overall_verdict,
    validate_guardrail,
)


def row(rel, low, high, diff=None):
    """A metric comparison row with a relative change of ``rel`` [low, high]."""
    diff = rel if diff is None else diff
    return {"rel_change": rel, "rel_ci_low": low, "rel_ci_high": high,
            "diff_mean": diff, "ci_low": low, "ci_high": high}


HARM = {"name": "harm", "metric": "harm_exposure", "max_relative_increase": 0.05}


@pytest.mark.parametrize(
    "evidence, verdict",
    [
        (row(0.01, -0.02, 0.04), "PASS"),        # whole CI below +5%
        (row(0.10, 0.07, 0.13), "FAIL"),         # whole CI above +5%
        (row(0.04, 0.01, 0.08), "INCONCLUSIVE"),  # straddles +5%
        (row(0.05, 0.05, 0.05), "PASS"),         # exactly at the bound is allowed
        (row(0.02, math.nan, math.nan), "INCONCLUSIVE"),
    ],
)
def test_relative_increase_verdicts(evidence, verdict):
    result = evaluate(validate_guardrail(HARM), evidence)
    assert result["verdict"] == verdict
    assert result["rule"] == "harm_exposure must not rise by more than 5%"
    assert (result["estimate"], result["ci_low"], result["ci_high"]) == (
        evidence["rel_change"], evidence["rel_ci_low"], evidence["rel_ci_high"])


@pytest.mark.parametrize(
    "evidence, verdict",
    [(row(0.10, 0.05, 0.15), "PASS"), (row(-0.08, -0.10, -0.06), "FAIL"), (row(-0.04, -0.07, -0.01), "INCONCLUSIVE")],
)
def test_relative_decrease_verdicts(evidence, verdict):
    spec = {"metric": "questions_per_day", "max_relative_decrease": 0.05}
    result = evaluate(spec, evidence)
    assert result["verdict"] == verdict
    assert result["rule"] == "questions_per_day must not fall by more than 5%"
    assert result["name"] == "questions_per_day"


@pytest.mark.parametrize(
    "kind, evidence, verdict",
    [
        ("max_absolute_increase", row(0, 5.0, 20.0, diff=12.0), "PASS"),
        ("max_absolute_increase", row(0, 31.0, 40.0, diff=35.0), "FAIL"),
        ("max_absolute_decrease", row(0, -40.0, -31.0, diff=-35.0), "FAIL"),
        ("max_absolute_decrease", row(0, -35.0, -10.0, diff=-20.0), "INCONCLUSIVE"),
    ],
)
def test_absolute_bounds_use_the_difference(kind, evidence, verdict):
    result = evaluate({"metric": "time_to_removal_min_p50", kind: 30}, evidence)
    assert result["verdict"] == verdict
    assert result["estimate"] == evidence["diff_mean"]
    assert "by more than 30" in result["rule"]


@pytest.mark.parametrize(
    "ratios, verdict",
    [([1.05, 1.10, 1.08, 1.07], "PASS"), ([1.40, 1.50, 1.45, 1.42], "FAIL"), ([1.0, 1.5, 1.2, 1.3], "INCONCLUSIVE")],
)
def test_group_ratio_verdicts(ratios, verdict):
    spec = {"name": "fair enforcement", "metric": "wrongful_rate", "max_group_ratio": 1.25}
    result = evaluate(spec, ratios)
    assert result["verdict"] == verdict
    assert result["estimate"] == pytest.approx(sum(ratios) / len(ratios))
    assert result["rule"] == "worst-to-best group ratio of wrongful_rate must not exceed 1.25"
    assert evaluate(spec, {"scenario": ratios})["verdict"] == verdict


def test_row_with_only_per_seed_values_is_compared_here():
    evidence = {"baseline": [100, 110, 90, 105], "scenario": [120, 131, 109, 126]}
    assert evaluate(HARM, evidence)["verdict"] == "FAIL"


@pytest.mark.parametrize(
    "spec, names",
    [
        ({"metric": "harm_exposure", "max_relative_increase": 0.05, "severity": "high"}, ["'severity'", "'high'", "allowed keys"]),
        ({"name": "no metric", "max_relative_increase": 0.05}, ["'metric'", "None", "required"]),
        ({"metric": "harm_exposure", "max_relative_increase": "5%"}, ["'max_relative_increase'", "'5%'", "number"]),
        ({"metric": "harm_exposure", "max_relative_increase": True}, ["'max_relative_increase'", "True", "number"]),
        ({"metric": "harm_exposure", "max_absolute_decrease": -2}, ["'max_absolute_decrease'", "-2", "zero or positive"]),
        ({"metric": "harm_exposure", "max_relative_increase": 0.05, "max_absolute_increase": 3},
         ["max_relative_increase", "max_absolute_increase", "exactly one"]),
        ({"metric": "harm_exposure"}, ["none", "exactly one"]),
        ({"metric": "wrongful_rate", "max_group_ratio": 0.8}, ["'max_group_ratio'", "0.8", "at least 1"]),
        (["harm_exposure"], ["not a mapping"]),
    ],
)
def test_bad_specs_raise_one_line_errors_naming_the_key(spec, names):
    with pytest.raises(ValueError) as error:
        validate_guardrail(spec)
    message = str(error.value)
    assert "\n" not in message
    for name in names:
        assert name in message


def test_valid_spec_becomes_a_guardrail():
    assert validate_guardrail(HARM) == Guardrail("harm", "harm_exposure", "max_relative_increase", 0.05)


@given(verdicts=st.lists(st.sampled_from(["PASS", "FAIL", "INCONCLUSIVE"])))
def test_overall_verdict_is_the_worst_one(verdicts):
    overall = overall_verdict(verdicts)
    if "FAIL" in verdicts:
        assert overall == "FAIL"
    elif "INCONCLUSIVE" in verdicts:
        assert overall == "INCONCLUSIVE"
    else:
        assert overall == "PASS"


def test_exit_codes():
    assert [exit_code(v) for v in ("PASS", "FAIL", "INCONCLUSIVE")] == [0, 1, 3]
    with pytest.raises(ValueError, match="'MAYBE'"):
        exit_code("MAYBE")
    assert overall_verdict([{"verdict": "PASS"}, {"verdict": "INCONCLUSIVE"}]) == "INCONCLUSIVE"


# --- issue 11: zero-width intervals, the decision rule, seeds to decide -----------------------

def test_zero_width_interval_without_events_never_passes():
    """Item 7: a "must not decrease" guardrail on a share whose four seeds agree exactly in both
    arms PASSed from the zero-width interval [0, 0]; zero spread from a handful of seeds is not
    certainty."""
    spec = {"metric": "spam_autoflag_precision", "max_relative_decrease": 0.0}
    evidence = {"baseline": [1.0, 1.0, 1.0, 1.0], "scenario": [1.0, 1.0, 1.0, 1.0]}
    result = evaluate(spec, evidence)
    assert result["verdict"] == "INCONCLUSIVE"
    assert result["ci_low"] < result["ci_high"]
    level = {"metric": "time_to_removal_min_p50", "max_absolute_increase": 10}
    flat = evaluate(level, {"baseline": [60.0] * 4, "scenario": [60.0] * 4})
    assert flat["verdict"] == "INCONCLUSIVE" and "not certainty" in flat["reason"]
    assert flat["seeds_to_decide"] is None


def test_a_degenerate_row_decides_nothing():
    evidence = {**row(0.0, 0.0, 0.0), "degenerate": True, "n": 4}
    assert evaluate(HARM, evidence)["verdict"] == "INCONCLUSIVE"
    assert evaluate(HARM, {**evidence, "rel_ci_low": 0.2, "rel_ci_high": 0.2})["verdict"] == "INCONCLUSIVE"
    assert evaluate(HARM, {**evidence, "degenerate": False})["verdict"] == "PASS"  # certain (same arms)


def test_undecided_guardrail_reports_the_seeds_that_would_decide_it():
    """Item 9: 'replicates needed' was 5% of the baseline level (983,047 for a clear change)."""
    undecided = evaluate(HARM, {**row(0.02, -0.01, 0.07), "n": 4, "confidence": 0.95})
    assert undecided["verdict"] == "INCONCLUSIVE"
    assert 4 < undecided["seeds_to_decide"] < 100
    decided = evaluate(HARM, {**row(0.30, 0.20, 0.40), "n": 4, "confidence": 0.95})
    assert decided["verdict"] == "FAIL" and decided["seeds_to_decide"] is None
    closer = evaluate(HARM, {**row(0.04, -0.01, 0.09), "n": 4, "confidence": 0.95})
    assert closer["seeds_to_decide"] > undecided["seeds_to_decide"]  # nearer the bound: more seeds
    fall = evaluate({"metric": "questions_per_day", "max_relative_decrease": 0.05},
                    {**row(-0.02, -0.07, 0.03), "n": 4, "confidence": 0.95})
    assert fall["verdict"] == "INCONCLUSIVE" and fall["seeds_to_decide"] > 4


def test_hypothesis_result():
    from experiments.guardrails import hypothesis_result

    up = {"ci_low": 0.1, "ci_high": 0.3}
    assert hypothesis_result(up, "increase") == "supported"
    assert hypothesis_result(up, "decrease") == "contradicted"
    assert hypothesis_result({"ci_low": -0.1, "ci_high": 0.3}, "increase") == "not shown"
    assert hypothesis_result({"ci_low": 0.1, "ci_high": 0.1, "degenerate": True}, "increase") == "not shown"
    assert hypothesis_result(up, None) == "not shown" and hypothesis_result(None, "increase") == "not shown"


def test_labels_control_the_false_discovery_rate():
    """Item 8: better/worse labels over many metrics use Benjamini-Hochberg, not each 95% CI alone."""
    from scipy import stats

    from experiments.guardrails import label_changes

    p = [0.001, 0.012, 0.03, 0.04, 0.2, 0.6]
    rows = {f"m{i}": {"direction": "lower_is_better", "p_value": pi, "ci_low": 0.1, "ci_high": 0.5} for i, pi in enumerate(p)}
    rows["m5"].update(ci_low=-0.1)  # the interval of the largest p contains zero
    rows["neutral"] = {"direction": "neutral", "p_value": 0.0001, "ci_low": 1.0, "ci_high": 2.0}
    rows["primary"] = {"direction": "higher_is_better", "p_value": 0.049, "ci_low": 0.01, "ci_high": 0.2}
    labels = label_changes(rows, fdr=0.05, exclude=["primary"])
    adjusted = stats.false_discovery_control(p, method="bh")
    for i, q in enumerate(adjusted):
        assert labels[f"m{i}"]["q_value"] == pytest.approx(q)
        assert labels[f"m{i}"]["label"] == ("worse" if q <= 0.05 else "no clear change")
    assert [labels[f"m{i}"]["label"] for i in range(4)] == ["worse"] * 2 + ["no clear change"] * 2  # 0.03, 0.04 alone
    assert labels["neutral"]["label"] == ""
    assert labels["primary"]["label"] == "better"  # judged alone, by the hypothesis test
    same = label_changes({"x": {"direction": "lower_is_better", "p_value": 1.0, "ci_low": 0.0, "ci_high": 0.0}})
    assert same["x"]["label"] == "no change"


def test_harm_p_value_inverts_the_interval():
    from scipy import stats

    from experiments.guardrails import harm_p_value

    mean, se, df, bound = 0.2, 0.05, 7, 0.05

    def t_interval(confidence):
        half = stats.t.ppf(0.5 + confidence / 2, df) * se
        return mean - half, mean + half

    p = harm_p_value(t_interval, bound)
    assert p == pytest.approx(stats.t.sf((mean - bound) / se, df), rel=1e-6)  # the one-sided t test
    assert harm_p_value(t_interval, 0.3) == 1.0
    assert harm_p_value(lambda c: tuple(-x for x in t_interval(c))[::-1], bound, decrease=True) == pytest.approx(p)


def test_fail_needs_the_family_wise_level_over_the_guardrails():
    """Item 8: with four guardrails each at alpha/2, 'any FAIL' was a false FAIL up to 4 x 2.5% of
    the time; Holm's step-down keeps the overall false FAIL at alpha/2."""
    from experiments.guardrails import family_fail

    def results():
        return [{"verdict": v, "reason": ""} for v in ("FAIL", "FAIL", "PASS", "INCONCLUSIVE")]

    strong = results()
    family_fail(strong, {0: 0.001, 1: 0.008}, alpha=0.05)  # 0.001 <= 0.025/4; 0.008 <= 0.025/3
    assert [r["verdict"] for r in strong] == ["FAIL", "FAIL", "PASS", "INCONCLUSIVE"]
    weak = results()
    family_fail(weak, {0: 0.02, 1: 0.004}, alpha=0.05)  # 0.004 <= 0.025/4; then 0.02 > 0.025/3
    assert [r["verdict"] for r in weak] == ["INCONCLUSIVE", "FAIL", "PASS", "INCONCLUSIVE"]
    assert "Holm" in weak[0]["reason"]
    one = [{"verdict": "FAIL", "reason": ""}]
    family_fail(one, {0: 0.02}, alpha=0.05)  # a single guardrail: the plain 95% rule
    assert one[0]["verdict"] == "FAIL"
