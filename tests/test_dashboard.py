"""``preflight dashboard``: the typed inputs, the side-by-side model, the compare command it hands
out, and the page itself in a real browser (headless Chromium driven by Playwright).

The unit tests need no browser: the inputs are plain data (:mod:`preflight.dashboard_inputs`) and
the model is a Mesa model stepped here by hand (:mod:`preflight.dashboard_model`). The browser test
serves the page as a user does (``preflight dashboard port=0``) and works it through its buttons.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from preflight.compose import compose
from preflight.dashboard_inputs import (
    SEP,
    choice_of,
    compare_command,
    lever_params,
    model_params,
    parse,
    scenario_yaml,
    whatif_command,
)
from preflight.dashboard_model import SideBySide, compose_choice, load_view
from preflight.dashboard_moment import moderators_now
from scenarios.lever import LEVERS, RAMP_PARAMS, param_range, param_type
from sim.clock import MINUTES_PER_DAY
from sim.config import ConfigError, baseline_of

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p.stem for p in (ROOT / "conf" / "scenario").glob("*.yaml"))
ARTIFACTS = ROOT / "outputs" / "test-artifacts"
#: the seed of the strike tests (at the shipped share both of the small site's moderators strike, on every seed)
STRIKE_SEED = 1


def page_values(scenario: str = "moderator_strike", **changed: str) -> dict:
    """The page's starting values for ``scenario`` on the small site (as the page holds them: text
    for numbers), with ``changed`` typed in."""
    _, settings = compose([f"scenario={scenario}", "site=small", f"seed={STRIKE_SEED}"])
    values = {key: spec["value"] for key, spec in model_params(choice_of(settings)).items()}
    return {**values, **changed}


# -- typed inputs --------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_lever_parameter_is_an_input_with_its_type_and_range(scenario):
    _, settings = compose([f"scenario={scenario}"])
    params = model_params(choice_of(settings))
    assert {"site", "seed", "launch_day"} <= set(params)
    for lever in settings.scenario.levers:
        cls = LEVERS[lever]
        expected = {**cls.params, **(RAMP_PARAMS if cls.ramps else {})}
        assert set(lever_params(lever)) == set(expected)
        for key, param in expected.items():
            spec = params[f"{lever}{SEP}{key}"]
            if param.type is bool:
                assert spec["type"] == "Checkbox" and isinstance(spec["value"], bool)
            elif param.type is str:
                assert spec["type"] == "Select" and spec["values"] == list(param.choices)
                assert spec["value"] in param.choices
            else:
                assert spec["type"] == "InputText", (lever, key)
                assert f"({param_type(param)}, {param_range(param)})" in spec["label"], spec["label"]
    lever_inputs = {k for k in params if SEP in k}
    assert lever_inputs == {f"{lv}{SEP}{k}" for lv in settings.scenario.levers for k in lever_params(lv)}


def test_the_seed_reaches_the_model_as_an_integer():
    model = SideBySide(load_view(), **page_values(seed=" 3 "))
    assert model.error is None
    assert model.choice.seed == 3 and type(model.choice.seed) is int
    assert model.settings.seed == 3 and type(model.settings.seed) is int
    share = model.choice.levers["moderator_strike"]["share"]
    assert share == 0.8 and type(share) is float


@pytest.mark.parametrize("key, typed, named", [
    ("seed", "abc", "seed='abc'"),
    ("seed", "1.5", "seed='1.5'"),
    ("seed", "-1", "seed=-1"),
    ("launch_day", "soon", "launch_day='soon'"),
    ("moderator_strike__share", "2", "scenario.levers.moderator_strike.share=2.0"),
    ("moderator_strike__weeks", "", "scenario.levers.moderator_strike.weeks=''"),
    ("site", "huge", "site='huge'"),
])
def test_an_invalid_value_is_a_message_and_the_model_stays_usable(key, typed, named):
    model = SideBySide(load_view(), **page_values(**{key: typed}))
    assert model.error is not None and model.error.startswith(named), model.error
    assert model.arms == {} and model.running is False
    model.step()  # what Play or Step would do: nothing, no exception
    assert model.day == 0
    with pytest.raises(ConfigError, match=re.escape(named)):
        parse(page_values(**{key: typed}), "moderator_strike")
    fixed = SideBySide(load_view(), **page_values())  # Reset with the value fixed runs again
    assert fixed.error is None and fixed.running


# -- the side-by-side model ----------------------------------------------------------------------
def plain(values) -> list:
    """A series as a list to compare with ``==`` (NaN, a day without a value, as None)."""
    return [None if v != v else v for v in values]


def run_alone(settings, days: int):
    """One site of ``settings`` stepped ``days`` days on its own (as ``preflight run`` steps it)."""
    from preflight.run import build_site

    site = build_site(settings)
    while site.clock.minute < days * MINUTES_PER_DAY:
        site.step()
    return site


def test_side_by_side_is_the_baseline_until_launch_and_the_scenario_after():
    launch, days = 3, 8
    model = SideBySide(load_view(), **page_values(launch_day=str(launch)))
    for _ in range(days):
        model.step()
    assert model.day == days
    base, scen = (model.arms[arm].recorder.rows for arm in ("baseline", "scenario"))
    before = [i for i, d in enumerate(base["day"]) if d < launch]
    after = [i for i, d in enumerate(base["day"]) if d >= launch]
    assert len(before) == launch and len(after) == days - launch
    for series in base:  # common random numbers: the same site until the levers launch
        assert plain(base[series][i] for i in before) == plain(scen[series][i] for i in before), series
    # every moderator strikes from the launch day: the queue goes unworked and backs up
    assert sum(scen["mod_minutes"][i] for i in after) < 0.5 * sum(base["mod_minutes"][i] for i in after)
    assert sum(scen["flag_queue_backlog"][i] for i in after) > sum(base["flag_queue_backlog"][i] for i in after)
    striking = moderators_now(model.arms["scenario"])
    assert striking.serving > 0 and striking.striking == striking.serving
    assert moderators_now(model.arms["baseline"]).striking == 0
    # each arm is exactly the run `preflight compare` makes of it
    from experiments.compare import baseline_of as compare_baseline

    for arm, settings in (("baseline", compare_baseline(model.settings)), ("scenario", model.settings)):
        alone = run_alone(settings, days).recorder.rows
        assert {k: plain(v) for k, v in alone.items()} == {k: plain(v) for k, v in model.arms[arm].recorder.rows.items()}
    # the charts' table has a row per day, both arms
    table = model.datacollector.get_model_vars_dataframe()
    assert len(table) == days and table["mod_minutes · scenario"].iloc[launch:].sum() < table[
        "mod_minutes · baseline"].iloc[launch:].sum()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_baseline_arm_has_no_levers_and_keeps_everything_else(scenario):
    """The dashboard's baseline arm is compare's (``sim.config.baseline_of``, one function both use):
    the scenario's levers, guardrails and hypothesis gone, every other setting as it was."""
    _, settings = compose([f"scenario={scenario}", "seed=4"])
    base = baseline_of(settings)
    assert base.scenario.levers == {} and base.scenario.guardrails == [] and base.scenario.name == "baseline"
    assert base.scenario.launch_day == settings.scenario.launch_day
    assert base.scenario.primary_metric == settings.scenario.primary_metric
    assert dataclasses.replace(base, scenario=settings.scenario) == settings


# -- the formal experiment -----------------------------------------------------------------------
def checked_compare(command: str) -> list:
    """The settings ``preflight compare`` validates for ``command`` (a whole command line), before
    it would run anything (exits 2 on a refused argument)."""
    from preflight.cli import _check_sweep

    words = shlex.split(command)
    assert words[:2] == ["preflight", "compare"], command
    return _check_sweep(words[2:], "compare")


@pytest.mark.parametrize("scenario, changed, shown", [
    ("moderator_strike", {"moderator_strike__share": "1", "moderator_strike__curators": False},
     ["scenario.levers.moderator_strike.share=1.0", "scenario.levers.moderator_strike.curators=false"]),
    ("more_moderators", {"more_moderators__ramp_days": "4", "more_moderators__ramp_shape": "logistic"},
     ["+scenario.levers.more_moderators.ramp_days=4.0",  # defaults the what-if file leaves out
      "+scenario.levers.more_moderators.ramp_shape=logistic"]),
])
def test_the_compare_command_and_the_what_if_file_run_the_dashboard_settings(tmp_path, scenario, changed, shown):
    choice = parse(page_values(scenario, seed="5", launch_day="10", **changed), scenario)
    settings, shipped = compose_choice(choice)
    command = compare_command(choice, shipped)
    assert all(f" {override}" in command for override in shown), command
    [checked] = checked_compare(command)
    assert choice_of(checked) == choice and checked == settings
    # the what-if file, saved where the page says
    (tmp_path / "scenario").mkdir()
    (tmp_path / "scenario" / f"{scenario}_dashboard.yaml").write_text(scenario_yaml(choice, shipped))
    [from_file] = checked_compare(whatif_command(choice, str(tmp_path)))
    assert from_file.scenario.name == f"{scenario}_dashboard"
    assert choice_of(from_file).levers == choice.levers and from_file.seed == 5
    assert from_file.scenario.launch_day == 10.0


def test_the_unchanged_settings_give_the_shortest_command():
    choice = parse(page_values(), "moderator_strike")
    assert compare_command(choice, compose_choice(choice)[1]) == (
        f"preflight compare site=small scenario=moderator_strike seed={STRIKE_SEED}")


# -- the page in a browser -----------------------------------------------------------------------
def chromium_binary() -> str:
    """Debian's Chromium (``.ci/install_chromium.sh``): skipped without it, a failure in CI."""
    for candidate in (os.environ.get("PREFLIGHT_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.environ.get("CI"):
        pytest.fail("Chromium not found but CI is set; run .ci/install_chromium.sh")
    pytest.skip("Chromium not installed (run .ci/install_chromium.sh)")


@contextmanager
def dashboard_server(*args: str, timeout: float = 90.0):
    """``preflight dashboard port=0 ARGS`` in a subprocess; yields its URL; always stopped after."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "preflight.cli", "dashboard", "port=0", *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        for line in proc.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline, url = time.monotonic() + timeout, None
        while url is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not start (exit {proc.returncode}):\n{''.join(output)[-3000:]}")
            try:
                found = re.search(r"(http://127\.0\.0\.1:\d+/)", lines.get(timeout=0.5))
            except queue.Empty:
                continue
            url = found.group(1) if found else None
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    assert "Traceback" not in "".join(output), "".join(output)[-3000:]


#: Charts on the page: one per entry of ``preflight.dashboard_charts.CHARTS``.
N_CHARTS = 7
#: The SHA-256 of every chart image's bytes (a redraw with the same content has a new blob address,
#: so the addresses alone would not show that a chart changed); null while a drawing is replaced
CHART_DIGESTS = """async () => Promise.all([...document.querySelectorAll('img')].map(async (img) => {
    try {
        const bytes = await (await fetch(img.src)).arrayBuffer();
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    } catch (e) { return null; }
}))"""


def chart_images(page, timeout: float = 15.0) -> list[str]:
    """What every chart shows now (a digest of its image), in page order: polled until all
    :data:`N_CHARTS` are on the page and readable (Solara swaps a drawing for the next one)."""
    deadline = time.monotonic() + timeout
    while True:
        digests = page.evaluate(CHART_DIGESTS)
        if len(digests) == N_CHARTS and None not in digests:
            return digests
        if time.monotonic() > deadline:
            pytest.fail(f"the page shows {len(digests)} readable charts of {N_CHARTS}: {digests}")
        page.wait_for_timeout(200)


def redrawn(page, before: list[str], every: bool, timeout: float = 15.0) -> bool:
    """Whether every chart (or, ``every=False``, some chart) comes to differ from ``before``; the
    drawings of a day arrive shortly after its status line, so this polls."""
    deadline = time.monotonic() + timeout
    while True:
        changed = [a != b for a, b in zip(before, chart_images(page), strict=True)]
        if all(changed) if every else any(changed):
            return True
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(250)


def step(page, days: int, first: int) -> None:
    """Press Step ``days`` times, each time waiting for the status line to reach the next day."""
    for day in range(first + 1, first + days + 1):
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_selector(f"[data-panel=status] [data-day='{day}']", timeout=30_000)


def enter(page, label: str, value: str) -> None:
    """Type ``value`` into the input labelled ``label`` and commit it (Enter)."""
    box = page.get_by_label(label)
    box.fill(value)
    box.press("Enter")


@pytest.mark.slow
def test_the_page_steps_both_arms_and_shows_them_diverge_in_chromium():
    """Step the page a few days, type a bad seed (a message, the page keeps working), change a
    lever, reset, step past the launch day: the charts redraw, the arms diverge, the compare button
    gives a command compare accepts, and the console stays clean."""
    playwright = pytest.importorskip("playwright.sync_api")
    executable = chromium_binary()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    launch = 2
    with dashboard_server(f"seed={STRIKE_SEED}", f"launch_day={launch}") as url, \
            playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1300})
            page.set_default_timeout(30_000)
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(url, timeout=60_000)
            page.wait_for_selector("[data-panel=status] [data-day='0']", timeout=60_000)
            drawn = chart_images(page)
            step(page, 2, first=0)
            assert redrawn(page, drawn, every=False), "no chart changed after two days"
            assert page.locator("[data-since-launch]").count() == 0  # not past the launch day yet

            enter(page, "seed (whole number", "abc")
            page.get_by_role("button", name="Reset", exact=True).click()
            page.get_by_text("Input refused: seed='abc'").wait_for()
            enter(page, "seed (whole number", str(STRIKE_SEED))
            enter(page, "moderator_strike: share", "1")
            page.get_by_role("button", name="Reset", exact=True).click()
            page.wait_for_selector("[data-panel=status] [data-day='0']")
            assert page.get_by_text("Input refused").count() == 0

            drawn = chart_images(page)
            step(page, 6, first=0)
            assert redrawn(page, drawn, every=True), "some chart did not change over six days"
            base, scen = (float(x) for x in page.locator("[data-since-launch]").get_attribute("data-since-launch").split())
            assert scen != base, "baseline and scenario did not diverge after the launch day"
            moment = page.locator("[data-panel=moment]").inner_text()
            assert re.search(r"moderators striking\s+0\s+[1-9]", moment), moment

            page.get_by_role("button", name="Make the compare command").click()
            command = page.locator("pre").first.inner_text().strip()
            assert "scenario.levers.moderator_strike.share=1.0" in command, command
            [settings] = checked_compare(command)
            assert settings.seed == STRIKE_SEED and settings.scenario.launch_day == launch
            page.screenshot(path=str(ARTIFACTS / "dashboard_moderator_strike.png"))
            assert problems == [], problems
        finally:
            browser.close()
