"""Policy and product-change levers, and their registry (see ``docs/scenarios.md``)."""

from scenarios.lever import LEVERS, Lever, Param, build_levers, lever, lever_errors

__all__ = ["LEVERS", "Lever", "Param", "build_levers", "lever", "lever_errors"]
