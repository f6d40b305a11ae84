"""Throughput benchmark: simulated days per second, platform events per second, peak memory.

Each measurement runs in a fresh subprocess (so peak RSS is that run's own) on one core.

    python benchmarks/throughput.py                      # small and stackoverflow_2018, one year each
    python benchmarks/throughput.py --repeats 3          # median of 3 runs per preset
    python benchmarks/throughput.py --scaling            # + cost vs registered users (1e4 ... 2e6)
    python benchmarks/throughput.py --years 10           # + ten simulated years of the full-scale site
    python benchmarks/throughput.py --smoke              # a few seconds; for the CI regression check

Results are printed as a table and written to ``benchmarks/results/throughput.json`` (or
``smoke.json``). Events are simulated platform events: posts, comments, votes, flags, reviews,
moderator and detector actions; views are counted separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from preflight.compose import compose
from preflight.run import build_site
from sim.metrics import summarize
overrides = json.loads(sys.argv[1])
_, settings = compose(overrides)
t_import = time.perf_counter()
# compiled kernels: compiled once per machine and cached on disk; loaded (or compiled) here, apart
_, tiny = compose(["site=small", "run.days=2", "run.warmup_days=0", "run.progress=false"])
build_site(tiny).run()
t_jit = time.perf_counter()
site = build_site(settings)
t_build = time.perf_counter()
site.run()
t_run = time.perf_counter()
metrics, _ = summarize(site)
events = site.platform_events()
print(json.dumps({
    "startup_s": (t_import - t0) + (t_build - t_jit), "import_s": t_import - t0, "build_s": t_build - t_jit,
    "jit_s": t_jit - t_import,
    "run_s": t_run - t_build, "summary_s": time.perf_counter() - t_run, "events": events,
    "views": float(site.recorder.series()["views"].sum()), "days": settings.run.days,
    "registered_users": settings.site.registered_users, "accounts_at_end": int(site.users.n),
    "questions_per_day": metrics["questions_per_day"],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
}))
"""


def measure(overrides: list[str]) -> dict:
    """One run in a fresh single-threaded subprocess."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-c", CHILD, json.dumps(overrides)]
    if sys.platform.startswith("linux") and os.path.exists("/usr/bin/taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE.parent)
    if out.returncode != 0:
        raise SystemExit(f"benchmark run failed ({' '.join(overrides)}):\n{out.stderr[-2000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["wall_s"] = time.perf_counter() - t0
    row["sim_days_per_s"] = row["days"] / row["run_s"]
    row["events_per_s"] = row["events"] / row["run_s"]
    row["overrides"] = overrides
    return row


def median_of(overrides: list[str], repeats: int) -> dict:
    rows = [measure(overrides) for _ in range(repeats)]
    rows.sort(key=lambda r: r["run_s"])
    best = dict(rows[len(rows) // 2])
    best["run_s_all"] = [round(r["run_s"], 3) for r in rows]
    best["repeats"] = repeats
    return best


def preset(name: str, days: float) -> list[str]:
    return [f"site={name}", f"run.days={days}", "run.warmup_days=0", "run.progress=false", "seed=0"]


def scaled(users: int, days: float) -> list[str]:
    """The full-scale preset with every population-proportional quantity scaled to ``users``."""
    f = users / 1_000_000
    out = preset("stackoverflow_2018", days) + [
        f"site.registered_users={users}", f"site.registrations_per_day={2500 * f:g}",
        f"moderation.moderators.count={max(1, round(25 * f))}", f"moderation.staff.count={max(1, round(4 * f))}"]
    for family, count in (("spammers", 60), ("harassers", 20), ("trolls", 20), ("voting_rings", 30),
                          ("ai_farmers", 10), ("serial_downvoters", 20)):
        out.append(f"bad_actors.{family}.count={max(1, round(count * f))}")
    return out


def table(rows: list[dict]) -> str:
    head = f"{'case':<34}{'days':>6}{'run s':>9}{'days/s':>9}{'events/s':>12}{'events':>13}{'peak MB':>9}{'start s':>8}{'jit s':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['case']:<34}{r['days']:>6g}{r['run_s']:>9.1f}{r['sim_days_per_s']:>9.2f}"
                     f"{r['events_per_s']:>12,.0f}{r['events']:>13,}{r['peak_rss_mb']:>9.0f}{r['startup_s']:>8.2f}"
                     f"{r.get('jit_s', 0.0):>7.2f}")
    return "\n".join(lines)


def scaling_ratios(rows: list[dict], args: argparse.Namespace) -> dict[str, float]:
    """How cost grows: N years vs one year of the same site (time, and events, since a site that
    grows produces more of them), and 2 M vs 1 M registered users."""
    by_case = {r["case"]: r for r in rows}
    out = {}
    for name in (args.years_sites.split(",") if args.years else []):
        one, many = by_case.get(name), by_case.get(f"{name} x{args.years:g} years")
        if one and many and one["days"] == 365:
            out[f"{name}: {args.years:g} years / 1 year, run time"] = many["run_s"] / one["run_s"]
            out[f"{name}: {args.years:g} years / 1 year, events"] = many["events"] / one["events"]
    one, two = by_case.get("scaling 1,000,000 users, 60 days"), by_case.get("scaling 2,000,000 users, 60 days")
    if one and two:
        out["2 M / 1 M registered users, run time"] = two["run_s"] / one["run_s"]
    return out


def write_json(path: Path, payload: dict) -> None:
    from preflight.files import atomic_write

    atomic_write(path, json.dumps(payload, indent=2).encode())


def machine() -> dict:
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine()}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=365)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--scaling", action="store_true", help="cost vs registered users 1e4..2e6 (60 days each)")
    ap.add_argument("--years", type=float, default=0, help="also run this many simulated years")
    ap.add_argument("--years-sites", default="small", help="sites for --years (comma-separated)")
    ap.add_argument("--smoke", action="store_true", help="small site, 60 days: a few seconds")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    rows = []
    if args.smoke:
        r = median_of(preset("small", 60), max(args.repeats, 3))
        r["case"] = "small (smoke, 60 days)"
        rows.append(r)
        out = args.out or RESULTS / "smoke.json"
    else:
        for name in ("small", "stackoverflow_2018"):
            r = median_of(preset(name, args.days), args.repeats)
            r["case"] = f"{name}"
            rows.append(r)
        if args.years:
            for name in args.years_sites.split(","):
                r = median_of(preset(name, 365 * args.years), 1)
                r["case"] = f"{name} x{args.years:g} years"
                rows.append(r)
        if args.scaling:
            for users in (10_000, 100_000, 500_000, 1_000_000, 2_000_000):
                r = median_of(scaled(users, 60), args.repeats)
                r["case"] = f"scaling {users:,} users, 60 days"
                rows.append(r)
        out = args.out or RESULTS / "throughput.json"
    print(table(rows))
    ratios = scaling_ratios(rows, args)
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    payload = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
               "command": " ".join(["python", "benchmarks/throughput.py", *(argv or sys.argv[1:])]), "rows": rows,
               "ratios": ratios}
    write_json(out, payload)
    print(f"written: {out}")
    return payload


if __name__ == "__main__":
    main()
