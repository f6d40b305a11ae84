"""Run one simulation and write its run directory (docs/design.md, section 5), atomically."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from preflight.files import atomic_parquet, atomic_write, json_ready
from preflight.progress import bar, day_counter
from preflight.provenance import provenance
from preflight.tables import export_tables, write_event_tables
from sim.clock import MINUTES_PER_DAY
from sim.config import Settings, to_tree
from sim.metric_registry import DIRECTIONS, by_family
from sim.metrics import RunRecord, removal_survival, summarize, window_of


@dataclass
class RunResult:
    """What one run produced.

    Attributes:
        metrics: Metric name -> value over the measurement window.
        fairness: Per-metric group breakdowns.
        series: Daily time series (column -> values).
        events: Simulated platform events (posts, comments, votes, flags, actions, detections).
        wall_time_s: Wall-clock seconds.
        tables: The event tables, when kept (name -> :class:`preflight.dump_tables.Export`).
        survival: Time to removal as survival estimates (:func:`sim.metrics.removal_survival`).
    """

    settings: Settings
    metrics: dict[str, float]
    fairness: dict[str, dict]
    series: dict[str, np.ndarray]
    events: int
    views: float
    wall_time_s: float
    tables: dict = field(default_factory=dict)
    survival: dict[str, list[float]] = field(default_factory=dict)


def build_site(settings: Settings):
    """The model with the scenario's levers attached (the levers act through its extension points)."""
    from agents.model import Site
    from scenarios import build_levers

    return Site(settings, levers=build_levers(settings.scenario))


def simulate(settings: Settings, progress: bool = False, keep_tables: bool | None = None) -> RunResult:
    """Build the site, run it for ``run.days`` and summarise.

    Args:
        settings: Validated settings.
        progress: Show a progress bar over the simulated days on stderr (only on a terminal and
            outside sweep jobs: :mod:`preflight.progress`).
        keep_tables: Keep the event tables (default: ``run.event_tables``).
    """
    t0 = time.perf_counter()
    site = build_site(settings)
    days = math.ceil(site.total_ticks * settings.run.tick_minutes / MINUTES_PER_DAY)
    with bar(days, f"{settings.scenario.name} seed {settings.seed}", "day", progress) as days_done:
        site.run(day_counter(days_done, settings.run.tick_minutes, MINUTES_PER_DAY))
        days_done.update(days - days_done.n)  # a last part-day
    record, window = RunRecord.of(site), window_of(site)
    metrics, fairness = summarize(record, window)
    survival = removal_survival(record, window)
    del record
    events = site.platform_events()
    tables = export_tables(site) if (settings.run.event_tables if keep_tables is None else keep_tables) else {}
    series = site.recorder.series()
    return RunResult(settings, metrics, fairness, series, events, float(series["views"].sum()),
                     time.perf_counter() - t0, tables, survival)


def summary_dict(result: RunResult, command: str | None = None, whatif: dict | None = None,
                 extra: dict | None = None) -> dict:
    """``summary.json``: metrics, fairness, the resolved config and the provenance (plus ``extra``)."""
    return {
        "metrics": json_ready(by_family(result.metrics)),
        "directions": {k: DIRECTIONS.get(k, "neutral") for k in result.metrics},
        "fairness": json_ready(result.fairness), "events": result.events, "scenario": result.settings.scenario.name,
        "site": result.settings.site.name, "seed": result.settings.seed,
        "provenance": {**provenance(result.settings, command, whatif), **(extra or {})},
        "config": json_ready(to_tree(result.settings)),
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


def write_run(result: RunResult, out_dir: Path, command: str | None = None, whatif: dict | None = None,
              extra: dict | None = None) -> Path:
    """Write ``config.yaml``, ``timeseries.parquet``, event tables and, last, ``summary.json``.

    ``summary.json`` is written last, so a directory without it is an interrupted run.
    """
    import pyarrow as pa

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "config.yaml", yaml.safe_dump(json_ready(to_tree(result.settings)), sort_keys=False).encode())
    table = pa.table({k: pa.array(v) for k, v in result.series.items()})
    atomic_parquet(table, out_dir / "timeseries.parquet")
    if result.tables:
        write_event_tables(result.tables, out_dir / "tables")
    atomic_write(out_dir / "timing.json", json.dumps({"wall_time_s": round(result.wall_time_s, 3),
                                                     "events": result.events}, indent=2).encode())
    summary = summary_dict(result, command, whatif, extra)
    atomic_write(out_dir / "summary.json", summary_json(summary))
    return out_dir
