"""Paired statistics over seeds: a scenario against baseline, replicate by replicate.

Replicate ``i`` of the baseline and replicate ``i`` of the scenario share a random seed, so
we compare them pair by pair: the interval is computed on the per-seed differences
``scenario[i] - baseline[i]``, which removes the seed-to-seed noise both runs share.

Which interval is used when (docs/statistics.md has the measured coverage of each):

- ``t`` (default): the paired t interval of the mean difference; for the relative change,
  Fieller's interval of the ratio of the arms' means on the same pairs (it excludes 1 exactly
  when the t interval excludes 0, and never goes below -100% for a non-negative metric).
- ``bootstrap``: the union of the BCa bootstrap interval (of the mean paired difference, of the
  ratio of means) and the t/Fieller interval: BCa alone under-covers at every pair count measured;
  refused below :data:`BOOTSTRAP_MIN_PAIRS` pairs.
- ``rare-event`` (chosen automatically): when every paired difference is equal (zero spread
  from a few seeds is not certainty), a majority of them are one same value (most seeds show no
  difference: rare events), or a count has fewer than ``rare_events`` events in an arm.
  The interval is the union of the paired t interval, the unpaired intervals of the two arms
  (Welch's, and one lending each arm the larger arm's variance, for an arm that showed no spread
  in a handful of seeds by chance), and for counts the pooled-Poisson interval (exact Garwood
  limits per arm, combined by MOVER; for the ratio, the exact conditional binomial interval),
  scaled by the exposure for a per-day count. Common random numbers make the
  arms positively correlated, so the unpaired parts are conservative; the union covers whenever
  any part does. A share with no spread at all in either arm gets the distribution-free interval
  of a bounded mean instead.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special, stats

from experiments.metric_kinds import COUNT, LEVEL, SHARE

T, BOOTSTRAP, RARE_EVENT = "t", "bootstrap", "rare-event"
METHODS = (T, BOOTSTRAP)
DEFAULT_CONFIDENCE = 0.95
DEFAULT_POWER = 0.8
#: fewer pooled events than this in an arm puts a count in the rare-event regime (compare.rare_events)
RARE_EVENTS = 20
#: fewest pairs the bootstrap is used with. Normal theory puts percentile/BCa coverage of a mean at
#: about P(|t_{n-1}| < z * sqrt((n - 1) / n)): 81% at 4 pairs, 89% at 8, 93.6% at 30; measured on the
#: simulator's differences BCa alone covers 74-81% at 4 pairs and 86-96% at 30-48 (docs/statistics.md,
#: "bootstrap" table), nominal at no count tried. So the bootstrap interval is the union of BCa and
#: the paired t interval (never less coverage than t; wider where the data are skewed), and below
#: this many pairs, where BCa has nothing to add, it is refused.
BOOTSTRAP_MIN_PAIRS = 30
BOOTSTRAP_RESAMPLES = 9999
#: seeds_to_decide stops counting here
SEEDS_CAP = 100_000
_BISECTION_STEPS = 40  # p-value of the bootstrap by test inversion: 2^-40 of the unit interval


def paired_difference(
    baseline: np.ndarray,
    scenario: np.ndarray,
    method: str = T,
    confidence: float = DEFAULT_CONFIDENCE,
    rng_seed: int = 0,
    *,
    kind: str = LEVEL,
    events: tuple[np.ndarray, np.ndarray] | None = None,
    exposure: float | None = None,
    rare_events: int = RARE_EVENTS,
    identical: bool = False,
    nonnegative: bool | None = None,
) -> dict:
    """Mean paired difference (scenario minus baseline) with a confidence interval.

    Pairs where either value is NaN are dropped. With fewer than two pairs the interval is NaN.

    The relative change is ``diff / |baseline_mean|``; its interval comes from an interval of
    the ratio of the arms' means (Fieller's for ``t``, so the baseline's own uncertainty counts),
    clipped at -100% for a non-negative metric. If the baseline mean is zero, a relative value is
    0 when its absolute counterpart is exactly 0 and a signed infinity otherwise.

    Args:
        baseline: Per-seed metric values of the baseline runs.
        scenario: Per-seed metric values of the scenario runs, same seed order.
        method: ``"t"`` or ``"bootstrap"`` (BCa, seeded, so deterministic; below
            :data:`BOOTSTRAP_MIN_PAIRS` pairs the t interval is used and ``method`` says so).
        confidence: Two-sided confidence level, e.g. 0.95.
        rng_seed: Seed of the bootstrap resampling.
        kind: The metric's kind (:mod:`experiments.metric_kinds`): ``count``, ``rate``,
            ``share`` or ``level``.
        events: Per-seed event counts behind the metric, ``(baseline, scenario)``, aligned with
            the values; for a count they are its values. None when unknown.
        exposure: When the metric is its events divided by a fixed exposure (1 for a count, the
            window's days for a per-day rate), that exposure: the pooled-Poisson intervals then
            apply. None when the events only tell how rare the metric's events are (e.g. the
            wrongful actions behind the wrongful-action rate).
        rare_events: A metric with fewer known events than this in an arm (pooled over seeds)
            gets the rare-event interval.
        identical: The two arms have the same configuration, so every difference is exactly zero
            by construction: the zero-width interval is then certainty, not chance.
        nonnegative: Whether the metric cannot be negative (default: a count, rate or share, or
            every observed value is >= 0).

    Returns:
        Dict with ``baseline_mean, scenario_mean, diff_mean, ci_low, ci_high, rel_change,
        rel_ci_low, rel_ci_high, n, method, confidence, p_value, kind, events, degenerate``.
        ``events`` is ``[baseline, scenario]`` pooled counts (None if unknown); ``degenerate``
        is True for a zero-width interval that is not certainty (no spread in a handful of seeds
        and fewer than ``rare_events`` events known): no guardrail may be decided from it.

    Raises:
        ValueError: If the arrays differ in length, the method is unknown or the confidence
            level is outside (0, 1).
    """
    _check_confidence(confidence)
    estimate = paired_estimate(baseline, scenario, method, rng_seed, kind=kind, events=events, exposure=exposure,
                               rare_events=rare_events, identical=identical, nonnegative=nonnegative)
    return estimate.row(confidence)


def paired_estimate(
    baseline: np.ndarray,
    scenario: np.ndarray,
    method: str = T,
    rng_seed: int = 0,
    *,
    kind: str = LEVEL,
    events: tuple[np.ndarray, np.ndarray] | None = None,
    exposure: float | None = None,
    rare_events: int = RARE_EVENTS,
    identical: bool = False,
    nonnegative: bool | None = None,
) -> PairedEstimate:
    """The intervals of :func:`paired_difference` at any confidence level (same arguments, no
    ``confidence``): ``.row(c)`` is the row at level c, ``.interval(c, relative)`` its interval
    alone, for tests by inversion (a guardrail's one-sided p-value)."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not allowed; use one of {', '.join(METHODS)}")
    base = np.asarray(baseline, dtype=float).ravel()
    scen = np.asarray(scenario, dtype=float).ravel()
    if base.shape != scen.shape:
        raise ValueError(
            f"baseline has {base.size} values but scenario has {scen.size}; they must pair up"
        )
    keep = ~(np.isnan(base) | np.isnan(scen))
    base, scen = base[keep], scen[keep]
    counts = _pooled_events(events, keep, kind, base, scen)
    if events is None and counts is not None:
        exposure = 1.0  # a count's own values
    if nonnegative is None:
        nonnegative = kind != LEVEL or bool(np.all(base >= 0) and np.all(scen >= 0))
    return PairedEstimate(base, scen, method, rng_seed, kind, counts, exposure, rare_events, identical, nonnegative)


def mean_interval(
    values: np.ndarray, method: str = T, confidence: float = DEFAULT_CONFIDENCE, rng_seed: int = 0
) -> tuple[float, float, float]:
    """Mean of one set of per-seed values with its confidence interval (NaNs dropped).

    Args:
        values: Per-seed values, e.g. the scenario's worst-to-best group ratio.
        method: ``"t"`` or ``"bootstrap"`` (BCa; the t interval below
            :data:`BOOTSTRAP_MIN_PAIRS` values).
        confidence: Two-sided confidence level.
        rng_seed: Seed of the bootstrap resampling.

    Returns:
        ``(mean, ci_low, ci_high)``; the interval is NaN with fewer than two values.
    """
    _check_confidence(confidence)
    x = np.asarray(values, dtype=float).ravel()
    x = x[~np.isnan(x)]
    mean = float(x.mean()) if x.size else math.nan
    if x.size < 2:
        return mean, math.nan, math.nan
    if method == BOOTSTRAP and x.size >= BOOTSTRAP_MIN_PAIRS and not _no_spread(x):
        low, high = _bca(x, confidence, rng_seed)
        if math.isfinite(low) and math.isfinite(high):
            return mean, low, high
    return (mean, *_t_interval(x, confidence))


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


def seeds_to_decide(
    estimate: float,
    low: float,
    high: float,
    bound: float,
    n: int,
    confidence: float = DEFAULT_CONFIDENCE,
    power: float = DEFAULT_POWER,
) -> int | None:
    """Paired seeds an undecided interval needs to clear ``bound``, if the estimate holds.

    The interval's half-width on the side facing the bound gives an effective spread
    (``half * sqrt(n) / t(n - 1)``); the answer is the smallest ``m`` for which an interval of
    that spread clears the bound with probability ``power`` when the truth is the estimate:
    ``(t(1 - alpha/2, m - 1) + t(power, m - 1)) * spread / sqrt(m) <= |bound - estimate|``.
    For a guardrail the bound is its limit; for telling a change's sign, zero.

    Args:
        estimate: The point estimate.
        low: Interval end below.
        high: Interval end above.
        bound: The value the interval has to exclude.
        n: Paired seeds the interval came from.
        confidence: The interval's two-sided confidence level.
        power: Chance of deciding at the answer, if the truth equals the estimate.

    Returns:
        Total paired seeds (at most :data:`SEEDS_CAP`), ``n`` if already decided, or None when no
        number of seeds can be read off this evidence (the estimate sits on the bound, the
        interval has no spread, or it is undefined or unbounded).
    """
    values = (estimate, low, high, bound)
    if n < 2 or any(math.isnan(v) for v in values):
        return None
    if low > bound or high < bound:
        return int(n)
    delta = bound - estimate
    half = (high - estimate) if delta > 0 else (estimate - low)
    if delta == 0 or not math.isfinite(half) or half <= 0:
        return None
    alpha = 1 - confidence
    spread = half * math.sqrt(n) / _t_quantile(1 - alpha / 2, n - 1)
    return _smallest_clearing(spread, abs(delta), alpha, power)


def _smallest_clearing(spread: float, gap: float, alpha: float, power: float) -> int:
    """Smallest ``m`` (at most :data:`SEEDS_CAP`) with
    ``(t(1 - alpha/2, m - 1) + t(power, m - 1)) * spread / sqrt(m) <= gap``."""
    z = float(special.ndtri(1 - alpha / 2) + special.ndtri(power))

    def clears(m: int) -> bool:
        q = _t_quantile(1 - alpha / 2, m - 1) + _t_quantile(power, m - 1)
        return q * spread / math.sqrt(m) <= gap

    m = max(2, math.ceil((z * spread / gap) ** 2))  # normal approximation: a lower bound
    if m >= SEEDS_CAP:
        return SEEDS_CAP
    hi = m
    while not clears(hi):
        hi *= 2
        if hi >= SEEDS_CAP:
            return SEEDS_CAP
    lo = max(2, hi // 2)
    while lo < hi:  # smallest m that clears, by bisection (clears() is monotone in m)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if clears(mid) else (mid + 1, hi)
    return int(hi)


def replicates_needed(diffs: np.ndarray, half_width: float, confidence: float = DEFAULT_CONFIDENCE) -> int:
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
    while _t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n) > half_width:
        n += 1
    return n


def spending_levels(first: int, batch: int, budget: int, alpha: float) -> list[tuple[int, float]]:
    """The looks of a sequential comparison and the error each may spend (linear spending).

    Look ``j`` happens at ``n_j`` paired seeds (``first``, then ``batch`` more each time, the
    last at ``budget``) and spends ``alpha * (n_j - n_{j-1}) / budget`` (``n_0 = 0``). The levels
    add up to ``alpha``, so by the union bound the chance that any look's interval misses the
    truth is at most ``alpha``, whatever the interval method and whenever the comparison stops.

    Returns:
        ``[(n_j, alpha_j), ...]``.
    """
    looks, n, before = [], first, 0
    while True:
        n = min(n, budget)
        looks.append((n, alpha * (n - before) / budget))
        if n >= budget:
            return looks
        before, n = n, n + batch


# --- the estimator ---------------------------------------------------------------------------


class PairedEstimate:
    """The intervals of one metric's pairs at any confidence level (built by :func:`paired_estimate`)."""

    def __init__(self, base, scen, method, rng_seed, kind, counts, exposure, rare_events, identical, nonnegative):
        self.base, self.scen, self.diffs = base, scen, scen - base
        self.n = int(base.size)
        self.kind, self.counts, self.nonnegative, self.identical = kind, counts, nonnegative, identical
        self.exposure = exposure
        self.poisson = counts is not None and exposure is not None and exposure > 0
        self.rng_seed = rng_seed
        flat = self.n >= 2 and _no_spread(self.diffs)
        few = counts is not None and min(counts) < rare_events
        self.rare = self.n >= 2 and not identical and (flat or few or _mostly_tied(self.diffs))
        self.method = method
        if method == BOOTSTRAP and (self.n < BOOTSTRAP_MIN_PAIRS or flat):
            self.method = T
        if self.rare:
            self.method = RARE_EVENT
        self.few_events = counts is None or min(counts) < rare_events
        # a share with no spread in either arm: neither t nor Welch has any width to give
        self.bounded = self.rare and kind == SHARE and _no_spread(base) and _no_spread(scen)
        self._boot: dict = {}

    def interval(self, confidence: float, relative: bool = False) -> tuple[float, float]:
        """The interval of the difference (or of the relative change) at ``confidence``."""
        if self.n < 2:
            return math.nan, math.nan
        low, high = self.diff_interval(confidence)
        return self.rel_interval(confidence, low, high, float(self.base.mean())) if relative else (low, high)

    def row(self, confidence: float) -> dict:
        n, base, scen = self.n, self.base, self.scen
        mb = float(base.mean()) if n else math.nan
        ms = float(scen.mean()) if n else math.nan
        diff = float(self.diffs.mean()) if n else math.nan
        if n >= 2:
            low, high = self.diff_interval(confidence)
            rel_low, rel_high = self.rel_interval(confidence, low, high, mb)
            p = self.p_value()
        else:
            low = high = rel_low = rel_high = p = math.nan
        degenerate = bool(n >= 2 and low == high and not self.identical and self.few_events)
        return {
            "baseline_mean": mb,
            "scenario_mean": ms,
            "diff_mean": diff,
            "ci_low": low,
            "ci_high": high,
            "rel_change": relative_to(diff, mb),
            "rel_ci_low": rel_low,
            "rel_ci_high": rel_high,
            "n": n,
            "method": self.method,
            "confidence": confidence,
            "p_value": p,
            "kind": self.kind,
            "events": None if self.counts is None else [int(c) for c in self.counts],
            "degenerate": degenerate,
        }

    # -- the difference --

    def diff_interval(self, confidence: float) -> tuple[float, float]:
        if self.method == T:
            return _t_interval(self.diffs, confidence)
        if self.method == BOOTSTRAP:  # BCa, never narrower than the paired t interval
            return _hull([self._bootstrap("diff", confidence), _t_interval(self.diffs, confidence)])
        if self.bounded:
            return self._bounded_share(confidence)[0]
        parts = [_t_interval(self.diffs, confidence), _welch(self.scen, self.base, confidence),
                 _welch(self.scen, self.base, confidence, lend=True)]
        if self.poisson:
            low, high = _poisson_difference(self.counts, self.n, confidence)
            parts.append((low / self.exposure, high / self.exposure))
        low, high = _hull(parts)
        if self.kind == SHARE:
            low, high = max(low, -1.0), min(high, 1.0)
        return low, high

    def p_value(self) -> float:
        """Two-sided p of no difference, consistent with the interval (p < alpha iff it excludes 0)."""
        d = self.diffs
        if self.method == T:
            return _t_p(d)
        if self.method == BOOTSTRAP:
            return max(_p_by_inversion(lambda c: self._bootstrap("diff", c)), _t_p(d))
        if self.bounded:
            return self._bounded_share(DEFAULT_CONFIDENCE)[2]
        parts = [_t_p(d), _welch_p(self.scen, self.base), _welch_p(self.scen, self.base, lend=True)]
        if self.poisson:
            parts.append(_poisson_p(self.counts))
        return max(parts)

    # -- the ratio of means, as a relative change --

    def rel_interval(self, confidence: float, low: float, high: float, mb: float) -> tuple[float, float]:
        if mb == 0 or self.identical:
            # no level to be relative to: signed infinities (or 0 for an exact 0); or arms that
            # are the same by construction, whose difference (zero) is known exactly
            rel = relative_to(low, mb), relative_to(high, mb)
        else:
            r_low, r_high = self.ratio_interval(confidence)
            rel = (r_low - 1, r_high - 1) if mb > 0 else (1 - r_high, 1 - r_low)
        if self.nonnegative:
            rel = (max(rel[0], -1.0), max(rel[1], -1.0))
        return float(rel[0]), float(rel[1])

    def ratio_interval(self, confidence: float) -> tuple[float, float]:
        s, b = self.scen, self.base
        if self.bounded:
            return self._bounded_share(confidence)[1]
        q = _t_quantile(0.5 + confidence / 2, self.n - 1)
        cov = np.cov(s, b, ddof=1) / self.n
        paired = _fieller(s.mean(), b.mean(), cov[0, 0], cov[1, 1], cov[0, 1], q, self.nonnegative)
        if self.method == BOOTSTRAP:
            r = self._bootstrap("ratio", confidence)
            return _hull([r, paired]) if math.isfinite(r[0]) and math.isfinite(r[1]) else paired
        if self.method != RARE_EVENT:
            return paired
        vs, vb = cov[0, 0], cov[1, 1]
        q_welch = _t_quantile(0.5 + confidence / 2, _welch_df(vs, vb, self.n))
        q_lent = _t_quantile(0.5 + confidence / 2, self.n - 1)
        v = max(vs, vb)
        parts = [paired, _fieller(s.mean(), b.mean(), vs, vb, 0.0, q_welch, self.nonnegative),
                 _fieller(s.mean(), b.mean(), v, v, 0.0, q_lent, self.nonnegative)]
        if self.poisson:
            parts.append(_poisson_ratio(self.counts, confidence))
        return _hull(parts)

    # -- helpers --

    def _bounded_share(self, confidence: float) -> tuple[tuple[float, float], tuple[float, float], float]:
        """A share constant in both arms over n seeds: the mean of a variable bounded by [0, 1].

        All n pairs agree with probability (1 - q)^n, q the chance that a seed's pair differs from
        the one seen; so q <= 1 - alpha^(1/n) at confidence 1 - alpha, and each arm's mean lies
        within q of the seen value towards the far end of [0, 1]. Returns the difference interval,
        the ratio interval and the p-value of no difference.
        """
        s, b, n = float(self.scen[0]), float(self.base[0]), self.n
        q = 1 - (1 - confidence) ** (1 / n)
        s_lo, s_hi = s - q * s, s + q * (1 - s)
        b_lo, b_hi = b - q * b, b + q * (1 - b)
        ratio = (s_lo / b_hi if b_hi > 0 else 0.0, s_hi / b_lo if b_lo > 0 else math.inf)
        c = s - b
        reach = (s + 1 - b) if c > 0 else (1 - s + b)  # how far the difference can move towards 0
        p = 1.0 if c == 0 else (1 - abs(c) / reach) ** n
        return (s_lo - b_hi, s_hi - b_lo), ratio, p

    def _bootstrap(self, what: str, confidence: float) -> tuple[float, float]:
        if what not in self._boot:
            data = (self.diffs,) if what == "diff" else (self.scen, self.base)
            statistic = _mean if what == "diff" else _ratio_of_means
            self._boot[what] = (data, statistic, _bootstrap(data, statistic, confidence, self.rng_seed))
        data, statistic, first = self._boot[what]
        if first is None:
            return math.nan, math.nan
        return _bootstrap(data, statistic, confidence, self.rng_seed, reuse=first, ends=True)


# --- interval pieces ---------------------------------------------------------------------------


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} is not allowed; use a number in (0, 1)")


@lru_cache(maxsize=4096)
def _t_quantile(p: float, df: float) -> float:
    """Student t quantile (scipy.special's, without the distribution object's overhead)."""
    return float(special.stdtrit(df, p))


def _t_two_sided_p(t: float, df: float) -> float:
    return float(2 * special.stdtr(df, -abs(t)))


def _no_spread(x: np.ndarray) -> bool:
    return bool(np.all(x == x[0]))


def _mostly_tied(x: np.ndarray) -> bool:
    """A majority of the values are one and the same: the mark of rare events under common random
    numbers (most seeds show no difference at all), where the t interval's normal approximation fails."""
    if x.size < 2:
        return False
    return bool(np.unique(x, return_counts=True)[1].max() > x.size / 2)


def _t_interval(x: np.ndarray, confidence: float) -> tuple[float, float]:
    """Paired t interval of the mean of ``x`` (NaN-free, at least two values)."""
    if _no_spread(x):  # no spread: the interval collapses onto the value (exactly)
        return float(x[0]), float(x[0])
    mean = float(x.mean())
    # t quantile times the standard error; written out (not stats.t.interval) because the spread
    # of tiny values can underflow to 0, which scipy rejects as a scale.
    half = _t_quantile(0.5 + confidence / 2, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean - half, mean + half


def _t_p(x: np.ndarray) -> float:
    if _no_spread(x):
        return 1.0 if x[0] == 0 else 0.0
    se = float(x.std(ddof=1)) / math.sqrt(x.size)
    if se == 0:
        return 1.0 if x.mean() == 0 else 0.0
    return _t_two_sided_p(float(x.mean()) / se, x.size - 1)


def _welch_df(vs: float, vb: float, n: int) -> float:
    """Welch-Satterthwaite degrees of freedom for two arms of n seeds (variances of the means)."""
    if vs + vb == 0:
        return n - 1
    return (vs + vb) ** 2 / ((vs**2 + vb**2) / (n - 1))


def _unpaired(s: np.ndarray, b: np.ndarray, lend: bool) -> tuple[float, float, float]:
    """(difference of means, its variance, degrees of freedom) ignoring the pairing: Welch's, or with
    each arm given the larger of the two arms' variances (``lend``), so that an arm that showed no
    spread in a handful of seeds, by chance, is lent the other arm's."""
    n = s.size
    vs, vb = float(s.var(ddof=1)) / n, float(b.var(ddof=1)) / n
    if lend:
        return float(s.mean() - b.mean()), 2 * max(vs, vb), n - 1
    return float(s.mean() - b.mean()), vs + vb, _welch_df(vs, vb, n)


def _welch(s: np.ndarray, b: np.ndarray, confidence: float, lend: bool = False) -> tuple[float, float]:
    """Unpaired interval of mean(s) - mean(b): ignores the pairing, so wider under common random numbers."""
    d, var, df = _unpaired(s, b, lend)
    half = _t_quantile(0.5 + confidence / 2, df) * math.sqrt(var)
    return d - half, d + half


def _welch_p(s: np.ndarray, b: np.ndarray, lend: bool = False) -> float:
    d, var, df = _unpaired(s, b, lend)
    if var == 0:
        return 1.0 if d == 0 else 0.0
    return _t_two_sided_p(d / math.sqrt(var), df)


@lru_cache(maxsize=4096)
def _garwood(x: int, confidence: float) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson mean from one observed count ``x`` (chi-square limits)."""
    alpha = 1 - confidence
    low = 0.0 if x == 0 else float(special.chdtri(2 * x, 1 - alpha / 2)) / 2
    return low, float(special.chdtri(2 * x + 2, alpha / 2)) / 2


def _poisson_difference(counts: tuple[int, int], n: int, confidence: float) -> tuple[float, float]:
    """Per-seed difference of two Poisson rates from pooled counts (MOVER with Garwood limits)."""
    xb, xs = counts
    lb, ub = _garwood(xb, confidence)
    ls, us = _garwood(xs, confidence)
    d = xs - xb
    low = d - math.sqrt((xs - ls) ** 2 + (ub - xb) ** 2)
    high = d + math.sqrt((us - xs) ** 2 + (xb - lb) ** 2)
    return low / n, high / n


def _poisson_ratio(counts: tuple[int, int], confidence: float) -> tuple[float, float]:
    """Ratio of two Poisson rates (equal exposure): the exact conditional binomial interval."""
    xb, xs = counts
    total = xb + xs
    if total == 0:
        return 0.0, math.inf
    alpha = 1 - confidence  # Clopper-Pearson limits of the scenario's share of the events, from beta quantiles
    low = 0.0 if xs == 0 else float(special.betaincinv(xs, total - xs + 1, alpha / 2))
    high = 1.0 if xs == total else float(special.betaincinv(xs + 1, total - xs, 1 - alpha / 2))
    to_ratio = lambda pi: math.inf if pi >= 1 else pi / (1 - pi)  # noqa: E731
    return to_ratio(low), to_ratio(high)


def _poisson_p(counts: tuple[int, int]) -> float:
    """Exact conditional test of equal Poisson rates: the scenario's share of the events against 1/2."""
    xb, xs = counts
    if xb + xs == 0:
        return 1.0
    return float(stats.binomtest(xs, xb + xs, 0.5).pvalue)


def _fieller(ms: float, mb: float, vs: float, vb: float, vsb: float, q: float,
             nonnegative: bool = False) -> tuple[float, float]:
    """Fieller's interval of ``ms / mb`` from the variances and covariance of the two means.

    The set of ratios R with ``(ms - R mb)^2 <= q^2 var(ms - R mb)``. When the baseline mean is
    not itself clearly away from zero the set is unbounded: two rays, or the whole line. For a
    non-negative metric only R >= 0 is possible; the hull of what is left is returned.
    """
    a = mb * mb - q * q * vb
    b = ms * mb - q * q * vsb
    c = ms * ms - q * q * vs
    disc = b * b - a * c
    if a > 0:
        root = math.sqrt(max(disc, 0.0))
        return float((b - root) / a), float((b + root) / a)
    if a == 0 or disc <= 0:
        return (0.0 if nonnegative else -math.inf), math.inf
    r1, r2 = sorted(((b - math.sqrt(disc)) / a, (b + math.sqrt(disc)) / a))  # the set: (-inf, r1] and [r2, inf)
    if nonnegative and r1 < 0:
        return float(max(r2, 0.0)), math.inf
    return (0.0 if nonnegative else -math.inf), math.inf


def _hull(parts) -> tuple[float, float]:
    return min(p[0] for p in parts), max(p[1] for p in parts)


def _p_by_inversion(interval) -> float:
    """The smallest alpha whose 1 - alpha interval excludes 0 (intervals nest as alpha grows)."""

    def excludes(alpha: float) -> bool:
        low, high = interval(1 - alpha)
        return low > 0 or high < 0

    lo, hi = 0.0, 1.0
    if not excludes(1 - 1e-9):
        return 1.0
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        if mid <= 0:
            break
        lo, hi = (lo, mid) if excludes(mid) else (mid, hi)
    return hi


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def _ratio_of_means(s, b, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(s, axis=axis) / np.mean(b, axis=axis)


def _bca(x: np.ndarray, confidence: float, rng_seed: int) -> tuple[float, float]:
    result = _bootstrap((x,), _mean, confidence, rng_seed)
    if result is None:
        return math.nan, math.nan
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _bootstrap(data, statistic, confidence, rng_seed, reuse=None, ends=False):
    """BCa bootstrap (scipy); ``reuse`` re-reads a previous resampling at another level."""
    import warnings

    kwargs = dict(confidence_level=confidence, method="BCa", vectorized=True, paired=len(data) > 1,
                  rng=np.random.default_rng(rng_seed))
    if reuse is not None:
        kwargs.update(n_resamples=0, bootstrap_result=reuse)
    else:
        kwargs.update(n_resamples=BOOTSTRAP_RESAMPLES)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # a degenerate resampling gives NaN limits, handled by callers
        try:
            result = stats.bootstrap(data, statistic, **kwargs)
        except (ValueError, ZeroDivisionError):
            return (math.nan, math.nan) if ends else None
    if ends:
        return float(result.confidence_interval.low), float(result.confidence_interval.high)
    return result


def _pooled_events(events, keep, kind, base, scen) -> tuple[int, int] | None:
    """Pooled (baseline, scenario) event counts over the kept pairs, or None when unknown."""
    if events is None:
        if kind != COUNT:
            return None
        events = (base, scen)
    else:
        events = tuple(np.asarray(e, dtype=float).ravel()[keep] for e in events)
    eb, es = events
    if eb.size and (np.any(np.isnan(eb)) or np.any(np.isnan(es))):
        return None
    both = np.concatenate([eb, es])
    if np.any(both < 0) or np.any(both != np.round(both)):
        return None
    return int(eb.sum()), int(es.sum())
