"""Outputs (issue 11 item 5): unique folders, checked before any simulation, none left by a refused
command, files with the user's umask, a log that records the run, failed sweep jobs reported with the
rest collected, and provenance that notices untracked files and keeps the what-if's own YAML."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

SHORT = ["run.days=2", "run.warmup_days=0", "run.progress=false"]
SHORT_COMPARE = ["scenario=more_moderators", "replicates=2", "run.days=9", "run.warmup_days=1", "run.progress=false"]


def cli(cwd: Path, *args: str, env: dict | None = None, umask: int | None = None, wait: bool = True):
    cmd = [sys.executable, "-m", "preflight.cli", *args]
    kwargs = dict(cwd=cwd, env={**os.environ, **(env or {})}, text=True,
                  preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    return subprocess.run(cmd, capture_output=True, timeout=600, **kwargs)


def one_error_line(res) -> str:
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("preflight: error: "), res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


# --- unique folders ------------------------------------------------------------------------------


def test_new_folders_are_unique_within_the_same_second(tmp_path):
    from preflight.outputs import new_folder

    made = [new_folder(tmp_path / "runs", "baseline_seed0") for _ in range(20)]
    assert len(set(made)) == 20 and all(p.is_dir() and not any(p.iterdir()) for p in made)
    assert all(p.parent == tmp_path / "runs" and "baseline_seed0" in p.name for p in made)


@pytest.mark.parametrize(("command", "args", "kind"), [
    ("run", SHORT, "runs"),
    ("compare", SHORT_COMPARE, "compare"),
])
def test_two_commands_started_together_get_their_own_folders(tmp_path, command, args, kind):
    procs = [cli(tmp_path, command, *args, wait=False) for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode in (0, 1, 3), out + err
    folders = sorted((tmp_path / "outputs" / kind).iterdir())
    assert len(folders) == 2, folders
    result = "summary.json" if command == "run" else "comparison.json"
    assert all((f / result).is_file() for f in folders)


# --- the output folder is checked before any simulation, and only after validation ---------------


@pytest.mark.parametrize(("command", "key"), [
    ("compare", "compare.out"),
    ("run", "hydra.run.dir"),
    ("compare", "hydra.run.dir"),
])
def test_an_invalid_output_folder_stops_before_any_simulation(tmp_path, command, key):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    args = SHORT_COMPARE if command == "compare" else SHORT
    t0 = time.perf_counter()
    res = cli(tmp_path, command, *args, f"{key}={blocker / 'out'}")
    line = one_error_line(res)
    assert key in line and str(blocker / "out") in line, line
    assert "verdict" not in res.stdout and "questions_per_day" not in res.stdout
    assert time.perf_counter() - t0 < 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_folder_holding_another_run_is_not_overwritten(tmp_path):
    done = tmp_path / "done"
    done.mkdir()
    (done / "comparison.json").write_text("{}")
    res = cli(tmp_path, "compare", *SHORT_COMPARE, f"compare.out={done}")
    line = one_error_line(res)
    assert "compare.out" in line and "already holds results" in line
    assert sorted(p.name for p in done.iterdir()) == ["comparison.json"]


def test_a_refused_comparison_leaves_no_folder(tmp_path):
    bad_rail = "+scenario.guardrails=[{metric: harm_exposur, max_relative_increase: 0.1}]"
    res = cli(tmp_path, "compare", *SHORT_COMPARE, bad_rail)
    assert "harm_exposur" in one_error_line(res)
    assert list(tmp_path.iterdir()) == []


# --- files: the user's umask, a log with content -------------------------------------------------


def _modes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode)
            for p in folder.rglob("*") if p.is_file() and ".hydra" not in p.parts}


def test_run_files_follow_the_umask_and_the_log_records_the_run(tmp_path):
    res = cli(tmp_path, "run", *SHORT, f"hydra.run.dir={tmp_path / 'run'}", umask=0o022)
    assert res.returncode == 0, res.stderr
    modes = _modes(tmp_path / "run")
    assert {"summary.json", "config.yaml", "timeseries.parquet", "timing.json", "cli.log"} <= set(modes)
    assert set(modes.values()) == {0o644}, modes
    log = (tmp_path / "run" / "cli.log").read_text()
    assert "questions_per_day" in log and f"run directory: {tmp_path / 'run'}" in log


def test_compare_files_follow_the_umask(tmp_path):
    out = tmp_path / "cmp"
    res = cli(tmp_path, "compare", *SHORT_COMPARE, f"compare.out={out}", umask=0o027)
    assert res.returncode in (0, 1, 3), res.stderr
    modes = _modes(out)
    assert {"comparison.json", "scorecard.json", "report.html", "report.md"} <= set(modes)
    assert any(name.startswith("runs/") for name in modes) and any(name.startswith("figures/") for name in modes)
    assert set(modes.values()) == {0o640}, modes
    assert "verdict:" in (out / "cli.log").read_text()


# --- a sweep job that fails at runtime -----------------------------------------------------------

FAIL_ONE_SEED = """\
import os

if os.environ.get("PREFLIGHT_TEST_FAIL_SEED"):
    import preflight.run

    _real = preflight.run.simulate

    def simulate(settings, *args, **kwargs):
        if settings.seed == int(os.environ["PREFLIGHT_TEST_FAIL_SEED"]):
            raise RuntimeError("injected failure for the test")
        return _real(settings, *args, **kwargs)

    preflight.run.simulate = simulate
"""


def test_a_failing_sweep_job_is_reported_and_the_rest_collected(tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAIL_ONE_SEED)
    env = {"PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
           "PREFLIGHT_TEST_FAIL_SEED": "1"}
    sweep = tmp_path / "sweep"
    res = cli(tmp_path, "run", "-m", "seed=0,1,2", *SHORT, f"hydra.sweep.dir={sweep}", env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "injected failure for the test" in res.stderr and "Traceback" in res.stderr  # a bug shows its traceback
    assert "1 of 3 jobs failed" in res.stderr and str(sweep / "1" / "error.txt") in res.stderr
    assert "injected failure" in (sweep / "1" / "error.txt").read_text()
    table = pq.read_table(sweep / "results.parquet").to_pydict()
    assert table["run_dir"] == ["0", "2"] and table["seed"] == [0, 2]
    assert f"collected 2 runs: {sweep / 'results.parquet'}" in res.stdout


# --- provenance ----------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_provenance_counts_untracked_files_as_dirty(tmp_path):
    from preflight.provenance import git_state

    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.py").write_text("x = 1\n")
    _git(repo, "add", "a.py")
    _git(repo, "commit", "-q", "-m", "one")
    clean = git_state(repo)
    assert clean["dirty"] is False and clean["untracked"] == [] and clean["modified"] == []
    assert len(clean["commit"]) == 40 and not clean["commit"].endswith("-dirty")
    (repo / "new_lever.py").write_text("y = 2\n")
    state = git_state(repo)
    assert state["dirty"] is True and state["untracked"] == ["new_lever.py"] and state["modified"] == []
    assert state["commit"] == clean["commit"] + "-dirty"
    (repo / "a.py").write_text("x = 3\n")
    assert git_state(repo)["modified"] == ["a.py"]
    assert git_state(tmp_path / "not_a_repo")["commit"] == "unknown"


WHATIF = """\
name: two_more_mods
description: Two more moderators, from a user folder.
hypothesis: Flags wait less.
primary_metric: queue_time_p50_min
launch_day: 1
levers:
  more_moderators: {seats: 2}
"""


@pytest.fixture
def user_whatif(tmp_path) -> list[str]:
    folder = tmp_path / "whatifs" / "scenario"
    folder.mkdir(parents=True)
    (folder / "two_more_mods.yaml").write_text(WHATIF)
    return ["--config-dir", str(tmp_path / "whatifs"), "scenario=two_more_mods"]


def _check_provenance(provenance: dict) -> None:
    assert provenance["whatif"]["scenario"]["yaml"] == WHATIF
    assert provenance["whatif"]["scenario"]["path"].endswith("scenario/two_more_mods.yaml")
    assert "guardrails:" in provenance["whatif"]["guardrails"]["yaml"]
    assert isinstance(provenance["git_dirty"], bool) and isinstance(provenance["git_untracked"], list)


def test_run_provenance_keeps_the_what_if_yaml(tmp_path, user_whatif):
    res = cli(tmp_path, "run", *user_whatif, *SHORT, f"hydra.run.dir={tmp_path / 'run'}")
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    _check_provenance(summary["provenance"])
    assert summary["config"]["scenario"]["levers"] == {"more_moderators": {"seats": 2}}


def test_compare_provenance_keeps_the_what_if_yaml_and_the_config(tmp_path, user_whatif):
    out = tmp_path / "cmp"
    args = [a for a in SHORT_COMPARE if not a.startswith("scenario=")]
    res = cli(tmp_path, "compare", *user_whatif, *args, f"compare.out={out}")
    assert res.returncode in (0, 1, 3), res.stderr
    for name in ("comparison.json", "scorecard.json"):
        provenance = json.loads((out / name).read_text())["provenance"]
        _check_provenance(provenance)
        assert provenance["config"]["scenario"]["name"] == "two_more_mods" and provenance["seeds"] == [0, 1]
    for summary in (out / "runs").glob("*/summary.json"):
        _check_provenance(json.loads(summary.read_text())["provenance"])
