"""Guardrails: limits a scenario must respect, checked against the paired comparison.

A guardrail is written in YAML as a metric plus exactly one bound, for example::

    - name: no more harm
      metric: harm_exposure
      max_relative_increase: 0.05      # must not rise by more than 5%
    - name: fair enforcement
      metric: wrongful_rate
      max_group_ratio: 1.25            # worst group at most 1.25x the best group

Each guardrail is a non-inferiority test (docs/statistics.md, "The decision rule"): PASS when the
whole 1 - alpha interval (95% by default) lies on the safe side of the bound (non-inferiority
shown at one-sided alpha/2), INCONCLUSIVE when it straddles the bound, is undefined, or has zero
width without being certain (no spread in a handful of seeds with too few events). The overall
PASS needs every guardrail to PASS, so it is wrong with probability at most alpha/2 whatever the
number of guardrails (an intersection-union test): alpha is not shrunk, the number of seeds gives
the power. An undecided guardrail reports the paired seeds that would decide it.

FAIL is the other claim: the harm is shown, the interval entirely beyond the bound. "Some
guardrail is harmed" is a union over the guardrails, so :func:`family_fail` keeps a FAIL only when
Holm's step-down over the guardrails' one-sided p-values rejects it at alpha/2: with no guardrail
truly violated, the overall verdict FAILs with probability at most alpha/2.

The same module holds the rest of the decision rule: whether the scenario's hypothesis is
supported (:func:`hypothesis_result`) and the better/worse labels of the other metrics under
Benjamini-Hochberg false-discovery-rate control (:func:`label_changes`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from experiments.metric_kinds import metric_kind
from experiments.stats import (
    DEFAULT_CONFIDENCE,
    DEFAULT_POWER,
    mean_interval,
    paired_difference,
    seeds_to_decide,
)
from sim.metric_registry import REGISTRY

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
SUPPORTED, CONTRADICTED, NOT_SHOWN = "supported", "contradicted", "not shown"
BETTER, WORSE, UNCLEAR, NO_CHANGE = "better", "worse", "no clear change", "no change"
CONTEXT = "context"  # "better" only because the defences did less (mark_context)
DEFAULT_FDR = 0.05
_ALMOST_ONE = 1e-9  # harm_p_value: the narrowest interval tried is at confidence 1e-9
_BISECTION_STEPS = 40
_LOWER_IS_BETTER, _HIGHER_IS_BETTER = "lower_is_better", "higher_is_better"
EXIT_CODES = {PASS: 0, FAIL: 1, INCONCLUSIVE: 3}

BOUND_KINDS = (
    "max_relative_increase",
    "max_relative_decrease",
    "max_absolute_increase",
    "max_absolute_decrease",
    "max_group_ratio",
)
_OTHER_KEYS = ("name", "metric")


@dataclass(frozen=True)
class Guardrail:
    """One validated guardrail.

    Attributes:
        name: Label shown on the scorecard.
        metric: Metric it constrains (a name from sim/metric_registry.py, docs/metrics.md).
        kind: Which bound, one of ``BOUND_KINDS``.
        bound: The limit: a fraction for relative kinds (0.05 = 5%), metric units for
            absolute kinds, a ratio for ``max_group_ratio``.
    """

    name: str
    metric: str
    kind: str
    bound: float

    @property
    def rule(self) -> str:
        """The guardrail in words, e.g. "harm_exposure must not rise by more than 5%"."""
        if self.kind == "max_group_ratio":
            return (
                f"worst-to-best group ratio of {self.metric} must not exceed {self.bound:g}"
            )
        verb = "rise" if self.kind.endswith("increase") else "fall"
        amount = f"{self.bound * 100:g}%" if "relative" in self.kind else f"{self.bound:g}"
        return f"{self.metric} must not {verb} by more than {amount}"


def validate_guardrail(spec: Mapping) -> Guardrail:
    """Check a guardrail spec from YAML and turn it into a :class:`Guardrail`.

    Args:
        spec: Mapping with ``metric``, optional ``name`` and exactly one bound key.

    Returns:
        The validated guardrail; ``name`` defaults to the metric name.

    Raises:
        ValueError: One-line message naming the offending key, its value and what is
            allowed: not a mapping, unknown key, missing or empty ``metric``, no bound or
            more than one bound, a bound that is not a finite number or is negative.
    """
    allowed = ", ".join(_OTHER_KEYS + BOUND_KINDS)
    if not isinstance(spec, Mapping):
        raise ValueError(f"guardrail {spec!r} is not a mapping; write keys {allowed}")
    for key in spec:
        if key not in _OTHER_KEYS + BOUND_KINDS:
            raise ValueError(f"guardrail key {key!r} (value {spec[key]!r}) is unknown; allowed keys: {allowed}")
    metric = spec.get("metric")
    if not isinstance(metric, str) or not metric.strip():
        raise ValueError(f"guardrail key 'metric' is {metric!r}; it is required and must be a metric name")
    bounds = [key for key in BOUND_KINDS if key in spec]
    if len(bounds) != 1:
        found = ", ".join(bounds) if bounds else "none"
        raise ValueError(
            f"guardrail for {metric!r} has bound keys {found}; give exactly one of {', '.join(BOUND_KINDS)}"
        )
    kind = bounds[0]
    bound = spec[kind]
    if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
        raise ValueError(f"guardrail key {kind!r} is {bound!r}; it must be a finite number")
    if bound < 0:
        raise ValueError(f"guardrail key {kind!r} is {bound!r}; it must be zero or positive")
    if kind == "max_group_ratio" and bound < 1:
        raise ValueError(f"guardrail key {kind!r} is {bound!r}; a worst-to-best ratio bound must be at least 1")
    name = spec.get("name", metric)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"guardrail key 'name' is {name!r}; it must be a non-empty string")
    return Guardrail(name=name, metric=metric, kind=kind, bound=float(bound))


def evaluate(
    guardrail: Guardrail | Mapping,
    evidence: Mapping | Sequence | np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
    power: float = DEFAULT_POWER,
) -> dict:
    """Check one guardrail against the comparison.

    Args:
        guardrail: A :class:`Guardrail`, or a raw spec (validated here).
        evidence: For relative and absolute bounds, the metric's comparison row (a dict
            from :func:`experiments.stats.paired_difference`, or one holding per-seed
            ``baseline`` and ``scenario`` lists). For ``max_group_ratio``, the scenario's
            per-replicate worst-to-best ratios (or a mapping with them under ``scenario``).
        confidence: Level of the interval computed here when the evidence is per-seed values
            (a comparison row carries its own).
        power: For an undecided guardrail, the chance of deciding it at ``seeds_to_decide``.

    Returns:
        Dict with ``name, metric, kind, rule, bound, estimate, ci_low, ci_high, verdict``,
        ``reason`` (why it is INCONCLUSIVE, else "") and ``seeds_to_decide`` (the paired seeds
        that would decide an INCONCLUSIVE guardrail if the estimate holds, None when no number can
        be read off the evidence; None for a decided one). Relative kinds report the relative
        change (0.05 = +5%), absolute kinds the difference, ``max_group_ratio`` the mean scenario
        ratio.
    """
    if not isinstance(guardrail, Guardrail):
        guardrail = validate_guardrail(guardrail)
    estimate, low, high, info = _estimate(guardrail, evidence, confidence)
    if guardrail.kind.endswith("decrease"):
        # A fall is a negative change; compare its size with the bound.
        harm = (-estimate, -high, -low)
    else:
        harm = (estimate, low, high)
    verdict, reason = _verdict(harm[1], harm[2], guardrail.bound, info)
    needed = None
    if verdict == INCONCLUSIVE and not reason.startswith(("undefined", "no spread")):
        needed = seeds_to_decide(*harm, guardrail.bound, info["n"], info["confidence"], power)
    return {
        "name": guardrail.name,
        "metric": guardrail.metric,
        "kind": guardrail.kind,
        "rule": guardrail.rule,
        "bound": guardrail.bound,
        "estimate": estimate,
        "ci_low": low,
        "ci_high": high,
        "verdict": verdict,
        "reason": reason,
        "seeds_to_decide": needed,
        "n": info["n"],
        "confidence": info["confidence"],
        "method": info["method"],
    }


def harm_p_value(interval_at, bound: float, decrease: bool = False) -> float:
    """One-sided p-value of "the harmful change is at most ``bound``" by inverting an interval.

    Args:
        interval_at: ``confidence -> (low, high)`` on the guardrail's scale (its intervals nest).
        bound: The guardrail's bound, as a harmful change.
        decrease: The bound limits a fall (the harmful change is minus the change).

    Returns:
        Half the smallest alpha whose ``1 - alpha`` interval lies entirely beyond the bound (its
        lower end on the harm scale above it), 1.0 when even the point estimate is not beyond.
    """
    def beyond(alpha: float) -> bool:
        low, high = interval_at(1 - alpha)
        return (-high if decrease else low) > bound

    if not beyond(1 - _ALMOST_ONE):
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if beyond(mid) else (mid, hi)
    return hi / 2


def family_fail(results: list[dict], harm_p: Mapping[int, float], alpha: float) -> None:
    """Holm's step-down over the FAIL side of the guardrails, in place.

    ``results[i]`` with verdict FAIL keeps it when, taken in the order of their one-sided
    p-values ``harm_p[i]``, the j-th (from 0) has ``p <= (alpha / 2) / (G - j)``, G the number of
    guardrails; from the first that does not, the rest become INCONCLUSIVE ("beyond the bound at
    this confidence, not at the family-wise level"). With one guardrail this is the plain rule.
    """
    size = len(results)
    failing = sorted((i for i, r in enumerate(results) if r["verdict"] == FAIL), key=lambda i: harm_p[i])
    for rank, i in enumerate(failing):
        threshold = (alpha / 2) / (size - rank)
        if harm_p[i] > threshold:
            for later, j in enumerate(failing[rank:]):
                results[j]["verdict"] = INCONCLUSIVE
                results[j]["reason"] = (f"beyond the bound at {100 * (1 - alpha):.3g}% but not at the family-wise "
                                        f"level over {size} guardrails (Holm; one-sided p = {harm_p[j]:.2g})")
                results[j]["holm_level"] = (alpha / 2) / (size - rank - later)  # the one-sided level it needs
            return
        results[i]["harm_p_value"] = harm_p[i]


def hypothesis_result(row: Mapping | None, direction: str | None) -> str:
    """Whether the primary metric moved as the scenario's hypothesis says.

    ``supported`` when the interval of the paired difference excludes zero on the stated side
    (``increase``: above zero; ``decrease``: below), ``contradicted`` when it excludes zero on the
    other side, ``not shown`` otherwise (no direction stated, an undefined or zero-width interval
    that is not certain, or an interval containing zero).
    """
    if not row or direction not in ("increase", "decrease"):
        return NOT_SHOWN
    low, high = _as_float(row.get("ci_low")), _as_float(row.get("ci_high"))
    if math.isnan(low) or math.isnan(high) or row.get("degenerate"):
        return NOT_SHOWN
    up, down = low > 0, high < 0
    if not (up or down):
        return NOT_SHOWN
    return SUPPORTED if up == (direction == "increase") else CONTRADICTED


def label_changes(rows: Mapping[str, Mapping], fdr: float = DEFAULT_FDR, exclude: Sequence[str] = ()) -> dict:
    """Better/worse labels for many metrics at once, with the false discovery rate at ``fdr``.

    The family is every metric with a direction (``lower_is_better``/``higher_is_better``) and a
    p-value, except those in ``exclude`` (the primary metric, judged by the hypothesis alone).
    Benjamini-Hochberg adjusts the p-values (``scipy.stats.false_discovery_control``); a metric is
    labelled better or worse when its adjusted p-value is at most ``fdr`` and its interval
    excludes zero. Among the labelled metrics, the expected share of false labels is then at most
    ``fdr``.

    Returns:
        ``{metric: {"label": ..., "q_value": ...}}`` for every row: ``better``, ``worse``,
        ``no clear change``, ``no change`` (an exactly zero, certain difference) or ``""``
        (a neutral metric, or no interval).
    """
    out, family = {}, []
    for name, row in rows.items():
        out[name] = {"label": "", "q_value": math.nan}
        direction = row.get("direction")
        low, high, p = (_as_float(row.get(k)) for k in ("ci_low", "ci_high", "p_value"))
        if direction not in (_LOWER_IS_BETTER, _HIGHER_IS_BETTER) or math.isnan(low) or math.isnan(high):
            continue
        if low == high == 0 and not row.get("degenerate"):
            out[name]["label"] = NO_CHANGE
            continue
        out[name]["label"] = UNCLEAR
        if name not in exclude and not math.isnan(p):
            family.append(name)
    if family:
        adjusted = scipy_stats.false_discovery_control([_as_float(rows[m]["p_value"]) for m in family], method="bh")
        for name, q in zip(family, adjusted):
            row = rows[name]
            out[name]["q_value"] = float(q)
            low, high = _as_float(row["ci_low"]), _as_float(row["ci_high"])
            if q <= fdr and (low > 0 or high < 0) and not row.get("degenerate"):
                out[name]["label"] = BETTER if (low > 0) == (row["direction"] == _HIGHER_IS_BETTER) else WORSE
    for name in exclude:
        if name in rows and out[name]["label"] == UNCLEAR:
            row = rows[name]
            low, high = _as_float(row["ci_low"]), _as_float(row["ci_high"])
            if (low > 0 or high < 0) and not row.get("degenerate"):  # the primary metric: its own test
                out[name]["label"] = BETTER if (low > 0) == (row["direction"] == _HIGHER_IS_BETTER) else WORSE
    return out


def mark_context(rows: Mapping[str, dict]) -> None:
    """Relabel "better" as "context" where it can come from the defences simply doing less.

    A metric the registry marks ``work_bound`` improves by itself when the work it depends on
    stops: fewer newcomers' questions are closed when close voters strike, fewer wrongful actions
    are taken when fewer actions are taken. That is not a benefit of the change. When the work
    metric (``work_bound``, e.g. ``closure_rate``) fell in the scenario (its interval entirely
    below zero), the metric labelled better gets the label ``context`` and a ``context`` sentence
    saying why. Rows are changed in place.
    """
    for name, row in rows.items():
        info = REGISTRY.get(name)
        if info is None or not info.work_bound or row.get("label") != BETTER:
            continue
        work = rows.get(info.work_bound) or {}
        high, rel = _as_float(work.get("ci_high")), _as_float(work.get("rel_change"))
        if math.isnan(high) or high >= 0 or work.get("degenerate"):
            continue
        fell = f"fell {abs(100 * rel):.0f}%" if math.isfinite(rel) else "fell"
        row["label"] = CONTEXT
        row["context"] = f"improved only as the defences did less work ({info.work_bound} {fell})"


def overall_verdict(verdicts: Sequence[str]) -> str:
    """Combine guardrail verdicts: any FAIL, else any INCONCLUSIVE, else PASS.

    Args:
        verdicts: Verdict strings (or guardrail result dicts carrying ``verdict``).

    Returns:
        ``"PASS"``, ``"FAIL"`` or ``"INCONCLUSIVE"``; PASS when there are no guardrails.
    """
    found = {v["verdict"] if isinstance(v, Mapping) else v for v in verdicts}
    unknown = found - set(EXIT_CODES)
    if unknown:
        raise ValueError(f"verdict {sorted(unknown)[0]!r} is unknown; allowed: PASS, FAIL, INCONCLUSIVE")
    if FAIL in found:
        return FAIL
    if INCONCLUSIVE in found:
        return INCONCLUSIVE
    return PASS


def exit_code(verdict: str) -> int:
    """Process exit code for a verdict: PASS 0, FAIL 1, INCONCLUSIVE 3."""
    try:
        return EXIT_CODES[verdict]
    except KeyError:
        raise ValueError(f"verdict {verdict!r} is unknown; allowed: PASS, FAIL, INCONCLUSIVE") from None


def _estimate(guardrail: Guardrail, evidence, confidence: float) -> tuple[float, float, float, dict]:
    """(estimate, ci_low, ci_high, info) on the scale the bound of the guardrail is written in."""
    if guardrail.kind == "max_group_ratio":
        ratios = evidence.get("scenario") if isinstance(evidence, Mapping) else evidence
        ratios = np.asarray(ratios, dtype=float)
        mean, low, high = mean_interval(ratios, confidence=confidence)
        n = int(np.sum(~np.isnan(ratios)))
        info = {"n": n, "confidence": confidence, "method": "t", "degenerate": n >= 2 and low == high}
        return mean, low, high, info
    row = evidence
    if "ci_low" not in row and "baseline" in row and "scenario" in row:
        row = paired_difference(row["baseline"], row["scenario"], method=row.get("method", "t"),
                                confidence=confidence, kind=metric_kind(guardrail.metric))
    if "relative" in guardrail.kind:
        keys = ("rel_change", "rel_ci_low", "rel_ci_high")
    else:
        keys = ("diff_mean", "ci_low", "ci_high")
    info = {"n": int(row.get("n") or 0), "confidence": _as_float(row.get("confidence", confidence)),
            "method": row.get("method", "t"), "degenerate": bool(row.get("degenerate", False))}
    return (*(_as_float(row.get(key)) for key in keys), info)


def _verdict(low: float, high: float, bound: float, info: Mapping) -> tuple[str, str]:
    """(verdict, reason): PASS if the interval [low, high] of the harmful change is <= bound,
    FAIL if above it, INCONCLUSIVE otherwise or when the interval cannot be trusted."""
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE, "undefined: the metric is missing in some runs, or fewer than 2 pairs"
    if info.get("degenerate"):
        return INCONCLUSIVE, (f"no spread across {info.get('n')} seeds and too few events: "
                              "a zero-width interval is not certainty")
    if high <= bound:
        return PASS, ""
    if low > bound:
        return FAIL, ""
    if math.isinf(low) or math.isinf(high):
        return INCONCLUSIVE, "the interval is unbounded (the baseline level is not clearly above zero)"
    return INCONCLUSIVE, "the interval contains the bound"


def _as_float(value) -> float:
    return math.nan if value is None else float(value)
