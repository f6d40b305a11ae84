"""Reputation under Stack Overflow's rules: a floor, penalties, accepts, reversed votes.

Vote gains and their daily cap are settled vote by vote in :mod:`sim.voting` (the cap is
:func:`sim.voting.capped_gain`, the one place it is applied: only upvote gains are capped, not
accepts, penalties or reversals). Here: the uncapped changes, down to the floor.
"""

from __future__ import annotations

import numpy as np

from sim.population import Users


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
