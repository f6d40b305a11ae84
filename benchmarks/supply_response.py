"""Half the questions: answers a day and answers per question, with supply responding to demand and
without (the site as it was before: tests/test_supply.py proves the switch reproduces it exactly).

    python benchmarks/supply_response.py                 # small site, 4 paired seeds, 90 days
    python benchmarks/supply_response.py --days 60 --seeds 0 1

Each seed runs baseline and ``chatgpt_substitute`` with ``askers_go_elsewhere`` at 0.5 of members'
and newcomers' questions, all at once at the launch day (no ramp); metrics over the window after
the 14-day warm-up. Prints the arms' means and the scenario-to-baseline ratios.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

HALF_THE_QUESTIONS = ["scenario=chatgpt_substitute", "scenario.levers.askers_go_elsewhere.share=0.5",
                      "scenario.levers.askers_go_elsewhere.newcomer_share=0.5",
                      "scenario.levers.askers_go_elsewhere.ramp_days=0"]
RESPONSE_OFF = ["population.supply.answer_half_saturation=0", "population.supply.vote_half_saturation=0",
                "population.supply.comment_half_saturation=0", "population.supply.boredom_hazard_per_missed_answer=0",
                "population.unanswered_first_question_churn=0"]
COLUMNS = ("answers_per_day", "answers_per_question", "questions_per_day", "upvotes_per_day", "active_contributors")


def _arms(overrides: list[str], days: float, seed: int) -> np.ndarray:
    from preflight.compose import compose
    from preflight.run import simulate

    _, s = compose(["site=small", f"run.days={days}", "run.warmup_days=14", f"seed={seed}", "run.progress=false",
                    *HALF_THE_QUESTIONS, *overrides])
    base = dataclasses.replace(s, scenario=dataclasses.replace(s.scenario, name="baseline", levers={}))
    return np.array([[simulate(arm).metrics[c] for c in COLUMNS] for arm in (base, s)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = parser.parse_args()
    print(f"{'':24}" + "".join(f"{c:>22}" for c in COLUMNS))
    for label, overrides in (("supply response off", RESPONSE_OFF), ("supply response on", [])):
        runs = np.array([_arms(overrides, args.days, seed) for seed in args.seeds])  # seed, arm, column
        base, scen = runs[:, 0].mean(axis=0), runs[:, 1].mean(axis=0)
        ratio = (runs[:, 1] / runs[:, 0]).mean(axis=0)
        for name, row in ((f"{label}: baseline", base), ("  half the questions", scen), ("  ratio", ratio)):
            print(f"{name:24}" + "".join(f"{v:>22.3f}" for v in row))


if __name__ == "__main__":
    main()
