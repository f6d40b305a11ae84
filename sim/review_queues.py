"""Review queues worked by experienced members: close, low quality, first posts, staging ground.

Each queue is FIFO. Its capacity per tick comes from the eligible reviewers (a share of them
review each day, up to the per-queue daily cap, doubled when the backlog is large), spread over
the day by the activity cycle. Every review is a decision with an accuracy against ground truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import close_votes, removal
from sim.clock import MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.store import NONE, Cause, FlagKind, Harm, PostType, State, Target

if TYPE_CHECKING:
    from agents.model import Site


class ReviewQueue:
    """A FIFO of items waiting for review, held in arrays.

    Attributes:
        name: Queue name (``close``, ``low_quality``, ``first_posts``, ``staging``).
        min_rep: Reputation needed to review here.
        leave_open: Leave-open reviews so far per post (close queue).
    """

    def __init__(self, site: Site, name: str, min_rep: int) -> None:
        self.site = site
        self.name = name
        self.min_rep = min_rep
        self._items = np.zeros(1024, dtype=np.int64)
        self._times = np.zeros(1024, dtype=np.int64)
        self._head = 0
        self._tail = 0
        self._queued = np.zeros(4096, dtype=bool)  # by post id
        self.leave_open = np.zeros(4096, dtype=np.int16)
        self.reviewers = 0
        self.reviews_total = 0
        self._credit = 0.0

    def _fit_posts(self, top: int) -> None:
        """Grow the by-post arrays to cover post id ``top``; new posts are not queued, with no
        leave-open reviews (``np.resize`` would repeat the old flags into the new rows)."""
        if top >= self._queued.size:
            size = max(top + 1, int(self._queued.size * 1.5))
            self._queued = np.concatenate([self._queued, np.zeros(size - self._queued.size, dtype=bool)])
            self.leave_open = np.concatenate([self.leave_open, np.zeros(size - self.leave_open.size, np.int16)])

    def add(self, items: np.ndarray, time: int) -> None:
        """Queue distinct items (items already queued are skipped)."""
        items = np.asarray(items, dtype=np.int64)
        self.add_many(items, np.full(items.size, int(time), dtype=np.int64))

    def add_many(self, items: np.ndarray, times: np.ndarray) -> None:
        """Queue distinct items, each with its own enqueue time (items already queued are skipped)."""
        items = np.asarray(items, dtype=np.int64)
        if items.size == 0:
            return
        self._fit_posts(int(items.max()))
        new = ~self._queued[items]
        items, times = items[new], np.asarray(times, dtype=np.int64)[new]
        if items.size == 0:
            return
        self._queued[items] = True
        n = self._tail - self._head
        if self._tail + items.size > self._items.size:
            cap = max(2 * (n + items.size), 1024)
            keep = slice(self._head, self._tail)
            self._items = np.concatenate([self._items[keep], np.zeros(cap - n, np.int64)])
            self._times = np.concatenate([self._times[keep], np.zeros(cap - n, np.int64)])
            self._head, self._tail = 0, n
        self._items[self._tail:self._tail + items.size] = items
        self._times[self._tail:self._tail + items.size] = times
        self._tail += items.size

    @property
    def items(self) -> np.ndarray:
        """Queued items, oldest first."""
        return self._items[self._head:self._tail]

    @property
    def times(self) -> np.ndarray:
        """When each queued item entered the queue."""
        return self._times[self._head:self._tail]

    @property
    def backlog(self) -> int:
        return self._tail - self._head

    def capacity(self) -> int:
        """Reviews available this tick."""
        site, r = self.site, self.site.settings.rules
        cap = r.reviews_per_queue_per_day_backlog if self.backlog > r.review_backlog_threshold else r.reviews_per_queue_per_day
        per_day = min(self.reviewers * site.settings.moderation.review_share_of_eligible * cap,
                      self.reviewers * cap) * (1.0 - site.policy.curator_strike_share)
        self._credit += per_day * site.clock.tick_days * site.global_activity
        n = int(self._credit)
        self._credit -= n
        return n

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` oldest items and their enqueue times, removed from the queue."""
        stop = min(self._head + max(int(n), 0), self._tail)
        items = self._items[self._head:stop].copy()
        times = self._times[self._head:stop].copy()
        self._head = stop
        self._queued[items] = False
        self.reviews_total += items.size
        return items, times

    def drop_where(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remove the queued items selected by ``mask`` (aligned with :attr:`items`); returns them."""
        items, times = self.items, self.times
        out_items, out_times = items[mask].copy(), times[mask].copy()
        keep_items, keep_times = items[~mask].copy(), times[~mask].copy()
        self._head, self._tail = 0, keep_items.size
        self._items[: keep_items.size] = keep_items
        self._times[: keep_times.size] = keep_times
        self._queued[out_items] = False
        return out_items, out_times


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

    def refresh_reviewers(self, rep: np.ndarray | None = None) -> None:
        """Daily: count eligible reviewers for each queue (``rep``: active members' reputation)."""
        if rep is None:
            rep = self.site.users.reputation[self.site.active_members()]
        for q in self.all:
            q.reviewers = int((rep >= q.min_rep).sum())

    def step(self) -> None:
        site = self.site
        acc = site.settings.moderation.reviewer_accuracy
        rng = site.streams["reviews"]
        posts = site.posts
        now = site.clock.tick_end - 1
        self._close_step(rng, acc, now)
        # low quality: enough "recommend deletion" reviews delete the post
        ps, _ = self.low_quality.take(self.low_quality.capacity())
        if ps.size:
            ps = ps[posts.state[ps] < State.DELETED]
            bad = site.flags.truth_bad(Target.POST, ps, np.full(ps.size, FlagKind.VERY_LOW_QUALITY))
            k = site.settings.rules.low_quality_reviews_to_delete
            p_del = np.where(bad, acc, 1 - acc)
            votes = rng.binomial(k, p_del)
            delete = votes * 2 > k
            removal.remove_posts(site, ps[delete], Cause.REVIEW, now, delete=True)
            site.flags.resolve_many(Target.POST, ps[~delete], False, handler=NONE, time=now)
        # first posts: reviewers flag spam/abuse and send close-worthy questions to the close queue
        ps, _ = self.first_posts.take(self.first_posts.capacity())
        if ps.size:
            ps = ps[posts.state[ps] < State.HIDDEN]
            harmful = (posts.harm[ps] == Harm.SPAM) | (posts.harm[ps] == Harm.ABUSIVE)
            spot = harmful & (rng.random(ps.size) < acc)
            if spot.any():
                kinds = np.where(posts.harm[ps[spot]] == Harm.SPAM, FlagKind.SPAM, FlagKind.RUDE)
                reviewers = site.reviewer_pool.draw(rng, int(spot.sum()))
                site.flags.raise_user_flags(Target.POST, ps[spot], reviewers, kinds, np.full(int(spot.sum()), now))
            send = acc * site.settings.moderation.first_posts_close_share
            cw = (posts.kind[ps] == PostType.QUESTION) & posts.close_worthy[ps] & (rng.random(ps.size) < send)
            self.close.add(ps[cw], now)
        self._staging_step(rng, acc, now)

    def _close_step(self, rng: np.random.Generator, acc: float, now: int) -> None:
        """Close queue: each review is one close vote or one leave-open by one reviewer. An item
        goes back in the queue until it closes, collects enough leave-open reviews, or its close
        votes age away, so a higher quorum needs more of the queue's limited reviews."""
        site, posts = self.site, self.site.posts
        queue = self.close
        qs, since = queue.take(queue.capacity())
        if qs.size == 0:
            return
        live = posts.state[qs] == State.LIVE
        decide_close = np.where(posts.close_worthy[qs], rng.random(qs.size) < acc, rng.random(qs.size) > acc) & live
        voters = site.closer_pool.draw(rng, qs.size)
        close_votes.cast(site, qs[decide_close], voters[decide_close], np.full(int(decide_close.sum()), now))
        aging = site.settings.rules.close_vote_aging_days * MINUTES_PER_DAY
        leave_limit = site.policy.close_vote_threshold
        queue._fit_posts(int(qs.max()))
        np.add.at(queue.leave_open, qs[~decide_close], 1)
        left = queue.leave_open[qs]
        done = (posts.state[qs] != State.LIVE) | (left >= leave_limit) | (now - since > aging)
        queue.leave_open[qs[done]] = 0
        finished = qs[done]
        site.flags.resolve_many(Target.POST, finished, posts.state[finished] == State.CLOSED, handler=NONE, time=now)
        queue.add_many(qs[~done], since[~done])

    def _staging_step(self, rng: np.random.Generator, acc: float, now: int) -> None:
        """Staging ground: first questions are reviewed before going public; reviewers help the
        asker fix unclear questions, point duplicates to the original and remove spam."""
        site, posts, pol = self.site, self.site.posts, self.site.policy
        ps, _ = self.staging.take(self.staging.capacity())
        # questions whose wait ran out go public unreviewed
        if self.staging.backlog:
            overdue = now - self.staging.times > pol.staging_hours * MINUTES_PER_HOUR
            if overdue.any():
                late, _ = self.staging.drop_where(overdue)
                self._publish(late, now)
        if ps.size == 0:
            return
        ps = ps[posts.staged[ps]]
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
        with self.site.traffic.reweighing(ps):
            posts.staged[ps] = False
        # the creation time stays; the publication time is recorded beside it (views and answerers'
        # interest start from it)
        posts.published_at[ps] = np.maximum(posts.created[ps], now)

