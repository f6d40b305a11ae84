"""``preflight dashboard``: a Mesa SolaraViz page to watch a what-if happen, live, beside its baseline.

The page is Mesa's own :func:`~mesa.visualization.SolaraViz`: its controls (play / step / reset),
its model-parameter inputs (here the site preset, the seed, the launch day and every lever
parameter of the scenario, typed, with their ranges: :mod:`preflight.dashboard_inputs`) and its grid
of components, which are the daily charts by metric family (Mesa's plot component:
:mod:`preflight.dashboard_charts`), the current moment of both arms (:mod:`preflight.dashboard_moment`)
and the ``preflight compare`` command of the settings in force. The model is
:class:`preflight.dashboard_model.SideBySide`: baseline and scenario on one seed, a day per step.

:func:`serve` runs the page on a loopback port with Solara's server (uvicorn, in this process); the
command line (``preflight.cli``) validates the arguments first.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from html import escape

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from preflight.dashboard_charts import CHARTS, chart_component
from preflight.dashboard_inputs import (
    Choice,
    compare_command,
    model_params,
    scenario_yaml,
    whatif_command,
    whatif_name,
)
from preflight.dashboard_model import ARMS, SideBySide, View, load_view
from preflight.dashboard_moment import (
    bad_actors_by_family,
    moderators_now,
    open_flags_by_kind,
    recent_removals,
)

#: The environment variable carrying the page's start-up settings from :func:`serve` to the app.
STARTUP = "PREFLIGHT_DASHBOARD"


def _number(value: float) -> str:
    return "n/a" if value != value else f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _table(header: list[str], rows: list[list[str]], name: str) -> str:
    """An HTML table (cells escaped); ``name`` is its ``data-table`` attribute, for tests and styles."""
    def cells(tag: str, row: list[str]) -> str:
        return "<tr>" + "".join(f"<{tag} style='padding:1px 8px;text-align:left'>{escape(c)}</{tag}>" for c in row) + "</tr>"

    body = "".join(cells("td", row) for row in rows)
    return f"<table data-table='{name}' style='font-size:13px'>{cells('th', header)}{body}</table>"


def Html(text: str, name: str):
    """Our own HTML (every value escaped) in a ``div`` named ``name``: Solara's Markdown would fetch
    KaTeX from a CDN, and the page must work offline."""
    return solara.HTML(tag="div", unsafe_innerHTML=text, attributes={"data-panel": name})


def status_text(model: SideBySide) -> str:
    """The status line: what runs, which day, when the levers launch, how long a day took."""
    c = model.choice
    phase = "levers not launched yet" if model.day <= c.launch_day else "levers launched"
    step = "" if model.last_step_s != model.last_step_s else f" · last day took {model.last_step_s:.2f} s (both arms)"
    lines = [f"<h3>{escape(c.scenario)} vs baseline · site {escape(c.site)} · seed {c.seed}</h3>",
             f"<p data-day='{model.day}'>Day <b>{model.day}</b> of {model.days} · launch day {c.launch_day:g} "
             f"({phase}){step}</p>"]
    if model.day > c.launch_day:
        base, scen = (model.total(arm, "harm_exposure", c.launch_day) for arm in ARMS)
        lines.append(f"<p data-since-launch='{base!r} {scen!r}'>Harmful views since launch: baseline "
                     f"<b>{_number(base)}</b> · scenario <b>{_number(scen)}</b></p>")
    lines.append("<p>Changed inputs take effect on <b>Reset</b> (both arms restart from day 0 on the seed).</p>")
    return "".join(lines)


@solara.component
def Status(model: SideBySide):
    """What runs and where it is; the error of refused inputs; the slow-preset warning."""
    update_counter.get()
    with solara.Column():
        if model.error:
            solara.Error(f"Input refused: {model.error}. Fix it and press Reset (the last valid run is gone; "
                         f"nothing runs until then).")
            return
        if model.slow:
            solara.Warning(f"The {model.choice.site} preset is full scale: each simulated day takes a long "
                           f"time to step (the small preset steps in well under a second).")
        Html(status_text(model), "status")


def moment_text(model: SideBySide) -> str:
    """The current moment of both arms as Markdown tables."""
    sites = [model.arms[arm] for arm in ARMS]
    flags = [open_flags_by_kind(s) for s in sites]
    mods = [moderators_now(s) for s in sites]
    actors = [bad_actors_by_family(s) for s in sites]
    header = ["", *ARMS]
    rows = [[f"open flags: {kind}", *(str(f[kind]) for f in flags)] for kind in flags[0] if any(f[kind] for f in flags)]
    rows += [[f"moderators {what}", *(str(getattr(m, what)) for m in mods)]
             for what in ("serving", "striking", "online", "working")]
    rows += [[f"{family} active", *(f"{a[family][0]} of {a[family][1]}" for a in actors)]
             for family in actors[0] if actors[0][family][1] or actors[1][family][1]]
    parts = [f"<h4>The moment (end of day {model.day})</h4>", _table(header, rows, "moment")]
    for arm, site in zip(ARMS, sites, strict=True):
        removals = recent_removals(site, model.view.recent_removals)
        parts.append(f"<p><b>Recent removals, {arm}</b></p>")
        parts.append(_table(["day", "item", "truth", "removed by", "minutes up"],
                            [[str(r.day), r.item, r.truth, r.cause, f"{r.minutes_up:,}"] for r in removals],
                            f"removals-{arm}") if removals else "<p>none yet</p>")
    return "".join(parts)


@solara.component
def Moment(model: SideBySide):
    """Open flags by type, moderators, bad actors by family and recent removals, per arm."""
    update_counter.get()
    if model.error:
        return Html("<h4>The moment</h4><p>No run: the inputs were refused.</p>", "moment")
    return Html(moment_text(model), "moment")


@solara.component
def Experiment(model: SideBySide):
    """A button turning the settings in force into the ``preflight compare`` command and what-if file."""
    update_counter.get()
    shown, set_shown = solara.use_state(False)
    with solara.Column():
        Html("<h4>The formal experiment</h4>", "experiment")
        solara.Button("Make the compare command", color="primary", on_click=lambda: set_shown(True),
                      disabled=model.error is not None)
        if shown and model.choice is not None:
            solara.Text("Paired seeds from this seed on, over the whole run (the settings in force since Reset):")
            solara.Preformatted(compare_command(model.choice, model.shipped))
            solara.Text(f"Or save this what-if as DIR/scenario/{whatif_name(model.choice)}.yaml and run: "
                        f"{whatif_command(model.choice)}")
            solara.Preformatted(scenario_yaml(model.choice, model.shipped))


def components() -> list:
    """The page's components, in grid order."""
    return [Status, *(chart_component(c) for c in CHARTS), Moment, Experiment]


def startup() -> tuple[View, Choice]:
    """The settings :func:`serve` handed to the page (or the defaults)."""
    data = json.loads(os.environ.get(STARTUP) or "{}")
    view = View(**data["view"]) if "view" in data else load_view()
    if "choice" in data:
        return view, Choice(**data["choice"])
    from preflight.compose import compose
    from preflight.dashboard_inputs import choice_of

    return view, choice_of(compose([f"scenario={view.scenario}"])[1])


@solara.component
def Page():
    """The dashboard: one SideBySide model per browser session, in Mesa's SolaraViz."""
    view, choice = solara.use_memo(startup, [])
    params = solara.use_memo(lambda: {"view": view, **model_params(choice)}, [])
    model = solara.use_memo(lambda: SideBySide(view, **{k: v["value"] for k, v in params.items() if k != "view"}), [])
    return SolaraViz(model, components=components(), model_params=params, play_interval=view.play_interval_ms,
                     name=f"Preflight · {choice.scenario} vs baseline")


def serve(view: View, choice: Choice) -> None:
    """Serve the page on ``view.host:view.port`` until interrupted (port 0: a free one)."""
    import socket
    import warnings

    os.environ[STARTUP] = json.dumps({"view": asdict(view), "choice": asdict(choice)})
    os.environ["SOLARA_APP"] = "preflight.dashboard:Page"
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")  # no usage reports from a user's machine
    import uvicorn
    from solara.server import settings

    settings.main.mode = "production"
    # Solara warns on every page load that a plain-http loopback page gets SameSite=Lax cookies: true, and harmless here
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)
    port = view.port
    if port == 0:
        with socket.socket() as s:
            s.bind((view.host, 0))
            port = s.getsockname()[1]
    print(f"preflight dashboard: http://{view.host}:{port}/ ({choice.scenario} vs baseline on {choice.site}, "
          f"seed {choice.seed}; Ctrl-C stops)", flush=True)
    uvicorn.Server(uvicorn.Config("solara.server.starlette:app", host=view.host, port=port,
                                  log_level="warning")).run()
