"""Gather a sweep's run summaries into one table: ``results.parquet`` and ``results.duckdb``.

One row per run directory (a directory holding ``summary.json``), sorted by its path relative
to the sweep directory. Columns: ``run_dir``, ``scenario``, ``site``, ``seed``, every metric,
then every configuration key whose value differs between the runs (dotted names such as
``run.days``; quote them in SQL), the Hydra ``overrides`` of the job and the ``git_commit``::

    duckdb outputs/multirun/<time>/results.duckdb \\
        "SELECT scenario, avg(harm_exposure) FROM runs GROUP BY scenario"

``preflight collect DIR`` runs it by hand; :class:`CollectSweep` runs it at the end of every
``-m`` sweep (a Hydra callback, see ``conf/config.yaml``).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from hydra.experimental.callback import Callback

RESULTS_PARQUET, RESULTS_DUCKDB, TABLE = "results.parquet", "results.duckdb", "runs"
#: The runs' event tables, gathered (when any run wrote them): views with a ``RunId`` column.
EVENTS_DUCKDB = "events.duckdb"
_ID_COLUMNS = ("run_dir", "scenario", "site", "seed")


class NoRunsError(ValueError):
    """The directory is missing or holds no ``summary.json``."""


def collect(sweep_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``results.parquet`` and ``results.duckdb`` (table ``runs``) into ``sweep_dir``.

    Args:
        sweep_dir: A directory with run directories somewhere below it.

    Returns:
        ``(parquet_path, duckdb_path)``.

    Raises:
        NoRunsError: ``sweep_dir`` is not a directory or holds no ``summary.json``.
    """
    root = Path(sweep_dir)
    if not root.is_dir():
        raise NoRunsError(f"{root}: no such directory")
    paths = sorted(root.rglob("summary.json"), key=lambda p: p.parent.relative_to(root).as_posix())
    if not paths:
        raise NoRunsError(f"{root}: no summary.json below this directory (is it a sweep or compare directory?)")
    summaries = read_summaries(paths)
    if not summaries:
        raise NoRunsError(f"{root}: no readable summary.json below this directory ({len(paths)} malformed)")
    table = runs_table(root, list(summaries), list(summaries.values()))
    parquet = root / RESULTS_PARQUET
    _write_parquet(table, parquet)
    duckdb_path = root / RESULTS_DUCKDB
    _write_duckdb(parquet, duckdb_path)
    gather_event_tables(root, paths)
    return parquet, duckdb_path


def gather_event_tables(root: Path, paths: list[Path]) -> Path | None:
    """``root/events.duckdb``: every run's event tables (runs written with ``run.event_tables=true``)
    as views over their Parquet files, each row with its ``RunId`` (the ``run_dir`` of table ``runs``);
    no copy is made. None when no run has tables."""
    from preflight.tables import write_sweep_database

    runs = {p.parent.relative_to(root).as_posix(): p.parent / "tables" for p in paths}
    return write_sweep_database(root / EVENTS_DUCKDB, runs)


def read_summaries(paths: list[Path]) -> dict[Path, dict]:
    """The readable summaries at ``paths``; each malformed one (a job killed mid-write, a file that is
    not a summary) is skipped with a warning naming it, and a count at the end."""
    out = {}
    for path in paths:
        try:
            summary = json.loads(path.read_text())
            if not isinstance(summary, dict) or not isinstance(summary.get("metrics", {}), dict):
                raise ValueError("not a run summary")
            out[path] = summary
        except (OSError, UnicodeDecodeError, ValueError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            sys.stderr.write(f"preflight: warning: collect: skipped {path} ({reason})\n")
    skipped = len(paths) - len(out)
    if skipped:
        sys.stderr.write(f"preflight: warning: collect: skipped {skipped} malformed summary.json of {len(paths)}\n")
    return out


def runs_table(root: Path, paths: list[Path], summaries: list[dict] | None = None):
    """The flat table (a ``pyarrow.Table``) of the summaries at ``paths`` (read here unless given)."""
    import pyarrow as pa

    from sim.config import flatten
    from sim.metric_registry import flat

    if summaries is None:
        summaries = [json.loads(p.read_text()) for p in paths]
    for s in summaries:  # metrics grouped by family in summary.json; one column each here
        s["metrics"] = flat(s.get("metrics", {}))
    metric_names = _union(s["metrics"] for s in summaries)
    configs = [flatten(s.get("config", {})) for s in summaries]
    varying = [k for k in _union(configs) if k != "seed" and len({_key(c.get(k)) for c in configs}) > 1]
    columns: dict[str, list] = {
        "run_dir": [p.parent.relative_to(root).as_posix() for p in paths],
        "scenario": [s.get("scenario") for s in summaries],
        "site": [s.get("site") for s in summaries],
        "seed": [s.get("seed") for s in summaries],
    }
    for name in metric_names:
        columns[name] = [_number(s.get("metrics", {}).get(name)) for s in summaries]
    for key in varying:
        if key not in columns:
            columns[key] = _uniform([c.get(key) for c in configs])
    columns["overrides"] = [_overrides(p.parent) for p in paths]
    columns["git_commit"] = [s.get("provenance", {}).get("git_commit") for s in summaries]
    return pa.table({k: pa.array(v) for k, v in columns.items()})


def _union(dicts) -> list[str]:
    """Keys of all mappings in first-seen order."""
    seen: dict[str, None] = {}
    for d in dicts:
        seen.update(dict.fromkeys(d))
    return list(seen)


def _key(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _number(value) -> float | None:
    """A metric value as float; missing or NaN (``null`` in the summary) stays null."""
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _uniform(values: list) -> list:
    """One Arrow-friendly type per column: numbers as float, else text (JSON for lists)."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present):
        return values
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return [None if v is None else float(v) for v in values]
    return [None if v is None else (v if isinstance(v, str) else _key(v)) for v in values]


def _overrides(run_dir: Path) -> str:
    """The Hydra overrides of the job (``.hydra/overrides.yaml``), space-separated, or ''."""
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return ""
    import yaml

    return " ".join(str(o) for o in yaml.safe_load(path.read_text()) or [])


def _write_parquet(table, path: Path) -> None:
    from preflight.files import atomic_parquet

    atomic_parquet(table, path)


def _write_duckdb(parquet: Path, path: Path) -> None:
    import duckdb

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM read_parquet(?) ORDER BY run_dir",
                        [parquet.as_posix()])
        finally:
            con.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def collect_main(argv: list[str]) -> None:
    """``preflight collect DIR``: gather DIR's summaries; exit 2 with one line on bad input."""
    usage = "usage: preflight collect DIR   (writes DIR/results.parquet and DIR/results.duckdb, table runs)"
    if argv[:1] in (["-h"], ["--help"]):
        print(usage)
        return
    if len(argv) != 1:
        sys.stderr.write(f"preflight: error: collect takes one directory, got {len(argv)} arguments; {usage}\n")
        raise SystemExit(2)
    try:
        parquet, db = collect(argv[0])
    except NoRunsError as err:
        sys.stderr.write(f"preflight: error: collect: {err}\n")
        raise SystemExit(2) from None
    _announce(parquet, db)


def _announce(parquet: Path, db: Path) -> None:
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(parquet).metadata.num_rows
    print(f"collected {rows} runs: {parquet}\n  SQL: duckdb {db} \"SELECT * FROM {TABLE}\"")
    events = parquet.with_name(EVENTS_DUCKDB)
    if events.is_file():
        print(f"  event tables of every run (column RunId): {events}")


class CollectSweep(Callback):
    """Hydra callback: collect the sweep directory when a ``-m`` sweep ends.

    A sweep whose jobs wrote no ``summary.json`` below the sweep directory (e.g. ``compare -m``
    with ``compare.out`` set elsewhere) is left alone with a note. After ``compare -m`` the
    process exits with the worst verdict of the sweep (FAIL 1, INCONCLUSIVE 3), so a review
    pipeline can gate on a sweep as on a single comparison.
    """

    def on_multirun_end(self, config, **kwargs) -> None:
        from experiments.compare import sweep_verdict
        from experiments.guardrails import exit_code

        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            _announce(*collect(sweep_dir))
        except NoRunsError as err:
            sys.stderr.write(f"preflight: collect skipped: {err}\n")
        verdict = sweep_verdict(sweep_dir)
        if verdict is not None:
            print(f"sweep verdict: {verdict} (exit code {exit_code(verdict)})")
        failed = failed_jobs(sweep_dir)
        if failed:
            jobs = max(_job_count(sweep_dir), len(failed))
            listed = ", ".join(str(p) for p in failed)
            sys.stderr.write(f"preflight: error: sweep: {len(failed)} of {jobs} jobs failed ({listed}); the "
                             f"others were collected\n")
            raise SystemExit(JOB_FAILED_EXIT)
        if verdict is not None and exit_code(verdict):
            raise SystemExit(exit_code(verdict))


JOB_FAILED_EXIT = 1  # like any command that fails with a traceback
JOB_ERROR_FILE = "error.txt"


def failed_jobs(sweep_dir: Path) -> list[Path]:
    """The ``error.txt`` files that failed sweep jobs left in their folders (see ``preflight.cli``)."""
    return sorted(Path(sweep_dir).rglob(JOB_ERROR_FILE))


def _job_count(sweep_dir: Path) -> int:
    """Sweep jobs started: each has Hydra's ``.hydra`` folder (or, without it, a result or an error)."""
    started = {p.parent for p in Path(sweep_dir).rglob(".hydra") if p.is_dir()}
    return len(started) or len(list(Path(sweep_dir).rglob("summary.json"))) + len(failed_jobs(sweep_dir))
