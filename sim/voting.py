"""Votes and accepts, with privileges, the daily vote limit and reputation effects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.reputation import apply_reputation
from sim.store import NONE, PostType

if TYPE_CHECKING:
    from sim.model import Site

ACCEPT, UP, DOWN, CLOSE, REOPEN = 1, 2, 3, 6, 7  # VoteTypeId as in the Stack Exchange data dump


def vote(site: Site, voters: np.ndarray, posts_: np.ndarray, times: np.ndarray, up: np.ndarray,
         fraud: bool = False) -> np.ndarray:
    """Cast votes. Enforced: the upvote/downvote privilege (unless the free-votes lever lets low-rep
    users vote without reputation effect), the daily limit, no self-votes, one vote per voter and
    post in a tick, and no votes on removed posts.

    Returns:
        Ids of the recorded votes.
    """
    users, posts, pol, rules = site.users, site.posts, site.policy, site.settings.rules
    voters = np.asarray(voters, dtype=np.int64)
    posts_ = np.asarray(posts_, dtype=np.int64)
    times = np.asarray(times, dtype=np.int64)
    up = np.asarray(up, dtype=bool)
    rep = users.reputation[voters]
    need = np.where(up, pol.priv_upvote, pol.priv_downvote)
    privileged = rep >= need
    free = np.zeros(voters.size, dtype=bool)
    if pol.free_votes_for_new_users:
        free = ~privileged & up & (rep >= 1)
    keep = (privileged | free) & users.can_act(voters, site.clock.minute)
    keep &= (posts.owner[posts_] != voters) & (posts.state[posts_] < 2)
    key = voters * (1 << 32) + posts_
    _, first = np.unique(key, return_index=True)
    uniq = np.zeros(voters.size, dtype=bool)
    uniq[first] = True
    keep &= uniq
    # daily limit, counted in order within the tick
    idx = np.flatnonzero(keep)
    if idx.size:
        v = voters[idx]
        order = np.argsort(v, kind="stable")
        vs = v[order]
        firsts = np.r_[True, vs[1:] != vs[:-1]]
        rank = np.arange(vs.size) - np.maximum.accumulate(np.where(firsts, np.arange(vs.size), 0))
        allowed = (users.votes_today[vs] + rank) < rules.votes_per_day
        keep[idx[order[~allowed]]] = False
    voters, posts_, times, up, free = voters[keep], posts_[keep], times[keep], up[keep], free[keep]
    n = voters.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    times = np.maximum(times, posts.created[posts_] + 1)
    authors = posts.owner[posts_]
    ids = site.votes.append(n, post=posts_, voter=voters, created=times, vote_type=np.where(up, UP, DOWN),
                            fraud=fraud, voter_rep=users.reputation[voters])
    np.add.at(users.votes_today, voters, 1)
    np.add.at(posts.score, posts_, np.where(up, 1, -1).astype(np.int32))
    effect = ~free
    is_q = posts.kind[posts_] == PostType.QUESTION
    gain = np.where(is_q, rules.rep_question_upvote, rules.rep_answer_upvote)
    delta = np.where(up, gain, -rules.rep_downvote_received)
    who = authors[effect]
    applied = apply_reputation(users, who, delta[effect], up[effect], rules.rep_daily_cap, rules.rep_floor)
    if fraud:
        np.add.at(users.fraud_rep, who, np.maximum(applied, 0).astype(np.int32))
    cost = effect & ~up & ~is_q
    if cost.any():
        apply_reputation(users, voters[cost], np.full(int(cost.sum()), -rules.rep_answer_downvote_cost),
                         False, rules.rep_daily_cap, rules.rep_floor)
    down = ~up
    if down.any():
        site.on_first_post_hit(posts_[down], times[down])
    users.touch(voters, times)
    return ids


def reverse_votes(site: Site, vote_ids: np.ndarray) -> None:
    """Undo votes (serial-voting reversal or a fraud investigation), taking back their reputation."""
    votes, posts, users, rules = site.votes, site.posts, site.users, site.settings.rules
    vote_ids = vote_ids[~votes.reversed[vote_ids]]
    if vote_ids.size == 0:
        return
    votes.reversed[vote_ids] = True
    p = votes.post[vote_ids].astype(np.int64)
    up = votes.vote_type[vote_ids] == UP
    np.add.at(posts.score, p, np.where(up, -1, 1).astype(np.int32))
    is_q = posts.kind[p] == PostType.QUESTION
    gain = np.where(is_q, rules.rep_question_upvote, rules.rep_answer_upvote)
    delta = np.where(up, -gain, rules.rep_downvote_received)
    apply_reputation(users, posts.owner[p].astype(np.int64), delta, False, rules.rep_daily_cap,
                     rules.rep_floor)


def accept(site: Site, questions: np.ndarray, answers: np.ndarray, times: np.ndarray) -> None:
    """Askers accept an answer to their own question: +15 to the answerer, +2 to the asker."""
    posts, users, rules = site.posts, site.users, site.settings.rules
    ok = (posts.parent[answers] == questions) & (posts.accepted[questions] == NONE) & (posts.state[answers] < 2)
    ok &= users.can_act(posts.owner[questions].astype(np.int64), site.clock.minute)
    questions, answers, times = questions[ok], answers[ok], times[ok]
    if questions.size == 0:
        return
    times = np.maximum(times, posts.created[answers] + 1)
    posts.accepted[questions] = answers
    posts.accepted_at[questions] = times
    answerer = posts.owner[answers].astype(np.int64)
    asker = posts.owner[questions].astype(np.int64)
    site.votes.append(questions.size, post=answers, voter=asker, created=times, vote_type=ACCEPT)
    self_accept = answerer == asker
    who = np.concatenate([answerer[~self_accept], asker[~self_accept]])
    delta = np.concatenate([np.full((~self_accept).sum(), rules.rep_accept),
                            np.full((~self_accept).sum(), rules.rep_accepter)])
    apply_reputation(users, who, delta, False, rules.rep_daily_cap, rules.rep_floor)
