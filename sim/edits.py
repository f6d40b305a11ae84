"""Edits of posts: askers improving closed questions, members' edits (suggested below the edit
privilege, direct above it), vandalism by trolls, and rollbacks.

An asker whose question was closed edits it with ``policy.owner_edit_prob`` (the clear close
notices lever raises it), some hours later. Any edit that improves a post raises its hidden
quality; an asker's edit is a real improvement (the question is no longer close-worthy) with
``population.edit_fix_prob``. A closed question edited within ``rules.reopen_queue_edit_days`` of
its closure enters the reopen queue (Stack Overflow's rule from 2013 to 2019). Viewers edit what
they read; below ``rules.priv_edit`` their edit waits in the suggested-edits queue. A troll's
defacing edit goes the same way; if reviewers let it through, another member rolls it back
within hours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.clock import MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.population import Kind
from sim.store import EditKind, EditState, Harm, PostType, State

if TYPE_CHECKING:
    from agents.model import Site


class _Schedule:
    """Things due at a minute (asker edits, rollbacks): ids and due minutes, taken when due."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.due = np.zeros(0, dtype=np.int64)

    def add(self, ids: np.ndarray, due: np.ndarray) -> None:
        self.ids = np.concatenate([self.ids, np.asarray(ids, dtype=np.int64)])
        self.due = np.concatenate([self.due, np.asarray(due, dtype=np.int64)])

    def take_due(self, before: int) -> tuple[np.ndarray, np.ndarray]:
        """The ids due before minute ``before`` (in order of their due minute) and their minutes."""
        ready = self.due < before
        if not ready.any():
            return self.ids[:0], self.due[:0]
        order = np.argsort(self.due[ready], kind="stable")
        out = self.ids[ready][order], self.due[ready][order]
        self.ids, self.due = self.ids[~ready], self.due[~ready]
        return out


class Edits:
    """The site's edits and what follows them.

    Attributes:
        owner_edits: Closed questions whose askers will edit them, and when.
        rollbacks: Applied defacing edits, and when another member rolls each back.
    """

    def __init__(self, site: Site) -> None:
        self.site = site
        self.owner_edits = _Schedule()
        self.rollbacks = _Schedule()

    # -- askers after closure -------------------------------------------------------------------
    def on_closed(self, questions: np.ndarray, closed_at: np.ndarray) -> None:
        """Questions just closed: some askers will edit theirs, after an exponential delay."""
        site, users, p = self.site, self.site.users, self.site.settings.population
        owners = site.posts.owner[questions].astype(np.int64)
        rng = site.streams["owner_edits"]
        u, delay = rng.random(questions.size), rng.exponential(p.owner_edit_delay_hours * MINUTES_PER_HOUR, questions.size)
        edit = (u < site.policy.owner_edit_prob) & (users.kind[owners] == Kind.MEMBER)
        self.owner_edits.add(questions[edit], np.asarray(closed_at)[edit] + 1 + delay[edit].astype(np.int64))

    def step(self) -> None:
        """This tick's asker edits and rollbacks."""
        site = self.site
        end = site.clock.tick_end
        qs, at = self.owner_edits.take_due(end)
        if qs.size:
            owners = site.posts.owner[qs].astype(np.int64)
            ok = (site.posts.state[qs] == State.CLOSED) & site.users.can_act(owners, site.clock.minute)
            ids = self._log(qs[ok], owners[ok], at[ok], EditKind.OWNER, np.ones(int(ok.sum()), bool))
            self.apply(ids, at[ok])
        edits, at = self.rollbacks.take_due(end)
        if edits.size:
            self.roll_back(edits, at)

    # -- members and trolls --------------------------------------------------------------------
    def from_views(self, rng: np.random.Generator) -> None:
        """Viewers who edit what they read (in proportion to views); their edit goes in directly at
        ``rules.priv_edit`` and above, else to the suggested-edits queue."""
        site, posts, p = self.site, self.site.posts, self.site.settings.population
        ids = site.traffic.thinned(rng, p.edit_prob)
        ids = ids[(posts.state[ids] < State.HIDDEN) & (posts.harm[ids] == Harm.NONE)]
        if ids.size == 0:
            return
        editors = site.flagger_pool.draw(rng, ids.size)
        ok = (editors >= 0) & (editors != posts.owner[ids])
        ids, editors = ids[ok], editors[ok]
        improves = rng.random(ids.size) < p.edit_improves_share
        self.propose(ids, editors, site.clock.jitter(rng, ids.size), improves, EditKind.SUGGESTED)

    def propose(self, ids: np.ndarray, editors: np.ndarray, times: np.ndarray, improves: np.ndarray,
                kind: EditKind) -> None:
        """Edits by ``editors``: applied at once from ``rules.priv_edit`` reputation (a vandal's
        never is), else queued as suggested edits."""
        site = self.site
        direct = (site.users.reputation[editors] >= site.settings.rules.priv_edit) & (kind != EditKind.VANDAL)
        kinds = np.where(direct, int(EditKind.DIRECT), int(kind))
        edit_ids = self._log(ids, editors, times, kinds, improves)
        self.apply(edit_ids[direct], np.asarray(times)[direct])
        site.counters["suggested_edits"] += int((~direct).sum())
        site.review.suggested_edits.add(edit_ids[~direct], site.clock.minute, posts=ids[~direct])

    def _log(self, posts_: np.ndarray, editors: np.ndarray, times: np.ndarray, kind: np.ndarray | int,
             improves: np.ndarray) -> np.ndarray:
        site = self.site
        site.counters["edits"] += posts_.size
        return site.edits_table.append(posts_.size, post=posts_, editor=editors, created=times, kind=kind,
                                       improves=improves)

    # -- outcomes --------------------------------------------------------------------------------
    def apply(self, edit_ids: np.ndarray, times: np.ndarray | int) -> None:
        """Edits go in: an improvement raises the post's hidden quality (an asker's, with
        ``edit_fix_prob``, lifts it past close-worthiness), a bad edit lowers it, a defacing edit
        lowers it until rolled back. An edited closed question within ``rules.reopen_queue_edit_days``
        of closure enters the reopen queue."""
        site, posts, p, E = self.site, self.site.posts, self.site.settings.population, self.site.edits_table
        edit_ids = np.asarray(edit_ids, dtype=np.int64)
        if edit_ids.size == 0:
            return
        times = np.broadcast_to(np.asarray(times, dtype=np.int64), edit_ids.shape)
        ids, kind, good = E.post[edit_ids].astype(np.int64), E.kind[edit_ids], E.improves[edit_ids]
        E.state[edit_ids], E.decided_at[edit_ids] = int(EditState.APPLIED), times
        E.quality_before[edit_ids] = posts.quality[ids]
        vandal = kind == EditKind.VANDAL
        fix = good & (kind == EditKind.OWNER) & (site.streams["owner_edits"].random(ids.size) < p.edit_fix_prob)
        change = np.where(good, p.edit_quality_gain, -np.where(vandal, p.vandal_quality_drop, p.edit_quality_gain))
        quality = np.clip(posts.quality[ids] + change, 0.0, 1.0)
        posts.quality[ids] = np.where(fix, np.maximum(quality, p.close_worthy_quality + p.edit_fix_margin), quality)
        q = ids[~vandal & (posts.kind[ids] == PostType.QUESTION)]
        posts.close_worthy[q] = posts.duplicate[q] | (posts.quality[q] < p.close_worthy_quality)
        np.add.at(posts.edits, ids, 1)
        if vandal.any():
            rng = site.streams["rollbacks"]
            delay = rng.exponential(p.rollback_hours * MINUTES_PER_HOUR, int(vandal.sum())).astype(np.int64)
            self.rollbacks.add(edit_ids[vandal], times[vandal] + 1 + delay)
        window = site.settings.rules.reopen_queue_edit_days * MINUTES_PER_DAY
        reopen = ~vandal & (posts.state[ids] == State.CLOSED) & (times - posts.closed_at[ids] <= window)
        site.review.reopen.add(np.unique(ids[reopen]), site.clock.minute)

    def reject(self, edit_ids: np.ndarray, now: int) -> None:
        """Suggested edits the reviewers turned down."""
        E = self.site.edits_table
        E.state[edit_ids], E.decided_at[edit_ids] = int(EditState.REJECTED), now

    def roll_back(self, edit_ids: np.ndarray, times: np.ndarray) -> None:
        """Defacing edits undone by another member: the quality they took away is given back."""
        site, posts, E = self.site, self.site.posts, self.site.edits_table
        live = (E.state[edit_ids] == EditState.APPLIED) & (posts.state[E.post[edit_ids]] < State.DELETED)
        edit_ids, times = edit_ids[live], times[live]
        ids = E.post[edit_ids].astype(np.int64)
        taken = np.minimum(site.settings.population.vandal_quality_drop, E.quality_before[edit_ids])
        np.add.at(posts.quality, ids, taken.astype(np.float32))
        posts.quality[ids] = np.minimum(posts.quality[ids], 1.0)
        E.state[edit_ids], E.rolled_back_at[edit_ids] = int(EditState.ROLLED_BACK), times
        site.counters["rollbacks"] += edit_ids.size

