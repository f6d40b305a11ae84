"""The dashboard's Mesa model: baseline and scenario on the same seed, stepped a simulated day at a time.

Mesa's SolaraViz steps and resets one model; :class:`SideBySide` is that model. It holds two sites
(:func:`preflight.run.build_site`): the scenario's, and the same settings without the levers (as
``preflight compare`` builds its baseline arm), and its :meth:`~SideBySide.step` runs both through
one simulated day. Until the launch day the two are the same site (common random numbers); after
it, every difference is the levers'.

SolaraViz rebuilds the model from the page's inputs on Reset (``SideBySide(**inputs)``). Bad input
does not raise: the model keeps the message (:attr:`~SideBySide.error`), has no sites and does not
run, so the page shows the message and stays usable.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import mesa

from preflight.dashboard_charts import CHARTS, NEWCOMER_CLOSED, NEWCOMER_UNWELCOME, column
from preflight.dashboard_inputs import Choice, overrides, parse
from preflight.dashboard_moment import newcomer_shares
from sim.clock import MINUTES_PER_DAY
from sim.config import baseline_of

ARMS = ("baseline", "scenario")


@dataclasses.dataclass(frozen=True)
class View:
    """The page's own settings (``conf/dashboard.yaml``): not the simulation's.

    Attributes:
        scenario: The what-if whose levers the page offers.
        play_interval_ms: Pause between days while playing.
        recent_removals: Rows per arm in the recent-removals table.
        newcomer_window_days: The newcomer chart follows first posts of this many recent days.
        slow_site_users: Presets with more registered users than this warn they are slow to step.
        host, port: Where the page is served.
    """

    scenario: str
    play_interval_ms: int
    recent_removals: int
    newcomer_window_days: int
    slow_site_users: int
    host: str
    port: int


def load_view() -> View:
    """The page's settings shipped in ``conf/dashboard.yaml``."""
    from importlib import resources

    import yaml

    return View(**yaml.safe_load((resources.files("conf") / "dashboard.yaml").read_text()))


def compose_choice(choice: Choice):
    """``(settings, shipped)``: the composed settings of ``choice`` and the shipped what-if's
    scenario tree (for the command line).

    Raises:
        sim.config.ConfigError (or another of :func:`preflight.compose.config_errors`): bad input.
    """
    from preflight.compose import compose_tree, validate

    _, shipped_tree, _ = compose_tree([f"scenario={choice.scenario}"])
    shipped = shipped_tree["scenario"]
    _, tree, _ = compose_tree(overrides(choice, shipped))
    return validate(tree), shipped


class SideBySide(mesa.Model):
    """Baseline and scenario arms on one seed, one simulated day per step.

    Attributes:
        view: The page's settings.
        raw: The page's values this model was built from.
        error: Why the inputs were refused (``None`` when they were valid).
        choice: The typed settings (``None`` on an error).
        settings: The scenario arm's composed settings (``None`` on an error).
        shipped: The shipped what-if's scenario tree.
        arms: ``{"baseline": Site, "scenario": Site}`` (empty on an error).
        day: Simulated days run.
        last_step_s: Wall-clock seconds of the last step (both arms).
        datacollector: One row per day: every charted series of each arm.
    """

    def __init__(self, view: View | None = None, **raw: Any) -> None:
        super().__init__()
        self.view, self.raw = view or load_view(), raw
        self.error: str | None = None
        self.choice, self.settings, self.shipped = None, None, {}
        self.arms: dict[str, Any] = {}
        self.day, self.last_step_s = 0, float("nan")
        self._newcomers = {arm: (float("nan"), float("nan")) for arm in ARMS}
        self._build(raw)
        self.running = self.error is None
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())

    def _build(self, raw: dict[str, Any]) -> None:
        from preflight.compose import config_errors, error_line
        from preflight.run import build_site

        try:
            self.choice = parse(raw, self.view.scenario)
            self.settings, self.shipped = compose_choice(self.choice)
        except config_errors() as err:
            self.error = error_line(err)
            return
        self.arms = {"baseline": build_site(baseline_of(self.settings)), "scenario": build_site(self.settings)}

    def _reporters(self) -> dict[str, Any]:
        out = {}
        for chart in CHARTS:
            for series in chart.series:
                for arm in ARMS:
                    out[column(series, arm)] = lambda m, s=series, a=arm: m.latest(a, s)
        return out

    @property
    def launch_day(self) -> float:
        return self.choice.launch_day if self.choice else float("nan")

    @property
    def days(self) -> int:
        """The run's length (``run.days``), where stepping stops, as ``preflight compare`` would."""
        return int(math.ceil(self.settings.run.days)) if self.settings else 0

    @property
    def slow(self) -> bool:
        """Whether the site preset is one the page warns is slow to step."""
        return bool(self.settings and self.settings.site.registered_users > self.view.slow_site_users)

    def latest(self, arm: str, series: str) -> float:
        """The last recorded day's value of one arm's series (NaN before the first day)."""
        if series == NEWCOMER_CLOSED:
            return self._newcomers[arm][0]
        if series == NEWCOMER_UNWELCOME:
            return self._newcomers[arm][1]
        rows = self.arms[arm].recorder.rows[series] if self.arms else []
        return float(rows[-1]) if rows else float("nan")

    def total(self, arm: str, series: str, since_day: float = 0.0) -> float:
        """The sum of one arm's daily series from ``since_day`` on (recorded days only)."""
        rows = self.arms[arm].recorder.rows
        return float(sum(v for d, v in zip(rows["day"], rows[series]) if d >= since_day))

    def step(self) -> None:
        """Run both arms through one simulated day and record the charts' row."""
        if not self.arms or self.day >= self.days:
            self.running = False
            return
        t0 = time.perf_counter()
        end = (self.day + 1) * MINUTES_PER_DAY
        for arm, site in self.arms.items():
            while site.clock.minute < end:
                site.step()
            self._newcomers[arm] = newcomer_shares(site, self.view.newcomer_window_days)
        self.day += 1
        self.last_step_s = time.perf_counter() - t0
        self.datacollector.collect(self)
        self.running = self.day < self.days

