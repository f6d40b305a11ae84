"""Calibration targets and the distance of a run from them (docs/calibration.md).

A calibration file (``conf/calibration/NAME.yaml``, shipped with the package) holds real Stack
Overflow figures, each with an accepted band, a source and a *kind*: ``emergent`` (the model
produces it: evidence of fit, counted) or ``input`` (set directly by configuration: reported, never
counted). A target may be per capita (``per: registered_users`` or ``per: questions_per_day``), so
a 2,000-user site can be fitted to full-scale figures. The file also names the uncertain
parameters a search fits (``conf/calibration/parameters/NAME.yaml``), the fitting and validation
seeds, and the horizon of a measurement.

The loss of a candidate is the sum over emergent targets of the squared distance *outside* the
band, in band widths, of the mean over seeds (:func:`band_distance`): zero when every emergent
target is in band.

Usage: ``python -m experiments.calibration [overrides...]`` runs the full-scale preset once (seed 0)
and prints each target; ``preflight calibrate`` fits and ``preflight validate`` checks (docs/calibration.md).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from sim.config import ConfigError

#: The targets of the full-scale preset, inside the ``conf`` package (found in a clone and an install).
TARGETS = ("calibration", "stackoverflow_2018.yaml")
KINDS = ("emergent", "input")
DENOMINATORS = ("registered_users", "questions_per_day")
PRIORS = ("uniform", "log_uniform")
#: distance (in band widths) charged for a target the run leaves undefined (NaN): as if two widths out
UNDEFINED_DISTANCE = 2.0


class CalibrationError(ConfigError):
    """A bad calibration file or option: one line naming the key, the value and what is allowed."""


@dataclass(frozen=True)
class Target:
    """A real figure the simulated steady state must reproduce.

    Attributes:
        name: A metric of ``sim/metric_registry.py``.
        value: The observed figure (per capita when ``per`` is set).
        band: ``(low, high)``, the accepted range of the mean over seeds.
        kind: ``emergent`` (counted) or ``input`` (set by configuration; reported only).
        per: ``None``, ``registered_users`` or ``questions_per_day``: what the metric is divided by.
    """

    name: str
    value: float
    band: tuple[float, float]
    kind: str
    per: str | None
    source: str


@dataclass(frozen=True)
class Parameter:
    """An uncertain behavioural parameter: a configuration key, its prior's support and shape."""

    key: str
    low: float
    high: float
    prior: str
    drives: tuple[str, ...]


@dataclass(frozen=True)
class Search:
    """How ``preflight calibrate`` searches (Optuna's TPE sampler)."""

    trials: int
    seeds: tuple[int, ...]
    sampler_seed: int
    batch: int
    n_jobs: int
    centre_weight: float = 0.0
    miss_penalty: float = 0.0


@dataclass(frozen=True)
class Calibration:
    """A calibration file, checked."""

    name: str
    path: str
    text: str
    site: str
    days: float
    warmup_days: float
    preset: str
    validation_seeds: tuple[int, ...]
    targets: dict[str, Target]
    excluded: dict[str, str]
    parameters: dict[str, Parameter]
    search: Search
    #: emergent targets the model cannot reach yet -> the mechanism that is missing (left out of the
    #: search's loss; still reported, and still deciding ``validate``'s exit code: their MISS lines
    #: say they are known)
    unreached: dict[str, str] = field(default_factory=dict)

    def emergent(self) -> dict[str, Target]:
        return {k: t for k, t in self.targets.items() if t.kind == "emergent"}


def load_targets(path: str | Path | None = None) -> dict[str, dict]:
    """The calibration targets as plain mappings (name -> value, band, kind, status, source).

    Args:
        path: A targets file; default ``conf/calibration/stackoverflow_2018.yaml``.
    """
    text = Path(path).read_text() if path else resources.files("conf").joinpath(*TARGETS).read_text()
    return yaml.safe_load(text)["targets"]


def calibration_file(name: str) -> tuple[str, str]:
    """``(path, text)`` of ``calibration=NAME`` (a file of ``conf/calibration/``) or a path to a file."""
    shipped = resources.files("conf") / "calibration" / f"{name}.yaml"
    if shipped.is_file():
        return f"conf/calibration/{name}.yaml", shipped.read_text()
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return name, Path(name).read_text()
    options = sorted(p.name[:-5] for p in (resources.files("conf") / "calibration").iterdir() if p.name.endswith(".yaml"))
    raise CalibrationError(f"calibration={name}: no such calibration file (allowed: {', '.join(options)}, "
                           f"or a path to a .yaml file)")


def preset_file(name: str) -> tuple[str, Path]:
    """``(option name, file)`` of ``preset=NAME`` (``conf/population/NAME.yaml``) or a path to a preset."""
    shipped = resources.files("conf") / "population" / f"{name}.yaml"
    if shipped.is_file():
        return name, Path(str(shipped))
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path.stem, path
    options = sorted(p.name[:-5] for p in (resources.files("conf") / "population").iterdir() if p.name.endswith(".yaml"))
    raise CalibrationError(f"preset={name}: no such population preset (allowed: {', '.join(options)}, or a path "
                           f"to a preset file that `preflight calibrate` wrote)")


def load_calibration(name: str) -> Calibration:
    """The calibration file ``name`` with its parameters, checked (one-line errors)."""
    path, text = calibration_file(name)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CalibrationError(f"calibration={name}: not valid YAML ({' '.join(str(err).split())[:120]})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("targets"), dict):
        raise CalibrationError(f"calibration={name}: needs a `targets:` mapping (see conf/calibration/small.yaml)")
    horizon = _mapping(raw, "horizon", name)
    search = _mapping(raw, "search", name)
    return Calibration(
        name=Path(path).stem, path=path, text=text, site=_text(raw, "site", name),
        days=_number(horizon, "days", f"{name}: horizon"), warmup_days=_number(horizon, "warmup_days", f"{name}: horizon"),
        preset=_text(raw, "preset", name), validation_seeds=_seeds(raw.get("validation_seeds"), f"{name}: validation_seeds"),
        targets={k: _target(k, v, name) for k, v in raw["targets"].items()},
        excluded={str(k): str(v) for k, v in (raw.get("excluded") or {}).items()},
        unreached=_unreached(raw, name),
        parameters=load_parameters(_text(raw, "parameters", name)),
        search=Search(trials=int(_number(search, "trials", f"{name}: search", 1)),
                      seeds=_seeds(search.get("seeds"), f"{name}: search.seeds"),
                      sampler_seed=int(_number(search, "sampler_seed", f"{name}: search", 0)),
                      batch=int(_number(search, "batch", f"{name}: search", 1)),
                      n_jobs=int(_number(search, "n_jobs", f"{name}: search", 0)),
                      centre_weight=_optional_number(search, "centre_weight", f"{name}: search"),
                      miss_penalty=_optional_number(search, "miss_penalty", f"{name}: search")))


def _unreached(raw: dict, name: str) -> dict[str, str]:
    """The ``unreached:`` mapping (emergent target -> the missing mechanism), checked."""
    found = raw.get("unreached") or {}
    if not isinstance(found, dict):
        raise CalibrationError(f"calibration={name}: unreached must map a target to the missing mechanism")
    for key, why in found.items():
        target = raw["targets"].get(key)
        if not isinstance(target, dict) or target.get("kind") != "emergent":
            raise CalibrationError(f"calibration={name}: unreached.{key}: not an emergent target of the file "
                                   f"(allowed: {', '.join(k for k, t in raw['targets'].items() if isinstance(t, dict) and t.get('kind') == 'emergent')})")
        if not isinstance(why, str) or not why.strip():
            raise CalibrationError(f"calibration={name}: unreached.{key}: needs the missing mechanism, in words")
    return {str(k): str(v) for k, v in found.items()}


def load_parameters(name: str) -> dict[str, Parameter]:
    """The uncertain parameters of ``conf/calibration/parameters/NAME.yaml`` (or a path), checked."""
    shipped = resources.files("conf") / "calibration" / "parameters" / f"{name}.yaml"
    text = shipped.read_text() if shipped.is_file() else (Path(name).read_text() if Path(name).is_file() else None)
    if text is None:
        raise CalibrationError(f"parameters={name}: no such file (allowed: a name in conf/calibration/parameters/ "
                               f"or a path to a .yaml file)")
    out = {}
    for key, spec in (yaml.safe_load(text) or {}).get("parameters", {}).items():
        where = f"parameters {name}: {key}"
        if not str(key).startswith("population."):
            raise CalibrationError(f"{where}: not a population key (allowed: population.NAME; a fit is a population preset)")
        low, high = (_float(v, f"{where}.range") for v in _pair(spec.get("range"), f"{where}.range"))
        prior = spec.get("prior", "uniform")
        if prior not in PRIORS:
            raise CalibrationError(f"{where}.prior={prior}: unknown (allowed: {', '.join(PRIORS)})")
        if not low < high or (prior == "log_uniform" and low <= 0):
            raise CalibrationError(f"{where}.range=[{low:g}, {high:g}]: needs low < high (and low > 0 for log_uniform)")
        out[key] = Parameter(key, low, high, prior, tuple(spec.get("drives") or ()))
    if not out:
        raise CalibrationError(f"parameters={name}: declares no parameters (allowed: a `parameters:` mapping)")
    return out


def _target(name: str, spec, file: str) -> Target:
    from sim.metric_registry import REGISTRY

    where = f"calibration {file}: {name}"
    if name not in REGISTRY:
        raise CalibrationError(f"{where}: not a metric (allowed: a name of sim/metric_registry.py, docs/metrics.md)")
    if not isinstance(spec, dict):
        raise CalibrationError(f"{where}: needs value, band, kind and source")
    kind, per = spec.get("kind"), spec.get("per")
    if kind not in KINDS:
        raise CalibrationError(f"{where}.kind={kind}: unknown (allowed: {', '.join(KINDS)})")
    if per is not None and per not in DENOMINATORS:
        raise CalibrationError(f"{where}.per={per}: unknown (allowed: {', '.join(DENOMINATORS)})")
    low, high = (_float(v, f"{where}.band") for v in _pair(spec.get("band"), f"{where}.band"))
    value = _float(spec.get("value"), f"{where}.value")
    if not low < high:
        raise CalibrationError(f"{where}.band=[{low:g}, {high:g}]: needs low < high")
    return Target(name, value, (low, high), kind, per, str(spec.get("source", "")))


def _mapping(raw: dict, key: str, file: str) -> dict:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise CalibrationError(f"calibration {file}: needs a `{key}:` mapping (see conf/calibration/small.yaml)")
    return value


def _text(raw: dict, key: str, file: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise CalibrationError(f"calibration {file}: needs `{key}:` (a name; see conf/calibration/small.yaml)")
    return value


def _number(raw: dict, key: str, where: str, minimum: float = 0) -> float:
    value = _float(raw.get(key), f"{where}.{key}")
    if value < minimum:
        raise CalibrationError(f"{where}.{key}={value:g}: must be at least {minimum:g}")
    return value


def _optional_number(raw: dict, key: str, where: str, default: float = 0.0, minimum: float = 0) -> float:
    """``raw[key]`` checked as :func:`_number` does, or ``default`` when the key is absent."""
    return _number(raw, key, where, minimum) if key in raw else default


def _float(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CalibrationError(f"{where}={value!r}: not a number")
    return float(value)


def _pair(value, where: str) -> tuple:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise CalibrationError(f"{where}={value!r}: needs [low, high]")
    return tuple(value)


def _seeds(value, where: str) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not value or not all(isinstance(s, int) and s >= 0 for s in value):
        raise CalibrationError(f"{where}={value!r}: needs a list of seeds (whole numbers >= 0), e.g. [1001, 1002]")
    if len(set(value)) < len(value):
        raise CalibrationError(f"{where}={list(value)}: a seed is repeated (allowed: distinct seeds)")
    return tuple(value)


def simulated_value(target: Target, metrics: dict[str, float], registered_users: int) -> float:
    """The run's value of ``target``: the metric, divided by its denominator when per capita."""
    value = float(metrics.get(target.name, math.nan))
    if target.per == "registered_users":
        return value / registered_users
    if target.per == "questions_per_day":
        questions = float(metrics.get("questions_per_day", math.nan))
        return value / questions if questions > 0 else math.nan
    return value


def band_distance(value: float, band: tuple[float, float]) -> float:
    """How far ``value`` lies outside ``band``, in band widths (0 inside; NaN counts as
    :data:`UNDEFINED_DISTANCE`)."""
    low, high = band
    if not math.isfinite(value):
        return UNDEFINED_DISTANCE
    return max(low - value, 0.0, value - high) / (high - low)


def centre_distance(value: float, target: Target) -> float:
    """How far ``value`` lies from the target's observed value, in band widths (NaN counts as
    :data:`UNDEFINED_DISTANCE`)."""
    low, high = target.band
    if not math.isfinite(value):
        return UNDEFINED_DISTANCE
    return abs(value - target.value) / (high - low)


def loss(means: dict[str, float], targets: dict[str, Target], centre_weight: float = 0.0,
         miss_penalty: float = 0.0) -> float:
    """Sum over the emergent targets of the squared distance outside the band (in band widths),
    plus ``centre_weight`` times the squared distance from the observed value (in band widths):
    a gentle pull inside the band, so that a fit does not rest on a band's edge, where a fresh
    seed falls out of it; plus ``miss_penalty`` for each target out of band, so that a hair's
    miss of one target is not bought with a better centring of the others."""
    total = 0.0
    for name, t in targets.items():
        if t.kind != "emergent":
            continue
        out = band_distance(means[name], t.band)
        total += out ** 2 + centre_weight * centre_distance(means[name], t) ** 2 + (miss_penalty if out > 0 else 0.0)
    return float(total)


def target_values(per_seed: list[dict[str, float]], targets: dict[str, Target], registered_users: int) -> dict:
    """``name -> [value on each seed]`` of every target (per capita where the target says so)."""
    return {name: [simulated_value(t, m, registered_users) for m in per_seed] for name, t in targets.items()}


def spread_rows(values: dict[str, list[float]], targets: dict[str, Target]) -> list[dict]:
    """One row per target: observed value and band, the mean, spread and range over seeds, in band or not."""
    rows = []
    for name, t in targets.items():
        seeds = np.array(values[name], dtype=float)
        defined = seeds[np.isfinite(seeds)]
        mean = float(defined.mean()) if defined.size == seeds.size and seeds.size else math.nan
        sd = float(defined.std(ddof=1)) if defined.size > 1 else math.nan
        rows.append({"target": name, "kind": t.kind, "per": t.per, "real": t.value, "band": list(t.band),
                     "mean": mean, "sd": sd, "min": float(defined.min()) if defined.size else math.nan,
                     "max": float(defined.max()) if defined.size else math.nan, "seeds": len(seeds),
                     "in_band": bool(t.band[0] <= mean <= t.band[1]), "distance": band_distance(mean, t.band)})
    return rows


def misses(rows: list[dict], unreached: dict[str, str] | None = None) -> list[str]:
    """One line per emergent target outside its band (inputs are never counted); a target the
    calibration file declares unreached says so, with the missing mechanism."""
    unreached = unreached or {}
    return [f"MISS {r['target']}: simulated {r['mean']:.4g} (sd {r['sd']:.2g} over {r['seeds']} seeds) outside "
            f"[{r['band'][0]:g}, {r['band'][1]:g}]" + (f" (per {r['per']})" if r["per"] else "")
            + (f"; known, missing: {unreached[r['target']]}" if r["target"] in unreached else "")
            for r in rows if r["kind"] == "emergent" and not r["in_band"]]


def calibration_table(metrics: dict[str, float], targets: dict[str, dict]) -> list[dict]:
    """One row per target of one run: simulated value, band, kind and whether it is inside."""
    rows = []
    for name, t in targets.items():
        value = metrics.get(name, float("nan"))
        lo, hi = t["band"]
        rows.append({"target": name, "kind": t.get("kind", "emergent"), "real": t["value"], "band": [lo, hi],
                     "simulated": value, "in_band": bool(value == value and lo <= value <= hi)})
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'target':<38}{'kind':>9}{'real':>10}{'band':>20}{'simulated':>12}  ok"]
    for r in rows:
        band = f"[{r['band'][0]:g}, {r['band'][1]:g}]"
        sim = r["simulated"]
        lines.append(f"{r['target']:<38}{r['kind']:>9}{r['real']:>10g}{band:>20}{sim:>12.4g}  "
                     f"{'yes' if r['in_band'] else 'NO'}")
    inside = sum(r["in_band"] for r in rows)
    emergent = [r for r in rows if r["kind"] == "emergent"]
    lines.append(f"{inside}/{len(rows)} targets inside their band "
                 f"({sum(r['in_band'] for r in emergent)}/{len(emergent)} emergent)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from preflight.compose import compose
    from preflight.run import simulate

    args = list(sys.argv[1:] if argv is None else argv)
    out = None
    if "--json" in args:
        i = args.index("--json")
        out = Path(args[i + 1])
        del args[i:i + 2]
    overrides = ["site=stackoverflow_2018", "run.days=425", "run.warmup_days=60", *args]
    _, settings = compose(overrides)
    result = simulate(settings, progress=True)
    rows = calibration_table(result.metrics, load_targets())
    print(format_table(rows))
    print(f"wall time {result.wall_time_s:.1f} s, {result.events:,} events")
    if out:
        out.write_text(json.dumps({"overrides": overrides, "rows": rows, "wall_time_s": result.wall_time_s}, indent=2))


if __name__ == "__main__":
    main()
