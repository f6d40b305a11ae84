"""The report's plain-words summary (experiments/findings.py) and the context labels it relies on."""

from __future__ import annotations

import pytest

from experiments.findings import change, findings, readable
from experiments.guardrails import mark_context


def row(rel: float, low: float, high: float, label: str = "", diff: float | None = None) -> dict:
    diff = rel if diff is None else diff
    return {"rel_change": rel, "rel_ci_low": low, "rel_ci_high": high, "diff_mean": diff, "ci_low": low,
            "ci_high": high, "label": label}


def rail(name: str, verdict: str, kind: str = "max_relative_increase", estimate: float = 0.3, **extra) -> dict:
    return {"name": name, "metric": "harm_exposure", "kind": kind, "rule": f"{name} rule", "estimate": estimate,
            "ci_low": estimate - 0.1, "ci_high": estimate + 0.1, "verdict": verdict, **extra}


def comparison(**extra) -> dict:
    base = {
        "primary_metric": "time_to_removal_min_p50", "primary_direction": "increase",
        "hypothesis_result": "supported", "confidence": 0.95, "verdict": "FAIL",
        "metrics": {
            "time_to_removal_min_p50": row(1.2, 0.9, 1.6, "worse"),
            "harm_exposure": row(5.6, 4.2, 7.0, "worse"),
            "victimization": row(0.12, 0.05, 0.2, "worse"),
            "prevalence": row(0.3, 0.1, 0.5, "worse"),
            "spam_posts_per_day": row(0.08, 0.01, 0.15, "worse"),
            "answered_share": row(0.05, 0.01, 0.09, "better"),
            "questions_per_day": row(-0.5, -0.9, 0.2, "no clear change"),
            "newcomer_closed_share": row(-0.7, -0.9, -0.5, "context"),
        },
        "mod_workload": {"flag_queue_backlog": row(40.0, 30.0, 55.0, "worse")},
        "guardrails": [rail("Harm", "FAIL", estimate=5.6), rail("Speed", "PASS", estimate=0.02),
                       rail("Fair", "FAIL", kind="max_group_ratio", estimate=1.4)],
    }
    base["metrics"]["newcomer_closed_share"]["context"] = "improved only as the defences did less work (closure_rate fell 57%)"
    return {**base, **extra}


def test_the_hypothesis_sentence_names_the_metric_the_direction_and_the_interval():
    found = findings(comparison())
    assert found["hypothesis"] == ("The evidence supports the hypothesis (time to removal (median) should increase): "
                                   "time to removal (median) rises 2.2× (95% CI 1.9× to 2.6×).")
    shown = findings(comparison(hypothesis_result="not shown"))["hypothesis"]
    assert shown.startswith("The evidence does not show what the hypothesis expects") and "includes no change" in shown
    assert "contradicts" in findings(comparison(hypothesis_result="contradicted"))["hypothesis"]
    assert findings(comparison(primary_metric=None))["hypothesis"].startswith("No primary metric was stated")


def test_the_verdict_sentence_names_the_deciding_guardrails():
    verdict = findings(comparison())["verdict"]
    assert verdict.startswith("Verdict FAIL: 2 guardrails of 3 violated")
    assert "“Harm” (Harm rule): +560% (95% CI +550% to +570%)" in verdict
    assert "“Fair” (Fair rule): 1.4 (95% CI 1.3 to 1.5)" in verdict  # a ratio, not a change
    assert "Speed" not in verdict
    undecided = comparison(verdict="INCONCLUSIVE", guardrails=[rail("Harm", "INCONCLUSIVE", seeds_to_decide=40),
                                                               rail("Speed", "PASS")])
    text = findings(undecided)["verdict"]
    assert text.startswith("Verdict INCONCLUSIVE: 1 guardrail of 2 could not be decided")
    assert "about 40 paired seeds would decide it" in text
    passed = findings(comparison(verdict="PASS", guardrails=[rail("Speed", "PASS")]))["verdict"]
    assert passed.startswith("Verdict PASS: all 1 guardrail held")
    assert findings(comparison(verdict="PASS", guardrails=[]))["verdict"] == (
        "Verdict PASS: no guardrail was set, so nothing was checked.")


def test_the_largest_harms_and_benefits_come_first_and_context_is_no_benefit():
    found = findings(comparison())
    # by |log ratio|: backlog ×41, harm ×6.6, prevalence +30%; victimization and spam left out;
    # the primary metric is in the hypothesis sentence, not here
    assert found["harms"] == ["flag queue backlog rises 41× (95% CI 31× to 56×)",
                              "harm exposure rises 6.6× (95% CI 5.2× to 8×)",
                              "prevalence rises 30% (95% CI +10% to +50%)"]
    assert found["benefits"] == ["answered share rises 5% (95% CI +1% to +9%)"]
    assert found["context"] == ["newcomer closed share falls 70% (95% CI −90% to −50%) — improved only as the "
                                "defences did less work (closure_rate fell 57%)"]


def test_changes_read_as_words():
    assert readable("time_to_removal_min_p90") == "time to removal (90th percentile)"
    assert readable("wrongful_rate_worst_to_best") == "wrongful rate: worst group to best"
    assert readable("spam_posts_per_day") == "spam posts per day"
    assert change("x", row(-0.25, -0.4, -0.1)) == "x falls 25% (95% CI −40% to −10%)"
    # no relative change (a zero baseline): the absolute difference
    no_base = {"rel_change": None, "diff_mean": 3.0, "ci_low": 1.0, "ci_high": 5.0}
    assert change("ban_evasions", no_base) == "ban evasions rises by 3 (95% CI +1 to +5)"


def test_a_better_value_is_context_only_when_the_work_it_rests_on_fell():
    rows = {"newcomer_closed_share": row(-0.7, -0.9, -0.5, "better"), "closure_rate": row(-0.57, -0.7, -0.4),
            "wrongful_actions": row(-0.3, -0.5, -0.1, "better"),
            "enforcement_actions_per_day": row(-0.2, -0.4, 0.05),  # no clear fall: the benefit stands
            "answered_share": row(0.05, 0.01, 0.09, "better")}  # not work-bound
    mark_context(rows)
    assert rows["newcomer_closed_share"]["label"] == "context"
    assert rows["newcomer_closed_share"]["context"] == "improved only as the defences did less work (closure_rate fell 57%)"
    assert rows["wrongful_actions"]["label"] == "better" and "context" not in rows["wrongful_actions"]
    assert rows["answered_share"]["label"] == "better"


def test_work_bound_metrics_name_a_registered_work_metric():
    from sim.metric_registry import REGISTRY

    bound = {name: m.work_bound for name, m in REGISTRY.items() if m.work_bound}
    assert {"wrongful_actions", "newcomer_closed_share"} <= set(bound)
    for name, work in bound.items():
        assert work in REGISTRY and REGISTRY[name].direction != "neutral", name


@pytest.mark.parametrize("name, kind", [("harm_exposure", "count"), ("spam_posts_per_day", "rate"),
                                        ("prevalence", "share"), ("wrongful_rate", "rate"),
                                        ("time_to_removal_min_p50", "level"), ("fraud_reputation", "level"),
                                        ("not_registered_share", "share")])
def test_the_statistics_read_metric_kinds_from_the_registry(name, kind):
    from experiments.metric_kinds import metric_kind

    assert metric_kind(name) == kind


@pytest.mark.parametrize("name", ["suspensions_by_moderators", "reviews_per_day_close", "spam_posts_per_day"])
def test_every_per_day_metric_has_its_events_whatever_its_name(name):
    """A per-day metric of the registry is a count over the window's days, so it gets the rare-event
    interval when its events are few: without the events, a strike whose scenario arm suspends
    nobody on most seeds got a collapsed t interval that missed the truth (the coverage study)."""
    from experiments.metric_kinds import event_counts

    counts, exposure = event_counts(name, [{name: 1 / 30}, {name: 0.0}, {name: 2 / 30}], window_days=30)
    assert exposure == 30 and counts.tolist() == [1.0, 0.0, 2.0]
