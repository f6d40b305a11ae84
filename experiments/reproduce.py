"""``preflight reproduce DIR``: re-run a run or a comparison from its provenance and say whether the
results are identical.

A run folder's ``summary.json``, and a comparison folder's ``scorecard.json`` (or
``comparison.json``), record the resolved configuration, the seed(s), the what-if files' YAML text
and the git state. The re-run uses the recorded configuration (not today's what-if file) into a new
folder (``--out``, default ``outputs/reproduce/<DIR name>_<time>/``), then compares every result
exactly: for a run the metrics, fairness breakdowns, event count and daily time series; for a
comparison everything in ``comparison.json`` but its provenance (wall time, creation time).

Exit code: 0 IDENTICAL, 1 DIFFERENT, 2 bad input. A warning says when the code (git commit, or
changed or untracked files) or the what-if file differs from when the result was recorded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

IDENTICAL, DIFFERENT = "IDENTICAL", "DIFFERENT"
EXIT = {IDENTICAL: 0, DIFFERENT: 1}
MAX_LISTED = 20  # differing keys printed (all are counted)
_NOT_COMPARED = ("provenance", "config.compare.out", "config.run.progress")  # where and how, not what


def arg_parser() -> argparse.ArgumentParser:
    """The options of ``preflight reproduce`` (its help for people: ``preflight.cli_help``)."""
    parser = argparse.ArgumentParser(prog="preflight reproduce",
                                     description="Re-run a run or comparison from its provenance; exit 0 if "
                                                 "the results are identical, 1 if not.")
    parser.add_argument("dir", help="a run folder (summary.json) or a comparison folder (scorecard.json)")
    parser.add_argument("--out", default="", help="new folder (default outputs/reproduce/<DIR name>_<time>)")
    return parser


def reproduce_main(argv: list[str]) -> None:
    """``preflight reproduce DIR [--out NEW]``."""
    args = arg_parser().parse_args(argv)
    try:
        verdict = reproduce(Path(args.dir), args.out)
    except ReproduceError as err:
        sys.stderr.write(f"preflight: error: reproduce: {err}\n")
        raise SystemExit(2) from None
    raise SystemExit(EXIT[verdict])


class ReproduceError(ValueError):
    """The folder holds nothing to reproduce, or its configuration is no longer valid."""


def reproduce(folder: Path, out: str = "") -> str:
    """Re-run ``folder`` (a run or a comparison) into a new folder; print and return the verdict.

    Raises:
        ReproduceError: One line: no provenance here, or a configuration today's code refuses.
    """
    from preflight.compose import validate
    from preflight.outputs import new_folder, prepare
    from sim.config import ConfigError

    kind, record, provenance = _read(folder)
    config = record.get("config") if kind == "run" else provenance.get("config")
    if kind == "run":
        config = _ordered_config(folder, config)
    if not isinstance(config, dict):
        raise ReproduceError(f"{folder}: the provenance has no resolved configuration (recorded by an older "
                             f"Preflight); re-run its command instead: {provenance.get('command', '?')}")
    try:
        settings = validate(config)
    except ConfigError as err:
        raise ReproduceError(f"{folder}: the recorded configuration is not valid today: {err}") from None
    _warn_if_changed(provenance)
    try:
        target = prepare(out, "--out") if out else new_folder(Path("outputs") / "reproduce", folder.resolve().name,
                                                              "--out")
    except ConfigError as err:
        raise ReproduceError(str(err)) from None
    command = f"preflight reproduce {folder}"
    whatif = provenance.get("whatif") or {}
    if kind == "run":
        differences = _rerun_run(folder, record, settings, target, command, whatif)
    else:
        differences = _rerun_comparison(folder, settings, target, command, whatif)
    verdict = DIFFERENT if differences else IDENTICAL
    print(f"reproduce {folder} -> {target}: {verdict}")
    for key, (old, new) in list(differences.items())[:MAX_LISTED]:
        print(f"  {key}: {_short(old)} -> {_short(new)}")
    if len(differences) > MAX_LISTED:
        print(f"  ... and {len(differences) - MAX_LISTED} more differing keys")
    return verdict


def _read(folder: Path) -> tuple[str, dict, dict]:
    """``(kind, record, provenance)``: kind 'run' (summary.json) or 'compare' (scorecard.json)."""
    # comparison.json first: its configuration keeps its key order (scorecard.json sorts keys)
    candidates = [("run", folder / "summary.json"), ("compare", folder / "comparison.json"),
                  ("compare", folder / "scorecard.json")]
    for kind, path in candidates:
        if path.is_file():
            try:
                record = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError, ValueError) as err:
                raise ReproduceError(f"{path}: not readable JSON ({type(err).__name__})") from None
            if not isinstance(record, dict) or not isinstance(record.get("provenance"), dict):
                raise ReproduceError(f"{path}: no provenance in it")
            return kind, record, record["provenance"]
    raise ReproduceError(f"{folder}: no summary.json (a run) or scorecard.json (a comparison) here")


def _ordered_config(folder: Path, config):
    """The run's configuration in its original key order: ``config.yaml`` when it holds the same
    configuration (summaries written before key order was kept have it sorted, and region groups and
    levers are set up in that order)."""
    import yaml

    path = folder / "config.yaml"
    try:
        written = yaml.safe_load(path.read_text()) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return config
    return written if isinstance(config, dict) and written == config else config


def _warn_if_changed(provenance: dict) -> None:
    from preflight.provenance import git_state

    now = git_state()
    then_commit, then_dirty = provenance.get("git_commit"), provenance.get("git_dirty")
    if then_commit != now["commit"] or then_dirty != now["dirty"] or now["dirty"]:
        sys.stderr.write(f"preflight: warning: reproduce: recorded with code {then_commit} (dirty: {then_dirty}), "
                         f"now {now['commit']} (dirty: {now['dirty']}); results may differ\n")
    for group, entry in sorted((provenance.get("whatif") or {}).items()):
        path = str(entry.get("path") or "")
        current = _current_text(path)
        if current is not None and current != entry.get("yaml"):
            sys.stderr.write(f"preflight: warning: reproduce: the {group} file {path} changed since; re-running "
                             f"the recorded configuration\n")


def _current_text(label: str) -> str | None:
    """Today's text of a recorded what-if file (None if it is gone)."""
    try:
        if label.startswith("pkg://"):
            from importlib import resources

            package, _, rest = label[len("pkg://"):].partition("/")
            res = resources.files(package).joinpath(rest)
            return res.read_text(encoding="utf-8") if res.is_file() else None
        path = Path(label)
        return path.read_text(encoding="utf-8") if label and path.is_file() else None
    except (ModuleNotFoundError, OSError, ValueError):
        return None


def _rerun_run(folder: Path, record: dict, settings, target: Path, command: str, whatif: dict) -> dict:
    from preflight.run import simulate, summary_dict, write_run

    result = simulate(settings, progress=False)
    write_run(result, target, command, whatif=whatif, extra={"reproduces": str(folder.resolve())})
    new = json.loads(json.dumps(summary_dict(result, command, whatif), sort_keys=True))
    differences = _diff(record, new, ("metrics", "fairness", "events", "scenario", "site", "seed", "config"))
    old_series = _read_series(folder / "timeseries.parquet")
    if old_series is not None:
        new_series = {k: [_plain(x) for x in v.tolist()] for k, v in result.series.items()}
        for name in sorted(set(old_series) | set(new_series)):
            if old_series.get(name) != new_series.get(name):
                differences[f"timeseries.{name}"] = (_len(old_series.get(name)), _len(new_series.get(name)))
    return differences


def _rerun_comparison(folder: Path, settings, target: Path, command: str, whatif: dict) -> dict:
    from experiments.compare import run_comparison

    old_path = folder / "comparison.json"
    if not old_path.is_file():
        raise ReproduceError(f"{folder}: no comparison.json to compare the re-run with")
    old = json.loads(old_path.read_text())
    settings = dataclasses.replace(settings, compare=dataclasses.replace(settings.compare, out=str(target)))
    code = run_comparison(settings, command, whatif)
    if code == 2:
        raise ReproduceError(f"{folder}: the comparison was refused (see above)")
    new = json.loads((target / "comparison.json").read_text())
    return _diff(old, new, tuple(k for k in set(old) | set(new) if k not in _NOT_COMPARED))


def _diff(old: dict, new: dict, sections: tuple[str, ...]) -> dict:
    """Dotted key -> (old, new) for every value that differs in ``sections`` (NaN equals NaN)."""
    from sim.config import flatten

    a = flatten({k: old.get(k) for k in sections})
    b = flatten({k: new.get(k) for k in sections})
    keys = sorted(k for k in set(a) | set(b) if k not in _NOT_COMPARED and not _same(a.get(k), b.get(k)))
    return {k: (a.get(k), b.get(k)) for k in keys}


def _same(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return x == y


def _read_series(path: Path) -> dict | None:
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    return {k: [_plain(x) for x in v] for k, v in pq.read_table(path).to_pydict().items()}


def _plain(x):
    """A value as compared: NaN as None (as in the JSON files)."""
    return None if isinstance(x, float) and math.isnan(x) else x


def _len(values) -> str:
    return "missing" if values is None else f"{len(values)} days"


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
