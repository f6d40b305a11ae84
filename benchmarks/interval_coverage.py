"""Coverage study of the comparison statistics on the small site (docs/statistics.md).

Two steps:

    # 1. simulate both arms of each scenario on many paired seeds, cached per seed (resumable)
    python benchmarks/interval_coverage.py collect --seeds 320 --jobs 2
    # 2. recompute every interval and verdict from the cached runs; write the tables
    python benchmarks/interval_coverage.py study --write-docs

``collect`` appends one row per (arm, seed) with every metric to
``benchmarks/results/coverage/<scenario>.csv`` (it skips seeds already there, so an interrupted
collection resumes). ``study`` needs no simulation: the "truth" of a metric is its mean paired
difference over all cached seeds; coverage is the share of disjoint k-seed subsets whose interval
contains it (and, more precisely, the share of k-seed samples drawn with replacement from the
cached seeds, whose true mean is known exactly). Results go to
``benchmarks/results/coverage.json`` and, with ``--write-docs``, into the table between the
markers in ``docs/statistics.md``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
RUNS_DIR = RESULTS / "coverage"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: the study's site and run length: small and short, so hundreds of seeds take minutes
STUDY_OVERRIDES = ("site=small", "run.days=40", "run.warmup_days=10", "run.progress=false")
#: scenarios simulated on paired seeds (both arms)
STUDY_SCENARIOS = ("moderator_strike", "close_votes_3", "more_moderators")
DEFAULT_SEEDS = 320
CHUNK_SEEDS = 8  # seeds simulated between two appends to the cache (an interruption loses at most this)
ARMS = ("baseline", "scenario")


# --- step 1: simulate -------------------------------------------------------------------------


def _settings(scenario: str):
    from sim.cli import compose

    return compose([*STUDY_OVERRIDES, f"scenario={scenario}"])[1]


def _one(settings, arm: str, seed: int) -> dict:
    from experiments.compare import baseline_of
    from sim.run import simulate

    arm_settings = baseline_of(settings) if arm == "baseline" else settings
    result = simulate(dataclasses.replace(arm_settings, seed=seed), progress=False, keep_tables=False)
    return {"arm": arm, "seed": seed, **{k: _num(v) for k, v in result.metrics.items()}}


def _num(value) -> float:
    return math.nan if value is None else float(value)


def cache_path(scenario: str) -> Path:
    return RUNS_DIR / f"{scenario}.csv"


def load_runs(scenario: str) -> dict[str, dict[int, dict[str, float]]]:
    """Cached runs of a scenario: ``{arm: {seed: {metric: value}}}``."""
    out: dict[str, dict[int, dict[str, float]]] = {arm: {} for arm in ARMS}
    path = cache_path(scenario)
    if not path.exists():
        return out
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            arm, seed = row.pop("arm"), int(row.pop("seed"))
            out[arm][seed] = {k: (math.nan if v in ("", "nan") else float(v)) for k, v in row.items()}
    return out


def collect(scenarios, n_seeds: int, jobs: int) -> None:
    from joblib import Parallel, delayed

    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    for scenario in scenarios:
        settings = _settings(scenario)
        done = load_runs(scenario)
        todo = [s for s in range(n_seeds) if not all(s in done[arm] for arm in ARMS)]
        t0 = time.perf_counter()
        for lo in range(0, len(todo), CHUNK_SEEDS):
            seeds = todo[lo:lo + CHUNK_SEEDS]
            rows = Parallel(n_jobs=jobs, backend="loky")(
                delayed(_one)(settings, arm, seed) for seed in seeds for arm in ARMS)
            _append(cache_path(scenario), rows)
            print(f"{scenario}: seeds up to {seeds[-1]} cached ({time.perf_counter() - t0:.0f} s)", flush=True)


def _append(path: Path, rows: list[dict]) -> None:
    new = not path.exists()
    fields = list(rows[0])
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: ("nan" if isinstance(v, float) and math.isnan(v) else repr(v) if isinstance(v, float)
                                 else v) for k, v in row.items()})
        handle.flush()
        os.fsync(handle.fileno())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="simulate and cache per-seed metrics")
    c.add_argument("--scenario", action="append", help="scenario(s) to simulate (default: the study's)")
    c.add_argument("--seeds", type=int, default=DEFAULT_SEEDS)
    c.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "collect":
        collect(args.scenario or STUDY_SCENARIOS, args.seeds, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
