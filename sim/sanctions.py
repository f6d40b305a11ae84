"""Sanctions on accounts: the warn -> 7 -> 30 -> 365-day ladder, account destruction, question bans.

Every sanction is a row in the actions table naming the flag or detection that caused it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import removal
from sim.clock import MINUTES_PER_DAY
from sim.store import NONE, Action, Cause, Source, State, Target

if TYPE_CHECKING:
    from agents.model import Site


def _record(site: Site, action: Action, user: int, actor: int, source: Source, cause_flag: int,
            cause_detection: int, days: float, wrongful: bool, target: int = Target.USER, item: int = NONE) -> int:
    if cause_flag == NONE and cause_detection == NONE:
        raise ValueError("a sanction needs a cause: a flag or a detection")
    cause_time = int(site.flags_table.created[cause_flag] if cause_flag != NONE else
                     site.detections.created[cause_detection])
    ids = site.actions.append(1, created=max(site.clock.tick_end - 1, cause_time), actor=actor, source=int(source), action=int(action),
                              user=user, target=int(target), item=item, cause_flag=cause_flag,
                              cause_detection=cause_detection, days=days, wrongful=wrongful,
                              group=int(site.users.region[user]))
    return int(ids[0])


def suspend(site: Site, user: int, actor: int, source: Source, cause_flag: int = NONE, cause_detection: int = NONE,
            days: float | None = None, wrongful: bool = False) -> int:
    """Suspend (or warn) ``user`` at the next step of the ladder, or for ``days`` if given."""
    users = site.users
    ladder = site.settings.moderation.suspension_ladder_days
    level = int(users.suspensions[user])
    d = float(days if days is not None else ladder[min(level, len(ladder) - 1)])
    action = Action.SUSPEND if d > 0 else Action.WARN
    aid = _record(site, action, user, actor, source, cause_flag, cause_detection, d, wrongful)
    users.suspensions[user] = min(level + 1, np.iinfo(users.suspensions.dtype).max)
    if d > 0:
        users.suspended_until[user] = max(int(users.suspended_until[user]), site.clock.minute + int(d * MINUTES_PER_DAY))
        users.refresh_block(user)
    if wrongful:
        users.wrongly_sanctioned[user] = True
        site.maybe_appeal(aid, user)
    site.notify_actor(user, action)
    return aid


def destroy(site: Site, user: int, actor: int, source: Source, cause_flag: int = NONE,
            cause_detection: int = NONE, wrongful: bool = False) -> int:
    """Destroy an account (spammers): it can no longer act and its visible posts go with it."""
    users, posts = site.users, site.posts
    aid = _record(site, Action.DESTROY, user, actor, source, cause_flag, cause_detection, 0.0, wrongful)
    users.destroyed[user] = True
    users.active[user] = False
    users.refresh_block(user)
    lo = site.post_id_at_day(site.clock.day - site.settings.moderation.destroy_removes_days)
    mine = np.flatnonzero(posts.owner[lo:posts.n] == user) + lo
    older = site.harm_posts_live[posts.owner[site.harm_posts_live] == user]
    mine = np.union1d(mine, older)
    mine = mine[posts.state[mine] < State.DELETED]
    removal.remove_posts(site, mine, Cause.ACCOUNT_DESTROYED, site.clock.tick_end - 1, delete=True)
    if wrongful:
        users.wrongly_sanctioned[user] = True
        site.maybe_appeal(aid, user)
    site.notify_actor(user, Action.DESTROY)
    return aid


def question_ban(site: Site, user: int, cause_detection: int, wrongful: bool) -> int:
    """The automatic question ban: the account may no longer ask."""
    site.users.question_banned[user] = True
    aid = _record(site, Action.QUESTION_BAN, user, NONE, Source.QUESTION_BAN, NONE, cause_detection, 0.0, wrongful)
    if wrongful:
        site.users.wrongly_sanctioned[user] = True
    return aid


def lift(site: Site, action_id: int, actor: int) -> None:
    """Lift a sanction after an upheld appeal (suspension ends, destroyed account restored)."""
    a = site.actions
    user = int(a.user[action_id])
    a.reversed_at[action_id] = site.clock.minute
    users = site.users
    if a.action[action_id] in (Action.SUSPEND, Action.WARN):
        users.suspended_until[user] = min(int(users.suspended_until[user]), site.clock.minute)
        users.refresh_block(user)
        users.suspensions[user] = max(0, int(users.suspensions[user]) - 1)
    elif a.action[action_id] == Action.DESTROY:
        users.destroyed[user] = False
        users.active[user] = True
        users.refresh_block(user)
    elif a.action[action_id] == Action.QUESTION_BAN:
        users.question_banned[user] = False
