"""Trust & safety: each defence moves its metric the right way against a run without it (same
seeds), removals have exactly one cause, sanctions trace back to a flag or a detection."""

from __future__ import annotations

import numpy as np
import pytest

from sim.run import simulate
from sim.store import NONE, Action, Cause, Harm, State, Target
from tests.sites import run_site, small

SEEDS = (0, 1)


def total(metric: str, *overrides: str, days: float = 50) -> float:
    return sum(simulate(small(*overrides, days=days, seed=s)).metrics[metric] for s in SEEDS)


def test_no_moderators_raises_time_to_removal_and_harm_exposure():
    for metric in ("time_to_removal_min_p50", "harm_exposure"):
        assert total(metric, "moderation.moderators.count=0") > total(metric)


def test_spam_detector_off_raises_spam_exposure():
    assert total("harm_exposure_spam", "moderation.spam_detector.enabled=false") > total("harm_exposure_spam")


def test_less_precise_spam_detector_raises_wrongful_actions():
    assert total("wrongful_actions", "moderation.spam_detector.precision=0.3") > total("wrongful_actions")


def test_harassment_campaign_raises_victimization_and_victims_churn_more():
    calm = [simulate(small("bad_actors.harassers.count=0", days=60, seed=s)).metrics for s in SEEDS]
    campaign = [simulate(small("bad_actors.harassers.count=6", days=60, seed=s)).metrics for s in SEEDS]
    assert sum(m["victimization"] for m in campaign) > sum(m["victimization"] for m in calm)
    churn_victims = np.nanmean([m["victim_churn"] for m in campaign])
    churn_others = np.nanmean([m["nonvictim_churn"] for m in campaign])
    assert churn_victims > churn_others


@pytest.fixture(scope="module")
def busy_site():
    return run_site(small("bad_actors.harassers.count=3", "bad_actors.ai_farmers.count=2",
                          "moderation.ai_detector.enabled=true", "+scenario.levers.ai_answer_ban={}", days=45))


def test_every_removal_has_exactly_one_cause(busy_site):
    p = busy_site.posts.frame()
    removed = p["removed_at"] != NONE
    assert removed.any()
    assert (p["removal_cause"][removed] != Cause.NONE).all()
    assert (p["removal_cause"][~removed] == Cause.NONE).all()
    # deleted posts are removed; removed posts are deleted (hiding alone is not a removal)
    assert ((p["state"] == State.DELETED) == removed).all() or (
        (p["state"][removed] == State.DELETED).all() and (p["deleted_at"][removed] != NONE).all())
    c = busy_site.comments.frame()
    cr = c["removed_at"] != NONE
    assert (c["removal_cause"][cr] != Cause.NONE).all() and (c["removal_cause"][~cr] == Cause.NONE).all()
    causes = set(np.unique(p["removal_cause"][removed]).tolist())
    assert {Cause.MODERATOR, Cause.AI_DETECTOR} <= causes


def test_no_double_counting(busy_site):
    series = busy_site.recorder.series()
    by_kind = sum(series[f"harm_exposure_{k}"] for k in ("spam", "abusive", "harassment", "wrong_ai"))
    np.testing.assert_allclose(by_kind, series["harm_exposure"], rtol=1e-9)
    posts = busy_site.posts.frame()
    assert series["questions_per_day"].sum() == (posts["kind"] == 1).sum()
    # each flag is resolved at most once and on the item it names
    f = busy_site.flags_table.frame()
    assert not busy_site.flags.pending or all(
        (f["status"][ids] == 0).all() for ids in map(np.asarray, busy_site.flags.pending.values()))


def test_every_sanction_traces_to_a_flag_or_detection(busy_site):
    a = busy_site.actions.frame()
    sanction = np.isin(a["action"], (Action.WARN, Action.SUSPEND, Action.DESTROY, Action.QUESTION_BAN,
                                     Action.REVERSE_VOTES))
    assert sanction.sum() > 0
    f = busy_site.flags_table.frame()
    d = busy_site.detections.frame()
    p = busy_site.posts.frame()
    c = busy_site.comments.frame()
    for i in np.flatnonzero(sanction):
        flag, det, user = a["cause_flag"][i], a["cause_detection"][i], a["user"][i]
        assert flag != NONE or det != NONE
        if flag != NONE:
            item = f["item"][flag]
            author = p["owner"][item] if f["target"][flag] == Target.POST else c["author"][item]
            assert author == user
            assert f["created"][flag] <= a["created"][i]
        else:
            assert d["user"][det] == user
            assert d["created"][det] <= a["created"][i]


def test_wrongful_actions_are_judged_against_ground_truth(busy_site):
    """Wrongful removals are removals of good-faith content; harmful content removed is never wrongful."""
    from sim.metrics import summarize

    m, fairness = summarize(busy_site)
    p = busy_site.posts.frame()
    harmful_removed = ((p["harm"] > Harm.NONE) & (p["removed_at"] != NONE)).sum()
    assert harmful_removed > 0
    assert 0 <= m["wrongful_rate"] <= 1000
    assert set(fairness["wrongful_rate"]["groups"]) >= {"newcomer", "established", "americas"}
