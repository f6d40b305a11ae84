"""``preflight reproduce DIR`` (issue 11 item 5): re-run a run or a comparison from its provenance into a
new folder and report whether the results are identical."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SHORT = ["run.days=3", "run.warmup_days=1", "run.progress=false"]


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=os.environ.copy())


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reproduce_run")
    res = cli(root, "run", *SHORT, "seed=5", f"hydra.run.dir={root / 'run'}")
    assert res.returncode == 0, res.stderr
    return root / "run"


def test_a_run_reproduces_identically(run_dir, tmp_path):
    res = cli(tmp_path, "reproduce", str(run_dir), "--out", str(tmp_path / "again"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "IDENTICAL" in res.stdout
    again = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert again["seed"] == 5 and again["provenance"]["reproduces"] == str(run_dir.resolve())
    assert list(tmp_path.iterdir()) == [tmp_path / "again"]


def test_a_changed_result_is_reported_with_its_keys(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    summary = json.loads((copy / "summary.json").read_text())
    summary["metrics"]["community_health"]["questions_per_day"] += 1.0  # (grouped by family)
    (copy / "summary.json").write_text(json.dumps(summary))
    res = cli(tmp_path, "reproduce", str(copy), "--out", str(tmp_path / "again"))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "DIFFERENT" in res.stdout and "metrics.community_health.questions_per_day" in res.stdout
    assert "metrics.harm_exposure" not in res.stdout


def test_a_comparison_reproduces_identically(tmp_path):
    out = tmp_path / "cmp"
    res = cli(tmp_path, "compare", "scenario=more_moderators", "replicates=2", *SHORT, "run.days=9",
              f"compare.out={out}")
    assert res.returncode in (0, 1, 3), res.stderr
    res = cli(tmp_path, "reproduce", str(out), "--out", str(tmp_path / "again"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "IDENTICAL" in res.stdout
    assert (tmp_path / "again" / "scorecard.json").is_file()


def test_reproduce_refuses_a_folder_without_provenance(tmp_path):
    res = cli(tmp_path, "reproduce", str(tmp_path))
    assert res.returncode == 2
    assert res.stderr.startswith("preflight: error: reproduce") and res.stderr.count("\n") == 1
