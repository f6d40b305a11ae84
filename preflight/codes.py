"""The code tables of the event tables (``PostTypes``, ``VoteTypes``, ``CloseReasonTypes`` ...),
built from the model's own enumerations in :mod:`sim.store` and :mod:`sim.population`, so a name
can never drift from the code the simulation writes.

Where the Stack Exchange data dump has its own code values (``PostTypeId``, ``VoteTypeId``,
``PostHistoryTypeId``, the close reasons kept in ``PostHistory.Comment``) the tables use the
dump's; the trust & safety codes the dump does not publish use the model's own.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from sim.population import Kind
from sim.store import (
    Action,
    Cause,
    CloseReason,
    EditKind,
    EditState,
    FlagKind,
    FlagStatus,
    Harm,
    PostType,
    ReviewResult,
    ReviewTaskState,
    ReviewTaskType,
    Source,
    StaffCase,
    Tone,
    VoteType,
)


class PostHistoryType(IntEnum):
    """``PostHistoryTypeId`` as in the data dump (the events the model has)."""

    INITIAL_TITLE = 1
    INITIAL_BODY = 2
    INITIAL_TAGS = 3
    EDIT_BODY = 5
    ROLLBACK_BODY = 8
    POST_CLOSED = 10
    POST_REOPENED = 11
    POST_DELETED = 12
    POST_UNDELETED = 13
    SUGGESTED_EDIT_APPLIED = 24


class LinkType(IntEnum):
    """``LinkTypeId`` of ``PostLinks`` as in the data dump (the model links only duplicates)."""

    LINKED = 1
    DUPLICATE = 3


#: The dump's close reason ids (``PostHistory.Comment`` of a close, the codes in use since 2013)
#: for the model's :class:`sim.store.CloseReason`, with the dump's names.
CLOSE_REASON_CODES = {
    CloseReason.DUPLICATE: (101, "Duplicate"),
    CloseReason.OFF_TOPIC: (102, "Off-topic"),
    CloseReason.NEEDS_DETAILS: (103, "Unclear what you're asking"),
    CloseReason.OPINION: (105, "Primarily opinion-based"),
}

#: The dump's names of the post and vote types the model has.
DUMP_NAMES: dict[type[IntEnum], dict[int, str]] = {
    PostType: {PostType.QUESTION: "Question", PostType.ANSWER: "Answer"},
    VoteType: {VoteType.ACCEPT: "AcceptedByOriginator", VoteType.UP: "UpMod", VoteType.DOWN: "DownMod",
               VoteType.CLOSE: "Close", VoteType.REOPEN: "Reopen"},
    PostHistoryType: {PostHistoryType.INITIAL_TITLE: "Initial Title", PostHistoryType.INITIAL_BODY: "Initial Body",
                      PostHistoryType.INITIAL_TAGS: "Initial Tags", PostHistoryType.EDIT_BODY: "Edit Body",
                      PostHistoryType.ROLLBACK_BODY: "Rollback Body", PostHistoryType.POST_CLOSED: "Post Closed",
                      PostHistoryType.POST_REOPENED: "Post Reopened", PostHistoryType.POST_DELETED: "Post Deleted",
                      PostHistoryType.POST_UNDELETED: "Post Undeleted",
                      PostHistoryType.SUGGESTED_EDIT_APPLIED: "Suggested Edit Applied"},
    LinkType: {LinkType.LINKED: "Linked", LinkType.DUPLICATE: "Duplicate"},
    # SEDE's ReviewTaskTypes, ReviewTaskResultTypes and ReviewTaskStates
    ReviewTaskType: {ReviewTaskType.SUGGESTED_EDIT: "Suggested Edit", ReviewTaskType.CLOSE_VOTES: "Close Votes",
                     ReviewTaskType.LOW_QUALITY_POSTS: "Low Quality Posts", ReviewTaskType.FIRST_POST: "First Post",
                     ReviewTaskType.LATE_ANSWER: "Late Answer", ReviewTaskType.REOPEN_VOTE: "Reopen Vote",
                     ReviewTaskType.STAGING_GROUND: "Staging Ground (Preflight's code)"},
    ReviewResult: {ReviewResult.APPROVE: "Approve", ReviewResult.REJECT: "Reject", ReviewResult.CLOSE: "Close",
                   ReviewResult.LOOKS_OK: "Looks OK", ReviewResult.DO_NOT_CLOSE: "Do Not Close",
                   ReviewResult.RECOMMEND_DELETION: "Recommend Deletion", ReviewResult.IM_DONE: "I'm Done",
                   ReviewResult.REOPEN: "Reopen", ReviewResult.LEAVE_CLOSED: "Leave Closed",
                   ReviewResult.NO_ACTION_NEEDED: "No Action Needed"},
    ReviewTaskState: {ReviewTaskState.ACTIVE: "Active", ReviewTaskState.COMPLETED: "Completed",
                      ReviewTaskState.INVALIDATED: "Invalidated"},
}


def display_name(member: IntEnum) -> str:
    """A code's name as the lookup table shows it: the dump's where it has one, else the enum
    member's name in words (``COMMUNITY_FLAGS`` -> ``Community flags``)."""
    dump = DUMP_NAMES.get(type(member), {})
    if member in dump:
        return dump[member]
    return member.name.replace("_", " ").capitalize()


def close_reason_code(reasons: np.ndarray) -> np.ndarray:
    """The dump's close reason ids for the model's close reasons (0 where there is none)."""
    table = np.zeros(max(CloseReason) + 1, dtype=np.int16)
    for reason, (code, _) in CLOSE_REASON_CODES.items():
        table[reason] = code
    return table[np.asarray(reasons, dtype=np.int64)]


#: lookup table name -> the enumeration it lists (``Id``, ``Name``)
LOOKUPS: dict[str, type[IntEnum]] = {
    "PostTypes": PostType, "VoteTypes": VoteType, "PostHistoryTypes": PostHistoryType,
    "FlagTypes": FlagKind, "FlagStatuses": FlagStatus, "Sources": Source, "HarmTypes": Harm,
    "ToneTypes": Tone, "UserKinds": Kind, "RemovalCauses": Cause, "ModeratorActionTypes": Action,
    "StaffCaseTypes": StaffCase, "LinkTypes": LinkType, "ReviewTaskTypes": ReviewTaskType,
    "ReviewTaskResultTypes": ReviewResult, "ReviewTaskStates": ReviewTaskState, "EditKinds": EditKind,
    "EditStates": EditState,
}


def lookup_tables() -> dict[str, dict[str, list]]:
    """Every code table, ``Id`` and ``Name`` columns (``CloseReasonTypes`` with the dump's ids)."""
    tables = {name: {"Id": [int(m) for m in enum], "Name": [display_name(m) for m in enum]}
              for name, enum in LOOKUPS.items()}
    tables["CloseReasonTypes"] = {"Id": [code for code, _ in CLOSE_REASON_CODES.values()],
                                  "Name": [name for _, name in CLOSE_REASON_CODES.values()]}
    return tables
