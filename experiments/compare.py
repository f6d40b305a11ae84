"""A scenario against baseline on paired seeds: the main job users run.

Replicate ``i`` of both arms runs with seed ``settings.seed + i``. Every subsystem draws from
its own named random stream (``sim.streams``), so the two runs of a pair share common random
numbers wherever their mechanics agree, and the paired differences isolate the policy effect.
A scenario identical to baseline gives exactly zero difference on every metric.

:func:`compare` returns the comparison dict ``experiments.report.write_report`` renders;
:func:`run_comparison` is the ``preflight compare`` command: it writes the comparison, each
run's ``summary.json`` and the report, prints the scorecard and returns the exit code.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import platform
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from experiments.findings import findings
from experiments.guardrails import (
    INCONCLUSIVE,
    evaluate,
    exit_code,
    family_fail,
    harm_p_value,
    hypothesis_result,
    label_changes,
    mark_context,
    overall_verdict,
    validate_guardrail,
)
from experiments.metric_kinds import event_counts, metric_kind
from experiments.report import KEY_TIMESERIES, write_report
from experiments.stats import (
    BOOTSTRAP,
    BOOTSTRAP_MIN_PAIRS,
    mean_interval,
    paired_estimate,
    seeds_to_decide,
    spending_levels,
)
from preflight.files import json_ready
from sim.config import Settings, baseline_of, flatten, seeds_of, to_tree
from sim.metric_registry import DIRECTIONS, GROUPED, REGISTRY

ARMS = ("baseline", "scenario")
MOD_WORKLOAD = tuple(name for name, m in REGISTRY.items() if m.family == "mod_workload")
TARGET_PRECISION = 0.05  # replicates_needed: CI half-width of 5% of the baseline level
ABSOLUTE_PRECISION = 1.0  # ... or of one unit when the baseline level is zero
_NOT_DIFFED = {"seed", "scenario.description", "scenario.hypothesis"}


def guardrails_of(settings: Settings) -> list:
    """The site-wide guardrails plus the scenario's own, validated.

    Raises:
        ValueError: One line naming the bad guardrail key or unknown metric.
    """
    rails = [validate_guardrail(spec) for spec in [*settings.guardrails, *settings.scenario.guardrails]]
    for rail in rails:
        known = GROUPED if rail.kind == "max_group_ratio" else DIRECTIONS
        if rail.metric not in known:
            close = difflib.get_close_matches(rail.metric, known, n=3)
            hint = f"did you mean {' or '.join(close)}?" if close else "see docs/metrics.md"
            raise ValueError(f"guardrail {rail.name!r}: metric {rail.metric!r} is unknown ({hint})")
    return rails


def check_comparable(settings: Settings) -> None:
    """Refuse a comparison that cannot show a change: a scenario without levers (baseline against
    itself, which PASSes every guardrail with [0%, 0%] intervals).

    A launch day after the end of the run is a configuration error (``sim.config``).

    Raises:
        ValueError: One line naming the scenario and what is allowed.
    """
    if not settings.scenario.levers:
        raise ValueError(f"scenario={settings.scenario.name}: no levers, so the comparison would be baseline "
                         f"against itself and PASS without a change (allowed: a what-if with at least one lever; "
                         f"list them with preflight scenarios)")


def notes_of(settings: Settings) -> list[str]:
    """What the reader must know about how the comparison was measured (shown in the report)."""
    s = settings
    notes = []
    if s.scenario.levers and s.scenario.launch_day < s.run.warmup_days:
        notes.append(f"launch day {s.scenario.launch_day:g} is inside the warm-up ({s.run.warmup_days:g} days): "
                     f"the launch transient is not measured; metrics cover days {s.run.warmup_days:g} to "
                     f"{s.run.days:g} only")
    return notes


def check_settings(settings: Settings) -> None:
    """The checks of the ``compare`` keys that involve more than one key.

    Raises:
        ValueError: One line naming the keys, their values and what is allowed.
    """
    cfg = settings.compare
    if cfg.ci_method == BOOTSTRAP and settings.replicates < BOOTSTRAP_MIN_PAIRS:
        raise ValueError(
            f"compare.ci_method=bootstrap needs replicates >= {BOOTSTRAP_MIN_PAIRS} (got replicates="
            f"{settings.replicates}): below that its 95% intervals cover the truth measurably less than 95% "
            "of the time (docs/statistics.md); use compare.ci_method=t or more replicates")
    if cfg.until_decided and cfg.max_replicates < settings.replicates:
        raise ValueError(f"compare.max_replicates={cfg.max_replicates} must be >= replicates={settings.replicates} "
                         "with compare.until_decided=true")


def run_pairs(settings: Settings, jobs: int | None = None, command: str | None = None,
              progress=None) -> dict[str, list[dict]]:
    """Run baseline and scenario on every paired seed, in parallel (joblib, loky processes).

    Args:
        settings: The scenario's settings; ``replicates`` and ``seed`` choose the seeds.
        jobs: Parallel simulations; default ``compare.jobs`` or, when 0, every core.
        command: The command line recorded in each run's provenance.
        progress: A bar (:func:`preflight.progress.bar`) advanced by one as each run finishes.

    Returns:
        ``{"baseline": [run, ...], "scenario": [run, ...]}`` in seed order, each run a dict
        with ``metrics``, ``fairness``, ``series`` (lists), ``summary`` and ``wall_time_s``.
    """
    arms = {"baseline": baseline_of(settings), "scenario": settings}
    tasks = [(arm, dataclasses.replace(arms[arm], seed=seed)) for arm in ARMS for seed in seeds_of(settings)]
    n_jobs = min(jobs or settings.compare.jobs or os.cpu_count() or 1, len(tasks))
    results = in_parallel(_one_run, [(s, command) for _, s in tasks], n_jobs, progress)
    out: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    for (arm, _), result in zip(tasks, results):
        out[arm].append(result)
    return out


def in_parallel(function, arguments: list[tuple], n_jobs: int, progress=None, backend: str = "loky") -> list:
    """``[function(*a) for a in arguments]`` in joblib's loky processes (or on Ray, ``backend="ray"``,
    :mod:`experiments.cluster`), in the order given.

    The results arrive as they finish (each advances ``progress`` by one) and are put back in
    order, so the outcome does not depend on which run finished first.
    """
    from joblib import Parallel, delayed

    results: list = [None] * len(arguments)
    if backend == "ray":
        from experiments.cluster import on_ray

        finishing = on_ray(_numbered, function, arguments, n_jobs)
    else:
        parallel = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")
        finishing = parallel(delayed(_numbered)(i, function, a) for i, a in enumerate(arguments))
    for index, result in finishing:
        results[index] = result
        if progress is not None:
            progress.update(1)
    return results


def _numbered(index: int, function, arguments: tuple) -> tuple[int, object]:
    return index, function(*arguments)


def _one_run(settings: Settings, command: str | None) -> dict:
    """One simulation in a worker process; only what the comparison needs travels back."""
    from preflight.run import simulate, summary_dict

    result = simulate(settings, progress=False, keep_tables=False)
    columns = ("day", *KEY_TIMESERIES)
    return {"metrics": result.metrics, "fairness": result.fairness, "wall_time_s": result.wall_time_s,
            "series": {k: result.series[k].tolist() for k in columns if k in result.series},
            "survival": result.survival,
            "summary": summary_dict(result, command)}


def compare(settings: Settings, jobs: int | None = None, command: str | None = None) -> dict:
    """Baseline versus scenario on paired seeds, with guardrail verdicts.

    With ``compare.until_decided`` the seeds come in batches until every guardrail is decided or
    ``compare.max_replicates`` is reached (:func:`run_until_decided`).

    Args:
        settings: The scenario's validated settings.
        jobs: Parallel simulations (default ``compare.jobs``, 0 meaning every core).
        command: The command line recorded in the provenance.

    Returns:
        The comparison dict rendered by :func:`experiments.report.write_report`.
    """
    return run_until_decided(settings, jobs, command)[2]


def run_until_decided(settings: Settings, jobs: int | None = None, command: str | None = None,
                      whatif: dict | None = None) -> tuple[Settings, dict[str, list[dict]], dict]:
    """Run the paired seeds, in batches under ``compare.until_decided``, and summarise them.

    Without ``until_decided``: one look at ``replicates`` pairs with intervals at 1 - alpha.
    With it: looks at ``replicates``, then every ``batch_size`` more pairs, up to
    ``max_replicates``; look j spends alpha_j of the error (:func:`experiments.stats.spending_levels`:
    linear in the seeds, adding up to alpha) and every interval of that look is at 1 - alpha_j, so
    the intervals stay valid however many looks are taken. It stops at the first look where every
    guardrail is PASS or FAIL.

    Returns:
        ``(settings, runs, comparison)``: the settings with the replicates actually run, the runs
        of :func:`run_pairs` and the comparison of the last look.
    """
    from preflight.progress import bar

    check_settings(settings)
    guardrails_of(settings)  # fail before hours of simulation, not after
    cfg = settings.compare
    t0 = time.perf_counter()
    label = f"{settings.scenario.name} vs baseline"
    if not cfg.until_decided:
        with bar(2 * settings.replicates, label, "run", settings.run.progress) as runs_done:
            runs = run_pairs(settings, jobs, command, runs_done)
        return settings, runs, summarize_pairs(settings, runs, command, time.perf_counter() - t0, whatif)
    runs: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    looks, done = [], 0
    plan = spending_levels(settings.replicates, cfg.batch_size, cfg.max_replicates, cfg.alpha)
    with bar(2 * settings.replicates, label, "run", settings.run.progress) as runs_done:
        for number, (n, alpha) in enumerate(plan, start=1):
            runs_done.total = 2 * n  # the bar grows by a batch at each look
            runs_done.refresh()
            batch = dataclasses.replace(settings, seed=settings.seed + done, replicates=n - done)
            for arm, more in run_pairs(batch, jobs, command, runs_done).items():
                runs[arm].extend(more)
            done = n
            current = dataclasses.replace(settings, replicates=n)
            comparison = summarize_pairs(current, runs, command, time.perf_counter() - t0, whatif,
                                         confidence=1 - alpha)
            undecided = [g["name"] for g in comparison["guardrails"] if g["verdict"] == INCONCLUSIVE]
            looks.append({"look": number, "replicates": n, "alpha": alpha, "confidence": 1 - alpha,
                          "verdict": comparison["verdict"], "undecided": undecided})
            if settings.run.progress:
                runs_done.write(f"preflight compare: look {number} at {n} paired seeds ({100 * (1 - alpha):.3g}% "
                                f"intervals): {comparison['verdict']}, {len(undecided)} guardrail(s) undecided",
                                file=sys.stderr)
            if not undecided:
                break
    comparison["sequential"] = {"until_decided": True, "max_replicates": cfg.max_replicates,
                                "batch_size": cfg.batch_size, "alpha": cfg.alpha, "looks": looks,
                                "stopped": "decided" if not looks[-1]["undecided"] else "budget spent"}
    return current, runs, comparison


def summarize_pairs(settings: Settings, runs: dict[str, list[dict]], command: str | None = None,
                    wall_time_s: float = math.nan, whatif: dict | None = None,
                    confidence: float | None = None) -> dict:
    """The comparison dict from the runs of :func:`run_pairs`.

    Args:
        settings: The settings the runs came from (``replicates`` = runs per arm).
        runs: ``{"baseline": [...], "scenario": [...]}`` in seed order.
        command: The command line recorded in the provenance.
        wall_time_s: Wall time of the runs.
        whatif: The what-if files' text (recorded in the provenance).
        confidence: Level of every interval (default ``1 - compare.alpha``; a sequential look
            passes its own).
    """
    scenario, baseline = settings.scenario, baseline_of(settings)
    diff = config_diff(baseline, settings)
    decided = statistics_of(settings, runs, confidence, identical=not diff)
    rows = decided["rows"]
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "hypothesis": scenario.hypothesis,
        "primary_metric": scenario.primary_metric,
        "primary_direction": scenario.primary_direction,
        "hypothesis_result": decided["hypothesis_result"],
        "launch_day": scenario.launch_day,
        "site": settings.site.name,
        "replicates": settings.replicates,
        "seeds": seeds_of(settings),
        "days": settings.run.days,
        "warmup_days": settings.run.warmup_days,
        "ci_method": settings.compare.ci_method,
        "confidence": decided["confidence"],
        "fdr": settings.compare.fdr,
        "metrics": {k: v for k, v in rows.items() if k not in MOD_WORKLOAD},
        "guardrails": decided["guardrails"],
        "verdict": decided["verdict"],
        "notes": notes_of(settings),
        "timeseries": _timeseries(runs),
        "removal_survival": _survival(runs),
        "fairness": _fairness(runs),
        "mod_workload": {k: rows[k] for k in MOD_WORKLOAD if k in rows},
        "config_diff": diff,
        "provenance": result_provenance(settings, command, wall_time_s, whatif),
    }


def statistics_of(settings: Settings, runs: dict[str, list[dict]], confidence: float | None = None,
                  identical: bool | None = None) -> dict:
    """The statistical part of a comparison: every metric's row, the guardrails, the verdicts.

    This is the decision rule of docs/statistics.md applied to the runs: intervals at
    ``confidence`` (default ``1 - compare.alpha``), better/worse labels under false-discovery-rate
    control, the hypothesis result for the primary metric, each guardrail as a non-inferiority
    test and the overall verdict. The coverage study (benchmarks/interval_coverage.py) calls it on
    cached runs.

    Args:
        settings: The scenario's settings (compare keys, guardrails, primary metric).
        runs: ``{"baseline": [...], "scenario": [...]}``, each run with ``metrics`` (and
            ``fairness`` for ``max_group_ratio`` guardrails).
        confidence: Level of every interval.
        identical: Whether the arms share one configuration (default: no configuration key differs).

    Returns:
        ``{"rows", "guardrails", "verdict", "hypothesis_result", "confidence"}``.
    """
    cfg, scenario = settings.compare, settings.scenario
    confidence = 1 - cfg.alpha if confidence is None else confidence
    if identical is None:
        identical = not config_diff(baseline_of(settings), settings)
    names = list(runs["baseline"][0]["metrics"])
    estimates = {name: _estimate(name, runs, settings, identical) for name in names}
    rows = {name: _metric_row(name, estimates[name], confidence, cfg.power) for name in names}
    labels = label_changes(rows, cfg.fdr, exclude=[scenario.primary_metric])
    for name, row in rows.items():
        row.update(labels[name])
    mark_context(rows)
    rails = guardrails_of(settings)
    guardrails = [_check(rail, rows, runs, confidence, cfg.power) for rail in rails]
    harm_p = {i: _harm_p(rail, estimates, runs) for i, (rail, g) in enumerate(zip(rails, guardrails))
              if g["verdict"] == "FAIL"}
    family_fail(guardrails, harm_p, 1 - confidence)
    for rail, result in zip(rails, guardrails):
        if "holm_level" in result:  # demoted by Holm: the seeds that would reach its family-wise level
            result["seeds_to_decide"] = _seeds_at_level(rail, result, estimates, 1 - 2 * result["holm_level"], cfg.power)
    return {"rows": rows, "guardrails": guardrails, "verdict": overall_verdict([g["verdict"] for g in guardrails]),
            "hypothesis_result": hypothesis_result(rows.get(scenario.primary_metric), scenario.primary_direction),
            "confidence": confidence}


def _estimate(name: str, runs: dict[str, list[dict]], settings: Settings, identical: bool):
    cfg = settings.compare
    base = np.array([_num(r["metrics"].get(name)) for r in runs["baseline"]])
    scen = np.array([_num(r["metrics"].get(name)) for r in runs["scenario"]])
    window = settings.run.days - settings.run.warmup_days
    counts = [event_counts(name, [r["metrics"] for r in runs[arm]], window) for arm in ARMS]
    events, exposure = (None, None) if any(c is None for c in counts) else ((counts[0][0], counts[1][0]), counts[0][1])
    estimate = paired_estimate(base, scen, cfg.ci_method, kind=metric_kind(name), events=events, exposure=exposure,
                               rare_events=cfg.rare_events, identical=identical)
    estimate.values = base, scen
    return estimate


def _metric_row(name: str, estimate, confidence: float, power: float) -> dict:
    row = estimate.row(confidence)
    low, high = row["ci_low"], row["ci_high"]
    straddles = low <= 0 <= high and not low == high == 0  # the sign of the change is not told yet
    row["seeds_to_decide"] = (seeds_to_decide(row["diff_mean"], low, high, 0.0, row["n"], confidence, power)
                              if straddles and not row["degenerate"] else None)
    row["direction"] = DIRECTIONS.get(name, "neutral")
    base, scen = estimate.values
    row["baseline"], row["scenario"] = base.tolist(), scen.tolist()
    return row


def _seeds_at_level(rail, result: dict, estimates: dict, confidence: float, power: float) -> int | None:
    if rail.kind == "max_group_ratio":
        return None
    low, high = estimates[rail.metric].interval(confidence, "relative" in rail.kind)
    est = result["estimate"]
    if rail.kind.endswith("decrease"):
        est, low, high = -est, -high, -low
    if low > rail.bound:  # already beyond at that level (cannot happen after a demotion; kept for safety)
        return result["n"]
    return seeds_to_decide(est, low, high, rail.bound, result["n"], confidence, power)


def _harm_p(rail, estimates: dict, runs: dict[str, list[dict]]) -> float:
    """One-sided p-value of a guardrail's harm beyond its bound (for Holm over the guardrails)."""
    decrease = rail.kind.endswith("decrease")
    if rail.kind == "max_group_ratio":
        ratios = np.array([_num(r["fairness"].get(rail.metric, {}).get("worst_to_best")) for r in runs["scenario"]])
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return harm_p_value(lambda c: mean_interval(ratios, confidence=c)[1:], rail.bound)
    estimate = estimates[rail.metric]
    return harm_p_value(lambda c: estimate.interval(c, "relative" in rail.kind), rail.bound, decrease)


def _check(rail, rows: dict, runs: dict[str, list[dict]], confidence: float, power: float) -> dict:
    if rail.kind == "max_group_ratio":
        ratios = [_num(r["fairness"].get(rail.metric, {}).get("worst_to_best")) for r in runs["scenario"]]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # an infinite ratio (a group at zero)
            return evaluate(rail, ratios, confidence, power)
    return evaluate(rail, rows[rail.metric], confidence, power)


def _timeseries(runs: dict[str, list[dict]]) -> dict:
    first = runs["baseline"][0]["series"]
    return {name: {"day": first["day"], **{arm: [r["series"][name] for r in runs[arm]] for arm in ARMS}}
            for name in KEY_TIMESERIES if name in first}


def _survival(runs: dict[str, list[dict]]) -> dict:
    """Each seed's weekly median time to removal and survival curve, per arm (empty when the runs
    carry none)."""
    first = runs["baseline"][0].get("survival")
    if not first:
        return {}
    return {"week_day": first["week_day"], "grid_min": first["grid_min"],
            **{arm: {"weekly_p50_min": [r["survival"]["weekly_p50_min"] for r in runs[arm]],
                     "surviving": [r["survival"]["surviving"] for r in runs[arm]]} for arm in ARMS}}


def _fairness(runs: dict[str, list[dict]]) -> dict:
    """Per metric, each group's mean rate and mean size (units per run) per arm, and the mean
    worst-to-best ratio per arm."""
    out = {}
    for metric, entry in runs["baseline"][0]["fairness"].items():
        groups = {g: {**{arm: _mean([r["fairness"][metric]["groups"].get(g) for r in runs[arm]]) for arm in ARMS},
                      **{f"{arm}_n": _mean([(r["fairness"][metric].get("counts") or {}).get(g, [None, None])[1]
                                            for r in runs[arm]]) for arm in ARMS}}
                  for g in entry["groups"]}
        ratio = {arm: _mean([r["fairness"][metric]["worst_to_best"] for r in runs[arm]]) for arm in ARMS}
        out[metric] = {"groups": groups, "worst_to_best": ratio}
    return out


def config_diff(baseline: Settings, scenario: Settings) -> list[dict]:
    """Every configuration key whose value differs between the arms, sorted.

    The seed and the scenario's prose (description and hypothesis, shown at the top of the
    report) are left out.
    """
    a, b = flatten(to_tree(baseline)), flatten(to_tree(scenario))
    keys = sorted(k for k in set(a) | set(b) if k not in _NOT_DIFFED and a.get(k) != b.get(k))
    return [{"key": k, "baseline": a.get(k), "scenario": b.get(k)} for k in keys]


def result_provenance(settings: Settings, command: str | None, wall_time_s: float, whatif: dict | None = None) -> dict:
    """The run provenance (git state, packages, what-if files) plus the seeds and the resolved
    configuration of the scenario arm (the baseline is :func:`baseline_of` it), enough to re-run."""
    from preflight.provenance import provenance

    info = provenance(settings, command, whatif)
    return {"command": info["command"], "seeds": seeds_of(settings),
            **{k: v for k, v in info.items() if k.startswith("git_")},
            "packages": info["packages"], "wall_time_s": round(wall_time_s, 2),
            "python": platform.python_version(),
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "whatif": info["whatif"], "config": json_ready(to_tree(settings))}


def _num(value) -> float:
    return math.nan if value is None else float(value)


def _mean(values) -> float:
    x = np.array([_num(v) for v in values], dtype=float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(x)) if x.size else math.nan


# --- the ``preflight compare`` command ----------------------------------------------------


def run_comparison(settings: Settings, command: str, whatif: dict | None = None) -> int:
    """Run the comparison, write it and its report, print the scorecard.

    Writes into ``compare.out`` (default ``outputs/compare/<scenario>_<time>/``, or the sweep
    job's directory under ``-m``): ``comparison.json``, ``runs/<arm>_seed<k>/summary.json`` and,
    last, the report (``report.html``, ``report.md``, ``scorecard.json``, ``figures/``). The folder
    is checked (created, written to) before the first simulation.

    Args:
        settings: The scenario's validated settings.
        command: The command line, for the provenance.
        whatif: The what-if files (``preflight.whatif.selected_files``), for the provenance.

    Returns:
        The exit code of the verdict: PASS 0, FAIL 1, INCONCLUSIVE 3 (2 for bad input: no levers, a
        bad guardrail, an unusable output folder).
        Inside a ``-m`` sweep 0, so the sweep goes on; :class:`experiments.collect.CollectSweep`
        then exits with the worst verdict of the sweep.
    """
    from preflight.files import atomic_write
    from preflight.outputs import say
    from preflight.run import summary_json
    from sim.config import ConfigError

    command = _compare_command(command)
    try:
        check_comparable(settings)
        check_settings(settings)
        guardrails_of(settings)
        out = _output_dir(settings)
    except (ValueError, ConfigError) as err:
        say(f"preflight: error: {err}", error=True)
        return 2
    if settings.run.progress:
        runs_text = (f"{2 * settings.replicates} runs, then batches of {2 * settings.compare.batch_size} up to "
                     f"{2 * settings.compare.max_replicates} until every guardrail is decided,"
                     if settings.compare.until_decided else f"{2 * settings.replicates} runs")
        say(f"preflight compare: {settings.scenario.name} vs baseline, {runs_text} of "
            f"{settings.run.days:g} days on site {settings.site.name}...", error=True)
    settings, runs, comparison = run_until_decided(settings, command=command, whatif=whatif)
    for arm in ARMS:
        for seed, run in zip(seeds_of(settings), runs[arm]):
            summary = run["summary"]
            summary["provenance"]["whatif"] = whatif or {}  # the workers do not have the files
            atomic_write(out / "runs" / f"{arm}_seed{seed}" / "summary.json", summary_json(summary))
    atomic_write(out / "comparison.json", json.dumps(json_ready(comparison), indent=2, allow_nan=False).encode())
    written = write_report(comparison, out)
    say(scorecard_text(comparison))
    say(f"report: {written['html'].resolve()}")
    if _in_sweep():
        return 0  # let the sweep go on; CollectSweep exits with the worst verdict at the end
    return exit_code(comparison["verdict"])


def sweep_verdict(sweep_dir: Path) -> str | None:
    """The worst verdict of the comparisons below ``sweep_dir`` (None if there are none)."""
    verdicts = []
    for path in sorted(Path(sweep_dir).rglob("scorecard.json")):
        try:
            verdict = json.loads(path.read_text())["verdict"]
            if verdict not in ("PASS", "FAIL", "INCONCLUSIVE"):
                raise ValueError(verdict)
            verdicts.append(verdict)
        except (OSError, ValueError, KeyError, TypeError) as err:  # a job killed mid-write: its verdict is unknown
            sys.stderr.write(f"preflight: warning: {path}: unreadable scorecard ({type(err).__name__}); "
                             f"counted as INCONCLUSIVE\n")
            verdicts.append("INCONCLUSIVE")
    return overall_verdict(verdicts) if verdicts else None


def _in_sweep() -> bool:
    from preflight.progress import in_sweep

    return in_sweep()


def scorecard_text(comparison: dict) -> str:
    """The hypothesis, the guardrail rows and the overall verdict as plain text for the terminal."""
    level = f"{100 * comparison.get('confidence', 0.95):.3g}%"
    lines = [f"\n{comparison['scenario']} vs baseline · site {comparison['site']} · "
             f"{comparison['replicates']} paired seeds · {comparison['days']:g} days "
             f"(warm-up {comparison['warmup_days']:g}) · {comparison['ci_method']} {level} CI"]
    if comparison.get("primary_direction"):
        lines.append(f"  hypothesis ({comparison['primary_metric']} should {comparison['primary_direction']}): "
                     f"{comparison.get('hypothesis_result', 'not shown')}")
    for rail in comparison["guardrails"]:
        fmt = _percent if "relative" in rail["kind"] else _plain
        ci = f"[{fmt(rail['ci_low'])}, {fmt(rail['ci_high'])}]"
        line = f"  {rail['verdict']:<13} {rail['name']:<28} {fmt(rail['estimate']):>9} {ci:<21} {rail['rule']}"
        if rail["verdict"] == INCONCLUSIVE:
            needed = rail.get("seeds_to_decide")
            line += f" — {rail.get('reason') or 'undecided'}"
            line += f"; about {needed:,} paired seeds would decide it" if needed else ""
        lines.append(line)
    if not comparison["guardrails"]:
        lines.append("  (no guardrails)")
    found = findings(comparison)
    for key, title in (("harms", "largest harms"), ("benefits", "largest benefits"), ("context", "context, not a benefit")):
        if found[key]:
            lines.append(f"  {title}: " + "; ".join(found[key]))
    lines += [f"note: {note}" for note in comparison.get("notes") or []]
    verdict = comparison["verdict"]
    lines.append(f"verdict: {verdict} (exit code {exit_code(verdict)})")
    return "\n".join(lines)


def _percent(x: float) -> str:
    if x != x:
        return "n/a"
    if math.isinf(x):
        return "+∞" if x > 0 else "−∞"
    return "0%" if x == 0 else f"{100 * x:+.1f}%"


def _plain(x: float) -> str:
    return "n/a" if x != x else f"{x:.3g}"


def _output_dir(settings: Settings) -> Path:
    """``compare.out``; else Hydra's job directory (``outputs/compare/<scenario>_<time>/`` for a
    single comparison, the sweep job's directory under ``-m``); else a new unique one. Checked
    (created, written to) here, before any simulation.

    Raises:
        preflight.outputs.OutputError: The folder cannot be written or already holds results.
    """
    from preflight.outputs import new_folder, prepare

    if settings.compare.out:
        return prepare(settings.compare.out, "compare.out")
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return prepare(HydraConfig.get().runtime.output_dir, "hydra.run.dir")
    return new_folder(Path("outputs") / "compare", settings.scenario.name, "compare.out")


def _compare_command(command: str) -> str:
    """``preflight compare ...`` (Hydra sees ``sys.argv`` without the ``compare`` word)."""
    words = command.split()
    if words and Path(words[0]).name == "preflight" and words[1:2] != ["compare"]:
        words = ["preflight", "compare", *words[1:]]
    return " ".join(words)
