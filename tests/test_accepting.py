"""Askers accepting answers (issue 13, item 3): who comes back, what they accept, and the rules.

On the small site: the accepted share is Stack Overflow's, not nearly every answered question;
newcomers accept less than established askers; a wrong answer is accepted less often than a
correct one; a self-answer is never accepted before 48 hours; an asker who left never accepts.
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments.calibration import load_targets
from preflight.run import build_site
from sim import posting, voting
from sim.clock import MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.metrics import summarize
from sim.population import Kind
from sim.store import NONE, PostType, State, VoteType
from tests.sites import run_site, small


@pytest.fixture(scope="module")
def site():
    return run_site(small(days=60, warmup=14))


def _window_questions(site) -> np.ndarray:
    posts = site.posts
    start = int(site.settings.run.warmup_days * MINUTES_PER_DAY)
    kind, created, harm = posts.column("kind"), posts.column("created"), posts.column("harm")
    return np.flatnonzero((kind == PostType.QUESTION) & (created >= start) & (harm == 0))


def test_accepted_share_is_stack_overflows(site):
    """Before issue 13, 79% of answered questions (48% of all) were accepted on this site; real
    askers accept far fewer. The share lands in the calibration band."""
    metrics, _ = summarize(site)
    lo, hi = load_targets()["accepted_share"]["band"]
    # one seed of the small site: its seed-to-seed spread (about 0.36 to 0.47) is allowed around the band
    assert lo - 0.05 <= metrics["accepted_share"] <= hi
    assert metrics["accepted_share"] / metrics["answered_share"] < 0.7


def _accepted_by_tenure(site) -> tuple[float, float]:
    """Shares of answered window questions accepted: (newcomer askers, established askers)."""
    posts, users = site.posts, site.users
    q = _window_questions(site)
    q = q[posts.answers[q] > 0]
    owner = posts.owner[q]
    newcomer = posts.created[q] - users.joined[owner] < site.settings.population.newcomer_days * MINUTES_PER_DAY
    accepted = posts.accepted[q] != NONE
    assert newcomer.sum() > 100 and (~newcomer).sum() > 100
    return float(accepted[newcomer].mean()), float(accepted[~newcomer].mean())


def test_newcomer_askers_accept_less_than_established_askers(site):
    """Newcomers accept less, and not only because their questions are poorer and they leave
    sooner: with their chance to come back raised to an established asker's, they accept more."""
    newcomer, established = _accepted_by_tenure(site)
    assert newcomer < established
    p = site.settings.population
    same = run_site(small(f"population.accept_return_newcomer={p.accept_return_established}", days=60, warmup=14))
    assert newcomer < _accepted_by_tenure(same)[0]


def test_wrong_answers_are_accepted_less_often_than_correct_ones(site):
    posts = site.posts
    answers = np.flatnonzero((posts.column("kind") == PostType.ANSWER) & (posts.column("harm") == 0))
    accepted = np.zeros(posts.n, dtype=bool)
    acc = posts.column("accepted")
    accepted[acc[acc != NONE]] = True
    correct = posts.correct[answers]
    assert accepted[answers][~correct].mean() < 0.6 * accepted[answers][correct].mean()


def test_a_self_answer_is_never_accepted_before_48_hours(site):
    """On the run: askers who found the answer elsewhere post it, and accept it no sooner than 48
    hours after asking. By hand: the mechanics refuse an earlier self-accept."""
    posts, votes = site.posts, site.votes
    wait = site.settings.rules.self_accept_wait_hours * MINUTES_PER_HOUR
    accept = np.flatnonzero(votes.column("vote_type") == VoteType.ACCEPT)
    answer = votes.post[accept]
    question = posts.parent[answer]
    own = posts.owner[answer] == posts.owner[question]
    assert own.sum() >= 5  # self-answers exist and some are accepted
    assert (votes.created[accept][own] >= posts.created[question][own] + wait).all()

    fresh = build_site(small(days=10, warmup=2, seed=3))
    for _ in range(3 * 24):
        fresh.step()
    users, p = fresh.users, fresh.posts
    now = fresh.clock.minute
    q = next(int(i) for i in np.flatnonzero(p.column("kind") == PostType.QUESTION)[::-1]
             if p.state[i] == State.LIVE and users.can_act(np.array([p.owner[i]]), now)[0])
    asker = int(p.owner[q])
    mine = posting.answer(fresh, np.array([asker]), np.array([q]), np.array([now]), found=np.array([True]))
    assert mine.size == 1
    asked = int(p.created[q])
    voting.accept(fresh, np.array([q]), mine, np.array([asked + int(wait) - 1]))
    assert p.accepted[q] == NONE
    voting.accept(fresh, np.array([q]), mine, np.array([asked + int(wait)]))
    assert p.accepted[q] == mine[0]


def test_askers_who_left_never_accept():
    """Every asker of the last days leaves the site; none of them accepts afterwards, while other
    askers go on accepting."""
    site = build_site(small(days=30, warmup=5, seed=5))
    for _ in range(20 * 24):
        site.step()
    posts, users = site.posts, site.users
    recent = np.arange(site.hot_start(), posts.n)
    recent = recent[posts.kind[recent] == PostType.QUESTION]
    askers = np.unique(posts.owner[recent]).astype(np.int64)
    askers = askers[users.kind[askers] == Kind.MEMBER]
    users.active[askers] = False
    users.refresh_block(askers)
    left_at, first_vote = site.clock.minute, site.votes.n
    for _ in range(5 * 24):
        site.step()
    votes = site.votes
    later = np.arange(first_vote, votes.n)
    later = later[votes.vote_type[later] == VoteType.ACCEPT]
    assert later.size > 10
    assert (votes.created[later] >= left_at).all()
    assert not np.isin(votes.voter[later], askers).any()
