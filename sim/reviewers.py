"""Who reviews: eligible members drawn for each review, robo-reviewers, daily caps, audits, bans.

Each review is done by one member drawn from the queue's eligible pool (active members with the
queue's reputation, not review-banned), in proportion to a reviewing weight. A reviewer does at
most the daily cap of reviews per queue (``rules.reviews_per_queue_per_day``, more when the
backlog is large). A configurable share of members are robo-reviewers: whatever the item, they
pick the queue's no-action choice ("looks OK", approve, leave open). Audits are known-good or
known-bad test items slipped into the queues; a robo-reviewer fails every known-bad one, an
attentive reviewer fails a few. Failed audits lead to automatic review bans whose length starts
at ``rules.review_ban_first_days`` and doubles for a repeat soon after the last one (Stack
Overflow's rule since 2016), halving otherwise.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

from sim.arrivals import mix64, to_uniform
from sim.clock import MINUTES_PER_DAY
from sim.population import WeightedPool
from sim.store import NONE, ReviewTaskState

if TYPE_CHECKING:
    from agents.model import Site
    from sim.review_queues import ReviewQueue

_ROBO_SALT = np.uint64(zlib.crc32(b"robo_reviewer"))
_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def occurrence_rank(ids: np.ndarray) -> np.ndarray:
    """For each position of a batch, how many earlier positions hold the same id (0 for the first)."""
    if ids.size < 2:
        return np.zeros(ids.size, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    s = ids[order]
    if (s[1:] != s[:-1]).all():  # (most batches: every id once)
        return np.zeros(ids.size, dtype=np.int64)
    start = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1]))) if s.size else np.zeros(0, np.int64)
    first = np.repeat(start, np.diff(np.append(start, s.size)))
    rank = np.empty(ids.size, dtype=np.int64)
    rank[order] = np.arange(s.size) - first
    return rank


class Reviewers:
    """The members who review, their daily pools and their audit record.

    Attributes:
        pools: Reputation level -> today's pool of eligible reviewers at or above it.
    """

    def __init__(self, site: Site) -> None:
        self.site = site
        self.pools: dict[int, WeightedPool] = {}
        self._key = mix64(np.array([site.settings.seed], dtype=np.uint64) * _GAMMA + _ROBO_SALT)[0]

    def is_robo(self, ids: np.ndarray) -> np.ndarray:
        """Whether members are robo-reviewers: a hash of (run seed, member), so the same members
        are robo-reviewers in baseline and scenario."""
        u = to_uniform(mix64(np.asarray(ids).astype(np.uint64) * _GAMMA + self._key))
        return u < self.site.settings.moderation.robo_reviewer_share

    def refresh(self, ids: np.ndarray, rep: np.ndarray, weight: np.ndarray, levels: set[int]) -> None:
        """Daily: the pool of each reputation level, without members banned from review now."""
        users = self.site.users
        open_ = users.review_banned_until[ids] <= self.site.clock.minute
        self.pools = {level: WeightedPool(ids[open_ & (rep >= level)], weight[open_ & (rep >= level)])
                      for level in sorted(levels)}

    def assign(self, queue: ReviewQueue, rng: np.random.Generator, k: int) -> np.ndarray:
        """A reviewer for each of ``k`` reviews in ``queue`` (``NONE`` where the drawn member cannot
        review now: banned, suspended or past the daily cap)."""
        pool = self.pools.get(queue.min_rep)
        if pool is None or k == 0:
            return np.full(k, NONE, dtype=np.int64)
        site, users, r = self.site, self.site.users, self.site.settings.rules
        who = pool.draw(rng, k)
        now = site.clock.minute
        ok = who >= 0
        ok[ok] &= users.can_act(who[ok], now) & (users.review_banned_until[who[ok]] <= now)
        if ok.any():
            cap = r.reviews_per_queue_per_day_backlog if queue.backlog > r.review_backlog_threshold \
                else r.reviews_per_queue_per_day
            queue.fit_reviewers(int(who.max()))
            sel = np.flatnonzero(ok)
            ok[sel] = queue.today[who[sel]] + occurrence_rank(who[sel]) < cap
            np.add.at(queue.today, who[ok], 1)
            queue.touched.append(who[ok])
        return np.where(ok, who, NONE)

    def decide(self, rng: np.random.Generator, act_is_right: np.ndarray, reviewers: np.ndarray) -> np.ndarray:
        """Whether each reviewer takes the queue's action: right with ``moderation.reviewer_accuracy``
        against ground truth, except robo-reviewers, who never act."""
        acc = self.site.settings.moderation.reviewer_accuracy
        right = rng.random(reviewers.size) < acc
        return np.where(right, act_is_right, ~act_is_right) & ~self.is_robo(reviewers)

    def audit(self, queue: ReviewQueue, rng: np.random.Generator, n: int, now: int) -> None:
        """``n`` audits in ``queue``: each a completed task and a result, passed or failed."""
        site, m = self.site, self.site.settings.moderation
        who = self.assign(queue, rng, n)
        who = who[who >= 0]
        if who.size == 0:
            return
        known_bad = rng.random(who.size) < m.audit_known_bad_share
        passed = np.where(self.is_robo(who), ~known_bad, rng.random(who.size) < m.audit_accuracy)
        acted = known_bad == passed
        tasks = site.review_tasks.append(who.size, created=now, queue=queue.index, kind=int(queue.kind), audit=True,
                                         state=int(ReviewTaskState.COMPLETED), completed_at=now)
        results = site.review_results.append(
            who.size, task=tasks, queue=queue.index, created=now, reviewer=who, audit=True, audit_passed=passed,
            result=np.where(acted, int(queue.action_result), int(queue.no_action_result)))
        site.review_tasks.completed_by[tasks] = results
        users = site.users
        np.add.at(users.audits_passed, who[passed], 1)
        self._failed(who[~passed], now)

    def _failed(self, who: np.ndarray, now: int) -> None:
        """Failed audits: counted, and enough recent failures bring an automatic review ban."""
        if who.size == 0:
            return
        users, r = self.site.users, self.site.settings.rules
        np.add.at(users.audits_failed, who, 1)
        stale = now - users.last_audit_fail_at[who] > r.review_audit_memory_days * MINUTES_PER_DAY
        users.recent_audit_fails[who[stale]] = 0
        np.add.at(users.recent_audit_fails, who, 1)
        users.last_audit_fail_at[who] = now
        due = np.unique(who[users.recent_audit_fails[who] >= r.review_ban_failed_audits])
        self.ban(due[users.review_banned_until[due] <= now], now)

    def ban(self, who: np.ndarray, now: int) -> None:
        """Automatic review bans: the first for ``review_ban_first_days``; a later one doubles the
        last when it starts within ``review_ban_repeat_window_days`` of the last one's end, else
        halves it (never below the first, never above ``review_ban_max_days``)."""
        if who.size == 0:
            return
        users, r = self.site.users, self.site.settings.rules
        last, ended = users.last_review_ban_days[who].astype(np.float64), users.review_banned_until[who]
        repeat = now - ended <= r.review_ban_repeat_window_days * MINUTES_PER_DAY
        days = np.where(users.review_bans[who] == 0, r.review_ban_first_days, np.where(repeat, last * 2, last / 2))
        days = np.clip(days, r.review_ban_first_days, r.review_ban_max_days)
        users.review_banned_until[who] = now + (days * MINUTES_PER_DAY).astype(np.int64)
        users.last_review_ban_days[who] = days
        users.review_bans[who] += 1
        users.recent_audit_fails[who] = 0
        self.site.counters["review_bans"] += who.size
