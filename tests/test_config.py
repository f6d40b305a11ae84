"""Bad input gets a one-line error naming the key, the value and what is allowed; exit code 2;
no traceback; nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import ConfigError, Settings, replace, to_tree, validate


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    out = tmp_path / "out"
    return subprocess.run([sys.executable, "-m", "preflight.cli", *args, f"hydra.run.dir={out}"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)


@pytest.mark.parametrize(("override", "fragment"), [
    ("site.registered_usrs=5", "site.registered_usrs"),
    ("population.ask_rate=-1", "population.ask_rate=-1"),
    ("population.flag_prob_spam=1.5", "population.flag_prob_spam=1.5"),
    ("run.days=abc", "run.days"),
    ("moderation.moderators.count=2.5", "moderation.moderators.count=2.5"),
    ("scenario=nope", "scenario"),
    ("compare.ci_method=magic", "compare.ci_method='magic'"),
])
def test_bad_config_is_one_line_exit_2(tmp_path, override, fragment):
    days = [] if override.startswith("run.days") else ["run.days=2"]
    res = run_cli(tmp_path, "run", override, *days, "run.warmup_days=0")
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert fragment in lines[0]
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "outputs").exists()


def test_unknown_lever_and_parameter(tmp_path):
    res = run_cli(tmp_path, "run", "+scenario.levers.teleport={}", "run.days=2", "run.warmup_days=0")
    assert res.returncode == 2
    assert "scenario.levers.teleport: unknown lever" in res.stderr
    res = run_cli(tmp_path, "run", "+scenario.levers.close_vote_threshold.quorum=4", "run.days=2", "run.warmup_days=0")
    assert res.returncode == 2
    assert "scenario.levers.close_vote_threshold.quorum: unknown parameter" in res.stderr
    res = run_cli(tmp_path, "run", "+scenario.levers.close_vote_threshold.threshold=0", "run.days=2", "run.warmup_days=0")
    assert res.returncode == 2
    assert "must be between 1 and 50" in res.stderr


def test_validate_rejects_unknown_keys_types_and_ranges():
    tree = to_tree(Settings())
    tree["population"]["ask_rate"] = -0.1
    with pytest.raises(ConfigError, match=r"population.ask_rate=-0.1: must be >= 0"):
        validate(tree)
    tree = to_tree(Settings())
    tree["rules"]["close_vote_threshhold"] = 3
    with pytest.raises(ConfigError, match=r"rules.close_vote_threshhold: unknown key"):
        validate(tree)
    with pytest.raises(ConfigError, match=r"run.warmup_days"):
        replace(Settings(), **{"run.warmup_days": 100.0, "run.days": 10.0})
    with pytest.raises(ConfigError, match="shares sum"):
        tree = to_tree(Settings())
        tree["population"]["regions"]["americas"]["share"] = 0.9
        validate(tree)
    for shares in ([0.5, 0.25, 0.15], [0.6, 0.4]):
        with pytest.raises(ConfigError, match=r"population.close_reason_shares=.*sum to 1"):
            replace(Settings(), **{"population.close_reason_shares": shares})
    assert replace(Settings(), **{"population.close_reason_shares": [0.5, 0.3, 0.2]})


def test_good_run_writes_run_directory(tmp_path):
    res = run_cli(tmp_path, "run", "run.days=12", "run.warmup_days=2", "run.progress=false")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    for name in ("summary.json", "timeseries.parquet", "config.yaml"):
        assert (out / name).exists(), name
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["seed"] == 0
    assert summary["provenance"]["packages"]["mesa"].startswith("3.5")
    assert "git_commit" in summary["provenance"]
    assert summary["config"]["site"]["name"] == "small"
    assert "questions_per_day" in res.stdout
    assert not list(out.glob(".*.tmp"))


def test_event_tables_are_queryable_with_sql(tmp_path):
    res = run_cli(tmp_path, "run", "run.days=6", "run.warmup_days=1", "run.progress=false", "run.event_tables=true")
    assert res.returncode == 0, res.stderr
    assert f"event tables: {tmp_path / 'out' / 'tables'}" in res.stdout  # the run says where they went
    import duckdb

    con = duckdb.connect(str(tmp_path / "out" / "tables" / "events.duckdb"), read_only=True)
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert {"Users", "Posts", "PostsWithDeleted", "Votes", "Comments", "PostHistory", "Flags", "ModeratorActions",
            "GroundTruth", "PostTypes"} <= tables
    questions = con.execute("SELECT count(*) FROM Posts WHERE PostTypeId = 1").fetchone()[0]
    assert questions > 0
    orphans = con.execute("SELECT count(*) FROM Votes v LEFT JOIN PostsWithDeleted p ON v.PostId = p.Id WHERE p.Id IS NULL")
    assert orphans.fetchone()[0] == 0


def test_every_sweep_value_is_validated_before_any_job_runs(tmp_path):
    res = subprocess.run([sys.executable, "-m", "preflight.cli", "run", "-m", "seed=0,x", "run.days=2", "run.warmup_days=0",
                          f"hydra.sweep.dir={tmp_path / 'sweep'}"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip() == "preflight: error: seed='x': expected a number (int)"
    assert not (tmp_path / "sweep").exists()
    res = run_cli(tmp_path, "run", "site=smal")
    assert res.returncode == 2 and "site=smal: no such option (allowed: small, stackoverflow_2018)" in res.stderr


# --- issue 11 item 4: every numeric key is finite and in range, checked before any run ----------


def _numeric_keys(cls=Settings, prefix=""):
    """(dotted key, type, metadata) of every numeric field of the settings, nested sections included."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from _numeric_keys(tp, f"{prefix}{f.name}.")
        elif tp in (int, float) or tp == list[float]:
            yield f"{prefix}{f.name}", tp, dict(f.metadata)


def test_every_numeric_key_has_a_finite_range():
    import math

    keys = list(_numeric_keys())
    assert len(keys) > 100
    for key, _, meta in keys:
        lo, hi = meta.get("min"), meta.get("max")
        assert lo is not None and hi is not None, f"{key}: no range"
        assert math.isfinite(lo) and math.isfinite(hi) and lo <= hi, key


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan"), 1e300])
def test_every_numeric_key_rejects_non_finite_and_huge_values(bad):
    for key, tp, _ in _numeric_keys():
        tree = to_tree(Settings())
        node = tree
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = [0.0, bad] if tp == list[float] else bad
        with pytest.raises(ConfigError) as info:
            validate(tree)
        message = str(info.value)
        assert message.startswith(key) and "\n" not in message, (key, message)


def test_every_lever_parameter_is_finite_and_in_range():
    import math

    from scenarios import LEVERS
    from scenarios.lever import build_levers
    from sim.config import ScenarioConfig

    for name, cls in LEVERS.items():
        for key, param in cls.params.items():
            if param.type is bool:
                continue
            assert param.min is not None and param.max is not None, f"{name}.{key}: no range"
            for bad in (float("nan"), float("inf"), -float("inf")):
                with pytest.raises(ConfigError, match=rf"^scenario.levers.{name}.{key}="):
                    build_levers(ScenarioConfig(levers={name: {key: bad}}))
            assert math.isfinite(param.min) and math.isfinite(param.max)


@pytest.mark.parametrize(("override", "fragment"), [
    ("population.ask_rate=inf", "population.ask_rate=inf"),
    ("population.ask_rate=1e300", "population.ask_rate=1e+300"),
    ("rules.votes_per_day=inf", "rules.votes_per_day=inf"),
    ("run.days=0.05", "run.days=0.05"),
    ("run.days=0.0833", "run.days=0.0833"),
    ("+scenario.levers.staging_ground.improvement=nan", "scenario.levers.staging_ground.improvement=nan"),
    ("moderation.suspension_ladder_days=[0,7,inf]", "moderation.suspension_ladder_days[2]=inf"),
])
def test_non_finite_or_out_of_range_numbers_stop_before_any_run(tmp_path, override, fragment):
    res = run_cli(tmp_path, "run", override, "run.warmup_days=0", "run.progress=false",
                  *([] if override.startswith("run.days") else ["run.days=2"]))
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and fragment in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()
