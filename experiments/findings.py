"""What a comparison found, in plain words: the sentences at the top of the report.

:func:`findings` reads a comparison (``experiments.compare.summarize_pairs``) and says

- whether the evidence supports the scenario's hypothesis (primary metric, direction, estimate
  and interval);
- the verdict and the guardrail(s) that decided it;
- the largest harms and the largest benefits among the metrics labelled worse or better (ranked
  by the size of the relative change: ``harm exposure rises 6.6× (95% CI 5.2× to 8.0×)``);
- the changes that look better only because the defences did less (``experiments.guardrails.
  mark_context``), as context.

Only labelled changes are named (better/worse under the false-discovery-rate control of
docs/statistics.md), so a sentence here never rests on an interval that contains zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from experiments.guardrails import BETTER, CONTEXT, CONTRADICTED, FAIL, INCONCLUSIVE, SUPPORTED, WORSE

LARGEST = 3  # harms and benefits named at the top

_READABLE = (  # metric-name endings as words
    ("_min_p50", " (median)"), ("_min_p90", " (90th percentile)"), ("_p50_min", " (median)"),
    ("_p90_min", " (90th percentile)"), ("_worst_to_best", ": worst group to best"),
    ("_per_1k_views", " per 1,000 views"), ("_per_day", " per day"), ("_30d", " within 30 days"),
)


def findings(comparison: Mapping) -> dict:
    """The plain-words summary of ``comparison``.

    Returns:
        ``{"hypothesis": str, "verdict": str, "harms": [str], "benefits": [str], "context": [str]}``;
        ``harms`` and ``benefits`` hold at most :data:`LARGEST` sentences each, largest first.
    """
    rows = {**(comparison.get("metrics") or {}), **(comparison.get("mod_workload") or {})}
    level = _level(comparison)
    primary = comparison.get("primary_metric")
    ranked = sorted((name for name in rows if name != primary), key=lambda n: -_size(rows[n]))
    return {
        "hypothesis": _hypothesis(comparison, rows.get(primary) if primary else None, level),
        "verdict": _verdict(comparison, level),
        "harms": [change(n, rows[n], level) for n in ranked if rows[n].get("label") == WORSE][:LARGEST],
        "benefits": [change(n, rows[n], level) for n in ranked if rows[n].get("label") == BETTER][:LARGEST],
        "context": [f"{change(n, rows[n], level)} — {rows[n].get('context', 'better only as the defences did less')}"
                    for n in ranked if rows[n].get("label") == CONTEXT],
    }


def readable(name: str) -> str:
    """A metric name as words: ``time_to_removal_min_p50`` -> "time to removal (median)"."""
    for ending, words in _READABLE:
        if name.endswith(ending):
            name = name[: -len(ending)] + words
            break
    return name.replace("_", " ")


def change(name: str, row: Mapping, level: str = "95%") -> str:
    """One metric's change in words, with its interval: "harm exposure rises 6.6× (95% CI 5.2× to 8.0×)"."""
    rel, lo, hi = (_float(row.get(k)) for k in ("rel_change", "rel_ci_low", "rel_ci_high"))
    words = readable(name)
    if math.isfinite(rel) and math.isfinite(lo) and math.isfinite(hi):
        if rel >= 1 and lo > -1:  # at least doubled: as a factor
            return f"{words} rises {1 + rel:.2g}× ({level} CI {1 + lo:.2g}× to {1 + hi:.2g}×)"
        if rel > 0:
            return f"{words} rises {_pct(rel)} ({level} CI {_signed_pct(lo)} to {_signed_pct(hi)})"
        if rel < 0:
            return f"{words} falls {_pct(-rel)} ({level} CI {_signed_pct(lo)} to {_signed_pct(hi)})"
    diff, low, high = (_float(row.get(k)) for k in ("diff_mean", "ci_low", "ci_high"))
    if not math.isfinite(diff):
        return f"{words}: no estimate"
    verb = "rises" if diff > 0 else "falls" if diff < 0 else "does not change"
    return f"{words} {verb} by {_num(abs(diff))} ({level} CI {_num(low, True)} to {_num(high, True)})"


def _hypothesis(comparison: Mapping, row: Mapping | None, level: str) -> str:
    metric, direction = comparison.get("primary_metric"), comparison.get("primary_direction")
    if not metric or not direction:
        return "No primary metric was stated, so no hypothesis was tested."
    if not row:
        return f"The primary metric {metric} was not measured, so the hypothesis was not tested."
    result = comparison.get("hypothesis_result")
    said = {SUPPORTED: "The evidence supports the hypothesis", CONTRADICTED: "The evidence contradicts the hypothesis"}
    opening = said.get(result, "The evidence does not show what the hypothesis expects")
    expected = f"{readable(metric)} should {direction}"
    what = change(metric, row, level)
    if result not in said:
        what += ", an interval that includes no change"
    return f"{opening} ({expected}): {what}."


def _verdict(comparison: Mapping, level: str) -> str:
    verdict = str(comparison.get("verdict", INCONCLUSIVE)).upper()
    rails = list(comparison.get("guardrails") or [])
    if not rails:
        return f"Verdict {verdict}: no guardrail was set, so nothing was checked."
    if verdict == FAIL:
        failed = [r for r in rails if r.get("verdict") == FAIL]
        return (f"Verdict FAIL: {_count(failed, 'guardrail')} of {len(rails)} violated — "
                + "; ".join(_rail(r, level) for r in failed) + ".")
    if verdict == INCONCLUSIVE:
        open_ = [r for r in rails if r.get("verdict") == INCONCLUSIVE]
        parts = []
        for r in open_:
            needed = r.get("seeds_to_decide")
            seeds = f", about {int(needed):,} paired seeds would decide it" if needed else ""
            parts.append(_rail(r, level) + seeds)
        return (f"Verdict INCONCLUSIVE: {_count(open_, 'guardrail')} of {len(rails)} could not be decided — "
                + "; ".join(parts) + ".")
    return f"Verdict PASS: all {_count(rails, 'guardrail')} held — " + "; ".join(_rail(r, level) for r in rails) + "."


def _rail(rail: Mapping, level: str) -> str:
    relative = "relative" in str(rail.get("kind", ""))
    fmt = _signed_pct if relative else (lambda x: _num(x, True))
    if rail.get("kind") == "max_group_ratio":
        fmt = _num
    est, low, high = (_float(rail.get(k)) for k in ("estimate", "ci_low", "ci_high"))
    interval = f"{fmt(low)} to {fmt(high)}" if math.isfinite(low) and math.isfinite(high) else "no interval"
    return f"“{rail.get('name')}” ({rail.get('rule')}): {fmt(est)} ({level} CI {interval})"


def _size(row: Mapping) -> float:
    """How large a change is, for ranking: |log(scenario / baseline)|, or 0 when unknown."""
    rel = _float(row.get("rel_change"))
    if not math.isfinite(rel):
        return 0.0
    return math.inf if rel <= -1 else abs(math.log1p(rel))


def _level(comparison: Mapping) -> str:
    confidence = _float(comparison.get("confidence", 0.95))
    return f"{100 * confidence:.3g}%" if math.isfinite(confidence) else "95%"


def _count(items, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _float(value) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


def _pct(x: float) -> str:
    return f"{100 * x:,.0f}%" if abs(x) >= 0.1 else f"{100 * x:.2g}%"


def _signed_pct(x: float) -> str:
    x = _float(x)
    if not math.isfinite(x):
        return "n/a"
    return ("+" if x > 0 else "−" if x < 0 else "") + _pct(abs(x))


def _num(x: float, signed: bool = False) -> str:
    x = _float(x)
    if not math.isfinite(x):
        return "n/a"
    sign = ("+" if x > 0 else "−" if x < 0 else "") if signed else ("−" if x < 0 else "")
    x = abs(x)
    text = f"{x:,.0f}" if x >= 1000 else f"{x:.3g}"
    return sign + text
