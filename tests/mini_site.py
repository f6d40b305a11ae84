"""A scripted mini-site for the metric tests: a handful of members, posts, comments, flags and
actions placed at exact minutes, with no randomness, so each metric's value can be worked out by
hand in the test. It builds the same :class:`~sim.metrics.RunRecord` a real run hands the summary,
from the content store's own table schemas."""

from __future__ import annotations

import numpy as np

from sim import store
from sim.clock import MINUTES_PER_DAY
from sim.metrics import DAILY, HARM_KINDS, RunRecord, Window
from sim.population import Kind
from sim.store import NONE, Cause, FlagStatus, PostType, Source, Target, Tone, VoteType

DAY = MINUTES_PER_DAY
REGIONS = ["americas", "europe"]
NEWCOMER_DAYS = 30


class MiniSite:
    """Build a run record by hand.

    Args:
        days: Length of the run (the daily series has one row per day).
        warmup_days: Days before the measurement window.
    """

    def __init__(self, days: int = 45, warmup_days: int = 1) -> None:
        self.window = Window(warmup_days * DAY, days * DAY)
        self.posts = store.posts_table(64)
        self.comments = store.comments_table(64)
        self.votes = store.votes_table(64)
        self.flags = store.flags_table(64)
        self.actions = store.actions_table(64)
        self.detections = store.detections_table(64)
        self.restorations = store.restorations_table(64)
        self._users: list[dict] = []
        self.series = {name: np.zeros(days) for name in ("day", *DAILY)}
        self.series["day"] = np.arange(days, dtype=np.float64)
        for kind in HARM_KINDS:
            self.series[f"harm_exposure_{kind}"] = np.zeros(days)
        self.moderators_serving = 2

    # -- people ---------------------------------------------------------------------------------
    def member(self, region: int = 0, joined: int = -400 * DAY, kind: Kind = Kind.MEMBER, **cols) -> int:
        """An account; by default an established member of the first region."""
        row = {"kind": int(kind), "region": region, "joined": joined, "abused_at": NONE, "churned_at": NONE,
               "first_post_at": NONE, "returned_at": NONE, "reputation": 1, "first_post": NONE, "questions": 0,
               "answers": 0}
        row.update(cols)
        self._users.append(row)
        return len(self._users) - 1

    # -- content ---------------------------------------------------------------------------------
    def post(self, owner: int, created: int, kind: PostType = PostType.QUESTION, **cols) -> int:
        """A question (or answer) by ``owner`` at minute ``created``; good quality unless told."""
        values = {"owner": owner, "created": created, "kind": int(kind), "quality": 0.8,
                  "group": self._users[owner]["region"], **cols}
        if kind == PostType.QUESTION:
            self._users[owner]["questions"] += 1
        else:
            self._users[owner]["answers"] += 1
        return int(self.posts.append(1, **values)[0])

    def comment(self, post: int, author: int, created: int, **cols) -> int:
        return int(self.comments.append(1, post=post, author=author, created=created, **cols)[0])

    def flag(self, item: int, created: int, handler: int = NONE, handled_at: int = NONE,
             status: FlagStatus = FlagStatus.HELPFUL, target: Target = Target.POST, **cols) -> int:
        values = {"target": int(target), "item": item, "created": created, "status": int(status),
                  "handler": handler, "handled_at": handled_at, "source": int(Source.USER), **cols}
        return int(self.flags.append(1, **values)[0])

    def sanction(self, user: int, created: int, wrongful: bool = False, **cols) -> int:
        values = {"user": user, "created": created, "wrongful": wrongful, "group": self._users[user]["region"],
                  **cols}
        return int(self.actions.append(1, **values)[0])

    def restoration(self, post: int, restored_at: int, hidden_at: int = NONE, removed_at: int = NONE,
                    cause: Cause = Cause.NONE) -> None:
        """A hide or deletion of ``post`` that was reversed at ``restored_at``."""
        self.restorations.append(1, post=post, hidden_at=hidden_at, removed_at=removed_at, cause=int(cause),
                                 restored_at=restored_at)

    def downvote(self, post: int, created: int) -> None:
        self.votes.append(1, post=post, voter=0, created=created, vote_type=VoteType.DOWN)

    def daily(self, name: str, values: dict[int, float]) -> None:
        """Set day -> value in a daily series column."""
        for day, value in values.items():
            self.series[name][day] = value

    def record(self) -> RunRecord:
        users = {k: np.array([u[k] for u in self._users]) for k in self._users[0]} if self._users else {}
        return RunRecord(
            posts=self.posts.frame(), comments=self.comments.frame(), votes=self.votes.frame(),
            flags=self.flags.frame(), actions=self.actions.frame(), detections=self.detections.frame(),
            restorations=self.restorations.frame(), users=users, region_names=list(REGIONS),
            series=self.series, low_quality_threshold=0.3, newcomer_minutes=NEWCOMER_DAYS * DAY,
            moderators_serving=self.moderators_serving)

    def summarize(self) -> tuple[dict[str, float], dict[str, dict]]:
        from sim.metrics import summarize

        return summarize(self.record(), self.window)


__all__ = ["DAY", "MiniSite", "Cause", "FlagStatus", "PostType", "Source", "Target", "Tone", "Kind", "NONE"]
