"""The tables the Stack Exchange data dump publishes, built from a finished run: ``Users``,
``PostsWithDeleted``, ``Votes``, ``CommentsWithDeleted``, ``PostHistory``, ``PostLinks``,
``SuggestedEdits``, ``Tags``, ``PostTags``.

Column names, code values and NULLs follow the dump (docs/data.md lists every column and which
are Preflight's additions). Ids count from 1 (a row's position plus one); a missing reference is
NULL; times are ``TIMESTAMP``s, the run's start date plus the simulated minutes. Each table is a
:class:`Export`: its rows built slice by slice, so a large table never exists whole in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preflight.codes import LinkType, PostHistoryType, close_reason_code
from sim.arrivals import uniform
from sim.store import NONE, CloseReason, EditKind, EditState, PostType, VoteType

#: Rows per batch (and per Parquet row group).
BATCH_ROWS = 1 << 20


@dataclass
class Export:
    """One table to write: its rows, and a builder of the rows ``lo:hi`` as a pyarrow table (or,
    for a table made of parts, ``chunks``: its batches in order, the first carrying the schema)."""

    rows: int
    build: Callable[[int, int], pa.Table] | None = None
    chunks: Callable[[], Iterator[pa.Table]] | None = None

    def batches(self, size: int = BATCH_ROWS) -> Iterator[pa.Table]:
        """The table in slices of ``size`` rows (one empty slice for an empty table: its schema)."""
        if self.chunks is not None:
            yield from self.chunks()
            return
        for lo in range(0, max(self.rows, 1), size):
            yield self.build(lo, min(self.rows, lo + size))


def whole(table: pa.Table) -> Export:
    """An :class:`Export` of a table built in one piece (the derived and the small tables)."""
    return Export(table.num_rows, lambda lo, hi: table.slice(lo, hi - lo))


def ref(rows: np.ndarray) -> pa.Array:
    """Row positions as the dump's ids (from 1); ``NONE`` as NULL."""
    rows = np.asarray(rows, dtype=np.int64)
    return pa.array(rows + 1, mask=rows < 0)


def stamp(minutes: np.ndarray, start_us: int, missing: bool = True) -> pa.Array:
    """Simulated minutes as ``TIMESTAMP``s from the start date (``start_us``: microseconds since
    1970); ``NONE`` as NULL unless ``missing`` is False (a user's negative joining minute is real)."""
    minutes = np.asarray(minutes, dtype=np.int64)
    mask = (minutes == NONE) if missing else None
    return pa.array(start_us + minutes * 60_000_000, type=pa.int64(), mask=mask).cast(pa.timestamp("us"))


def code(values: np.ndarray, null_when: int | None = None) -> pa.Array:
    """A code column (small integers; Parquet dictionary-encodes it); ``null_when`` as NULL."""
    values = np.asarray(values)
    mask = None if null_when is None else values == null_when
    return pa.array(values.astype(np.int16), mask=mask)


def users(site, start_us: int) -> Export:
    """``Users``: every account, bad actors' included (their kind is in ``GroundTruth``)."""
    u = site.users
    v = site.votes.frame()
    counted = ~v["reversed"] & (v["voter"] >= 0)
    up = np.bincount(v["voter"][counted & (v["vote_type"] == VoteType.UP)], minlength=u.n)[: u.n]
    down = np.bincount(v["voter"][counted & (v["vote_type"] == VoteType.DOWN)], minlength=u.n)[: u.n]
    regions = pa.array(u.region_names, type=pa.string())

    def build(lo: int, hi: int) -> pa.Table:
        return pa.table({
            "Id": ref(np.arange(lo, hi)), "Reputation": pa.array(u.reputation[lo:hi].astype(np.int32)),
            "CreationDate": stamp(u.joined[lo:hi], start_us, missing=False),
            "DisplayName": pc.binary_join_element_wise("user", pa.array(np.arange(lo + 1, hi + 1)).cast(pa.string()), ""),
            "Location": pa.DictionaryArray.from_arrays(pa.array(u.region[lo:hi].astype(np.int8)), regions),
            "UpVotes": pa.array(up[lo:hi].astype(np.int32)), "DownVotes": pa.array(down[lo:hi].astype(np.int32)),
        })

    return Export(u.n, build)


def _live_children(parents: np.ndarray, deleted: np.ndarray, n: int) -> np.ndarray:
    """Per post, how many non-deleted children (answers or comments) point at it."""
    keep = (parents >= 0) & ~deleted
    return np.bincount(parents[keep], minlength=n)[:n]


def posts(site, start_us: int, closed_now: np.ndarray) -> Export:
    """``PostsWithDeleted`` (the ``Posts`` view keeps the rows whose ``DeletionDate`` is NULL).

    ``closed_now``: which posts are closed at the end (the dump's ``ClosedDate`` is NULL once a
    question is reopened; :func:`reopenings`)."""
    p, c = site.posts.frame(), site.comments.frame()
    n = site.posts.n
    answers = _live_children(np.where(p["kind"] == PostType.ANSWER, p["parent"], NONE), p["removed_at"] != NONE, n)
    comments = _live_children(c["post"], c["removed_at"] != NONE, n)
    tag_names = pa.array([f"<topic-{t}>" for t in range(int(site.settings.site.topics))], type=pa.string())

    def build(lo: int, hi: int) -> pa.Table:
        q = p["kind"][lo:hi] == PostType.QUESTION
        topic = p["topic"][lo:hi].astype(np.int64)
        return pa.table({
            "Id": ref(np.arange(lo, hi)), "PostTypeId": code(p["kind"][lo:hi]),
            "AcceptedAnswerId": ref(np.where(q, p["accepted"][lo:hi], NONE)),
            "ParentId": ref(np.where(q, NONE, p["parent"][lo:hi])),
            "CreationDate": stamp(p["created"][lo:hi], start_us),
            "DeletionDate": stamp(p["removed_at"][lo:hi], start_us),
            "Score": pa.array(p["score"][lo:hi].astype(np.int32)),
            "ViewCount": pa.array(np.rint(p["views"][lo:hi]).astype(np.int64), mask=~q),
            "OwnerUserId": ref(p["owner"][lo:hi]),
            "Tags": pa.DictionaryArray.from_arrays(pa.array(topic.astype(np.int16), mask=~q), tag_names),
            "AnswerCount": pa.array(answers[lo:hi].astype(np.int32), mask=~q),
            "CommentCount": pa.array(comments[lo:hi].astype(np.int32)),
            "ClosedDate": stamp(np.where(closed_now[lo:hi], p["closed_at"][lo:hi], NONE), start_us),
            "PublishedDate": stamp(p["published_at"][lo:hi], start_us),
            "HiddenDate": stamp(p["hidden_at"][lo:hi], start_us),
            "RemovalCauseId": code(p["removal_cause"][lo:hi], null_when=0),
        })

    return Export(n, build)


def votes(site, start_us: int) -> Export:
    """``Votes``, with the voter (the public dump hides it; the site's own database has it)."""
    v = site.votes.frame()

    def build(lo: int, hi: int) -> pa.Table:
        return pa.table({
            "Id": ref(np.arange(lo, hi)), "PostId": ref(v["post"][lo:hi]), "VoteTypeId": code(v["vote_type"][lo:hi]),
            "UserId": ref(v["voter"][lo:hi]), "CreationDate": stamp(v["created"][lo:hi], start_us),
            "VoterReputation": pa.array(v["voter_rep"][lo:hi].astype(np.int32)),
            "IsReversed": pa.array(v["reversed"][lo:hi]), "IsFraud": pa.array(v["fraud"][lo:hi]),
        })

    return Export(site.votes.n, build)


def comments(site, start_us: int) -> Export:
    """``CommentsWithDeleted`` (the ``Comments`` view keeps the rows whose ``DeletionDate`` is NULL)."""
    c = site.comments.frame()

    def build(lo: int, hi: int) -> pa.Table:
        return pa.table({
            "Id": ref(np.arange(lo, hi)), "PostId": ref(c["post"][lo:hi]), "Score": pa.array(np.zeros(hi - lo, np.int32)),
            "CreationDate": stamp(c["created"][lo:hi], start_us), "UserId": ref(c["author"][lo:hi]),
            "DeletionDate": stamp(c["removed_at"][lo:hi], start_us),
            "RemovalCauseId": code(c["removal_cause"][lo:hi], null_when=0),
        })

    return Export(site.comments.n, build)


def reopenings(site) -> tuple[np.ndarray, np.ndarray]:
    """``(posts, minutes)`` of every reopening: the vote that brought a closed question's reopen
    votes to the threshold (the votes count again from zero after each reopening)."""
    v = site.votes.frame()
    rv = np.flatnonzero(v["vote_type"] == VoteType.REOPEN)
    post, at = v["post"][rv].astype(np.int64), v["created"][rv].astype(np.int64)
    order = np.lexsort((at, post))
    post, at = post[order], at[order]
    starts = np.flatnonzero(np.concatenate(([True], post[1:] != post[:-1]))) if post.size else post[:0]
    rank = np.arange(post.size) - np.repeat(starts, np.diff(np.append(starts, post.size)))
    done = (rank + 1) % site.settings.rules.reopen_vote_threshold == 0
    return post[done], at[done]


def closed_now(site, reopened: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Which posts are closed at the end of the run: closed, and not reopened since."""
    closed_at = site.posts.column("closed_at").astype(np.int64)
    out = closed_at != NONE
    post, at = reopened
    later = at > closed_at[post]
    out[post[later]] = False
    return out


def _history_parts(site, reopened: tuple[np.ndarray, np.ndarray]) -> list[Callable[[], tuple]]:
    """The events of ``PostHistory``, one part per kind of event, each made only when written:
    ``(type, posts, minutes, user, comment code, removal cause)``."""
    p, r = site.posts.frame(), site.restorations.frame()
    kind = p["kind"]

    def initial(t: PostHistoryType, questions_only: bool):
        ids = np.flatnonzero(kind == PostType.QUESTION) if questions_only else np.arange(site.posts.n)
        return t, ids, p["created"][ids], p["owner"][ids], 0, 0

    def closed():
        ids = np.flatnonzero(p["closed_at"] != NONE)
        return PostHistoryType.POST_CLOSED, ids, p["closed_at"][ids], NONE, close_reason_code(p["close_reason"][ids]), 0

    def undone(t: PostHistoryType):
        rows = np.flatnonzero(r["removed_at"] != NONE)
        at, cause = (r["removed_at"][rows], r["cause"][rows]) if t is PostHistoryType.POST_DELETED else (r["restored_at"][rows], 0)
        return t, r["post"][rows], at, NONE, 0, cause

    def deleted():
        ids = np.flatnonzero(p["removed_at"] != NONE)
        return PostHistoryType.POST_DELETED, ids, p["removed_at"][ids], NONE, 0, p["removal_cause"][ids]

    def edited(t: PostHistoryType):
        e = site.edits_table.frame() if getattr(site, "edits_table", None) is not None else None
        if e is None:
            return t, np.zeros(0, np.int64), np.zeros(0, np.int64), NONE, 0, 0
        applied = np.isin(e["state"], (EditState.APPLIED, EditState.ROLLED_BACK))
        if t is PostHistoryType.ROLLBACK_BODY:  # (who rolled it back is not recorded)
            rows = np.flatnonzero(e["state"] == EditState.ROLLED_BACK)
            return t, e["post"][rows], e["rolled_back_at"][rows], NONE, 0, 0
        if t is PostHistoryType.SUGGESTED_EDIT_APPLIED:
            applied &= _suggested(e["kind"])
        rows = np.flatnonzero(applied)
        return t, e["post"][rows], e["decided_at"][rows], e["editor"][rows], 0, 0

    return [lambda: initial(PostHistoryType.INITIAL_TITLE, True), lambda: initial(PostHistoryType.INITIAL_BODY, False),
            lambda: initial(PostHistoryType.INITIAL_TAGS, True), closed,
            lambda: (PostHistoryType.POST_REOPENED, reopened[0], reopened[1], NONE, 0, 0),
            lambda: undone(PostHistoryType.POST_DELETED), lambda: undone(PostHistoryType.POST_UNDELETED), deleted,
            lambda: edited(PostHistoryType.EDIT_BODY), lambda: edited(PostHistoryType.SUGGESTED_EDIT_APPLIED),
            lambda: edited(PostHistoryType.ROLLBACK_BODY)]


def _suggested(kind: np.ndarray) -> np.ndarray:
    """Edits that went through the suggested-edits queue (defacing ones always do)."""
    return np.isin(kind, (EditKind.SUGGESTED, EditKind.VANDAL))


def post_history(site, start_us: int, reopened: tuple[np.ndarray, np.ndarray]) -> Export:
    """``PostHistory``: each post's initial revision (title, body, tags of a question; an answer's
    body), closings (close reason id in ``Comment``), reopenings, deletions (each with its one
    ``RemovalCauseId``), undeletions, and edits: every edit that went in (``Edit Body`` by its
    editor; a suggested one also ``Suggested Edit Applied``) and every rollback of a defacing edit. Written part by part (each kind of event in time order),
    so the whole history never exists in memory at once; order by ``CreationDate`` for a timeline."""
    parts = _history_parts(site, reopened)

    def batch(first: int, t: int, post, at, user, comment, cause) -> pa.Table:
        n = np.shape(post)[0]
        comment = np.broadcast_to(np.asarray(comment, dtype=np.int64), (n,))
        return pa.table({
            "Id": ref(first + np.arange(n)), "PostHistoryTypeId": code(np.full(n, int(t))), "PostId": ref(post),
            "CreationDate": stamp(at, start_us), "UserId": ref(np.broadcast_to(np.asarray(user, dtype=np.int64), (n,))),
            "Comment": pa.array(comment, mask=comment == 0).cast(pa.string()),
            "RemovalCauseId": code(np.broadcast_to(np.asarray(cause, dtype=np.int64), (n,)), null_when=0),
        })

    def chunks() -> Iterator[pa.Table]:
        first = 0
        yield batch(0, 0, np.zeros(0, np.int64), np.zeros(0, np.int64), NONE, 0, 0)  # (the schema)
        for make in parts:
            t, post, at, user, comment, cause = make()
            order = np.lexsort((post, at))
            for lo in range(0, order.size, BATCH_ROWS):
                rows = order[lo:lo + BATCH_ROWS]
                pick = [v[rows] if np.ndim(v) else v for v in (user, comment, cause)]
                yield batch(first + lo, t, post[rows], at[rows], *pick)
            first += order.size

    return Export(0, chunks=chunks)


def tags(site) -> dict[str, Export]:
    """``Tags`` (one per topic, named ``topic-N``; ``Count``: questions not deleted) and
    ``PostTags`` (each question's tag)."""
    p = site.posts.frame()
    q = np.flatnonzero(p["kind"] == PostType.QUESTION)
    topics = int(site.settings.site.topics)
    live = q[p["removed_at"][q] == NONE]
    counts = np.bincount(p["topic"][live].astype(np.int64), minlength=topics)[:topics]
    tag_table = pa.table({"Id": ref(np.arange(topics)), "TagName": [f"topic-{t}" for t in range(topics)],
                          "Count": pa.array(counts.astype(np.int32))})
    post_tags = Export(q.size, lambda lo, hi: pa.table({"PostId": ref(q[lo:hi]),
                                                        "TagId": ref(p["topic"][q[lo:hi]].astype(np.int64))}))
    return {"Tags": whole(tag_table), "PostTags": post_tags}


def suggested_edits(site, start_us: int) -> Export:
    """``SuggestedEdits``: every edit suggested below the edit privilege, as in the dump (``Id`` is
    the edit's ``PostEdits.Id``, which ``ReviewTasks.SuggestedEditId`` names; ``ApprovalDate`` or
    ``RejectionDate`` once the queue decided)."""
    if getattr(site, "edits_table", None) is None:
        return whole(pa.table({"Id": pa.array([], pa.int64())}))
    e = site.edits_table.frame()
    rows = np.flatnonzero(_suggested(e["kind"]))
    decided = np.where(e["state"][rows] == EditState.PENDING, NONE, e["decided_at"][rows])
    approved = np.where(e["state"][rows] == EditState.REJECTED, NONE, decided)
    rejected = np.where(e["state"][rows] == EditState.REJECTED, decided, NONE)

    def build(lo: int, hi: int) -> pa.Table:
        return pa.table({"Id": ref(rows[lo:hi]), "PostId": ref(e["post"][rows[lo:hi]]),
                         "CreationDate": stamp(e["created"][rows[lo:hi]], start_us),
                         "ApprovalDate": stamp(approved[lo:hi], start_us), "RejectionDate": stamp(rejected[lo:hi], start_us),
                         "OwnerUserId": ref(e["editor"][rows[lo:hi]])})

    return Export(rows.size, build)


def duplicate_targets(site, questions: np.ndarray) -> np.ndarray:
    """The question each duplicate ``questions`` duplicates: the model marks a question as a
    duplicate of an earlier one without saying which, so the target is drawn here, once and the
    same in every export (a hash of the run's seed and the question): an earlier question on the
    same topic, in proportion to its views at the end of the run (canonical questions are the
    much-viewed ones). ``NONE`` where the topic has no earlier question."""
    p = site.posts.frame()
    q = np.flatnonzero(p["kind"] == PostType.QUESTION)
    q = q[np.lexsort((q, p["topic"][q]))]  # by topic, then by id (ids are in creation order)
    topic = p["topic"][q].astype(np.int64)
    cum = np.cumsum(p["views"][q].astype(np.float64) + 1.0)  # (+1: a question no one viewed yet can be one)
    starts = np.searchsorted(topic, topic)
    before = np.concatenate(([0.0], cum))  # before[i]: the views of positions < i, plus one each
    where = np.empty(site.posts.n, np.int64)
    where[q] = np.arange(q.size)
    k = where[np.asarray(questions, np.int64)]
    keys = np.asarray(questions, np.int64).astype(np.uint64) ^ np.uint64(site.settings.seed)
    u = uniform(keys, "duplicate_target")
    first = k == starts[k]
    lo, hi = before[starts[k]], before[k]  # the topic's questions before this one
    pick = np.searchsorted(cum, lo + u * (hi - lo), side="right")
    pick = np.minimum(pick, np.maximum(k - 1, 0))
    return np.where(first, NONE, q[pick])


def post_links(site, start_us: int, closed_now: np.ndarray) -> Export:
    """``PostLinks``: a ``Duplicate`` link (``LinkTypeId`` 3) from each question closed as a
    duplicate, and not reopened, to the question it duplicates (:func:`duplicate_targets`),
    created when it was closed."""
    p = site.posts.frame()
    dup = np.flatnonzero(closed_now & (p["close_reason"] == CloseReason.DUPLICATE) & (p["kind"] == PostType.QUESTION))
    target = duplicate_targets(site, dup)
    dup, target = dup[target != NONE], target[target != NONE]
    order = np.lexsort((dup, p["closed_at"][dup]))
    dup, target = dup[order], target[order]
    return whole(pa.table({"Id": ref(np.arange(dup.size)), "CreationDate": stamp(p["closed_at"][dup], start_us),
                           "PostId": ref(dup), "RelatedPostId": ref(target),
                           "LinkTypeId": code(np.full(dup.size, int(LinkType.DUPLICATE)))}))


def dump_tables(site, start_us: int) -> dict[str, Export]:
    """Every table of the dump the model has, by name."""
    reopened = reopenings(site)
    closed = closed_now(site, reopened)
    return {
        "Users": users(site, start_us), "PostsWithDeleted": posts(site, start_us, closed),
        "Votes": votes(site, start_us), "CommentsWithDeleted": comments(site, start_us),
        "PostHistory": post_history(site, start_us, reopened), "PostLinks": post_links(site, start_us, closed),
        "SuggestedEdits": suggested_edits(site, start_us), **tags(site),
    }
