"""The columnar content store: posts, comments, votes, flags, sanctions and moderator actions.

Each table is a set of preallocated numpy columns that grow by doubling, so appending a tick's
worth of events is one vectorised write and reading a column is a slice. Row ids are positions.
Codes for the small enumerations live here too, as ``IntEnum`` values used in the columns.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

NONE = -1

#: Moderators' decisions carry the codes ``MODERATOR_ID_BASE - index`` (``handler`` of the flags they
#: settle, ``actor`` of their actions; ``index`` is the order of election); other negative handlers
#: are a removal's cause (the community or a detector) or ``NONE``.
MODERATOR_ID_BASE = -1000


class PostType(IntEnum):
    QUESTION = 1
    ANSWER = 2


class VoteType(IntEnum):
    """``VoteTypeId`` as in the Stack Exchange data dump."""

    ACCEPT = 1
    UP = 2
    DOWN = 3
    CLOSE = 6
    REOPEN = 7


class Harm(IntEnum):
    """Ground-truth label of content: what it really is, whatever the site decides."""

    NONE = 0
    SPAM = 1
    ABUSIVE = 2
    HARASSMENT = 3
    WRONG_AI = 4


class Tone(IntEnum):
    FINE = 0
    UNWELCOMING = 1
    ABUSIVE = 2


class State(IntEnum):
    LIVE = 0
    CLOSED = 1
    HIDDEN = 2
    DELETED = 3


class Cause(IntEnum):
    """Why content stopped being publicly visible: exactly one per removal."""

    NONE = 0
    COMMUNITY_FLAGS = 1
    MODERATOR = 2
    REVIEW = 3
    SPAM_DETECTOR = 4
    AI_DETECTOR = 5
    CIVILITY_CLASSIFIER = 6
    ROOMBA = 7
    STAFF = 8
    ACCOUNT_DESTROYED = 9
    STAGING = 10


class CloseReason(IntEnum):
    NONE = 0
    DUPLICATE = 1
    NEEDS_DETAILS = 2
    OFF_TOPIC = 3
    OPINION = 4


class Closer(IntEnum):
    NONE = 0
    COMMUNITY = 1
    MODERATOR = 2
    DUPE_HAMMER = 3


class FlagKind(IntEnum):
    SPAM = 1
    RUDE = 2
    NOT_AN_ANSWER = 3
    VERY_LOW_QUALITY = 4
    NEEDS_MODERATOR = 5
    SHOULD_CLOSE = 6
    COMMENT_HARASSMENT = 7
    COMMENT_UNFRIENDLY = 8


class FlagStatus(IntEnum):
    PENDING = 0
    HELPFUL = 1
    DECLINED = 2
    DISPUTED = 3


class Target(IntEnum):
    POST = 1
    COMMENT = 2
    USER = 3


class Source(IntEnum):
    """Who raised a flag or detection (user flags carry the flagger id separately)."""

    USER = 0
    SPAM_DETECTOR = 1
    CIVILITY_CLASSIFIER = 2
    AI_DETECTOR = 3
    SERIAL_VOTING = 4
    QUESTION_BAN = 5
    MODERATOR = 6  # moderators, and staff (no actor)
    SYSTEM = 7  # the site's automatic rules (SO's "Community" user): automatic suspensions


class StaffCase(IntEnum):
    """Kinds of case the staff team works (escalations and appeals)."""

    THREAT = 1
    VOTING_FRAUD = 2
    APPEAL = 3


class Action(IntEnum):
    DELETE = 1
    DECLINE = 2
    WARN = 3
    SUSPEND = 4
    DESTROY = 5
    ESCALATE = 6
    CLOSE = 7
    RESTORE = 8
    LIFT = 9
    REVERSE_VOTES = 10
    QUESTION_BAN = 11


class ReviewTaskType(IntEnum):
    """``ReviewTaskTypeId`` as in the Stack Exchange data dump (SEDE ``ReviewTaskTypes``, 2018 era:
    first questions and first answers shared the First Post queue, told apart by the post's type).
    The staging ground postdates that schema; its code here is outside the dump's range."""

    SUGGESTED_EDIT = 1
    CLOSE_VOTES = 2
    LOW_QUALITY_POSTS = 3
    FIRST_POST = 4
    LATE_ANSWER = 5
    REOPEN_VOTE = 6
    STAGING_GROUND = 100


class ReviewResult(IntEnum):
    """``ReviewTaskResultTypeId`` as in the Stack Exchange data dump (SEDE ``ReviewTaskResultTypes``)."""

    APPROVE = 2
    REJECT = 3
    CLOSE = 6
    LOOKS_OK = 7
    DO_NOT_CLOSE = 8
    RECOMMEND_DELETION = 9
    IM_DONE = 11
    REOPEN = 12
    LEAVE_CLOSED = 13
    NO_ACTION_NEEDED = 18


class ReviewTaskState(IntEnum):
    """``ReviewTaskStateId`` as in the Stack Exchange data dump."""

    ACTIVE = 1
    COMPLETED = 2
    INVALIDATED = 3


class EditKind(IntEnum):
    """Who edited a post and how the edit went in."""

    OWNER = 1  # the author improving their own post (after closure)
    SUGGESTED = 2  # below the edit privilege: waits for the suggested-edits queue
    DIRECT = 3  # at or above the edit privilege: applied at once
    VANDAL = 4  # a bad actor defacing a post (a suggested edit, being low in reputation)


class EditState(IntEnum):
    PENDING = 0
    APPLIED = 1
    REJECTED = 2
    ROLLED_BACK = 3


def low_quality(quality: np.ndarray, correct: np.ndarray, kind: np.ndarray, threshold: float) -> np.ndarray:
    """Ground truth of junk (the one low-quality test): a question, or a wrong answer, whose hidden
    quality is below ``threshold`` (``population.low_quality_threshold``). Arguments are the posts'
    columns, aligned."""
    return (quality < threshold) & (~correct | (kind == PostType.QUESTION))


def unique_ids(ids: np.ndarray) -> np.ndarray:
    """Sorted distinct ids of a batch (sort-based; faster than ``np.unique`` on a tick's batch)."""
    s = np.sort(np.asarray(ids))
    if s.size < 2:
        return s
    return s[np.concatenate(([True], s[1:] != s[:-1]))]


def threshold_crossings(items: np.ndarray, times: np.ndarray, totals: np.ndarray,
                        threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """Items of this batch whose count is at or above ``threshold``, and the minute of the deciding event.

    ``items`` and ``times`` are this batch's events (flags, votes), already added to the running
    ``totals`` (indexed by item). The deciding event is the item's ``threshold - before``-th event of
    the batch in time order (its first, if the item was already at the threshold, e.g. after a
    lever lowered it).
    """
    items = np.asarray(items, dtype=np.int64)
    reached = totals[items] >= threshold
    if not reached.any():  # (most batches: nothing to decide)
        return items[:0], items[:0]
    items, times = items[reached], np.asarray(times, dtype=np.int64)[reached]
    order = np.lexsort((times, items))
    s_items, s_times = items[order], times[order]
    starts = np.flatnonzero(np.concatenate(([True], s_items[1:] != s_items[:-1])))
    uniq = s_items[starts]
    in_batch = np.diff(np.append(starts, s_items.size))
    before = totals[uniq].astype(np.int64) - in_batch
    crossed = before + in_batch >= threshold
    deciding = starts[crossed] + np.maximum(threshold - before[crossed], 1) - 1
    return uniq[crossed], s_times[deciding]


def first_occurrence(keys: np.ndarray) -> np.ndarray:
    """Mask keeping the first occurrence of each key in a batch."""
    keys = np.asarray(keys)
    keep = np.zeros(keys.size, dtype=bool)
    if keys.size:
        _, first = np.unique(keys, return_index=True)
        keep[first] = True
    return keep


class Table:
    """Growable columnar table.

    Args:
        columns: Column name -> (dtype, fill value for new rows).
        capacity: Initial number of rows allocated.
    """

    #: Rows initialised at a time beyond those in use: capacity that is reserved but not yet
    #: written stays untouched memory, so resident memory follows the rows in use.
    CHUNK = 1 << 13

    def __init__(self, columns: dict[str, tuple[np.dtype | type, float | int]], capacity: int = 1024) -> None:
        self._spec = columns
        self.n = 0
        self._cap = max(16, int(capacity))
        self._filled = 0
        for name, (dtype, _) in columns.items():
            setattr(self, name, np.empty(self._cap, dtype=dtype))

    def reserve(self, stop: int) -> None:
        """Make rows up to ``stop`` available, initialised to the columns' fill values."""
        if stop > self._cap:
            cap = self._cap
            while cap < stop:
                cap = int(cap * 1.5) + 16
            for name, (dtype, _) in self._spec.items():
                old = getattr(self, name)
                new = np.empty(cap, dtype=dtype)
                new[: self._filled] = old[: self._filled]
                setattr(self, name, new)
            self._cap = cap
        if stop > self._filled:
            hi = min(self._cap, max(stop, self._filled + self.CHUNK))
            for name, (_, fill) in self._spec.items():
                getattr(self, name)[self._filled:hi] = fill
            self._filled = hi

    def append(self, count: int, **values: np.ndarray | float | int) -> np.ndarray:
        """Append ``count`` rows; unnamed columns take their fill value. Returns the new row ids."""
        start, stop = self.n, self.n + int(count)
        if stop > self._filled:
            self.reserve(stop)
        for name, val in values.items():
            getattr(self, name)[start:stop] = val
        self.n = stop
        return np.arange(start, stop, dtype=np.int64)

    def column(self, name: str) -> np.ndarray:
        """The live part of column ``name``."""
        return getattr(self, name)[: self.n]

    def frame(self) -> dict[str, np.ndarray]:
        """All columns, trimmed to the rows in use."""
        return {name: self.column(name) for name in self._spec}

    @property
    def nbytes(self) -> int:
        """Memory held by the columns."""
        return sum(getattr(self, name).nbytes for name in self._spec)


def posts_table(capacity: int) -> Table:
    """Questions and answers, one row each (Stack Exchange ``Posts``).

    ``created`` is when the post was written; ``published_at`` is when it went public if that was
    later (a question held in the staging ground), else ``NONE`` (public from creation).
    ``asker_acts_at`` is what the asker planned when the post was written, until it falls due: on
    an answer the minute the asker accepts it, on a question the minute the asker posts the answer
    they found themselves (``NONE``: nothing planned; :meth:`agents.community.Community.plan_askers`)."""
    i4, i1, f4, b = np.int32, np.int8, np.float32, np.bool_
    return Table({
        "kind": (i1, 0), "parent": (i4, NONE), "owner": (i4, NONE), "owner_rep": (i4, 0), "created": (i4, 0),
        "topic": (np.int16, 0), "quality": (f4, 0.0), "correct": (b, True), "harm": (i1, 0),
        "ai": (b, False), "duplicate": (b, False), "close_worthy": (b, False), "newcomer": (b, False),
        "group": (i1, 0), "score": (i4, 0),
        "answers": (np.int16, 0), "accepted": (i4, NONE),
        "first_answer_at": (i4, NONE), "state": (i1, 0), "closed_at": (i4, NONE), "close_reason": (i1, 0),
        "closer": (i1, 0), "close_votes": (i1, 0), "close_vote_start": (i4, NONE), "reopen_votes": (i1, 0),
        "removed_at": (i4, NONE), "removal_cause": (i1, 0),
        "published_at": (i4, NONE), "red_flags": (i1, 0), "first_flag_at": (i4, NONE),
        "views": (f4, 0.0), "unwelcome_at": (i4, NONE), "staged": (b, False),
        "hidden_at": (i4, NONE), "asker_acts_at": (i4, NONE), "reopened_at": (i4, NONE), "edits": (np.int16, 0),
    }, capacity)


def comments_table(capacity: int) -> Table:
    """Comments (Stack Exchange ``Comments``) with ground-truth tone and harassment target."""
    i4, i1 = np.int32, np.int8
    return Table({
        "post": (i4, NONE), "author": (i4, NONE), "created": (i4, 0), "tone": (i1, 0), "harm": (i1, 0),
        "flags": (i1, 0), "first_flag_at": (i4, NONE),
        "removed_at": (i4, NONE), "removal_cause": (i1, 0),
    }, capacity)


def votes_table(capacity: int) -> Table:
    """Votes (Stack Exchange ``Votes``; ``vote_type`` a :class:`VoteType`, coded as in the dump);
    ``voter_rep`` is the voter's reputation when voting (privilege audits)."""
    return Table({
        "post": (np.int32, NONE), "voter": (np.int32, NONE), "created": (np.int32, 0),
        "vote_type": (np.int8, 0), "voter_rep": (np.int32, 0),
        "reversed": (np.bool_, False),
        "fraud": (np.bool_, False),
    }, capacity)


def flags_table(capacity: int) -> Table:
    """Flags raised by users and automated defenders."""
    i4, i1 = np.int32, np.int8
    return Table({
        "target": (i1, 0), "item": (i4, NONE), "flagger": (i4, NONE), "source": (i1, 0), "kind": (i1, 0),
        "created": (i4, 0), "status": (i1, 0), "handled_at": (i4, NONE), "handler": (i4, NONE),
        "truth_bad": (np.bool_, False),
    }, capacity)


def actions_table(capacity: int) -> Table:
    """Moderator, staff and automated actions (``ModActions``), each traceable to its cause."""
    i4, i1 = np.int32, np.int8
    return Table({
        "created": (i4, 0), "actor": (i4, NONE), "source": (i1, 0), "action": (i1, 0), "user": (i4, NONE),
        "target": (i1, 0), "item": (i4, NONE), "cause_flag": (i4, NONE), "cause_detection": (i4, NONE),
        "days": (np.float32, 0.0), "wrongful": (np.bool_, False), "reversed_at": (i4, NONE),
        "group": (i1, 0),
    }, capacity)


def detections_table(capacity: int) -> Table:
    """Automated detections (detector, item, whether truly bad)."""
    i4, i1 = np.int32, np.int8
    return Table({
        "created": (i4, 0), "source": (i1, 0), "target": (i1, 0), "item": (i4, NONE), "user": (i4, NONE),
        "truth_bad": (np.bool_, False),
    }, capacity)


def staff_cases_table(capacity: int) -> Table:
    """Cases opened for the staff team (a :class:`StaffCase`): escalations about an account, naming
    the flag or detection behind them, and appeals of a sanction (``action``). ``handled_at`` is
    when staff worked the case (NONE: still open); ``upheld`` whether an appeal succeeded."""
    i4, i1 = np.int32, np.int8
    return Table({"created": (i4, 0), "kind": (i1, 0), "user": (i4, NONE), "action": (i4, NONE),
                  "cause_flag": (i4, NONE), "cause_detection": (i4, NONE), "handled_at": (i4, NONE),
                  "upheld": (np.bool_, False)}, capacity)


def restorations_table(capacity: int) -> Table:
    """Hides and deletions that were reversed (undeleted by a moderator, upheld appeals): the action
    stays on record here while the post itself is visible again; ``handler`` is who undeleted it
    (a moderator's code, ``-Cause.STAFF``, or NONE)."""
    i4, i1 = np.int32, np.int8
    return Table({"post": (i4, NONE), "removed_at": (i4, NONE), "hidden_at": (i4, NONE), "cause": (i1, 0),
                  "restored_at": (i4, NONE), "handler": (i4, NONE)}, capacity)



def review_tasks_table(capacity: int) -> Table:
    """Review tasks (Stack Exchange ``ReviewTasks``): one per item entering a review queue, and one
    per audit (a known-good or known-bad test item). ``queue`` is the queue's index
    (``sim.review_queues.QUEUES``), ``kind`` its :class:`ReviewTaskType`, ``state`` a :class:`ReviewTaskState`; ``edit`` is the suggested edit
    under review; ``completed_by`` the review result that completed the task."""
    i4, i1 = np.int32, np.int8
    return Table({"created": (i4, 0), "queue": (i1, 0), "kind": (i1, 0), "post": (i4, NONE), "edit": (i4, NONE),
                  "state": (i1, int(ReviewTaskState.ACTIVE)), "completed_at": (i4, NONE),
                  "completed_by": (i4, NONE), "audit": (np.bool_, False)}, capacity)


def review_results_table(capacity: int) -> Table:
    """Reviews, one row per reviewer's decision (Stack Exchange ``ReviewTaskResults``, plus the
    queue's index, who reviewed and, for audits, whether the reviewer passed). ``result`` is a
    :class:`ReviewResult`."""
    i4, i1 = np.int32, np.int8
    return Table({"task": (i4, NONE), "queue": (i1, 0), "result": (i1, 0), "created": (i4, 0),
                  "reviewer": (i4, NONE), "audit": (np.bool_, False), "audit_passed": (np.bool_, False)},
                 capacity)


def edits_table(capacity: int) -> Table:
    """Edits of posts: by their owner, suggested (awaiting review), direct, or vandalism.

    ``improves`` is ground truth (the edit makes the post better); ``quality_before`` is the post's
    hidden quality before the edit went in (a rollback restores it)."""
    i4, i1 = np.int32, np.int8
    return Table({"post": (i4, NONE), "editor": (i4, NONE), "created": (i4, 0), "kind": (i1, 0),
                  "improves": (np.bool_, True), "state": (i1, 0), "decided_at": (i4, NONE),
                  "approvals": (i1, 0), "rejections": (i1, 0), "quality_before": (np.float32, 0.0),
                  "rolled_back_at": (i4, NONE)}, capacity)
