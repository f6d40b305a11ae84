"""The search of ``preflight calibrate``: Optuna's TPE sampler over the declared uncertain
parameters, each candidate the mean over the fitting seeds (docs/calibration.md).

The study lives in a journal file in the output folder (``study.journal``), so an interrupted
calibration resumes where it stopped. Candidates are asked in batches of ``search.batch`` and
their runs spread over ``n_jobs`` processes (joblib); the sampler of each batch is seeded from the
sampler seed and the number of finished trials, so the search does not depend on ``n_jobs`` and a
resumed study asks what an uninterrupted one would have asked (a batch cut short is asked again).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from experiments.calibration import Calibration, CalibrationError, Parameter, loss, target_values
from experiments.cluster import cores
from experiments.compare import in_parallel
from preflight.files import json_ready
from sim.config import ConfigError, Settings, replace, to_tree

STUDY_FILE = "study.journal"
#: share of the finished trials, best first, whose parameter ranges the report calls the best fit
BEST_SHARE = 0.1
BEST_MIN_TRIALS = 5  # ... and at least this many (a range over one or two trials says nothing)
#: one-sided significance level of the identifiability test (:func:`loss_dependence`), shared over the
#: parameters (Bonferroni: each is tested at ``IDENTIFIED_ALPHA / number of parameters``)
IDENTIFIED_ALPHA = 0.05
STARTUP_TRIALS = 10  # TPE's random start (Optuna's default), fewer when the budget is small


def base_overrides(calibration: Calibration, overrides: list[str]) -> list[str]:
    """The calibration's site and horizon, unless the overrides set them, then the overrides."""
    given = {o.lstrip("+").split("=", 1)[0] for o in overrides}
    out = [] if "site" in given else [f"site={calibration.site}"]
    out += [] if "run.days" in given else [f"run.days={calibration.days:g}"]
    out += [] if "run.warmup_days" in given else [f"run.warmup_days={calibration.warmup_days:g}"]
    return out + list(overrides)


def check_parameters(settings: Settings, parameters: dict[str, Parameter]) -> None:
    """Every parameter is a numeric key of the settings and both ends of its range are allowed.

    Raises:
        CalibrationError: one line naming the parameter, the value and what is allowed.
    """
    for key, p in parameters.items():
        node = to_tree(settings)
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise CalibrationError(f"parameter {key}: not a configuration key (e.g. population.ask_rate)")
            node = node[part]
        if isinstance(node, bool) or not isinstance(node, float):
            raise CalibrationError(f"parameter {key}: is {node!r}, not a real number (allowed: a float key)")
        for value in (p.low, p.high):
            try:
                replace(settings, **{key: value})
            except ConfigError as err:
                raise CalibrationError(f"parameter {key} range: {err}") from None


def candidate(settings: Settings, values: dict[str, float]) -> Settings:
    """``settings`` with the parameters set to ``values``."""
    return replace(settings, **{k: float(v) for k, v in values.items()})


def measure(settings: Settings, portrait: bool = False) -> dict:
    """One run's metrics over the measurement window (and, with ``portrait``, the distributions the
    report draws: :func:`experiments.calibration_report.portrait_of`)."""
    from preflight.run import build_site
    from sim.metrics import RunRecord, summarize, window_of

    site = build_site(settings)
    site.run()
    record, window = RunRecord.of(site), window_of(site)
    metrics, _ = summarize(record, window)
    out = {"metrics": {k: float(v) for k, v in metrics.items()}}
    if portrait:
        from experiments.calibration_report import portrait_of

        out["portrait"] = portrait_of(record, window, settings)
    return out


def open_study(folder: Path, name: str):
    """The study in ``folder/study.journal`` (created, or loaded to resume)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(Path(folder) / STUDY_FILE)))
    return optuna.create_study(study_name=name, storage=storage, direction="minimize", load_if_exists=True)


def finished(study) -> list:
    """The study's finished trials, in the order they were asked."""
    from optuna.trial import TrialState

    return sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)


def abandon_unfinished(study) -> int:
    """Mark trials an interruption left running as failed (the sampler ignores them); how many."""
    from optuna.trial import TrialState

    left = study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
    for trial in left:
        study.tell(trial.number, state=TrialState.FAIL)
    return len(left)


def _sampler(calibration: Calibration, done: int, trials: int):
    from optuna.samplers import TPESampler

    seed = int(np.random.SeedSequence([calibration.search.sampler_seed, done]).generate_state(1)[0])
    startup = min(STARTUP_TRIALS, max(2, trials // 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # multivariate TPE is marked experimental
        return TPESampler(seed=seed, multivariate=True, n_startup_trials=startup)


def _distributions(parameters: dict[str, Parameter]) -> dict:
    from optuna.distributions import FloatDistribution

    return {k: FloatDistribution(p.low, p.high, log=p.prior == "log_uniform") for k, p in parameters.items()}


def starting_point(settings: Settings, parameters: dict[str, Parameter]) -> dict[str, float] | None:
    """The parameters' values in ``settings`` (a staged fit's starting preset), if every one lies
    inside its prior's range; None otherwise (the search then starts from the prior alone)."""
    tree = to_tree(settings)
    values = {}
    for key, p in parameters.items():
        node = tree
        for part in key.split("."):
            node = node[part]
        if not p.low <= node <= p.high:
            return None
        values[key] = float(node)
    return values


def search(study, calibration: Calibration, settings: Settings, trials: int, n_jobs: int,
           progress: bool = True, backend: str = "loky", start: dict[str, float] | None = None) -> None:
    """Ask and evaluate candidates until ``trials`` trials have finished.

    Each candidate runs on every fitting seed; its value is :func:`experiments.calibration.loss` of
    the means over seeds, and the per-seed target values are kept in the trial (``values``). With
    ``start``, a new study's first trial is that point (a staged fit's starting preset: the fit then
    cannot end worse than where it began, on the fitting seeds).
    """
    from preflight.progress import bar

    seeds = calibration.search.seeds
    distributions = _distributions(calibration.parameters)
    jobs = cores(n_jobs, backend)
    if start is not None and not study.trials:
        study.enqueue_trial(start)
    with bar(trials * len(seeds), f"calibrate {calibration.name}", "run", progress) as runs:
        runs.update(len(finished(study)) * len(seeds))
        while (done := len(finished(study))) < trials:
            study.sampler = _sampler(calibration, done, trials)
            asked = [study.ask(distributions) for _ in range(min(calibration.search.batch, trials - done))]
            tasks = [(replace(candidate(settings, t.params), seed=s), False) for t in asked for s in seeds]
            results = in_parallel(measure, tasks, min(jobs, len(tasks)), runs, backend)
            for i, trial in enumerate(asked):
                per_seed = [r["metrics"] for r in results[i * len(seeds):(i + 1) * len(seeds)]]
                values = target_values(per_seed, calibration.targets, settings.site.registered_users)
                trial.set_user_attr("values", json_ready(values))
                study.tell(trial, loss(_means(values), fitted_targets(calibration), calibration.search.centre_weight,
                                       calibration.search.miss_penalty))


def fitted_targets(calibration: Calibration) -> dict:
    """The targets the loss counts: every target but those the file declares unreached (a target
    the model cannot reach would pull the fit of the others toward it, to no end); they are still
    reported and still decide ``validate``'s exit code."""
    return {k: t for k, t in calibration.targets.items() if k not in calibration.unreached}


def _means(values: dict[str, list[float]]) -> dict[str, float]:
    """The mean over seeds of each target (NaN when a seed leaves it undefined)."""
    return {k: float(np.mean(v)) if all(math.isfinite(x) for x in v) else math.nan for k, v in values.items()}


def best_trial(study):
    """The finished trial with the lowest loss (the earliest of equals)."""
    trials = finished(study)
    if not trials:
        raise CalibrationError("the study has no finished trial yet")
    return min(trials, key=lambda t: (t.value, t.number))


def _scaled(values, p: Parameter) -> np.ndarray:
    """Values on the prior's scale (log for a log-uniform prior), as shares of the prior's range."""
    scale = np.log if p.prior == "log_uniform" else (lambda x: np.asarray(x, dtype=float))
    return (scale(np.asarray(values, dtype=float)) - scale(p.low)) / (scale(p.high) - scale(p.low))


def loss_dependence(trials: list, parameters: dict[str, Parameter]) -> dict[str, dict]:
    """Per parameter: how much the loss depends on it, over all finished ``trials``.

    The partial rank correlation coefficient (PRCC, the standard global sensitivity measure for
    simulation models) between the loss and the parameter's distance from the best trial (on the
    prior's scale), controlling for the other parameters' distances: ranks of the loss and of the
    distances, each regressed on the ranks of the other distances, then the correlation of the
    residuals. Controlling for the others matters: TPE narrows every parameter at once, so a
    parameter the loss ignores also lies close to the best in the good (late) trials. ``p`` is the
    one-sided p-value of a positive PRCC (Student's t, n - 2 - k degrees of freedom for k
    controls); NaN when there are too few trials or the loss does not vary.
    """
    from scipy import stats

    keys = list(parameters)
    n, k = len(trials), len(keys) - 1
    nan = {key: {"prcc": math.nan, "p": math.nan} for key in keys}
    if n - 2 - k < 1:
        return nan
    best = min(trials, key=lambda t: (t.value, t.number))
    y = stats.rankdata([t.value for t in trials])
    if np.ptp(y) == 0:
        return nan
    d = np.column_stack([stats.rankdata(np.abs(_scaled([t.params[key] for t in trials], parameters[key])
                                                - _scaled(best.params[key], parameters[key]))) for key in keys])
    out = {}
    for j, key in enumerate(keys):
        controls = np.column_stack([np.ones(n), np.delete(d, j, axis=1)])
        res_y = y - controls @ np.linalg.lstsq(controls, y, rcond=None)[0]
        res_x = d[:, j] - controls @ np.linalg.lstsq(controls, d[:, j], rcond=None)[0]
        norm = float(np.linalg.norm(res_y) * np.linalg.norm(res_x))
        if norm < 1e-12:
            out[key] = {"prcc": math.nan, "p": math.nan}
            continue
        r = float(np.clip(res_y @ res_x / norm, -1.0, 1.0))
        df = n - 2 - k
        t = r * math.sqrt(df / max(1.0 - r * r, 1e-300))
        out[key] = {"prcc": r, "p": float(stats.t.sf(t, df))}
    return out


def best_ranges(study, parameters: dict[str, Parameter], share: float = BEST_SHARE) -> dict[str, dict]:
    """Per parameter: the range over the best ``share`` of finished trials (at least
    :data:`BEST_MIN_TRIALS`), its span as a share of the prior's, and whether the parameter is
    identified: the loss depends on it (:func:`loss_dependence` over all finished trials, a positive
    partial rank correlation significant at :data:`IDENTIFIED_ALPHA`, Bonferroni over the
    parameters). A narrow best-fit range alone is no evidence: TPE narrows every parameter together."""
    everything = finished(study)
    trials = sorted(everything, key=lambda t: (t.value, t.number))
    top = trials[:max(min(BEST_MIN_TRIALS, len(trials)), math.ceil(share * len(trials)))]
    dependence = loss_dependence(everything, parameters)
    level = IDENTIFIED_ALPHA / max(len(parameters), 1)
    out = {}
    for key, p in parameters.items():
        values = np.array([t.params[key] for t in top])
        span = float(np.ptp(_scaled(values, p)))
        dep = dependence[key]
        out[key] = {"low": float(values.min()), "high": float(values.max()), "trials": len(top),
                    "span_of_prior": span, "prcc": dep["prcc"], "p": dep["p"],
                    "identified": bool(dep["prcc"] > 0 and dep["p"] < level)}
    return out
