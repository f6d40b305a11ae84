"""Hiding and deleting content, with exactly one recorded cause per removal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.reputation import apply_reputation
from sim.store import NONE, Cause, State, unique_ids

if TYPE_CHECKING:
    from sim.model import Site


def remove_posts(site: Site, ids: np.ndarray, cause: Cause, times: np.ndarray | int, delete: bool = True,
                 penalty: bool = False) -> np.ndarray:
    """Take posts out of public view.

    Hiding (three spam/rude flags) collapses a post: it keeps a reduced share of its views and is
    not yet removed. Deletion removes it: the first deletion sets ``removed_at`` and
    ``removal_cause``, once. Pending flags on deleted posts are marked helpful.

    Args:
        site: The model.
        ids: Posts to remove.
        cause: Why (recorded once per post).
        times: When.
        delete: Delete (``True``) or only hide.
        penalty: Apply the spam/rude deletion penalty to the author.

    Returns:
        The posts that were newly removed (deleted) by this call.
    """
    posts = site.posts
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size == 0:
        return ids
    times = np.broadcast_to(np.asarray(times, dtype=np.int64), ids.shape)
    ids, first = np.unique(ids, return_index=True)  # each post once, with the time given for it
    if ids.size == 0:
        return ids
    times = np.maximum(times[first], posts.created[ids] + 1)
    fresh = (posts.removed_at[ids] == NONE) & delete
    new_ids = ids[fresh]
    posts.removed_at[new_ids] = times[fresh]
    posts.removal_cause[new_ids] = int(cause)
    target_state = State.DELETED if delete else State.HIDDEN
    change = posts.state[ids] < target_state
    if delete:
        became = ids[change & (posts.deleted_at[ids] == NONE)]
        posts.deleted_at[became] = times[change & (posts.deleted_at[ids] == NONE)]
        if penalty and became.size:
            rules = site.settings.rules
            apply_reputation(site.users, posts.owner[became].astype(np.int64),
                             np.full(became.size, -rules.rep_spam_deletion_penalty), False,
                             rules.rep_daily_cap, rules.rep_floor)
    if not delete:
        newly_hidden = ids[change & (posts.hidden_at[ids] == NONE)]
        posts.hidden_at[newly_hidden] = times[change & (posts.hidden_at[ids] == NONE)]
    posts.state[ids[change]] = int(target_state)
    site.removed_today.append(ids[change])  # for the daily metrics
    red = cause in (Cause.COMMUNITY_FLAGS, Cause.SPAM_DETECTOR)
    site.flags.resolve_many(1, new_ids, True, handler=-int(cause), time=site.clock.minute, keep_queued=red)
    return new_ids


def remove_comments(site: Site, ids: np.ndarray, cause: Cause, times: np.ndarray | int) -> np.ndarray:
    """Delete comments (first removal recorded with its cause). Returns newly removed ids."""
    comments = site.comments
    if np.size(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    ids = unique_ids(np.asarray(ids, dtype=np.int64))
    fresh = ids[comments.removed_at[ids] == NONE]
    comments.removed_at[fresh] = np.maximum(np.max(times) if np.ndim(times) else times, comments.created[fresh] + 1)
    comments.removal_cause[fresh] = int(cause)
    site.flags.resolve_many(2, fresh, True, handler=-int(cause), time=site.clock.minute)
    return fresh


def restore_posts(site: Site, ids: np.ndarray) -> None:
    """Undelete posts after an upheld appeal (the removal stays on record, the post is live again)."""
    posts = site.posts
    posts.state[ids] = State.LIVE
    posts.deleted_at[ids] = NONE
