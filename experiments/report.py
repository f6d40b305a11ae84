"""Render a baseline-versus-scenario comparison into a report directory.

``write_report`` writes three files, each atomically (temp file in the same directory, then
``os.replace``):

- ``report.html``: one self-contained page (inline CSS, figures as base64 PNG, no script,
  no external URL) that opens offline;
- ``report.md``: the same content for pasting into a review, figures linked from
  ``figures/*.png`` which are written alongside;
- ``scorecard.json``: the verdict and one entry per guardrail, for CI and dashboards.

The same comparison always gives byte-identical files: figures carry no timestamp or
software metadata and nothing in the page depends on the time of rendering.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from experiments.findings import findings
from experiments.guardrails import exit_code
from experiments.stats import relative_to
from preflight.files import atomic_write, json_ready
from sim.metric_registry import FAMILIES, REGISTRY

KEY_TIMESERIES = (
    "harm_exposure",
    "prevalence",
    "flag_queue_backlog",
    "questions_per_day",
    "wrongful_actions",
)
METRIC_UNITS = {
    "harm_exposure": "harmful views per day",
    "prevalence": "share of views",
    "time_to_removal_min_p50": "minutes",
    "time_to_removal_min_p90": "minutes",
    "flag_queue_backlog": "open flags",
    "questions_per_day": "questions per day",
    "wrongful_actions": "actions per day",
    "flags_per_day": "flags per day",
    "queue_time_p50_min": "minutes",
    "queue_time_p90_min": "minutes",
    "minutes_per_moderator": "minutes per day",
    "escalations_per_day": "escalations per day",
    "moderator_resignations": "moderators",
}
NOT_AVAILABLE = "not available"
_BASELINE_COLOUR, _SCENARIO_COLOUR = "#0072B2", "#D55E00"  # Okabe-Ito blue / vermillion
_BETTER_COLOUR, _WORSE_COLOUR, _UNCLEAR_COLOUR, _CONTEXT_COLOUR = "#1a7f37", "#c62828", "#8a8a8a", "#3b5b8c"
_REMOVAL_AFTER = "prevalence"  # the time-to-removal figures follow this daily figure
_TEMPLATES = Path(__file__).parent / "templates"
_DIRECTION_LABELS = {
    "lower_is_better": "lower is better",
    "higher_is_better": "higher is better",
    "neutral": "neutral",
    None: "neutral",
}


def write_report(comparison: Mapping, out_dir: Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.md``, ``scorecard.json`` and ``figures/*.png``.

    Args:
        comparison: The comparison dict produced by the simulator (see the contract in
            ``docs``); ``timeseries``, ``fairness``, ``mod_workload`` and ``config_diff``
            are optional and render as "not available" when missing.
        out_dir: Report directory; created if needed.

    Returns:
        Paths written: keys ``html``, ``markdown``, ``scorecard`` and ``figure:<name>`` for
        each PNG in ``out_dir/figures``.
    """
    out_dir = Path(out_dir)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    figures = _figures(comparison)
    written: dict[str, Path] = {}
    for name, figure in figures.items():
        path = out_dir / "figures" / f"{name}.png"
        atomic_write(path, figure["png"])
        written[f"figure:{name}"] = path
    view = _view(comparison, figures)
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    html = env.get_template("report.html.j2").render(**view)
    written["html"] = atomic_write(out_dir / "report.html", html.encode())
    written["markdown"] = atomic_write(out_dir / "report.md", _markdown(view).encode())
    scorecard = json.dumps(_scorecard(comparison), indent=2, sort_keys=True, allow_nan=False)
    written["scorecard"] = atomic_write(out_dir / "scorecard.json", (scorecard + "\n").encode())
    return written


# --- the page model: every value already formatted for display -----------------------------


def _view(comparison: Mapping, figures: dict) -> dict:
    verdict = str(comparison.get("verdict", "INCONCLUSIVE")).upper()
    guardrails = comparison.get("guardrails") or []
    counts = {v: sum(g.get("verdict") == v for g in guardrails) for v in ("PASS", "FAIL", "INCONCLUSIVE")}
    level = _level(comparison)
    return {
        "scenario": comparison.get("scenario", "unnamed scenario"),
        "description": comparison.get("description") or NOT_AVAILABLE,
        "hypothesis": comparison.get("hypothesis") or NOT_AVAILABLE,
        "notes": [str(n) for n in comparison.get("notes") or []],
        "findings": findings(comparison),
        "ci_label": f"{level} CI",
        "labels_note": _labels_note(comparison),
        "sequential": _sequential_text(comparison),
        "verdict": verdict,
        "verdict_class": verdict.lower(),
        "verdict_summary": (
            f"{len(guardrails)} guardrail{'' if len(guardrails) == 1 else 's'}: {counts['PASS']} pass, {counts['FAIL']} fail, "
            f"{counts['INCONCLUSIVE']} inconclusive"
        ),
        "setup": [
            ("Site", _text(comparison.get("site"))),
            ("Replicates (paired seeds)", _text(comparison.get("replicates"))),
            ("Simulated days", _text(comparison.get("days"))),
            ("Warm-up days", _text(comparison.get("warmup_days"))),
            ("Launch day", _text(comparison.get("launch_day"))),
            ("Interval method", _method_name(comparison.get("ci_method"))),
            ("Confidence", level),
        ],
        "scorecard": [_scorecard_row(g) for g in guardrails],
        "metrics": _metric_rows(comparison.get("metrics")),
        "metric_families": _metric_families(comparison.get("metrics")),
        "timeseries_figures": [
            {"name": name, "caption": f["caption"], "data_uri": _data_uri(f["png"])}
            for name, f in figures.items()
            if name.startswith("timeseries_")
        ],
        "fairness": _fairness_rows(comparison.get("fairness")),
        "mod_workload": _metric_rows(comparison.get("mod_workload")),
        "workload_figure": (
            {"caption": figures["mod_workload"]["caption"], "data_uri": _data_uri(figures["mod_workload"]["png"])}
            if "mod_workload" in figures
            else None
        ),
        "config_diff": [
            {"key": str(d.get("key")), "baseline": _config_value(d.get("baseline")), "scenario": _config_value(d.get("scenario"))}
            for d in comparison.get("config_diff") or []
        ],
        "provenance": _provenance_rows(comparison.get("provenance") or {}),
        "packages": sorted((str(k), str(v)) for k, v in ((comparison.get("provenance") or {}).get("packages") or {}).items()),
        "not_available": NOT_AVAILABLE,
    }


def _scorecard_row(guardrail: Mapping) -> dict:
    relative = "relative" in guardrail.get("kind", "") or "%" in guardrail.get("rule", "")
    fmt = _percent if relative else _number
    verdict = str(guardrail.get("verdict", "INCONCLUSIVE")).upper()
    return {
        "name": _text(guardrail.get("name")),
        "rule": _text(guardrail.get("rule")),
        "estimate": fmt(guardrail.get("estimate")),
        "ci": _ci(guardrail.get("ci_low"), guardrail.get("ci_high"), fmt),
        "verdict": verdict,
        "verdict_class": verdict.lower(),
        "seeds": _seeds_text(guardrail) if verdict == "INCONCLUSIVE" else "–",
    }


def _metric_families(metrics: Mapping | None) -> list[dict]:
    """The metric rows under their family headings, in the registry's order."""
    rows = _metric_rows(metrics)
    out = []
    for family, blurb in FAMILIES.items():
        mine = [r for r in rows if r["family"] == family]
        if mine:
            out.append({"family": family, "blurb": blurb, "rows": mine})
    other = [r for r in rows if r["family"] not in FAMILIES]
    if other:
        out.append({"family": "other", "blurb": "Values the metric registry does not list.", "rows": other})
    return out


def _metric_rows(metrics: Mapping | None) -> list[dict]:
    rows = []
    order = {name: i for i, name in enumerate(REGISTRY)}
    for name, m in sorted((metrics or {}).items(), key=lambda item: order.get(item[0], len(order))):
        reading = _reading(m)
        info = REGISTRY.get(name)
        rows.append(
            {
                "metric": name,
                "family": info.family if info else "other",
                "unit": info.unit if info else "",
                "definition": info.definition if info else "",
                "direction": _DIRECTION_LABELS.get(m.get("direction"), _text(m.get("direction"))),
                "baseline_mean": _number(m.get("baseline_mean")),
                "scenario_mean": _number(m.get("scenario_mean")),
                "difference": _number(m.get("diff_mean"), signed=True),
                "ci": _ci(m.get("ci_low"), m.get("ci_high"), lambda x: _number(x, signed=True)),
                "rel_change": _percent(m.get("rel_change")),
                "rel_ci": _ci(m.get("rel_ci_low"), m.get("rel_ci_high"), _percent),
                "replicates_needed": _seeds_text(m) if reading == "no clear change" else "–",
                "method": _method_name(m.get("method")) + (" (no spread: not certainty)" if m.get("degenerate") else ""),
                "reading": reading,
                "reading_class": reading.replace(" ", "-") if reading else "",
                "context": str(m.get("context") or ""),
            }
        )
    return rows


def _reading(m: Mapping) -> str:
    """"better", "worse", "no clear change" or "no change"; "" for neutral metrics.

    The comparison's own ``label`` (false-discovery-rate controlled, see
    ``experiments.guardrails.label_changes``) when it has one; otherwise read off the interval.
    """
    if "label" in m:
        return str(m["label"] or "")
    low, high = _float(m.get("ci_low")), _float(m.get("ci_high"))
    direction = m.get("direction", "neutral")
    if direction not in ("lower_is_better", "higher_is_better") or math.isnan(low) or math.isnan(high):
        return ""
    if low == high == 0:
        return "no change"
    if low <= 0 <= high:
        return "no clear change"
    went_up = low > 0
    return "better" if went_up == (direction == "higher_is_better") else "worse"


def _fairness_rows(fairness: Mapping | None) -> list[dict]:
    rows = []
    for metric, entry in (fairness or {}).items():
        for group, values in (entry.get("groups") or {}).items():
            rows.append(_fairness_row(metric, group, values, summary=False))
        if entry.get("worst_to_best"):
            rows.append(_fairness_row(metric, "worst-to-best ratio", entry["worst_to_best"], summary=True))
    return rows


def _fairness_row(metric: str, group: str, values: Mapping, summary: bool) -> dict:
    base, scen = _float(values.get("baseline")), _float(values.get("scenario"))
    return {
        "metric": metric,
        "group": group,
        "size": "" if summary else f"{_number(values.get('baseline_n'))} / {_number(values.get('scenario_n'))}",
        "baseline": _number(base),
        "scenario": _number(scen),
        "rel_change": _percent(relative_to(scen - base, base)),
        "summary": summary,
    }


_PROVENANCE_NOT_SHOWN = {"packages", "config", "whatif"}  # shown elsewhere, or too long for a table row


def _provenance_rows(provenance: Mapping) -> list[tuple[str, str]]:
    labels = {
        "command": "Command",
        "seeds": "Seeds",
        "git_commit": "Git commit",
        "python": "Python",
        "wall_time_s": "Wall time",
        "created": "Created",
    }
    rows = []
    for key, label in labels.items():
        value = provenance.get(key)
        if key == "seeds" and value is not None:
            text = ", ".join(str(s) for s in value)
        elif key == "wall_time_s" and value is not None:
            text = f"{_number(value)} s"
        else:
            text = _text(value)
        rows.append((label, text))
    for group, entry in sorted((provenance.get("whatif") or {}).items()):
        rows.append((f"What-if file ({group})", _text(entry.get("path"))))
    for key in sorted(set(provenance) - set(labels) - _PROVENANCE_NOT_SHOWN):
        rows.append((key, _config_value(provenance[key])))
    return rows


def _scorecard(comparison: Mapping) -> dict:
    verdict = str(comparison.get("verdict", "INCONCLUSIVE")).upper()
    provenance = comparison.get("provenance") or {}
    return json_ready(
        {
            "scenario": comparison.get("scenario"),
            "verdict": verdict,
            "exit_code": exit_code(verdict),
            "guardrails": list(comparison.get("guardrails") or []),
            "replicates": comparison.get("replicates"),
            "seeds": comparison.get("seeds"),
            "ci_method": comparison.get("ci_method"),
            "notes": list(comparison.get("notes") or []),
            "confidence": comparison.get("confidence"),
            "hypothesis_result": comparison.get("hypothesis_result"),
            "findings": findings(comparison),
            "sequential": comparison.get("sequential"),
            "git_commit": provenance.get("git_commit"),
            "created": provenance.get("created"),
            "provenance": dict(provenance),
        }
    )


# --- figures -----------------------------------------------------------------------------


def _figures(comparison: Mapping) -> dict[str, dict]:
    """PNG bytes and caption per figure name, in display order."""
    figures = {}
    series = comparison.get("timeseries") or {}
    units = {**METRIC_UNITS, **(comparison.get("units") or {})}
    ordered = [m for m in KEY_TIMESERIES if m in series] + sorted(set(series) - set(KEY_TIMESERIES))
    removal = _removal_figures(comparison)
    for metric in ordered:
        figures[f"timeseries_{_slug(metric)}"] = {
            "png": _timeseries_png(metric, series[metric], comparison, units.get(metric, _guess_unit(metric))),
            "caption": f"{metric}: daily mean across seeds with 95% band",
        }
        if metric == _REMOVAL_AFTER:
            figures.update(removal)
    figures.update(removal)  # (no-op when already placed)
    workload = comparison.get("mod_workload") or {}
    if any(math.isfinite(_float(m.get("rel_change"))) for m in workload.values()):
        figures["mod_workload"] = {
            "png": _workload_png(workload),
            "caption": "Moderator workload: scenario versus baseline (log scale, so every change shows) with 95% CI",
        }
    return figures


def _removal_figures(comparison: Mapping) -> dict[str, dict]:
    """Time to removal as survival estimates: the weekly Kaplan-Meier median, and the survival curve."""
    survival = comparison.get("removal_survival") or {}
    if not survival.get("week_day"):
        return {}
    weeks = np.asarray(survival["week_day"], dtype=float)
    weekly = {arm: survival[arm]["weekly_p50_min"] for arm in ("baseline", "scenario") if arm in survival}
    grid = np.asarray(survival["grid_min"], dtype=float)
    shown = grid > 0  # a log axis: the curve from the first grid time on
    curves = {arm: np.asarray(survival[arm]["surviving"], dtype=float)[:, shown] for arm in weekly}
    return {
        "timeseries_time_to_removal_weekly": {
            "png": _weekly_png(weeks, weekly, comparison),
            "caption": ("time to removal, weekly: Kaplan-Meier median time from posting to removal of the harmful "
                        "posts and comments posted each week (still up at the run's end: censored), mean across "
                        "seeds with 95% band"),
        },
        "timeseries_removal_survival": {
            "png": _survival_png(grid[shown], curves),
            "caption": ("harmful items still up, by time since posting: Kaplan-Meier survival over the items posted "
                        "in the measurement window, mean across seeds with 95% band"),
        },
    }


def _weekly_png(weeks: np.ndarray, weekly: Mapping, comparison: Mapping) -> bytes:
    fig, ax = _axes()
    _launch_and_warmup(ax, comparison, 0)
    width = float(np.diff(weeks).min()) if weeks.size > 1 else float(comparison.get("days") or 7)
    _arm_lines(ax, weeks + width / 2, weekly, marker="o")
    ax.set_title("time to removal, by week of posting (Kaplan-Meier median)", fontsize=11)
    ax.set_xlabel("simulated day (middle of the week of posting)")
    ax.set_ylabel("minutes")
    ax.set_ylim(bottom=0)
    return _finish(fig, ax)


_SURVIVAL_TICKS = ((10, "10 min"), (60, "1 h"), (360, "6 h"), (1440, "1 d"), (4320, "3 d"), (10080, "1 wk"),
                   (20160, "2 wk"))


def _survival_png(grid: np.ndarray, curves: Mapping) -> bytes:
    fig, ax = _axes()
    _arm_lines(ax, grid, {arm: 100 * c for arm, c in curves.items()}, marker=".")
    ax.set_xscale("log")
    ticks = [(t, label) for t, label in _SURVIVAL_TICKS if grid.size and grid.min() <= t <= grid.max()]
    ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.minorticks_off()
    ax.set_ylim(0, 100)
    ax.set_title("harmful items still up, by time since posting", fontsize=11)
    ax.set_xlabel("time since posting (log scale)")
    ax.set_ylabel("% still up (Kaplan-Meier)")
    return _finish(fig, ax)


def _axes():
    fig = Figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _launch_and_warmup(ax, comparison: Mapping, first_day: float) -> None:
    warmup = comparison.get("warmup_days")
    if warmup:
        ax.axvspan(first_day, warmup, color="#eeeeee", label="warm-up", zorder=0)
    launch = comparison.get("launch_day")
    if launch is not None:
        ax.axvline(launch, color="black", linestyle="--", linewidth=1, label=f"launch (day {launch})")


def _arm_lines(ax, x: np.ndarray, per_arm: Mapping, marker: str | None = None) -> None:
    """Each arm's mean across seeds with its 95% band (never below zero when no value is)."""
    for arm, colour in (("baseline", _BASELINE_COLOUR), ("scenario", _SCENARIO_COLOUR)):
        if per_arm.get(arm) is None or not len(per_arm[arm]):
            continue
        values = np.asarray(per_arm[arm], dtype=float)
        mean, low, high = _daily_band(values)
        if values.size and np.nanmin(values) >= 0:  # counts, shares, durations
            low = np.maximum(low, 0.0)
        ax.plot(x, mean, color=colour, linewidth=1.6, marker=marker, markersize=3,
                label=f"{arm} (mean of {len(per_arm[arm])} seeds)")
        ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)


def _finish(fig: Figure, ax) -> bytes:
    ax.grid(True, color="#dddddd", linewidth=0.6)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return _png(fig)


def _timeseries_png(metric: str, series: Mapping, comparison: Mapping, unit: str) -> bytes:
    fig, ax = _axes()
    days = np.asarray(series.get("day", []), dtype=float)
    per_arm = {arm: series[arm] for arm in ("baseline", "scenario") if series.get(arm) is not None}
    n = max((np.asarray(v, dtype=float).shape[-1] for v in per_arm.values() if len(v)), default=0)
    _launch_and_warmup(ax, comparison, days.min() if days.size else 0)
    _arm_lines(ax, days if days.size == n else np.arange(n), per_arm)
    ax.set_title(metric, fontsize=11)
    ax.set_xlabel("simulated day")
    ax.set_ylabel(unit)
    ax.margins(x=0)
    return _finish(fig, ax)


def _daily_band(per_seed: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean across seeds per day, and the 95% t band of that mean (NaN-tolerant)."""
    values = np.asarray(per_seed, dtype=float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        n = np.sum(~np.isnan(values), axis=0)
        sem = np.nanstd(values, axis=0, ddof=1) / np.sqrt(n)
        half = np.where(n >= 2, stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sem, np.nan)
    return mean, mean - half, mean + half


#: the workload chart's axis: ratios scenario / baseline from 1/64 to 64 (a metric falling to zero is
#: drawn at the floor and says so)
_RATIO_FLOOR = 1 / 64


def _workload_png(workload: Mapping) -> bytes:
    """Each workload metric's change as the ratio scenario / baseline on a log axis, so a change of
    ×20 and one of −10% are both readable; the value is written beside each bar."""
    rows = [(name, m) for name, m in workload.items() if math.isfinite(_float(m.get("rel_change")))]
    fig = Figure(figsize=(7.6, 0.5 * len(rows) + 1.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    colours = {"better": _BETTER_COLOUR, "worse": _WORSE_COLOUR, "context": _CONTEXT_COLOUR}
    to_ratio = lambda rel: max(1 + rel, _RATIO_FLOOR)  # noqa: E731
    top = 2.0
    for yi, (_, m) in zip(y, rows):
        rel = _float(m.get("rel_change"))
        low, high = _float(m.get("rel_ci_low")), _float(m.get("rel_ci_high"))
        ratio = to_ratio(rel)
        colour = colours.get(_reading(m), _UNCLEAR_COLOUR)
        ax.barh(yi, np.log2(ratio), color=colour, alpha=0.85, height=0.6)
        if math.isfinite(low) and math.isfinite(high):
            lo, hi = np.log2(to_ratio(low)), np.log2(to_ratio(high))
            ax.errorbar(np.log2(ratio), yi, xerr=[[np.log2(ratio) - lo], [hi - np.log2(ratio)]], color="black",
                        capsize=3, linewidth=1)
            top = max(top, abs(lo), abs(hi))
        top = max(top, abs(np.log2(ratio)))
        label = _percent(rel) + (" (to zero)" if 1 + rel <= 0 else "")
        ax.annotate(label, (np.log2(ratio), yi), xytext=(4 if ratio >= 1 else -4, 7), textcoords="offset points",
                    ha="left" if ratio >= 1 else "right", fontsize=7.5, color="#333333")
    span = min(np.ceil(top) + 1, np.log2(1 / _RATIO_FLOOR))
    ticks = np.arange(-span, span + 1)
    ax.set_xlim(-span, span)
    ax.set_xticks(ticks, [_ratio_label(2.0 ** t) for t in ticks])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, [name for name, _ in rows])
    ax.set_xlabel("scenario / baseline (log scale; 1× = no change)")
    ax.set_title("Moderator workload: green better, red worse, blue context, grey unclear", fontsize=9)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    return _png(fig)


def _ratio_label(ratio: float) -> str:
    return f"{ratio:g}×" if ratio >= 1 else f"1/{1 / ratio:g}×"


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _guess_unit(metric: str) -> str:
    if "_min" in metric:
        return "minutes"
    if metric.endswith("_per_day"):
        return metric.removesuffix("_per_day").replace("_", " ") + " per day"
    if metric.endswith(("_rate", "_share")) or metric == "prevalence":
        return "rate"
    return "count"


# --- markdown ----------------------------------------------------------------------------


def _markdown(view: Mapping) -> str:
    lines = [
        f"# Preflight report: {view['scenario']}",
        "",
        f"**Verdict: {view['verdict']}** ({view['verdict_summary']})",
        "",
        *_md_findings(view),
        f"**Description.** {view['description']}",
        "",
        *[line for note in view["notes"] for line in (f"**Note.** {note}", "")],
        *([view["sequential"], ""] if view["sequential"] else []),
        *_md_table(["Setting", "Value"], view["setup"]),
        "## Scorecard",
        "",
        *_md_table(
            ["Guardrail", "Rule", "Estimate", view["ci_label"], "Verdict", "Seeds to decide"],
            [(r["name"], r["rule"], r["estimate"], r["ci"], r["verdict"], r["seeds"]) for r in view["scorecard"]],
        ),
        "## Metrics",
        "",
        *([view["labels_note"], ""] if view["labels_note"] else []),
        "Grouped by family; every metric's definition is in docs/metrics.md.",
        "",
        *[line for fam in view["metric_families"] if fam["family"] != "mod_workload"
          for line in (f"### {fam['family']}", "", fam["blurb"], "", *_md_metric_table(fam["rows"], view["ci_label"]))],
        "## Time series",
        "",
    ]
    if view["timeseries_figures"]:
        lines += [f"![{f['caption']}](figures/{f['name']}.png)" for f in view["timeseries_figures"]] + [""]
    else:
        lines += [f"Time series {NOT_AVAILABLE}.", ""]
    lines += [
        "## Fairness by group",
        "",
        *_md_table(
            ["Metric", "Group", "Baseline", "Scenario", "Relative change", "Group size (baseline / scenario)"],
            [(r["metric"], r["group"], r["baseline"], r["scenario"], r["rel_change"], r["size"]) for r in view["fairness"]],
        ),
        "## Moderator workload",
        "",
        *_md_metric_table(view["mod_workload"], view["ci_label"]),
    ]
    if view["workload_figure"]:
        lines += ["![Moderator workload](figures/mod_workload.png)", ""]
    lines += [
        "## Config diff",
        "",
        *_md_table(["Key", "Baseline", "Scenario"], [(r["key"], r["baseline"], r["scenario"]) for r in view["config_diff"]]),
        "## Provenance",
        "",
        *_md_table(["Field", "Value"], view["provenance"]),
        *_md_table(["Package", "Version"], view["packages"]),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _md_findings(view: Mapping) -> list[str]:
    found = view["findings"]
    lines = ["## What we found", "", f"**Hypothesis.** {view['hypothesis']}", "", found["hypothesis"], "",
             f"**{found['verdict']}**", ""]
    for key, title in (("harms", "Largest harms"), ("benefits", "Largest benefits"), ("context", "Context, not a benefit")):
        if found[key]:
            lines += [f"**{title}**", "", *[f"- {sentence}" for sentence in found[key]], ""]
    if not found["harms"] and not found["benefits"]:
        lines += ["No other metric changed clearly.", ""]
    return lines


def _md_metric_table(rows: list[dict], ci_label: str = "95% CI") -> list[str]:
    return _md_table(
        ["Metric", "Unit", "Direction", "Baseline", "Scenario", f"Difference [{ci_label}]", "Relative change",
         "Reading", "Seeds to tell the sign", "Method"],
        [
            (r["metric"], r["unit"], r["direction"], r["baseline_mean"], r["scenario_mean"], f"{r['difference']} {r['ci']}",
             f"{r['rel_change']} {r['rel_ci']}", r["reading"] or "-", r["replicates_needed"], r["method"])
            for r in rows
        ],
    )


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return [f"_{NOT_AVAILABLE}_", ""]
    cell = lambda value: str(value).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


# --- formatting and files ----------------------------------------------------------------


def _float(value) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


def _number(value, signed: bool = False) -> str:
    """Compact display of a number; NaN or missing as "n/a"."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:+,}" if signed and value else f"{value:,}"
    x = _float(value)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    sign = "+" if signed and x > 0 else ""
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{sign}{x:,.0f}"
    if abs(x) < 1e-4:
        return f"{sign}{x:.2e}"
    return f"{sign}{x:.3g}"


def _percent(value) -> str:
    """A fraction as a signed percentage (0.052 -> "+5.2%"); NaN as "n/a"."""
    x = _float(value)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "+∞%" if x > 0 else "−∞%"
    if x == 0:
        return "0%"
    return f"{100 * x:+,.0f}%" if abs(x) >= 10 else f"{100 * x:+.1f}%"


def _ci(low, high, fmt) -> str:
    if math.isnan(_float(low)) or math.isnan(_float(high)):
        return "[n/a]"
    return f"[{fmt(low)}, {fmt(high)}]"


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return _number(value) if isinstance(value, float) else str(value)


def _config_value(value) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, str):
        return value
    return json.dumps(json_ready(value), sort_keys=True)


def _method_name(method) -> str:
    return {"t": "paired t", "bootstrap": "paired bootstrap (BCa ∪ t)",
            "rare-event": "rare-event (paired t ∪ unpaired ∪ pooled Poisson)"}.get(method, _text(method))


def _level(comparison: Mapping) -> str:
    confidence = _float(comparison.get("confidence", 0.95))
    return f"{100 * confidence:.3g}%" if math.isfinite(confidence) else "95%"


def _labels_note(comparison: Mapping) -> str:
    fdr = _float(comparison.get("fdr"))
    if math.isnan(fdr):
        return ""
    return (f"Better/worse labels control the false discovery rate at {100 * fdr:g}% over all labelled metrics "
            "(Benjamini–Hochberg); the primary metric is judged by the hypothesis alone.")


def _sequential_text(comparison: Mapping) -> str:
    sequential = comparison.get("sequential") or {}
    looks = sequential.get("looks") or []
    if not looks:
        return ""
    steps = ", ".join(f"{look['replicates']} ({look['verdict']})" for look in looks)
    return (f"Seeds added in batches until every guardrail was decided (compare.until_decided): looks at {steps}; "
            f"{sequential.get('stopped', '')}. Each look spends part of alpha={sequential.get('alpha')}, so the "
            "intervals stay valid under the repeated looks.")


def _seeds_text(entry: Mapping) -> str:
    """Paired seeds that would decide an undecided guardrail or tell a change's sign."""
    needed = entry.get("seeds_to_decide")
    if needed is None:
        return "n/a"
    from experiments.stats import SEEDS_CAP

    return f"≥ {SEEDS_CAP:,}" if needed >= SEEDS_CAP else f"{int(needed):,}"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
