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
import os
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from experiments.guardrails import exit_code
from experiments.stats import relative_to
from sim.metric_registry import FAMILIES, REGISTRY
from sim.outputs import file_mode

KEY_TIMESERIES = (
    "harm_exposure",
    "prevalence",
    "time_to_removal_min_p50",
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
_BETTER_COLOUR, _WORSE_COLOUR, _UNCLEAR_COLOUR = "#1a7f37", "#c62828", "#8a8a8a"
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
        _write_atomic(path, figure["png"])
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
    written["html"] = _write_atomic(out_dir / "report.html", html.encode())
    written["markdown"] = _write_atomic(out_dir / "report.md", _markdown(view).encode())
    scorecard = json.dumps(_scorecard(comparison), indent=2, sort_keys=True, allow_nan=False)
    written["scorecard"] = _write_atomic(out_dir / "scorecard.json", (scorecard + "\n").encode())
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
        "hypothesis_result": _hypothesis_text(comparison),
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
    return _json_safe(
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
    for metric in ordered:
        figures[f"timeseries_{_slug(metric)}"] = {
            "png": _timeseries_png(metric, series[metric], comparison, units.get(metric, _guess_unit(metric))),
            "caption": f"{metric}: daily mean across seeds with 95% band",
        }
    workload = comparison.get("mod_workload") or {}
    if any(math.isfinite(_float(m.get("rel_change"))) for m in workload.values()):
        figures["mod_workload"] = {
            "png": _workload_png(workload),
            "caption": "Moderator workload: relative change versus baseline with 95% CI",
        }
    return figures


def _timeseries_png(metric: str, series: Mapping, comparison: Mapping, unit: str) -> bytes:
    fig = Figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    days = np.asarray(series.get("day", []), dtype=float)
    warmup = comparison.get("warmup_days")
    if warmup:
        ax.axvspan(days.min() if days.size else 0, warmup, color="#eeeeee", label="warm-up", zorder=0)
    for arm, colour in (("baseline", _BASELINE_COLOUR), ("scenario", _SCENARIO_COLOUR)):
        if series.get(arm) is None:
            continue
        mean, low, high = _daily_band(series[arm])
        values = np.asarray(series[arm], dtype=float)
        if values.size and np.nanmin(values) >= 0:  # counts, shares, durations: a band never below zero
            low = np.maximum(low, 0.0)
        x = days if days.size == mean.size else np.arange(mean.size)
        n_seeds = len(series[arm])
        ax.plot(x, mean, color=colour, linewidth=1.6, label=f"{arm} (mean of {n_seeds} seeds)")
        ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)
    launch = comparison.get("launch_day")
    if launch is not None:
        ax.axvline(launch, color="black", linestyle="--", linewidth=1, label=f"launch (day {launch})")
    ax.set_title(metric, fontsize=11)
    ax.set_xlabel("simulated day")
    ax.set_ylabel(unit)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.margins(x=0)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return _png(fig)


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


def _workload_png(workload: Mapping) -> bytes:
    rows = [(name, m) for name, m in workload.items() if math.isfinite(_float(m.get("rel_change")))]
    fig = Figure(figsize=(7.2, 0.5 * len(rows) + 1.4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    colours = {"better": _BETTER_COLOUR, "worse": _WORSE_COLOUR}
    for yi, (_, m) in zip(y, rows):
        est = 100 * _float(m.get("rel_change"))
        low, high = 100 * _float(m.get("rel_ci_low")), 100 * _float(m.get("rel_ci_high"))
        colour = colours.get(_reading(m), _UNCLEAR_COLOUR)
        ax.barh(yi, est, color=colour, alpha=0.85, height=0.6)
        if math.isfinite(low) and math.isfinite(high):
            ax.errorbar(est, yi, xerr=[[est - low], [high - est]], color="black", capsize=3, linewidth=1)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, [name for name, _ in rows])
    ax.set_xlabel("change versus baseline (%)")
    ax.set_title("Moderator workload (green better, red worse, grey no clear change)", fontsize=10)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    return _png(fig)


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
        f"**Description.** {view['description']}",
        "",
        f"**Hypothesis.** {view['hypothesis']}",
        "",
        *[line for note in view["notes"] for line in (f"**Note.** {note}", "")],
        f"**Hypothesis result.** {view['hypothesis_result']}",
        "",
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
    return json.dumps(_json_safe(value), sort_keys=True)


def _method_name(method) -> str:
    return {"t": "paired t", "bootstrap": "paired bootstrap (BCa ∪ t)",
            "rare-event": "rare-event (paired t ∪ unpaired ∪ pooled Poisson)"}.get(method, _text(method))


def _level(comparison: Mapping) -> str:
    confidence = _float(comparison.get("confidence", 0.95))
    return f"{100 * confidence:.3g}%" if math.isfinite(confidence) else "95%"


def _hypothesis_text(comparison: Mapping) -> str:
    result = comparison.get("hypothesis_result")
    metric, direction = comparison.get("primary_metric"), comparison.get("primary_direction")
    if not result or not metric or not direction:
        return NOT_AVAILABLE
    meaning = {"supported": f"{metric} moved in the stated direction ({direction}) and its interval excludes zero",
               "contradicted": f"{metric} moved against the stated direction ({direction}); its interval excludes zero",
               }.get(result, f"the interval of {metric} contains zero (or is undefined): no {direction} shown")
    return f"{result} — {meaning}"


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


def _json_safe(value):
    """Replace NaN and infinities by None and numpy scalars by Python ones, recursively."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same directory and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), file_mode())  # mkstemp makes 0600; the user's umask decides
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
