"""The simulated site: determinism and the invariants of Stack Overflow's mechanics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from preflight.run import simulate, summary_dict
from sim.clock import MINUTES_PER_DAY
from sim.store import NONE, PostType, State, VoteType
from tests.sites import run_site, small


@pytest.fixture(scope="module")
def site():
    return run_site(small(days=45))


def test_same_seed_gives_identical_summary():
    a = summary_dict(simulate(small(days=30, seed=1)), command="test")
    b = summary_dict(simulate(small(days=30, seed=1)), command="test")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_different_seed_gives_different_metrics():
    a = simulate(small(days=30, seed=1)).metrics
    b = simulate(small(days=30, seed=2)).metrics
    assert a["questions_per_day"] != b["questions_per_day"]
    assert a != b


def test_site_is_active(site):
    posts = site.posts
    kinds = posts.column("kind")
    assert (kinds == PostType.QUESTION).sum() > 500
    assert (kinds == PostType.ANSWER).sum() > 300
    assert site.comments.n > 500 and site.votes.n > 1000
    assert (posts.column("state") == State.CLOSED).any()
    assert (posts.column("accepted") != NONE).any()


def test_reputation_floor_and_daily_cap(site):
    users = site.users
    assert users.col("reputation").min() >= site.settings.rules.rep_floor
    assert users.col("rep_today").max() <= site.settings.rules.rep_daily_cap


def test_votes_respect_privileges_and_daily_limit(site):
    v = site.votes.frame()
    rules = site.settings.rules
    assert (v["voter_rep"][v["vote_type"] == VoteType.UP] >= rules.priv_upvote).all()
    assert (v["voter_rep"][v["vote_type"] == VoteType.DOWN] >= rules.priv_downvote).all()
    close = np.isin(v["vote_type"], (VoteType.CLOSE, VoteType.REOPEN))
    assert close.any()
    assert (v["voter_rep"][close] >= rules.priv_close_vote).all()
    # nobody votes on their own post
    ud = np.isin(v["vote_type"], (VoteType.UP, VoteType.DOWN))
    assert (v["voter"][ud] != site.posts.column("owner")[v["post"][ud]]).all()
    # at most 40 up/down votes per voter per day
    day = v["created"][ud] // MINUTES_PER_DAY
    key = v["voter"][ud].astype(np.int64) * 100_000 + day
    _, counts = np.unique(key, return_counts=True)
    assert counts.max() <= rules.votes_per_day


def test_new_user_question_rate_limit(site):
    p = site.posts.frame()
    q = p["kind"] == PostType.QUESTION
    owner, created, rep = p["owner"][q], p["created"][q], p["owner_rep"][q]
    order = np.lexsort((created, owner))
    owner, created, rep = owner[order], created[order], rep[order]
    same = owner[1:] == owner[:-1]
    gap = created[1:] - created[:-1]
    limited = same & (rep[1:] < site.settings.rules.newcomer_rep)
    assert limited.any()
    assert (gap[limited] >= site.settings.rules.newcomer_question_interval_min).all()


def test_accepted_answer_belongs_to_question(site):
    p = site.posts.frame()
    acc = np.flatnonzero(p["accepted"] != NONE)
    assert acc.size > 0
    answers = p["accepted"][acc]
    assert (p["parent"][answers] == acc).all()
    assert (p["kind"][answers] == PostType.ANSWER).all()
    v = site.votes.frame()
    assert ((v["vote_type"] == VoteType.ACCEPT).sum()) == acc.size
    # the accept (a vote, as in the data dump) comes after the answer it accepts
    accept = v["vote_type"] == VoteType.ACCEPT
    assert (v["created"][accept] >= p["created"][v["post"][accept]]).all()


def test_every_timestamp_follows_its_parent(site):
    p, c, v, f = site.posts.frame(), site.comments.frame(), site.votes.frame(), site.flags_table.frame()
    ans = p["kind"] == PostType.ANSWER
    assert (p["created"][ans] > p["created"][p["parent"][ans]]).all()
    assert (c["created"] > p["created"][c["post"]]).all()
    assert (v["created"] > p["created"][v["post"]]).all()
    on_post = f["target"] == 1
    assert (f["created"][on_post] > p["created"][f["item"][on_post]]).all()
    assert (f["created"][~on_post] > c["created"][f["item"][~on_post]]).all()
    for col in ("removed_at", "closed_at", "first_answer_at", "hidden_at", "published_at"):
        has = p[col] != NONE
        assert (p[col][has] > p["created"][has]).all(), col
    handled = f["handled_at"] != NONE
    assert (f["handled_at"][handled] >= f["created"][handled]).all()


def test_closed_questions_reached_the_quorum_or_were_closed_by_a_moderator(site):
    from sim.store import Closer

    p = site.posts.frame()
    closed = p["closed_at"] != NONE
    closers = set(np.unique(p["closer"][closed]).tolist())
    assert Closer.COMMUNITY in closers
    assert closers <= {Closer.COMMUNITY, Closer.MODERATOR, Closer.DUPE_HAMMER}


def test_first_posts_of_newcomers_shape_retention():
    """Newcomers whose first post was closed, downvoted or met an unwelcoming comment leave more."""
    site = run_site(small(days=60))
    u = site.users
    n = u.n
    posted = (u.first_post[:n] != NONE) & (u.kind[:n] == 0) & (u.joined[:n] >= 0)
    bad = posted & u.first_post_bad[:n]
    good = posted & ~u.first_post_bad[:n]
    churn_bad = (~u.active[:n][bad]).mean()
    churn_good = (~u.active[:n][good]).mean()
    assert churn_bad > churn_good


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_reputation_never_below_one(seed):
    site = run_site(small(days=4, warmup=0, seed=seed))
    assert site.users.col("reputation").min() >= 1


def _keen_asker(*overrides: str, days: int = 32):
    """A member who tries to ask at every tick of ``days`` days (reputation high, so the newcomer
    interval does not apply; good questions, so the question ban does not; nobody leaves the site,
    so neither do they); the days of their questions."""
    from preflight.run import build_site
    from sim import posting

    no_churn = ("population.churn_hazard_per_day=0", "population.newcomer_churn_hazard_per_day=0",
                "population.supply.boredom_hazard_per_missed_answer=0")
    site = build_site(small(*no_churn, *overrides, days=days + 2, warmup=1, seed=5))
    users = site.users
    member = int(site.active_members()[0])
    users.reputation[member], users.quality[member] = 10_000, 1.0
    asked = []
    for _ in range(int(days * MINUTES_PER_DAY / site.clock.tick_minutes)):
        if not site.clock.is_day_start:  # the day's allowances start afresh in its first tick
            asked.extend(posting.ask(site, np.array([member]), np.array([site.clock.minute])).tolist())
        site.step()
    return site.posts.column("created")[np.array(asked, dtype=np.int64)] // MINUTES_PER_DAY


def test_nobody_asks_more_than_the_daily_and_the_30_day_question_limits():
    """SO's asking limits hold for every account: 6 questions a day, 50 in any 30 days; the 30-day
    count frees a question's slot 30 days after it was asked."""
    day = _keen_asker()
    per_day = np.bincount(day, minlength=32)
    assert per_day.max() == 6
    assert (per_day[:8] == 6).all() and per_day[8] == 2  # 8 full days, then the 30-day limit binds
    assert per_day[9:30].sum() == 0
    windows = np.convolve(per_day, np.ones(30, dtype=int), mode="valid")
    assert windows.max() == 50
    assert per_day[30] == 6 and per_day[31] == 6  # day 0's and day 1's questions left the window


def test_without_the_question_limits_the_keen_asker_asks_at_every_tick():
    day = _keen_asker("rules.question_limit_per_day=10000", "rules.question_limit_per_30_days=10000", days=3)
    assert np.bincount(day).min() > 6
