"""Small, fast site configurations for tests (composed through Hydra like the CLI does)."""

from __future__ import annotations

import functools

from sim.config import Settings


@functools.lru_cache(maxsize=64)
def _compose(overrides: tuple[str, ...]) -> Settings:
    from preflight.compose import compose

    _, settings = compose(list(overrides))
    return settings


def small(*overrides: str, days: float = 40, warmup: float = 10, seed: int = 0) -> Settings:
    """Settings for the ``small`` site with extra Hydra overrides."""
    base = ("site=small", f"run.days={days}", f"run.warmup_days={warmup}", f"seed={seed}", "run.progress=false")
    return _compose(base + tuple(overrides))


def run_site(settings: Settings):
    """Build and run a site with its scenario's levers; returns the model (for invariant checks on
    its arrays)."""
    from preflight.run import build_site

    site = build_site(settings)
    site.run()
    return site
