"""Review queues worked by experienced members: close, low quality, first posts, staging ground.

Each queue is FIFO. Its capacity per tick comes from the eligible reviewers (a share of them
review each day, up to the per-queue daily cap, doubled when the backlog is large), spread over
the day by the activity cycle. Every review is a decision with an accuracy against ground truth.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from sim import close_votes, removal
from sim.store import NONE, Cause, FlagKind, Harm, PostType, State, Target

if TYPE_CHECKING:
    from sim.model import Site


class ReviewQueue:
    """A FIFO of items waiting for review.

    Attributes:
        name: Queue name (``close``, ``low_quality``, ``first_posts``, ``staging``).
        min_rep: Reputation needed to review here.
    """

    def __init__(self, site: Site, name: str, min_rep: int) -> None:
        self.site = site
        self.name = name
        self.min_rep = min_rep
        self.items: deque[tuple[int, int]] = deque()
        self._queued: set[int] = set()
        self.leave_open: dict[int, int] = {}
        self.reviewers = 0
        self.reviews_today = 0
        self._credit = 0.0

    def add(self, items: np.ndarray, time: int) -> None:
        for item in np.asarray(items).tolist():
            if item not in self._queued:
                self._queued.add(item)
                self.items.append((item, time))

    def add_many(self, items: np.ndarray, times: np.ndarray) -> None:
        """Queue items, each with its own enqueue time (items already queued are skipped)."""
        for item, time in zip(items.tolist(), times.tolist(), strict=True):
            if item not in self._queued:
                self._queued.add(item)
                self.items.append((item, time))

    @property
    def backlog(self) -> int:
        return len(self.items)

    def capacity(self) -> int:
        """Reviews available this tick."""
        site, r = self.site, self.site.settings.rules
        if site.policy.curators_on_strike:
            return 0
        cap = r.reviews_per_queue_per_day_backlog if self.backlog > r.review_backlog_threshold else r.reviews_per_queue_per_day
        per_day = min(self.reviewers * site.settings.moderation.review_share_of_eligible * cap,
                      self.reviewers * cap)
        self._credit += per_day * site.clock.tick_days * site.global_activity
        n = int(self._credit)
        self._credit -= n
        return n

    def take(self, n: int) -> list[tuple[int, int]]:
        out = []
        while self.items and len(out) < n:
            item, t = self.items.popleft()
            self._queued.discard(item)
            out.append((item, t))
        self.reviews_today += len(out)
        return out


class ReviewQueues:
    """The site's review queues and the per-tick work on them."""

    def __init__(self, site: Site) -> None:
        r, pol = site.settings.rules, site.policy
        self.site = site
        self.close = ReviewQueue(site, "close", r.priv_close_vote)
        self.low_quality = ReviewQueue(site, "low_quality", r.priv_review_low_quality)
        self.first_posts = ReviewQueue(site, "first_posts", pol.priv_review)
        self.staging = ReviewQueue(site, "staging", pol.priv_review)
        self.all = (self.close, self.low_quality, self.first_posts, self.staging)

    def refresh_reviewers(self) -> None:
        """Daily: count eligible reviewers for each queue."""
        users = self.site.users
        members = self.site._members
        rep = users.reputation[members[users.active[members] & ~users.destroyed[members]]]
        for q in self.all:
            q.reviewers = int((rep >= q.min_rep).sum())
            q.reviews_today = 0

    def step(self) -> None:
        site = self.site
        acc = site.settings.moderation.reviewer_accuracy
        rng = site.streams["reviews"]
        posts = site.posts
        now = site.clock.tick_end - 1
        self._close_step(rng, acc, now)
        # low quality: enough "recommend deletion" reviews delete the post
        batch = self.low_quality.take(self.low_quality.capacity())
        if batch:
            ps = np.array([b[0] for b in batch], dtype=np.int64)
            ps = ps[posts.state[ps] < State.DELETED]
            bad = site.flags.truth_bad(Target.POST, ps, np.full(ps.size, FlagKind.VERY_LOW_QUALITY))
            k = site.settings.rules.low_quality_reviews_to_delete
            p_del = np.where(bad, acc, 1 - acc)
            votes = rng.binomial(k, p_del)
            delete = votes * 2 > k
            removal.remove_posts(site, ps[delete], Cause.REVIEW, now, delete=True)
            for pid in ps[~delete].tolist():
                site.flags.resolve(Target.POST, pid, helpful=False, handler=NONE, time=now)
        # first posts: reviewers flag spam/abuse and send close-worthy questions to the close queue
        batch = self.first_posts.take(self.first_posts.capacity())
        if batch:
            ps = np.array([b[0] for b in batch], dtype=np.int64)
            ps = ps[posts.state[ps] < State.HIDDEN]
            harmful = (posts.harm[ps] == Harm.SPAM) | (posts.harm[ps] == Harm.ABUSIVE)
            spot = harmful & (rng.random(ps.size) < acc)
            if spot.any():
                kinds = np.where(posts.harm[ps[spot]] == Harm.SPAM, FlagKind.SPAM, FlagKind.RUDE)
                reviewers = site.reviewer_pool.draw(rng, int(spot.sum()))
                site.flags.raise_user_flags(Target.POST, ps[spot], reviewers, kinds, np.full(int(spot.sum()), now))
            cw = (posts.kind[ps] == PostType.QUESTION) & posts.close_worthy[ps] & (rng.random(ps.size) < acc * 0.5)
            self.close.add(ps[cw], now)
        self._staging_step(rng, acc, now)

    def _close_step(self, rng: np.random.Generator, acc: float, now: int) -> None:
        """Close queue: each review is one close vote or one leave-open by one reviewer. An item
        goes back in the queue until it closes, collects enough leave-open reviews, or its close
        votes age away, so a higher quorum needs more of the queue's limited reviews."""
        site, posts = self.site, self.site.posts
        queue = self.close
        batch = queue.take(queue.capacity())
        if not batch:
            return
        qs = np.array([b[0] for b in batch], dtype=np.int64)
        since = np.array([b[1] for b in batch], dtype=np.int64)
        live = posts.state[qs] == State.LIVE
        decide_close = np.where(posts.close_worthy[qs], rng.random(qs.size) < acc, rng.random(qs.size) > acc) & live
        voters = site.closer_pool.draw(rng, qs.size)
        close_votes.cast(site, qs[decide_close], voters[decide_close], np.full(int(decide_close.sum()), now))
        aging = site.settings.rules.close_vote_aging_days * 1440
        leave_limit = site.policy.close_vote_threshold
        leave_open = queue.leave_open
        for q in qs[~decide_close].tolist():
            leave_open[q] = leave_open.get(q, 0) + 1
        left = np.array([leave_open.get(q, 0) for q in qs.tolist()], dtype=np.int64)
        done = (posts.state[qs] != State.LIVE) | (left >= leave_limit) | (now - since > aging)
        pending = site.flags.pending
        for q in qs[done].tolist():
            leave_open.pop(q, None)
            if (Target.POST, q) in pending:
                site.flags.resolve(Target.POST, q, helpful=bool(posts.state[q] == State.CLOSED), handler=NONE, time=now)
        queue.add_many(qs[~done], since[~done])

    def _staging_step(self, rng: np.random.Generator, acc: float, now: int) -> None:
        """Staging ground: first questions are reviewed before going public; reviewers help the
        asker fix unclear questions, point duplicates to the original and remove spam."""
        site, posts, pol = self.site, self.site.posts, self.site.policy
        batch = self.staging.take(self.staging.capacity())
        ps = np.array([b[0] for b in batch], dtype=np.int64)
        # questions whose wait ran out go public unreviewed
        late = np.array([i for i, t in list(self.staging.items) if now - t > pol.staging_hours * 60], dtype=np.int64)
        if late.size:
            keep = deque((i, t) for i, t in self.staging.items if now - t <= pol.staging_hours * 60)
            self.staging.items = keep
            self.staging._queued = {i for i, _ in keep}
            self._publish(late, now)
        if ps.size == 0:
            return
        ps = ps[posts.staged_until[ps] != NONE]
        spam = (posts.harm[ps] > 0) & (rng.random(ps.size) < acc)
        removal.remove_posts(site, ps[spam], Cause.STAGING, now, delete=True)
        ps = ps[~spam]
        dup = posts.duplicate[ps] & (rng.random(ps.size) < acc)
        removal.remove_posts(site, ps[dup], Cause.STAGING, now, delete=True)
        ps = ps[~dup]
        unclear = posts.close_worthy[ps] & (rng.random(ps.size) < pol.staging_rejects_close_worthy)
        fixed = ps[unclear]
        posts.quality[fixed] = np.minimum(1.0, posts.quality[fixed] + pol.staging_improvement)
        posts.close_worthy[fixed] = posts.quality[fixed] < site.settings.population.close_worthy_quality
        self._publish(ps, now)

    def _publish(self, ps: np.ndarray, now: int) -> None:
        posts = self.site.posts
        ps = ps[posts.state[ps] < State.HIDDEN]
        posts.staged_until[ps] = NONE
        # a staged question's clock starts when it goes public
        posts.created[ps] = np.maximum(posts.created[ps], now)

