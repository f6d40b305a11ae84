"""What-if files are data (issue 11 item 3): a scenario or guardrails YAML cannot run code, reach Hydra's
own settings, read the environment or name a folder outside ``outputs/``. Checked on the raw files the
composition would use, before Hydra starts (it instantiates ``hydra.callbacks`` at start-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.compose import compose

CONF = Path(__file__).resolve().parents[1] / "conf"
GOOD = """\
name: {name}
description: Two more moderators.
hypothesis: Flags wait less.
primary_metric: queue_time_p50_min
launch_day: 1
levers:
  more_moderators: {{seats: 2}}
"""


def evil_scenario(root: Path, target: Path, name: str = "evil") -> Path:
    """A what-if that, if Hydra instantiated its callback, would create ``target``."""
    path = root / "whatifs" / "scenario" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""\
# @package _global_
scenario:
  name: {name}
  levers:
    more_moderators: {{seats: 1}}
hydra:
  callbacks:
    pwn:
      _target_: builtins.open
      file: {target}
      mode: w
""")
    return path


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def one_error_line(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("preflight: error: "), res.stderr
    return lines[0]


@pytest.mark.parametrize("how", ["path", "searchpath", "config-dir"])
@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_scenario_file_cannot_run_code(tmp_path, how, command):
    target = tmp_path / "PWNED"
    path = evil_scenario(tmp_path, target)
    work = tmp_path / "work"
    work.mkdir()
    select = {
        # a relative option name that climbs out of conf/scenario/ to the file
        "path": [f"scenario={os.path.relpath(path.with_suffix(''), CONF / 'scenario')}"],
        "searchpath": [f"hydra.searchpath=[file://{tmp_path / 'whatifs'}]", "scenario=evil"],
        "config-dir": ["--config-dir", str(tmp_path / "whatifs"), "scenario=evil"],
    }[how]
    res = cli(work, command, *select, "run.days=2", "run.warmup_days=0", "replicates=2", "run.progress=false")
    line = one_error_line(res)
    assert not target.exists(), "the what-if ran code"
    assert list(work.iterdir()) == []
    if how == "path":
        assert "scenario=" in line
    else:
        assert "evil.yaml" in line and "package" in line, line


def write_whatif(tmp_path: Path, group: str, name: str, text: str) -> list[str]:
    path = tmp_path / "whatifs" / group / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return [f"hydra.searchpath=[file://{tmp_path / 'whatifs'}]", f"{group}={name}"]


@pytest.mark.parametrize(("group", "text", "fragment"), [
    ("scenario", "# @package _global_\n" + GOOD.format(name="x"), "package directive"),
    ("scenario", "# @package scenario\n" + GOOD.format(name="x"), "package directive"),
    ("scenario", GOOD.format(name="x") + "context:\n  evil: {_target_: os.system, command: touch x}\n",
     "context.evil._target_"),
    ("scenario", GOOD.format(name="x") + "hydra:\n  callbacks: {}\n", "hydra"),
    ("scenario", "defaults:\n  - /hydra/callbacks: none\n" + GOOD.format(name="x"), "defaults"),
    ("scenario", GOOD.format(name="x").replace("Two more moderators.", "${oc.env:HOME}"), "oc.env"),
    ("scenario", GOOD.format(name="x").replace("Flags wait less.", "'${hydra:runtime.cwd}'"), "interpolation"),
    ("scenario", "name: [unclosed\n", "not valid YAML"),
    ("guardrails", "# @package _global_\nguardrails: []\n", "package directive"),
    ("guardrails", "guardrails: []\nhydra:\n  callbacks:\n    x: {_target_: builtins.print}\n", "hydra"),
    ("guardrails", "guardrails:\n  - {metric: harm_exposure, max_relative_increase: 0.1, _target_: os.system}\n",
     "guardrails[0]._target_"),
    ("guardrails", "guardrails: []\nseed: 3\n", "seed"),
])
def test_what_if_files_are_data(tmp_path, group, text, fragment):
    overrides = write_whatif(tmp_path, group, "x", text)
    with pytest.raises(SystemExit) as info:
        compose(overrides)
    assert info.value.code == 2


@pytest.mark.parametrize(("group", "text", "fragment"), [
    ("scenario", "# @package _global_\n" + GOOD.format(name="x"), "package directive"),
    ("scenario", GOOD.format(name="x") + "context:\n  evil: {_target_: os.system}\n", "context.evil._target_"),
    ("scenario", GOOD.format(name="x").replace("Two more moderators.", "${oc.env:HOME}"), "oc.env"),
    ("guardrails", "guardrails:\n  - {metric: harm_exposure, max_relative_increase: 0.1, _target_: os.system}\n",
     "guardrails[0]._target_"),
    ("guardrails", "guardrails: []\nseed: 3\n", "seed"),
])
def test_what_if_file_errors_name_the_file_and_the_key(tmp_path, capsys, group, text, fragment):
    overrides = write_whatif(tmp_path, group, "x", text)
    with pytest.raises(SystemExit):
        compose(overrides)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{group}/x.yaml" in err and fragment in err, err


def test_a_user_what_if_on_a_search_path_runs(tmp_path):
    overrides = write_whatif(tmp_path, "scenario", "good", GOOD.format(name="good"))
    _, settings = compose(overrides)
    assert settings.scenario.name == "good" and settings.scenario.levers == {"more_moderators": {"seats": 2}}


def test_every_built_in_what_if_passes_the_check():
    for group in ("scenario", "guardrails"):
        for path in sorted((CONF / group).glob("*.yaml")):
            compose([f"{group}={path.stem}"])


@pytest.mark.parametrize("name", ["../../..", "a/b", "..", "x y", "${oc.env:HOME}", "", "1st"])
def test_scenario_names_are_identifiers(tmp_path, name):
    res = cli(tmp_path, "run", f"scenario.name='{name}'", "run.days=2", "run.warmup_days=0", "run.progress=false")
    line = one_error_line(res)
    assert "scenario.name" in line and "identifier" in line, line
    assert list(tmp_path.iterdir()) == []
