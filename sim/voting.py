"""Votes and accepts, with privileges, the daily vote limit and reputation effects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim import retention
from sim.clock import MINUTES_PER_HOUR
from sim.reputation import apply_reputation
from sim.store import NONE, PostType, State, VoteType, first_occurrence

if TYPE_CHECKING:
    from agents.model import Site


def vote(site: Site, voters: np.ndarray, posts_: np.ndarray, times: np.ndarray, up: np.ndarray,
         fraud: bool = False) -> np.ndarray:
    """Cast votes. Enforced: the upvote/downvote privilege (unless the free-votes lever lets low-rep
    users vote without reputation effect), the daily limit, no self-votes, one vote per voter and
    post in a tick, and no votes on removed posts. Votes take effect in order: the daily limit and
    the daily reputation cap are used up by earlier votes first, and reputation never falls below
    the floor at any point.

    Returns:
        Ids of the recorded votes.
    """
    users, posts, pol, rules = site.users, site.posts, site.policy, site.settings.rules
    voters = np.asarray(voters, dtype=np.int64)
    posts_ = np.asarray(posts_, dtype=np.int64)
    times = np.asarray(times, dtype=np.int64)
    up = np.asarray(up, dtype=bool)
    rep = users.reputation[voters]
    privileged = rep >= np.where(up, pol.priv_upvote, pol.priv_downvote)
    free = np.zeros(voters.size, dtype=bool)
    if pol.free_votes_for_new_users:
        free = ~privileged & up & (rep >= 1)
    keep = (privileged | free) & users.can_act(voters, site.clock.minute)
    keep &= (posts.owner[posts_] != voters) & (posts.state[posts_] < State.HIDDEN)
    keep &= first_occurrence(voters * (1 << 32) + posts_)
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    voters, posts_, times, up, free, rep = voters[idx], posts_[idx], times[idx], up[idx], free[idx], rep[idx]
    is_q = posts.kind[posts_] == PostType.QUESTION
    with site.traffic.reweighing(posts_):
        ok = settle_votes(voters, posts_, up, free, is_q, posts.owner, posts.score, users.votes_today,
                          users.reputation, users.rep_today, users.fraud_rep, fraud, rules.votes_per_day,
                          rules.rep_question_upvote, rules.rep_answer_upvote, rules.rep_downvote_received,
                          rules.rep_answer_downvote_cost, rules.rep_daily_cap, rules.rep_floor)
    voters, posts_, times, up, rep = voters[ok], posts_[ok], times[ok], up[ok], rep[ok]
    if voters.size == 0:
        return np.zeros(0, dtype=np.int64)
    times = np.maximum(times, posts.created[posts_] + 1)
    ids = site.votes.append(voters.size, post=posts_, voter=voters, created=times, vote_type=np.where(up, VoteType.UP, VoteType.DOWN),
                            fraud=fraud, voter_rep=rep)
    down = ~up
    if down.any():
        retention.first_post_hit(site, posts_[down], times[down])
    users.touch(voters, times)
    return ids


@njit(cache=True, inline="always")
def capped_gain(gain, earned_today, cap):
    """The daily reputation cap: the part of a vote's gain still allowed, given what the account
    has earned from votes today (nothing once ``cap`` is reached). Kept beside the kernel that
    uses it: numba's cache sees changes only in the file of the function it compiled."""
    return min(gain, max(cap - earned_today, 0))


@njit(cache=True)
def settle_votes(voters, posts_, up, free, is_q, owner, score, votes_today, reputation, rep_today, fraud_rep,
                 fraud, limit, gain_question, gain_answer, loss_received, answer_downvote_cost, cap, floor):
    """Apply admissible votes one after another: the daily vote limit, the score, and reputation
    (upvote gains within the daily cap; downvotes cost the author, and the voter on answers).
    Returns which votes counted (those over the voter's daily limit do not)."""
    ok = np.zeros(voters.size, dtype=np.bool_)
    for i in range(voters.size):
        v = voters[i]
        if votes_today[v] >= limit:
            continue
        votes_today[v] += 1
        ok[i] = True
        p = posts_[i]
        author = owner[p]
        if up[i]:
            score[p] += 1
            if free[i]:
                continue
            got = capped_gain(gain_question if is_q[i] else gain_answer, rep_today[author], cap)
            rep_today[author] += got
            reputation[author] += got
            if fraud:
                fraud_rep[author] += got
        else:
            score[p] -= 1
            reputation[author] = max(reputation[author] - loss_received, floor)
            if not is_q[i]:
                reputation[v] = max(reputation[v] - answer_downvote_cost, floor)
    return ok


def reverse_votes(site: Site, vote_ids: np.ndarray) -> None:
    """Undo votes (serial-voting reversal or a fraud investigation), taking back their reputation."""
    votes, posts, users, rules = site.votes, site.posts, site.users, site.settings.rules
    vote_ids = vote_ids[~votes.reversed[vote_ids]]
    if vote_ids.size == 0:
        return
    votes.reversed[vote_ids] = True
    p = votes.post[vote_ids].astype(np.int64)
    up = votes.vote_type[vote_ids] == VoteType.UP
    with site.traffic.reweighing(p):
        np.add.at(posts.score, p, np.where(up, -1, 1).astype(np.int32))
    is_q = posts.kind[p] == PostType.QUESTION
    gain = np.where(is_q, rules.rep_question_upvote, rules.rep_answer_upvote)
    delta = np.where(up, -gain, rules.rep_downvote_received)
    apply_reputation(users, posts.owner[p].astype(np.int64), delta, rules.rep_floor)


def accept(site: Site, questions: np.ndarray, answers: np.ndarray, times: np.ndarray) -> None:
    """Askers accept an answer to their own question: +15 to the answerer, +2 to the asker. An
    asker who left or is suspended cannot accept, nor accept their own answer before
    ``rules.self_accept_wait_hours`` after asking (SO)."""
    posts, users, rules = site.posts, site.users, site.settings.rules
    questions, answers = np.asarray(questions, dtype=np.int64), np.asarray(answers, dtype=np.int64)
    times = np.asarray(times, dtype=np.int64)
    ok = (posts.parent[answers] == questions) & (posts.accepted[questions] == NONE) & (posts.state[answers] < State.HIDDEN)
    ok &= users.can_act(posts.owner[questions].astype(np.int64), site.clock.minute)
    wait = int(rules.self_accept_wait_hours * MINUTES_PER_HOUR)
    ok &= (posts.owner[answers] != posts.owner[questions]) | (times >= posts.created[questions].astype(np.int64) + wait)
    questions, answers, times = questions[ok], answers[ok], times[ok]
    if questions.size == 0:
        return
    times = np.maximum(times, posts.created[answers] + 1)
    posts.accepted[questions] = answers
    answerer = posts.owner[answers].astype(np.int64)
    asker = posts.owner[questions].astype(np.int64)
    site.votes.append(questions.size, post=answers, voter=asker, created=times, vote_type=VoteType.ACCEPT)
    self_accept = answerer == asker
    who = np.concatenate([answerer[~self_accept], asker[~self_accept]])
    delta = np.concatenate([np.full((~self_accept).sum(), rules.rep_accept),
                            np.full((~self_accept).sum(), rules.rep_accepter)])
    apply_reputation(users, who, delta, rules.rep_floor)
