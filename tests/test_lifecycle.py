"""The site's daily lifecycle, module by module: the roomba, registrations, retention, burnout."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import burnout
from agents.model import Site
from sim import retention
from sim.clock import MINUTES_PER_DAY
from sim.population import Kind
from sim.store import NONE, Cause, PostType, State, Target
from tests.sites import run_site, small


def test_the_roomba_deletes_exactly_the_abandoned_closed_questions():
    site = run_site(small("rules.roomba_days=3", days=20, warmup=1, seed=4))
    p = site.posts.frame()
    roomba_days = site.settings.rules.roomba_days * MINUTES_PER_DAY
    gone = np.flatnonzero(p["removal_cause"] == Cause.ROOMBA)
    assert gone.size
    assert (p["kind"][gone] == PostType.QUESTION).all()
    assert (p["removed_at"][gone] - p["closed_at"][gone] >= roomba_days).all()
    assert ((p["answers"][gone] == 0) & (p["score"][gone] <= 0)).all()
    # every question abandoned long enough before the last nightly run is gone
    last_run = (site.clock.day - 1) * MINUTES_PER_DAY
    abandoned = ((p["state"] == State.CLOSED) & (p["answers"] == 0) & (p["score"] <= 0)
                 & (p["closed_at"] != NONE) & (p["closed_at"] < last_run - roomba_days - MINUTES_PER_DAY))
    assert not abandoned.any()


def test_registrations_add_newcomers_and_the_newcomer_period_ends():
    site = Site(small("population.newcomer_days=2", days=8, warmup=1, seed=2))
    first_new = site.users.n
    while site.clock.day < 6:
        site.step()
    users = site.users
    joined = users.joined[first_new:users.n]
    kind = users.kind[first_new:users.n]
    members = kind == Kind.MEMBER
    assert members.sum() == site.counters["registrations"] > 0
    age = site.clock.minute - joined
    newcomer = users.newcomer[first_new:users.n]
    # marked at the last day start: newcomers then if they had joined less than two days before it
    day_start = site.clock.day * MINUTES_PER_DAY
    assert (newcomer[members] == (day_start - joined[members] <= 2 * MINUTES_PER_DAY)).all()
    assert (~newcomer[members & (age > 3 * MINUTES_PER_DAY)]).all()
    # the newcomers still to ask wait in order of due time, none of them due before this tick
    due = users.first_question_due[site.registrations.waiting_askers]
    assert (np.diff(due) >= 0).all() and (due >= site.clock.minute).all()


def test_due_askers_leave_the_queue_in_order():
    site = Site(small(days=3, warmup=1, seed=1))
    site.step()  # the first day registers newcomers
    reg = site.registrations
    waiting = reg.waiting_askers.copy()
    assert waiting.size
    due = site.users.first_question_due[waiting]
    cut = int(np.median(due))
    ready = reg.due_askers(cut)
    assert (site.users.first_question_due[ready] < cut).all()
    assert np.array_equal(np.concatenate([ready, reg.waiting_askers]), waiting)


def test_a_member_leaves_once_the_accumulated_hazard_passes_the_threshold():
    site = Site(small(days=2, warmup=1, seed=3))
    users = site.users
    member = int(site.members[users.active[site.members]][0])
    bad = int(next(iter(site.bad_actors)).account)
    threshold = float(users.churn_threshold[member])
    retention.add_churn_hazard(site, np.array([member, bad]), threshold / 2)
    assert users.active[member] and users.churned_at[member] == NONE
    retention.add_churn_hazard(site, np.array([member, bad]), threshold)
    assert not users.active[member] and users.churned_at[member] == site.clock.minute
    assert users.active[bad] and users.churn_hazard[bad] == 0  # an actor's account is not a member
    assert retention.one_off_hazard(0.25) == pytest.approx(-math.log(0.75))


def _overload(site: Site) -> None:
    for item in range(10_000):  # far more than the moderators can handle in a day
        site.flags.queued_at[(int(Target.POST), item)] = 0


def test_overloaded_moderators_burn_out_but_not_on_strike():
    settings = small("moderation.moderators.burnout_weeks=0.1", "moderation.moderators.resignation_prob_per_week=1.0",
                     days=3, warmup=1)
    site = Site(settings)
    _overload(site)
    assert burnout.queue_overloaded(site, site.serving_moderators())
    site.policy.moderator_strike_share = 1.0
    burnout.end_day(site)
    assert len(site.serving_moderators()) == len(site.moderators)  # a strike day is no overload
    site.policy.moderator_strike_share = 0.0
    burnout.end_day(site)
    assert len(site.serving_moderators()) == 0
    assert site.counters["moderator_resignations"] == len(site.moderators)
    calm = Site(settings)
    assert not burnout.queue_overloaded(calm, calm.serving_moderators())
