"""Elected moderators working the flag queue a few hours a day."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import close_votes, removal, sanctions
from sim.clock import DAYS_PER_WEEK, HOURS_PER_DAY, MINUTES_PER_HOUR
from sim.population import Kind
from sim.store import MODERATOR_ID_BASE, NONE, Cause, Closer, FlagKind, Harm, Source, StaffCase, State, Target

if TYPE_CHECKING:
    from agents.model import Site


class FlagDesk:
    """Someone who decides flagged items: a moderator, or staff taking the queue's overflow.

    Attributes:
        site: The model.
        draws: The decider's own random stream.
        handler: Code of the decider in the tables' ``handler`` and ``actor`` columns.
        cause: Removal cause recorded on what the decider removes.
    """

    cause = Cause.MODERATOR

    def __init__(self, site: Site, draws: np.random.Generator, handler: int) -> None:
        self.site = site
        self.draws = draws
        self.handler = handler

    def work(self, budget: float, max_priority: int | None = None) -> float:
        """Decide flagged items, highest priority first, for up to ``budget`` minutes (only items of
        priority ``max_priority`` or more urgent, if given); returns the minutes left (at most 0
        once an item was started that the budget could not cover)."""
        site = self.site
        cfg = site.settings.moderation.moderators
        clock = site.clock
        spent = 0.0  # minutes into this tick: each decision is stamped when it is made
        while budget > 0:
            nxt = site.flags.take(max_priority)
            if nxt is None:
                return min(budget, 0.0)
            cost = float(self.draws.exponential(cfg.minutes_per_decision))
            budget -= cost
            spent += cost
            self.on_minutes(cost)
            at = clock.minute + min(int(spent), clock.tick_minutes - 1)
            self.decide(*nxt, max(at, nxt[2]))
        return budget

    def on_minutes(self, minutes: float) -> None:
        """Minutes spent on one decision (moderators count them; staff do not)."""

    def decide(self, target: int, item: int, queued_at: int, now: int) -> None:
        """Act on one flagged item at minute ``now``: remove it and sanction its author, or decline
        the flags. Every flag settled here counts as moderator handling."""
        site = self.site
        cfg = site.settings.moderation.moderators
        kinds = site.flags.kinds_of(target, item)
        kind = FlagKind(kinds[0]) if kinds else FlagKind.NEEDS_MODERATOR
        truth = bool(site.flags.truth_bad(target, np.array([item]), np.array([int(kind)]))[0])
        author = int(site.posts.owner[item] if target == Target.POST else site.comments.author[item])
        err = cfg.error_rate * (1.0 if site.users.native(author) else cfg.error_multiplier_non_native)
        correct = self.draws.random() >= err
        act = truth if correct else not truth
        cause_flag = site.flags.first_flag_id(target, item)
        site.counters["mod_decisions"] += 1
        if not act:
            by_detector = Source.SPAM_DETECTOR in site.flags.sources_of(target, item)
            site.flags.resolve(target, item, helpful=False, handler=self.handler, time=now)
            if target == Target.POST and site.posts.state[item] >= State.HIDDEN and self._undeletes(truth, by_detector):
                removal.restore_posts(site, np.array([item]), now, handler=self.handler)
            return
        wrongful = not truth
        if target == Target.POST and kind == FlagKind.SHOULD_CLOSE:
            close_votes.close(site, np.array([item]), now, Closer.MODERATOR)
            site.flags.resolve(target, item, helpful=True, handler=self.handler, time=now)
            return
        if target == Target.POST:
            removal.remove_posts(site, np.array([item]), self.cause, now, delete=True,
                                 penalty=kind in (FlagKind.SPAM, FlagKind.RUDE), handler=self.handler)
            harm = int(site.posts.harm[item])
        else:
            removal.remove_comments(site, np.array([item]), self.cause, now, handler=self.handler)
            harm = int(site.comments.harm[item])
        site.flags.resolve(target, item, helpful=True, handler=self.handler, time=now)
        if cause_flag == NONE or site.users.destroyed[author]:
            return
        self.sanction(author, harm, kind, cause_flag, wrongful)

    def sanction(self, author: int, harm: int, kind: FlagKind, cause_flag: int, wrongful: bool) -> None:
        site = self.site
        users = site.users
        cfg = site.settings.moderation.moderators
        if wrongful:
            if kind in (FlagKind.SPAM, FlagKind.RUDE) and self.draws.random() < cfg.wrongful_suspension_prob:
                sanctions.suspend(site, author, self.handler, Source.MODERATOR, cause_flag=cause_flag, wrongful=True)
            return
        if harm == Harm.SPAM:
            if users.kind[author] == Kind.SPAMMER or users.reputation[author] < cfg.destroy_spammer_below_rep:
                sanctions.destroy(site, author, self.handler, Source.MODERATOR, cause_flag=cause_flag)
            else:
                sanctions.suspend(site, author, self.handler, Source.MODERATOR, cause_flag=cause_flag)
        elif harm in (Harm.ABUSIVE, Harm.HARASSMENT):
            if users.suspended_until[author] <= site.clock.minute:
                sanctions.suspend(site, author, self.handler, Source.MODERATOR, cause_flag=cause_flag)
            if harm == Harm.HARASSMENT and self.draws.random() < site.settings.moderation.moderators.escalation_prob:
                site.escalate(StaffCase.THREAT, user=author, cause_flag=cause_flag)
        elif harm == Harm.WRONG_AI and site.policy.ai_answer_ban:
            if users.suspended_until[author] <= site.clock.minute:
                sanctions.suspend(site, author, self.handler, Source.MODERATOR, cause_flag=cause_flag,
                                  days=site.policy.ai_ban_suspend_days)

    def _undeletes(self, harmful: bool, by_detector: bool) -> bool:
        """Whether declining the flags on a hidden or deleted post also undeletes it. Declining
        leaves the post as it was; the decider undeletes what the flags removed wrongly (with
        ``undelete_wrongful_prob``) and, by mistake, harmful content only rarely
        (``undelete_mistaken_prob``, less again for what the spam detector also flagged)."""
        cfg = self.site.settings.moderation.moderators
        if not harmful:
            p = cfg.undelete_wrongful_prob
        else:
            p = cfg.undelete_mistaken_prob
            if by_detector:
                p *= cfg.undelete_detector_flagged_factor
        return bool(self.draws.random() < p)


class Moderator(FlagDesk, mesa.Agent):
    """An elected moderator working the flag queue a few hours a day.

    Mesa gives each moderator its ``unique_id``; in the flags and actions tables a moderator's
    decisions carry its :attr:`handler` code instead.

    Attributes:
        index: Order of election (0 for the first moderator); names the moderator's random stream.
        handler: Code of this moderator in the tables' ``handler`` and ``actor`` columns
            (``MODERATOR_ID_BASE - index``: negative, below every removal cause).
        minutes_per_day: Time this moderator gives the site each day.
        tz: Hour offset; decides when the moderator is online.
        start_hour: Local hour the moderator's session starts.
        strike_draw, urgent_draw: This moderator's standing draws (own stream: the same in every
            arm). A strike of share ``s`` stops the ``round(s x n)`` of the ``n`` moderators with the
            lowest strike draws, and of those the ``round(u x k)`` of the ``k`` strikers with the
            lowest urgent draws keep handling urgent flags (``u``: ``policy.strike_urgent_share``).
        resigned: Whether the moderator has stepped down.
        minutes_today: Minutes spent on the queue today.
        overload_days: Consecutive days the queue exceeded what moderators can handle.
    """

    def __init__(self, model: Site, index: int, tz: float) -> None:
        mesa.Agent.__init__(self, model)
        FlagDesk.__init__(self, model, model.streams[f"moderator:{index}"], MODERATOR_ID_BASE - index)
        cfg = model.settings.moderation.moderators
        self.index = index
        self.minutes_per_day = float(cfg.minutes_per_day * self.draws.lognormal(0.0, cfg.minutes_spread))
        self.tz = tz
        self.start_hour = float(self.draws.integers(0, HOURS_PER_DAY))
        self.strike_draw, self.urgent_draw = model.streams[f"moderator_strike:{index}"].random(2)
        self.resigned = False
        self.minutes_today = 0.0
        self.overload_days = 0
        self._budget = 0.0

    def online(self) -> bool:
        cfg = self.site.settings.moderation.moderators
        h = (self.site.clock.local_hour(self.tz) - self.start_hour) % HOURS_PER_DAY
        return h < cfg.online_hours

    def striking(self) -> bool:
        """Whether this moderator is on strike now: one of the ``round(share x n)`` moderators with
        the lowest strike draws. A count, not a draw against the share per moderator, so a strike
        of a given share stops the same number of moderators on every seed (with a site's few
        moderators, a per-moderator draw makes the strike a lottery: on the small site's two, share
        0.8 would stop neither on 4% of seeds and one on 32%); a larger share adds strikers
        without reshuffling the others."""
        share = self.site.policy.moderator_strike_share
        if share <= 0.0:
            return False
        return _rank(self, self.site.moderators, "strike_draw") < _count(share, len(self.site.moderators))

    def urgent_only(self) -> bool:
        """Whether this striking moderator still handles the urgent flags: one of the
        ``round(urgent_share x k)`` of the ``k`` strikers with the lowest urgent draws."""
        share = self.site.policy.strike_urgent_share
        if share <= 0.0:
            return False
        strikers = [m for m in self.site.moderators if m.striking()]
        return _rank(self, strikers, "urgent_draw") < _count(share, len(strikers))

    def step(self) -> None:
        site = self.site
        if self.resigned or not self.online():
            return
        cfg = site.settings.moderation.moderators
        max_priority = None
        if self.striking():
            if not self.urgent_only():
                return
            max_priority = cfg.strike_urgent_priority  # on strike, but still handling the urgent flags
        self._budget += self.minutes_per_day / cfg.online_hours * site.clock.tick_minutes / MINUTES_PER_HOUR
        self._budget = self.work(self._budget, max_priority)

    def on_minutes(self, minutes: float) -> None:
        self.minutes_today += minutes

    def new_day(self) -> None:
        """Start the day's tallies afresh (after the daily recorder has read them)."""
        self.minutes_today = 0.0

    def end_day(self, overloaded: bool) -> bool:
        """Daily bookkeeping; returns True if the moderator resigns today (burnout)."""
        cfg = self.site.settings.moderation.moderators
        self.overload_days = self.overload_days + 1 if overloaded else max(0, self.overload_days - 1)
        if self.overload_days >= cfg.burnout_weeks * DAYS_PER_WEEK:
            if self.draws.random() < 1 - (1 - cfg.resignation_prob_per_week) ** (1 / DAYS_PER_WEEK):
                self.resigned = True
                return True
        return False


def _count(share: float, n: int) -> int:
    """``share`` of ``n``, rounded half up."""
    return int(math.floor(share * n + 0.5))


def _rank(moderator: Moderator, among, draw: str) -> int:
    """How many of ``among`` come before ``moderator`` by their ``draw`` (then by election order)."""
    key = (getattr(moderator, draw), moderator.index)
    return sum(1 for m in among if (getattr(m, draw), m.index) < key)
