"""The command line: only configuration errors exit 2 with one line; a bug prints its traceback and
exits 1; help written for people; the lever and what-if listings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SHORT = ["run.days=2", "run.warmup_days=0", "run.progress=false"]
#: a ``preflight`` whose ``module.name`` raises a bug (the patch has to live in the command's process)
PATCHED = """
import sys
import {module}

def bug(*args, **kwargs):
    raise RuntimeError("a bug, not bad input")

{module}.{name} = bug
from preflight.cli import main
main(sys.argv[1:])
"""


def cli(cwd: Path, *args: str, patch: str | None = None) -> subprocess.CompletedProcess:
    if patch:
        module, name = patch.rsplit(".", 1)
        head = [sys.executable, "-c", PATCHED.format(module=module, name=name)]
    else:
        head = [sys.executable, "-m", "preflight.cli"]
    return subprocess.run([*head, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def one_error_line(res: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and "UserWarning" not in ln
             and not ln.startswith("  warnings.warn")]
    assert res.returncode == 2 and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith("preflight: error: ")
    return lines[0]


@pytest.mark.parametrize("override, fragment", [
    ("seed=[", "seed=["),  # Hydra's override grammar
    ("seed=${nope}", "nope"),  # OmegaConf's interpolation
    ("foo=1", "foo"),  # Hydra's composition
    ("population.ask_rate=-1", "population.ask_rate=-1"),  # ours
])
def test_a_bad_override_is_one_line_and_exit_2(tmp_path, override, fragment):
    line = one_error_line(cli(tmp_path, "run", override, *SHORT))
    assert fragment in line, line
    assert list(tmp_path.iterdir()) == []


def test_a_what_if_that_is_not_yaml_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "mine" / "scenario").mkdir(parents=True)
    (tmp_path / "mine" / "scenario" / "broken.yaml").write_text("levers: [\n")
    line = one_error_line(cli(tmp_path, "run", f"--config-dir={tmp_path / 'mine'}", "scenario=broken", *SHORT))
    assert "broken.yaml: not plain YAML data (line 2" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.parametrize("command, patch", [
    ("run", "scenarios.build_levers"),  # a bug while composing the configuration
    ("run", "preflight.run.simulate"),  # a bug inside the run
    ("compare", "experiments.compare.summarize_pairs"),  # a bug inside the comparison
])
def test_a_bug_prints_its_traceback_and_exits_1(tmp_path, command, patch):
    extra = ["scenario=more_moderators", "scenario.launch_day=0", "replicates=2"] if command == "compare" else []
    res = cli(tmp_path, command, *extra, *SHORT, patch=patch)
    assert res.returncode == 1, res.stderr
    assert "Traceback" in res.stderr and "RuntimeError: a bug, not bad input" in res.stderr, res.stderr
    assert "preflight: error:" not in res.stderr
