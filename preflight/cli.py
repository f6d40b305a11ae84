"""The ``preflight`` command line: ``preflight COMMAND [ARGUMENTS]``.

The commands and their help, for people, are in :mod:`preflight.cli_help` (``preflight --help``,
``preflight COMMAND --help``); the lever and what-if listings in :mod:`preflight.cli_lists`. ``run``
and ``compare`` are Hydra apps (overrides, ``-m`` sweeps, ``--cfg job``, ``--hydra-help``), checked
here before Hydra starts. Bad input exits with code 2 and one line naming the key, the value and
what is allowed, before anything is written; any other error is a bug and exits 1 with its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

from preflight.compose import _fail, compose


def _sweep_variants(overrides: list[str], limit: int = 200) -> list[list[str]]:
    """Override lists that together use every value of every sweep once (each sweep value with the
    other sweeps at their first value), for up-front validation of a whole sweep."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    from sim.config import ConfigError

    parser, parsed = OverridesParser.create(), []
    for override in overrides:
        try:
            parsed.extend(parser.parse_overrides([override]))
        except OverrideParseException as err:
            reason = str(err).splitlines()[0].replace("LexerNoViableAltException: ", "cannot read ")
            raise ConfigError(f"{override}: not a valid override ({reason}; allowed: key=value, key=a,b,c to "
                              f"sweep with -m, +key=value to add; quote values with spaces)") from None
    values = [[f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override()
              else [o.input_line] for o in parsed]
    base = [v[0] for v in values]
    variants = [base]
    for i, choices in enumerate(values):
        for choice in choices[1:]:
            if len(variants) >= limit:
                return variants
            variants.append(base[:i] + [choice] + base[i + 1:])
    return variants


_VALUE_FLAGS = ("--config-dir", "-cd", "--cfg", "-c", "--package", "-p", "--config-path", "-cp",
                "--config-name", "-cn", "--experimental-rerun")
_INFO_CHOICES = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")
# flags that would run something other than conf/config.yaml checked here
_REFUSED_FLAGS = {"--config-path": "-cp", "--config-name": "-cn", "--experimental-rerun": None}


def _split_args(args: list[str]) -> tuple[list[str], str | None]:
    """``(overrides, config_dir)`` from the command line; Hydra's other flags are left to Hydra.

    Raises:
        SystemExit(2): a flag that would bypass the checks (another primary config, a pickled rerun).
    """
    overrides, config_dir = [], None
    i = 0
    while i < len(args):
        arg = args[i]
        flag, eq, inline = arg.partition("=")
        if arg.startswith("-") and flag in _VALUE_FLAGS:
            value = inline if eq else (args[i + 1] if i + 1 < len(args) else "")
            i += 1 if eq else 2
            long = next((k for k, v in _REFUSED_FLAGS.items() if flag in (k, v)), None)
            if long:
                _fail(f"{flag}: not supported (the configuration is conf/config.yaml; add your what-ifs with "
                      f"--config-dir DIR or hydra.searchpath=[file://DIR], DIR holding scenario/NAME.yaml)")
            if flag in ("--config-dir", "-cd"):
                config_dir = value
            continue
        if arg in ("--info", "-i") and i + 1 < len(args) and args[i + 1] in _INFO_CHOICES:
            i += 2
            continue
        if not arg.startswith("-"):
            overrides.append(arg)
        i += 1
    return overrides, config_dir


def _compose_overrides(variant: list[str], config_dir: str | None) -> list[str]:
    """A sweep variant as :func:`compose` takes it: Hydra's settings left out except the search path
    (``--config-dir`` as one), so user what-ifs are found and checked."""
    import os

    keep = [o for o in variant if not o.startswith(("hydra.", "hydra/", "+hydra.", "++hydra."))
            or o.lstrip("+").startswith("hydra.searchpath=")]
    if config_dir is not None:
        if any(o.lstrip("+").startswith("hydra.searchpath=") for o in keep):
            _fail("--config-dir and hydra.searchpath: give one of them (allowed: one list of search paths)")
        path = os.path.abspath(config_dir)
        if not os.path.isdir(path):
            _fail(f"--config-dir={config_dir}: no such directory")
        keep.append(f"hydra.searchpath=[file://{path}]")
    return keep


def _check_sweep(args: list[str], command: str = "run") -> list:
    """Validate every value of every sweep before any job runs (and before Hydra creates a folder),
    what-if files included.

    Returns:
        The settings of each variant checked.
    """
    from sim.config import ConfigError

    overrides, config_dir = _split_args(args)
    try:
        variants = _sweep_variants(overrides)
    except ConfigError as err:  # an override Hydra's grammar cannot parse
        _fail(str(err))
    checked = []
    for variant in variants:
        _, settings = compose(_compose_overrides(variant, config_dir))
        if command == "compare":
            _check_comparison(settings)
        checked.append(settings)
    return checked


def _check_comparison(settings) -> None:
    """A comparison's own checks (a change to measure, valid guardrails), before any folder exists."""
    from experiments.compare import check_comparable, guardrails_of

    try:
        check_comparable(settings)
        guardrails_of(settings)
    except ValueError as err:
        _fail(str(err))


_FOLDER_KEYS = ("hydra.run.dir", "hydra.sweep.dir")
_NO_JOB_FLAGS = ("--cfg", "-c", "--info", "-i", "--help", "-h", "--hydra-help", "--shell-completion", "-sc",
                 "--version")


def _hydra_entry(task, args: list[str], command: str) -> None:
    import os

    import hydra

    from preflight.progress import SWEEP_JOBS, sweep_size

    checked = _check_sweep(args, command)
    os.environ["PREFLIGHT_COMMAND"] = " ".join(["preflight", command, *args])
    if any(a in ("-m", "--multirun") for a in args):  # the jobs' "done" lines say "k of N"
        os.environ[SWEEP_JOBS] = str(sweep_size(_split_args(args)[0]) or "")
    if not any(a.split("=", 1)[0] in _NO_JOB_FLAGS for a in args):
        args = [*args, *_output_folders(args, command, checked)]
    sys.argv = ["preflight", *args]
    hydra.main(config_path="pkg://conf", config_name="config", version_base="1.3")(task)()


def _output_folders(args: list[str], command: str, checked: list) -> list[str]:
    """Check (and, for defaults, create) the output folders after validation and before any
    simulation; the overrides that hand them to Hydra.

    A default folder gets a name no other command can get (``preflight.outputs.new_folder``); a given one
    must be writable and hold no other run's results.
    """
    from preflight.outputs import new_folder, prepare
    from sim.config import ConfigError

    overrides, _ = _split_args(args)
    given = {}
    for override in overrides:
        key, _, value = override.lstrip("+").partition("=")
        if key in _FOLDER_KEYS:
            given[key] = value.strip("'\"")
    multirun = any(a in ("-m", "--multirun") for a in args)
    extra = []
    try:
        if multirun:
            outs = [s.compare.out for s in checked if s.compare.out] if command == "compare" else []
            if outs and len(set(outs)) < len(checked):
                raise ConfigError(f"compare.out={outs[0]}: with -m every comparison of the sweep would write to "
                                  f"the same folder (allowed: leave compare.out empty, each job writes to its own)")
            for out in outs:
                prepare(out, "compare.out")
            if "hydra.sweep.dir" in given:
                prepare(given["hydra.sweep.dir"], "hydra.sweep.dir")
            else:
                extra.append(_quoted("hydra.sweep.dir", new_folder(Path("outputs") / "multirun", "", "hydra.sweep.dir")))
            return extra
        settings = checked[0]
        if "hydra.run.dir" in given:
            prepare(given["hydra.run.dir"], "hydra.run.dir")
        if command == "compare" and settings.compare.out:
            out = prepare(settings.compare.out, "compare.out")
            if "hydra.run.dir" not in given:  # Hydra's files (.hydra/, cli.log) go with the report
                extra.append(_quoted("hydra.run.dir", out))
        elif "hydra.run.dir" not in given:
            if command == "compare":  # outputs/compare/<scenario>_<time>, outputs/runs/<time>_<scenario>_seed<k>
                folder = new_folder(Path("outputs") / "compare", settings.scenario.name, "hydra.run.dir")
            else:
                folder = new_folder(Path("outputs") / "runs", f"{settings.scenario.name}_seed{settings.seed}",
                                    "hydra.run.dir", stamp_first=True)
            extra.append(_quoted("hydra.run.dir", folder))
    except ConfigError as err:
        _fail(str(err))
    return extra


def _quoted(key: str, path) -> str:
    """``key='path'`` as a Hydra override (quoted: a path may hold characters the grammar reads)."""
    text = str(path).replace("\\", "\\\\").replace("'", "\\'")
    return f"{key}='{text}'"


def run_job(cfg) -> None:
    """Hydra task of ``preflight run``: :func:`run_task`, with a failed sweep job recorded."""
    _job(run_task, cfg)


def compare_job(cfg) -> None:
    """Hydra task of ``preflight compare``: :func:`compare_task`, with a failed sweep job recorded."""
    _job(compare_task, cfg)


def _job(task, cfg) -> None:
    """Run ``task``. In a ``-m`` sweep a job that fails (a bug, not bad input: that was checked
    before the sweep) prints its traceback, leaves it in ``error.txt`` in its folder and lets the
    sweep go on; the end-of-sweep collection gathers the others and reports the failures."""
    import traceback

    from hydra.core.hydra_config import HydraConfig

    from experiments.collect import JOB_ERROR_FILE
    from experiments.compare import _in_sweep
    from preflight.files import atomic_write
    from preflight.outputs import LOG

    try:
        task(cfg)
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as err:
        if not _in_sweep() or (isinstance(err, SystemExit) and not err.code):
            raise
        text = traceback.format_exc()
        out = Path(HydraConfig.get().runtime.output_dir)
        sys.stderr.write(f"preflight: error: sweep job {out} failed:\n{text}")
        LOG.error(text)
        atomic_write(out / JOB_ERROR_FILE, text.encode())


def _whatif_files() -> dict:
    """The what-if files of the running Hydra job (checked again: the provenance keeps their text)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from preflight.whatif import selected_files
    from sim.config import ConfigError

    runtime = HydraConfig.get().runtime
    try:
        return selected_files(OmegaConf.to_container(runtime.choices), OmegaConf.to_container(runtime.config_sources))
    except ConfigError as err:
        _fail(str(err))


def run_task(cfg) -> None:
    """Hydra task: one simulation into the Hydra output directory."""
    import os

    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from preflight.outputs import LOG, say
    from preflight.run import simulate, write_run
    from sim.config import ConfigError, validate

    try:
        settings = validate(OmegaConf.to_container(cfg, resolve=True))
    except ConfigError as err:
        _fail(str(err))
    whatif = _whatif_files()
    out = Path(HydraConfig.get().runtime.output_dir)
    LOG.info(os.environ.get("PREFLIGHT_COMMAND", " ".join(sys.argv)))
    result = simulate(settings, progress=settings.run.progress)
    write_run(result, out, whatif=whatif)
    say(summary_text(result.metrics, result.events, result.wall_time_s, settings))
    say(f"run directory: {out}")
    if settings.run.event_tables:
        say(f"event tables: {out / 'tables'} (Parquet, and {out / 'tables' / 'events.duckdb'}; "
            f"query them with: preflight sql {out} \"SELECT ...\")")


def compare_task(cfg) -> None:
    """Hydra task: baseline vs scenario on paired seeds, with the report."""
    import os

    from omegaconf import OmegaConf

    from experiments.compare import run_comparison
    from preflight.outputs import LOG
    from sim.config import ConfigError, validate

    try:
        settings = validate(OmegaConf.to_container(cfg, resolve=True))
    except ConfigError as err:
        _fail(str(err))
    command = os.environ.get("PREFLIGHT_COMMAND", " ".join(sys.argv))
    LOG.info(command)
    code = run_comparison(settings, command=command, whatif=_whatif_files())
    if code:
        raise SystemExit(code)


#: The headline metrics of the printed summary, by family (every metric is in summary.json).
HEADLINE = {
    "harm_exposure": ["harm_exposure", "harm_exposure_per_1k_views"],
    "prevalence": ["prevalence"],
    "time_to_removal": ["time_to_removal_min_p50", "time_to_removal_min_p90", "never_removed_share"],
    "proactive_rate": ["proactive_rate"],
    "wrongful_actions": ["wrongful_actions", "wrongful_rate"],
    "victimization": ["victimization", "victim_churn_ratio"],
    "newcomer_experience": ["newcomer_closed_share", "newcomer_downvoted_share", "newcomer_unwelcome_share",
                            "newcomer_return_30d"],
    "fairness": ["wrongful_rate_worst_to_best", "newcomer_closed_share_worst_to_best"],
    "mod_workload": ["flags_per_day", "flag_queue_backlog", "queue_time_p50_min", "minutes_per_moderator",
                     "moderator_resignations"],
    "community_health": ["questions_per_day", "answers_per_question", "answered_share",
                         "time_to_first_answer_p50_min", "accepted_share", "closure_rate", "active_contributors"],
}


def print_summary(metrics: dict[str, float], events: int, wall: float, settings) -> None:
    """The headline metrics under their family names, each with its unit (definitions: docs/metrics.md)."""
    print(summary_text(metrics, events, wall, settings))


def summary_text(metrics: dict[str, float], events: int, wall: float, settings) -> str:
    """The table :func:`print_summary` prints."""
    from sim.metric_registry import format_value

    lines = [f"\n{settings.site.name} · scenario={settings.scenario.name} · seed={settings.seed} · "
             f"{settings.run.days:g} days (warm-up {settings.run.warmup_days:g}) · {events:,} events · {wall:.1f} s"]
    for family, names in HEADLINE.items():
        lines.append(f"  {family}")
        for name in names:
            lines.append(f"    {name:<38}{format_value(name, metrics.get(name, float('nan'))):>24}")
    return "\n".join(lines)


def list_scenarios(args: list[str]) -> None:
    """``preflight scenarios``: every what-if listed and checked; exit 2 if any is invalid.

    Args:
        args: ``--config-dir DIR``, ``hydra.searchpath=[...]`` and any override the checks compose with.
    """
    from preflight.cli_lists import whatifs, whatifs_text

    overrides, config_dir = _split_args(args)
    overrides = _compose_overrides(overrides, config_dir)
    compose(overrides)  # the arguments themselves first: a bad one is one error, not one per what-if
    found = whatifs(overrides)
    print(whatifs_text(found))
    invalid = [w for w in found if w.errors]
    if invalid:
        errors = sum(len(w.errors) for w in invalid)
        _fail(f"{len(invalid)} of {len(found)} what-ifs are invalid ({errors} errors, listed above): "
              f"{', '.join(w.option for w in invalid)}")
    print(f"{len(found)} what-ifs, all valid")


def list_levers(args: list[str]) -> None:
    """``preflight levers [NAME ...] [--markdown]``: the lever registry, for people."""
    from preflight.cli_lists import levers_markdown, levers_text
    from sim.config import ConfigError

    names = [a for a in args if not a.startswith("-")]
    unknown = [a for a in args if a.startswith("-") and a != "--markdown"]
    if unknown:
        _fail(f"levers {unknown[0]}: unknown option (allowed: NAME ..., --markdown, --help)")
    if "--markdown" in args:
        if names:
            _fail("levers --markdown: prints every lever (allowed: no names with --markdown)")
        print(levers_markdown())
        return
    try:
        print(levers_text(names))
    except ConfigError as err:
        _fail(str(err))


_SQL_OPTIONS = ("--query", "--csv", "--parquet")


def _sql_args(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """``(positional, options)`` of ``preflight sql``: RUN_DIR, an optional query, and the options."""
    positional, options = [], {}
    i = 0
    while i < len(args):
        arg = args[i]
        flag, eq, inline = arg.partition("=")
        if flag in _SQL_OPTIONS:
            value = inline if eq else (args[i + 1] if i + 1 < len(args) else None)
            if not value:
                _fail(f"sql {flag}: needs a value (allowed: {flag} NAME)" if flag == "--query"
                      else f"sql {flag}: needs a value (allowed: {flag} OUT, a file to write)")
            if flag in options:
                _fail(f"sql {flag}: given twice (allowed: once)")
            options[flag] = value
            i += 1 if eq else 2
            continue
        if arg.startswith("--"):
            _fail(f"sql {arg}: unknown option (allowed: {', '.join(_SQL_OPTIONS)}, --help)")
        positional.append(arg)
        i += 1
    return positional, options


def sql_command(args: list[str]) -> None:
    """``preflight sql RUN_DIR [QUERY] [--query NAME] [--csv OUT | --parquet OUT]``."""
    from preflight.sql import QueryError, open_run, print_table, run_query, shell, shipped_query, write_result

    positional, options = _sql_args(args)
    if not positional or len(positional) > 2:
        _fail(f"sql: {'no RUN_DIR given' if not positional else f'{len(positional)} arguments'} "
              f"(allowed: RUN_DIR, then one query in quotes)")
    outputs = [k for k in ("--csv", "--parquet") if k in options]
    try:
        if len(positional) == 2 and "--query" in options:
            raise QueryError("sql: a query and --query NAME (allowed: one of them)")
        if len(outputs) > 1:
            raise QueryError("sql: --csv and --parquet (allowed: one output file)")
        query = shipped_query(options["--query"]) if "--query" in options else (positional[1:] or [None])[0]
        con = open_run(positional[0])
        if query is None:
            if outputs:
                raise QueryError(f"sql {outputs[0]}: needs a query (allowed: a query in quotes, or --query NAME)")
            shell(con)
            return
        table = run_query(con, query)
        if outputs:
            path = write_result(table, options[outputs[0]], outputs[0].lstrip("-"))
            print(f"{table.num_rows:,} rows written to {path}")
        else:
            print_table(table)
    except QueryError as err:
        _fail(str(err))


#: ``preflight dashboard``'s arguments: the page's starting values (and its port).
_DASHBOARD_KEYS = ("site", "scenario", "seed", "launch_day", "port")


def dashboard_command(args: list[str]) -> None:
    """``preflight dashboard [site=NAME] [scenario=NAME] [seed=N] [launch_day=D] [port=P]``: check the
    arguments as ``compare`` would check the same what-if, then serve the page until interrupted."""
    import dataclasses

    from preflight.dashboard_inputs import choice_of
    from preflight.dashboard_model import load_view
    from scenarios.lever import Param
    from sim.config import ConfigError

    given: dict[str, str] = {}
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq or key not in _DASHBOARD_KEYS:
            _fail(f"dashboard {arg}: unknown argument (allowed: {', '.join(k + '=...' for k in _DASHBOARD_KEYS)})")
        given[key] = value
    view = load_view()
    try:
        port = Param(int, view.port, 0, 65535).check("port", int(given["port"])) if "port" in given else view.port
    except ConfigError as err:  # (a ConfigError is a ValueError)
        _fail(str(err))
    except ValueError:
        _fail(f"port={given['port']!r}: expected a whole number (0 to 65535)")
    view = dataclasses.replace(view, port=port, scenario=given.get("scenario", view.scenario))
    overrides = [f"scenario={view.scenario}", *(f"{k}={given[k]}" for k in ("site", "seed") if k in given)]
    if "launch_day" in given:
        overrides.append(f"scenario.launch_day={given['launch_day']}")
    _, settings = compose(overrides)
    _check_comparison(settings)
    from preflight.dashboard import serve

    try:
        serve(view, choice_of(settings))
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> None:
    """``preflight COMMAND [ARGUMENTS]`` (``preflight --help`` lists the commands)."""
    from preflight.cli_help import COMMANDS, help_text

    commands = tuple(COMMANDS)
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        topic = args[1] if args[:1] == ["help"] and len(args) > 1 else None
        if topic is not None and topic not in commands:
            _fail(f"help {topic}: unknown command (allowed: {', '.join(commands)})")
        print(help_text(topic))
        return
    command, rest = args[0], args[1:]
    if command not in commands:
        _fail(f"unknown command {command!r} (allowed: {', '.join(commands)}; preflight --help says what each does)")
    if "-h" in rest or "--help" in rest:  # Hydra's own help stays behind --hydra-help
        print(help_text(command))
        return
    if command == "run":
        _hydra_entry(run_job, rest, "run")
    elif command == "compare":
        _hydra_entry(compare_job, rest, "compare")
    elif command == "scenarios":
        list_scenarios(rest)
    elif command == "levers":
        list_levers(rest)
    elif command == "collect":
        from experiments.collect import collect_main
        collect_main(rest)
    elif command == "sensitivity":
        from experiments.sensitivity import sensitivity_main
        sensitivity_main(rest)
    elif command == "sql":
        sql_command(rest)
    elif command == "dashboard":
        dashboard_command(rest)
    elif command == "reproduce":
        from experiments.reproduce import reproduce_main
        reproduce_main(rest)
    elif command == "calibrate":
        from experiments.calibrate import calibrate_main
        calibrate_main(rest)
    elif command == "validate":
        from experiments.validation import validate_main
        validate_main(rest)


def entry() -> None:
    """Console-script entry: ``main`` with a quiet exit when the output pipe closes early."""
    try:
        main()
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(141) from None


if __name__ == "__main__":
    entry()
