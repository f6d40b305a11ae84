"""What ``preflight levers`` and ``preflight scenarios`` print.

The levers come from the lever registry (``scenarios.lever.LEVERS``: each lever's summary, the
policy it models and its declared parameters), never from a copy. The what-ifs are checked as
``preflight compare`` would check them, and every error of every what-if is collected, where a
command stops at the first.
"""

from __future__ import annotations

import copy
import dataclasses
import textwrap
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from scenarios.lever import param_default, param_range, param_type  # noqa: F401  (how a parameter reads)

WIDTH = 100  # wrap prose at this many characters (errors stay one line each, for grep)

# --- preflight levers ---------------------------------------------------------------------------


def registered_levers() -> dict:
    """Name -> lever class, in the order the levers are defined."""
    import scenarios.levers  # noqa: F401  (registers the built-in levers)
    from scenarios.lever import LEVERS

    return dict(LEVERS)


def _models(cls) -> str:
    """The lever's docstring in one line: the real policy or behaviour it models."""
    return " ".join((cls.__doc__ or "").split())


#: How ``preflight levers`` names the parameters every lever takes (scenarios.lever.RAMP_PARAMS).
EVERY_LEVER = "every lever"
EVERY_LEVER_SUMMARY = ("How gradually the lever's effect arrives after launch: numbers in the policy and the "
                       "detectors move from the site's value to the target, added agents join progressively, "
                       "switches flip at launch (a lever that is only a switch refuses a ramp).")


def _param_rows(params: dict) -> list[str]:
    rows = [("parameter", "type", "default", "allowed", "meaning")]
    rows += [(key, param_type(p), param_default(p), param_range(p), p.doc) for key, p in params.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  " + "  ".join(f"{v:<{w}}" for v, w in zip(row, widths)) + f"  {row[4]}".rstrip() for row in rows]


def levers_text(names: list[str] | None = None) -> str:
    """Every lever (or those named) with its parameters, types, defaults and ranges.

    Raises:
        sim.config.ConfigError: an unknown lever name.
    """
    from sim.config import ConfigError

    levers = registered_levers()
    for name in names or []:
        if name not in levers:
            raise ConfigError(f"levers {name}: unknown lever (allowed: {', '.join(sorted(levers))})")
    blocks = []
    for name, cls in levers.items():
        if names and name not in names:
            continue
        lines = [name, f"  {cls.summary}", *textwrap.wrap(f"models: {_models(cls)}", WIDTH, initial_indent="  ",
                                                           subsequent_indent="    ")]
        lines += _param_rows(cls.params) if cls.params else ["  parameters: none"]
        blocks.append("\n".join(lines))
    from scenarios.lever import RAMP_PARAMS

    blocks.append("\n".join([EVERY_LEVER, *textwrap.wrap(EVERY_LEVER_SUMMARY, WIDTH, initial_indent="  ",
                                                          subsequent_indent="  "), *_param_rows(RAMP_PARAMS)]))
    example = next(iter(names or levers))
    params = ", ".join(f"{k}: {param_default(p)}" for k, p in levers[example].params.items())
    blocks.append(f"A what-if sets a lever under levers: (a parameter left out takes its default), e.g.\n"
                  f"  levers:\n    {example}: {{{params}}}")
    return "\n\n".join(blocks)


def levers_markdown() -> str:
    """The lever table of ``docs/scenarios.md`` (``preflight levers --markdown``)."""
    from scenarios.lever import RAMP_PARAMS

    def cell(params: dict) -> str:
        return ", ".join(f"`{k}` ({param_type(p)}, {param_default(p)}" + ("" if p.type is bool else
                         f"; {param_range(p)}") + ")" for k, p in params.items()) or "none"

    lines = ["| lever | parameters (type, default; allowed) | what it changes |", "|---|---|---|"]
    for name, cls in registered_levers().items():
        lines.append(f"| `{name}` | {cell(cls.params)} | {cls.summary} |")
    lines.append(f"| {EVERY_LEVER} | {cell(RAMP_PARAMS)} | {EVERY_LEVER_SUMMARY} |")
    return "\n".join(lines)


# --- preflight scenarios ------------------------------------------------------------------------


@dataclass
class WhatIf:
    """One what-if file as ``preflight scenarios`` lists it.

    Attributes:
        option: Its name as ``scenario=NAME`` selects it (the file name).
        path: Where the file that ``scenario=NAME`` loads lives.
        data: Its resolved keys (empty when it does not compose).
        errors: Every error found, one line each.
        shadowed: Files of the same name later on the search path, which are never used.
    """

    option: str
    path: str = ""
    data: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    shadowed: list[str] = field(default_factory=list)


def _search_dirs(overrides: list[str]) -> list[str]:
    """The ``file://`` and ``pkg://`` entries of a ``hydra.searchpath=[...]`` override."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    found = []
    for override in overrides:
        if override.lstrip("+").startswith("hydra.searchpath="):
            value = OverridesParser.create().parse_overrides([override])[0].value()
            found += [str(v) for v in (value if isinstance(value, list) else [value])]
    return found


def _files_of(source: str) -> dict[str, str]:
    """Option -> label of the scenario files in one search path entry (``pkg://conf`` built in)."""
    if source.startswith("file://"):
        folder = Path(source[len("file://"):]) / "scenario"
        return {p.stem: str(p) for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}
    if source.startswith("pkg://"):
        package = source[len("pkg://"):].strip("/")
        try:
            folder = resources.files(package.replace("/", ".")) / "scenario"
            names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
        except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, TypeError, ValueError):
            return {}
        return {n[:-5]: f"pkg://{package}/scenario/{n}" for n in names}
    return {}


def whatif_options(compose_overrides: list[str]) -> dict[str, list[str]]:
    """Option -> the files that offer it (built-in first, then the search path in order)."""
    out: dict[str, list[str]] = {}
    for source in ["pkg://conf", *_search_dirs(compose_overrides)]:
        for option, label in _files_of(source).items():
            out.setdefault(option, []).append(label)
    return dict(sorted(out.items()))


def check_whatif(option: str, overrides: list[str]) -> WhatIf:
    """Check one what-if as ``preflight compare scenario=NAME`` would, collecting every error.

    The file must be plain data and compose; then each key of the scenario is validated on its own
    (so one bad key does not hide the next), every lever parameter and every guardrail is checked,
    and, when all of that passes, the whole configuration with its cross-checks.
    """
    from preflight.compose import compose_tree, config_errors, error_line

    found = WhatIf(option)
    try:
        _, tree, files = compose_tree([f"scenario={option}", *overrides])
    except config_errors() as err:
        found.errors.append(error_line(err))
        return found
    found.path = files.get("scenario", {}).get("path", "")
    found.data = tree.get("scenario") or {}
    found.errors = _scenario_errors(option, tree)
    return found


def _scenario_errors(option: str, tree: dict) -> list[str]:
    from experiments.compare import guardrails_of
    from preflight.compose import validate
    from scenarios.lever import lever_errors
    from sim.config import ConfigError, Settings
    from sim.config import validate as validate_settings

    scenario = tree.get("scenario") or {}
    errors = []
    if scenario.get("name", option) != option:
        errors.append(f"scenario.name={scenario.get('name')!r}: must be the file's name (allowed: {option!r}, "
                      f"as scenario={option} selects it)")
    for key, value in scenario.items():
        alone = copy.deepcopy(tree)
        alone["scenario"] = {key: value}
        try:
            settings = validate_settings(alone)
        except ConfigError as err:
            errors.append(str(err))
            continue
        if key == "levers":
            errors += [str(err) for err in lever_errors(settings.scenario.levers)]
        elif key == "guardrails":
            for i, rail in enumerate(settings.scenario.guardrails):
                one = dataclasses.replace(Settings(), scenario=dataclasses.replace(settings.scenario, guardrails=[rail]))
                try:
                    guardrails_of(one)
                except ValueError as err:
                    errors.append(f"scenario.guardrails[{i}]: {err}")
    if errors:
        return errors
    try:  # the cross-checks between keys (e.g. a launch day after the end of the run)
        settings = validate(tree)
        guardrails_of(settings)
    except (ConfigError, ValueError) as err:
        errors.append(str(err))
    return errors


def whatifs(overrides: list[str]) -> list[WhatIf]:
    """Every what-if on the search path, each checked."""
    out = []
    for option, labels in whatif_options(overrides).items():
        found = check_whatif(option, overrides)
        found.shadowed = [label for label in labels if label != found.path and found.path]
        out.append(found)
    return out


def whatifs_text(found: list[WhatIf]) -> str:
    """The listing: each what-if's description, levers and launch day, or its errors."""
    width = max([len(w.option) for w in found] + [20]) + 2
    pad = " " * width
    lines = []
    for w in found:
        where = "" if w.path.startswith("pkg://conf/") else f" ({w.path})" if w.path else ""
        if w.errors:
            count = f"{len(w.errors)} error{'s' if len(w.errors) > 1 else ''}"
            lines.append(f"{w.option:<{width}}INVALID, {count}{where}")
            lines += [f"{pad}- {error}" for error in w.errors]
        else:
            levers = ", ".join(w.data.get("levers") or {}) or "none"
            text = f"{w.data.get('description', '')}{where}"
            lines += textwrap.wrap(text, WIDTH, initial_indent=f"{w.option:<{width}}", subsequent_indent=pad)
            lines.append(f"{pad}levers: {levers}; launch day {w.data.get('launch_day', 0):g}")
        lines += [f"{pad}(not used: {label}; scenario={w.option} loads the file above, earlier on the search path)"
                  for label in w.shadowed]
    return "\n".join(lines)
