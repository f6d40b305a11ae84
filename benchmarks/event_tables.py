"""How long writing a run's event tables takes, against the simulation itself, and their size.

    python benchmarks/event_tables.py site=small run.days=60
    python benchmarks/event_tables.py site=small site.registered_users=250000 site.registrations_per_day=1250 run.days=60
    python benchmarks/event_tables.py site=stackoverflow_2018 run.days=365     # the full-scale year

Any Hydra override of ``preflight run`` is accepted. Prints one JSON line: the simulation's and
the tables' wall seconds, the peak memory after the simulation and after the tables, the
tables' total size and each table's rows and bytes; the tables go
to a temporary folder that is removed afterwards (``--keep DIR`` writes them to DIR instead).
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from preflight.compose import compose
from preflight.run import build_site
from preflight.tables import export_tables, write_event_tables


def measure(overrides: list[str], out: Path) -> dict:
    """Simulate, then write the event tables to ``out``; the timings and sizes."""
    _, settings = compose([*overrides, "run.progress=false"])
    t0 = time.perf_counter()
    site = build_site(settings)
    site.run()
    t1 = time.perf_counter()
    rss_run = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    write_event_tables(export_tables(site), out)
    t2 = time.perf_counter()
    rss_tables = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    files = {p.stem: p for p in sorted(out.glob("*.parquet"))}
    return {
        "overrides": overrides, "simulate_s": round(t1 - t0, 2), "tables_s": round(t2 - t1, 2),
        "peak_rss_mb_simulation": round(rss_run), "peak_rss_mb_with_tables": round(rss_tables),
        "tables_mb": round(sum(p.stat().st_size for p in out.iterdir()) / 1e6, 2),
        "tables": {name: {"rows": pq.ParquetFile(p).metadata.num_rows, "mb": round(p.stat().st_size / 1e6, 3)}
                   for name, p in files.items()},
    }


def main(argv: list[str]) -> None:
    keep = None
    if "--keep" in argv:
        i = argv.index("--keep")
        keep, argv = Path(argv[i + 1]), argv[:i] + argv[i + 2:]
    out = keep or Path(tempfile.mkdtemp(prefix="event_tables_"))
    try:
        print(json.dumps(measure(argv, out)))
    finally:
        if keep is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
