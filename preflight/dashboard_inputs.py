"""The dashboard's typed inputs: what the page offers, what its values mean, and how they become
a composed configuration and the ``preflight compare`` command line that runs the same what-if.

Pure logic (no Solara): every lever parameter of the chosen scenario is an input with its type and
range read from the lever registry (:mod:`scenarios.lever`), beside the site preset, the seed and
the launch day. The page hands back what was typed (text for numbers); :func:`parse` turns it into
a :class:`Choice` or raises :class:`~sim.config.ConfigError` with the one line the page shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from scenarios.lever import RAMP_PARAMS, Param, param_range, param_type
from sim.config import MAX_DAYS, MAX_SEED, ConfigError

#: Separates a lever's name from its parameter's in the page's input names (``weeks`` of
#: ``moderator_strike`` is the input ``moderator_strike__weeks``): both are identifiers.
SEP = "__"
#: Inputs that are not lever parameters.
SITE, SEED, LAUNCH_DAY = "site", "seed", "launch_day"
#: The seed's and the launch day's types and ranges (those of ``seed`` and ``scenario.launch_day``).
SEED_PARAM, LAUNCH = Param(int, 0, 0, MAX_SEED), Param(float, 0.0, 0, MAX_DAYS)


@dataclass(frozen=True)
class Choice:
    """One set of dashboard settings: a site preset and a what-if on one seed.

    Attributes:
        site: The site preset (``site=NAME``).
        scenario: The what-if (``scenario=NAME``); its levers are the page's inputs.
        seed: The run seed both arms share.
        launch_day: When the levers switch on.
        levers: Lever name -> parameter -> value (every parameter, defaults included).
    """

    site: str
    scenario: str
    seed: int
    launch_day: float
    levers: dict[str, dict[str, Any]] = field(default_factory=dict)


def site_presets() -> list[str]:
    """The site presets shipped in ``conf/site/``."""
    folder = resources.files("conf") / "site"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def lever_params(name: str) -> dict[str, Param]:
    """Every parameter of a registered lever, its own then the ramp's (a switch has no ramp)."""
    import scenarios.levers  # noqa: F401  (registers the built-in levers)
    from scenarios.lever import LEVERS

    cls = LEVERS[name]
    return {**cls.params, **(RAMP_PARAMS if cls.ramps else {})}


def lever_values(scenario_tree: dict) -> dict[str, dict[str, Any]]:
    """Every parameter value of a composed scenario's levers (defaults filled in, as the levers
    are built)."""
    from scenarios.lever import lever_errors

    levers = scenario_tree.get("levers") or {}
    errors = lever_errors(levers)
    if errors:
        raise errors[0]
    return {name: {key: p.check(f"scenario.levers.{name}.{key}", (given or {}).get(key, p.default))
                   for key, p in lever_params(name).items()} for name, given in levers.items()}


def choice_of(settings) -> Choice:
    """The :class:`Choice` of composed settings."""
    from sim.config import to_tree

    scenario = to_tree(settings)["scenario"]
    return Choice(settings.site.name, settings.scenario.name, int(settings.seed), float(settings.scenario.launch_day),
                  lever_values(scenario))


# -- the page's inputs (Mesa's SolaraViz ``model_params``) ---------------------------------------
def _shown(value: Any) -> str:
    """A number as the text box shows it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def input_of(label: str, param: Param, value: Any) -> dict:
    """One typed input: a checkbox for a switch, a list for a word, a text box for a number (its
    type and range in the label)."""
    if param.type is bool:
        return {"type": "Checkbox", "value": bool(value), "label": label}
    if param.type is str:
        return {"type": "Select", "value": value, "values": list(param.choices), "label": label}
    return {"type": "InputText", "value": _shown(value), "label": f"{label} ({param_type(param)}, {param_range(param)})"}


def model_params(choice: Choice) -> dict[str, dict]:
    """The page's inputs for ``choice``: site preset, seed, launch day, then every lever parameter."""
    out = {
        SITE: {"type": "Select", "value": choice.site, "values": site_presets(), "label": "site preset"},
        SEED: {"type": "InputText", "value": str(choice.seed), "label": f"seed ({param_type(SEED_PARAM)}, {param_range(SEED_PARAM)})"},
        LAUNCH_DAY: input_of("launch day", LAUNCH, choice.launch_day),
    }
    for lever, values in choice.levers.items():
        for key, param in lever_params(lever).items():
            out[f"{lever}{SEP}{key}"] = input_of(f"{lever}: {key}", param, values[key])
    return out


def _number(key: str, text: Any, param: Param) -> int | float:
    """A typed number from what the page holds (text, or a number), checked against ``param``."""
    if isinstance(text, str):
        raw = text.strip()
        try:
            value: int | float = int(raw) if param.type is int else float(raw)
        except ValueError:
            kind = "a whole number" if param.type is int else "a number"
            raise ConfigError(f"{key}={text!r}: expected {kind} ({param_range(param)})") from None
    else:
        value = text
    return param.check(key, value)


def parse(raw: dict[str, Any], scenario: str) -> Choice:
    """The typed :class:`Choice` of the page's values (``model_params`` names -> values).

    Raises:
        ConfigError: the first bad value, one line naming the input, the value and what is allowed.
    """
    site = raw.get(SITE)
    if site not in site_presets():
        raise ConfigError(f"site={site!r}: no such preset (allowed: {', '.join(site_presets())})")
    seed = _number(SEED, raw.get(SEED), SEED_PARAM)
    launch = _number(LAUNCH_DAY, raw.get(LAUNCH_DAY), LAUNCH)
    levers: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        if SEP not in name:
            continue
        lever, key = name.split(SEP, 1)
        param = lever_params(lever)[key]
        label = f"scenario.levers.{lever}.{key}"
        value = _number(label, value, param) if param.type in (int, float) else param.check(label, value)
        levers.setdefault(lever, {})[key] = value
    return Choice(site, scenario, int(seed), float(launch), levers)


# -- the formal experiment -----------------------------------------------------------------------
def _hydra_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def overrides(choice: Choice, shipped: dict) -> list[str]:
    """The overrides that compose ``choice``: the preset, the what-if, the seed, then only what differs
    from the shipped what-if (``shipped``: its composed ``scenario`` tree).

    A lever parameter the what-if file sets is overridden (``scenario.levers.L.k=v``); one it leaves
    to its default is added (``+scenario.levers.L.k=v``).
    """
    out = [f"site={choice.site}", f"scenario={choice.scenario}", f"seed={choice.seed}"]
    if float(shipped.get("launch_day", 0.0)) != choice.launch_day:
        out.append(f"scenario.launch_day={_hydra_value(choice.launch_day)}")
    given = shipped.get("levers") or {}
    defaults = lever_values(shipped)
    for lever, values in choice.levers.items():
        for key, value in values.items():
            if value == defaults[lever][key]:
                continue
            plus = "" if key in (given.get(lever) or {}) else "+"
            out.append(f"{plus}scenario.levers.{lever}.{key}={_hydra_value(value)}")
    return out


def compare_command(choice: Choice, shipped: dict) -> str:
    """``preflight compare ...`` for ``choice`` (paired seeds from the dashboard's seed on)."""
    return " ".join(["preflight compare", *overrides(choice, shipped)])


def whatif_name(choice: Choice) -> str:
    """The name (and file name) of the what-if file :func:`scenario_yaml` writes."""
    return f"{choice.scenario}_dashboard"


def scenario_yaml(choice: Choice, shipped: dict) -> str:
    """A what-if file of ``choice``: the shipped what-if with the dashboard's launch day and lever
    values, named :func:`whatif_name` (save it as ``DIR/scenario/NAME.yaml``)."""
    tree = {k: v for k, v in shipped.items() if v not in ({}, [], "")}
    tree.update(name=whatif_name(choice), launch_day=choice.launch_day,
                levers={lever: dict(values) for lever, values in choice.levers.items()})
    tree["description"] = f"{shipped.get('description', '')} (settings from preflight dashboard)".strip()
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)


def whatif_command(choice: Choice, folder: str = "DIR") -> str:
    """The command that runs the file of :func:`scenario_yaml` saved under ``folder/scenario/``."""
    return f"preflight compare --config-dir {folder} scenario={whatif_name(choice)} site={choice.site} seed={choice.seed}"
