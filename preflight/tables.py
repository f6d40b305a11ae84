"""The event tables of a run: the Stack Exchange data dump's tables (:mod:`preflight.dump_tables`),
the trust & safety tables the dump lacks (:mod:`preflight.safety_tables`) and the code tables
(:mod:`preflight.codes`), written as Parquet files (zstd, dictionary-encoded, one row group per
batch) with a DuckDB database ``events.duckdb`` of views over them. docs/data.md describes them.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pyarrow as pa

from preflight.codes import lookup_tables
from preflight.dump_tables import Export, dump_tables, whole
from preflight.files import atomic_parquet_batches
from preflight.outputs import file_mode
from preflight.safety_tables import safety_tables

#: The views over the tables, as SEDE has them: the dump's ``Posts`` and ``Comments`` hold only
#: what is not deleted.
VIEWS = {
    "Posts": "SELECT * FROM PostsWithDeleted WHERE DeletionDate IS NULL",
    "Comments": "SELECT * FROM CommentsWithDeleted WHERE DeletionDate IS NULL",
}
DATABASE = "events.duckdb"


def start_microseconds(start_date: str) -> int:
    """Microseconds since 1970 of midnight on ``start_date`` (``YYYY-MM-DD``): simulated minute 0."""
    day = datetime.date.fromisoformat(start_date)
    return (day - datetime.date(1970, 1, 1)).days * 86_400_000_000


def export_tables(site) -> dict[str, Export]:
    """Every event table of a finished run, by name, ready to be written in batches."""
    start_us = start_microseconds(site.settings.run.start_date)
    lookups = {name: whole(pa.table(cols)) for name, cols in lookup_tables().items()}
    return {**dump_tables(site, start_us), **safety_tables(site, start_us), **lookups}


def write_event_tables(tables: dict[str, Export], out: Path) -> Path:
    """Write each table to ``out/NAME.parquet`` and ``out/events.duckdb`` (views over the files,
    by absolute path; ``preflight sql`` makes its own views, so a moved folder still works)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, export in tables.items():
        atomic_parquet_batches(export.batches(), out / f"{name}.parquet", dictionary=code_columns)
    _write_database(out, list(tables))
    return out


def code_columns(schema: pa.Schema) -> list[str]:
    """The columns Parquet dictionary-encodes: codes (``...Id`` columns of small integers), flags
    and text drawn from a few values. Ids and times are left plain: a dictionary of unique values
    only costs time and space."""
    return [f.name for f in schema if f.type in (pa.int16(), pa.int8(), pa.bool_()) or pa.types.is_dictionary(f.type)
            or f.type == pa.string()]


def create_views(con, folder: Path, names: list[str], derived: bool = True) -> None:
    """One view per table over its Parquet file, and (``derived``) the views of :data:`VIEWS`."""
    for name in names:
        path = (Path(folder).resolve() / f"{name}.parquet").as_posix().replace("'", "''")
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    for name, query in VIEWS.items() if derived else ():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {query}")


def _write_database(out: Path, names: list[str]) -> None:
    import duckdb

    tmp = out / f".{DATABASE}.tmp"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        create_views(con, out, names)
    finally:
        con.close()
    os.chmod(tmp, file_mode())
    os.replace(tmp, out / DATABASE)


def write_sweep_database(path: Path, runs: dict[str, Path]) -> Path | None:
    """One DuckDB database over the event tables of many runs (``run id -> tables folder``): each
    table a view over every run's Parquet file with a ``RunId`` column first (the lookup tables,
    the same in every run, once, from the first run). None when no run has tables."""
    import duckdb

    runs = {run: Path(folder) for run, folder in runs.items() if (Path(folder) / "PostsWithDeleted.parquet").is_file()}
    if not runs:
        return None
    lookups = set(lookup_tables())
    names = sorted(set.intersection(*(set(table_names(f)) for f in runs.values())))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        create_views(con, next(iter(runs.values())), [n for n in names if n in lookups], derived=False)
        for name in (n for n in names if n not in lookups):
            parts = [f"SELECT {_quoted(run)} AS RunId, * FROM read_parquet({_quoted(str((f / f'{name}.parquet').resolve()))})"
                     for run, f in runs.items()]
            con.execute(f"CREATE OR REPLACE VIEW {name} AS " + " UNION ALL ".join(parts))
        for name, query in VIEWS.items():
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {query}")
    finally:
        con.close()
    os.chmod(tmp, file_mode())
    os.replace(tmp, path)
    return path


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_names(folder: Path) -> list[str]:
    """The tables written to ``folder`` (its Parquet files), sorted."""
    return sorted(p.stem for p in Path(folder).glob("*.parquet"))


def connect(folder: Path):
    """An in-memory DuckDB connection with views over the tables in ``folder``."""
    import duckdb

    con = duckdb.connect(":memory:")
    create_views(con, folder, table_names(folder))
    return con
