"""The event tables of a run: columns in the Stack Exchange data-dump schema, written as Parquet
files and one DuckDB database."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from preflight.files import atomic_parquet
from preflight.outputs import file_mode


def export_tables(site) -> dict[str, dict[str, np.ndarray]]:
    """Event tables in the Stack Exchange data-dump schema (plus Flags and ModActions)."""
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
