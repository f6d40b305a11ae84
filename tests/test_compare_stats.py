"""The comparison's statistics end to end on hand-made runs (issue 11): no simulation needed."""

import dataclasses
import math

import numpy as np
import pytest

import experiments.compare as compare_module
from experiments.compare import check_settings, run_comparison, run_until_decided, summarize_pairs
from preflight.compose import compose
from tests.comparison_cases import HARM, SHORT, runs_from, strike_settings


@pytest.fixture(scope="module")
def strike():
    return strike_settings()


def test_hypothesis_and_labels_follow_the_decision_rule(strike):
    """Item 8: the primary metric decides the hypothesis; the other labels are FDR-controlled."""
    rng = np.random.default_rng(3)
    names = ["harm_exposure", "time_to_removal_min_p50", "questions_per_day", "answered_share", "accepted_share",
             "flag_queue_backlog", "closure_rate"]
    base = {m: list(100 + rng.normal(0, 5, 4)) for m in names}
    scen = {m: list(np.array(base[m]) + rng.normal(0, 2, 4)) for m in names}
    scen["time_to_removal_min_p50"] = list(np.array(base["time_to_removal_min_p50"]) + [40, 45, 50, 42])
    comparison = summarize_pairs(strike, runs_from({"baseline": base, "scenario": scen}))
    assert comparison["primary_metric"] == "time_to_removal_min_p50"
    assert comparison["hypothesis_result"] == "supported"
    rows = {**comparison["metrics"], **comparison["mod_workload"]}
    assert rows["time_to_removal_min_p50"]["label"] == "worse"  # removal slower: worse, and as hypothesised
    assert rows["closure_rate"]["label"] == ""  # neutral
    labelled = [m for m, r in rows.items() if r["label"] in ("better", "worse") and m != comparison["primary_metric"]]
    for m in labelled:
        assert rows[m]["q_value"] <= comparison["fdr"]
    assert comparison["fdr"] == 0.05 and comparison["confidence"] == 0.95


def test_a_clear_change_needs_no_more_seeds(strike):
    """Item 9: the old 'replicates needed' printed 983,047 for an already clear change."""
    base = {"harm_exposure": [500.0, 520.0, 480.0, 510.0]}
    scen = {"harm_exposure": [1500.0, 1620.0, 1380.0, 1490.0]}
    comparison = summarize_pairs(strike, runs_from({"baseline": base, "scenario": scen}))
    assert comparison["metrics"]["harm_exposure"]["seeds_to_decide"] is None  # the sign is already told
    harm = next(g for g in comparison["guardrails"] if g["metric"] == "harm_exposure")
    assert harm["verdict"] == "FAIL" and harm["seeds_to_decide"] is None


def fake_run_pairs(effect: float, noise: float):
    """A stand-in for run_pairs: harm_exposure per seed, scenario = baseline * (1 + effect) + noise."""
    calls = []

    def run_pairs(settings, jobs=None, command=None, progress=None):
        seeds = compare_module.seeds_of(settings)
        calls.append(seeds)
        base, scen = [], []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            level = 500 + rng.normal(0, 50)
            base.append(level)
            scen.append(level * (1 + effect) + rng.normal(0, noise))
        return runs_from({"baseline": {"harm_exposure": base}, "scenario": {"harm_exposure": scen}})

    return run_pairs, calls


def sequential(strike, **compare_keys):
    cfg = dataclasses.replace(strike.compare, until_decided=True, **compare_keys)
    return dataclasses.replace(strike, compare=cfg, replicates=4)


def test_until_decided_adds_batches_until_the_guardrail_is_decided(strike, monkeypatch):
    """Item 9: compare.until_decided adds seed pairs in batches; each look spends part of alpha."""
    run_pairs, calls = fake_run_pairs(effect=0.10, noise=12.0)
    monkeypatch.setattr(compare_module, "run_pairs", run_pairs)
    settings = sequential(strike, max_replicates=40, batch_size=4)
    final, runs, comparison = run_until_decided(settings)
    looks = comparison["sequential"]["looks"]
    assert comparison["guardrails"][0]["verdict"] == "FAIL" and comparison["sequential"]["stopped"] == "decided"
    assert 1 < len(looks) < 10
    assert [c[0] for c in calls] == [4 * i for i in range(len(looks))]  # consecutive new seeds per batch
    assert final.replicates == looks[-1]["replicates"] == len(runs["baseline"]) == comparison["replicates"]
    assert comparison["seeds"] == list(range(final.replicates))
    assert all(look["alpha"] == pytest.approx(0.05 * 4 / 40) for look in looks)
    assert comparison["confidence"] == pytest.approx(1 - 0.05 * 4 / 40)


def test_until_decided_stops_at_the_budget(strike, monkeypatch):
    run_pairs, calls = fake_run_pairs(effect=0.05, noise=20.0)  # right on the bound: never decided
    monkeypatch.setattr(compare_module, "run_pairs", run_pairs)
    final, runs, comparison = run_until_decided(sequential(strike, max_replicates=10, batch_size=4))
    assert [look["replicates"] for look in comparison["sequential"]["looks"]] == [4, 8, 10]
    assert comparison["sequential"]["stopped"] == "budget spent" and final.replicates == 10
    assert sum(look["alpha"] for look in comparison["sequential"]["looks"]) == pytest.approx(0.05)


def test_bootstrap_below_its_minimum_pairs_is_refused(strike, tmp_path, capsys):
    """Item 6: the bootstrap under-covers at few seeds, so a comparison asking for it stops."""
    settings = dataclasses.replace(strike, compare=dataclasses.replace(strike.compare, ci_method="bootstrap",
                                                                       out=str(tmp_path)))
    with pytest.raises(ValueError, match="bootstrap needs replicates >= 30"):
        check_settings(settings)
    assert run_comparison(settings, "preflight compare") == 2
    err = capsys.readouterr().err
    assert "compare.ci_method=bootstrap" in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())
    check_settings(dataclasses.replace(settings, replicates=30))  # enough pairs: allowed


def test_scorecard_text_names_the_hypothesis_and_the_seeds_to_decide(strike):
    base = {"harm_exposure": [500.0, 520.0, 480.0, 510.0], "time_to_removal_min_p50": [60.0, 62.0, 58.0, 61.0]}
    scen = {"harm_exposure": [510.0, 530.0, 505.0, 515.0], "time_to_removal_min_p50": [90.0, 95.0, 88.0, 93.0]}
    comparison = summarize_pairs(strike, runs_from({"baseline": base, "scenario": scen}))
    text = compare_module.scorecard_text(comparison)
    assert "hypothesis (time_to_removal_min_p50 should increase): supported" in text
    assert "paired seeds would decide it" in text
    assert math.isclose(comparison["confidence"], 0.95)


def test_a_fail_not_at_the_family_wise_level_is_inconclusive_with_seeds_to_decide(strike):
    """Item 8: two guardrails; harm is beyond +5% at 95% (one-sided p = 0.021) but not at Holm's
    0.025 / 2: the guardrail is INCONCLUSIVE and says how many seeds would decide it."""
    rails = [HARM, {"name": "questions", "metric": "questions_per_day", "max_relative_decrease": 0.5}]
    settings = dataclasses.replace(strike, guardrails=rails)
    base = np.array([500.0, 520.0, 480.0, 510.0])
    scen = base * 1.17 + np.array([10.0, -12.0, 15.0, -8.0]) * 3
    quiet = [20.0, 21.0, 19.0, 20.5]
    comparison = summarize_pairs(settings, runs_from({"baseline": {"harm_exposure": list(base), "questions_per_day": quiet},
                                                      "scenario": {"harm_exposure": list(scen), "questions_per_day": quiet}}))
    harm = comparison["guardrails"][0]
    assert harm["ci_low"] > harm["bound"]  # beyond the bound at 95%...
    assert harm["verdict"] == "INCONCLUSIVE" and "Holm" in harm["reason"]  # ... but not family-wise
    assert harm["seeds_to_decide"] > 4
    assert comparison["verdict"] == "INCONCLUSIVE"
    alone = summarize_pairs(strike, runs_from({"baseline": {"harm_exposure": list(base)},
                                               "scenario": {"harm_exposure": list(scen)}}))
    assert alone["guardrails"][0]["verdict"] == "FAIL"  # one guardrail: the plain rule


@pytest.mark.parametrize("override, message", [
    ("compare.alpha=0.7", "compare.alpha=0.7: must be >= 1e-06 and <= 0.5"),
    ("compare.fdr=0", "compare.fdr=0: must be >= 1e-06"),
    ("compare.power=1.5", "compare.power=1.5: must be"),
    ("compare.until_decided=maybe", "compare.until_decided='maybe': expected true or false"),
    ("compare.max_replicates=1", "compare.max_replicates=1: must be >= 2"),
    ("compare.batch_size=0", "compare.batch_size=0: must be >= 1"),
    ("compare.rare_events=-1", "compare.rare_events=-1: must be >= 0"),
])
def test_compare_keys_are_typed_and_checked(override, message, capsys):
    with pytest.raises(SystemExit) as stop:
        compose([*SHORT, override])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_until_decided_needs_a_budget_of_at_least_the_first_look(strike):
    settings = sequential(strike, max_replicates=3)
    with pytest.raises(ValueError, match="compare.max_replicates=3 must be >= replicates=4"):
        check_settings(settings)


@pytest.mark.slow
def test_until_decided_end_to_end(tmp_path):
    """The command with compare.until_decided on the simulator: batches of new seeds, every run written."""
    import json

    _, settings = compose([*SHORT, "scenario=close_votes_3", "replicates=2", "compare.until_decided=true",
                           "compare.batch_size=2", "compare.max_replicates=6", f"compare.out={tmp_path}"])
    code = run_comparison(settings, "preflight compare scenario=close_votes_3 compare.until_decided=true")
    comparison = json.loads((tmp_path / "comparison.json").read_text())
    looks = comparison["sequential"]["looks"]
    n = comparison["replicates"]
    assert [look["replicates"] for look in looks] == [2, 4, 6][:len(looks)] and n == looks[-1]["replicates"]
    assert comparison["seeds"] == list(range(n))
    assert sorted(p.parent.name for p in (tmp_path / "runs").glob("*/summary.json")) == sorted(
        f"{arm}_seed{k}" for arm in ("baseline", "scenario") for k in range(n))
    assert comparison["confidence"] == pytest.approx(1 - 0.05 * 2 / 6)
    assert code == {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}[comparison["verdict"]]
    assert "Seeds added in batches" in (tmp_path / "report.md").read_text()
