"""Paired statistics over seeds: a scenario against baseline, replicate by replicate.

Replicate ``i`` of the baseline and replicate ``i`` of the scenario share a random seed, so
we compare them pair by pair: the interval is computed on the per-seed differences
``scenario[i] - baseline[i]``, which removes the seed-to-seed noise both runs share.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

METHODS = ("t", "bootstrap")
_BOOTSTRAP_RESAMPLES = 9999


def paired_difference(
    baseline: np.ndarray,
    scenario: np.ndarray,
    method: str = "t",
    confidence: float = 0.95,
    rng_seed: int = 0,
) -> dict:
    """Mean paired difference (scenario minus baseline) with a confidence interval.

    Pairs where either value is NaN are dropped. With fewer than two pairs the interval is
    NaN. When every paired difference is exactly zero the interval is exactly ``[0, 0]``.

    The relative change is ``diff / |baseline_mean|`` and its interval is the difference
    interval scaled the same way (baseline mean treated as fixed). If the baseline mean is
    zero, a relative value is 0 when its absolute counterpart is exactly 0 and a signed
    infinity otherwise.

    Args:
        baseline: Per-seed metric values of the baseline runs.
        scenario: Per-seed metric values of the scenario runs, same seed order.
        method: ``"t"`` for a paired t interval, ``"bootstrap"`` for a percentile bootstrap
            of the mean paired difference (seeded, so deterministic).
        confidence: Two-sided confidence level, e.g. 0.95.
        rng_seed: Seed of the bootstrap resampling.

    Returns:
        Dict with keys ``baseline_mean, scenario_mean, diff_mean, ci_low, ci_high,
        rel_change, rel_ci_low, rel_ci_high, n, method``.

    Raises:
        ValueError: If the arrays differ in length, the method is unknown or the confidence
            level is outside (0, 1).
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not allowed; use one of {', '.join(METHODS)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} is not allowed; use a number in (0, 1)")
    base = np.asarray(baseline, dtype=float).ravel()
    scen = np.asarray(scenario, dtype=float).ravel()
    if base.shape != scen.shape:
        raise ValueError(
            f"baseline has {base.size} values but scenario has {scen.size}; they must pair up"
        )
    keep = ~(np.isnan(base) | np.isnan(scen))
    base, scen = base[keep], scen[keep]
    diffs = scen - base
    n = int(diffs.size)

    baseline_mean = float(base.mean()) if n else math.nan
    scenario_mean = float(scen.mean()) if n else math.nan
    diff_mean = float(diffs.mean()) if n else math.nan
    ci_low, ci_high = _interval(diffs, method, confidence, rng_seed)
    return {
        "baseline_mean": baseline_mean,
        "scenario_mean": scenario_mean,
        "diff_mean": diff_mean,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "rel_change": relative_to(diff_mean, baseline_mean),
        "rel_ci_low": relative_to(ci_low, baseline_mean),
        "rel_ci_high": relative_to(ci_high, baseline_mean),
        "n": n,
        "method": method,
    }


def mean_interval(
    values: np.ndarray, method: str = "t", confidence: float = 0.95, rng_seed: int = 0
) -> tuple[float, float, float]:
    """Mean of one set of per-seed values with its confidence interval (NaNs dropped).

    Args:
        values: Per-seed values, e.g. the scenario's worst-to-best group ratio.
        method: ``"t"`` or ``"bootstrap"``.
        confidence: Two-sided confidence level.
        rng_seed: Seed of the bootstrap resampling.

    Returns:
        ``(mean, ci_low, ci_high)``; the interval is NaN with fewer than two values.
    """
    x = np.asarray(values, dtype=float).ravel()
    x = x[~np.isnan(x)]
    mean = float(x.mean()) if x.size else math.nan
    return (mean, *_interval(x, method, confidence, rng_seed))


def relative_to(value: float, reference: float) -> float:
    """``value / |reference|``, with 0/0 = 0 and x/0 = signed infinity.

    Args:
        value: The absolute change (or interval end).
        reference: The baseline level it is relative to.

    Returns:
        The relative change as a fraction (0.05 means +5%); NaN if either input is NaN.
    """
    if math.isnan(value) or math.isnan(reference):
        return math.nan
    if reference == 0:
        return 0.0 if value == 0 else math.copysign(math.inf, value)
    return value / abs(reference)


def replicates_needed(diffs: np.ndarray, half_width: float, confidence: float = 0.95) -> int:
    """Replicates needed for the paired t interval to be no wider than ``±half_width``.

    Uses the spread of the observed paired differences and the smallest ``n`` with
    ``t(1 - alpha/2, n - 1) * sd / sqrt(n) <= half_width``.

    Args:
        diffs: Observed per-seed paired differences (NaNs dropped).
        half_width: Target half-width of the interval, in the metric's units; must be > 0.
        confidence: Two-sided confidence level.

    Returns:
        The number of replicates, at least 2 (2 when the differences do not vary or fewer
        than two are available to estimate the spread).

    Raises:
        ValueError: If ``half_width`` is not a positive finite number.
    """
    if not (half_width > 0 and math.isfinite(half_width)):
        raise ValueError(f"half_width={half_width!r} is not allowed; use a positive number")
    d = np.asarray(diffs, dtype=float).ravel()
    d = d[~np.isnan(d)]
    if d.size < 2:
        return 2
    sd = float(d.std(ddof=1))
    if sd == 0:
        return 2
    z = stats.norm.ppf(0.5 + confidence / 2)
    n = max(2, math.ceil((z * sd / half_width) ** 2))  # normal approximation: a lower bound
    while stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n) > half_width:
        n += 1
    return n


def _interval(x: np.ndarray, method: str, confidence: float, rng_seed: int) -> tuple[float, float]:
    """Confidence interval of the mean of ``x`` (already NaN-free)."""
    if x.size < 2:
        return math.nan, math.nan
    if np.all(x == x[0]):  # no spread: the interval collapses onto the value (exactly)
        return float(x[0]), float(x[0])
    mean = float(x.mean())
    if method == "t":
        # t quantile times the standard error; written out (not stats.t.interval) because
        # the spread of tiny values can underflow to 0, which scipy rejects as a scale.
        half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1)) * float(x.std(ddof=1)) / math.sqrt(x.size)
        return mean - half, mean + half
    result = stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=confidence,
        n_resamples=_BOOTSTRAP_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(rng_seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)
