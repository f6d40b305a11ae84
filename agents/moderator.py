"""Elected moderators working the flag queue a few hours a day."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import close_votes, removal, sanctions
from sim.clock import DAYS_PER_WEEK, HOURS_PER_DAY, MINUTES_PER_HOUR
from sim.population import Kind
from sim.store import MODERATOR_ID_BASE, NONE, Cause, Closer, FlagKind, Harm, Source, StaffCase, State, Target

if TYPE_CHECKING:
    from agents.model import Site


class Moderator(mesa.Agent):
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
        resigned: Whether the moderator has stepped down.
        minutes_today: Minutes spent on the queue today.
        overload_days: Consecutive days the queue exceeded what moderators can handle.
    """

    def __init__(self, model: Site, index: int, tz: float) -> None:
        super().__init__(model)
        self.site = model
        cfg = model.settings.moderation.moderators
        self.index = index
        self.handler = MODERATOR_ID_BASE - index
        self.draws = model.streams[f"moderator:{index}"]
        self.minutes_per_day = float(cfg.minutes_per_day * self.draws.lognormal(0.0, cfg.minutes_spread))
        self.tz = tz
        self.start_hour = float(self.draws.integers(0, HOURS_PER_DAY))
        self.resigned = False
        self.minutes_today = 0.0
        self.overload_days = 0
        self._budget = 0.0

    def online(self) -> bool:
        cfg = self.site.settings.moderation.moderators
        h = (self.site.clock.local_hour(self.tz) - self.start_hour) % HOURS_PER_DAY
        return h < cfg.online_hours

    def step(self) -> None:
        site = self.site
        if self.resigned or site.policy.moderators_on_strike or not self.online():
            return
        cfg = site.settings.moderation.moderators
        self._budget += self.minutes_per_day / cfg.online_hours * site.clock.tick_minutes / MINUTES_PER_HOUR
        clock = site.clock
        spent = 0.0  # minutes into this tick: each decision is stamped when it is made
        while self._budget > 0:
            nxt = site.flags.take()
            if nxt is None:
                self._budget = min(self._budget, 0.0)
                break
            cost = float(self.draws.exponential(cfg.minutes_per_decision))
            self._budget -= cost
            self.minutes_today += cost
            spent += cost
            at = clock.minute + min(int(spent), clock.tick_minutes - 1)
            self.decide(*nxt, max(at, nxt[2]))

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
            site.flags.resolve(target, item, helpful=False, handler=self.handler, time=now)
            if target == Target.POST and site.posts.state[item] >= State.HIDDEN:
                removal.restore_posts(site, np.array([item]), now)  # undo what red flags hid or deleted wrongly
            return
        wrongful = not truth
        if target == Target.POST and kind == FlagKind.SHOULD_CLOSE:
            close_votes.close(site, np.array([item]), now, Closer.MODERATOR)
            site.flags.resolve(target, item, helpful=True, handler=self.handler, time=now)
            return
        if target == Target.POST:
            removal.remove_posts(site, np.array([item]), Cause.MODERATOR, now, delete=True,
                                 penalty=kind in (FlagKind.SPAM, FlagKind.RUDE), handler=self.handler)
            harm = int(site.posts.harm[item])
        else:
            removal.remove_comments(site, np.array([item]), Cause.MODERATOR, now, handler=self.handler)
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

