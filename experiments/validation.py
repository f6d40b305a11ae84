"""``preflight validate``: run the shipped population preset on fresh seeds (never its fitting
seeds) and check every emergent target's band (docs/calibration.md).

``preflight validate [site=NAME] [calibration=NAME] [preset=NAME|PATH] [seeds=S,S,...] [n_jobs=N] [ray=ADDRESS]
[out=DIR] [OVERRIDE ...]``. Exit 0 when every emergent target's mean over the seeds is in band, 1
otherwise (one line per miss), 2 on bad input (nothing written). Writes ``validation.json`` and
``validation.md`` (the table, with the command) to a fresh folder, default
``outputs/validate/<calibration>_<time>/``; ``validation.json`` also keeps the provenance (git commit
and dirty state, package versions, seeds, the resolved configuration).
"""

from __future__ import annotations

import json
import tempfile
import time
from importlib import resources
from pathlib import Path

from experiments.calibrate import override_value, split_options, whole
from experiments.calibration import (
    Calibration,
    CalibrationError,
    load_calibration,
    misses,
    preset_file,
    spread_rows,
    target_values,
)
from experiments.cluster import ClusterError, backend, cores
from experiments.compare import result_provenance
from sim.config import ConfigError

OPTIONS = ("calibration", "preset", "seeds", "n_jobs", "ray", "out")
#: the population name a preset file given by path runs under (conf/population/ holds no such preset)
OUTSIDE_PRESET = "_preset_given_by_path"
RESULT_FILE = "validation.json"


def parse_seeds(text: str | None, default: tuple[int, ...]) -> list[int]:
    """``seeds=2001,2002`` (or ``[2001, 2002]``) as a list of distinct seeds."""
    if text is None:
        return list(default)
    try:
        seeds = [int(s) for s in text.strip("[]").split(",") if s.strip()]
    except ValueError:
        raise CalibrationError(f"seeds={text}: not a list of whole numbers (allowed: seeds=2001,2002,2003)") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) < len(seeds):
        raise CalibrationError(f"seeds={text}: needs distinct seeds >= 0 (allowed: seeds=2001,2002,2003)")
    return seeds


def check_fresh(seeds: list[int], preset: str, path: Path) -> None:
    """Refuse validation seeds the preset was fitted on (its header records them)."""
    from experiments.calibration_report import fitting_seeds

    fitted = fitting_seeds(path.read_text()) or []
    overlap = sorted(set(seeds) & set(fitted))
    if overlap:
        raise CalibrationError(f"seeds={','.join(map(str, seeds))}: {overlap} fitted preset {preset} (its fitting seeds "
                               f"{fitted}); validation needs fresh seeds (allowed: seeds not in {fitted})")


def _overrides(calibration: Calibration, preset: str, path: Path, overrides: list[str], search_dir: str) -> list[str]:
    from experiments.calibration_search import base_overrides

    shipped = resources.files("conf") / "population" / f"{preset}.yaml"
    extra = [f"population={preset}"]
    if not (shipped.is_file() and Path(str(shipped)) == path):
        # a preset file outside conf/: on the search path under a name no shipped preset has, since
        # conf/ comes first on Hydra's search path and a shipped preset of the same name would win
        (Path(search_dir) / "population").mkdir(parents=True, exist_ok=True)
        (Path(search_dir) / "population" / f"{OUTSIDE_PRESET}.yaml").write_text(path.read_text())
        extra = [f"population={OUTSIDE_PRESET}", f"hydra.searchpath=[file://{search_dir}]"]
    return base_overrides(calibration, [*extra, *overrides])


def validate_main(argv: list[str]) -> None:
    """``preflight validate ...``: exit 0 if every emergent target is in band, 1 otherwise."""
    from preflight.compose import _fail, compose
    from preflight.outputs import check_writable, new_folder, prepare

    try:
        options, overrides = split_options(argv, OPTIONS)
        calibration = load_calibration(options.get("calibration") or override_value(overrides, "site") or "small")
        preset, path = preset_file(options.get("preset") or calibration.preset)
        seeds = parse_seeds(options.get("seeds"), calibration.validation_seeds)
        check_fresh(seeds, preset, path)
        n_jobs = whole(options, "n_jobs", calibration.search.n_jobs, 0)
        with tempfile.TemporaryDirectory(prefix="preflight-validate-") as search_dir:
            run_overrides = _overrides(calibration, preset, path, overrides, search_dir)
            _, settings = compose(run_overrides)
        check_writable(options.get("out") or Path("outputs") / "validate", "out", fresh=bool(options.get("out")))
        pool = backend(options.get("ray"))
    except (CalibrationError, ClusterError, ConfigError) as err:  # bad input; anything else is a bug (traceback, exit 1)
        _fail(str(err))
    command = " ".join(["preflight", "validate", *argv])
    started = time.perf_counter()
    rows = validation_rows(calibration, settings, seeds, n_jobs, pool)
    wall_time_s = time.perf_counter() - started
    try:
        folder = (prepare(options["out"], "out") if options.get("out") else
                  new_folder(Path("outputs") / "validate", calibration.name, "out"))
    except ConfigError as err:
        _fail(str(err))
    report = validation_markdown(rows, command, calibration, preset, seeds, settings)
    _write(folder, rows, report, command, calibration, preset, seeds, run_overrides,
           result_provenance(settings, command, wall_time_s) | {"seeds": seeds})
    print(report)
    missed = misses(rows, calibration.unreached)
    for line in missed:
        print(line)
    print(f"validation: {folder.resolve() / RESULT_FILE}")
    raise SystemExit(1 if missed else 0)


def validation_rows(calibration: Calibration, settings, seeds: list[int], n_jobs: int,
                    pool: str = "loky") -> list[dict]:
    """The preset's target rows over ``seeds`` (runs in parallel, with a progress bar)."""
    from experiments.calibration_search import measure
    from experiments.compare import in_parallel
    from preflight.progress import bar
    from sim.config import replace

    tasks = [(replace(settings, seed=s), False) for s in seeds]
    jobs = min(cores(n_jobs, pool), len(tasks))
    with bar(len(tasks), f"validate {calibration.name}", "run", settings.run.progress) as runs:
        results = in_parallel(measure, tasks, jobs, runs, pool)
    values = target_values([r["metrics"] for r in results], calibration.targets, settings.site.registered_users)
    return spread_rows(values, calibration.targets)


def validation_markdown(rows: list[dict], command: str, calibration: Calibration, preset: str, seeds: list[int],
                        settings) -> str:
    """The table a README quotes: every target, its kind, band, mean and spread over the seeds."""
    emergent = [r for r in rows if r["kind"] == "emergent"]
    lines = [f"`{command}`: preset `{preset}`, site {settings.site.name}, {settings.run.days:g} days "
             f"(warm-up {settings.run.warmup_days:g}), seeds {seeds}: **{sum(r['in_band'] for r in emergent)}/"
             f"{len(emergent)} emergent targets in band** ({calibration.path}).", "",
             "| target | kind | observed | band | simulated mean | sd over seeds | in band |",
             "|---|---|---:|---|---:|---:|:---:|"]
    for r in rows:
        per = f" per {r['per']}" if r["per"] else ""
        verdict = ("yes" if r["in_band"] else "**no**") if r["kind"] == "emergent" else ("(input) yes" if r["in_band"]
                                                                                        else "(input) no")
        if not r["in_band"] and r["target"] in calibration.unreached:
            verdict += " (known)"
        lines.append(f"| `{r['target']}`{per} | {r['kind']} | {r['real']:g} | [{r['band'][0]:g}, {r['band'][1]:g}] | "
                     f"{r['mean']:.4g} | {r['sd']:.2g} | {verdict} |")
    if calibration.unreached:
        lines += ["", f"Targets {calibration.path} declares the model cannot reach yet, with the mechanism that is "
                  "missing (they still count: the exit code is 1 while any is out of band):", ""]
        lines += [f"- `{k}`: {v}" for k, v in calibration.unreached.items()]
    return "\n".join(lines)


def _write(folder: Path, rows, report: str, command: str, calibration: Calibration, preset: str, seeds,
           run_overrides, provenance: dict) -> None:
    from preflight.files import atomic_write, json_ready

    atomic_write(folder / "validation.md", (report + "\n").encode())
    result = {"command": command, "calibration": calibration.path, "preset": preset, "seeds": seeds,
              "overrides": run_overrides, "rows": rows, "misses": misses(rows, calibration.unreached),
              "unreached": calibration.unreached, "provenance": provenance}
    atomic_write(folder / RESULT_FILE, json.dumps(json_ready(result), indent=2, allow_nan=False).encode())
