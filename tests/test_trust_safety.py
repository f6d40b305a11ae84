"""Trust & safety: each defence moves its metric the right way against a run without it (same
seeds), removals have exactly one cause, sanctions trace back to a flag or a detection."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from preflight.run import simulate
from sim.store import NONE, Action, Cause, Harm, State, Target
from tests.sites import run_site, small

SEEDS = (0, 1)


@functools.lru_cache(maxsize=16)
def _metrics(overrides: tuple[str, ...], days: float, seed: int) -> dict:
    """One run's metrics (several tests read different metrics of the same runs)."""
    return simulate(small(*overrides, days=days, seed=seed)).metrics


def total(metric: str, *overrides: str, days: float = 50) -> float:
    return sum(_metrics(overrides, days, s)[metric] for s in SEEDS)


def test_no_moderators_raises_time_to_removal_and_harm_exposure():
    for metric in ("harm_exposure", "never_removed_share"):
        assert total(metric, "moderation.moderators.count=0") > total(metric)
    # without moderators the median time to removal is longer, or not reached within the window
    # (the Kaplan-Meier estimate then has no value)
    with_mods = total("time_to_removal_min_p50")
    without = total("time_to_removal_min_p50", "moderation.moderators.count=0")
    assert np.isfinite(with_mods) and (np.isnan(without) or without > with_mods)


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
    # moderators err more often than by default, so the window holds wrongful actions to check
    # (at the default 3% a seed may have none after the warm-up)
    return run_site(small("bad_actors.harassers.count=3", "bad_actors.ai_farmers.count=2",
                          "moderation.ai_detector.enabled=true", "+scenario.levers.ai_answer_ban={}",
                          "moderation.moderators.error_rate=0.1", days=45))


def test_every_removal_has_exactly_one_cause(busy_site):
    p = busy_site.posts.frame()
    removed = p["removed_at"] != NONE
    assert removed.any()
    assert (p["removal_cause"][removed] != Cause.NONE).all()
    assert (p["removal_cause"][~removed] == Cause.NONE).all()
    # deleted posts are removed and removed posts are deleted (hiding alone is not a removal;
    # a restored post is neither)
    np.testing.assert_array_equal(p["state"] == State.DELETED, removed)
    assert ((p["state"] == State.HIDDEN) <= (p["hidden_at"] != NONE)).all()
    c = busy_site.comments.frame()
    cr = c["removed_at"] != NONE
    assert (c["removal_cause"][cr] != Cause.NONE).all() and (c["removal_cause"][~cr] == Cause.NONE).all()
    causes = set(np.unique(p["removal_cause"][removed]).tolist())
    assert {Cause.MODERATOR, Cause.AI_DETECTOR} <= causes


def test_no_double_counting(busy_site):
    series = busy_site.recorder.series()
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
    from sim.metrics import RunRecord, enforcement_actions, summarize, window_of

    m, fairness = summarize(busy_site)
    actions = enforcement_actions(RunRecord.of(busy_site), window_of(busy_site))
    assert actions["wrongful"].any() and not actions["wrongful"].all()
    # harmful content acted on is never a wrongful action
    p = busy_site.posts.frame()
    harmful_owner = np.isin(actions["user"], p["owner"][p["harm"] > Harm.NONE])
    bad_accounts = busy_site.users.kind[actions["user"]] != 0
    assert not (actions["wrongful"] & bad_accounts).any()
    assert harmful_owner.any()
    assert m["wrongful_rate"] == pytest.approx(1000 * actions["wrongful"].mean())
    counts = fairness["wrongful_rate"]["counts"]
    assert set(counts) >= {"newcomer", "established", "americas"}
    assert sum(counts[g][1] for g in ("newcomer", "established")) == actions["user"].size
