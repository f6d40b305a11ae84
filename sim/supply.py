"""What there is to answer and vote on, and how members' activity follows it.

Members' answering, voting and commenting visits arrive on their own Poisson clocks
(:mod:`sim.arrivals`), but whether a visit ends in an answer, a vote or a comment depends on what
the site offers: with half as many fresh questions an answerer does not write as many answers as
before, piled onto the ones left. Each visit ends in an action with the chance

    s / (s + h),   s = supply / usual supply

(a saturating, Holling type II response; ``h`` is the activity's half saturation, relative to the
usual supply). The clocks run at ``1 + h`` times the members' rates, so at the usual supply a
member acts at exactly their calibrated rate; more supply raises it (at most ``1 + h`` times),
less lowers it. ``h = 0`` switches the response off: every visit acts, as if supply never
mattered.

The supplies: for answers, the pull of the open questions of the hot window (their quality,
freshness and how few answers they have, :func:`sim.hot_window.answer_pool`); for votes and
comments, the views per hour the hot window's posts would draw at score 0 and the site's usual
activity level (what there is to read, however popular: :func:`sim.traffic.fresh_view_rate`).
Each is smoothed over ``smoothing_days``. The usual supply is the site's own: the mean over the reference
window, from ``reference_start_day`` (the hot window has filled) for ``reference_days``, ending at
the scenario's launch day if that comes first. Baseline and scenario share it (their sites are the
same until launch), so the calibration and common random numbers hold: a visit acts on the
uniform of its own key (``uniform(keys, "answer_supply")``), and a member's visits are the same in
both arms while the supply is.
"""

from __future__ import annotations

import math

from sim.arrivals import Events, uniform
from sim.clock import MINUTES_PER_DAY
from sim.config import SupplyConfig

#: activity -> the supply its visits respond to
SUPPLY_OF = {"answer": "open_questions", "vote": "views", "comment": "views"}


class Supply:
    """The site's supply of things to act on, and the chance that a visit acts on it.

    Attributes:
        half_saturation: Per activity, ``h`` relative to the usual supply.
        visit_factor: Per activity, how many visits the clocks plan per calibrated action (``1 + h``).
        usual_chance: Per activity, the chance that a visit acts at the usual supply (``1 / (1 + h)``).
        level: Per supply, its smoothed level (``None`` until first observed).
        usual: Per supply, the usual level (``None`` until the reference window has ended).
    """

    def __init__(self, cfg: SupplyConfig, tick_minutes: int, launch_day: float) -> None:
        self.half_saturation = {"answer": cfg.answer_half_saturation, "vote": cfg.vote_half_saturation,
                                "comment": cfg.comment_half_saturation}
        self.visit_factor = {act: 1.0 + h for act, h in self.half_saturation.items()}
        self.usual_chance = {act: 1.0 / (1.0 + h) for act, h in self.half_saturation.items()}
        self.level: dict[str, float | None] = dict.fromkeys(SUPPLY_OF.values())
        self.usual: dict[str, float | None] = dict.fromkeys(SUPPLY_OF.values())
        self._sums = dict.fromkeys(SUPPLY_OF.values(), 0.0)
        self._counts = dict.fromkeys(SUPPLY_OF.values(), 0)
        self._blend = min(1.0, tick_minutes / (cfg.smoothing_days * MINUTES_PER_DAY))
        start = cfg.reference_start_day * MINUTES_PER_DAY
        end = start + cfg.reference_days * MINUTES_PER_DAY
        launch = launch_day * MINUTES_PER_DAY
        self.reference = (start, launch if start < launch < end else end)

    def observe(self, supply: str, value: float, minute: int) -> None:
        """This tick's raw level of a supply: smoothed, and measured for the usual level while the
        reference window lasts (the usual level is fixed when it ends)."""
        level = self.level[supply]
        self.level[supply] = value if level is None else level + (value - level) * self._blend
        start, end = self.reference
        if start <= minute < end:
            self._sums[supply] += value
            self._counts[supply] += 1
        elif minute >= end and self.usual[supply] is None and self._counts[supply]:
            mean = self._sums[supply] / self._counts[supply]
            self.usual[supply] = mean if mean > 0 else math.nan  # nothing to compare with: no response

    def chance(self, act: str) -> float:
        """The chance now that a visit of ``act`` ends in an action."""
        h = self.half_saturation[act]
        supply = SUPPLY_OF[act]
        usual, level = self.usual[supply], self.level[supply]
        if h == 0 or usual is None or not math.isfinite(usual) or level is None:
            return self.usual_chance[act]
        s = level / usual
        return s / (s + h)

    def acting(self, act: str, events: Events) -> Events:
        """The visits that end in an action, each decided by the uniform of its own key."""
        chance = self.chance(act)
        if chance >= 1.0 or events.size == 0:
            return events
        return events.subset(uniform(events.keys, f"{act}_supply") < chance)

    def shortfall(self, act: str) -> float:
        """Actions a visit of ``act`` misses now against the usual supply (negative: more than usual)."""
        return self.usual_chance[act] - self.chance(act)
