"""Reputation under Stack Overflow's rules: vote gains capped per day, a floor, penalties.

The rules live here once: :func:`capped_gain` is the daily cap (upvote gains only; accepts,
bounties and penalties are not capped), :func:`apply_reputation` applies uncapped changes down to
the floor. Votes apply both one vote after another in :func:`sim.voting.settle_votes`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.population import Users


@njit(cache=True, inline="always")
def capped_gain(gain, earned_today, cap):
    """The part of a vote's reputation gain the daily cap still allows, given what the account has
    earned from votes today (nothing once ``cap`` is reached)."""
    return min(gain, max(cap - earned_today, 0))


def apply_reputation(users: Users, who: np.ndarray, delta: np.ndarray, floor: int) -> None:
    """Apply uncapped reputation changes (accepts, penalties, reversed votes) in one vectorised step.

    Each account's changes add up first; the floor applies to the result: reputation never falls
    below ``floor``.

    Args:
        users: The user arrays.
        who: Account receiving each change.
        delta: Change in reputation (signed).
        floor: Minimum reputation.
    """
    who = np.asarray(who, dtype=np.int64)
    if who.size == 0:
        return
    np.add.at(users.reputation, who, np.asarray(delta, dtype=np.int64).astype(np.int32))
    rep = users.reputation[who]
    below = rep < floor
    if below.any():
        users.reputation[who[below]] = floor
