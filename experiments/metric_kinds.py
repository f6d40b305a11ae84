"""What kind of quantity each metric is: the hook the statistics use to choose an interval.

A metric is a ``count`` (events in the measurement window: appeals upheld, resignations, ban
evasions...), a ``share`` (a ratio of two counts bounded by 0 and 1), a ``rate`` (a ratio of two
counts or a count per day, not bounded by 1) or a ``level`` (a continuous quantity: a median
time, a backlog). Counts and shares get the rare-event treatment of
:func:`experiments.stats.paired_difference` (docs/statistics.md).

The kinds come from the metric registry (``sim.metric_registry``): its ``per_day`` metrics are
rates here, and :data:`NOT_UNIT_EVENTS` lists the counts whose units are not single events (so no
Poisson treatment). The statistics only call :func:`metric_kind` and :func:`event_counts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from sim.metric_registry import REGISTRY

COUNT, RATE, SHARE, LEVEL = "count", "rate", "share", "level"
KINDS = (COUNT, RATE, SHARE, LEVEL)

#: the registry's kinds as the statistics read them
_FROM_REGISTRY = {"count": COUNT, "per_day": RATE, "share": SHARE, "rate": RATE, "level": LEVEL}

#: counts whose units are not independent single events: no Poisson (rare-event) treatment
NOT_UNIT_EVENTS: dict[str, str] = {
    "fraud_reputation": "reputation arrives in lumps (+10 per fraudulent upvote), not one point at a time",
}

#: a rate or share whose events are counted by another metric of the same run (until the registry
#: gives every metric's own counts): the count decides whether the metric is in the rare-event regime
EVENT_COUNT_OF: dict[str, str] = {
    "wrongful_rate": "wrongful_actions",
    "wrongful_rate_worst_to_best": "wrongful_actions",
}

_INTEGER_TOLERANCE = 1e-9  # a count read back from JSON may carry float noise


def metric_kind(name: str) -> str:
    """The kind of metric ``name``: one of :data:`KINDS`.

    The registry's kind (``per_day`` read as a rate), except :data:`NOT_UNIT_EVENTS` (levels).
    Unknown names are guessed from their suffix (``_share``/``_precision``: share; ``_per_day``,
    ``_rate``, ``_ratio``, ``_worst_to_best``: rate; otherwise level, which gets no rare-event
    treatment beyond the zero-spread rule).
    """
    if name in NOT_UNIT_EVENTS:
        return LEVEL
    if name in REGISTRY:
        return _FROM_REGISTRY[REGISTRY[name].kind]
    if name.endswith(("_share", "_precision")):
        return SHARE
    if name.endswith(("_per_day", "_rate", "_ratio", "_worst_to_best")):
        return RATE
    return LEVEL


def event_counts(name: str, runs: Sequence[Mapping[str, float]],
                 window_days: float | None = None) -> tuple[np.ndarray, float | None] | None:
    """Per-seed event counts behind metric ``name`` in each run (NaN where the run lacks it).

    A count metric counts its own events when its values are whole numbers (``harm_exposure``
    counts views, which the traffic model spreads fractionally, so it has none); a per-day
    metric (the registry's ``per_day`` kind whatever its name, e.g. ``suspensions_by_moderators``,
    or a name ending ``_per_day``) is a count over the ``window_days`` of the measurement window.
    A rate or share listed in :data:`EVENT_COUNT_OF` borrows the count of its events from that
    metric.

    Args:
        name: The metric.
        runs: Each run's metrics mapping (one per seed, in seed order).
        window_days: Days of the measurement window (``run.days - run.warmup_days``).

    Returns:
        ``(counts, exposure)``, the metric being ``counts / exposure`` (exposure 1 for a count,
        the window's days for a per-day rate, None when the counts only tell how rare the
        metric's events are); None when the events are not known.
    """
    if metric_kind(name) == COUNT:
        source, exposure = name, 1.0
    elif window_days and (name.endswith("_per_day") or (name in REGISTRY and REGISTRY[name].kind == "per_day")):
        source, exposure = name, float(window_days)
    elif name in EVENT_COUNT_OF:
        source, exposure = EVENT_COUNT_OF[name], None
    else:
        return None
    values = np.array([_num(run.get(source)) for run in runs], dtype=float) * (exposure or 1.0)
    known = values[~np.isnan(values)]
    if known.size == 0 or np.any(known < 0) or np.any(np.abs(known - np.round(known)) > _INTEGER_TOLERANCE * np.maximum(1, known)):
        return None
    return np.round(values), exposure


def _num(value) -> float:
    return math.nan if value is None else float(value)
