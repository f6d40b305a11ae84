"""The dashboard's daily charts: one per metric family, baseline and scenario on the same axes, with
the launch day marked. Drawn by Mesa's own plot component (``PlotMatplotlib``) from the model's
Mesa ``DataCollector`` (:class:`preflight.dashboard_model.SideBySide`).

A chart's lines are daily series of the model's recorder (``site.recorder.series()``; names as in
``timeseries.parquet``), plus the live newcomer shares of :func:`preflight.dashboard_moment.newcomer_shares`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Live series the dashboard computes itself (not in the daily recorder).
NEWCOMER_CLOSED, NEWCOMER_UNWELCOME = "newcomer_closed_so_far", "newcomer_unwelcome_so_far"
#: Line colours: baseline grey, scenario red; a chart's second series is dashed-looking in its lighter tone.
ARM_COLOURS = {"baseline": ("#555555", "#aaaaaa"), "scenario": ("#c0392b", "#f1948a")}


@dataclass(frozen=True)
class Chart:
    """One chart: a metric family's daily series.

    Attributes:
        family: The metric family (``sim.metric_registry.FAMILIES``) it shows.
        title: What the chart shows, with its unit.
        series: The daily series drawn (one or two), for each arm.
    """

    family: str
    title: str
    series: tuple[str, ...]


CHARTS = (
    Chart("harm_exposure", "Harm exposure: views of harmful content per day", ("harm_exposure",)),
    Chart("prevalence", "Prevalence: harmful share of the day's views", ("prevalence",)),
    Chart("time_to_removal", "Time to removal: median minutes (harmful items removed that day)",
          ("time_to_removal_min_p50",)),
    Chart("mod_workload", "Flag queue backlog: items waiting for a moderator (mean over the day)",
          ("flag_queue_backlog",)),
    Chart("mod_workload", "Moderator load: minutes moderators worked the flag queue", ("mod_minutes",)),
    Chart("newcomer_experience", "Newcomers' first posts of the last days: share closed (questions) "
          "and with an unwelcoming comment, so far", (NEWCOMER_CLOSED, NEWCOMER_UNWELCOME)),
    Chart("community_health", "Community health: questions and answers per day", ("questions_per_day", "answers")),
)


def column(series: str, arm: str) -> str:
    """The DataCollector column of one arm's series (also its legend label)."""
    return f"{series} · {arm}"


def measures(chart: Chart) -> dict[str, str]:
    """Column -> colour of every line of ``chart`` (Mesa's ``measure`` dict)."""
    return {column(series, arm): ARM_COLOURS[arm][i] for arm in ARM_COLOURS for i, series in enumerate(chart.series)}


def mark_launch(ax, launch_day: float, title: str) -> None:
    """Title the axes and mark the launch day (a vertical line; row ``d`` of a chart is day ``d``)."""
    ax.set_title(title, fontsize=9, loc="left")
    ax.axvline(launch_day, color="#2e86c1", linestyle="--", linewidth=1)
    ax.annotate(f"launch (day {launch_day:g})", (launch_day, 1.0), xycoords=("data", "axes fraction"),
                xytext=(3, -10), textcoords="offset points", fontsize=8, color="#2e86c1")
    ax.set_xlim(left=0, right=max(ax.get_xlim()[1], launch_day + 1))


def chart_component(chart: Chart):
    """A SolaraViz component drawing ``chart`` for the model it is given (Mesa's ``PlotMatplotlib``)."""
    from mesa.visualization.components.matplotlib_components import PlotMatplotlib

    def ChartOfFamily(model):
        return PlotMatplotlib(model, measures(chart),
                              post_process=lambda ax: mark_launch(ax, model.launch_day, chart.title))

    ChartOfFamily.__name__ = f"Chart_{chart.series[0]}"
    return ChartOfFamily
