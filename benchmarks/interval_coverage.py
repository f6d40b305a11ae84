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
    from preflight.compose import compose

    return compose([*STUDY_OVERRIDES, f"scenario={scenario}"])[1]


def _one(settings, arm: str, seed: int) -> dict:
    from experiments.compare import baseline_of
    from preflight.run import simulate

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


# --- step 2: the study ------------------------------------------------------------------------

NULL = "null_aa"  #: baseline seeds paired with other baseline seeds: every true difference is zero
NULL_SOURCE = "moderator_strike"  # whose cached baseline arm (the default site) the null pairs up
STUDY_KS = (4, 8)  #: paired seeds per comparison
RESAMPLED_DRAWS = 1000  #: comparisons per cell drawn with replacement from the cached seeds
QUICK_DRAWS = 200  #: the same, for the CI test (tests/test_coverage.py)
STUDY_SEED = 20261201  # the study's own resampling stream
NOMINAL = 0.95
FALSE_FAIL_TARGET = 0.025  # a guardrail errs towards FAIL with at most alpha/2
TOLERANCE_LEVEL = 0.05  # family-wise: a cell is out of tolerance when its binomial p < this / cells
#: |skewness| of a metric's paired differences (over all cached seeds) above which it counts as
#: strongly skewed (Bulmer's rule of thumb: beyond 1, highly skewed); the t interval's normal
#: approximation needs more than a handful of seeds there, and the table says so
SKEW_LIMIT = 1.0
#: strongly skewed cells must still cover at least this often at 4-8 seeds (a regression floor)
SKEWED_FLOOR = 0.85
BOOTSTRAP_KS = (4, 8, 16, 30, 48)
BOOTSTRAP_DRAWS = 300
BOOTSTRAP_METRICS = ("harm_exposure", "time_to_removal_min_p50", "questions_per_day", "victimization")
SEQUENTIAL = {"first": 4, "batch": 4, "budget": 64}
SEQUENTIAL_DRAWS = 100
#: metrics shown in the docs table (all are measured; the summary line covers the rest)
SHOWN = ("harm_exposure", "time_to_removal_min_p50", "wrongful_rate", "wrongful_rate_worst_to_best",
         "wrongful_actions", "spam_autoflag_precision", "ban_evasions", "questions_per_day",
         "community_share_of_closures", "newcomer_closed_share", "queue_time_p50_min")
DOC = ROOT / "docs" / "statistics.md"
MARKERS = {"coverage": ("<!-- coverage table: start -->", "<!-- coverage table: end -->"),
           "verdicts": ("<!-- verdict table: start -->", "<!-- verdict table: end -->"),
           "bootstrap": ("<!-- bootstrap table: start -->", "<!-- bootstrap table: end -->"),
           "sequential": ("<!-- sequential table: start -->", "<!-- sequential table: end -->")}


@dataclasses.dataclass
class Pool:
    """Cached paired runs of one scenario: per-seed metrics of each arm, aligned by index."""

    name: str
    settings: object
    base: list
    scen: list
    identical: bool = False

    @property
    def size(self) -> int:
        return len(self.base)

    def runs(self, idx) -> dict:
        return {"baseline": [{"metrics": self.base[i], "fairness": {}} for i in idx],
                "scenario": [{"metrics": self.scen[i], "fairness": {}} for i in idx]}

    def skew(self) -> dict:
        """Per metric, the skewness of the paired differences over all seeds (NaN if undefined)."""
        import numpy as np
        from scipy import stats

        out = {}
        for m in self.base[0]:
            d = np.array([s[m] - b[m] for b, s in zip(self.base, self.scen)])
            d = d[~np.isnan(d)]
            out[m] = float(stats.skew(d)) if d.size > 2 and np.ptp(d) > 0 else math.nan
        return out

    def truth(self, idx=None) -> dict:
        """Per metric (mean paired difference, ratio of means - 1) over ``idx`` (all seeds)."""
        import numpy as np

        idx = range(self.size) if idx is None else idx
        out = {}
        for m in self.base[0]:
            b = np.array([self.base[i][m] for i in idx])
            s = np.array([self.scen[i][m] for i in idx])
            keep = ~(np.isnan(b) | np.isnan(s))
            if not keep.any():
                continue
            b, s = b[keep], s[keep]
            rel = s.mean() / b.mean() - 1 if b.mean() > 0 else math.nan
            out[m] = (float((s - b).mean()), float(rel))
        return out


def pools() -> list[Pool]:
    """The scenarios' cached pools, plus the A/A null."""
    out = []
    for name in STUDY_SCENARIOS:
        runs = load_runs(name)
        seeds = sorted(set(runs["baseline"]) & set(runs["scenario"]))
        seeds = seeds[:len(seeds) - len(seeds) % max(STUDY_KS)]
        if seeds:
            out.append(Pool(name, _settings(name), [runs["baseline"][s] for s in seeds],
                            [runs["scenario"][s] for s in seeds]))
    source = load_runs(NULL_SOURCE)["baseline"]
    seeds = sorted(source)
    half = (len(seeds) // 2) - (len(seeds) // 2) % max(STUDY_KS)
    if half:
        out.append(Pool(NULL, _settings("baseline"), [source[s] for s in seeds[:half]],
                        [source[s] for s in seeds[half:2 * half]]))
    return out


def _designs(pool: Pool, k: int, draws: int, rng):
    """(design, list of index sets, truth of each): disjoint real subsets and resampled draws."""
    disjoint = [list(range(i, i + k)) for i in range(0, pool.size - k + 1, k)]
    if pool.name == NULL:  # baseline against baseline: the truth is zero by design
        exact = {m: (0.0, 0.0) for m in pool.base[0]}
    else:
        exact = pool.truth()
    yield "disjoint", disjoint, exact
    yield "resampled", [list(rng.integers(0, pool.size, k)) for _ in range(draws)], pool.truth()


def _harm(rail: dict, truth: dict) -> float:
    """A guardrail's true value on the scale and side its bound is written in."""
    d, rel = truth.get(rail["metric"], (math.nan, math.nan))
    value = rel if "relative" in rail["kind"] else d
    return -value if rail["kind"].endswith("decrease") else value


def _legacy(pool: Pool, idx) -> dict:
    """The intervals and verdicts of the code before the fix (plain paired t; relative = diff / |baseline|)."""
    import numpy as np

    from experiments.compare import guardrails_of
    from experiments.stats import _t_interval

    rows = {}
    for m in pool.base[0]:
        b = np.array([pool.base[i][m] for i in idx])
        s = np.array([pool.scen[i][m] for i in idx])
        keep = ~(np.isnan(b) | np.isnan(s))
        if keep.sum() < 2:
            continue
        b, s = b[keep], s[keep]
        lo, hi = _t_interval(s - b, NOMINAL)
        mb = abs(b.mean())
        rows[m] = (lo, hi, lo / mb if mb else math.nan, hi / mb if mb else math.nan)
    verdicts = []
    for rail in guardrails_of(pool.settings):
        if rail.metric not in rows:
            verdicts.append("INCONCLUSIVE")
            continue
        lo, hi, rlo, rhi = rows[rail.metric]
        low, high = (rlo, rhi) if "relative" in rail.kind else (lo, hi)
        if rail.kind.endswith("decrease"):
            low, high = -high, -low
        verdicts.append("INCONCLUSIVE" if math.isnan(low) else "PASS" if high <= rail.bound
                        else "FAIL" if low > rail.bound else "INCONCLUSIVE")
    return {"rows": rows, "verdicts": verdicts}


def study(draws: int = RESAMPLED_DRAWS, legacy: bool = True, only=None) -> dict:
    """Coverage of every metric's interval and the verdicts' error rates, from the cached runs."""
    import numpy as np

    from experiments.compare import statistics_of

    rng = np.random.default_rng(STUDY_SEED)
    coverage, verdicts = [], []
    for pool in pools():
        if only and pool.name not in only:
            continue
        for k in STUDY_KS:
            for design, subsets, truth in _designs(pool, k, draws, rng):
                cells: dict = {}
                tally = {"comparisons": 0, "FAIL": 0, "PASS": 0, "INCONCLUSIVE": 0, "false_fail": 0,
                         "reversed_label": 0, "labels": 0, "supported": 0, "legacy_false_fail": 0,
                         "legacy_FAIL": 0, "legacy_INCONCLUSIVE": 0, "legacy_reversed_label": 0}
                rails_truth = None
                for idx in subsets:
                    out = statistics_of(pool.settings, pool.runs(idx), identical=pool.identical)
                    rails = out["guardrails"]
                    if rails_truth is None:
                        rails_truth = [_harm(g, truth) > g["bound"] for g in rails]
                        tally["violated"] = [g["name"] for g, v in zip(rails, rails_truth) if v]
                    tally["comparisons"] += 1
                    tally[out["verdict"]] += 1
                    tally["supported"] += out["hypothesis_result"] == "supported"
                    none_violated = not any(rails_truth)
                    tally["false_fail"] += out["verdict"] == "FAIL" and none_violated
                    reversed_label = False
                    for m, row in out["rows"].items():
                        if m not in truth:
                            continue
                        d, rel = truth[m]
                        cell = cells.setdefault(m, {"kind": row["kind"], "diff": [0, 0], "rel": [0, 0],
                                                    "legacy": [0, 0], "legacy_rel": [0, 0], "methods": {},
                                                    "no_claim": 0})
                        cell["methods"][row["method"]] = cell["methods"].get(row["method"], 0) + 1
                        if row.get("degenerate"):  # zero width, not certainty: decides nothing, claims nothing
                            cell["no_claim"] += 1
                        elif not math.isnan(row["ci_low"]):
                            cell["diff"][0] += row["ci_low"] <= d <= row["ci_high"]
                            cell["diff"][1] += 1
                        if math.isfinite(rel) and not math.isnan(row["rel_ci_low"]) and not row.get("degenerate"):
                            cell["rel"][0] += row["rel_ci_low"] <= rel <= row["rel_ci_high"]
                            cell["rel"][1] += 1
                        if row["label"] in ("better", "worse"):
                            tally["labels"] += 1
                            sign = 1.0 if row["ci_low"] > 0 else -1.0
                            reversed_label |= sign * d <= 0
                    tally["reversed_label"] += reversed_label
                    if legacy:
                        old = _legacy(pool, idx)
                        old_verdict = ("FAIL" if "FAIL" in old["verdicts"] else "INCONCLUSIVE"
                                       if "INCONCLUSIVE" in old["verdicts"] else "PASS")
                        tally[f"legacy_{old_verdict}"] = tally.get(f"legacy_{old_verdict}", 0) + 1
                        tally["legacy_false_fail"] += old_verdict == "FAIL" and none_violated
                        old_reversed = False
                        for m, (lo, hi, rlo, rhi) in old["rows"].items():
                            if m not in truth or m not in cells:
                                continue
                            d, rel = truth[m]
                            cells[m]["legacy"][0] += lo <= d <= hi
                            cells[m]["legacy"][1] += 1
                            if math.isfinite(rel) and not math.isnan(rlo):
                                cells[m]["legacy_rel"][0] += rlo <= rel <= rhi
                                cells[m]["legacy_rel"][1] += 1
                            direction = out["rows"][m]["direction"]
                            if direction in ("lower_is_better", "higher_is_better") and (lo > 0 or hi < 0):
                                old_reversed |= (1.0 if lo > 0 else -1.0) * d <= 0
                        tally["legacy_reversed_label"] += old_reversed
                skews = pool.skew()
                for m, cell in cells.items():
                    coverage.append({"scenario": pool.name, "k": k, "design": design, "metric": m,
                                     "skew": skews.get(m, math.nan), **cell})
                verdicts.append({"scenario": pool.name, "k": k, "design": design, **tally})
                print(f"{pool.name} k={k} {design}: {tally['comparisons']} comparisons", flush=True)
    _judge(coverage, verdicts)
    return {"coverage": coverage, "verdicts": verdicts}


def _judge(coverage: list, verdicts: list) -> None:
    """Mark each cell against binomial tolerance (family-wise over all cells of the study)."""
    from scipy import stats

    cells = sum(1 for c in coverage for scale in ("diff", "rel") if c[scale][1])
    level = TOLERANCE_LEVEL / max(cells, 1)
    for c in coverage:
        c["skewed"] = bool(abs(c.get("skew", 0.0)) > SKEW_LIMIT)
        for scale in ("diff", "rel"):
            hit, total = c[scale]
            if not total:
                c[f"{scale}_status"] = "n/a"
                continue
            low_p = stats.binom.cdf(hit, total, NOMINAL)
            high_p = stats.binom.sf(hit - 1, total, NOMINAL)
            c[f"{scale}_status"] = "under" if low_p < level else "conservative" if high_p < level else "ok"
            c[f"{scale}_below_floor"] = bool(stats.binom.cdf(hit, total, SKEWED_FLOOR) < level)
    level = TOLERANCE_LEVEL / max(len(verdicts), 1)
    for v in verdicts:
        v["false_fail_status"] = ("n/a" if v.get("violated") else
                                  "over" if stats.binom.sf(v["false_fail"] - 1, v["comparisons"], FALSE_FAIL_TARGET) < level
                                  else "ok")


def bootstrap_study() -> list:
    """Coverage of the percentile and BCa bootstrap (and the t interval) against the number of pairs."""
    import numpy as np
    from scipy import stats

    from experiments.stats import _t_interval

    rng = np.random.default_rng(STUDY_SEED + 1)
    out = []
    for pool in pools():
        if pool.name == NULL:
            continue
        truth = pool.truth()
        for m in BOOTSTRAP_METRICS:
            diffs = np.array([pool.scen[i][m] - pool.base[i][m] for i in range(pool.size)])
            diffs = diffs[~np.isnan(diffs)]
            if np.unique(diffs).size < 2:  # e.g. a median never reached in the scenario arm
                print(f"bootstrap {pool.name} {m}: not defined ({diffs.size} seeds with a value)", flush=True)
                continue
            for k in BOOTSTRAP_KS:
                hits = {"t": 0, "percentile": 0, "BCa": 0, "BCa or t": 0}
                for _ in range(BOOTSTRAP_DRAWS):
                    x = rng.choice(diffs, k)
                    if np.all(x == x[0]):
                        continue
                    lo, hi = _t_interval(x, NOMINAL)
                    hits["t"] += lo <= truth[m][0] <= hi
                    for method in ("percentile", "BCa"):
                        with np.errstate(all="ignore"):
                            ci = stats.bootstrap((x,), np.mean, method=method, n_resamples=1999,
                                                 rng=rng).confidence_interval
                        hits[method] += ci.low <= truth[m][0] <= ci.high
                    hits["BCa or t"] += min(ci.low, lo) <= truth[m][0] <= max(ci.high, hi)  # compare.ci_method=bootstrap
                out.append({"scenario": pool.name, "metric": m, "k": k, "draws": BOOTSTRAP_DRAWS, **hits})
                print(f"bootstrap {pool.name} {m} k={k}: {hits}", flush=True)
    return out


def sequential_study() -> list:
    """compare.until_decided replayed on resampled seed streams: decisions, errors and seeds used."""
    import dataclasses as dc

    import numpy as np

    from experiments.compare import guardrails_of, statistics_of
    from experiments.stats import spending_levels

    rng = np.random.default_rng(STUDY_SEED + 2)
    out = []
    for pool in pools():
        settings = pool.settings
        names = {g.metric for g in guardrails_of(settings)} | {settings.scenario.primary_metric}
        slim = Pool(pool.name, settings, [{m: r[m] for m in names if m in r} for r in pool.base],
                    [{m: r[m] for m in names if m in r} for r in pool.scen])
        truth = pool.truth()
        alpha = settings.compare.alpha
        plan = spending_levels(SEQUENTIAL["first"], SEQUENTIAL["batch"], SEQUENTIAL["budget"], alpha)
        for rule in ("spending", "naive"):
            tally = {"scenario": pool.name, "rule": rule, "runs": 0, "decided": 0, "wrong": 0, "seeds": [],
                     "undecided": {}}
            for _ in range(SEQUENTIAL_DRAWS):
                stream = list(rng.integers(0, slim.size, SEQUENTIAL["budget"]))
                wrong = False
                for n, a in plan:
                    conf = 1 - (a if rule == "spending" else alpha)
                    res = statistics_of(dc.replace(settings), slim.runs(stream[:n]), conf, identical=False)
                    for g in res["guardrails"]:
                        violated = _harm(g, truth) > g["bound"]
                        wrong |= (g["verdict"] == "FAIL" and not violated) or (g["verdict"] == "PASS" and violated)
                    if res["verdict"] != "INCONCLUSIVE" and all(g["verdict"] != "INCONCLUSIVE" for g in res["guardrails"]):
                        break
                tally["runs"] += 1
                tally["decided"] += all(g["verdict"] != "INCONCLUSIVE" for g in res["guardrails"])
                tally["wrong"] += wrong
                tally["seeds"].append(n)
                for g in res["guardrails"]:
                    if g["verdict"] == "INCONCLUSIVE":
                        tally["undecided"][g["name"]] = tally["undecided"].get(g["name"], 0) + 1
            tally["median_seeds"] = float(np.median(tally.pop("seeds")))
            out.append(tally)
            print(f"sequential {pool.name} {rule}: {tally}", flush=True)
    return out


def _pct(hit: int, total: int) -> str:
    return f"{100 * hit / total:.1f}%" if total else "n/a"


def coverage_table(result: dict) -> str:
    rows = result["coverage"]
    by = {(c["scenario"], c["metric"], c["k"], c["design"]): c for c in rows}
    scenarios = list(dict.fromkeys(c["scenario"] for c in rows))
    mark = {"under": " ✗", "conservative": " ↑", "ok": "", "n/a": ""}
    lines = ["| scenario | metric | kind | skew | method (4 seeds) | " + " | ".join(
        f"{k} seeds: {d}" for k in STUDY_KS for d in ("disjoint", "resampled", "before fix")) + " |",
        "|---|---|---|---:|---|" + "---:|" * (3 * len(STUDY_KS))]
    for sc in scenarios:
        for m in SHOWN:
            first = by.get((sc, m, STUDY_KS[0], "resampled"))
            if not first or not first["diff"][1]:
                continue
            methods = first["methods"]
            method = ", ".join(f"{k} {100 * v / sum(methods.values()):.0f}%" for k, v in
                               sorted(methods.items(), key=lambda kv: -kv[1]))
            if first.get("no_claim"):
                method += f"; zero width, no claim {100 * first['no_claim'] / sum(methods.values()):.0f}%"
            cells = []
            for k in STUDY_KS:
                for d in ("disjoint", "resampled"):
                    c = by.get((sc, m, k, d))
                    cells.append(_pct(*c["diff"]) + mark[c["diff_status"]] if c else "n/a")
                c = by.get((sc, m, k, "resampled"))
                cells.append(_pct(*c["legacy"]) if c else "n/a")
            skew = f"{first['skew']:+.1f}" if math.isfinite(first["skew"]) else "n/a"
            lines.append(f"| {sc} | {m} | {first['kind']} | {skew} | {method} | " + " | ".join(cells) + " |")
    lines += ["", _summary(rows)]
    return "\n".join(lines)


def _summary(rows: list) -> str:
    parts = []
    for scale, label in (("diff", "difference"), ("rel", "relative change")):
        judged = [c for c in rows if c[scale][1]]
        legacy_key = "legacy" if scale == "diff" else "legacy_rel"
        legacy_under = [c for c in judged if c[legacy_key][1] and _below(c[legacy_key], len(judged))]
        for skewed, which in ((False, f"|skew| <= {SKEW_LIMIT:g}"), (True, f"strongly skewed (|skew| > {SKEW_LIMIT:g})")):
            group = [c for c in judged if c["skewed"] == skewed]
            if not group:
                continue
            under = [c for c in group if c[f"{scale}_status"] == "under"]
            cons = [c for c in group if c[f"{scale}_status"] == "conservative"]
            worst = min(group, key=lambda c: c[scale][0] / c[scale][1])
            names = sorted({f"{c['scenario']}/{c['metric']}" for c in under})
            parts.append(
                f"- {label}, metrics with {which}: {len(group)} cells (scenario x metric x seeds x design); "
                f"{len(under)} below tolerance{' (' + ', '.join(names) + ')' if names else ''}, {len(cons)} "
                f"conservative; lowest {_pct(*worst[scale])} ({worst['scenario']}, {worst['metric']}, {worst['k']} "
                f"seeds, {worst['design']}).")
        parts.append(f"- {label}, before the fix: {len(legacy_under)} of {len(judged)} cells below tolerance.")
    return "\n".join(parts)


def _below(hit_total, cells: int) -> bool:
    from scipy import stats

    hit, total = hit_total
    return stats.binom.cdf(hit, total, NOMINAL) < TOLERANCE_LEVEL / max(cells, 1)


def verdict_table(result: dict) -> str:
    lines = ["| scenario | seeds | design | comparisons | violated guardrails (truth) | FAIL | PASS | INCONCLUSIVE | "
             "false FAIL | hypothesis supported | report with a reversed label | before fix: FAIL | before fix: INCONCLUSIVE | "
             "before fix: false FAIL | before fix: reversed label |",
             "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for v in result["verdicts"]:
        n = v["comparisons"]
        false_fail = "n/a (a guardrail is violated)" if v.get("violated") else (
            _pct(v["false_fail"], n) + (" ✗" if v["false_fail_status"] == "over" else ""))
        legacy_ff = "n/a" if v.get("violated") else _pct(v["legacy_false_fail"], n)
        lines.append(f"| {v['scenario']} | {v['k']} | {v['design']} | {n} | {', '.join(v.get('violated') or []) or 'none'} | "
                     f"{_pct(v['FAIL'], n)} | {_pct(v['PASS'], n)} | {_pct(v['INCONCLUSIVE'], n)} | {false_fail} | "
                     f"{_pct(v['supported'], n)} | {_pct(v['reversed_label'], n)} | {_pct(v.get('legacy_FAIL', 0), n)} | "
                     f"{_pct(v.get('legacy_INCONCLUSIVE', 0), n)} | {legacy_ff} | {_pct(v['legacy_reversed_label'], n)} |")
    return "\n".join(lines)


def bootstrap_table(rows: list) -> str:
    lines = ["| scenario | metric | " + " | ".join(f"{k} pairs: t / percentile / BCa / BCa ∪ t" for k in BOOTSTRAP_KS) + " |",
             "|---|---|" + "---:|" * len(BOOTSTRAP_KS)]
    for sc, m in dict.fromkeys((r["scenario"], r["metric"]) for r in rows):
        cells = []
        for k in BOOTSTRAP_KS:
            r = next(x for x in rows if (x["scenario"], x["metric"], x["k"]) == (sc, m, k))
            cells.append(" / ".join(_pct(r[key], r["draws"]) for key in ("t", "percentile", "BCa", "BCa or t")))
        lines.append(f"| {sc} | {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sequential_table(rows: list) -> str:
    lines = ["| scenario | looks at | decided within budget | any wrong guardrail decision | median paired seeds | "
             "still undecided at the end |",
             "|---|---|---:|---:|---:|---|"]
    for r in rows:
        rule = "alpha spending (until_decided)" if r["rule"] == "spending" else "naive: 95% at every look"
        left = ", ".join(f"{name} {_pct(count, r['runs'])}" for name, count in
                         sorted(r["undecided"].items(), key=lambda kv: -kv[1])) or "none"
        lines.append(f"| {r['scenario']} | {rule} | {_pct(r['decided'], r['runs'])} | {_pct(r['wrong'], r['runs'])} | "
                     f"{r['median_seeds']:g} | {left} |")
    return "\n".join(lines)


def write_docs(tables: dict, command: str) -> None:
    text = DOC.read_text()
    for key, table in tables.items():
        start, end = MARKERS[key]
        a, b = text.index(start) + len(start), text.index(end)
        text = text[:a] + f"\n\nMeasured with `{command}`.\n\n{table}\n\n" + text[b:]
    DOC.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="simulate and cache per-seed metrics")
    c.add_argument("--scenario", action="append", help="scenario(s) to simulate (default: the study's)")
    c.add_argument("--seeds", type=int, default=DEFAULT_SEEDS)
    c.add_argument("--jobs", type=int, default=1)
    t = sub.add_parser("study", help="recompute intervals and verdicts from the cached runs; write the tables")
    t.add_argument("--draws", type=int, default=RESAMPLED_DRAWS, help="resampled comparisons per cell")
    t.add_argument("--write-docs", action="store_true", help="write the tables into docs/statistics.md")
    t.add_argument("--skip", action="append", default=[], choices=("bootstrap", "sequential"))
    args = parser.parse_args(argv)
    if args.command == "collect":
        collect(args.scenario or STUDY_SCENARIOS, args.seeds, args.jobs)
        return 0
    import json

    t0 = time.perf_counter()
    result = study(args.draws)
    tables = {"coverage": coverage_table(result), "verdicts": verdict_table(result)}
    if "bootstrap" not in args.skip:
        result["bootstrap"] = bootstrap_study()
        tables["bootstrap"] = bootstrap_table(result["bootstrap"])
    if "sequential" not in args.skip:
        result["sequential"] = sequential_study()
        tables["sequential"] = sequential_table(result["sequential"])
    result["seeds"] = {p.name: p.size for p in pools()}
    result["wall_time_s"] = round(time.perf_counter() - t0, 1)
    (RESULTS / "coverage.json").write_text(json.dumps(result, indent=1, default=float))
    for table in tables.values():
        print(table + "\n")
    if args.write_docs:
        command = "python benchmarks/interval_coverage.py study" + (f" --draws {args.draws}" if args.draws != RESAMPLED_DRAWS else "") + \
            "".join(f" --skip {k}" for k in args.skip) + " --write-docs"
        write_docs(tables, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
