"""When ordinary members act: one Poisson clock per member and activity, planned a day at a time.

Each member asks, answers, comments and votes as an inhomogeneous Poisson process with their own
daily rate times the activity cycle of their timezone (:meth:`Clock.activity_at`). The process runs
in *operational time* (cumulative activity): a member's next action is their previous one plus an
Exp(1) gap divided by their rate, mapped back to a minute through the day's cumulative activity.

Two properties matter for the rest of the simulator:

* **Common random numbers per member.** Every gap and every per-action decision is a hash of
  (run seed, activity, member, action number), not a draw from a shared sequential stream. A member
  therefore does exactly the same things in baseline and scenario until the site treats them
  differently, whatever happens to everybody else, and removing a member does not shift anyone
  else's draws.
* **Cost proportional to live members and their actions.** Members who left are dropped from the
  arrays; each day costs one comparison per live member and activity plus the work of the actions
  themselves, so dormant and churned accounts cost nothing per tick and years of growth do not
  slow the site down.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.clock import DAYS_PER_WEEK, MINUTES_PER_DAY, Clock

ACTIVITIES = ("ask", "answer", "comment", "vote")

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO53 = 1.0 / 9007199254740992.0


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection of uint64 that scrambles every input bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def to_uniform(z: np.ndarray) -> np.ndarray:
    """Uniform doubles in (0, 1) from uint64 hashes."""
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * _TWO53


@njit(cache=True)
def _mix64(x):
    """:func:`mix64` for one uint64, inside compiled loops."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def _fill_actions(ids, bucket, rate, nxt, count, end, key, gap_salt, i, users, when, keys, groups, n):
    """Write live members' actions before ``end`` (per timezone group) into the buffers from row
    ``n``, starting with member ``i``; returns ``(i, n)`` where it stopped (buffers full or done).
    Each member's next action time and action count are advanced in place."""
    gamma = np.uint64(0x9E3779B97F4A7C15)
    cap = users.size
    while i < ids.size:
        g = bucket[i]
        t = nxt[i]
        horizon = end[g]
        member = np.uint64(ids[i])
        c = count[i]
        r = rate[i]
        while t < horizon:
            if n == cap:
                nxt[i] = t
                count[i] = c
                return i, n
            h = _mix64(((member << np.uint64(32)) | c) * gamma + key)
            users[n] = ids[i]
            when[n] = t
            keys[n] = h
            groups[n] = g
            n += 1
            u = ((_mix64(h ^ gap_salt) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
            t = t - np.log(u) / r
            c += np.uint64(1)
        nxt[i] = t
        count[i] = c
        i += 1
    return i, n


@njit(cache=True)
def _minutes_in_order(at, groups, edges, width, ticks, tick_minutes):
    """Map operational times to minutes (within each tick, linearly: activity is constant there)
    and the stable order of the actions by minute (a counting sort over the day's minutes)."""
    n = at.size
    minute = np.empty(n, dtype=np.int64)
    last = ticks.size - 1
    for i in range(n):
        g = groups[i]
        j = 0
        while j < last and edges[j + 1, g] <= at[i]:
            j += 1
        w = width[j, g]
        frac = (at[i] - edges[j, g]) / w if w > 0 else 0.0
        minute[i] = ticks[j] + min(max(int(frac * tick_minutes), 0), tick_minutes - 1)
    span = ticks[last] + tick_minutes - ticks[0]
    starts = np.zeros(span + 1, dtype=np.int64)
    for i in range(n):
        starts[minute[i] - ticks[0] + 1] += 1
    for m in range(span):
        starts[m + 1] += starts[m]
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        slot = minute[i] - ticks[0]
        order[starts[slot]] = i
        starts[slot] += 1
    return minute, order


def next_actions(ids, bucket, rate, nxt, count, end, key, gap_salt, size_hint: int = 4096):
    """Every live member's actions before ``end`` (per timezone group): (members, operational times,
    action keys, groups), advancing each member's next action time and action count in place.

    The key of a member's k-th action is a hash of ``(member, k)`` and the run's key for the
    activity, and the gap after it is Exp(1) from that key, so a member's actions do not depend on
    anyone else's."""
    cap = max(int(size_hint), 1024)
    users, when = np.empty(cap, dtype=np.int64), np.empty(cap)
    keys, groups = np.empty(cap, dtype=np.uint64), np.empty(cap, dtype=np.int8)
    i, n = _fill_actions(ids, bucket, rate, nxt, count, end, key, gap_salt, 0, users, when, keys, groups, 0)
    while i < ids.size:
        cap *= 2
        users, when = np.resize(users, cap), np.resize(when, cap)
        keys, groups = np.resize(keys, cap), np.resize(groups, cap)
        i, n = _fill_actions(ids, bucket, rate, nxt, count, end, key, gap_salt, i, users, when, keys, groups, n)
    return users[:n], when[:n], keys[:n], groups[:n]


def _salt(name: str) -> np.uint64:
    return np.uint64((zlib.crc32(name.encode("utf-8")) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Events:
    """A batch of members' actions in this tick.

    Attributes:
        users: Acting account per action (a member may act more than once).
        times: Minute of each action.
        keys: A 64-bit key per action; :func:`uniform` turns it into independent uniforms.
    """

    users: np.ndarray
    times: np.ndarray
    keys: np.ndarray

    @property
    def size(self) -> int:
        return int(self.users.size)

    def subset(self, mask: np.ndarray) -> Events:
        return Events(self.users[mask], self.times[mask], self.keys[mask])


def salt(purpose: str) -> np.uint64:
    """The salt of a named decision (what :func:`uniform` mixes into each key), for compiled loops
    that draw their own uniforms."""
    return _salt(purpose)


def uniform(keys: np.ndarray, purpose: str) -> np.ndarray:
    """One uniform per action for a named decision (target choice, vote direction, ...)."""
    return _uniforms(keys, _salt(purpose))


@njit(cache=True)
def _uniforms(keys, salt):
    out = np.empty(keys.size)
    for i in range(keys.size):
        out[i] = ((_mix64(keys[i] ^ salt) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
    return out


class Arrivals:
    """Every live member's next action per activity, and today's planned actions.

    The clocks of the activities in ``visit_factor`` run that many times faster than the members'
    rates: they plan visits, of which :class:`sim.supply.Supply` lets a share act.

    Attributes:
        tz_values: Timezone offsets of the groups (hours), ascending.
        totals: The summed daily vote rate of live members in each timezone group (``totals["vote"]``).
        ids: Live members (``bucket``, ``rate``, ``next`` and ``count`` are aligned with it; all are
            views of growable buffers, rewritten when departed members are dropped: copy to keep).
    """

    def __init__(self, users, clock: Clock, seed: int, visit_factor: dict[str, float] | None = None) -> None:
        self.users = users
        self.clock = clock
        self.visit_factor = dict(visit_factor or {})
        self.tz_values = np.unique(users._region_tz).astype(np.float64)
        nb = self.tz_values.size
        self._keys = {a: np.random.SeedSequence(entropy=int(seed), spawn_key=(zlib.crc32(f"arrivals/{a}".encode()),))
                      .generate_state(1, np.uint64)[0] for a in ACTIVITIES}
        self._member_key = np.random.SeedSequence(entropy=int(seed), spawn_key=(zlib.crc32(b"arrivals/member"),)
                                                  ).generate_state(1, np.uint64)[0]
        # columns in buffers that grow by half when full; the attributes are views of the live part
        self._buf = {"ids": np.zeros(1024, dtype=np.int64), "bucket": np.zeros(1024, dtype=np.int8)}
        for a in ACTIVITIES:
            self._buf[f"rate:{a}"] = np.zeros(1024)
            self._buf[f"next:{a}"] = np.zeros(1024)
            self._buf[f"count:{a}"] = np.zeros(1024, dtype=np.uint64)
        self._n = 0
        self.rate: dict[str, np.ndarray] = {}
        self.next: dict[str, np.ndarray] = {}
        self.count: dict[str, np.ndarray] = {}
        self._expose()
        self.totals = {"vote": np.zeros(nb)}
        self.lam = np.zeros(nb)  # operational time (activity-days) at the start of the planned day
        self._plan: dict[str, Events] = {}
        self._planned: dict[str, int] = {}  # actions planned last time (sizes the next day's buffers)
        self._cursor: dict[str, int] = {}

    def member_uniform(self, ids: np.ndarray, purpose: str) -> np.ndarray:
        """One uniform per member for a named standing trait (e.g. whether they join a strike): a
        hash of (run seed, member, purpose), the same in every arm and whenever it is asked."""
        ids = np.asarray(ids, dtype=np.int64).astype(np.uint64)
        return uniform(mix64(ids * _GAMMA + self._member_key), purpose)

    # -- membership ---------------------------------------------------------------------------
    def add(self, ids: np.ndarray, rates: dict[str, np.ndarray]) -> None:
        """Start the clocks of newly active members with their daily rates (``rates["ask_rate"]``
        ..., aligned with ``ids``; a rate missing there is read from the user arrays)."""
        users = self.users
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            return
        bucket = np.searchsorted(self.tz_values, users.tz(ids).astype(np.float64)).astype(np.int8)
        start = self.lam[bucket]
        new = {"ids": ids, "bucket": bucket}
        for act in ACTIVITIES:
            name = f"{act}_rate"
            rate = np.asarray(rates[name] if name in rates else getattr(users, name)[ids], dtype=np.float64)
            rate = rate * self.visit_factor.get(act, 1.0)  # visits, of which some act (sim.supply)
            gap = -np.log(to_uniform(self._hash(act, ids, np.zeros(ids.size, dtype=np.uint64))))
            with np.errstate(divide="ignore"):
                first = np.where(rate > 0, start + gap / np.where(rate > 0, rate, 1.0), np.inf)
            new[f"rate:{act}"], new[f"next:{act}"] = rate, first
            new[f"count:{act}"] = np.ones(ids.size, dtype=np.uint64)
        n, k = self._n, ids.size
        if n + k > self._buf["ids"].size:
            cap = max(int((n + k) * 1.5), 1024)
            for name, buf in self._buf.items():
                grown = np.empty(cap, dtype=buf.dtype)
                grown[:n] = buf[:n]
                self._buf[name] = grown
        for name, values in new.items():
            self._buf[name][n:n + k] = values
        self._n = n + k
        self._expose()

    def _expose(self) -> None:
        n, buf = self._n, self._buf
        self.ids, self.bucket = buf["ids"][:n], buf["bucket"][:n]
        for act in ACTIVITIES:
            self.rate[act], self.next[act], self.count[act] = buf[f"rate:{act}"][:n], buf[f"next:{act}"][:n], buf[f"count:{act}"][:n]

    def _hash(self, act: str, ids: np.ndarray, k: np.ndarray) -> np.ndarray:
        return mix64((ids.astype(np.uint64) << np.uint64(32) | k) * _GAMMA + self._keys[act])

    def _drop_departed(self) -> None:
        """Forget members who left (a destroyed account keeps its clock: an appeal may restore it)."""
        users = self.users
        keep = users.active[self.ids] | users.destroyed[self.ids]
        if keep.all():
            return
        n, m = self._n, int(keep.sum())
        for buf in self._buf.values():
            buf[:m] = buf[:n][keep]
        self._n = m
        self._expose()

    # -- planning -----------------------------------------------------------------------------
    def plan_day(self) -> None:
        """Plan every live member's actions from now to the next day start."""
        clock = self.clock
        if clock.day % DAYS_PER_WEEK == 0:
            self._drop_departed()  # weekly: until then a departed member's actions are simply dropped
        nb = self.tz_values.size
        self.totals["vote"] = np.bincount(self.bucket, weights=self.rate["vote"], minlength=nb)
        t = clock.tick_minutes
        m0 = clock.minute
        starts = m0 + t * np.arange(int(math.ceil(MINUTES_PER_DAY / t)) + 2)
        later = np.flatnonzero(starts[1:] % MINUTES_PER_DAY < t)
        ticks = starts[: int(later[0]) + 1] if later.size else starts[:1]
        act_level = np.stack([np.asarray(clock.activity_at(int(m), self.tz_values), dtype=np.float64) for m in ticks])
        width = act_level * clock.tick_days  # operational time per tick, per timezone group
        edges = self.lam + np.vstack([np.zeros((1, nb)), np.cumsum(width, axis=0)])
        end = edges[-1]
        for act in ACTIVITIES:
            self._plan[act] = self._plan_activity(act, edges, width, end, ticks)
            self._cursor[act] = 0
        self.lam = end

    def _plan_activity(self, act: str, edges: np.ndarray, width: np.ndarray, end: np.ndarray,
                       ticks: np.ndarray) -> Events:
        u, at, k, b = next_actions(self.ids, self.bucket, self.rate[act], self.next[act], self.count[act], end,
                                   self._keys[act], _salt("gap"), int(self._planned.get(act, 0) * 1.25))
        self._planned[act] = u.size
        minute, order = _minutes_in_order(at, b, edges, width, ticks, self.clock.tick_minutes)
        return Events(u[order], minute[order], k[order])

    def now(self, act: str) -> Events:
        """The planned actions of ``act`` in the current tick."""
        plan = self._plan.get(act)
        if plan is None:
            return Events(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64))
        lo = self._cursor[act]
        hi = lo + int(np.searchsorted(plan.times[lo:], self.clock.tick_end, side="left"))
        self._cursor[act] = hi
        return Events(plan.users[lo:hi], plan.times[lo:hi], plan.keys[lo:hi])
