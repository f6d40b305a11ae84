"""Supply responds to demand: members' answering, voting and commenting follow what there is to act
on (sim/supply.py), a shortage of questions bores answerers away over weeks, and unanswered first
questions drive their askers away (sim/retention.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from joblib import Parallel, delayed

from preflight.files import json_ready
from preflight.run import build_site, simulate
from sim.arrivals import Events
from sim.clock import DAYS_PER_WEEK, MINUTES_PER_DAY
from sim.config import SupplyConfig
from sim.population import Kind
from sim.store import PostType, State
from sim.supply import Supply
from tests.golden_match import differences
from tests.sites import small

#: The supply response, boredom and the unanswered-question churn all off: the site as it was.
RESPONSE_OFF = ("population.supply.answer_half_saturation=0", "population.supply.vote_half_saturation=0",
                "population.supply.comment_half_saturation=0", "population.supply.boredom_hazard_per_missed_answer=0",
                "population.unanswered_first_question_churn=0")
HALF_THE_QUESTIONS = ("scenario=chatgpt_substitute", "scenario.levers.askers_go_elsewhere.share=0.5",
                      "scenario.levers.askers_go_elsewhere.newcomer_share=0.5",
                      "scenario.levers.askers_go_elsewhere.ramp_days=0")
SEEDS = (0, 1, 2)


def _supply(**cfg) -> Supply:
    return Supply(dataclasses.replace(SupplyConfig(), **cfg), 60, launch_day=0)


def _measured(supply: Supply, name: str, level: float) -> None:
    """Run ``supply`` through its reference window at ``level`` (one observation a tick)."""
    start, end = supply.reference
    for minute in range(0, int(end) + 60, 60):
        supply.observe(name, level, minute)


def test_a_visit_acts_with_a_saturating_chance_of_the_supply():
    supply = _supply(answer_half_saturation=3.0, reference_start_day=1, reference_days=2)
    assert supply.visit_factor["answer"] == 4.0 and supply.chance("answer") == 0.25  # no reference yet: as usual
    _measured(supply, "open_questions", 8.0)
    assert supply.usual["open_questions"] == 8.0 and supply.chance("answer") == pytest.approx(0.25)
    supply.level["open_questions"] = 4.0  # half the usual supply: 0.5 / (0.5 + 3) = 1/7, not 1/4
    assert supply.chance("answer") == pytest.approx(1 / 7) and supply.shortfall("answer") == pytest.approx(0.25 - 1 / 7)
    supply.level["open_questions"] = 1e9  # at most 1 + h times the calibrated rate
    assert supply.chance("answer") == pytest.approx(1.0)
    off = _supply(answer_half_saturation=0.0)
    _measured(off, "open_questions", 8.0)
    off.level["open_questions"] = 1.0
    assert off.visit_factor["answer"] == 1.0 and off.chance("answer") == 1.0  # h = 0: supply never matters


def test_the_usual_supply_is_measured_before_the_launch():
    cfg = dataclasses.replace(SupplyConfig(), reference_start_day=3, reference_days=7)
    assert Supply(cfg, 60, launch_day=7).reference == (3 * MINUTES_PER_DAY, 7 * MINUTES_PER_DAY)
    assert Supply(cfg, 60, launch_day=20).reference == (3 * MINUTES_PER_DAY, 10 * MINUTES_PER_DAY)
    assert Supply(cfg, 60, launch_day=0).reference == (3 * MINUTES_PER_DAY, 10 * MINUTES_PER_DAY)


def test_a_visit_decides_by_its_own_key():
    """Common random numbers: the visits that act at a lower chance are a subset of those that act
    at a higher one, and the same visits decide the same way whoever else visits."""
    supply = _supply(answer_half_saturation=3.0, reference_start_day=0, reference_days=1)
    _measured(supply, "open_questions", 10.0)
    keys = np.arange(1, 20_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    visits = Events(np.arange(keys.size), np.zeros(keys.size, dtype=np.int64), keys)
    acting = {}
    for level in (10.0, 5.0):
        supply.level["open_questions"] = level
        acting[level] = set(supply.acting("answer", visits).users.tolist())
    assert acting[5.0] < acting[10.0]
    assert len(acting[10.0]) / keys.size == pytest.approx(0.25, abs=0.01)
    supply.level["open_questions"] = 10.0
    assert set(supply.acting("answer", visits.subset(np.arange(keys.size) % 2 == 0)).users.tolist()) == {
        u for u in acting[10.0] if u % 2 == 0}


def test_with_the_response_off_the_site_is_the_old_one():
    """Half saturations 0 and no boredom or unanswered-question churn reproduce the golden summary
    recorded before supply responded to demand, exactly: counts exactly, floats to 1e-12 relative
    (tests/golden_match.py; regenerated once since, for a deliberate change outside supply: close
    review tasks opened by direct close votes, and their aging out)."""
    result = simulate(small(*RESPONSE_OFF, days=25, warmup=5, seed=7))
    got = json.loads(json.dumps({"metrics": json_ready(result.metrics), "events": result.events,
                                 "daily_questions": result.series["questions_per_day"].tolist()}, sort_keys=True))
    want = json.loads((Path(__file__).parent / "golden" / "small_seed7_supply_response_off.json").read_text())
    assert differences(got, want) == []


def _answers(overrides: tuple[str, ...], seed: int) -> tuple[float, float, float, float]:
    """(answers a day, answers per question) of baseline and of half the questions, after launch."""
    s = small(*HALF_THE_QUESTIONS, *overrides, days=60, warmup=14, seed=seed)
    base = dataclasses.replace(s, scenario=dataclasses.replace(s.scenario, name="baseline", levers={}))
    out = []
    for arm in (base, s):
        r = simulate(arm)
        out += [float(r.series["answers"][r.series["day"] >= 14].mean()), r.metrics["answers_per_question"]]
    return tuple(out)


@pytest.mark.slow
def test_half_the_questions_get_fewer_answers_not_twice_the_answers_each():
    """Halving arriving questions: answerers write fewer answers a day, and each question gets about
    as many as before, where with the response off (answerers' old volume piled onto the remaining
    questions) answers per question rise by about three quarters."""
    jobs = [delayed(_answers)(overrides, seed) for overrides in ((), RESPONSE_OFF) for seed in SEEDS]
    on, off = np.array(Parallel(n_jobs=2)(jobs)).reshape(2, len(SEEDS), 4).mean(axis=1)
    per_day, per_question = on[2] / on[0], on[3] / on[1]
    assert per_day < 0.75 and 0.85 < per_question < 1.3, (per_day, per_question)
    assert off[2] / off[0] > 0.85 and off[3] / off[1] > 1.5, off  # the old model piles on


def _answerer_departures(overrides: tuple[str, ...], seed: int, days: int, launch: int) -> np.ndarray:
    """Weekly departures after launch of the members answering most at launch (top quarter of rates)."""
    site = build_site(small(*HALF_THE_QUESTIONS, f"scenario.launch_day={launch}", *overrides, days=days, warmup=7,
                            seed=seed))
    while site.clock.minute < launch * MINUTES_PER_DAY:
        site.step()
    arrivals, users = site.arrivals, site.users
    live = users.active[arrivals.ids]
    rates = arrivals.rate["answer"][live]
    answerers = arrivals.ids[live][rates >= np.quantile(rates[rates > 0], 0.75)]
    while site.clock.minute < days * MINUTES_PER_DAY:
        site.step()
    left = users.churned_at[answerers]
    weeks = (left[left >= launch * MINUTES_PER_DAY] - launch * MINUTES_PER_DAY) // (DAYS_PER_WEEK * MINUTES_PER_DAY)
    return np.bincount(weeks, minlength=(days - launch) // DAYS_PER_WEEK)[: (days - launch) // DAYS_PER_WEEK]


@pytest.mark.slow
def test_bored_answerers_leave_over_weeks_not_in_one_step():
    """Half the questions, with a strong boredom hazard: the core answerers' extra departures against
    baseline (same seeds, so the same members' fates) are next to none in the first week after
    launch and keep accumulating through the second month, as the answers they miss pile up."""
    days, launch = 63, 7
    strong = ("population.supply.boredom_hazard_per_missed_answer=0.01",)
    same = ("scenario.levers.askers_go_elsewhere.share=0", "scenario.levers.askers_go_elsewhere.newcomer_share=0")
    scen = np.sum([_answerer_departures(strong, seed, days, launch) for seed in SEEDS[:2]], axis=0)
    base = np.sum([_answerer_departures(strong + same, seed, days, launch) for seed in SEEDS[:2]], axis=0)
    extra = np.cumsum(scen - base)  # by the end of each week after launch
    assert extra[-1] > 15, (scen, base)
    assert extra[0] < 0.2 * extra[-1], (scen, base)  # not a step at launch ...
    assert extra[-1] - extra[3] > 0.2 * extra[-1], (scen, base)  # ... still growing in the second month


def _left_after_unanswered(churn: float) -> tuple[int, int]:
    """No member answers: (askers of a first question, still live and unanswered, who were still
    active two days after asking, and how many of them left within the day after)."""
    site = build_site(small("population.answer_rate=0", f"population.unanswered_first_question_churn={churn}",
                            "population.unanswered_first_question_days=2", days=20, warmup=2, seed=4))
    site.run()
    users, posts = site.users, site.posts
    members = np.flatnonzero((users.kind[: users.n] == Kind.MEMBER) & (users.first_post[: users.n] >= 0))
    first = users.first_post[members]
    asked = posts.created[first].astype(np.int64)
    left = users.churned_at[members].astype(np.int64)
    two_days = 2 * MINUTES_PER_DAY
    eligible = ((posts.kind[first] == PostType.QUESTION) & (posts.state[first] == State.LIVE)
                & (posts.answers[first] == 0)  # (bad actors still post a few answers)
                & (asked < (20 - 3) * MINUTES_PER_DAY) & ((left < 0) | (left >= asked + two_days)))
    soon = (left >= asked + two_days) & (left < asked + two_days + MINUTES_PER_DAY + site.clock.tick_minutes)
    return int(eligible.sum()), int((eligible & soon).sum())


def test_an_unanswered_first_question_drives_its_asker_away():
    """A first question still unanswered two days after it was asked makes its asker leave (chance 1
    here) within the day after, unless a bad experience of that post came first; without that
    churn, hardly any of the same askers leave then (common random numbers: the same members)."""
    askers, left = _left_after_unanswered(1.0)
    _, left_anyway = _left_after_unanswered(0.0)
    assert askers > 50 and left > 0.5 * askers and left_anyway < 0.1 * askers, (askers, left, left_anyway)
