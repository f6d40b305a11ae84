"""The trust & safety tables the public dump does not publish, in the dump's naming style:
``Flags``, ``ModeratorActions``, ``Suspensions``, ``Detections``, ``Escalations``, ``Appeals`` and
``GroundTruth`` (what every
post, comment and account really is), plus the review tables when the site records reviews.

Moderators are not accounts in the model: they are ``ModeratorId`` 1, 2 ... in their order of
election. A flag or a removal settled without a moderator names its ``RemovalCauses`` code.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from preflight.dump_tables import Export, code, ref, stamp, whole
from sim.store import (
    MODERATOR_ID_BASE,
    NONE,
    Action,
    Cause,
    FlagStatus,
    Source,
    StaffCase,
    Target,
    low_quality,
)


def moderator_id(handler: np.ndarray) -> pa.Array:
    """The ``ModeratorId`` (1, 2 ...) of a handler or actor code; NULL when it is not a moderator."""
    handler = np.asarray(handler, dtype=np.int64)
    return pa.array(MODERATOR_ID_BASE - handler + 1, mask=handler > MODERATOR_ID_BASE)


def _targets(target: np.ndarray, item: np.ndarray) -> dict[str, pa.Array]:
    """``PostId``, ``CommentId`` and ``TargetUserId`` of a flag, action or detection: the one its
    target names, the others NULL."""
    target, item = np.asarray(target), np.asarray(item, dtype=np.int64)
    return {name: ref(np.where(target == kind, item, NONE))
            for name, kind in (("PostId", Target.POST), ("CommentId", Target.COMMENT), ("TargetUserId", Target.USER))}


def flags(site, start_us: int) -> Export:
    """``Flags``: raised by users (``UserId``) or by automated defenders (``SourceId``)."""
    f = site.flags_table.frame()

    def build(lo: int, hi: int) -> pa.Table:
        h, status = f["handler"][lo:hi].astype(np.int64), f["status"][lo:hi]
        settled = status != FlagStatus.PENDING
        by_cause = settled & (h < 0) & (h > MODERATOR_ID_BASE) & (-h <= max(Cause))
        return pa.table({
            "Id": ref(np.arange(lo, hi)), "FlagTypeId": code(f["kind"][lo:hi]),
            **_targets(f["target"][lo:hi], f["item"][lo:hi]),
            "UserId": ref(np.where(f["source"][lo:hi] == Source.USER, f["flagger"][lo:hi], NONE)),
            "SourceId": code(f["source"][lo:hi]), "CreationDate": stamp(f["created"][lo:hi], start_us),
            "FlagStatusId": code(status), "HandledDate": stamp(np.where(settled, f["handled_at"][lo:hi], NONE), start_us),
            "HandledByModeratorId": moderator_id(np.where(settled, h, NONE)),
            "HandledByCauseId": code(np.where(by_cause, -h, 0), null_when=0),
            "IsTargetBad": pa.array(f["truth_bad"][lo:hi]),
        })

    return Export(site.flags_table.n, build)


def _actions_columns(a: dict, rows: np.ndarray, start_us: int) -> dict[str, pa.Array]:
    return {
        "CreationDate": stamp(a["created"][rows], start_us), "ModeratorId": moderator_id(a["actor"][rows]),
        "SourceId": code(a["source"][rows]), "UserId": ref(a["user"][rows]),
        "CauseFlagId": ref(a["cause_flag"][rows]), "CauseDetectionId": ref(a["cause_detection"][rows]),
    }


def moderator_actions(site, start_us: int) -> Export:
    """``ModeratorActions``: every action of moderators, staff and the site's automatic rules."""
    a = site.actions.frame()

    def build(lo: int, hi: int) -> pa.Table:
        rows = np.arange(lo, hi)
        targets = _targets(a["target"][rows], a["item"][rows])
        return pa.table({
            "Id": ref(rows), "ActionTypeId": code(a["action"][rows]), **_actions_columns(a, rows, start_us),
            "PostId": targets["PostId"], "CommentId": targets["CommentId"],
            "DurationDays": pa.array(a["days"][rows].astype(np.float64)),
            "ReversedDate": stamp(a["reversed_at"][rows], start_us), "IsWrongful": pa.array(a["wrongful"][rows]),
        })

    return Export(site.actions.n, build)


def suspensions(site, start_us: int) -> Export:
    """``Suspensions``: the suspending actions, with when each ends (``EndDate``) and whether it was
    lifted early (``LiftedDate``, e.g. an upheld appeal)."""
    a = site.actions.frame()
    rows = np.flatnonzero(a["action"] == Action.SUSPEND)
    ends = a["created"][rows].astype(np.int64) + np.rint(a["days"][rows] * 24 * 60).astype(np.int64)
    return whole(pa.table({
        "Id": ref(np.arange(rows.size)), "ModeratorActionId": ref(rows), **_actions_columns(a, rows, start_us),
        "EndDate": stamp(ends, start_us), "DurationDays": pa.array(a["days"][rows].astype(np.float64)),
        "LiftedDate": stamp(a["reversed_at"][rows], start_us), "IsWrongful": pa.array(a["wrongful"][rows]),
    }))


def detections(site, start_us: int) -> Export:
    """``Detections``: what the automated detectors caught (``SourceId`` names the detector)."""
    d = site.detections.frame()

    def build(lo: int, hi: int) -> pa.Table:
        targets = _targets(d["target"][lo:hi], d["item"][lo:hi])
        return pa.table({
            "Id": ref(np.arange(lo, hi)), "CreationDate": stamp(d["created"][lo:hi], start_us),
            "SourceId": code(d["source"][lo:hi]), "PostId": targets["PostId"], "CommentId": targets["CommentId"],
            "UserId": ref(d["user"][lo:hi]), "IsTargetBad": pa.array(d["truth_bad"][lo:hi]),
        })

    return Export(site.detections.n, build)


def escalations(site, start_us: int) -> Export:
    """``Escalations``: cases about an account sent to staff (``StaffCaseTypeId``: a threat from a
    moderator's flag, voting fraud from a detection), and when staff worked them."""
    k = site.staff_cases.frame()
    rows = np.flatnonzero(k["kind"] != StaffCase.APPEAL)
    return whole(pa.table({
        "Id": ref(np.arange(rows.size)), "CreationDate": stamp(k["created"][rows], start_us),
        "StaffCaseTypeId": code(k["kind"][rows]), "UserId": ref(k["user"][rows]),
        "CauseFlagId": ref(k["cause_flag"][rows]), "CauseDetectionId": ref(k["cause_detection"][rows]),
        "HandledDate": stamp(k["handled_at"][rows], start_us),
    }))


def appeals(site, start_us: int) -> Export:
    """``Appeals``: sanctions appealed to staff, when staff decided, and whether they upheld it
    (``IsUpheld`` NULL while the appeal waits)."""
    k = site.staff_cases.frame()
    rows = np.flatnonzero(k["kind"] == StaffCase.APPEAL)
    handled = k["handled_at"][rows] != NONE
    return whole(pa.table({
        "Id": ref(np.arange(rows.size)), "CreationDate": stamp(k["created"][rows], start_us),
        "ModeratorActionId": ref(k["action"][rows]), "UserId": ref(k["user"][rows]),
        "HandledDate": stamp(k["handled_at"][rows], start_us),
        "IsUpheld": pa.array(k["upheld"][rows], mask=~handled),
    }))


#: ``GroundTruth``'s columns: one row per post, comment and account, the columns that do not apply NULL.
TRUTH_SCHEMA = pa.schema([
    ("PostId", pa.int64()), ("CommentId", pa.int64()), ("UserId", pa.int64()), ("HarmTypeId", pa.int16()),
    ("ToneTypeId", pa.int16()), ("UserKindId", pa.int16()), ("Quality", pa.float64()), ("IsCorrect", pa.bool_()),
    ("IsLowQuality", pa.bool_()), ("IsAiGenerated", pa.bool_()), ("IsDuplicate", pa.bool_()),
    ("IsCloseWorthy", pa.bool_()), ("Views", pa.float64()),
])


def _truth(n: int, **columns: pa.Array) -> pa.Table:
    return pa.table({f.name: columns.get(f.name, pa.nulls(n, f.type)).cast(f.type) for f in TRUTH_SCHEMA},
                    schema=TRUTH_SCHEMA)


def ground_truth(site) -> Export:
    """``GroundTruth``: each post's hidden labels (harm, quality, correct, AI-written, duplicate,
    deserving closure) and the views it drew while readers could see it (answers included, which
    the dump's ``ViewCount`` leaves NULL), each comment's harm and tone, each account's kind (who
    controls it)."""
    p, c, u = site.posts.frame(), site.comments.frame(), site.users
    junk = low_quality(p["quality"], p["correct"], p["kind"], site.settings.population.low_quality_threshold)
    n_p, n_c = site.posts.n, site.comments.n

    def build(lo: int, hi: int) -> pa.Table:
        parts = []
        s = slice(max(lo, 0), min(hi, n_p))
        if s.start < s.stop:
            parts.append(_truth(s.stop - s.start, PostId=ref(np.arange(s.start, s.stop)), HarmTypeId=code(p["harm"][s]),
                                Quality=pa.array(p["quality"][s]), IsCorrect=pa.array(p["correct"][s]),
                                IsLowQuality=pa.array(junk[s]), IsAiGenerated=pa.array(p["ai"][s]),
                                IsDuplicate=pa.array(p["duplicate"][s]), IsCloseWorthy=pa.array(p["close_worthy"][s]),
                                Views=pa.array(p["views"][s].astype(np.float64))))
        s = slice(max(lo - n_p, 0), max(min(hi - n_p, n_c), 0))
        if s.start < s.stop:
            parts.append(_truth(s.stop - s.start, CommentId=ref(np.arange(s.start, s.stop)), HarmTypeId=code(c["harm"][s]),
                                ToneTypeId=code(c["tone"][s])))
        s = slice(max(lo - n_p - n_c, 0), max(hi - n_p - n_c, 0))
        if s.start < s.stop:
            parts.append(_truth(s.stop - s.start, UserId=ref(np.arange(s.start, s.stop)),
                                UserKindId=code(u.kind[s])))
        return pa.concat_tables(parts) if parts else _truth(0)

    return Export(n_p + n_c + u.n, build)


def review_tables(site, start_us: int) -> dict[str, Export]:
    """``ReviewTasks`` and ``ReviewTaskResults`` (as on SEDE: the dump's task type, state and result
    codes, plus the queue's name, the reviewer and the audit outcome), and ``PostEdits`` (every
    edit, with its ground truth); nothing when the site records no reviews."""
    if getattr(site, "review_results", None) is None:
        return {}
    from sim.metric_registry import REVIEW_QUEUES

    names = pa.array(list(REVIEW_QUEUES)).dictionary_encode()
    t, r, e = site.review_tasks.frame(), site.review_results.frame(), site.edits_table.frame()

    def tasks(lo: int, hi: int) -> pa.Table:
        return pa.table({
            "Id": ref(np.arange(lo, hi)), "ReviewTaskTypeId": code(t["kind"][lo:hi]),
            "Queue": names.take(pa.array(t["queue"][lo:hi].astype(np.int32))),
            "CreationDate": stamp(t["created"][lo:hi], start_us), "ReviewTaskStateId": code(t["state"][lo:hi]),
            "PostId": ref(t["post"][lo:hi]), "SuggestedEditId": ref(t["edit"][lo:hi]),
            "CompletedByReviewTaskId": ref(t["completed_by"][lo:hi]),
            "DeletionDate": stamp(t["completed_at"][lo:hi], start_us), "IsAudit": pa.array(t["audit"][lo:hi]),
        })

    def results(lo: int, hi: int) -> pa.Table:
        return pa.table({
            "Id": ref(np.arange(lo, hi)), "ReviewTaskId": ref(r["task"][lo:hi]),
            "ReviewTaskResultTypeId": code(r["result"][lo:hi]),
            "Queue": names.take(pa.array(r["queue"][lo:hi].astype(np.int32))),
            "CreationDate": stamp(r["created"][lo:hi], start_us), "UserId": ref(r["reviewer"][lo:hi]),
            "IsAudit": pa.array(r["audit"][lo:hi]), "AuditPassed": pa.array(r["audit_passed"][lo:hi]),
        })

    def edits(lo: int, hi: int) -> pa.Table:
        return pa.table({
            "Id": ref(np.arange(lo, hi)), "PostId": ref(e["post"][lo:hi]), "UserId": ref(e["editor"][lo:hi]),
            "CreationDate": stamp(e["created"][lo:hi], start_us), "EditKindId": code(e["kind"][lo:hi]),
            "Improves": pa.array(e["improves"][lo:hi]), "EditStateId": code(e["state"][lo:hi]),
            "DecisionDate": stamp(e["decided_at"][lo:hi], start_us),
            "RolledBackDate": stamp(e["rolled_back_at"][lo:hi], start_us),
        })

    return {"ReviewTasks": Export(site.review_tasks.n, tasks), "ReviewTaskResults": Export(site.review_results.n, results),
            "PostEdits": Export(site.edits_table.n, edits)}


def safety_tables(site, start_us: int) -> dict[str, Export]:
    """Every trust & safety table, by name."""
    return {"Flags": flags(site, start_us), "ModeratorActions": moderator_actions(site, start_us),
            "Suspensions": suspensions(site, start_us), "Detections": detections(site, start_us),
            "Escalations": escalations(site, start_us), "Appeals": appeals(site, start_us),
            "GroundTruth": ground_truth(site), **review_tables(site, start_us)}
