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


# --- help for people ---------------------------------------------------------------------------

COMMANDS = ("run", "compare", "scenarios", "levers", "collect", "sensitivity", "reproduce", "calibrate", "validate")


def main_output(capsys, *args: str) -> tuple[int, str, str]:
    """``preflight ARGS`` in this process: (exit code, stdout, stderr)."""
    from preflight.cli import main

    code = 0
    try:
        main(list(args))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_overview_lists_every_command_with_exit_codes(capsys):
    code, text, _ = main_output(capsys, "--help")
    assert code == 0
    assert all(f"\n  {c} " in text for c in COMMANDS), text
    assert "exit codes:" in text and "examples:" in text and "`" not in text


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_each_command_has_help_for_people(capsys, command, flag):
    code, text, err = main_output(capsys, command, flag)
    assert code == 0 and err == ""
    assert text.startswith(f"preflight {command}: ") and f"usage: preflight {command}" in text
    assert "examples:" in text and "exit codes:" in text
    assert "`" not in text and "``" not in text  # plain text, no reST
    assert max(len(line) for line in text.splitlines()) <= 100
    assert main_output(capsys, "help", command)[1] == text


def test_run_and_compare_help_quote_the_configured_defaults(capsys):
    from omegaconf import OmegaConf

    conf = Path(__file__).resolve().parents[1] / "conf"
    run = OmegaConf.load(conf / "run" / "default.yaml")
    replicates = OmegaConf.load(conf / "config.yaml").replicates
    text = main_output(capsys, "compare", "--help")[1]
    assert f"default {replicates} pairs" in text and f"(default {run.days:g} and {run.warmup_days:g})" in text
    assert "small, stackoverflow_2018" in text and "default, none" in text
    assert len(text.splitlines()) < 60  # not Hydra's configuration dump


def test_every_option_of_the_argparse_commands_is_in_their_help(capsys):
    from experiments import reproduce, sensitivity

    for command, parser in (("sensitivity", sensitivity.arg_parser()), ("reproduce", reproduce.arg_parser())):
        text = main_output(capsys, command, "--help")[1]
        flags = [f for action in parser._actions for f in action.option_strings if f.startswith("--")]
        missing = [f for f in flags if f != "--help" and f not in text]
        assert missing == [], f"{command} --help does not mention {missing}"


def test_every_option_of_calibrate_and_validate_is_in_their_help(capsys):
    from experiments import calibrate, validation

    for command, options in (("calibrate", calibrate.OPTIONS), ("validate", validation.OPTIONS)):
        text = main_output(capsys, command, "--help")[1]
        missing = [o for o in options if f"  {o}=" not in text]
        assert missing == [], f"{command} --help does not mention {missing}"


def test_hydra_keeps_its_config_dump_and_its_help(tmp_path):
    res = cli(tmp_path, "compare", "--cfg", "job", "scenario=moderator_strike")
    assert res.returncode == 0, res.stderr
    assert "moderator_strike:" in res.stdout and "replicates:" in res.stdout and "ci_method:" in res.stdout
    res = cli(tmp_path, "run", "--hydra-help")
    assert res.returncode == 0 and "Hydra" in res.stdout and "--cfg" in res.stdout, res.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_command_or_help_topic_is_one_line_and_exit_2(capsys):
    for args in (("bogus",), ("help", "bogus")):
        code, out, err = main_output(capsys, *args)
        assert code == 2 and out == "" and err.count("\n") == 1 and "allowed: run, compare" in err


# --- preflight levers --------------------------------------------------------------------------


def test_levers_lists_every_lever_and_parameter_from_the_registry(capsys, monkeypatch):
    from preflight.cli_lists import param_default, param_range, registered_levers
    from scenarios.lever import LEVERS, Lever, Param

    class Teleport(Lever):
        """A lever that exists only in this test: the listing reads the registry."""

        name, summary = "teleport", "Moves users elsewhere."
        params = {"distance_km": Param(float, 2.5, 0.5, 40, "how far")}

    monkeypatch.setitem(LEVERS, "teleport", Teleport)
    code, text, _ = main_output(capsys, "levers")
    assert code == 0
    blocks = {block.split("\n", 1)[0]: block for block in text.split("\n\n")}
    for name, cls in registered_levers().items():
        assert cls.summary in blocks[name]
        table = blocks[name].split("  parameter ", 1)[-1].splitlines()[1:]
        for key, param in cls.params.items():
            row = next(line.split() for line in table if line.split()[:1] == [key])
            assert param_default(param) in row and " ".join(row).find(param_range(param)) > 0, row
    assert "0.5 to 40" in blocks["teleport"] and "how far" in blocks["teleport"]


def test_levers_by_name_and_an_unknown_name(capsys):
    code, text, _ = main_output(capsys, "levers", "moderator_strike")
    assert code == 0 and text.startswith("moderator_strike\n") and "staging_ground" not in text
    assert "weeks" in text and "0 to 520" in text and "true or false" in text
    code, out, err = main_output(capsys, "levers", "moderator_strik")
    assert code == 2 and out == "" and "moderator_strik: unknown lever (allowed: " in err


def test_the_lever_table_of_the_docs_is_the_registry():
    from preflight.cli_lists import levers_markdown

    docs = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text()
    assert levers_markdown() in docs, "regenerate: preflight levers --markdown (docs/scenarios.md)"


# --- preflight scenarios -----------------------------------------------------------------------


def test_every_built_in_what_if_is_listed_and_valid(capsys):
    import importlib.resources as res

    code, text, err = main_output(capsys, "scenarios")
    assert code == 0, err
    names = sorted(p.name[:-5] for p in (res.files("conf") / "scenario").iterdir() if p.name.endswith(".yaml"))
    assert [line.split()[0] for line in text.splitlines() if line[:1].strip()] == [*names, str(len(names))]
    assert "INVALID" not in text and text.rstrip().endswith(f"{len(names)} what-ifs, all valid")


BAD_MANY = """name: bad_many
description: several mistakes at once
primary_direction: sideways
levers:
  more_moderators: {seats: -1, colour: red}
  teleport: {}
guardrails:
  - {metric: nope, max_relative_increase: 0.1}
"""


def test_scenarios_lists_every_error_of_every_what_if_and_exits_2(tmp_path, capsys, monkeypatch):
    mine = tmp_path / "mine" / "scenario"
    mine.mkdir(parents=True)
    (mine / "bad_many.yaml").write_text(BAD_MANY)
    (mine / "late.yaml").write_text("name: late\nlaunch_day: 100\nlevers: {more_moderators: {seats: 2}}\n")
    (mine / "not_yaml.yaml").write_text("levers: [\n")
    (mine / "fine.yaml").write_text("name: fine\ndescription: Two more moderators.\nlevers: {more_moderators: {seats: 2}}\n")
    monkeypatch.chdir(tmp_path)
    code, text, err = main_output(capsys, "scenarios", "--config-dir", str(tmp_path / "mine"))
    assert code == 2
    assert err.startswith("preflight: error: 3 of ") and "bad_many, late, not_yaml" in err and err.count("\n") == 1
    errors = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]
    for fragment in ("scenario.primary_direction='sideways'", "scenario.levers.more_moderators.colour: unknown",
                     "scenario.levers.more_moderators.seats=-1", "scenario.levers.teleport: unknown lever",
                     "scenario.guardrails[0]: guardrail 'nope': metric 'nope' is unknown",
                     "scenario.launch_day=100: must be < run.days", "not_yaml.yaml: not plain YAML data"):
        assert sum(fragment in e for e in errors) == 1, (fragment, errors)
    assert len(errors) == 7
    assert "fine   " in text and "Two more moderators." in text  # the valid ones are still listed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # nothing written
    code, text, _ = main_output(capsys, "scenarios", "--config-dir", str(tmp_path / "mine"), "run.days=200")
    assert "scenario.launch_day=100" not in text  # the checks compose with the overrides given


def test_scenarios_with_a_bad_argument_is_one_error_not_one_per_what_if(capsys):
    code, out, err = main_output(capsys, "scenarios", "run.days=-5")
    assert code == 2 and out == "" and err.count("\n") == 1 and "run.days=-5" in err
