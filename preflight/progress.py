"""Progress bars on stderr (tqdm) for people watching a terminal.

A bar shows only when it is asked for (``run.progress``, on by default), when stderr is a
terminal, and not inside a job of a ``-m`` sweep: parallel jobs would draw over each other's
bars, so a sweep says which job is done instead (:class:`SweepProgress`). A bar only reads counts
of finished work; it never touches a random stream or a result, so results are byte-identical with
and without it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hydra.experimental.callback import Callback

#: the environment variable that hands a sweep's job count to its jobs (set by ``preflight.cli``)
SWEEP_JOBS = "PREFLIGHT_SWEEP_JOBS"
_DONE_FILES = ("summary.json", "scorecard.json", "error.txt")  # a sweep job's folder once it ended


def in_sweep() -> bool:
    """Whether this process runs a job of a Hydra ``-m`` sweep."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:  # not running under Hydra
        return False


def shown(requested: bool, stream=None) -> bool:
    """Whether a bar asked for (``requested``) is drawn: on a terminal, outside sweep jobs."""
    stream = sys.stderr if stream is None else stream
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        terminal = False
    return bool(requested) and terminal and not in_sweep()


class Quiet:
    """The bar when none is drawn: counts nothing, shows nothing; notes (:meth:`write`, as tqdm's)
    are plain lines."""

    n = 0
    total = 0

    def update(self, n: int = 1) -> None:
        pass

    def refresh(self) -> None:
        pass

    def write(self, text: str, file=None) -> None:
        stream = sys.stderr if file is None else file
        stream.write(text + "\n")
        stream.flush()

    def close(self) -> None:
        pass

    def __enter__(self) -> Quiet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def bar(total: int, description: str, unit: str, requested: bool = True, stream=None):
    """A progress bar over ``total`` units of work (done / total, elapsed, rate and time left), or
    :class:`Quiet` when :func:`shown` says no. Use it as a context manager."""
    stream = sys.stderr if stream is None else stream
    if not shown(requested, stream):
        return Quiet()
    from tqdm import tqdm

    sized = _columns(stream) > 0  # a terminal that does not say its width gets a bar of 100 columns
    return tqdm(total=total, desc=description, unit=unit, file=stream, dynamic_ncols=sized,
                ncols=None if sized else 100, leave=True, smoothing=0.1, mininterval=0.5)


def _columns(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):  # not a real terminal (a test's stand-in)
        return 0


def day_counter(progress, tick_minutes: int, minutes_per_day: int):
    """A ``Site.run`` callback (called once per simulated day) that advances ``progress`` by days;
    None for a :class:`Quiet` bar (the site then calls nothing)."""
    if isinstance(progress, Quiet):
        return None

    def advance(done_ticks: int, total_ticks: int) -> None:
        day = done_ticks * tick_minutes // minutes_per_day
        if day > progress.n:
            progress.update(day - progress.n)

    return advance


def sweep_size(overrides: list[str]) -> int | None:
    """Jobs of a ``-m`` sweep over ``overrides`` (the product of each sweep's values), None if unknown."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        jobs = 1
        for override in parsed:
            if override.is_sweep_override():
                jobs *= len(list(override.sweep_string_iterator()))
        return jobs
    except (HydraException, ValueError, TypeError):  # a count for a progress note only
        return None


class SweepProgress(Callback):
    """Hydra callback: when a job of a ``-m`` sweep ends, one line on stderr says which one and how
    many of the sweep's jobs have ended (jobs in parallel draw no bars of their own)."""

    def on_job_end(self, config, job_return=None, **kwargs) -> None:
        from hydra.core.hydra_config import HydraConfig

        if not (config.get("run") or {}).get("progress", True) or not _stderr_is_terminal() or not in_sweep():
            return
        hydra = HydraConfig.get()
        sweep_dir = Path(str(hydra.sweep.dir))
        ended = sum(1 for child in _children(sweep_dir) if any((child / f).is_file() for f in _DONE_FILES))
        total = os.environ.get(SWEEP_JOBS, "")
        sys.stderr.write(f"preflight: sweep job #{hydra.job.num} done ({ended}{f' of {total}' if total else ''} "
                         f"jobs ended)\n")
        sys.stderr.flush()


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _children(folder: Path) -> list[Path]:
    try:
        return [c for c in folder.iterdir() if c.is_dir()]
    except OSError:
        return []
