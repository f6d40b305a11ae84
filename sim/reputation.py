"""Reputation under Stack Overflow's rules: vote gains capped per day, a floor, penalties."""

from __future__ import annotations

import numpy as np

from sim.population import Users


def apply_reputation(users: Users, who: np.ndarray, delta: np.ndarray, capped: np.ndarray | bool,
                     cap: int, floor: int) -> np.ndarray:
    """Apply reputation changes in one vectorised step.

    Gains marked ``capped`` (upvotes) count toward the daily cap and are clipped to what is left
    of it; other changes (accepts, penalties, downvotes) always apply. Reputation never falls below
    ``floor``.

    Args:
        users: The user arrays.
        who: Account receiving each change.
        delta: Change in reputation (signed).
        capped: Whether each change counts toward the daily cap.
        cap: Daily cap on vote reputation.
        floor: Minimum reputation.

    Returns:
        The change actually applied to each entry (after cap and floor).
    """
    who = np.asarray(who, dtype=np.int64)
    if who.size == 0:
        return np.zeros(0, dtype=np.int64)
    delta = np.asarray(delta, dtype=np.int64)
    capped = np.broadcast_to(np.asarray(capped, dtype=bool), who.shape)
    applied = delta.copy()
    gain = capped & (delta > 0)
    if gain.any():
        # sequential cap inside the tick: earlier events use the room first
        idx = np.flatnonzero(gain)
        order = np.argsort(who[idx], kind="stable")
        idx = idx[order]
        w = who[idx]
        csum = np.cumsum(delta[idx])
        first = np.r_[True, w[1:] != w[:-1]]
        starts = np.maximum.accumulate(np.where(first, np.arange(w.size), 0))
        before = csum - delta[idx] - np.where(starts > 0, csum[starts - 1], 0)
        room = np.maximum(cap - users.rep_today[w], 0)
        got = np.clip(room - before, 0, delta[idx])
        applied[idx] = got
        np.add.at(users.rep_today, w, got.astype(np.int32))
    # each account's changes add up first; the floor applies to the result
    np.add.at(users.reputation, who, applied.astype(np.int32))
    rep = users.reputation[who]
    below = rep < floor
    if below.any():
        users.reputation[who[below]] = floor
    return applied
