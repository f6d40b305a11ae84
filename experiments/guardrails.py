"""Guardrails: limits a scenario must respect, checked against the paired comparison.

A guardrail is written in YAML as a metric plus exactly one bound, for example::

    - name: no more harm
      metric: harm_exposure
      max_relative_increase: 0.05      # must not rise by more than 5%
    - name: fair enforcement
      metric: wrongful_rate
      max_group_ratio: 1.25            # worst group at most 1.25x the best group

The verdict uses the whole 95% interval: PASS when it lies on the safe side of the bound,
FAIL when it lies entirely beyond it, INCONCLUSIVE when it straddles the bound (run more
replicates).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from experiments.stats import mean_interval, paired_difference

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
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
        metric: Metric it constrains (a name from the metrics section of DESIGN.md).
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


def evaluate(guardrail: Guardrail | Mapping, evidence: Mapping | Sequence | np.ndarray) -> dict:
    """Check one guardrail against the comparison.

    Args:
        guardrail: A :class:`Guardrail`, or a raw spec (validated here).
        evidence: For relative and absolute bounds, the metric's comparison row (a dict
            from :func:`experiments.stats.paired_difference`, or one holding per-seed
            ``baseline`` and ``scenario`` lists). For ``max_group_ratio``, the scenario's
            per-replicate worst-to-best ratios (or a mapping with them under ``scenario``).

    Returns:
        Dict with ``name, metric, rule, bound, estimate, ci_low, ci_high, verdict`` and
        ``kind``. Relative kinds report the relative change (0.05 = +5%), absolute kinds
        the difference, ``max_group_ratio`` the mean scenario ratio.
    """
    if not isinstance(guardrail, Guardrail):
        guardrail = validate_guardrail(guardrail)
    estimate, low, high = _estimate(guardrail.kind, evidence)
    if guardrail.kind.endswith("decrease"):
        # A fall is a negative change; compare its size with the bound.
        verdict = _verdict(-high, -low, guardrail.bound)
    else:
        verdict = _verdict(low, high, guardrail.bound)
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
    }


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


def _estimate(kind: str, evidence) -> tuple[float, float, float]:
    """(estimate, ci_low, ci_high) on the scale the bound of ``kind`` is written in."""
    if kind == "max_group_ratio":
        ratios = evidence.get("scenario") if isinstance(evidence, Mapping) else evidence
        return mean_interval(np.asarray(ratios, dtype=float))
    row = evidence
    if "ci_low" not in row and "baseline" in row and "scenario" in row:
        row = paired_difference(row["baseline"], row["scenario"], method=row.get("method", "t"))
    if "relative" in kind:
        keys = ("rel_change", "rel_ci_low", "rel_ci_high")
    else:
        keys = ("diff_mean", "ci_low", "ci_high")
    return tuple(_as_float(row.get(key)) for key in keys)


def _verdict(low: float, high: float, bound: float) -> str:
    """PASS if the interval [low, high] of the harmful change is <= bound, FAIL if > bound."""
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if high <= bound:
        return PASS
    if low > bound:
        return FAIL
    return INCONCLUSIVE


def _as_float(value) -> float:
    return math.nan if value is None else float(value)
