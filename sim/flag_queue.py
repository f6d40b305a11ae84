"""Flags: the allowance and flag bans, red-flag thresholds, routing, and the moderator flag queue."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np

from sim import removal
from sim.clock import MINUTES_PER_DAY
from sim.store import (
    NONE,
    Cause,
    FlagKind,
    FlagStatus,
    Source,
    State,
    Target,
    Tone,
    first_occurrence,
    low_quality,
    threshold_crossings,
    unique_ids,
)

if TYPE_CHECKING:
    from agents.model import Site

RED = (FlagKind.SPAM, FlagKind.RUDE)
LOW_QUALITY = (FlagKind.NOT_AN_ANSWER, FlagKind.VERY_LOW_QUALITY)
RED_DELETION = (Cause.COMMUNITY_FLAGS, Cause.SPAM_DETECTOR)
PRIORITY = {FlagKind.SPAM: 0, FlagKind.RUDE: 0, FlagKind.COMMENT_HARASSMENT: 1, FlagKind.NEEDS_MODERATOR: 1,
            FlagKind.COMMENT_UNFRIENDLY: 2, FlagKind.SHOULD_CLOSE: 3, FlagKind.NOT_AN_ANSWER: 3,
            FlagKind.VERY_LOW_QUALITY: 3}
_IS_RED = np.zeros(len(FlagKind) + 1, dtype=bool)
_IS_RED[list(RED)] = True
_IS_LOW_QUALITY = np.zeros(len(FlagKind) + 1, dtype=bool)
_IS_LOW_QUALITY[list(LOW_QUALITY)] = True
CAUSE_OF_SOURCE = {Source.USER: Cause.COMMUNITY_FLAGS, Source.SPAM_DETECTOR: Cause.SPAM_DETECTOR,
                   Source.CIVILITY_CLASSIFIER: Cause.CIVILITY_CLASSIFIER, Source.AI_DETECTOR: Cause.AI_DETECTOR,
                   Source.MODERATOR: Cause.MODERATOR}


class FlagQueue:
    """Every flag on the site, and the queue of flagged items waiting for a moderator.

    Attributes:
        pending: ``(target, item)`` -> ids of flags not yet resolved.
        queued_at: ``(target, item)`` -> minute the item entered the moderator queue.
    """

    def __init__(self, site: Site) -> None:
        self.site = site
        self.pending: dict[tuple[int, int], list[int]] = {}
        self.queued_at: dict[tuple[int, int], int] = {}
        self._heap: list[tuple[int, int, int, int]] = []

    # -- truth -------------------------------------------------------------------------------
    def truth_bad(self, target: int, items: np.ndarray, kinds: np.ndarray) -> np.ndarray:
        """Whether each flagged item really deserves the flag's action (ground truth)."""
        site = self.site
        if target == Target.COMMENT:
            return site.comments.tone[items] >= Tone.UNWELCOMING
        posts = site.posts
        harm = posts.harm[items]
        low = low_quality(posts.quality[items], posts.correct[items], posts.kind[items],
                          site.settings.population.low_quality_threshold)
        kinds = np.asarray(kinds)
        harmful = harm > 0
        return np.where(_IS_LOW_QUALITY[kinds], low | harmful,
                        np.where(kinds == FlagKind.SHOULD_CLOSE, posts.close_worthy[items] | harmful, harmful))

    # -- raising flags -----------------------------------------------------------------------
    def allowance(self, users: np.ndarray) -> np.ndarray:
        r = self.site.settings.rules
        bonus = (self.site.users.flags_helpful[users] // 10) * r.flag_allowance_bonus_per_10_helpful
        return np.minimum(r.flag_allowance + bonus, r.flag_allowance_max)

    def raise_user_flags(self, target: int, items: np.ndarray, flaggers: np.ndarray, kinds: np.ndarray,
                         times: np.ndarray) -> np.ndarray:
        """Flags from members: privilege, flag ban and daily allowance enforced; a close flag from a
        user who can vote to close becomes a close vote."""
        site, users = self.site, self.site.users
        flaggers = np.asarray(flaggers, dtype=np.int64)
        kinds = np.asarray(kinds)
        now = site.clock.minute
        ok = (flaggers >= 0)
        f = np.maximum(flaggers, 0)
        ok &= users.reputation[f] >= site.settings.rules.priv_flag
        ok &= users.can_act(f, now) & (users.flag_banned_until[f] <= now)
        if target == Target.POST:
            ok &= site.posts.owner[items] != flaggers
        else:
            ok &= site.comments.author[items] != flaggers
        ok &= first_occurrence(flaggers * (1 << 32) + items)
        ok &= users.flags_today[f] < self.allowance(f)
        items, flaggers, kinds, times = items[ok], flaggers[ok], kinds[ok], np.asarray(times)[ok]
        if items.size == 0:
            return items
        if target == Target.POST:
            as_vote = (kinds == FlagKind.SHOULD_CLOSE) & (users.reputation[flaggers] >= site.policy.priv_close_vote)
            if as_vote.any():
                from sim import close_votes
                close_votes.cast(site, items[as_vote], flaggers[as_vote], times[as_vote])
                items, flaggers, kinds, times = items[~as_vote], flaggers[~as_vote], kinds[~as_vote], times[~as_vote]
        np.add.at(users.flags_today, flaggers, 1)
        users.touch(flaggers, times)
        return self.record(target, items, flaggers, Source.USER, kinds, times)

    def raise_bot_flags(self, target: int, items: np.ndarray, source: Source, kind: FlagKind, times: np.ndarray,
                        copies: int = 1) -> np.ndarray:
        """Automatic flags from a detector (``copies`` flags per item, as SmokeDetector casts several)."""
        items = np.repeat(np.asarray(items, dtype=np.int64), copies)
        times = np.repeat(np.asarray(times, dtype=np.int64), copies)
        return self.record(target, items, np.full(items.size, NONE), source, np.full(items.size, int(kind)), times)

    def record(self, target: int, items: np.ndarray, flaggers: np.ndarray, source: Source, kinds: np.ndarray,
               times: np.ndarray) -> np.ndarray:
        """Store flags and apply their effects: thresholds, review queues, the moderator queue."""
        site = self.site
        if items.size == 0:
            return items
        table = site.posts if target == Target.POST else site.comments
        times = np.maximum(times, table.created[items] + 1)
        truth = self.truth_bad(target, items, kinds)
        ids = site.flags_table.append(items.size, target=int(target), item=items, flagger=flaggers, source=int(source),
                                      kind=kinds, created=times, truth_bad=truth)
        if source == Source.USER:
            cur = table.first_flag_at[items]
            table.first_flag_at[items] = np.where(cur == NONE, times, np.minimum(cur, times))
        for fid, item in zip(ids.tolist(), items.tolist(), strict=True):
            self.pending.setdefault((int(target), item), []).append(fid)
        if target == Target.POST:
            self._post_effects(items, kinds, source, times)
        else:
            self._comment_effects(items, kinds, source, times)
        return ids

    def _post_effects(self, items, kinds, source, times) -> None:
        site, posts, pol = self.site, self.site.posts, self.site.policy
        red = _IS_RED[kinds]
        if red.any():
            r_items = items[red]
            np.add.at(posts.red_flags, r_items, 1)
            cause = CAUSE_OF_SOURCE.get(Source(source), Cause.COMMUNITY_FLAGS)
            r_times = times[red]
            # hidden and deleted at the minute of the deciding flag
            hide, hide_at = threshold_crossings(r_items, r_times, posts.red_flags, pol.red_flags_to_hide)
            keep = posts.state[hide] < State.HIDDEN
            removal.remove_posts(site, hide[keep], cause, hide_at[keep], delete=False)
            kill, kill_at = threshold_crossings(r_items, r_times, posts.red_flags, pol.red_flags_to_delete)
            keep = posts.state[kill] < State.DELETED
            kill, kill_at = kill[keep], kill_at[keep]
            gone = np.isin(kill, removal.remove_posts(site, kill, cause, kill_at, delete=True, penalty=True))
            site.auto_suspensions.on_red_flag_deletions(kill[gone], kill_at[gone])
        lq = _IS_LOW_QUALITY[kinds]
        if lq.any():
            site.review.low_quality.add(unique_ids(items[lq]), site.clock.minute)
        # close flags go to the close review queue; a share is handled by moderators instead
        close = kinds == FlagKind.SHOULD_CLOSE
        rng = site.streams["flag_routing"]
        close_to_mods = close & (rng.random(kinds.size) < site.settings.moderation.moderators.handles_close_flags_share)
        if (close & ~close_to_mods).any():
            site.review.close.add(unique_ids(items[close & ~close_to_mods]), site.clock.minute)
        to_mods = red | (kinds == FlagKind.NEEDS_MODERATOR) | close_to_mods
        for item, kind, t in zip(items[to_mods].tolist(), kinds[to_mods].tolist(), times[to_mods].tolist(), strict=True):
            self._enqueue(Target.POST, item, PRIORITY[FlagKind(kind)], t)

    def _comment_effects(self, items, kinds, source, times) -> None:
        site, comments = self.site, self.site.comments
        np.add.at(comments.flags, items, 1)
        gone, gone_at = threshold_crossings(items, times, comments.flags, site.settings.rules.comment_flags_to_delete)
        keep = comments.removed_at[gone] == NONE
        removal.remove_comments(site, gone[keep], CAUSE_OF_SOURCE.get(Source(source), Cause.COMMUNITY_FLAGS),
                                gone_at[keep])
        for item, kind, t in zip(items.tolist(), kinds.tolist(), times.tolist(), strict=True):
            if comments.removed_at[item] == NONE:
                self._enqueue(Target.COMMENT, item, PRIORITY[FlagKind(kind)], t)

    def _enqueue(self, target: int, item: int, priority: int, time: int) -> None:
        key = (int(target), int(item))
        if key in self.queued_at:
            return
        self.queued_at[key] = time
        heapq.heappush(self._heap, (priority, time, int(target), int(item)))

    # -- the moderator queue -----------------------------------------------------------------
    def take(self, max_priority: int | None = None) -> tuple[int, int, int] | None:
        """Next item for a moderator: highest priority, oldest first (only of priority
        ``max_priority`` or more urgent, if given). Returns (target, item, queued_at)."""
        while self._heap:
            if max_priority is not None and self._heap[0][0] > max_priority:
                return None
            _, t, target, item = heapq.heappop(self._heap)
            key = (target, item)
            if key in self.queued_at and self.queued_at[key] == t:
                del self.queued_at[key]
                if self._still_actionable(target, item):
                    return target, item, t
                self.resolve(target, item, helpful=True, handler=NONE, time=self.site.clock.minute)
        return None

    def _still_actionable(self, target: int, item: int) -> bool:
        """Visible content, or content deleted by red flags that awaits a moderator's review."""
        if target == Target.POST:
            posts = self.site.posts
            return bool(posts.state[item] < State.DELETED or posts.removal_cause[item] in RED_DELETION)
        return self.site.comments.removed_at[item] == NONE

    @property
    def backlog(self) -> int:
        """Items waiting for a moderator."""
        return len(self.queued_at)

    def kinds_of(self, target: int, item: int) -> list[int]:
        """Flag kinds pending on an item."""
        return [int(self.site.flags_table.kind[f]) for f in self.pending.get((target, item), [])]

    def sources_of(self, target: int, item: int) -> list[int]:
        """Who raised the flags pending on an item (:class:`~sim.store.Source` codes)."""
        return [int(self.site.flags_table.source[f]) for f in self.pending.get((target, item), [])]

    def first_flag_id(self, target: int, item: int) -> int:
        ids = self.pending.get((target, item))
        return ids[0] if ids else NONE

    def resolve(self, target: int, item: int, helpful: bool, handler: int, time: int,
                keep_queued: bool = False) -> None:
        """Mark an item's unresolved flags helpful or declined; a flagger whose declined share passes
        the limit is flag-banned.

        With ``keep_queued`` (content deleted by red flags) the item stays in the moderator queue so
        a moderator still reviews it: to sanction the author, or to undelete a wrongful deletion.
        """
        self.resolve_many(target, np.array([item]), helpful, handler, time, keep_queued)

    def resolve_many(self, target: int, items: np.ndarray, helpful: np.ndarray | bool, handler: int,
                     time: np.ndarray | int, keep_queued: bool = False) -> None:
        """:meth:`resolve` for many items at once (``helpful`` and ``time`` per item or for all)."""
        if np.size(items) == 0:
            return
        items = np.asarray(items, dtype=np.int64).tolist()
        helpful = np.asarray(helpful, dtype=bool)
        helpful = helpful.tolist() if helpful.ndim else [bool(helpful)] * len(items)
        time = np.asarray(time, dtype=np.int64)
        time = time.tolist() if time.ndim else [int(time)] * len(items)
        t = int(target)
        pending, queued_at = self.pending, self.queued_at
        flags: list[int] = []
        verdict: list[bool] = []
        when: list[int] = []
        for item, ok, at in zip(items, helpful, time, strict=True):
            key = (t, item)
            ids = pending.get(key) if keep_queued else pending.pop(key, None)
            if not keep_queued:
                queued_at.pop(key, None)
            if ids:
                flags.extend(ids)
                verdict.extend([ok] * len(ids))
                when.extend([at] * len(ids))
        if flags:
            self._settle(np.array(flags, dtype=np.int64), np.array(verdict, dtype=bool), handler,
                         np.array(when, dtype=np.int64))

    def _settle(self, ids: np.ndarray, helpful: np.ndarray, handler: int, time: np.ndarray) -> None:
        site, users, r = self.site, self.site.users, self.site.settings.rules
        ft = site.flags_table
        open_ = ft.status[ids] == FlagStatus.PENDING
        ids, helpful, time = ids[open_], helpful[open_], time[open_]
        if ids.size == 0:
            return
        ft.status[ids] = np.where(helpful, FlagStatus.HELPFUL, FlagStatus.DECLINED)
        ft.handled_at[ids] = np.maximum(time, ft.created[ids])
        ft.handler[ids] = handler
        who = ft.flagger[ids].astype(np.int64)
        user_flag = who >= 0
        np.add.at(users.flags_helpful, who[user_flag & helpful], 1)
        declined = who[user_flag & ~helpful]
        if declined.size == 0:
            return
        np.add.at(users.flags_declined, declined, 1)
        total = users.flags_helpful[declined] + users.flags_declined[declined]
        ban = (total >= r.flag_ban_min_flags) & (users.flags_declined[declined] >= r.flag_ban_declined_share * total)
        users.flag_banned_until[declined[ban]] = time[user_flag & ~helpful][ban] + int(r.flag_ban_days * MINUTES_PER_DAY)
