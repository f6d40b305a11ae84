"""Every lever can launch gradually (``ramp_days``): its effect grows from none at launch to full at
the end of the ramp; ``ramp_days: 0`` is the step at launch; a bad ramp is a one-line config error."""

from __future__ import annotations

import pytest

from preflight.run import build_site
from scenarios.lever import ramp_progress
from sim.clock import MINUTES_PER_DAY
from tests.sites import small
from tests.test_config import run_cli

LAUNCH, RAMP = 4, 20


def _run_to(site, day: float) -> None:
    """Step the site until the start of the tick at ``day``."""
    while site.clock.minute < day * MINUTES_PER_DAY:
        site.step()


def _askers_site(*extra: str):
    return build_site(small("scenario=chatgpt_substitute", f"scenario.launch_day={LAUNCH}",
                            "scenario.levers.askers_go_elsewhere.share=0.5", *extra, days=LAUNCH + RAMP + 2,
                            warmup=1, seed=5))


@pytest.mark.parametrize("shape", ["linear", "logistic"])
def test_a_ramped_policy_value_is_halfway_at_half_the_ramp(shape):
    site = _askers_site(f"scenario.levers.askers_go_elsewhere.ramp_days={RAMP}",
                        f"scenario.levers.askers_go_elsewhere.ramp_shape={shape}")
    seen = {}
    for elapsed in (0, 0.1, RAMP / 4, RAMP / 2, RAMP, RAMP + 1):
        _run_to(site, LAUNCH + elapsed)
        site.step()  # the tick starting then sets the ramp's value for it
        seen[elapsed] = site.policy.ask_multiplier
    assert seen[0] == 1.0  # launch: no effect yet
    assert 1.0 > seen[0.1] > seen[RAMP / 4] > seen[RAMP / 2] > seen[RAMP] == seen[RAMP + 1] == 0.5
    assert seen[RAMP / 2] == pytest.approx(0.75)  # half the ramp: half the effect (1 -> 0.5)
    if shape == "linear":  # a quarter of the ramp: a quarter of the effect ...
        assert seen[RAMP / 4] == pytest.approx(0.875)
    else:  # ... where the S-curve starts slower
        assert seen[RAMP / 4] > 0.875


def test_the_ramp_curves():
    assert [ramp_progress(d, 10, "linear") for d in (0, 2.5, 5, 10, 30)] == [0, 0.25, 0.5, 1, 1]
    logistic = [ramp_progress(d, 10, "logistic") for d in (0, 1, 2.5, 5, 7.5, 9, 10)]
    assert logistic[0] == 0 and logistic[-1] == 1 and logistic[3] == pytest.approx(0.5)
    assert logistic == sorted(logistic) and logistic[1] < 0.05 and logistic[2] < 0.25
    assert ramp_progress(0, 0, "linear") == 1  # no ramp: all at once


def test_a_step_is_the_launch_as_it_always_was():
    """``ramp_days: 0`` (the default) switches the whole effect on at the launch tick."""
    site = _askers_site("scenario.levers.askers_go_elsewhere.ramp_days=0")
    _run_to(site, LAUNCH)
    assert site.policy.ask_multiplier == 1.0
    site.step()
    assert site.policy.ask_multiplier == 0.5 and site.levers[0].ramp is None


def test_agents_a_ramped_lever_adds_join_progressively():
    site = build_site(small("scenario=more_moderators", f"scenario.launch_day={LAUNCH}",
                            "scenario.levers.more_moderators.seats=4", "+scenario.levers.more_moderators.ramp_days=8",
                            days=LAUNCH + 10, warmup=1, seed=2))
    before = len(site.moderators)
    counts = []
    for day in (LAUNCH, LAUNCH + 2, LAUNCH + 4, LAUNCH + 8, LAUNCH + 9):
        _run_to(site, day)
        site.step()
        counts.append(len(site.moderators) - before)
    assert counts == [0, 1, 2, 4, 4]


@pytest.mark.parametrize(("override", "fragment"), [
    ("scenario.levers.askers_go_elsewhere.ramp_days=-30", "scenario.levers.askers_go_elsewhere.ramp_days=-30"),
    ("scenario.levers.askers_go_elsewhere.ramp_days=nan", "scenario.levers.askers_go_elsewhere.ramp_days=nan"),
    ("scenario.levers.askers_go_elsewhere.ramp_shape=cubic", "ramp_shape='cubic': must be one of linear, logistic"),
    ("+scenario.levers.askers_go_elsewhere.ramp_dayz=30", "ramp_dayz: unknown parameter"),
])
def test_a_bad_ramp_is_a_one_line_config_error(tmp_path, override, fragment):
    res = run_cli(tmp_path, "run", "scenario=chatgpt_substitute", override, "scenario.launch_day=1", "run.days=2",
                  "run.warmup_days=0")
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and fragment in lines[0], res.stderr
    assert not (tmp_path / "out").exists()


def test_a_switch_refuses_a_ramp():
    from scenarios.lever import lever_errors

    errors = lever_errors({"free_votes_for_new_users": {"ramp_days": 30}, "moderator_strike": {"ramp_days": 0}})
    assert [str(e) for e in errors] == ["scenario.levers.free_votes_for_new_users.ramp_days=30: "
                                        "free_votes_for_new_users is a switch with nothing to ramp (allowed: 0)"]
