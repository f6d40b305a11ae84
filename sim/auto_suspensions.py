"""Automatic suspensions: the site's own rules suspend accounts, no moderator involved.

Stack Overflow's yearly moderation figures count these apart, under its system account
("Community", user -1): in 2018, 1,269 users suspended by the system against 1,631 by moderators
(conf/calibration/stackoverflow_2018.yaml). Every automatic suspension here is an action with
source :attr:`~sim.store.Source.SYSTEM` and no actor, caused by a detection row of the same
source naming what triggered it. The rules (``moderation.auto_suspension``):

- **Repeated serial voting**: an account whose votes the serial-voting script reversed
  ``serial_voting_strikes`` times within ``strike_days`` is suspended for ``serial_voting_days``.
- **Repeated red-flag deletions**: an account with ``red_flag_deletions`` posts deleted by spam or
  rude flags (members' or the spam detector's) within ``strike_days`` is suspended for
  ``red_flag_days``.
- **Ban evasion**: an account a suspended or destroyed bad actor opened to come back on is
  recognised (SO suspends recreated accounts) with chance ``evasion_detection_prob`` by the end of
  its first day, and suspended for ``evasion_days``.

Question bans are not suspensions (:class:`sim.detectors.QuestionBan`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import TYPE_CHECKING

import numpy as np

from sim import sanctions
from sim.clock import MINUTES_PER_DAY
from sim.config import AutoSuspensionConfig
from sim.population import Kind
from sim.store import NONE, Source, Target

if TYPE_CHECKING:
    from agents.model import Site


class AutoSuspensions:
    """The site's automatic suspension rules.

    Attributes:
        cfg: The rules' configuration.
        strikes: Per account, the minutes of its recent strikes of each rule (serial voting, red-flag
            deletions), oldest first.
        evaders: Accounts opened today by bad actors coming back after a ban, to be checked tonight.
    """

    def __init__(self, site: Site, cfg: AutoSuspensionConfig) -> None:
        self.site = site
        self.cfg = cfg
        self.strikes: dict[tuple[str, int], deque[int]] = defaultdict(deque)
        self.evaders: list[int] = []

    def _strike(self, rule: str, user: int, at: int, needed: int) -> bool:
        """Count a strike; whether the account now has ``needed`` within the strike window."""
        times = self.strikes[(rule, user)]
        times.append(at)
        while times and times[0] <= at - self.cfg.strike_days * MINUTES_PER_DAY:
            times.popleft()
        if len(times) < needed:
            return False
        times.clear()  # a suspension starts the count afresh
        return True

    def _suspend(self, user: int, item: int, at: int, days: float, deserved: bool) -> None:
        site = self.site
        if site.users.destroyed[user] or site.users.suspended_until[user] > site.clock.minute:
            return
        det = site.detections.append(1, created=at, source=int(Source.SYSTEM), target=int(Target.USER), item=item,
                                     user=user, truth_bad=deserved)
        sanctions.suspend(site, user, NONE, Source.SYSTEM, cause_detection=int(det[0]), days=days,
                          wrongful=not deserved)

    def on_votes_reversed(self, voter: int, at: int, fraud: bool) -> None:
        """The serial-voting script reversed ``voter``'s votes (``fraud``: they really were)."""
        cfg = self.cfg
        if cfg.enabled and self._strike("serial_voting", voter, at, cfg.serial_voting_strikes):
            self._suspend(voter, voter, at, cfg.serial_voting_days, fraud)

    def on_red_flag_deletions(self, posts_: np.ndarray, times: np.ndarray) -> None:
        """Posts just deleted by spam or rude flags, at the minutes of the deciding flags."""
        cfg, posts = self.cfg, self.site.posts
        if not cfg.enabled:
            return
        for post, at in zip(posts_.tolist(), times.tolist(), strict=True):
            owner = int(posts.owner[post])
            if self._strike("red_flags", owner, int(at), cfg.red_flag_deletions):
                self._suspend(owner, post, int(at), cfg.red_flag_days, bool(posts.harm[post] > 0))

    def on_ban_evasion(self, account: int) -> None:
        """A bad actor came back on ``account`` after a suspension or ban."""
        self.evaders.append(int(account))

    def run_daily(self) -> None:
        """Nightly: recognise the day's recreated accounts."""
        site = self.site
        evaders, self.evaders = self.evaders, []
        if not self.cfg.enabled or not evaders:
            return
        rng = site.streams["auto_suspensions"]
        now = site.clock.tick_end - 1
        for account in evaders:
            if rng.random() < self.cfg.evasion_detection_prob:
                self._suspend(account, account, now, self.cfg.evasion_days,
                              bool(site.users.kind[account] != Kind.MEMBER))
