"""The lever interface: a policy or product change that hooks into the site at its launch time.

A lever declares its parameters (type, default, range); :func:`build_levers` validates a
scenario's YAML against them and fails with the one-line config error on anything unknown or out
of range. At launch a lever changes the site only through its extension points: the live
:class:`~sim.policy.Policy`, the detectors' settings, and the site's ``add_moderators`` /
``add_bad_actors`` calls (through :meth:`Lever.add_moderators` / :meth:`Lever.add_bad_actors`).

Every lever also takes the parameters of :data:`RAMP_PARAMS`: with ``ramp_days`` above 0 its
effect grows from none at launch to full ``ramp_days`` later (an adoption curve rather than a
step; :class:`Ramp`). Numbers in the policy and the detectors' settings move from the site's
value before launch to the lever's target; agents the lever adds join progressively; switches
(true/false) flip at launch. A lever that is only a switch (``ramps = False``) refuses a ramp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sim.clock import MINUTES_PER_DAY
from sim.config import MAX_DAYS, ConfigError

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
    choices: tuple[str, ...] = ()

    def check(self, key: str, value: Any) -> Any:
        if self.type is str:
            if not isinstance(value, str) or value not in self.choices:
                raise ConfigError(f"{key}={value!r}: must be one of {', '.join(self.choices)}")
            return value
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


# -- how a parameter reads, for people (``preflight levers``, the dashboard's inputs) ---------
def _number(x) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def param_type(param) -> str:
    return {bool: "true/false", int: "whole number", float: "number", str: "word"}.get(param.type,
                                                                                     param.type.__name__)


def param_default(param) -> str:
    if param.type is bool:
        return "true" if param.default else "false"
    if param.type is str:
        return param.default
    return _number(param.default)


def param_range(param) -> str:
    """The allowed values, as a person reads them."""
    if param.type is bool:
        return "true or false"
    if param.type is str:
        return " or ".join(param.choices)
    if param.min is None and param.max is None:
        return "any"
    if param.max is None:
        return f">= {_number(param.min)}"
    if param.min is None:
        return f"<= {_number(param.max)}"
    return f"{_number(param.min)} to {_number(param.max)}"


#: The shapes of a ramp: a straight line, or the S-curve of an adoption (logistic).
RAMP_SHAPES = ("linear", "logistic")
#: The logistic ramp's ``ramp_days`` is the time its S-curve takes from 1% to 99% of the full
#: effect (then stretched to exactly 0 at launch and 1 at the end): a definition, not a behaviour.
LOGISTIC_SPAN = 0.99

#: Parameters every lever takes, beside its own: how gradually its effect arrives.
RAMP_PARAMS: dict[str, Param] = {
    "ramp_days": Param(float, 0.0, 0, MAX_DAYS, "days the effect takes to grow from none at launch to full "
                                               "(0: all at once, a step)"),
    "ramp_shape": Param(str, "linear", doc="how the effect grows over the ramp: linear or logistic (an S-curve)",
                        choices=RAMP_SHAPES),
}


def ramp_progress(elapsed_days: float, ramp_days: float, shape: str) -> float:
    """Share of a lever's effect in force ``elapsed_days`` after launch: 0 at launch, 1 from
    ``ramp_days`` on; halfway at half the ramp for both shapes."""
    if ramp_days <= 0 or elapsed_days >= ramp_days:
        return 1.0
    x = max(elapsed_days, 0.0) / ramp_days
    if shape == "linear":
        return x
    k = 2.0 * math.log(LOGISTIC_SPAN / (1.0 - LOGISTIC_SPAN))  # 1% to 99% over x in [0, 1]

    def s_curve(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-k * (z - 0.5)))

    return (s_curve(x) - s_curve(0.0)) / (s_curve(1.0) - s_curve(0.0))


def lever(cls: type[Lever]) -> type[Lever]:
    """Class decorator registering a lever under its ``name``."""
    shared = set(cls.params) & set(RAMP_PARAMS)
    if shared:
        raise TypeError(f"lever {cls.name}: {', '.join(sorted(shared))} is a parameter every lever has")
    LEVERS[cls.name] = cls
    return cls


class Lever:
    """Base class. Subclasses set ``name``, ``summary``, ``params`` and implement :meth:`launch`;
    ``ramps = False`` marks a lever that is only a switch (it refuses ``ramp_days`` above 0).

    Attributes:
        launch_minute: When the lever switches on (minutes since the run started).
        values: Validated parameter values (its own and :data:`RAMP_PARAMS`).
        launched: Whether :meth:`launch` has run.
        ramp: The ramp under way (``None`` without one, or once it is complete).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    ramps: ClassVar[bool] = True

    def __init__(self, launch_minute: int, values: dict[str, Any]) -> None:
        self.launch_minute = int(launch_minute)
        self.values = values
        self.launched = False
        self.ramp: Ramp | None = None

    def __getattr__(self, item: str) -> Any:
        values = self.__dict__.get("values", {})
        if item in values:
            return values[item]
        raise AttributeError(item)

    def maybe_launch(self, site: Site) -> None:
        """Called every tick: launches once at the launch time (all at once, or starting its ramp),
        then moves the ramp on and lets the lever follow up."""
        if not self.launched and site.clock.minute >= self.launch_minute:
            self.launched = True
            if self.values.get("ramp_days", 0.0) > 0:
                self.ramp = Ramp(self, site)
            else:
                self.launch(site)
        elif self.launched:
            if self.ramp is not None and self.ramp.advance(site):
                self.ramp = None
            self.follow_up(site)

    def add_moderators(self, site: Site, n: int) -> None:
        """Elect ``n`` moderators: at once, or progressively over the ramp."""
        if self.ramp is None:
            site.add_moderators(n)
        else:
            self.ramp.additions.append(Addition(site.add_moderators, int(n)))

    def add_bad_actors(self, site: Site, cls: type, n: int, cfg=None) -> None:
        """Add ``n`` bad actors of a family: at once, or progressively over the ramp."""
        if self.ramp is None:
            site.add_bad_actors(cls, n, cfg)
        else:
            self.ramp.additions.append(Addition(lambda k: site.add_bad_actors(cls, k, cfg), int(n)))

    def launch(self, site: Site) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def follow_up(self, site: Site) -> None:
        """Per-tick work after launch (e.g. ending a strike); nothing by default."""


@dataclass
class Addition:
    """Agents a ramped lever adds progressively: ``add(k)`` adds ``k`` more, ``n`` in all."""

    add: Any
    n: int
    added: int = 0


def _numbers(obj: Any) -> dict[str, int | float]:
    """The plain numbers among an object's attributes (true/false values excluded)."""
    return {k: v for k, v in vars(obj).items() if isinstance(v, int | float) and not isinstance(v, bool)}


class Ramp:
    """A lever launching gradually over ``ramp_days`` after its launch time.

    At launch the lever's :meth:`Lever.launch` runs as usual; every number it changed in the
    site's extension points (the policy and the detectors' settings) is then set back to the
    site's value before launch and moved, tick by tick, toward the lever's target by the ramp's
    progress (:func:`ramp_progress`; whole numbers are rounded). Agents the lever adds join as the
    progress reaches each one. Switches flip at launch. Anything else a launch changes (e.g. the
    staging-ground reviewers' reputation) changes at launch.

    Attributes:
        lever: The lever.
        changes: ``(object, attribute, before, target)`` of every number the launch changed.
        additions: Agents still to add.
    """

    def __init__(self, lever: Lever, site: Site) -> None:
        self.lever = lever
        self.additions: list[Addition] = []
        points = self.extension_points(site)
        before = [_numbers(obj) for obj in points]
        lever.ramp = self  # the launch's agent additions wait for the ramp
        lever.launch(site)
        self.changes = [(obj, key, was[key], now) for obj, was in zip(points, before, strict=True)
                        for key, now in _numbers(obj).items() if key in was and now != was[key]]
        self.advance(site)

    @staticmethod
    def extension_points(site: Site) -> list[Any]:
        """The objects whose numbers a ramp moves: the live policy and the detectors."""
        return [site.policy, site.spam_detector, site.ai_detector, site.civility, site.serial_voting,
                site.question_ban]

    def advance(self, site: Site) -> bool:
        """Set every change to the progress reached now; ``True`` once the ramp is complete."""
        lever = self.lever
        elapsed = (site.clock.minute - lever.launch_minute) / MINUTES_PER_DAY
        share = ramp_progress(elapsed, lever.values["ramp_days"], lever.values["ramp_shape"])
        for obj, key, was, target in self.changes:
            value = was + share * (target - was)
            setattr(obj, key, int(round(value)) if isinstance(target, int) else value)
        for addition in self.additions:
            due = int(math.floor(share * addition.n + 0.5))
            if due > addition.added:
                addition.add(due - addition.added)
                addition.added = due
        return share >= 1.0


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
    params = {**cls.params, **RAMP_PARAMS}
    allowed = ", ".join(sorted(params))
    errors = [ConfigError(f"scenario.levers.{name}.{key}: unknown parameter (allowed: {allowed})")
              for key in given if key not in params]
    values = {}
    for key, param in params.items():
        try:
            values[key] = param.check(f"scenario.levers.{name}.{key}", given.get(key, param.default))
        except ConfigError as err:
            errors.append(err)
    if not cls.ramps and values.get("ramp_days", 0.0) > 0:
        errors.append(ConfigError(f"scenario.levers.{name}.ramp_days={given['ramp_days']!r}: {name} is a switch "
                                  f"with nothing to ramp (allowed: 0)"))
    return cls, values, errors
