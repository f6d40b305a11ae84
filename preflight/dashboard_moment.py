"""What the dashboard shows of one site at the current moment, read from the model's state.

Plain functions of a :class:`~agents.model.Site` returning plain data (counts, rows), so they are
tested without a browser: the open flags by type, the moderators serving and online, the bad actors
active by family, the most recent removals with their cause, and the newcomer experience of the
last few days (the daily recorder has no newcomer series: the formal metric needs each first post's
whole first week, so the live view counts what happened to recent first posts so far).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.clock import MINUTES_PER_DAY
from sim.store import NONE, Cause, FlagKind, FlagStatus, Harm, PostType, Target

if TYPE_CHECKING:
    from agents.model import Site


def words(name: str) -> str:
    """An enum member's name as a person reads it (``COMMENT_HARASSMENT`` -> ``comment harassment``)."""
    return name.lower().replace("_", " ")


def open_flags_by_kind(site: Site) -> dict[str, int]:
    """Flags still pending, by flag type (every type listed, zeros included)."""
    table = site.flags_table
    kinds = table.kind[: table.n][table.status[: table.n] == FlagStatus.PENDING]
    counts = np.bincount(kinds.astype(np.int64), minlength=max(FlagKind) + 1)
    return {words(kind.name): int(counts[kind]) for kind in FlagKind}


@dataclass(frozen=True)
class ModeratorsNow:
    """The moderation team at this moment.

    Attributes:
        serving: Elected and not resigned.
        striking: Serving moderators on strike.
        online: Serving moderators whose working hours include this moment.
        working: Online and not on strike (or on strike but still taking urgent flags).
    """

    serving: int
    striking: int
    online: int
    working: int


def moderators_now(site: Site) -> ModeratorsNow:
    """Who of the moderation team is serving, striking, online and working now."""
    serving = list(site.serving_moderators())
    urgent = site.policy.strike_urgent_share
    online = [m for m in serving if m.online()]
    working = [m for m in online if not m.striking() or m.urgent_draw < urgent]
    return ModeratorsNow(len(serving), sum(m.striking() for m in serving), len(online), len(working))


def bad_actors_by_family(site: Site) -> dict[str, tuple[int, int]]:
    """Family -> ``(active, total)``: actors whose account can act now (not suspended, not between
    accounts after a ban), and all of the family's actors."""
    from agents.bad_actors import FAMILIES

    out = {}
    for family, cls in FAMILIES.items():
        actors = list(site.agents_by_type.get(cls, ()))
        active = sum(a.account != NONE and a.account_ok(a.account) for a in actors)
        out[family] = (int(active), len(actors))
    return out


@dataclass(frozen=True)
class Removal:
    """One removed item: when, what, what it really was, who removed it and how long it was up.

    Attributes:
        day: Simulated day of the removal.
        item: ``question``, ``answer`` or ``comment``.
        truth: Its ground truth (``spam``, ``abusive`` ... or ``good faith``).
        cause: Who or what removed it (:class:`~sim.store.Cause`).
        minutes_up: Minutes from creation to removal.
    """

    day: int
    item: str
    truth: str
    cause: str
    minutes_up: int


def _removed(removed_at: np.ndarray, n: int) -> np.ndarray:
    """Ids of removed rows among the first ``n``, the most recent last."""
    ids = np.flatnonzero(removed_at[:n] != NONE)
    return ids[np.argsort(removed_at[ids], kind="stable")]


def recent_removals(site: Site, n: int) -> list[Removal]:
    """The ``n`` most recent removals of posts and comments, newest first."""
    posts, comments = site.posts, site.comments
    rows = []
    for target, table in ((Target.POST, posts), (Target.COMMENT, comments)):
        for i in _removed(table.removed_at, table.n)[-n:]:
            if target == Target.POST:
                item = "question" if posts.kind[i] == PostType.QUESTION else "answer"
            else:
                item = "comment"
            harm = int(table.harm[i])
            at = int(table.removed_at[i])
            rows.append((at, Removal(at // MINUTES_PER_DAY, item, words(Harm(harm).name) if harm else "good faith",
                                     words(Cause(int(table.removal_cause[i])).name), at - int(table.created[i]))))
    rows.sort(key=lambda r: r[0], reverse=True)
    return [r for _, r in rows[:n]]


def newcomer_shares(site: Site, days: int) -> tuple[float, float]:
    """``(closed, unwelcome)`` of newcomers' first posts created in the last ``days`` days: the share
    of the questions among them closed so far, and of all of them that got an unwelcoming comment so
    far (NaN with none). The formal metrics (``newcomer_closed_share`` ...) wait a week per post."""
    posts = site.posts
    lo = site.post_id_at_day(site.clock.day - days)
    first = np.flatnonzero(posts.newcomer[lo:posts.n]) + lo
    questions = first[posts.kind[first] == PostType.QUESTION]
    closed = float(np.mean(posts.closed_at[questions] != NONE)) if questions.size else float("nan")
    unwelcome = float(np.mean(posts.unwelcome_at[first] != NONE)) if first.size else float("nan")
    return closed, unwelcome
