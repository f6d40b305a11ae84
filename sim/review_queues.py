"""Review queues worked by experienced members (SO's /review): suggested edits, close votes, low
quality posts, first questions, first answers, late answers, reopen votes, and (with its lever)
the staging ground.

Each queue is FIFO. Its capacity per tick comes from the eligible reviewers (a share of them
review each day, up to the per-queue daily cap, doubled when the backlog is large), spread over
the day by the activity cycle. Every review is one decision by one member drawn from the queue's
eligible pool (:mod:`sim.reviewers`), with an accuracy against ground truth; robo-reviewers pick
the no-action choice whatever the item, and audits catch them. Every item that enters a queue is
a review task and every review a result (``ReviewTasks`` and ``ReviewTaskResults``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import close_votes, removal
from sim.clock import MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.reviewers import Reviewers
from sim.store import (
    NONE,
    Cause,
    EditState,
    FlagKind,
    Harm,
    PostType,
    ReviewResult,
    ReviewTaskState,
    ReviewTaskType,
    State,
    Table,
    Target,
    low_quality,
)

if TYPE_CHECKING:
    from agents.model import Site

#: The queues in a fixed order (their index is the ``queue`` column of the review tables):
#: name -> (the dump's task type, the result of acting, the result of the no-action choice).
QUEUES: dict[str, tuple[ReviewTaskType, ReviewResult, ReviewResult]] = {
    "suggested_edits": (ReviewTaskType.SUGGESTED_EDIT, ReviewResult.REJECT, ReviewResult.APPROVE),
    "close": (ReviewTaskType.CLOSE_VOTES, ReviewResult.CLOSE, ReviewResult.DO_NOT_CLOSE),
    "low_quality": (ReviewTaskType.LOW_QUALITY_POSTS, ReviewResult.RECOMMEND_DELETION, ReviewResult.LOOKS_OK),
    "first_questions": (ReviewTaskType.FIRST_POST, ReviewResult.IM_DONE, ReviewResult.NO_ACTION_NEEDED),
    "first_answers": (ReviewTaskType.FIRST_POST, ReviewResult.IM_DONE, ReviewResult.NO_ACTION_NEEDED),
    "late_answers": (ReviewTaskType.LATE_ANSWER, ReviewResult.IM_DONE, ReviewResult.NO_ACTION_NEEDED),
    "reopen": (ReviewTaskType.REOPEN_VOTE, ReviewResult.REOPEN, ReviewResult.LEAVE_CLOSED),
    "staging": (ReviewTaskType.STAGING_GROUND, ReviewResult.REJECT, ReviewResult.APPROVE),
}
QUEUE_NAMES = tuple(QUEUES)


class ReviewQueue:
    """A FIFO of items waiting for review, held in arrays: each item (a post, or for suggested
    edits an edit) with its review task.

    Attributes:
        name: Queue name (one of :data:`QUEUES`).
        index: Its position in :data:`QUEUES` (the review tables' ``queue`` column).
        kind: The dump's review task type.
        min_rep: Reputation needed to review here.
        yes, no: Reviews so far per item that took the queue's action, and that did not.
        today: Reviews done today per member (the daily cap).
    """

    def __init__(self, site: Site | None, name: str, min_rep: int, tasks: Table, share_factor: float = 1.0) -> None:
        self.site = site
        self.name = name
        self.share_factor = share_factor  # this queue's share of its eligible reviewers, relative to the others
        self.index = QUEUE_NAMES.index(name)
        self.kind, self.action_result, self.no_action_result = QUEUES[name]
        self.min_rep = min_rep
        self.tasks_table = tasks
        self._items = np.zeros(1024, dtype=np.int64)
        self._tasks = np.zeros(1024, dtype=np.int64)
        self._head = self._tail = 0
        self._queued = np.zeros(4096, dtype=bool)  # by item id
        self.yes = np.zeros(4096, dtype=np.int16)
        self.no = np.zeros(4096, dtype=np.int16)
        self.today = np.zeros(0, dtype=np.int16)
        self.touched: list[np.ndarray] = []
        self.reviewers = 0
        self.reviews_total = 0
        self._credit = 0.0

    def _fit_items(self, top: int) -> None:
        """Grow the by-item arrays to cover item id ``top``; new items are not queued, with no
        reviews (``np.resize`` would repeat the old values into the new rows)."""
        if top >= self._queued.size:
            grow = max(top + 1, int(self._queued.size * 1.5)) - self._queued.size
            self._queued = np.concatenate([self._queued, np.zeros(grow, dtype=bool)])
            self.yes = np.concatenate([self.yes, np.zeros(grow, np.int16)])
            self.no = np.concatenate([self.no, np.zeros(grow, np.int16)])

    def fit_reviewers(self, top: int) -> None:
        """Grow the daily review counts to cover member id ``top``."""
        if top >= self.today.size:
            self.today = np.concatenate([self.today, np.zeros(max(top + 1, 2 * self.today.size) - self.today.size,
                                                              np.int16)])

    def new_day(self) -> None:
        """The daily cap starts afresh for the members who reviewed here yesterday."""
        for who in self.touched:
            self.today[who] = 0
        self.touched = []

    def add(self, items: np.ndarray, time: int, posts: np.ndarray | None = None) -> None:
        """Queue distinct items (items already queued are skipped), each a new review task created
        at ``time``. In the suggested-edits queue the items are edits and ``posts`` their posts."""
        items = np.asarray(items, dtype=np.int64)
        if items.size == 0:
            return
        self._fit_items(int(items.max()))
        new = ~self._queued[items]
        items = items[new]
        if items.size == 0:
            return
        post, edit = (items, NONE) if posts is None else (np.asarray(posts)[new], items)
        tasks = self.tasks_table.append(items.size, created=int(time), queue=self.index, kind=int(self.kind),
                                        post=post, edit=edit)
        self.yes[items] = 0
        self.no[items] = 0
        self.requeue(items, tasks)

    def requeue(self, items: np.ndarray, tasks: np.ndarray) -> None:
        """Put items back at the end of the queue with their tasks (items already queued are skipped)."""
        items = np.asarray(items, dtype=np.int64)
        if items.size == 0:
            return
        self._fit_items(int(items.max()))
        new = ~self._queued[items]
        items, tasks = items[new], np.asarray(tasks, dtype=np.int64)[new]
        self._queued[items] = True
        n = self._tail - self._head
        if self._tail + items.size > self._items.size:
            cap = max(2 * (n + items.size), 1024)
            keep = slice(self._head, self._tail)
            self._items = np.concatenate([self._items[keep], np.zeros(cap - n, np.int64)])
            self._tasks = np.concatenate([self._tasks[keep], np.zeros(cap - n, np.int64)])
            self._head, self._tail = 0, n
        self._items[self._tail:self._tail + items.size] = items
        self._tasks[self._tail:self._tail + items.size] = tasks
        self._tail += items.size

    @property
    def items(self) -> np.ndarray:
        """Queued items, oldest first."""
        return self._items[self._head:self._tail]

    @property
    def times(self) -> np.ndarray:
        """When each queued item entered the queue (its task's creation)."""
        return self.tasks_table.created[self._tasks[self._head:self._tail]].astype(np.int64)

    @property
    def backlog(self) -> int:
        return self._tail - self._head

    def capacity(self) -> int:
        """Reviews available this tick."""
        site, r = self.site, self.site.settings.rules
        cap = r.reviews_per_queue_per_day_backlog if self.backlog > r.review_backlog_threshold else r.reviews_per_queue_per_day
        per_day = self.reviewers * site.settings.moderation.review_share_of_eligible * cap * self.share_factor
        per_day *= 1.0 - site.policy.curator_strike_share  # striking curators do not review
        self._credit += per_day * site.clock.tick_days * site.global_activity
        n = int(self._credit)
        self._credit -= n
        return n

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` oldest items and their tasks, removed from the queue."""
        stop = min(self._head + max(int(n), 0), self._tail)
        items = self._items[self._head:stop].copy()
        tasks = self._tasks[self._head:stop].copy()
        self._head = stop
        self._queued[items] = False
        return items, tasks

    def put_back(self, items: np.ndarray, tasks: np.ndarray) -> None:
        """Return items just taken (none reviewed) to the front of the queue, in their order."""
        k = items.size
        if k == 0:
            return
        self._head -= k
        self._items[self._head:self._head + k] = items
        self._tasks[self._head:self._head + k] = tasks
        self._queued[items] = True

    def drop_where(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remove the queued items selected by ``mask`` (aligned with :attr:`items`); returns them
        and their tasks."""
        items, tasks = self.items, self._tasks[self._head:self._tail]
        out = items[mask].copy(), tasks[mask].copy()
        keep_items, keep_tasks = items[~mask].copy(), tasks[~mask].copy()
        self._head, self._tail = 0, keep_items.size
        self._items[: keep_items.size] = keep_items
        self._tasks[: keep_tasks.size] = keep_tasks
        self._queued[out[0]] = False
        return out


#: No limit on a count of reviews (an item that finishes another way).
_NO_LIMIT = np.iinfo(np.int16).max


class ReviewQueues:
    """The site's review queues, their reviewers, and the per-tick work on them.

    Attributes:
        all: Every queue, in :data:`QUEUES` order (also reachable by name: ``close``, ``reopen`` ...).
        reviewers: Who reviews (:class:`sim.reviewers.Reviewers`).
    """

    def __init__(self, site: Site) -> None:
        r, pol = site.settings.rules, site.policy
        self.site = site
        self.reviewers = Reviewers(site)
        levels = {"suggested_edits": r.priv_review_suggested_edits, "close": pol.priv_close_vote,
                  "low_quality": r.priv_review_low_quality, "reopen": pol.priv_close_vote}
        shares = {"close": site.settings.population.close_review_share_factor}  # the others: 1
        self.all = tuple(ReviewQueue(site, name, levels.get(name, pol.priv_review), site.review_tasks,
                                     shares.get(name, 1.0)) for name in QUEUE_NAMES)
        for q in self.all:
            setattr(self, q.name, q)

    def refresh_reviewers(self, ids: np.ndarray | None = None, rep: np.ndarray | None = None,
                          weight: np.ndarray | None = None) -> None:
        """Daily (and when a lever changes who may review): count each queue's eligible reviewers
        and rebuild the pools they are drawn from (``ids``, ``rep``, ``weight``: the active
        members, their reputation and reviewing weight)."""
        site = self.site
        if ids is None:
            ids = site.active_members()
            rep = site.users.reputation[ids]
            weight = site.users.flag_rate[ids] + site.settings.population.reviewer_base_weight
        for q in self.all:
            q.reviewers = int((rep >= q.min_rep).sum())
        self.reviewers.refresh(ids, rep, weight, {q.min_rep for q in self.all})

    def new_day(self) -> None:
        for q in self.all:
            q.new_day()
        self._expire_close_tasks()

    def _aged(self, opened: np.ndarray, now: int) -> np.ndarray:
        """Which close tasks opened at minutes ``opened`` are past the close-vote aging period: the
        one rule behind both the daily expiry of tasks nobody took and the end of a task whose
        review came after it aged."""
        return now - opened > self.site.settings.rules.close_vote_aging_days * MINUTES_PER_DAY

    def _expire_close_tasks(self) -> None:
        """Close review tasks older than the close-vote aging period leave the queue unreviewed
        (their votes and flags have aged away; Stack Overflow's task then completes with no
        decision): the task is invalidated and the question's pending close flags age out."""
        site, q = self.site, self.close
        if q.backlog == 0:
            return
        now = site.clock.minute
        old = self._aged(q.times, now)
        if not old.any():
            return
        items, tasks = q.drop_where(old)
        self._complete(tasks, now, NONE, ReviewTaskState.INVALIDATED)
        live = items[site.posts.state[items] == State.LIVE]
        site.flags.resolve_many(Target.POST, live, False, handler=NONE, time=now)

    def add_new_posts(self, first: np.ndarray, ids: np.ndarray, now: int) -> None:
        """New posts that need a look: first questions and first answers of new members, and late
        answers (to questions older than ``rules.late_answer_days``, from members with at most
        ``rules.late_answer_max_rep``), each to its queue."""
        posts, r = self.site.posts, self.site.settings.rules
        answers = ids[(posts.kind[ids] == PostType.ANSWER) & (posts.owner_rep[ids] <= r.late_answer_max_rep)]
        q_age = posts.created[answers] - posts.created[np.maximum(posts.parent[answers], 0)]
        late = answers[q_age >= r.late_answer_days * MINUTES_PER_DAY]
        if first.size == 0:
            self.late_answers.add(late, now)
            return
        is_q = posts.kind[first] == PostType.QUESTION
        self.first_questions.add(first[is_q], now)
        if late.size:
            self.late_answers.add(late, now)
            is_q |= np.isin(first, late)
        self.first_answers.add(first[~is_q], now)

    def step(self) -> None:
        """This tick's reviews in every queue, in a fixed order."""
        rng = self.site.streams["reviews"]
        now = self.site.clock.tick_end - 1
        self._suggested_edits_step(rng, now)
        self._close_step(rng, now)
        self._low_quality_step(rng, now)
        first_q, first_a = self._first_posts_capacity()
        self._first_look_step(self.first_questions, rng, now, first_q)
        self._first_look_step(self.first_answers, rng, now, first_a)
        self._first_look_step(self.late_answers, rng, now)
        self._reopen_step(rng, now)
        self._staging_step(rng, now)

    def _first_posts_capacity(self) -> tuple[int, int]:
        """This tick's reviews of first questions and of first answers. With
        ``rules.first_posts_one_queue`` (Stack Overflow in 2018) they are one queue: one capacity,
        shared in proportion to what waits in each."""
        fq, fa = self.first_questions, self.first_answers
        if not self.site.settings.rules.first_posts_one_queue:
            return fq.capacity(), fa.capacity()
        n = fq.capacity()
        waiting = fq.backlog + fa.backlog
        n_q = int(round(n * fq.backlog / waiting)) if waiting else n
        return n_q, n - n_q

    # -- the reviews of one tick ------------------------------------------------------------------
    def _valid(self, q: ReviewQueue, items: np.ndarray) -> np.ndarray:
        """Which taken items still need this queue's review."""
        site = self.site
        if q is self.suggested_edits:
            return (site.edits_table.state[items] == EditState.PENDING) & (
                site.posts.state[site.edits_table.post[items]] < State.DELETED)
        state = site.posts.state[items]
        if q is self.close:
            return state == State.LIVE
        if q is self.reopen:
            return state == State.CLOSED
        if q is self.low_quality:
            return state < State.DELETED
        if q is self.staging:
            return site.posts.staged[items]
        return state < State.HIDDEN

    def _draw_reviews(self, q: ReviewQueue, rng: np.random.Generator, now: int,
                      n: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This tick's reviews in ``q``: the items, their tasks and a reviewer each. Audits are
        slipped in among them, ``moderation.audit_share`` of the reviews, when there is something
        to review (not in the staging ground, whose reviewers are mentors). ``n``: the reviews
        available (default: the queue's capacity this tick)."""
        n = q.capacity() if n is None else n
        empty = np.zeros(0, dtype=np.int64)
        if n == 0 or q.backlog == 0:
            return empty, empty, empty
        items, tasks = q.take(n)
        valid = self._valid(q, items)
        self._complete(tasks[~valid], now, NONE, ReviewTaskState.INVALIDATED)
        items, tasks = items[valid], tasks[valid]
        who = self.reviewers.assign(q, rng, items.size)
        ok = who >= 0
        q.put_back(items[~ok], tasks[~ok])
        share = self.site.settings.moderation.audit_share
        n_audit = 0 if q is self.staging or not ok.any() else int(rng.binomial(int(ok.sum()), share / (1.0 - share)))
        if n_audit:
            self.reviewers.audit(q, rng, n_audit, now)
        return items[ok], tasks[ok], who[ok]

    def _record(self, q: ReviewQueue, tasks: np.ndarray, who: np.ndarray, acted: np.ndarray, now: int) -> np.ndarray:
        """One result per review; returns their ids."""
        q.reviews_total += tasks.size
        return self.site.review_results.append(
            tasks.size, task=tasks, queue=q.index, created=now, reviewer=who,
            result=np.where(acted, int(q.action_result), int(q.no_action_result)))

    def _complete(self, tasks: np.ndarray, now: int, by: np.ndarray | int,
                  state: ReviewTaskState = ReviewTaskState.COMPLETED) -> None:
        t = self.site.review_tasks
        t.state[tasks] = int(state)
        t.completed_at[tasks] = now
        t.completed_by[tasks] = by

    def _tally(self, q: ReviewQueue, items: np.ndarray, tasks: np.ndarray, acted: np.ndarray, results: np.ndarray,
               need_yes: int, need_no: int, finished: np.ndarray, now: int) -> tuple[np.ndarray, np.ndarray]:
        """Count this tick's reviews of items that need several; items decided (``need_yes``
        actions, ``need_no`` no-actions, or ``finished`` another way) complete their task, the
        rest go back in the queue. Returns the items decided by actions and by no-actions."""
        np.add.at(q.yes, items[acted], 1)
        np.add.at(q.no, items[~acted], 1)
        yes, no = q.yes[items] >= need_yes, q.no[items] >= need_no
        done = yes | no | finished
        self._complete(tasks[done], now, results[done])
        q.requeue(items[~done], tasks[~done])
        return items[yes & ~finished], items[no & ~yes & ~finished]

    # -- each queue's decisions -------------------------------------------------------------------
    def _suggested_edits_step(self, rng: np.random.Generator, now: int) -> None:
        """Suggested edits: reviewers approve or reject (the right call: reject an edit that does
        not improve the post); enough approvals apply it, enough rejections discard it."""
        site, q = self.site, self.suggested_edits
        items, tasks, who = self._draw_reviews(q, rng, now)
        if items.size == 0:
            return
        reject = self.reviewers.decide(rng, ~site.edits_table.improves[items], who)
        results = self._record(q, tasks, who, reject, now)
        k = site.settings.rules.suggested_edit_reviews_to_decide
        rejected, approved = self._tally(q, items, tasks, reject, results, k, k, np.zeros(items.size, bool), now)
        site.edits.reject(rejected, now)
        site.edits.apply(approved, now)

    def _close_step(self, rng: np.random.Generator, now: int) -> None:
        """Close votes: each review is one close vote or one leave-open. An item goes back in the
        queue until it closes, collects as many leave-open reviews as the close quorum, or its
        close votes age away, so a higher quorum needs more of the queue's limited reviews."""
        site, q, posts = self.site, self.close, self.site.posts
        items, tasks, who = self._draw_reviews(q, rng, now)
        if items.size == 0:
            return
        close = self.reviewers.decide(rng, posts.close_worthy[items], who)
        results = self._record(q, tasks, who, close, now)
        close_votes.cast(site, items[close], who[close], np.full(int(close.sum()), now), reviewed=True)
        finished = (posts.state[items] != State.LIVE) | self._aged(site.review_tasks.created[tasks], now)
        _, left_open = self._tally(q, items, tasks, close, results, _NO_LIMIT, site.policy.close_vote_threshold,
                                   finished, now)
        settled = np.concatenate([items[finished], left_open])
        site.flags.resolve_many(Target.POST, settled, posts.state[settled] == State.CLOSED, handler=NONE, time=now)

    def _reopen_step(self, rng: np.random.Generator, now: int) -> None:
        """Reopen votes: each review is one reopen vote or one leave-closed (the right call:
        reopen a question that is, now, neither close-worthy nor a duplicate). The item stays in
        the queue until it reopens or collects ``rules.reopen_reviews_to_leave_closed``."""
        site, q, posts = self.site, self.reopen, self.site.posts
        items, tasks, who = self._draw_reviews(q, rng, now)
        if items.size == 0:
            return
        reopen = self.reviewers.decide(rng, ~(posts.close_worthy[items] | posts.duplicate[items]), who)
        results = self._record(q, tasks, who, reopen, now)
        close_votes.reopen_votes(site, items[reopen], who[reopen], np.full(int(reopen.sum()), now))
        self._tally(q, items, tasks, reopen, results, _NO_LIMIT, site.settings.rules.reopen_reviews_to_leave_closed,
                    posts.state[items] != State.CLOSED, now)

    def _low_quality_step(self, rng: np.random.Generator, now: int) -> None:
        """Low quality posts: recommend deletion or looks OK (the right call: delete junk and
        harm); the majority of ``rules.low_quality_reviews_to_delete`` reviews decides."""
        site, q = self.site, self.low_quality
        items, tasks, who = self._draw_reviews(q, rng, now)
        if items.size == 0:
            return
        bad = site.flags.truth_bad(Target.POST, items, np.full(items.size, FlagKind.VERY_LOW_QUALITY))
        delete = self.reviewers.decide(rng, bad, who)
        results = self._record(q, tasks, who, delete, now)
        majority = site.settings.rules.low_quality_reviews_to_delete // 2 + 1
        deleted, kept = self._tally(q, items, tasks, delete, results, majority, majority, np.zeros(items.size, bool),
                                    now)
        removal.remove_posts(site, deleted, Cause.REVIEW, now, delete=True)
        site.flags.resolve_many(Target.POST, kept, False, handler=NONE, time=now)

    def _first_look_step(self, q: ReviewQueue, rng: np.random.Generator, now: int, n: int | None = None) -> None:
        """First questions, first answers and late answers: one review each. The right call is to
        act on spam and abuse (flag it), close-worthy questions (send a share to the close queue)
        and junk answers (send them to the low-quality queue); otherwise no action needed."""
        site, posts, m = self.site, self.site.posts, self.site.settings.moderation
        items, tasks, who = self._draw_reviews(q, rng, now, n)
        if items.size == 0:
            return
        harmful = (posts.harm[items] == Harm.SPAM) | (posts.harm[items] == Harm.ABUSIVE)
        is_q = posts.kind[items] == PostType.QUESTION
        junk = low_quality(posts.quality[items], posts.correct[items], posts.kind[items],
                           site.settings.population.low_quality_threshold) & ~is_q
        act = self.reviewers.decide(rng, harmful | (is_q & posts.close_worthy[items]) | junk, who)
        self._complete(tasks, now, self._record(q, tasks, who, act, now))
        spot = act & harmful
        if spot.any():
            kinds = np.where(posts.harm[items[spot]] == Harm.SPAM, FlagKind.SPAM, FlagKind.RUDE)
            site.flags.raise_user_flags(Target.POST, items[spot], who[spot], kinds, np.full(int(spot.sum()), now))
        cw = act & ~harmful & is_q & posts.close_worthy[items] & (rng.random(items.size) < m.first_posts_close_share)
        self.close.add(items[cw], now)
        self.low_quality.add(items[act & ~harmful & junk], now)

    def _staging_step(self, rng: np.random.Generator, now: int) -> None:
        """Staging ground: first questions are reviewed before going public; reviewers help the
        asker fix unclear questions, point duplicates to the original and remove spam."""
        site, posts, pol = self.site, self.site.posts, self.site.policy
        acc = site.settings.moderation.reviewer_accuracy
        q = self.staging
        ps, tasks, who = self._draw_reviews(q, rng, now)
        # questions whose wait ran out go public unreviewed
        if q.backlog:
            overdue = now - q.times > pol.staging_hours * MINUTES_PER_HOUR
            if overdue.any():
                late, late_tasks = q.drop_where(overdue)
                self._complete(late_tasks, now, NONE, ReviewTaskState.INVALIDATED)
                self._publish(late, now)
        if ps.size == 0:
            return
        spam = (posts.harm[ps] > 0) & (rng.random(ps.size) < acc)
        dup = ~spam & posts.duplicate[ps] & (rng.random(ps.size) < acc)
        self._complete(tasks, now, self._record(q, tasks, who, spam | dup, now))
        removal.remove_posts(site, ps[spam | dup], Cause.STAGING, now, delete=True)
        ps = ps[~(spam | dup)]
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
