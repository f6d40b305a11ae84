"""New members: the day's registrations, newcomers' first questions, and the end of the newcomer period."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.clock import MINUTES_PER_DAY

if TYPE_CHECKING:
    from agents.model import Site

#: Latest minute a timestamp column (int32) can hold: a first question due later never comes.
_LAST_MINUTE = 2**31 - 1


class Registrations:
    """Accounts registering each day (a Poisson number at ``site.registrations_per_day``).

    Most newcomers register to ask one question: it falls due after an exponential wait at their
    ``first_question_drive`` (:mod:`sim.population`); the community posts it when due
    (:meth:`due_askers`). A member stays a newcomer for ``population.newcomer_days``.

    Attributes:
        waiting_askers: Newcomers whose first question is still to come, in order of due time.
        newcomers_from: First account that may still be marked a newcomer (the initial population
            never is; accounts registered during the run are in order of registration).
    """

    def __init__(self, site: Site) -> None:
        self.site = site
        self.waiting_askers = np.zeros(0, dtype=np.int64)
        self.newcomers_from = site.settings.site.registered_users

    def start_day(self) -> None:
        """Register the day's newcomers and end the newcomer period of those past it."""
        self._register()
        self._end_newcomer_period()

    def _register(self) -> None:
        site = self.site
        users = site.users
        rng = site.streams["registrations"]
        n_new = int(rng.poisson(site.settings.site.registrations_per_day))
        site.counters["registrations"] += n_new
        if not n_new:
            return
        new = users.add(rng, n_new, joined=site.clock.minute, newcomer=True)
        registered = users.registered
        site.arrivals.add(new, registered)
        site.members = np.concatenate([site.members, new])
        # most newcomers came to ask: their first question is due after an exponential wait
        drive = registered["first_question_drive"]
        askers = new[drive > 0]
        wait = rng.exponential(MINUTES_PER_DAY / np.maximum(drive[drive > 0], 1e-9))
        users.first_question_due[askers] = np.minimum(site.clock.minute + wait, _LAST_MINUTE).astype(np.int64)
        self.waiting_askers = np.concatenate([self.waiting_askers, askers])

    def _end_newcomer_period(self) -> None:
        site = self.site
        users = site.users
        cutoff = site.clock.minute - int(site.settings.population.newcomer_days * MINUTES_PER_DAY)
        # accounts registered during the run are in order of registration: those past the newcomer
        # period form a prefix of the ones still marked
        start = self.newcomers_from
        stop = start + int(np.searchsorted(users.joined[start:users.n], cutoff, side="right"))
        users.newcomer[start:stop] = False
        self.newcomers_from = stop
        # a first question not asked within the newcomer period is never asked
        fq = self.waiting_askers
        fq = fq[users.first_question_due[fq] > cutoff]
        self.waiting_askers = fq[np.argsort(users.first_question_due[fq], kind="stable")]  # by due time

    def due_askers(self, until: int) -> np.ndarray:
        """Newcomers whose first question falls due before minute ``until`` (no longer waiting)."""
        due = self.waiting_askers
        k = int(np.searchsorted(self.site.users.first_question_due[due], until, side="left"))
        ready, self.waiting_askers = due[:k], due[k:]
        return ready
