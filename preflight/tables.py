"""The event tables of a run: columns in the Stack Exchange data-dump schema, written as Parquet
files and one DuckDB database."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from preflight.files import atomic_parquet
from preflight.outputs import file_mode
from sim.metric_registry import REVIEW_QUEUES


def export_tables(site) -> dict[str, dict[str, np.ndarray]]:
    """Event tables in the Stack Exchange data-dump schema (plus Flags, ModActions and the review
    and edit tables)."""
    p, u, v, c = site.posts.frame(), site.users, site.votes.frame(), site.comments.frame()
    n = u.n
    return {
        "Users": {"Id": np.arange(n), "Reputation": u.col("reputation"), "CreationMinute": u.col("joined"),
                  "Kind": u.col("kind"), "Region": u.col("region"), "Active": u.col("active"),
                  "Suspensions": u.col("suspensions")},
        "Posts": {"Id": np.arange(site.posts.n), "PostTypeId": p["kind"], "ParentId": p["parent"],
                  "OwnerUserId": p["owner"], "CreationMinute": p["created"], "Score": p["score"],
                  "AnswerCount": p["answers"], "AcceptedAnswerId": p["accepted"], "ClosedMinute": p["closed_at"],
                  "DeletionMinute": p["removed_at"], "ViewCount": p["views"], "Harm": p["harm"],
                  "RemovalCause": p["removal_cause"], "RemovedMinute": p["removed_at"]},
        "Votes": {"Id": np.arange(site.votes.n), "PostId": v["post"], "VoteTypeId": v["vote_type"],
                  "UserId": v["voter"], "CreationMinute": v["created"], "VoterReputation": v["voter_rep"],
                  "Reversed": v["reversed"], "Fraud": v["fraud"]},
        "Comments": {"Id": np.arange(site.comments.n), "PostId": c["post"], "UserId": c["author"],
                     "CreationMinute": c["created"], "Tone": c["tone"], "Harm": c["harm"],
                     "TargetUserId": p["owner"][c["post"]], "RemovedMinute": c["removed_at"],
                     "RemovalCause": c["removal_cause"]},
        "Flags": {"Id": np.arange(site.flags_table.n), **site.flags_table.frame()},
        "ModActions": {"Id": np.arange(site.actions.n), **site.actions.frame()},
        **review_tables(site),
    }


def review_tables(site) -> dict[str, dict[str, np.ndarray]]:
    """``ReviewTasks`` and ``ReviewTaskResults`` (codes as in the data dump, plus the queue's name,
    the reviewer and the audit outcome), and ``PostEdits`` (every edit, with its ground truth)."""
    t, r, e = site.review_tasks.frame(), site.review_results.frame(), site.edits_table.frame()
    names = np.asarray(list(REVIEW_QUEUES))
    return {
        "ReviewTasks": {"Id": np.arange(site.review_tasks.n), "ReviewTaskTypeId": t["kind"],
                        "Queue": names[t["queue"]], "CreationMinute": t["created"],
                        "ReviewTaskStateId": t["state"], "PostId": t["post"], "SuggestedEditId": t["edit"],
                        "CompletedByReviewTaskId": t["completed_by"], "CompletionMinute": t["completed_at"],
                        "Audit": t["audit"]},
        "ReviewTaskResults": {"Id": np.arange(site.review_results.n), "ReviewTaskId": r["task"],
                              "ReviewTaskResultTypeId": r["result"], "Queue": names[r["queue"]],
                              "CreationMinute": r["created"], "UserId": r["reviewer"], "Audit": r["audit"],
                              "AuditPassed": r["audit_passed"]},
        "PostEdits": {"Id": np.arange(site.edits_table.n), "PostId": e["post"], "UserId": e["editor"],
                      "CreationMinute": e["created"], "Kind": e["kind"], "Improves": e["improves"],
                      "State": e["state"], "DecisionMinute": e["decided_at"],
                      "RolledBackMinute": e["rolled_back_at"]},
    }


def write_event_tables(tables: dict, out: Path) -> None:
    import duckdb
    import pyarrow as pa

    out.mkdir(parents=True, exist_ok=True)
    for name, cols in tables.items():
        atomic_parquet(pa.table({k: pa.array(np.asarray(v)) for k, v in cols.items()}), out / f"{name}.parquet")
    db = out / "events.duckdb"
    tmp = out / ".events.duckdb.tmp"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    for name in tables:
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{(out / f'{name}.parquet').as_posix()}')")
    con.close()
    os.chmod(tmp, file_mode())
    os.replace(tmp, db)
