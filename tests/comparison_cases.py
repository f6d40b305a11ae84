"""Shared pieces of the statistics tests: a short strike comparison and hand-made paired runs."""

from __future__ import annotations

import dataclasses

from preflight.compose import compose

SHORT = ["site=small", "run.days=20", "run.warmup_days=5", "run.progress=false"]
HARM = {"name": "harm", "metric": "harm_exposure", "max_relative_increase": 0.05}


def strike_settings():
    """The strike's settings with one guardrail, on harm exposure."""
    settings = compose([*SHORT, "scenario=moderator_strike", "replicates=4", "guardrails=none"])[1]
    return dataclasses.replace(settings, guardrails=[HARM])


def runs_from(per_arm: dict[str, dict[str, list[float]]]) -> dict:
    """``{"baseline": {metric: [seed values]}, "scenario": {...}}`` as :func:`run_pairs` returns them."""
    out = {}
    for arm, metrics in per_arm.items():
        n = len(next(iter(metrics.values())))
        out[arm] = [{"metrics": {m: v[i] for m, v in metrics.items()}, "fairness": {}, "series": {"day": []},
                     "summary": {}, "wall_time_s": 0.0} for i in range(n)]
    return out
