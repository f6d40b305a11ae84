"""Run one simulation and write its run directory (DESIGN.md section 5), atomically."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import yaml

from sim.config import Settings, to_tree
from sim.metric_registry import DIRECTIONS, by_family
from sim.metrics import RunRecord, removal_survival, summarize, window_of
from sim.outputs import file_mode

PACKAGES = ("mesa", "hydra-core", "omegaconf", "numpy", "scipy", "pandas", "pyarrow", "duckdb", "matplotlib")


@dataclass
class RunResult:
    """What one run produced.

    Attributes:
        metrics: Metric name -> value over the measurement window.
        fairness: Per-metric group breakdowns.
        series: Daily time series (column -> values).
        events: Simulated platform events (posts, comments, votes, flags, actions, detections).
        wall_time_s: Wall-clock seconds.
        tables: The event tables, when kept.
        survival: Time to removal as survival estimates (:func:`sim.metrics.removal_survival`).
    """

    settings: Settings
    metrics: dict[str, float]
    fairness: dict[str, dict]
    series: dict[str, np.ndarray]
    events: int
    views: float
    wall_time_s: float
    tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    survival: dict[str, list[float]] = field(default_factory=dict)


def simulate(settings: Settings, progress: bool = False, keep_tables: bool | None = None) -> RunResult:
    """Build the site, run it for ``run.days`` and summarise.

    Args:
        settings: Validated settings.
        progress: Print a progress line per simulated week to stderr.
        keep_tables: Keep the event tables (default: ``run.event_tables``).
    """
    from sim.model import Site

    t0 = time.perf_counter()
    site = Site(settings)

    def report(done: int, total: int) -> None:
        day = done * settings.run.tick_minutes // 1440
        if day % 7 == 0 or done == total:
            rate = done / max(time.perf_counter() - t0, 1e-9)
            sys.stderr.write(f"\r  day {day:>5}/{settings.run.days:g}  ({rate:,.0f} ticks/s)")
            sys.stderr.flush()

    site.run(report if progress else None)
    if progress:
        sys.stderr.write("\n")
    record, window = RunRecord.of(site), window_of(site)
    metrics, fairness = summarize(record, window)
    survival = removal_survival(record, window)
    del record
    events = site.platform_events()
    tables = export_tables(site) if (settings.run.event_tables if keep_tables is None else keep_tables) else {}
    series = site.recorder.series()
    return RunResult(settings, metrics, fairness, series, events, float(series["views"].sum()),
                     time.perf_counter() - t0, tables, survival)


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


MAX_LISTED_FILES = 100  # changed or untracked files named in the provenance (the count is always exact)


def git_state(root: str | os.PathLike | None = None) -> dict:
    """The code's git state: commit, and whether the tree differs from it.

    Untracked files count as a difference (a new lever module changes what runs).

    Args:
        root: A folder in the checkout (default: this package's).

    Returns:
        ``commit`` (``<sha>``, ``<sha>-dirty`` or ``unknown`` outside a checkout), ``dirty``,
        ``modified`` (tracked files changed or staged) and ``untracked`` (not ignored), each list at
        most ``MAX_LISTED_FILES`` long, with their full counts in ``modified_count`` and
        ``untracked_count``.
    """
    here = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    unknown = {"commit": "unknown", "dirty": None, "modified": [], "untracked": [], "modified_count": 0,
               "untracked_count": 0}
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return unknown
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=here,
                                capture_output=True, text=True, timeout=5)
        if status.returncode != 0:
            return unknown
    except (OSError, subprocess.SubprocessError):
        return unknown
    modified, untracked = [], []
    for line in status.stdout.splitlines():
        if len(line) > 3:
            (untracked if line.startswith("??") else modified).append(line[3:])
    dirty = bool(modified or untracked)
    return {"commit": out.stdout.strip() + ("-dirty" if dirty else ""), "dirty": dirty,
            "modified": modified[:MAX_LISTED_FILES], "untracked": untracked[:MAX_LISTED_FILES],
            "modified_count": len(modified), "untracked_count": len(untracked)}


def git_commit() -> str:
    """The commit of the code that ran (``-dirty`` with changed or untracked files; 'unknown' outside
    a git checkout)."""
    return git_state()["commit"]


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(settings: Settings, command: str | None = None, whatif: dict | None = None) -> dict:
    """Everything needed to reproduce a result: seed, command, code (commit, changed and untracked
    files), package versions and the what-if files' own YAML text.

    Args:
        settings: The run's settings.
        command: The command line (default: this process's).
        whatif: ``{group: {option, path, yaml}}`` from :func:`sim.whatif.selected_files`.
    """
    default = os.environ.get("PREFLIGHT_COMMAND") or " ".join(["preflight", *sys.argv[1:]])
    git = git_state()
    return {"seed": settings.seed, "command": command if command is not None else default,
            "git_commit": git["commit"], "git_dirty": git["dirty"], "git_modified": git["modified"],
            "git_untracked": git["untracked"], "git_modified_count": git["modified_count"],
            "git_untracked_count": git["untracked_count"], "packages": package_versions(),
            "whatif": whatif or {}}


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def summary_dict(result: RunResult, command: str | None = None, whatif: dict | None = None,
                 extra: dict | None = None) -> dict:
    """``summary.json``: metrics, fairness, the resolved config and the provenance (plus ``extra``)."""
    return {
        "metrics": _clean(by_family(result.metrics)),
        "directions": {k: DIRECTIONS.get(k, "neutral") for k in result.metrics},
        "fairness": _clean(result.fairness), "events": result.events, "scenario": result.settings.scenario.name,
        "site": result.settings.site.name, "seed": result.settings.seed,
        "provenance": {**provenance(result.settings, command, whatif), **(extra or {})},
        "config": _clean(to_tree(result.settings)),
    }


def summary_json(summary: dict) -> bytes:
    """``summary.json`` text: keys sorted (stable diffs) except in the configuration, whose order is
    part of it (region groups and levers are set up in that order), so it re-runs exactly."""
    def ordered(value, keep: bool):
        if isinstance(value, dict):
            items = value.items() if keep else sorted(value.items(), key=lambda kv: str(kv[0]))
            return {k: ordered(v, keep or k == "config") for k, v in items}
        if isinstance(value, list):
            return [ordered(v, keep) for v in value]
        return value

    return json.dumps(ordered(summary, False), indent=2).encode()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            os.fchmod(fh.fileno(), file_mode())  # mkstemp makes 0600; a result file is the user's like any other
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_run(result: RunResult, out_dir: Path, command: str | None = None, whatif: dict | None = None,
              extra: dict | None = None) -> Path:
    """Write ``config.yaml``, ``timeseries.parquet``, event tables and, last, ``summary.json``.

    ``summary.json`` is written last, so a directory without it is an interrupted run.
    """
    import pyarrow as pa

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "config.yaml", yaml.safe_dump(_clean(to_tree(result.settings)), sort_keys=False).encode())
    table = pa.table({k: pa.array(v) for k, v in result.series.items()})
    atomic_parquet(table, out_dir / "timeseries.parquet")
    if result.tables:
        _write_event_tables(result.tables, out_dir / "tables")
    atomic_write(out_dir / "timing.json", json.dumps({"wall_time_s": round(result.wall_time_s, 3),
                                                     "events": result.events}, indent=2).encode())
    summary = summary_dict(result, command, whatif, extra)
    atomic_write(out_dir / "summary.json", summary_json(summary))
    return out_dir


def atomic_parquet(table, path: Path) -> None:
    """Write a pyarrow table to Parquet via a temporary file in the same directory and a rename."""
    import pyarrow.parquet as pq

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_event_tables(tables: dict, out: Path) -> None:
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
