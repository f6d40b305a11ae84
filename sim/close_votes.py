"""Close and reopen votes: the privilege, the threshold, aging, the duplicate hammer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import hot_window, retention
from sim.clock import MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.store import NONE, Closer, CloseReason, PostType, State, VoteType, threshold_crossings, unique_ids

if TYPE_CHECKING:
    from agents.model import Site

#: reasons for closing a question that is not a duplicate (their shares: population.close_reason_shares)
OTHER_REASONS = np.array([CloseReason.NEEDS_DETAILS, CloseReason.OFF_TOPIC, CloseReason.OPINION])


def cast(site: Site, questions: np.ndarray, voters: np.ndarray, times: np.ndarray, reviewed: bool = False) -> np.ndarray:
    """Close votes by ``voters`` on ``questions``; only users with the close privilege count, and
    not curators on strike (unless ``reviewed``: the review queues' capacity already leaves them out).

    A question reaching the current threshold before its votes age away is closed by the
    community. A question's first close vote cast outside the queue (on the question page) opens
    a close review task, as on Stack Overflow, where the first close vote or close flag puts the
    question in the close-votes queue. Returns the questions closed by these votes.
    """
    posts, users, pol = site.posts, site.users, site.policy
    questions = np.asarray(questions, dtype=np.int64)
    voters = np.asarray(voters, dtype=np.int64)
    ok = (voters >= 0)
    ok[ok] &= users.reputation[voters[ok]] >= pol.priv_close_vote
    ok[ok] &= users.can_act(voters[ok], site.clock.minute)
    if not reviewed:
        ok[ok] &= ~site.striking_curators(voters[ok])
    ok &= (posts.kind[questions] == PostType.QUESTION) & (posts.state[questions] == State.LIVE)
    ok &= posts.owner[questions] != voters
    questions, times, voters = questions[ok], np.asarray(times)[ok], voters[ok]
    if questions.size == 0:
        return questions
    times = np.maximum(times, posts.created[questions] + 1)
    site.votes.append(questions.size, post=questions, voter=voters, created=times, vote_type=VoteType.CLOSE,
                      voter_rep=users.reputation[voters])
    start = posts.close_vote_start[questions]
    first_vote = start == NONE
    posts.close_vote_start[questions] = np.where(first_vote, times, start)
    np.add.at(posts.close_votes, questions, 1)
    done, done_at = threshold_crossings(questions, times, posts.close_votes, pol.close_vote_threshold)
    # some close votes come from moderators, whose vote is binding
    mods = site.settings.moderation.moderators
    if mods.count:  # (striking moderators cast no binding votes)
        binding = (site.streams["binding_close"].random(questions.size)
                   < mods.binding_close_share * (1.0 - pol.moderator_strike_share))
        binding &= posts.close_votes[questions] < pol.close_vote_threshold  # not closing anyway
        by_mod, first = np.unique(questions[binding], return_index=True)
        close(site, by_mod, times[binding][first], Closer.MODERATOR)
    close(site, done, done_at, Closer.COMMUNITY)
    if not reviewed:
        opened = unique_ids(questions[first_vote])
        site.review.close.add(opened[posts.state[opened] == State.LIVE], site.clock.minute)
    return done


def close(site: Site, questions: np.ndarray, time: np.ndarray | int, closer: Closer) -> None:
    """Close questions at ``time`` (per question, or one minute for all): duplicates as duplicates,
    others for a drawn reason."""
    posts = site.posts
    if np.size(questions) == 0:
        return
    questions = np.asarray(questions, dtype=np.int64)
    live = posts.state[questions] == State.LIVE
    if not live.any():
        return
    time = np.asarray(time, dtype=np.int64)
    questions, time = questions[live], (time[live] if time.ndim else time)
    rng = site.streams["close_reasons"]
    reason = np.where(posts.duplicate[questions], CloseReason.DUPLICATE,
                      rng.choice(OTHER_REASONS, size=questions.size, p=site.settings.population.close_reason_shares))
    with site.traffic.reweighing(questions):
        posts.state[questions] = State.CLOSED
    site.roomba.note_closed(questions)
    site.counters["closures"] += questions.size
    posts.closed_at[questions] = np.maximum(time, posts.created[questions] + 1)
    posts.close_reason[questions] = reason
    posts.closer[questions] = int(closer)
    retention.first_post_hit(site, questions, posts.closed_at[questions], closed=True)
    site.edits.on_closed(questions, posts.closed_at[questions])


def reopen_votes(site: Site, questions: np.ndarray, voters: np.ndarray, times: np.ndarray,
                 enqueue: bool = False) -> None:
    """Reopen votes by users with the close/reopen privilege on closed questions; at the threshold
    the question is live again. With ``enqueue`` (votes cast outside the queue) the questions
    enter the reopen review queue; outside the queue curators on strike cast none."""
    posts, users = site.posts, site.users
    ok = (voters >= 0) & (posts.state[questions] == State.CLOSED)
    ok[ok] &= users.reputation[voters[ok]] >= site.policy.priv_close_vote
    ok[ok] &= users.can_act(voters[ok], site.clock.minute)
    if enqueue:
        ok[ok] &= ~site.striking_curators(voters[ok])
    questions, voters, times = questions[ok], voters[ok], np.asarray(times)[ok]
    if questions.size == 0:
        return
    times = np.maximum(times, posts.closed_at[questions] + 1)
    site.votes.append(questions.size, post=questions, voter=voters, created=times, vote_type=VoteType.REOPEN,
                      voter_rep=users.reputation[voters])
    np.add.at(posts.reopen_votes, questions, 1)
    done = unique_ids(questions[posts.reopen_votes[questions] >= site.policy.reopen_vote_threshold])
    with site.traffic.reweighing(done):
        posts.state[done] = State.LIVE
    posts.reopened_at[done] = site.clock.minute
    site.counters["reopens"] += done.size
    if enqueue:
        site.review.reopen.add(unique_ids(questions[posts.state[questions] == State.CLOSED]), site.clock.minute)
    posts.close_votes[done] = 0
    posts.close_vote_start[done] = NONE
    posts.reopen_votes[done] = 0


def age_votes(site: Site) -> None:
    """Close votes older than the aging period expire on questions that did not close."""
    posts = site.posts
    lo = site.post_id_at_day(site.clock.day - int(site.settings.rules.close_vote_aging_days) - 2)
    sl = slice(lo, posts.n)
    start = posts.close_vote_start[sl]
    expired = (start != NONE) & (posts.state[sl] == State.LIVE) & (
        site.clock.minute - start > site.settings.rules.close_vote_aging_days * MINUTES_PER_DAY)
    idx = np.flatnonzero(expired) + lo
    posts.close_votes[idx] = 0
    posts.close_vote_start[idx] = NONE


def dupe_hammer(site: Site) -> None:
    """Gold-badge holders close some duplicates single-handedly, within hours of posting."""
    posts = site.posts
    idx = hot_window.open_duplicates(site.hot_start(), posts.n, posts.duplicate, posts.state, posts.staged)
    if idx.size == 0:
        return
    rules = site.settings.rules
    rate = -np.log1p(-rules.dupe_hammer_prob) / (rules.dupe_hammer_hours * MINUTES_PER_HOUR) * site.clock.tick_minutes
    rate *= 1.0 - site.policy.curator_strike_share  # gold-badge holders strike as curators
    rng = site.streams["dupe_hammer"]
    hit = idx[rng.random(idx.size) < rate]
    close(site, hit, site.clock.jitter(rng, hit.size), Closer.DUPE_HAMMER)
