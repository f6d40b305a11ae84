"""Shared pytest fixtures."""

import numpy as np
import pytest


@pytest.fixture
def fake_comparison() -> dict:
    """A realistic comparison of a six-week moderator strike against baseline.

    Built the way the simulator builds it: per-seed values, paired statistics from
    ``experiments.stats`` and guardrail verdicts from ``experiments.guardrails``. Seeded,
    so every call returns the same dict.
    """
    from experiments.guardrails import (
        evaluate,
        label_changes,
        mark_context,
        overall_verdict,
        validate_guardrail,
    )
    from experiments.stats import paired_difference, seeds_to_decide
    from sim.metrics import SURVIVAL_GRID_MIN

    rng = np.random.default_rng(20261125)
    seeds = list(range(8))
    # metric -> (direction, baseline level, relative effect of the strike, seed noise)
    levels = {
        "harm_exposure": ("lower_is_better", 1850.0, 0.32, 0.06),
        "harm_exposure_per_1k_views": ("lower_is_better", 4.1, 0.30, 0.06),
        "prevalence": ("lower_is_better", 0.0041, 0.30, 0.06),
        "time_to_removal_min_p50": ("lower_is_better", 96.0, 1.4, 0.1),
        "time_to_removal_min_p90": ("lower_is_better", 1430.0, 0.9, 0.12),
        "never_removed_share": ("lower_is_better", 0.08, 0.25, 0.1),
        "proactive_rate": ("higher_is_better", 0.41, -0.02, 0.05),
        "wrongful_actions": ("lower_is_better", 12.0, -0.04, 0.15),
        "wrongful_rate": ("lower_is_better", 7.5, 0.01, 0.12),
        "appeals_upheld": ("lower_is_better", 3.0, 0.0, 0.3),
        "victimization": ("lower_is_better", 210.0, 0.12, 0.08),
        "victim_churn_ratio": ("lower_is_better", 1.6, 0.05, 0.1),
        "newcomer_closed_share": ("lower_is_better", 0.22, -0.03, 0.05),
        "newcomer_downvoted_share": ("lower_is_better", 0.31, 0.0, 0.04),
        "newcomer_unwelcome_share": ("lower_is_better", 0.09, 0.15, 0.08),
        "newcomer_return_30d": ("higher_is_better", 0.27, -0.04, 0.04),
        "questions_per_day": ("higher_is_better", 420.0, -0.03, 0.02),
        "answered_share": ("higher_is_better", 0.71, -0.01, 0.01),
        "time_to_first_answer_p50_min": ("lower_is_better", 38.0, 0.02, 0.05),
        "accepted_share": ("higher_is_better", 0.44, 0.0, 0.02),
        "active_contributors": ("higher_is_better", 3100.0, -0.02, 0.02),
        "closure_rate": ("neutral", 0.18, -0.1, 0.05),
    }
    workload_levels = {
        "flags_per_day": ("neutral", 160.0, 0.1, 0.05),
        "flag_queue_backlog": ("lower_is_better", 240.0, 3.5, 0.2),
        "queue_time_p50_min": ("lower_is_better", 55.0, 1.6, 0.1),
        "queue_time_p90_min": ("lower_is_better", 900.0, 1.1, 0.1),
        "minutes_per_moderator": ("neutral", 95.0, -0.6, 0.05),
        "escalations_per_day": ("lower_is_better", 6.0, 0.05, 0.2),
        "moderator_resignations": ("lower_is_better", 0.5, 0.0, 1.0),
    }
    more_workload = {  # drawn last, so the draws above stay as the report tests expect
        "question_flags_per_day": ("neutral", 60.0, 0.05, 0.05),
        "moderator_share_of_flag_handling": ("neutral", 0.05, -0.6, 0.1),
        "moderators": ("neutral", 2.0, 0.0, 0.0),
        "ban_evasions": ("lower_is_better", 12.0, 0.1, 0.2),
        "enforcement_actions_per_day": ("neutral", 40.0, -0.5, 0.05),  # the strike: the defences do less
    }

    def section(spec: dict) -> dict:
        out = {}
        for name, (direction, level, effect, noise) in spec.items():
            seed_effect = rng.normal(0, noise, len(seeds))  # shared by both arms of a seed
            base = level * (1 + seed_effect + rng.normal(0, noise / 3, len(seeds)))
            scen = level * (1 + effect + seed_effect + rng.normal(0, noise / 3, len(seeds)))
            if name == "moderator_resignations":
                base, scen = rng.poisson(0.5, len(seeds)).astype(float), rng.poisson(2.0, len(seeds)).astype(float)
            row = paired_difference(base, scen)
            needed = seeds_to_decide(row["diff_mean"], row["ci_low"], row["ci_high"], 0.0, row["n"])
            row.update(direction=direction, seeds_to_decide=needed, baseline=base.tolist(), scenario=scen.tolist())
            out[name] = row
        for name, label in label_changes(out).items():
            out[name].update(label)
        return out

    metrics = section(levels)
    rng.normal(size=2 * len(seeds))  # the draws of a zero-noise probe metric that once stood in `levels`
    metrics["appeals_upheld"]["ci_low"] = float("nan")  # e.g. too few appeals in a seed
    mod_workload = section(workload_levels)

    days, launch_day, warmup = 90, 30, 14
    day = np.arange(days)

    def daily(level: float, effect: float, noise: float) -> dict:
        after = (day >= launch_day) & (day < launch_day + 42)  # six-week strike
        ramp = np.clip((day - launch_day) / 7, 0, 1) * after
        arms = {}
        for arm, size in (("baseline", 0.0), ("scenario", effect)):
            series = [level * (1 + size * ramp + rng.normal(0, noise, days)) for _ in seeds]
            arms[arm] = [s.tolist() for s in series]
        return {"day": day.tolist(), **arms}

    timeseries = {
        "harm_exposure": daily(1850 / days, 0.5, 0.12),
        "prevalence": daily(0.0041, 0.45, 0.1),
        "_": daily(96, 1.8, 0.15),  # the draws of the daily removal median the report once plotted
        "flag_queue_backlog": daily(240, 4.0, 0.1),
        "questions_per_day": daily(420, -0.04, 0.05),
        "wrongful_actions": daily(12 / days * 30, -0.05, 0.3),
    }

    del timeseries["_"]
    group_ratios = 1.12 + rng.normal(0.14, 0.06, len(seeds))
    specs = [
        {"name": "Harm exposure", "metric": "harm_exposure", "max_relative_increase": 0.05},
        {"name": "Removal speed", "metric": "time_to_removal_min_p50", "max_absolute_increase": 30},
        {"name": "Community activity", "metric": "questions_per_day", "max_relative_decrease": 0.05},
        {"name": "Wrongful actions", "metric": "wrongful_rate", "max_relative_increase": 0.10},
        {"name": "Fair enforcement", "metric": "wrongful_rate", "max_group_ratio": 1.25},
    ]
    guardrails = []
    for spec in specs:
        rail = validate_guardrail(spec)
        evidence = group_ratios if rail.kind == "max_group_ratio" else metrics[rail.metric]
        guardrails.append(evaluate(rail, evidence))
    mod_workload.update(section(more_workload))
    review_workload = {f"reviews_per_day_{q}": ("neutral", level, 0.0, 0.05) for q, level in (  # drawn after all the rest
        ("suggested_edits", 3200.0), ("close", 1200.0), ("low_quality", 1700.0), ("first_questions", 1500.0),
        ("first_answers", 800.0), ("late_answers", 850.0), ("reopen", 550.0), ("staging", 0.0))}
    review_workload.update({"review_audit_failure_rate": ("lower_is_better", 0.05, 0.0, 0.1),
                            "review_bans_per_day": ("neutral", 12.0, 0.0, 0.2),
                            # suspensions by who imposed them, and question bans (drawn after the review rows)
                            "suspensions_by_moderators": ("neutral", 4.5, -0.5, 0.1),
                            "automatic_suspensions": ("neutral", 3.5, 0.0, 0.1),
                            "question_bans_per_day": ("neutral", 2.0, 0.0, 0.1)})
    mod_workload.update(section(review_workload))
    mark_context({**metrics, **mod_workload})  # (rows are shared: the labels change in place)

    weeks = list(range(0, days, 7))
    grid = list(SURVIVAL_GRID_MIN)  # (as the simulator reads the survival curve)
    base_curve = np.exp(-np.asarray(grid) / 150.0)

    def weekly(arm: str) -> list[list[float]]:
        strike = np.array([(launch_day <= w < launch_day + 42) * (arm == "scenario") for w in weeks])
        return [(96 * (1 + 1.4 * strike) * (1 + rng.normal(0, 0.1, len(weeks)))).tolist() for _ in seeds]

    removal_survival = {
        "week_day": [float(w) for w in weeks], "grid_min": [float(g) for g in grid],
        "baseline": {"weekly_p50_min": weekly("baseline"),
                     "surviving": [np.clip(base_curve * (1 + rng.normal(0, 0.03)), 0, 1).tolist() for _ in seeds]},
        "scenario": {"weekly_p50_min": weekly("scenario"),
                     "surviving": [np.clip(base_curve ** 0.5 * (1 + rng.normal(0, 0.03)), 0, 1).tolist()
                                   for _ in seeds]},
    }

    groups = {"newcomer": 1.3, "established": 1.0, "americas": 1.15, "europe": 1.05}
    fairness = {}
    for metric, base_level in (("wrongful_rate", 7.5), ("newcomer_closed_share", 0.22)):
        entry = {g: {"baseline": base_level * f, "scenario": base_level * f * (1.02 + 0.1 * (f - 1))}
                 for g, f in groups.items()}
        ratio = {arm: max(v[arm] for v in entry.values()) / min(v[arm] for v in entry.values())
                 for arm in ("baseline", "scenario")}
        fairness[metric] = {"groups": entry, "worst_to_best": ratio}

    return {
        "scenario": "moderator_strike",
        "description": "Moderators and curators stop work for 6 weeks, as in the 2023 strike.",
        "hypothesis": "Harm exposure rises by more than 5% while the flag queue backs up; "
                      "community activity is unaffected.",
        "primary_metric": "harm_exposure",
        "primary_direction": "increase",
        "hypothesis_result": "supported",
        "launch_day": launch_day,
        "site": "small",
        "replicates": len(seeds),
        "seeds": seeds,
        "warmup_days": warmup,
        "days": days,
        "ci_method": "t",
        "metrics": metrics,
        "guardrails": guardrails,
        "verdict": overall_verdict([g["verdict"] for g in guardrails]),
        "timeseries": timeseries,
        "removal_survival": removal_survival,
        "fairness": fairness,
        "mod_workload": mod_workload,
        "config_diff": [
            {"key": "scenario.levers.moderator_strike.weeks", "baseline": None, "scenario": 6},
            {"key": "scenario.levers.moderator_strike.curators", "baseline": None, "scenario": True},
            {"key": "scenario.description", "baseline": "The site as it is", "scenario": "<i>escaped</i>"},
        ],
        "provenance": {
            "command": "preflight compare scenario=moderator_strike replicates=8",
            "seeds": seeds,
            "git_commit": "abc123def456",
            "packages": {"mesa": "3.5.1", "numpy": "2.1.3", "scipy": "1.18.1"},
            "wall_time_s": 42.0,
            "python": "3.12.1",
            "created": "2026-11-25T09:00:00Z",
        },
    }
