"""SQL over a run's event tables (``preflight sql``): one query printed or written to a file, a
shipped query by name (``preflight/queries/NAME.sql``), or an interactive shell.

Every query runs on an in-memory DuckDB connection holding views over the run's Parquet files
(:func:`preflight.tables.connect`), so the files are never changed and a moved run folder still
works.
"""

from __future__ import annotations

import io
from pathlib import Path

from preflight.files import atomic_parquet, atomic_write
from preflight.tables import connect, table_names

QUERIES = Path(__file__).with_name("queries")


class QueryError(ValueError):
    """Bad input to ``preflight sql``: the message is one line naming what is wrong."""


def shipped_queries() -> dict[str, Path]:
    """The shipped queries, name -> file."""
    return {p.stem: p for p in sorted(QUERIES.glob("*.sql"))}


def shipped_query(name: str) -> str:
    """The text of shipped query ``name``."""
    found = shipped_queries()
    if name not in found:
        raise QueryError(f"--query {name}: unknown query (allowed: {', '.join(found)})")
    return found[name].read_text()


def open_run(run_dir: Path | str):
    """A DuckDB connection over the event tables of ``run_dir`` (the run folder or its ``tables/``)."""
    run_dir = Path(run_dir)
    folder = run_dir / "tables" if (run_dir / "tables").is_dir() else run_dir
    if not run_dir.is_dir():
        raise QueryError(f"{run_dir}: no such folder (allowed: a run folder written with run.event_tables=true)")
    if "PostsWithDeleted" not in table_names(folder):
        raise QueryError(f"{run_dir}: no event tables here (allowed: a run folder written with "
                         f"run.event_tables=true, or its tables/ folder)")
    return connect(folder)


def run_query(con, query: str):
    """The result of ``query`` as a pyarrow table; bad SQL as a one-line :class:`QueryError`."""
    import duckdb

    try:
        relation = con.sql(query)
        if relation is None:
            raise QueryError("the query returns no rows (allowed: a SELECT, WITH ... SELECT, or another "
                             "statement that returns a result)")
        return relation.fetch_arrow_table()
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise QueryError(f"bad SQL: {first}") from None


def print_table(table, max_rows: int = 200) -> None:
    """Print a result as a text table (DuckDB's own box format), at most ``max_rows`` rows (the
    first and last) shown; ``--csv`` or ``--parquet`` writes them all."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.register("result", table)
    con.sql("SELECT * FROM result").show(max_rows=max_rows, max_width=100_000, null_value="NULL")


def write_result(table, path: Path | str, kind: str) -> Path:
    """Write a result to ``path`` as ``csv`` or ``parquet``, atomically."""
    path = Path(path)
    if not path.parent.is_dir():
        raise QueryError(f"--{kind} {path}: no such folder {path.parent} (allowed: a file in an existing folder)")
    if kind == "parquet":
        return atomic_parquet(table, path)
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return atomic_write(path, buffer.getvalue())


def shell(con, read=input, write=print, show=print_table) -> None:
    """A read-eval loop: statements end with ``;``; ``.tables`` lists the tables; ``.quit`` or an
    end of input leaves. Errors are printed and the loop goes on."""
    write("preflight sql: DuckDB over the run's tables; end statements with ';', .tables lists them, .quit leaves")
    pending: list[str] = []
    while True:
        try:
            line = read("sql> " if not pending else "...> ")
        except EOFError:
            return
        if not pending and line.strip() in (".quit", ".exit"):
            return
        if not pending and line.strip() == ".tables":
            write(", ".join(r[0] for r in con.sql("SELECT table_name FROM information_schema.tables "
                                                   "ORDER BY table_name").fetchall()))
            continue
        pending.append(line)
        if not line.rstrip().endswith(";"):
            continue
        query, pending = "\n".join(pending), []
        try:
            show(run_query(con, query))
        except QueryError as err:
            write(f"error: {err}")
