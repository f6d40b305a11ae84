"""Sensitivity of a scenario's effect to the behavioural assumptions (SALib Morris / Sobol)."""

import dataclasses
import json
import math
import subprocess
import sys

import pytest

from experiments.sensitivity import default_params, sensitivity, write_sensitivity
from preflight.compose import compose

TINY = ["site=small", "replicates=2", "run.days=20", "run.warmup_days=5", "run.progress=false",
        "scenario=moderator_strike"]
PARAMS = {"population.ask_rate": (0.004, 0.01), "moderation.moderators.error_rate": (0.01, 0.06)}


@pytest.fixture(scope="module")
def settings():
    return compose(TINY)[1]


def test_morris_ranks_the_assumptions_and_writes_json_and_chart(settings, tmp_path):
    result = sensitivity(settings, PARAMS, method="morris", trajectories=2, metric="harm_exposure")
    assert result["design_points"] == 2 * (len(PARAMS) + 1) and result["runs"] == 4 * result["design_points"]
    assert len(result["differences"]) == result["design_points"]
    assert result["difference"]["mean"] > 0  # the strike raises harm
    ranking = result["ranking"]
    assert {r["parameter"] for r in ranking} == set(PARAMS)
    assert [r["mu_star"] for r in ranking] == sorted((r["mu_star"] for r in ranking), reverse=True)
    assert all(math.isfinite(r["mu_star"]) and r["mu_star"] >= 0 for r in ranking)
    assert ranking[0]["parameter"] in result["summary"]

    written = write_sensitivity(result, tmp_path)
    assert json.loads(written["json"].read_text())["ranking"] == ranking
    assert written["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sobol_gives_first_order_and_total_indices(settings):
    early = dataclasses.replace(settings.scenario, launch_day=1.0)
    short = dataclasses.replace(settings, scenario=early, run=dataclasses.replace(settings.run, days=8.0,
                                                                                  warmup_days=1.0))
    result = sensitivity(short, {"population.ask_rate": (0.004, 0.01)}, method="sobol", samples=2,
                         metric="harm_exposure")
    assert result["design_points"] == 2 * (1 + 2)
    (row,) = result["ranking"]
    assert set(row) == {"parameter", "S1", "S1_conf", "ST", "ST_conf"}


def test_default_ranges_are_the_calibrated_values_plus_minus_half(settings):
    ranges = default_params(settings)
    assert len(ranges) >= 5
    ask = settings.population.ask_rate
    assert ranges["population.ask_rate"] == pytest.approx((0.5 * ask, 1.5 * ask))
    assert all(0 <= low < high <= 1 for name, (low, high) in ranges.items() if "prob" in name)


@pytest.mark.parametrize("kwargs, message", [
    ({"params": {"population.ask_rat": (0.1, 0.2)}}, "not a configuration key"),
    ({"params": {"population.ask_rate": (0.2, 0.1)}}, "low < high"),
    ({"params": {"moderation.moderators.error_rate": (0.5, 1.5)}}, "error_rate"),
    ({"method": "fast"}, "method"),
    ({"metric": "harm"}, "metric"),
    ({"samples": 6, "method": "sobol"}, "power of two"),
])
def test_bad_input_is_one_clear_error_before_any_run(settings, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sensitivity(settings, **{"params": PARAMS, **kwargs})


def test_a_scenario_without_levers_is_refused():
    with pytest.raises(ValueError, match="no levers"):
        sensitivity(compose(TINY[:-1])[1], PARAMS)


def test_sensitivity_command(tmp_path):
    cmd = [sys.executable, "-m", "preflight.cli", "sensitivity", *TINY, "run.days=9", "run.warmup_days=1",
           "--trajectories", "2", "--metric", "harm_exposure", "--param", "population.ask_rate=0.004:0.01",
           "--out", str(tmp_path / "out")]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "population.ask_rate" in proc.stdout and "mu_star" in proc.stdout
    assert (tmp_path / "out" / "sensitivity.json").is_file() and (tmp_path / "out" / "sensitivity.png").is_file()

    bad = subprocess.run([*cmd[:4], "--param", "population.ask_rate=low:high"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("preflight: error: --param")
