"""What ``preflight calibrate`` writes: the fitted population preset, ``calibration.json``,
``calibration_report.md`` and ``calibration_report.html`` (one self-contained page, figures inline),
and the figures a reader of heavy-tailed community data expects (docs/calibration.md):
activity days per answerer on log-log axes, the reputation Lorenz curve, and daily volumes with
their weekly cycle.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from experiments.calibration import preset_file
from preflight.files import atomic_write, json_ready
from sim.clock import MINUTES_PER_DAY

_TEMPLATES = Path(__file__).parent / "templates"
LORENZ_POINTS = 101
VOLUMES = ("questions_per_day", "answers", "comments")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FITTING_SEEDS_LINE = "# fitting seeds: "


def portrait_of(record, window, settings) -> dict:
    """The distributions behind the heavy-tail targets, from one finished run.

    Returns:
        ``answer_days`` (distinct days answered -> answerers, over the window), ``lorenz``
        (population share, reputation share of members), and the daily ``volumes`` of the window
        with each day's weekday.
    """
    from sim.population import Kind
    from sim.store import PostType

    P, U = record.posts, record.users
    answers = np.flatnonzero((P["kind"] == PostType.ANSWER) & window.contains(P["created"]))
    pairs = np.unique(P["owner"][answers].astype(np.int64) * 100_000 + P["created"][answers] // MINUTES_PER_DAY)
    days_per_answerer = np.unique(pairs // 100_000, return_counts=True)[1]
    days, users = np.unique(days_per_answerer, return_counts=True)
    rep = np.sort(U["reputation"][U["kind"] == Kind.MEMBER].astype(np.float64))
    cumulative = np.concatenate([[0.0], np.cumsum(rep)]) / max(rep.sum(), 1.0)
    shares = np.linspace(0, 1, LORENZ_POINTS)
    series = record.series
    inside = window.day_mask(series)
    start = date.fromisoformat(str(settings.run.start_date))
    weekday = [(start + timedelta(days=int(d))).weekday() for d in series["day"][inside]]
    return {"answer_days": {"days": days.tolist(), "users": users.tolist()},
            "lorenz": {"population": shares.tolist(),
                       "reputation": np.interp(shares * rep.size, np.arange(rep.size + 1), cumulative).tolist()},
            "volumes": {"day": series["day"][inside].tolist(), "weekday": weekday,
                        **{k: np.asarray(series[k])[inside].tolist() for k in VOLUMES}}}


def preset_text(result: dict) -> str:
    """The fitted population preset: a header naming the command, seeds and targets, then the
    fitted keys (everything else is ``conf/population/default.yaml``). A staged fit (every
    candidate started from ``population=BASE``) keeps the base preset's keys that it did not refit.
    A nested parameter (``population.traits.expert_answer_factor``) is written in its section
    (``traits:``), which Hydra merges key by key into the default's."""
    best, ranges = result["best"], result["ranges"]
    lines = [f"# {result['preset']}: population preset fitted by `preflight calibrate` ({result['created']}).",
             f"# command: {result['command']}",
             f"# calibration: {result['calibration']['path']} (site {result['site']}, {result['days']:g} days, "
             f"warm-up {result['warmup_days']:g}); loss {best['loss']:.4g} (trial {best['number']} of "
             f"{result['trials']}, TPE sampler seed {result['sampler_seed']})",
             f"# emergent targets: {', '.join(result['emergent'])}",
             f"# input targets (not fitted): {', '.join(result['inputs']) or 'none'}",
             f"{FITTING_SEEDS_LINE}{json.dumps(result['seeds'])}",
             "# `preflight validate` refuses these seeds (validation runs on fresh ones)."]
    base = result.get("base")
    fitted = {key.split(".", 1)[1] for key in best["params"]}
    comments, entries = _base_entries(base, fitted) if base else ([], {})
    if base:
        lines.append(f"# staged fit: every candidate started from population={base} (its keys first, as it has them; "
                     f"then this fit's {len(fitted)} parameters{' of ' + result['parameter_set'] if result.get('parameter_set') else ''})")
    lines += comments
    for key, value in best["params"].items():
        r, p = ranges[key], result["parameters"][key]
        *section, name = key.split(".")[1:]
        line = (f"{name}: {value:.6g}  # fitted by calibrate; prior {p['prior']} [{p['low']:g}, {p['high']:g}]; "
                f"best-{result['best_share']:.0%} range [{r['low']:.4g}, {r['high']:.4g}]"
                + ("" if r["identified"] else " (not identified)"))
        _put(entries, section, name, line)
    return "\n".join([*lines, "defaults:", "  - default", "  - _self_", *_emit(entries)]) + "\n"


def _put(entries: dict, section: list[str], name: str, line: str) -> None:
    """Set ``name``'s line in the nested ``section`` of ``entries`` (a dict of lines and sub-dicts)."""
    for part in section:
        entries = entries.setdefault(part, {})
        if not isinstance(entries, dict):
            raise ValueError(f"population.{'.'.join(section)}: a value, not a section")
    entries[name] = line


def _emit(entries: dict, indent: str = "") -> list[str]:
    out = []
    for key, entry in entries.items():
        if isinstance(entry, dict):
            out += [f"{indent}{key}:", *_emit(entry, indent + "  ")]
        else:
            out.append(indent + entry)
    return out


def _base_entries(base: str, fitted: set[str]) -> tuple[list[str], dict]:
    """The shipped population preset ``base`` (a path or a name under conf/population/): the
    commands of its own stages (comment lines) and its key lines, nested by section, except the
    keys this fit refits (``fitted``: dotted names below ``population``)."""
    _, path = preset_file(base)
    comments, entries, stack = [], {}, []  # stack: the open sections, (indent, name)
    for line in path.read_text().splitlines():
        if line.startswith(("# command:", "# calibration:")):
            comments.append(f"# {base}'s {line[2:]}")
            continue
        if re.match(r"# \S+'s (command|calibration): ", line):  # an earlier stage's, as the base has it
            comments.append(line)
            continue
        body = line.lstrip(" ")
        if not body or body.startswith(("#", "-")) or line.startswith("defaults"):
            continue
        indent = len(line) - len(body)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key, rest = body.split(":", 1)
        section = [name for _, name in stack]
        if not rest.split("#", 1)[0].strip():  # a section header
            stack.append((indent, key))
            continue
        if ".".join([*section, key]) not in fitted:
            _put(entries, section, key, body.replace("# fitted by calibrate", f"# from {base}: fitted by calibrate", 1))
    return comments, entries


def fitting_seeds(preset: str) -> list[int] | None:
    """The fitting seeds a preset's header records (None if it records none)."""
    for line in preset.splitlines():
        if line.startswith(FITTING_SEEDS_LINE):
            return [int(s) for s in yaml.safe_load(line[len(FITTING_SEEDS_LINE):])]
    return None


def write_calibration(result: dict, portraits: list[dict], folder: Path) -> dict[str, Path]:
    """Write the preset, ``calibration.json``, the figures and both reports (each atomically;
    ``calibration.json`` last, so a folder without it holds an unfinished calibration)."""
    folder = Path(folder)
    written = {"preset": atomic_write(folder / f"{result['preset']}.yaml", preset_text(result).encode())}
    figures = {"answer_days": answer_days_png(portraits), "lorenz": lorenz_png(portraits),
               "volumes": volumes_png(portraits)}
    for name, png in figures.items():
        written[f"figure:{name}"] = atomic_write(folder / "figures" / f"{name}.png", png)
    view = _view(result, figures)
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    html = env.get_template("calibration_report.html.j2").render(**view)
    written["html"] = atomic_write(folder / "calibration_report.html", html.encode())
    written["markdown"] = atomic_write(folder / "calibration_report.md", markdown(view).encode())
    text = json.dumps(json_ready({**result, "portraits": portraits}), indent=2, allow_nan=False)
    written["json"] = atomic_write(folder / "calibration.json", text.encode())
    return written


def _view(result: dict, figures: dict[str, bytes]) -> dict:
    rows = [{**r, "cells": _cells(r)} for r in result["rows"]]
    emergent = [r for r in rows if r["kind"] == "emergent"]
    return {**result, "rows": rows, "in_band": sum(r["in_band"] for r in emergent), "emergent_count": len(emergent),
            "figures": {k: "data:image/png;base64," + base64.b64encode(v).decode("ascii") for k, v in figures.items()},
            "range_rows": [{"key": k, "prcc": math.nan, "p": math.nan, **v, **{f"prior_{a}": result["parameters"][k][a] for a in ("low", "high", "prior")},
                            "best": result["best"]["params"][k]} for k, v in result["ranges"].items()]}


def _cells(row: dict) -> dict:
    def fmt(x):
        return "–" if x is None or not math.isfinite(x) else f"{x:.4g}"

    return {"real": fmt(row["real"]), "band": f"[{row['band'][0]:g}, {row['band'][1]:g}]", "mean": fmt(row["mean"]),
            "sd": fmt(row["sd"]), "range": f"{fmt(row['min'])} – {fmt(row['max'])}",
            "per": row["per"] or "", "verdict": "in band" if row["in_band"] else "OUT"}


def markdown(view: dict) -> str:
    """The report as Markdown (the same content as the HTML page, figures as files)."""
    lines = [f"# Calibration: {view['calibration']['name']} on site {view['site']}", "",
             f"Command: `{view['command']}`", "",
             f"{view['in_band']}/{view['emergent_count']} emergent targets in band at the best candidate "
             f"(trial {view['best']['number']}, loss {view['best']['loss']:.4g}; mean over fitting seeds "
             f"{view['seeds']}; {view['trials']} trials, TPE sampler seed {view['sampler_seed']}). "
             "Input targets are set by configuration and are not evidence.", "",
             "## Targets: observed vs simulated", "",
             "| target | kind | per | observed | band | simulated mean | sd | range over seeds | |",
             "|---|---|---|---:|---|---:|---:|---|---|"]
    for r in view["rows"]:
        c = r["cells"]
        lines.append(f"| `{r['target']}` | {r['kind']} | {c['per']} | {c['real']} | {c['band']} | {c['mean']} | "
                     f"{c['sd']} | {c['range']} | {c['verdict']} |")
    if view["excluded"]:
        lines += ["", "Targets of the full-scale file left out here:", ""]
        lines += [f"- `{k}`: {v}" for k, v in view["excluded"].items()]
    if view.get("unreached"):
        lines += ["", "Targets the model cannot reach yet (left out of the loss, still reported), with the mechanism that is missing:", ""]
        lines += [f"- `{k}`: {v}" for k, v in view["unreached"].items()]
    lines += ["", f"## Best-fit parameter ranges (best {view['best_share']:.0%} of trials)", "",
              "| parameter | prior | prior range | best | best-fit range | span of prior | loss dependence (PRCC) "
              "| p | identified |",
              "|---|---|---|---:|---|---:|---:|---:|---|"]
    for r in view["range_rows"]:
        lines.append(f"| `{r['key']}` | {r['prior_prior']} | [{r['prior_low']:g}, {r['prior_high']:g}] | "
                     f"{r['best']:.4g} | [{r['low']:.4g}, {r['high']:.4g}] | {r['span_of_prior']:.2f} | "
                     f"{r['prcc']:.2f} | {r['p']:.2g} | {'yes' if r['identified'] else 'no'} |")
    lines += ["", "## Figures", "", "![activity days per answerer](figures/answer_days.png)", "",
              "![reputation Lorenz curve](figures/lorenz.png)", "", "![daily volumes](figures/volumes.png)", "",
              f"Install the preset: `{view['install']}`", "", f"Confirm at full scale: `{view['confirm']}`", ""]
    return "\n".join(lines)


def _figure(width: float = 6.4, height: float = 4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def answer_days_png(portraits: list[dict]) -> bytes:
    """Answerers by distinct days answered, log-log, each seed, with the n^-2 line of the target."""
    ax = (fig := _figure()).add_subplot()
    for i, p in enumerate(portraits):
        days, users = np.array(p["answer_days"]["days"]), np.array(p["answer_days"]["users"])
        ax.loglog(days, users / max(users.sum(), 1), "o", ms=3, alpha=0.6, label=f"seed {p['seed']}" if i < 5 else None)
    if portraits and portraits[0]["answer_days"]["days"]:
        n = np.arange(1, max(max(p["answer_days"]["days"] or [1]) for p in portraits) + 1)
        ax.loglog(n, n ** -2.0 / np.sum(n ** -2.0), "-", color="#444444", label="n^-2 (target exponent 2)")
    ax.set_xlabel("distinct days a user answered on (measurement window)")
    ax.set_ylabel("share of answerers")
    ax.set_title("Activity days per answerer (log-log)", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def lorenz_png(portraits: list[dict]) -> bytes:
    """The members' reputation Lorenz curve, each seed, with equality and the top-1% target."""
    ax = (fig := _figure(5.2, 4.6)).add_subplot()
    for p in portraits:
        ax.plot(p["lorenz"]["population"], p["lorenz"]["reputation"], alpha=0.7, label=f"seed {p['seed']}")
    ax.plot([0, 1], [0, 1], ":", color="#888888", label="equality")
    ax.plot([0.99], [0.4], "x", color="#D55E00", ms=8, label="target: top 1% hold 60%")
    ax.set_xlabel("share of members (poorest first)")
    ax.set_ylabel("share of reputation")
    ax.set_title("Reputation Lorenz curve", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return _png(fig)


def volumes_png(portraits: list[dict]) -> bytes:
    """Daily questions, answers and comments over the window, and their mean by weekday."""
    fig = _figure(9.6, 4.0)
    left, right = fig.subplots(1, 2, width_ratios=[2.2, 1])
    colors = {"questions_per_day": "#0072B2", "answers": "#009E73", "comments": "#D55E00"}
    for key, color in colors.items():
        for i, p in enumerate(portraits):
            v = p["volumes"]
            left.plot(v["day"], v[key], color=color, alpha=0.5, lw=0.8, label=key if i == 0 else None)
        weekly = np.mean([[np.mean([x for x, w in zip(p["volumes"][key], p["volumes"]["weekday"]) if w == d] or [np.nan])
                           for d in range(7)] for p in portraits], axis=0)
        right.plot(range(7), weekly, "o-", color=color, label=key)
    left.set_xlabel("simulated day")
    left.set_ylabel("per day")
    left.set_title("Daily volumes (each seed)", fontsize=10)
    left.legend(fontsize=8, frameon=False)
    right.set_xticks(range(7), WEEKDAYS)
    right.set_title("Weekly cycle (mean by weekday)", fontsize=10)
    return _png(fig)
