"""The lever interface: a policy or product change that hooks into the site at its launch time.

A lever declares its parameters (type, default, range); :func:`build_levers` validates a
scenario's YAML against them and fails with the one-line config error on anything unknown or out
of range. At launch a lever changes the site only through its extension points: the live
:class:`~sim.policy.Policy`, the detectors' settings, and the site's ``add_moderators`` /
``add_bad_actors`` calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sim.clock import MINUTES_PER_DAY
from sim.config import ConfigError

if TYPE_CHECKING:
    from agents.model import Site

LEVERS: dict[str, type[Lever]] = {}


@dataclass(frozen=True)
class Param:
    """A lever parameter: its type, default and allowed range."""

    type: type
    default: Any
    min: float | None = None
    max: float | None = None
    doc: str = ""

    def check(self, key: str, value: Any) -> Any:
        if self.type is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{key}={value!r}: expected true or false")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}={value!r}: expected a number ({self.type.__name__})")
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        if isinstance(value, float) and not math.isfinite(value):  # NaN passes every comparison
            raise ConfigError(f"{key}={value!r}: expected a finite number between {lo} and {hi}")
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ConfigError(f"{key}={value!r}: must be between {lo} and {hi}")
        if self.type is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{key}={value!r}: expected a whole number")
        return self.type(value)


def lever(cls: type[Lever]) -> type[Lever]:
    """Class decorator registering a lever under its ``name``."""
    LEVERS[cls.name] = cls
    return cls


class Lever:
    """Base class. Subclasses set ``name``, ``summary``, ``params`` and implement :meth:`launch`.

    Attributes:
        launch_minute: When the lever switches on (minutes since the run started).
        values: Validated parameter values.
        launched: Whether :meth:`launch` has run.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, launch_minute: int, values: dict[str, Any]) -> None:
        self.launch_minute = int(launch_minute)
        self.values = values
        self.launched = False

    def __getattr__(self, item: str) -> Any:
        values = self.__dict__.get("values", {})
        if item in values:
            return values[item]
        raise AttributeError(item)

    def maybe_launch(self, site: Site) -> None:
        """Called every tick: launches once at the launch time, then lets the lever follow up."""
        if not self.launched and site.clock.minute >= self.launch_minute:
            self.launched = True
            self.launch(site)
        elif self.launched:
            self.follow_up(site)

    def launch(self, site: Site) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def follow_up(self, site: Site) -> None:
        """Per-tick work after launch (e.g. ending a strike); nothing by default."""


def build_levers(scenario) -> list[Lever]:
    """Instantiate and validate a scenario's levers.

    Args:
        scenario: The scenario config (``levers``: name -> parameters, ``launch_day``).

    Raises:
        ConfigError: unknown lever, unknown parameter or a bad value (the first one; every one:
            :func:`lever_errors`).
    """
    out = []
    for name, given in scenario.levers.items():
        cls, values, errors = _checked(name, given)
        if errors:
            raise errors[0]
        out.append(cls(int(scenario.launch_day * MINUTES_PER_DAY), values))
    return out


def lever_errors(levers: dict) -> list[ConfigError]:
    """Every problem of a scenario's ``levers`` (name -> parameters), in order, where
    :func:`build_levers` stops at the first."""
    return [err for name, given in levers.items() for err in _checked(name, given)[2]]


def _checked(name: str, given) -> tuple[type[Lever] | None, dict[str, Any], list[ConfigError]]:
    """``(lever class, checked values, errors)`` of one lever of a scenario."""
    import scenarios.levers  # noqa: F401  (registers the built-in levers)

    cls = LEVERS.get(name)
    if cls is None:
        return None, {}, [ConfigError(f"scenario.levers.{name}: unknown lever (allowed: {', '.join(sorted(LEVERS))})")]
    given = dict(given or {})
    allowed = ", ".join(sorted(cls.params)) or "none"
    errors = [ConfigError(f"scenario.levers.{name}.{key}: unknown parameter (allowed: {allowed})")
              for key in given if key not in cls.params]
    values = {}
    for key, param in cls.params.items():
        try:
            values[key] = param.check(f"scenario.levers.{name}.{key}", given.get(key, param.default))
        except ConfigError as err:
            errors.append(err)
    return cls, values, errors
