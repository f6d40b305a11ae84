"""Paired comparison: common random numbers, guardrail verdicts, exit codes, the command end to end."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from experiments.compare import compare, config_diff, run_comparison
from preflight.compose import compose
from sim.config import flatten

SHORT = ["site=small", "replicates=2", "run.days=20", "run.warmup_days=5", "run.progress=false"]
# a lever that sets today's rule: a scenario with a lever (so `preflight compare` accepts it) and no effect
NO_OP_LEVER = "+scenario.levers.close_vote_threshold.threshold=3"


def settings_for(*overrides):
    return compose([*SHORT, *overrides])[1]


def strike_overrides() -> list[str]:
    """The moderator strike (conf/scenario/moderator_strike.yaml) on site=small, long enough to show,
    made a full strike (every moderator and curator: the small site's three moderators make a
    partial strike lumpy from seed to seed)."""
    return [*SHORT, "scenario=moderator_strike", "replicates=6", "run.days=40",
            "scenario.levers.moderator_strike.share=1", "scenario.levers.moderator_strike.curator_share=1"]


@pytest.fixture(scope="module")
def baseline_comparison():
    """The baseline compared with itself, with its runs spread over two worker processes."""
    return compare(settings_for("scenario=baseline"), jobs=2)


def test_baseline_against_itself_differs_by_exactly_zero(baseline_comparison):
    rows = {**baseline_comparison["metrics"], **baseline_comparison["mod_workload"]}
    assert len(rows) > 40
    for name, row in rows.items():
        np.testing.assert_array_equal(row["baseline"], row["scenario"], err_msg=name)
        if row["n"]:
            assert row["diff_mean"] == 0.0, name
        if row["n"] >= 2:  # (a Kaplan-Meier quantile not reached in some seeds has fewer pairs)
            assert (row["ci_low"], row["ci_high"]) == (0.0, 0.0), name
            assert row["rel_change"] == 0.0, name
    for name, series in baseline_comparison["timeseries"].items():
        np.testing.assert_array_equal(series["baseline"], series["scenario"], err_msg=name)
    assert baseline_comparison["config_diff"] == []
    relative = [g for g in baseline_comparison["guardrails"] if g["kind"] != "max_group_ratio"]
    assert relative and all(g["estimate"] == 0.0 for g in relative)
    # each PASSes, unless its metric (a Kaplan-Meier quantile not reached in a seed) has fewer than
    # two pairs: then it decides nothing (INCONCLUSIVE), still at exactly no change
    assert all(g["verdict"] == ("PASS" if rows[g["metric"]]["n"] >= 2 else "INCONCLUSIVE") for g in relative)


def test_comparison_has_the_shape_the_report_expects(baseline_comparison, fake_comparison):
    assert set(fake_comparison) - {"provenance"} <= set(baseline_comparison)
    row_keys = set(fake_comparison["metrics"]["harm_exposure"])
    assert all(row_keys <= set(row) for row in baseline_comparison["metrics"].values())
    assert set(baseline_comparison["mod_workload"]) == set(fake_comparison["mod_workload"])
    assert set(baseline_comparison["timeseries"]) == set(fake_comparison["timeseries"])
    series = baseline_comparison["timeseries"]["harm_exposure"]
    assert len(series["baseline"]) == 2 and len(series["day"]) == len(series["baseline"][0]) == 20
    assert set(fake_comparison["provenance"]) <= set(baseline_comparison["provenance"])
    assert baseline_comparison["seeds"] == baseline_comparison["provenance"]["seeds"] == [0, 1]
    fairness = baseline_comparison["fairness"]["wrongful_rate"]
    assert set(fairness["worst_to_best"]) == {"baseline", "scenario"}
    assert all(set(v) == {"baseline", "scenario", "baseline_n", "scenario_n"} for v in fairness["groups"].values())


@pytest.mark.parametrize("guardrail, code", [
    # a lever that changes nothing: every paired difference is zero, which from two seeds is not
    # certainty (docs/statistics.md), so the guardrail is undecided
    ({"metric": "harm_exposure", "max_relative_increase": 0.05}, 3),
    # newcomer_return_30d needs 30 days after a first post: undefined in a 20-day run, so no verdict
    ({"metric": "newcomer_return_30d", "max_relative_decrease": 0.05}, 3),
])
def test_exit_code_follows_the_verdict(tmp_path, monkeypatch, capsys, guardrail, code):
    monkeypatch.chdir(tmp_path)  # compare.out empty: outputs/compare/<scenario>_<time>/ below the cwd
    settings = dataclasses.replace(settings_for("scenario=baseline", NO_OP_LEVER), guardrails=[guardrail])
    assert run_comparison(settings, "preflight compare scenario=baseline") == code
    verdict = {0: "PASS", 3: "INCONCLUSIVE"}[code]
    out = capsys.readouterr().out
    assert f"verdict: {verdict} (exit code {code})" in out
    (scorecard,) = tmp_path.glob("outputs/compare/baseline_*/scorecard.json")
    assert json.loads(scorecard.read_text())["exit_code"] == code
    assert f"report: {scorecard.parent.resolve() / 'report.html'}" in out


def test_a_bad_guardrail_stops_before_any_simulation(tmp_path, capsys):
    settings = dataclasses.replace(settings_for(NO_OP_LEVER, f"compare.out={tmp_path}"),
                                   guardrails=[{"metric": "harm_exposur", "max_relative_increase": 0.05}])
    assert run_comparison(settings, "preflight compare") == 2
    err = capsys.readouterr().err
    assert "harm_exposur" in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_moderator_strike_fails_the_harm_guardrail_end_to_end(tmp_path):
    out = tmp_path / "strike"
    proc = subprocess.run([sys.executable, "-m", "preflight.cli", "compare", *strike_overrides(),
                           f"compare.out={out}", f"hydra.run.dir={tmp_path / 'hydra'}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    comparison = json.loads((out / "comparison.json").read_text())
    harm = comparison["metrics"]["harm_exposure"]
    assert harm["ci_low"] > 0, harm
    rail = next(g for g in comparison["guardrails"] if g["metric"] == "harm_exposure")
    assert rail["verdict"] == "FAIL" and rail["ci_low"] > rail["bound"]
    assert comparison["verdict"] == "FAIL" and "verdict: FAIL (exit code 1)" in proc.stdout
    assert comparison["mod_workload"]["flag_queue_backlog"]["ci_low"] > 0
    keys = {d["key"] for d in comparison["config_diff"]}
    assert any(k.startswith("scenario.levers.moderator_strike.") for k in keys)

    assert f"report: {out / 'report.html'}" in proc.stdout
    assert sorted(p.parent.name for p in (out / "runs").glob("*/summary.json")) == [
        f"{arm}_seed{k}" for arm in ("baseline", "scenario") for k in range(6)]
    for name in ("report.html", "report.md", "scorecard.json"):
        assert (out / name).stat().st_size > 0
    assert "FAIL" in (out / "report.html").read_text()
    assert comparison["provenance"]["command"].startswith("preflight compare ")
    assert not list(out.rglob("*.tmp"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hydra", "strike"]


def test_config_diff_lists_only_what_differs():
    base = settings_for()
    scen = dataclasses.replace(base, scenario=dataclasses.replace(
        base.scenario, name="x", levers={"moderator_strike": {"weeks": 2}}))
    assert config_diff(base, scen) == [
        {"key": "scenario.levers.moderator_strike.weeks", "baseline": None, "scenario": 2},
        {"key": "scenario.name", "baseline": "baseline", "scenario": "x"},
    ]
    assert flatten({"a": {"b": 1, "c": {}}, "d": [1, 2]}) == {"a.b": 1, "d": [1, 2]}
    assert config_diff(base, base) == []


# --- issue 11 item 2: no PASS without a change -------------------------------------------------


def _cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "preflight.cli", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize(("args", "fragment"), [
    # launch day after the end of the run: the levers never switch on
    (["compare", "scenario=more_moderators", "run.days=5", "run.warmup_days=1"], "scenario.launch_day=7"),
    (["run", "scenario=more_moderators", "run.days=5", "run.warmup_days=1"], "scenario.launch_day=7"),
    (["compare", "scenario=more_moderators", "run.days=7", "run.warmup_days=1"], "scenario.launch_day=7"),
    # no scenario: baseline against itself
    (["compare", "run.days=5", "run.warmup_days=1"], "scenario=baseline"),
    (["compare", "scenario=baseline", "run.days=5", "run.warmup_days=1"], "scenario=baseline"),
    # a scenario without levers (its context applies to both arms: still no change)
    (["compare", "scenario=more_moderators", "~scenario.levers", "run.days=5", "run.warmup_days=1"], "no levers"),
])
def test_a_comparison_without_a_change_is_refused(tmp_path, args, fragment):
    res = _cli(tmp_path, *args, "replicates=2", "run.progress=false")
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("preflight: error: ") and fragment in lines[0], res.stderr
    assert "verdict" not in res.stdout
    assert list(tmp_path.iterdir()) == []


def test_run_comparison_refuses_a_scenario_without_levers(tmp_path, capsys):
    settings = settings_for("scenario=baseline", f"compare.out={tmp_path / 'out'}")
    assert run_comparison(settings, "preflight compare scenario=baseline") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no levers" in err
    assert not (tmp_path / "out").exists()


def test_a_launch_inside_the_warmup_is_allowed_and_noted(tmp_path, capsys):
    out = tmp_path / "out"
    settings = settings_for("scenario=more_moderators", "run.days=12", "run.warmup_days=9", f"compare.out={out}")
    assert settings.scenario.launch_day == 7
    assert run_comparison(settings, "preflight compare scenario=more_moderators") in (0, 1, 3)
    captured = capsys.readouterr()
    comparison = json.loads((out / "comparison.json").read_text())
    (note,) = comparison["notes"]
    assert "launch day 7 is inside the warm-up" in note and "launch transient is not measured" in note
    assert note in captured.out
    assert note in (out / "report.md").read_text()
    assert "launch transient is not measured" in (out / "report.html").read_text()
    assert json.loads((out / "scorecard.json").read_text())["notes"] == [note]
