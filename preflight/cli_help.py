"""The help of the ``preflight`` command line, written for people: what each command does, the
common overrides, examples and exit codes, in plain text.

The defaults quoted (site presets, run length, replicates, guardrail sets) are read from ``conf/``
when the help is printed, so the help cannot drift from the configuration. Hydra's own help and
its configuration dump stay available behind ``--hydra-help`` and ``--cfg job``.
"""

from __future__ import annotations

from importlib import resources

#: command -> one line, in the order ``preflight --help`` lists them
COMMANDS = {
    "run": "one simulation; prints the headline metrics, writes summary.json and the daily series",
    "compare": "a what-if against baseline on paired seeds; scorecard, report, verdict as exit code",
    "scenarios": "list every what-if and check it; exit 2 if any is invalid",
    "levers": "every lever a what-if can use, with its parameters, types, ranges and defaults",
    "collect": "every summary.json below a folder into results.parquet and results.duckdb",
    "sensitivity": "which behavioural assumptions a comparison's result depends on (Morris or Sobol)",
    "reproduce": "re-run a run or comparison from its provenance; IDENTICAL or DIFFERENT",
    "calibrate": "fit the uncertain behaviour to a calibration file's emergent targets (Optuna); a preset",
    "validate": "run a fitted preset on fresh seeds and check every emergent target; exit 1 on a miss",
    "sql": "SQL over a run's event tables (the data dump's schema): print, --csv/--parquet, a shell",
    "dashboard": "watch a what-if live beside its baseline in the browser (Mesa's SolaraViz page)",
}

EXIT_CODES = """exit codes:
  0  done (compare: PASS; reproduce: IDENTICAL)
  1  compare: FAIL; reproduce: DIFFERENT; any command: an unexpected error (a bug), printed with
     its traceback
  2  bad input: one line naming the key, the value and what is allowed; nothing was written
  3  compare: INCONCLUSIVE (the intervals cannot decide a guardrail yet; more seeds would)"""

MAIN = """preflight: try a trust & safety change on a simulated Stack Overflow-like site before launch.

usage: preflight COMMAND [ARGUMENTS]
       preflight COMMAND --help     what COMMAND does, its options, examples and exit codes

commands:
{commands}

examples:
  preflight compare scenario=moderator_strike replicates=8   the six-week strike against baseline
  preflight run seed=3 run.days=30                           one 30-day run of the small site
  preflight run -m seed=0,1,2 hydra/launcher=joblib          a sweep, its jobs in parallel
  preflight scenarios                                        the what-ifs, each one checked
  preflight levers moderator_strike                          one lever and its parameters

configuration: run and compare take Hydra overrides KEY=VALUE over the defaults in conf/, e.g.
site=NAME (presets: {sites}) or scenario=NAME (a what-if). Every key is typed and
range-checked before anything runs; preflight run --cfg job prints the composed configuration.

{exit_codes}

more: README.md; docs/scenarios.md (writing what-ifs), docs/experiments.md (comparisons, sweeps,
sensitivity), docs/metrics.md (every metric), docs/statistics.md, docs/design.md (how it works)."""

RUN = """preflight run: one simulation of the site, measured after its warm-up.

usage: preflight run [OVERRIDE ...]
       preflight run -m OVERRIDE ...    a sweep: one run per combination of comma-separated values

Composes the configuration (by default site={site}, scenario=baseline, {days:g} days of which the
first {warmup:g} are an unmeasured warm-up), checks every key, runs the simulation with a progress
bar, prints the headline metrics by family and writes the run folder (default
outputs/runs/<time>_<scenario>_seed<k>/):
  summary.json        every metric by family, fairness by group, the resolved config, provenance
  timeseries.parquet  one row per simulated day
  config.yaml         the resolved configuration
  tables/             with run.event_tables=true: the data dump's tables (Posts, Votes, PostHistory
                      ...), trust & safety tables and ground truth, as Parquet with a DuckDB
                      database of views; query them with preflight sql (docs/data.md)
  cli.log             what the terminal showed
A sweep (-m) writes one folder per job under outputs/multirun/<time>/ and, at the end, collects
them into results.parquet and results.duckdb there (as preflight collect does).

common overrides:
  site=NAME                    the site preset: {sites}
  scenario=NAME                a what-if (preflight scenarios lists them)
  seed=K                       the run seed; the same seed gives the same result
  run.days=D                   simulated days (default {days:g})
  run.warmup_days=W            days before measurement starts (default {warmup:g})
  run.event_tables=true        also write the event tables
  run.start_date=YYYY-MM-DD    the calendar date of the tables' first minute (default 2018-01-01)
  run.progress=false           no progress bar (there is none anyway when stderr is not a terminal)
  hydra.run.dir=DIR            the run folder (hydra.sweep.dir=DIR for a sweep)
  --config-dir DIR             your own what-ifs, as DIR/scenario/NAME.yaml
  -m ... hydra/launcher=joblib run the sweep's jobs in parallel (sequential otherwise)

Hydra's own flags:
  --cfg job                    print the composed configuration instead of running (--cfg all adds
                               Hydra's settings)
  --info                       Hydra's view of the config search path and defaults
  --hydra-help                 Hydra's help (its flags and the configuration groups)

examples:
  preflight run
  preflight run site=stackoverflow_2018 run.days=120 run.warmup_days=30
  preflight run scenario=staging_ground seed=2 run.event_tables=true
  preflight run -m seed=0,1,2,3 scenario=baseline,more_moderators hydra/launcher=joblib
  preflight run --cfg job population.ask_rate=0.01

exit codes:
  0  the run (or every job of the sweep) finished
  1  an unexpected error (a bug), printed with its traceback; in a sweep, a job that failed (its
     traceback is in error.txt in its folder; the other jobs still run and are collected)
  2  bad input: one line naming the key, the value and what is allowed; nothing was written"""

COMPARE = """preflight compare: a what-if against baseline on the same seeds, with a verdict.

usage: preflight compare scenario=NAME [OVERRIDE ...]
       preflight compare -m scenario=A,B [OVERRIDE ...]    one comparison per what-if

Runs baseline and the what-if on seeds seed .. seed+replicates-1 (default {replicates} pairs), in
parallel, with a progress bar. Paired runs share their random numbers, so the two arms differ only
where the what-if's levers act. Prints the scorecard (the hypothesis, each guardrail's estimate,
interval and verdict, the largest harms and benefits) and writes the report folder (default
outputs/compare/<scenario>_<time>/): report.html, report.md, scorecard.json, comparison.json and
runs/<arm>_seed<k>/summary.json. A what-if without levers is refused (it would PASS unchanged).

common overrides:
  scenario=NAME                 the what-if (required; preflight scenarios lists them)
  replicates=N                  paired seeds (default {replicates}; more seeds, narrower intervals)
  site=NAME                     the site preset: {sites}
  seed=K                        the first seed
  run.days=D run.warmup_days=W  run length and warm-up in days (default {days:g} and {warmup:g})
  guardrails=NAME               the site-wide guardrails ({guardrails}); a what-if adds its own
  compare.until_decided=true    add seed pairs in batches until every guardrail is decided (at most
                                compare.max_replicates pairs)
  compare.ci_method=t|bootstrap the interval method (bootstrap needs replicates >= 30)
  compare.jobs=N                parallel simulations (0: every core)
  compare.out=DIR               the report folder
  run.progress=false            no progress bar (there is none anyway when stderr is not a terminal)
  --config-dir DIR              your own what-ifs, as DIR/scenario/NAME.yaml
Hydra's --cfg job, --info and --hydra-help work as for preflight run.

examples:
  preflight compare scenario=moderator_strike replicates=8
  preflight compare scenario=staging_ground compare.until_decided=true compare.jobs=2
  preflight compare --config-dir my_whatifs scenario=my_policy site=stackoverflow_2018
  preflight compare -m scenario=close_votes_3,close_votes_5 replicates=8

exit codes: the verdict, for review pipelines
  0  PASS: every guardrail held
  1  FAIL: a guardrail was breached; or an unexpected error (a bug), printed with its traceback
  2  bad input: one line naming the key, the value and what is allowed; nothing was written
  3  INCONCLUSIVE: a guardrail is undecided; the scorecard says how many seeds would decide it
  With -m: the worst verdict of the sweep."""

SCENARIOS = """preflight scenarios: list every what-if and check it as preflight compare would.

usage: preflight scenarios [--config-dir DIR] [hydra.searchpath=[file://DIR,...]]

Lists the what-ifs of conf/scenario/ and of any search path you give (DIR/scenario/NAME.yaml), each
with its description, levers and launch day. Every one is checked: the file is plain data, it
composes, every key is typed and in range, its levers and their parameters exist and are allowed,
its guardrails name known metrics. Every error of every what-if is listed, one line each, naming
the key, the value and what is allowed.

examples:
  preflight scenarios
  preflight scenarios --config-dir my_whatifs

exit codes:
  0  every what-if is valid
  2  at least one is invalid (each error is listed); or bad arguments"""

LEVERS = """preflight levers: every lever a what-if can use, read from the lever registry.

usage: preflight levers [NAME ...] [--markdown]

For each lever: its name, what it changes, the real policy it models, and each parameter with its
type, default and allowed range. A what-if sets them under levers: in its YAML, e.g.
  levers:
    moderator_strike: {{weeks: 6, curators: true}}
A parameter left out takes its default. --markdown prints the table of docs/scenarios.md.

examples:
  preflight levers
  preflight levers staging_ground ai_answer_ban

exit codes:
  0  listed
  2  an unknown lever name (the allowed names are listed)"""

COLLECT = """preflight collect: every summary.json below a folder into one table.

usage: preflight collect DIR

Reads every run's summary.json below DIR (a sweep, or any folder of runs and comparisons) and
writes DIR/results.parquet and DIR/results.duckdb (table runs: one row per run; columns run_dir,
scenario, site, seed, every metric, and every configuration key that differs between the runs).
When runs wrote event tables (run.event_tables=true), DIR/events.duckdb gathers them too: every
table as one view over all the runs' Parquet files, with a RunId column (the run_dir of runs).
A -m sweep does this by itself when it ends.

examples:
  preflight collect outputs/multirun/2026-12-01_10-00-00-123456-p4242
  duckdb DIR/results.duckdb "SELECT scenario, avg(harm_exposure) FROM runs GROUP BY scenario"

exit codes:
  0  collected
  1  an unexpected error (a bug), printed with its traceback
  2  no runs below DIR, or not exactly one folder given"""

SENSITIVITY = """preflight sensitivity: which behavioural assumptions a comparison's result depends on.

usage: preflight sensitivity scenario=NAME [OVERRIDE ...] [OPTIONS]

The population's behaviour (how often people ask, answer, flag, churn, how often moderators err)
is calibrated, not known. For each point of a SALib design over those assumptions, runs baseline
and the what-if on the same paired seeds (replicates=N) and records the mean difference of one
metric; then ranks the assumptions by how much they move it (Morris mu_star and sigma, or Sobol S1
and ST), with a progress bar over the runs. Writes sensitivity.json and sensitivity.png to the
output folder (default outputs/sensitivity/<scenario>_<time>/). Runs: 2 x replicates x design
points, with (assumptions + 1) x trajectories design points for Morris.

options:
  --method morris|sobol   the design (default morris: screening; sobol: variance shares)
  --trajectories N        Morris trajectories (default 10)
  --samples N             Sobol base samples, a power of two (default 64)
  --metric NAME           the metric whose paired difference is analysed (default: the what-if's
                          primary metric)
  --param KEY=LOW:HIGH    an assumption and its range (repeatable; default: 7 behavioural rates,
                          each its calibrated value -50% to +50%)
  --jobs N                parallel simulations (default: every core)
  --out DIR               the output folder
Overrides (KEY=VALUE) are those of preflight compare: scenario, site, replicates, run.days, ...

examples:
  preflight sensitivity scenario=moderator_strike replicates=2 run.days=40
  preflight sensitivity scenario=staging_ground --method sobol --samples 32 --jobs 2
  preflight sensitivity scenario=more_moderators --param population.flag_prob_spam=0.01:0.1

exit codes:
  0  done
  1  an unexpected error (a bug), printed with its traceback
  2  bad input: one line naming the key or option, the value and what is allowed"""

REPRODUCE = """preflight reproduce: re-run a run or comparison from its provenance; is it identical?

usage: preflight reproduce DIR [--out NEW]

DIR is a run folder (summary.json) or a comparison folder (scorecard.json or comparison.json).
The recorded configuration and seeds run again into a new folder, and every result is compared
exactly (a run's metrics, fairness, event count and daily series; everything in a comparison but
its provenance). Prints IDENTICAL, or DIFFERENT with the differing keys, and warns when the code
or the what-if file changed since the result was recorded.

options:
  --out NEW    the new folder (default outputs/reproduce/<DIR name>_<time>/)

examples:
  preflight reproduce outputs/runs/2026-12-01_10-00-00-123456-p4242_baseline_seed0
  preflight reproduce outputs/compare/moderator_strike_2026-12-01_10-00-00-123456-p4242 \\
      --out /tmp/again

exit codes:
  0  IDENTICAL
  1  DIFFERENT; or an unexpected error (a bug), printed with its traceback
  2  nothing to reproduce in DIR, or its recorded configuration is not valid today"""

SQL = """preflight sql: SQL over a run's event tables, as over the Stack Exchange data dump.

usage: preflight sql RUN_DIR "SELECT ..."          print the result as a table
       preflight sql RUN_DIR "SELECT ..." --csv OUT   write it to OUT as CSV (--parquet OUT: Parquet)
       preflight sql RUN_DIR --query NAME           run a shipped query (listed below)
       preflight sql RUN_DIR                        an interactive shell (end statements with ';')

RUN_DIR is a run folder written with run.event_tables=true (or its tables/ folder). The tables
follow the data dump (Users, Posts, PostsWithDeleted, Votes, Comments, PostHistory, PostLinks,
SuggestedEdits, Tags, PostTags) and add the trust & safety tables the dump lacks (Flags,
ModeratorActions, Suspensions, Detections, Escalations, Appeals, ReviewTasks, ReviewTaskResults,
PostEdits, GroundTruth) and a lookup table for every code
(PostTypes, VoteTypes, HarmTypes ...); docs/data.md describes every column. Queries run in
DuckDB's SQL over views of the run's Parquet files; nothing is changed. Output files are written
whole or not at all.

examples:
  preflight sql outputs/runs/RUN "SELECT PostTypeId, count(*) FROM Posts GROUP BY 1"
  preflight sql outputs/runs/RUN --query close_reasons_by_month --csv closures.csv

exit codes:
  0  done
  1  an unexpected error (a bug), printed with its traceback
  2  no event tables in RUN_DIR, an unknown query name or option, or SQL DuckDB cannot run"""

CALIBRATE = """preflight calibrate: fit the uncertain behavioural parameters to real figures.

usage: preflight calibrate [site=NAME] [calibration=NAME] [OPTION=VALUE ...] [OVERRIDE ...]
       preflight calibrate resume=DIR [trials=N] [n_jobs=N] [ray=ADDRESS]

Reads a calibration file (conf/calibration/NAME.yaml; default: the site's, site small's is
small.yaml, its targets per capita) and the uncertain parameters it names (key, range, prior).
Optuna's TPE sampler (seeded) proposes candidates; each runs on every fitting seed of the file and
scores the sum over emergent targets of the squared distance outside the band, in band widths,
of the mean over seeds, plus a gentle pull toward the observed value (search.centre_weight; input
targets are never counted). A progress bar counts the runs. The
study is kept in DIR/study.journal, so an interrupted calibration goes on with resume=DIR.
Writes to a fresh folder (default outputs/calibrate/<calibration>_<time>/): the fitted population
preset (calibrated_<calibration>.yaml, its header naming the command, seeds and targets),
calibration_report.html and .md (every target observed vs simulated, best-fit ranges, figures),
calibration.json. How to read it: docs/calibration.md.

options:
  calibration=NAME|PATH   the calibration file (default: the site's)
  parameters=NAME|PATH    fit this parameter set (conf/calibration/parameters/NAME.yaml) instead of
                          the file's; with population=PRESET every candidate starts from that preset
                          and the preset written keeps its keys (a staged fit)
  trials=N                trials to finish (default: the file's search.trials)
  n_jobs=N                parallel simulations (default: the file's search.n_jobs; 0 = every core)
  ray=ADDRESS             run them on Ray: local (a private instance here), auto or ray://HOST:PORT
                          (a running cluster; every node needs pip install ".[ray]")
  name=PRESET             the preset's name (default calibrated_<calibration>)
  out=DIR                 the output folder
  resume=DIR              go on with the study in DIR (its own settings; trials=N adds trials)
Overrides (KEY=VALUE) are those of preflight run: site, run.days, run.warmup_days, ...

examples:
  preflight calibrate site=small trials=120 n_jobs=2
  preflight calibrate resume=outputs/calibrate/small_2026-12-02_09-00-00-000000-p123
  preflight calibrate parameters=close_queue population=calibrated_small_stage1   # a staged fit

exit codes:
  0  done
  1  an unexpected error (a bug), printed with its traceback
  2  bad input: one line naming the key or option, the value and what is allowed; nothing written"""

VALIDATE = """preflight validate: check a fitted preset against every emergent target, on fresh seeds.

usage: preflight validate [site=NAME] [calibration=NAME] [preset=NAME|PATH] [seeds=S,S,...]
                         [OPTION=VALUE ...] [OVERRIDE ...]

Runs the preset (default: the calibration file's, e.g. conf/population/calibrated_small.yaml) on
the validation seeds (default: the file's validation_seeds; never the fitting seeds its header
records) over the file's horizon, and checks the mean over seeds of every emergent target against
its band. Prints the table (Markdown, with the command) and one line per miss; writes
validation.md and validation.json to a fresh folder (default
outputs/validate/<calibration>_<time>/).

options:
  calibration=NAME|PATH   the calibration file (default: the site's)
  preset=NAME|PATH        a preset of conf/population/ or a file preflight calibrate wrote
  seeds=S,S,...           the seeds (refused if the preset was fitted on any of them)
  n_jobs=N                parallel simulations (0 = every core)
  ray=ADDRESS             run them on Ray: local, auto or ray://HOST:PORT (as calibrate)
  out=DIR                 the output folder

examples:
  preflight validate site=small
  preflight validate site=stackoverflow_2018 n_jobs=1

exit codes:
  0  every emergent target in band
  1  a target out of band (one line each), or an unexpected error (a bug, with its traceback)
  2  bad input: one line naming the key or option, the value and what is allowed; nothing written"""

DASHBOARD = """preflight dashboard: watch a what-if happen, live, beside its baseline, in the browser.

usage: preflight dashboard [site=NAME] [scenario=NAME] [seed=N] [launch_day=D] [port=P]

Serves a Mesa SolaraViz page on http://{host}:PORT/ (loopback only): baseline and the scenario on
the same seed, stepped together a simulated day at a time (play / step / reset), with daily charts
by metric family (the launch day marked), the current moment of both arms (open flags by type,
moderators, bad actors by family, recent removals with their cause) and a button that turns the
settings into the preflight compare command line and what-if file. The page offers the site
preset, the seed, the launch day and every lever parameter of the scenario as typed inputs;
changes take effect on Reset, and a refused value is shown on the page. The small preset steps a
day of both arms in well under a second; the full-scale preset works but is slow to step.

arguments (the page's starting values):
  site=NAME        site preset ({sites}; default {site})
  scenario=NAME    the what-if whose levers the page offers (default {dashboard_scenario}; it needs levers)
  seed=N           the seed both arms share (default 0)
  launch_day=D     when the levers switch on (default: the what-if's)
  port=P           the loopback port (default {port}; 0 picks a free one)

examples:
  preflight dashboard scenario=moderator_strike
  preflight dashboard scenario=spam_flag_threshold_3 seed=3 port=8600

exit codes:
  0  stopped (Ctrl-C)
  1  an unexpected error (a bug), printed with its traceback
  2  bad input: one line naming the argument, the value and what is allowed"""

TEXTS = {"dashboard": DASHBOARD, "sql": SQL, "run": RUN, "compare": COMPARE, "scenarios": SCENARIOS, "levers": LEVERS, "collect": COLLECT,
         "sensitivity": SENSITIVITY, "reproduce": REPRODUCE,
         "calibrate": CALIBRATE, "validate": VALIDATE}


def options(group: str) -> list[str]:
    """The options of a config group shipped in ``conf/`` (file names without ``.yaml``)."""
    folder = resources.files("conf") / group
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _defaults() -> dict:
    """The defaults the help quotes, read from ``conf/``."""
    import yaml

    conf = resources.files("conf")
    top = yaml.safe_load((conf / "config.yaml").read_text())
    run = yaml.safe_load((conf / "run" / "default.yaml").read_text())
    chosen = {k: v for item in top["defaults"] if isinstance(item, dict) for k, v in item.items()}
    return {"site": chosen["site"], "sites": ", ".join(options("site")), "days": run["days"],
            "warmup": run["warmup_days"], "replicates": top["replicates"],
            "guardrails": ", ".join(options("guardrails")), **_dashboard_defaults()}


def _dashboard_defaults() -> dict:
    """The page's defaults the dashboard's help quotes (``conf/dashboard.yaml``)."""
    import yaml

    view = yaml.safe_load((resources.files("conf") / "dashboard.yaml").read_text())
    return {"host": view["host"], "port": view["port"], "dashboard_scenario": view["scenario"]}


def help_text(command: str | None = None) -> str:
    """The help of ``command`` (the overview for None).

    Raises:
        KeyError: an unknown command.
    """
    if command is None:
        width = max(map(len, COMMANDS))
        listed = "\n".join(f"  {name:<{width}}  {line}" for name, line in COMMANDS.items())
        return MAIN.format(commands=listed, exit_codes=EXIT_CODES, sites=", ".join(options("site")))
    text = TEXTS[command].format(**_defaults())
    if command == "sql":
        from preflight.sql import shipped_queries

        text += "\n\nshipped queries (--query NAME):\n" + "\n".join(
            f"  {name:<34}{path.read_text().splitlines()[0].lstrip('- ')}" for name, path in shipped_queries().items())
    return text
