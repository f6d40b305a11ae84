"""Moderator burnout: moderators resign when the flag queue stays above what they can handle."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mesa.agentset import AgentSet

    from agents.model import Site


def queue_overloaded(site: Site, serving: AgentSet) -> bool:
    """Whether today's flag queue is more than ``burnout_load`` days of the serving moderators' work."""
    cfg = site.settings.moderation.moderators
    capacity = serving.agg("minutes_per_day", sum) / max(cfg.minutes_per_decision, 1e-9)
    return site.flags.backlog > cfg.burnout_load * max(capacity, 1.0)


def end_day(site: Site) -> None:
    """Every serving moderator counts the day as overloaded or not (never one on strike: they are
    not working the queue); after ``burnout_weeks`` of overload some resign (:meth:`Moderator.end_day`)."""
    serving = site.serving_moderators()
    overloaded = queue_overloaded(site, serving)
    resigned = sum(serving.map(lambda m: m.end_day(overloaded and not m.striking())))
    if resigned:
        site.counters["moderator_resignations"] += resigned
