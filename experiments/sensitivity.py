"""Which behavioural assumptions does a verdict depend on? A SALib design over them.

The population's behaviour (how often people ask, answer, flag, churn, how often moderators
err) is calibrated, not known. For each point of a Morris (default) or Sobol design over those
assumptions we run the scenario and baseline on the same paired seeds and record the mean
scenario-minus-baseline difference of one metric (default the scenario's primary metric). The
ranking says how much that difference moves with each assumption: Morris ``mu_star`` (mean
absolute elementary effect) and ``sigma`` (non-linearity or interactions); Sobol ``S1`` (share of
variance from the assumption alone) and ``ST`` (including interactions).

Every design point reuses the same seeds, so differences between design points come from the
assumptions, not from seed noise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from experiments.compare import baseline_of, in_parallel
from preflight.files import json_ready
from sim.config import ConfigError, Settings, replace, seeds_of, to_tree
from sim.metric_registry import DIRECTIONS

METHODS = ("morris", "sobol")
DEFAULT_ASSUMPTIONS = (
    "population.ask_rate",
    "population.answer_rate",
    "population.flag_prob_spam",
    "population.comment_flag_prob_abusive",
    "population.churn_hazard_per_day",
    "population.unwelcoming_base",
    "moderation.moderators.error_rate",
)
DEFAULT_SPREAD = 0.5  # default range: the calibrated value -50% .. +50%
MORRIS_LEVELS = 4


class SensitivityError(ValueError):
    """Bad input to a sensitivity analysis (one line naming the option, the value and what is
    allowed), or a metric the design leaves undefined."""


def default_params(settings: Settings, names=DEFAULT_ASSUMPTIONS, spread: float = DEFAULT_SPREAD) -> dict:
    """Ranges around the calibrated values: ``name -> (value * (1 - spread), value * (1 + spread))``.

    The upper end is capped at the key's allowed maximum (1 for probabilities).
    """
    tree = to_tree(settings)
    out = {}
    for name in names:
        value = float(_lookup(tree, name))
        high = value * (1 + spread)
        cap = _allowed_max(settings, name)
        out[name] = (value * (1 - spread), high if cap is None else min(high, cap))
    return out


def _allowed_max(settings: Settings, dotted: str) -> float | None:
    """The ``max`` bound a config field declares (``sim.config.num``), if any."""
    node, meta = settings, {}
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(node):
            return None
        meta = {f.name: f.metadata for f in dataclasses.fields(node)}.get(part, {})
        node = getattr(node, part)
    return meta.get("max")


def sensitivity(settings: Settings, params: dict | None = None, method: str = "morris",
                trajectories: int = 10, samples: int = 64, metric: str | None = None,
                jobs: int | None = None, seed: int = 0) -> dict:
    """Screen the assumptions ``params`` for their effect on the scenario-minus-baseline difference.

    Args:
        settings: The scenario's settings; ``replicates`` paired seeds per design point.
        params: Config key -> ``(low, high)``; default :func:`default_params`.
        method: ``"morris"`` (screening, ``trajectories * (k + 1)`` design points) or ``"sobol"``
            (variance shares, ``samples * (k + 2)`` points; ``samples`` a power of two).
        trajectories: Morris trajectories.
        samples: Sobol base samples.
        metric: Metric whose paired difference is analysed (default the scenario's
            ``primary_metric``, else ``harm_exposure``).
        jobs: Parallel simulations (default ``compare.jobs``, 0 meaning every core).
        seed: Seed of the design (not of the simulations).

    Returns:
        A JSON-ready dict: the design, per-point differences and the ranking of assumptions.

    Raises:
        SensitivityError: One line on a bad method, metric, parameter name or range, or a scenario
            without levers (its difference from baseline is zero everywhere).
    """
    params = dict(params or default_params(settings))
    metric = metric or settings.scenario.primary_metric or "harm_exposure"
    problem = _check(settings, params, method, metric)
    design = _design(problem, method, trajectories, samples, seed)
    t0 = time.perf_counter()
    runs = 2 * design.shape[0] * settings.replicates
    if settings.run.progress:
        sys.stderr.write(f"preflight sensitivity: {settings.scenario.name} vs baseline, {method} design over "
                         f"{len(params)} assumptions: {design.shape[0]} points x {settings.replicates} paired seeds "
                         f"= {runs} runs of {settings.run.days:g} days on site {settings.site.name}...\n")
    base, pairs = _paired(_evaluate(settings, list(params), design, jobs), metric)
    diff = np.nanmean(pairs, axis=1)  # a seed where the metric is undefined in either arm is left out
    ranking = _analyze(problem, method, design, diff, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = diff / np.abs(np.nanmean(np.where(np.isnan(pairs), np.nan, base), axis=1))
    size = {"trajectories": trajectories} if method == "morris" else {"samples": samples}
    return {
        "scenario": settings.scenario.name, "metric": metric, "direction": DIRECTIONS.get(metric, "neutral"),
        "method": method, **size,
        "design_points": int(design.shape[0]), "runs": int(2 * design.shape[0] * settings.replicates),
        "seeds": seeds_of(settings), "site": settings.site.name, "days": settings.run.days,
        "parameters": {k: list(v) for k, v in params.items()},
        "ranking": ranking, "summary": summary_text(ranking, method, metric),
        "difference": {"mean": float(diff.mean()), "min": float(diff.min()), "max": float(diff.max()),
                       "relative_min": float(np.nanmin(relative)), "relative_max": float(np.nanmax(relative))},
        "undefined_pairs": int(np.isnan(pairs).sum()),
        "design": design.tolist(), "differences": diff.tolist(), "relative_changes": relative.tolist(),
        "wall_time_s": round(time.perf_counter() - t0, 2),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _paired(values: list[dict], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The baseline values and the paired differences (design point x seed) of ``metric``."""
    base = np.array([[v[metric] for v in point["baseline"]] for point in values], dtype=float)
    scen = np.array([[v[metric] for v in point["scenario"]] for point in values], dtype=float)
    pairs = scen - base
    undefined = int(np.isnan(pairs).all(axis=1).sum())
    if undefined:
        raise SensitivityError(f"metric {metric!r} is undefined (NaN) on every seed at {undefined} of {len(pairs)} "
                               "design points; choose another metric or a longer run")
    return base, pairs


def _lookup(tree: dict, dotted: str):
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise SensitivityError(f"parameter {dotted!r} is not a configuration key (e.g. population.ask_rate)")
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise SensitivityError(f"parameter {dotted!r} is {node!r}, not a number")
    return node


def _check(settings: Settings, params: dict, method: str, metric: str) -> dict:
    """Validate the inputs up front; return the SALib problem."""
    if method not in METHODS:
        raise SensitivityError(f"method={method!r} is not allowed; use one of {', '.join(METHODS)}")
    if metric not in DIRECTIONS:
        raise SensitivityError(f"metric={metric!r} is unknown; e.g. harm_exposure, time_to_removal_min_p50")
    if not settings.scenario.levers:
        raise SensitivityError(f"scenario {settings.scenario.name!r} has no levers, so it equals baseline everywhere; "
                         "pick a what-if, e.g. scenario=moderator_strike")
    if not params:
        raise SensitivityError("no parameters to vary")
    tree = to_tree(settings)
    for name, bounds in params.items():
        _lookup(tree, name)
        low, high = (float(b) for b in bounds)
        if not low < high:
            raise SensitivityError(f"parameter {name!r}: range ({low:g}, {high:g}) must have low < high")
        for value in (low, high):
            try:
                replace(settings, **{name: _typed(tree, name, value)})
            except ConfigError as err:
                raise SensitivityError(f"parameter range: {err}") from None
    return {"num_vars": len(params), "names": list(params), "bounds": [list(map(float, b)) for b in params.values()]}


def _typed(tree: dict, name: str, value: float):
    """``value`` rounded for whole-number keys (e.g. moderator counts)."""
    return int(round(value)) if isinstance(_lookup(tree, name), int) else float(value)


def _design(problem: dict, method: str, trajectories: int, samples: int, seed: int) -> np.ndarray:
    if method == "morris":
        from SALib.sample import morris

        if trajectories < 2:
            raise SensitivityError(f"trajectories={trajectories}: at least 2 are needed")
        return morris.sample(problem, trajectories, num_levels=MORRIS_LEVELS, seed=seed)
    from SALib.sample import sobol

    if samples < 2 or samples & (samples - 1):
        raise SensitivityError(f"samples={samples}: Sobol needs a power of two (e.g. 32, 64, 128)")
    return sobol.sample(problem, samples, calc_second_order=False, seed=seed)


def _evaluate(settings: Settings, names: list[str], design: np.ndarray, jobs: int | None) -> list[dict]:
    """Run both arms on every paired seed at every design point (in parallel, with a progress bar)."""
    from preflight.progress import bar

    tree = to_tree(settings)
    tasks = []
    for i, row in enumerate(design):
        point = replace(settings, **{n: _typed(tree, n, v) for n, v in zip(names, row)})
        arms = {"baseline": baseline_of(point), "scenario": point}
        for arm, arm_settings in arms.items():
            for s in seeds_of(settings):
                tasks.append((i, arm, replace(arm_settings, seed=s, **{"run.progress": False})))
    n_jobs = min(jobs or settings.compare.jobs or os.cpu_count() or 1, len(tasks))
    with bar(len(tasks), f"{settings.scenario.name} sensitivity", "run", settings.run.progress) as runs_done:
        metrics = in_parallel(_metrics_of, [(s,) for _, _, s in tasks], n_jobs, runs_done)
    out = [{"baseline": [], "scenario": []} for _ in range(len(design))]
    for (i, arm, _), m in zip(tasks, metrics):
        out[i][arm].append(m)
    return out


def _metrics_of(settings: Settings) -> dict[str, float]:
    from preflight.run import simulate

    return simulate(settings, progress=False, keep_tables=False).metrics


def _analyze(problem: dict, method: str, design: np.ndarray, y: np.ndarray, seed: int) -> list[dict]:
    """One row per assumption, most influential first."""
    if method == "morris":
        from SALib.analyze import morris

        res = morris.analyze(problem, design, y, num_levels=MORRIS_LEVELS, seed=seed)
        keys, rank_by = ("mu_star", "mu_star_conf", "mu", "sigma"), "mu_star"
    else:
        from SALib.analyze import sobol

        res = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
        keys, rank_by = ("S1", "S1_conf", "ST", "ST_conf"), "ST"
    rows = [{"parameter": name, **{k: float(res[k][i]) for k in keys}} for i, name in enumerate(problem["names"])]
    return sorted(rows, key=lambda r: -r[rank_by] if math.isfinite(r[rank_by]) else math.inf)


def summary_text(ranking: list[dict], method: str, metric: str) -> str:
    """Plain words: which assumptions move the difference, which barely do."""
    key = "mu_star" if method == "morris" else "ST"
    top = max((r[key] for r in ranking if math.isfinite(r[key])), default=0.0)
    if not top > 0:
        return f"No assumption moves the {metric} difference at all in this design."
    strong = [r["parameter"] for r in ranking if r[key] >= 0.1 * top]
    weak = [r["parameter"] for r in ranking if r[key] < 0.1 * top]
    text = f"The {metric} difference depends most on {', '.join(strong)} ({key})."
    if weak:
        text += f" It barely moves with {', '.join(weak)} (under 10% of the largest)."
    return text


def write_sensitivity(result: dict, out_dir: Path) -> dict[str, Path]:
    """Write ``sensitivity.json`` and the bar chart ``sensitivity.png`` (atomically)."""
    from preflight.files import atomic_write

    out_dir = Path(out_dir)
    png = out_dir / "sensitivity.png"
    atomic_write(png, _bar_chart(result))
    path = out_dir / "sensitivity.json"
    atomic_write(path, json.dumps(json_ready(result), indent=2, allow_nan=False).encode())
    return {"json": path, "png": png}


def _bar_chart(result: dict) -> bytes:
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ranking = result["ranking"][::-1]
    names = [r["parameter"] for r in ranking]
    fig = Figure(figsize=(7.2, 0.45 * len(names) + 1.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    y = np.arange(len(names))
    if result["method"] == "morris":
        ax.barh(y, [r["mu_star"] for r in ranking], xerr=[r["mu_star_conf"] for r in ranking],
                color="#0072B2", capsize=3, label="mu* (mean |elementary effect|)")
        ax.plot([r["sigma"] for r in ranking], y, "o", color="#D55E00", label="sigma (non-linearity, interactions)")
        ax.set_xlabel(f"effect on the {result['metric']} difference (metric units)")
    else:
        ax.barh(y + 0.2, [r["S1"] for r in ranking], height=0.4, color="#0072B2", label="S1 (alone)")
        ax.barh(y - 0.2, [r["ST"] for r in ranking], height=0.4, color="#D55E00", label="ST (with interactions)")
        ax.set_xlabel("share of the variance of the difference")
    ax.set_yticks(y, names)
    ax.set_title(f"What the {result['metric']} difference depends on\n"
                 f"{result['scenario']} vs baseline, {result['method']}, {result['design_points']} design points",
                 fontsize=10)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def arg_parser() -> argparse.ArgumentParser:
    """The options of ``preflight sensitivity`` (its help for people: ``preflight.cli_help``)."""
    parser = argparse.ArgumentParser(prog="preflight sensitivity",
                                     description="Morris (or Sobol) screening of behavioural assumptions.")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. scenario=moderator_strike site=small")
    parser.add_argument("--method", choices=METHODS, default="morris")
    parser.add_argument("--trajectories", type=int, default=10, help="Morris trajectories (default 10)")
    parser.add_argument("--samples", type=int, default=64, help="Sobol base samples, a power of two (default 64)")
    parser.add_argument("--metric", default=None, help="metric (default: the scenario's primary metric)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=LOW:HIGH",
                        help="an assumption and its range (repeatable; default: 7 behavioural rates ±50%%)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel simulations (default: all cores)")
    parser.add_argument("--out", default="", help="output directory (default outputs/sensitivity/<scenario>_<time>)")
    return parser


def sensitivity_main(argv: list[str]) -> None:
    """``preflight sensitivity [overrides...] [--method sobol] [--trajectories N] ...``."""
    from preflight.compose import compose
    from preflight.outputs import check_writable, new_folder, prepare

    args = arg_parser().parse_intermixed_args(argv)
    _, settings = compose(args.overrides)
    try:
        check_writable(args.out or Path("outputs") / "sensitivity", "--out", fresh=bool(args.out))  # before hours of simulation
        params = dict(_parse_param(p) for p in args.param) or None
        result = sensitivity(settings, params, method=args.method, trajectories=args.trajectories,
                             samples=args.samples, metric=args.metric, jobs=args.jobs)
        out = (prepare(args.out, "--out") if args.out else
               new_folder(Path("outputs") / "sensitivity", settings.scenario.name, "--out"))
    except (SensitivityError, ConfigError) as err:  # bad input; anything else is a bug (traceback, exit 1)
        sys.stderr.write(f"preflight: error: {err}\n")
        raise SystemExit(2) from None
    written = write_sensitivity(result, out)
    print(ranking_text(result))
    print(f"sensitivity: {written['json'].resolve()}\nchart: {written['png'].resolve()}")


def _parse_param(text: str) -> tuple[str, tuple[float, float]]:
    try:
        name, bounds = text.split("=", 1)
        low, high = bounds.split(":")
        return name.strip(), (float(low), float(high))
    except ValueError:
        raise SensitivityError(f"--param {text!r}: write KEY=LOW:HIGH, e.g. population.ask_rate=0.005:0.01") from None


def ranking_text(result: dict) -> str:
    """The ranking as a terminal table, with the summary sentence."""
    keys = ("mu_star", "mu_star_conf", "sigma") if result["method"] == "morris" else ("S1", "S1_conf", "ST", "ST_conf")
    lines = [f"\n{result['scenario']} vs baseline · {result['metric']} difference · {result['method']} · "
             f"{result['design_points']} design points x {len(result['seeds'])} paired seeds ({result['runs']} runs)",
             f"  {'assumption':<36}{'range':>22}" + "".join(f"{k:>14}" for k in keys)]
    for row in result["ranking"]:
        low, high = result["parameters"][row["parameter"]]
        lines.append(f"  {row['parameter']:<36}{f'{low:.4g} .. {high:.4g}':>22}"
                     + "".join(f"{row[k]:>14.4g}" for k in keys))
    lines.append(result["summary"])
    return "\n".join(lines)
