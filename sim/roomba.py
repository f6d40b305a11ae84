"""The roomba: Stack Overflow's nightly clean-up of abandoned closed questions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import removal
from sim.clock import MINUTES_PER_DAY
from sim.store import Cause, State

if TYPE_CHECKING:
    from agents.model import Site


class Roomba:
    """Deletes questions closed ``rules.roomba_days`` ago that are still closed, unanswered and not
    upvoted (the "RemoveAbandonedClosed" rule of Stack Overflow's roomba).

    Attributes:
        waiting: Closed questions not yet old enough to be looked at, in order of closing.
    """

    def __init__(self, site: Site) -> None:
        self.site = site
        self.waiting = np.zeros(0, dtype=np.int64)
        self._closed_today: list[np.ndarray] = []

    def note_closed(self, questions: np.ndarray) -> None:
        """Questions just closed: the roomba looks at them once they are old enough."""
        self._closed_today.append(questions)

    def run_daily(self) -> None:
        """Delete the abandoned closed questions whose time has come."""
        site = self.site
        posts = site.posts
        log = np.concatenate([self.waiting, *self._closed_today]) if self._closed_today else self.waiting
        self._closed_today = []
        due = posts.closed_at[log] < site.clock.minute - site.settings.rules.roomba_days * MINUTES_PER_DAY
        ids, self.waiting = log[due], log[~due]
        ids = ids[(posts.state[ids] == State.CLOSED) & (posts.score[ids] <= 0) & (posts.answers[ids] == 0)]
        removal.remove_posts(site, ids, Cause.ROOMBA, site.clock.tick_end - 1, delete=True)
