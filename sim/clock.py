"""The simulated clock: minute timestamps, ticks, days, weekly and daily activity cycles."""

from __future__ import annotations

import math

import numpy as np

MINUTES_PER_HOUR = 60
HOURS_PER_DAY = 24
MINUTES_PER_DAY = HOURS_PER_DAY * MINUTES_PER_HOUR
DAYS_PER_WEEK = 7
#: Local days 0-4 of each week are workdays (day 0 of the run is a Monday), 5 and 6 the weekend.
WORKDAYS_PER_WEEK = 5


class Clock:
    """Simulated time in minutes since the start of the run.

    The model advances in ticks of ``tick_minutes``; every event carries a minute timestamp.

    Attributes:
        tick_minutes: Length of one tick.
        minute: Start of the current tick.
        amplitude: Depth of the daily activity cycle; peak_hour: its local peak.
        weekend_factor: Activity on the local weekend relative to workdays.
    """

    def __init__(self, tick_minutes: int, diurnal_amplitude: float, weekend_factor: float,
                 peak_hour: float = 15.0) -> None:
        self.tick_minutes = int(tick_minutes)
        self.minute = 0
        self.amplitude = float(diurnal_amplitude)
        self.weekend_factor = float(weekend_factor)
        self.peak_hour = float(peak_hour)

    @property
    def day(self) -> int:
        """Whole days elapsed."""
        return self.minute // MINUTES_PER_DAY

    @property
    def tick_end(self) -> int:
        """First minute after the current tick."""
        return self.minute + self.tick_minutes

    @property
    def tick_midpoint(self) -> int:
        """The middle minute of the current tick (where a tick's rates are evaluated)."""
        return self.minute + self.tick_minutes // 2

    @property
    def is_day_start(self) -> bool:
        """Whether this tick is the first of a simulated day."""
        return self.minute % MINUTES_PER_DAY < self.tick_minutes

    @property
    def is_day_end(self) -> bool:
        """Whether this tick is the last of a simulated day."""
        return (self.minute + self.tick_minutes) % MINUTES_PER_DAY < self.tick_minutes

    @property
    def tick_days(self) -> float:
        """Length of a tick in days."""
        return self.tick_minutes / MINUTES_PER_DAY

    def advance(self) -> None:
        """Move to the next tick."""
        self.minute += self.tick_minutes

    def local_hour(self, tz: np.ndarray | float) -> np.ndarray | float:
        """Local hour of day (0-24, fractional) at the middle of the tick for UTC offset ``tz``."""
        mid = (self.minute + self.tick_minutes / 2) / MINUTES_PER_HOUR
        return (mid + tz) % HOURS_PER_DAY

    def activity(self, tz: np.ndarray | float) -> np.ndarray | float:
        """Relative activity (mean about 1) at hour offset ``tz`` in the current tick: a daily cycle
        peaking at ``peak_hour`` local time (mid-afternoon), damped on the local weekend."""
        return self.activity_at(self.minute, tz)

    def activity_at(self, minute: int, tz: np.ndarray | float) -> np.ndarray | float:
        """Relative activity at hour offset ``tz`` in the tick starting at ``minute``."""
        hour = ((minute + self.tick_minutes / 2) / MINUTES_PER_HOUR + tz) % HOURS_PER_DAY
        daily = 1.0 + self.amplitude * np.cos(2 * math.pi * (hour - self.peak_hour) / HOURS_PER_DAY)
        local_day = ((minute / MINUTES_PER_HOUR + tz) // HOURS_PER_DAY) % DAYS_PER_WEEK
        weekend = np.where(local_day >= WORKDAYS_PER_WEEK, self.weekend_factor, 1.0)
        weekend_days = DAYS_PER_WEEK - WORKDAYS_PER_WEEK
        return daily * weekend * (DAYS_PER_WEEK / (WORKDAYS_PER_WEEK + weekend_days * self.weekend_factor))

    def jitter(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` event timestamps spread uniformly over the current tick."""
        return self.minute + rng.integers(0, self.tick_minutes, size=n)
