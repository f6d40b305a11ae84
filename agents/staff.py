"""Community managers and trust & safety staff: escalations, fraud investigations, appeals."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import mesa
import numpy as np

from agents.moderator import FlagDesk
from sim import removal, sanctions, voting
from sim.clock import MINUTES_PER_HOUR
from sim.store import NONE, Cause, Source, StaffCase, State, Target

if TYPE_CHECKING:
    from agents.model import Site


class StaffDesk(FlagDesk):
    """Staff deciding items from the moderator flag queue (a strike's overflow): decisions as a
    moderator makes them, recorded with the handler code ``-Cause.STAFF``."""

    cause = Cause.STAFF


class Staff(mesa.Agent):
    """The staff team as one agent with a shared case queue and finite minutes per day.

    Attributes:
        cases: Open cases (each a :class:`~sim.store.StaffCase` and its details) in arrival order.
        minutes_per_day: Team capacity.
        desk: Staff deciding flagged items, when a lever gives them minutes for the flag queue.
    """

    def __init__(self, model: Site) -> None:
        super().__init__(model)
        self.site = model
        cfg = model.settings.moderation.staff
        self.minutes_per_day = cfg.minutes_per_day * cfg.count
        self.cases: deque[dict] = deque()
        self.draws = model.streams["staff"]
        self._budget = 0.0
        self.desk = StaffDesk(model, model.streams["staff_flags"], -int(Cause.STAFF))
        self._flag_budget = 0.0

    def open_case(self, kind: StaffCase, **details: int) -> None:
        """Queue a case, and record it in ``site.staff_cases``."""
        site = self.site
        row = site.staff_cases.append(1, created=site.clock.minute, kind=int(kind), **details)
        self.cases.append({"kind": kind, "opened": site.clock.minute, "case": int(row[0]), **details})

    def step(self) -> None:
        site = self.site
        cfg = site.settings.moderation.staff
        hour = site.clock.local_hour(cfg.tz)
        if not (cfg.start_hour <= hour < cfg.start_hour + cfg.hours) or self.minutes_per_day <= 0:
            return
        self._budget += self.minutes_per_day / cfg.hours * site.clock.tick_minutes / MINUTES_PER_HOUR
        if site.policy.staff_flag_minutes_per_day > 0:  # the flag queue's overflow (a strike)
            self._flag_budget += site.policy.staff_flag_minutes_per_day / cfg.hours * site.clock.tick_minutes / MINUTES_PER_HOUR
            self._flag_budget = self.desk.work(self._flag_budget)
        cost = cfg.minutes_per_case
        while self.cases and self._budget >= cost:
            self._budget -= cost
            self.handle(self.cases.popleft())
        if not self.cases:
            self._budget = min(self._budget, cost)

    def handle(self, case: dict) -> None:
        site = self.site
        site.staff_cases.handled_at[case["case"]] = site.clock.minute
        cfg = site.settings.moderation.staff
        kind, user = case["kind"], int(case["user"])
        if kind is StaffCase.THREAT:
            sanctions.suspend(site, user, NONE, Source.MODERATOR, cause_flag=case.get("cause_flag", NONE),
                              days=cfg.threat_suspension_days)
        elif kind is StaffCase.VOTING_FRAUD:
            votes = site.votes
            mine = np.flatnonzero((votes.voter[: votes.n] == user) & votes.fraud[: votes.n] & ~votes.reversed[: votes.n])
            voting.reverse_votes(site, mine)
            if not site.users.destroyed[user]:
                sanctions.suspend(site, user, NONE, Source.MODERATOR, cause_detection=case.get("cause_detection", NONE),
                                  days=cfg.fraud_suspension_days)
        elif kind is StaffCase.APPEAL:
            site.staff_cases.upheld[case["case"]] = self.appeal(int(case["action"]))

    def appeal(self, action_id: int) -> bool:
        """Review an appealed sanction; an upheld appeal lifts it and restores removed content.
        Returns whether the appeal was upheld."""
        site = self.site
        a = site.actions
        acc = site.settings.moderation.staff.appeal_accuracy
        wrongful = bool(a.wrongful[action_id])
        uphold = (self.draws.random() < acc) if wrongful else (self.draws.random() > acc)
        if not uphold:
            return False
        site.counters["appeals_upheld"] += 1  # read per day by the daily recorder
        sanctions.lift(site, action_id, NONE)
        flag = int(a.cause_flag[action_id])
        if flag != NONE and site.flags_table.target[flag] == Target.POST:
            post = int(site.flags_table.item[flag])
            if site.posts.state[post] == State.DELETED and site.posts.harm[post] == 0:
                removal.restore_posts(site, np.array([post]), site.clock.minute, handler=-int(Cause.STAFF))
        return True

