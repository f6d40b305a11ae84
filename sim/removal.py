"""Hiding and deleting content, with exactly one recorded cause per removal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.reputation import apply_reputation
from sim.store import NONE, Cause, State, Target, unique_ids

if TYPE_CHECKING:
    from agents.model import Site


def remove_posts(site: Site, ids: np.ndarray, cause: Cause, times: np.ndarray | int, delete: bool = True,
                 penalty: bool = False, handler: int | None = None) -> np.ndarray:
    """Take posts out of public view.

    Hiding (three spam/rude flags) collapses a post: it keeps a reduced share of its views and is
    not yet removed. Deletion removes it: ``removed_at`` and ``removal_cause`` are set by the first
    deletion since the post was last visible (a restore clears them). Pending flags on deleted
    posts are marked helpful, settled by ``handler`` (default: the cause, i.e. the community or a
    detector; a moderator passes their own id so the flags count as moderator handling).

    Args:
        site: The model.
        ids: Posts to remove.
        cause: Why (recorded once per removal).
        times: When (the minute of the deciding flag, vote or decision).
        delete: Delete (``True``) or only hide.
        penalty: Apply the spam/rude deletion penalty to the author.
        handler: Who settles the posts' pending flags.

    Returns:
        The posts that were newly removed (deleted) by this call.
    """
    posts = site.posts
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size == 0:
        return ids
    times = np.broadcast_to(np.asarray(times, dtype=np.int64), ids.shape)
    ids, first = np.unique(ids, return_index=True)  # each post once, with the time given for it
    times = np.maximum(times[first], posts.created[ids] + 1)
    fresh = (posts.removed_at[ids] == NONE) & delete
    new_ids = ids[fresh]
    posts.removed_at[new_ids] = times[fresh]
    posts.removal_cause[new_ids] = int(cause)
    target_state = State.DELETED if delete else State.HIDDEN
    change = posts.state[ids] < target_state
    if delete and penalty:
        became = ids[change]
        if became.size:
            rules = site.settings.rules
            apply_reputation(site.users, posts.owner[became].astype(np.int64),
                             np.full(became.size, -rules.rep_spam_deletion_penalty), rules.rep_floor)
    if not delete:
        newly_hidden = change & (posts.hidden_at[ids] == NONE)
        posts.hidden_at[ids[newly_hidden]] = times[newly_hidden]
    with site.traffic.reweighing(ids[change]):
        posts.state[ids[change]] = int(target_state)
    site.removed_today.append(ids[change])  # for the daily metrics
    red = cause in (Cause.COMMUNITY_FLAGS, Cause.SPAM_DETECTOR)
    who = -int(cause) if handler is None else int(handler)
    site.flags.resolve_many(Target.POST, new_ids, True, handler=who, time=times[fresh], keep_queued=red)
    return new_ids


def remove_comments(site: Site, ids: np.ndarray, cause: Cause, times: np.ndarray | int,
                    handler: int | None = None) -> np.ndarray:
    """Delete comments (the removal recorded with its cause and the minute given for each comment);
    pending flags are settled by ``handler`` (default: the cause). Returns newly removed ids."""
    comments = site.comments
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size == 0:
        return ids
    times = np.asarray(times, dtype=np.int64)
    if ids.size > 1:
        ids, first = np.unique(ids, return_index=True)
        times = times[first] if times.ndim else times
    times = np.broadcast_to(times, ids.shape)
    fresh = comments.removed_at[ids] == NONE
    ids, times = ids[fresh], np.maximum(times[fresh], comments.created[ids[fresh]] + 1)
    comments.removed_at[ids] = times
    comments.removal_cause[ids] = int(cause)
    who = -int(cause) if handler is None else int(handler)
    site.flags.resolve_many(Target.COMMENT, ids, True, handler=who, time=times)
    return ids


def restore_posts(site: Site, ids: np.ndarray, time: int, handler: int = NONE) -> None:
    """Make hidden or deleted posts visible again (a moderator undeleting when declining the flags,
    an upheld appeal); ``handler`` is who undeleted them (a moderator's code, or ``-Cause.STAFF``).

    The reversed action stays on record in ``site.restorations`` (it still counts as an enforcement
    action, wrongful or not); on the post itself the removal is cleared, so its exposure and its
    time to removal continue from the restore.
    """
    posts = site.posts
    ids = unique_ids(np.asarray(ids, dtype=np.int64))
    ids = ids[posts.state[ids] >= State.HIDDEN]
    if ids.size == 0:
        return
    site.restorations.append(ids.size, post=ids, removed_at=posts.removed_at[ids], hidden_at=posts.hidden_at[ids],
                             cause=posts.removal_cause[ids], restored_at=time, handler=handler)
    with site.traffic.reweighing(ids):
        posts.state[ids] = State.LIVE
    posts.removed_at[ids] = NONE
    posts.removal_cause[ids] = int(Cause.NONE)
    posts.hidden_at[ids] = NONE
    posts.red_flags[ids] = 0  # the flags were declined (or the sanction lifted)
    harmful = ids[posts.harm[ids] > 0]
    if harmful.size:
        site.harm_posts_live = unique_ids(np.concatenate([site.harm_posts_live, harmful]))
