"""``preflight calibrate``: fit the uncertain behavioural parameters to the emergent targets of a
calibration file and write the fit as a population preset with its report (docs/calibration.md).

``preflight calibrate [site=NAME] [calibration=NAME] [parameters=NAME] [trials=N] [n_jobs=N] [ray=ADDRESS]
[name=PRESET] [out=DIR] [OVERRIDE ...]``, or ``preflight calibrate resume=DIR [trials=N] [n_jobs=N] [ray=ADDRESS]``
to go on with an interrupted (or finished, to add trials) calibration in its folder. ``ray=``
spreads the runs over a Ray instance (:mod:`experiments.cluster`). ``parameters=NAME`` fits the
parameter set ``conf/calibration/parameters/NAME.yaml`` instead of the calibration file's; with a
``population=PRESET`` override every candidate starts from that preset, and the preset written
keeps its keys (a staged fit: docs/calibration.md).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from experiments.calibration import (
    CalibrationError,
    load_calibration,
    load_parameters,
    spread_rows,
    target_values,
)
from experiments.cluster import ClusterError, backend, cores
from sim.config import ConfigError

OPTIONS = ("calibration", "parameters", "resume", "trials", "n_jobs", "ray", "name", "out")
REQUEST_FILE = "request.json"
RESULT_FILE = "calibration.json"


def split_options(argv: list[str], allowed: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """``(options, overrides)``: ``key=value`` arguments whose key is one of ``allowed``, and the
    rest (Hydra overrides of the run configuration).

    Raises:
        CalibrationError: an option given twice, or a ``--flag`` (none is accepted).
    """
    options, overrides = {}, []
    for arg in argv:
        key, eq, value = arg.partition("=")
        if arg.startswith("-"):
            raise CalibrationError(f"{arg}: unknown option (allowed: {', '.join(k + '=...' for k in allowed)}, "
                                   f"Hydra overrides KEY=VALUE, --help)")
        if eq and key in allowed:
            if key in options:
                raise CalibrationError(f"{key}: given twice (allowed: once)")
            options[key] = value
        else:
            overrides.append(arg)
    return options, overrides


def whole(options: dict, key: str, default: int, minimum: int) -> int:
    """A whole-number option, checked."""
    text = options.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise CalibrationError(f"{key}={text}: not a whole number") from None
    if value < minimum:
        raise CalibrationError(f"{key}={value}: must be at least {minimum}")
    return value


def override_value(overrides: list[str], key: str) -> str | None:
    """The value of the last ``KEY=VALUE`` (or ``+KEY=VALUE``) among the overrides, if any: ``site``
    names the calibration, ``population`` the preset every candidate starts from."""
    found = [o.split("=", 1)[1] for o in overrides if o.lstrip("+").split("=", 1)[0] == key]
    return found[-1] if found else None


def _request(options: dict, overrides: list[str]) -> dict:
    """What to run: from the arguments, or, with ``resume=DIR``, from the folder's request."""
    if "resume" in options:
        folder = Path(options["resume"])
        stray = set(options) - {"resume", "trials", "n_jobs", "ray"}
        if stray or overrides:
            raise CalibrationError(f"resume={folder}: the calibration's own settings are kept (allowed with resume: "
                                   f"trials=N, n_jobs=N, ray=ADDRESS; not {', '.join(sorted(stray) or overrides)})")
        try:
            request = json.loads((folder / REQUEST_FILE).read_text())
        except (OSError, ValueError):
            raise CalibrationError(f"resume={folder}: not a calibration folder (no readable {REQUEST_FILE})") from None
        return {**request, "folder": str(folder), "resumed": True}
    name = options.get("calibration") or override_value(overrides, "site") or "small"
    return {"calibration": name, "parameters": options.get("parameters"), "overrides": overrides,
            "preset": options.get("name"), "out": options.get("out", ""), "folder": None, "resumed": False}


def _prepare(options: dict, overrides: list[str]):
    """Check everything before anything is written; ``(request, calibration, settings)``."""
    from experiments.calibration_search import base_overrides, check_parameters
    from preflight.compose import compose
    from preflight.outputs import check_writable

    request = _request(options, overrides)
    calibration = load_calibration(request["calibration"])
    if request["resumed"] and request["calibration_text"] != calibration.text:
        raise CalibrationError(f"resume={request['folder']}: {calibration.path} changed since the study began "
                               f"(allowed: resume with the same targets; start a new calibration)")
    if request.get("parameters"):
        calibration = dataclasses.replace(calibration, parameters=load_parameters(request["parameters"]))
    request["trials"] = whole(options, "trials", request.get("trials") or calibration.search.trials, 1)
    request["n_jobs"] = whole(options, "n_jobs", calibration.search.n_jobs, 0)
    request["ray"] = options.get("ray") or None
    request["preset"] = request.get("preset") or f"calibrated_{calibration.name}"
    if not request["preset"].replace("_", "").isalnum():
        raise CalibrationError(f"name={request['preset']}: not a preset name (allowed: letters, digits and _)")
    run_overrides = base_overrides(calibration, request["overrides"])
    _, settings = compose(run_overrides)
    check_parameters(settings, calibration.parameters)
    if not request["resumed"]:
        check_writable(request["out"] or Path("outputs") / "calibrate", "out", fresh=bool(request["out"]))
    request.update(run_overrides=run_overrides, calibration_text=calibration.text)
    return request, calibration, settings


def calibrate_main(argv: list[str]) -> None:
    """``preflight calibrate ...``: search, re-run the best candidate, write preset and report."""
    from experiments.calibration_search import abandon_unfinished, open_study, search, starting_point
    from preflight.compose import _fail
    from preflight.files import atomic_write
    from preflight.outputs import new_folder, prepare

    try:
        options, overrides = split_options(argv, OPTIONS)
        request, calibration, settings = _prepare(options, overrides)
        request["backend"] = backend(request["ray"])
        if request["folder"] is None:
            folder = (prepare(request["out"], "out") if request["out"] else
                      new_folder(Path("outputs") / "calibrate", calibration.name, "out"))
        else:
            folder = Path(request["folder"])
    except (CalibrationError, ClusterError, ConfigError) as err:  # bad input; anything else is a bug (traceback, exit 1)
        _fail(str(err))
    command = " ".join(["preflight", "calibrate", *argv])
    if not request["resumed"]:
        request.update(command=command, created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        keep = {k: v for k, v in request.items() if k not in ("folder", "resumed", "n_jobs", "ray", "backend")}
        atomic_write(folder / REQUEST_FILE, json.dumps(keep, indent=2).encode())
    study = open_study(folder, calibration.name)
    left = abandon_unfinished(study)
    if left:
        sys.stderr.write(f"preflight calibrate: {left} trials an interruption left unfinished are asked again\n")
    print(f"preflight calibrate: {calibration.path} on site {settings.site.name}: {request['trials']} trials x "
          f"{len(calibration.search.seeds)} seeds of {settings.run.days:g} days; study in {folder / 'study.journal'}")
    staged = override_value(request["overrides"], "population") is not None
    search(study, calibration, settings, request["trials"], request["n_jobs"], settings.run.progress,
           request["backend"], starting_point(settings, calibration.parameters) if staged else None)
    result, portraits = summarize_study(study, calibration, settings, request, folder)
    _write_and_say(result, portraits, folder)


def summarize_study(study, calibration, settings, request: dict, folder: Path) -> tuple[dict, list[dict]]:
    """The result of a finished study: the best candidate re-run on the fitting seeds (checked to
    reproduce its trial exactly), its target rows, the best-fit ranges."""
    from experiments.calibration_search import (
        BEST_SHARE,
        best_ranges,
        best_trial,
        candidate,
        finished,
        measure,
    )
    from experiments.compare import in_parallel
    from sim.config import replace

    best = best_trial(study)
    seeds = list(calibration.search.seeds)
    pool = request.get("backend", "loky")
    runs = in_parallel(measure, [(replace(candidate(settings, best.params), seed=s), True) for s in seeds],
                       min(cores(request["n_jobs"], pool), len(seeds)), backend=pool)
    values = target_values([r["metrics"] for r in runs], calibration.targets, settings.site.registered_users)
    if _rounded(values) != _rounded(best.user_attrs["values"]):
        raise RuntimeError(f"the best candidate (trial {best.number}) did not reproduce its trial's metrics")
    preset = request["preset"]
    result = {
        "preset": preset, "command": request["command"], "created": request["created"],
        "calibration": {"name": calibration.name, "path": calibration.path}, "site": settings.site.name,
        "days": settings.run.days, "warmup_days": settings.run.warmup_days, "overrides": request["run_overrides"],
        "parameter_set": request.get("parameters") or None, "base": override_value(request["overrides"], "population"),
        "seeds": seeds, "sampler_seed": calibration.search.sampler_seed, "trials": len(finished(study)),
        "emergent": list(calibration.emergent()), "inputs": [k for k in calibration.targets if k not in calibration.emergent()],
        "excluded": calibration.excluded, "unreached": calibration.unreached,
        "parameters": {k: {"low": p.low, "high": p.high, "prior": p.prior, "drives": list(p.drives)}
                       for k, p in calibration.parameters.items()},
        "best": {"number": best.number, "loss": float(best.value), "params": dict(best.params)},
        "best_share": BEST_SHARE, "ranges": best_ranges(study, calibration.parameters),
        "rows": spread_rows(values, calibration.targets),
        "install": f"cp {folder / (preset + '.yaml')} conf/population/",
        "confirm": f"preflight validate site=stackoverflow_2018 preset={folder / (preset + '.yaml')}",
        "history": [{"number": t.number, "loss": t.value, "params": t.params} for t in finished(study)],
    }
    portraits = [{"seed": s, **r["portrait"]} for s, r in zip(seeds, runs)]
    return result, portraits


def _rounded(values: dict) -> dict:
    return {k: [None if v is None or v != v else round(float(v), 9) for v in seq] for k, seq in values.items()}


def _write_and_say(result: dict, portraits: list[dict], folder: Path) -> None:
    from experiments.calibration_report import write_calibration

    written = write_calibration(result, portraits, folder)
    emergent = [r for r in result["rows"] if r["kind"] == "emergent"]
    print(f"best candidate: trial {result['best']['number']}, loss {result['best']['loss']:.4g}; "
          f"{sum(r['in_band'] for r in emergent)}/{len(emergent)} emergent targets in band (mean over seeds "
          f"{result['seeds']})")
    for key, value in result["best"]["params"].items():
        r = result["ranges"][key]
        print(f"  {key:<44}{value:>12.5g}   best-{result['best_share']:.0%} range [{r['low']:.4g}, {r['high']:.4g}]"
              + ("" if r["identified"] else "  (not identified)"))
    print(f"preset: {written['preset'].resolve()}\nreport: {written['html'].resolve()}\n"
          f"install it: {result['install']}\nconfirm at full scale: {result['confirm']}")
