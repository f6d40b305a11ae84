"""Output folders and files.

- Default folders get a name no other command can get (time to the microsecond, the process id and
  a counter) and are created with ``exist_ok=False``: two commands started in the same second never
  share a folder.
- A folder is prepared (created, and a probe file written) before any simulation, so an unwritable
  or invalid path fails in a second, not after hours; and only after validation, so a refused
  command leaves nothing behind.
- A folder that already holds another run's results is refused: results never overwrite another's.
- Files get the mode the user's umask gives a new file (``tempfile.mkstemp`` makes them 0600).
- :func:`say` prints a line and also sends it to the run's log (Hydra's ``cli.log`` in the folder).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from sim.config import ConfigError

# files that mark a folder as holding results (a run, a comparison, a collected sweep, a screening,
# a calibration, a validation)
RESULT_FILES = ("summary.json", "comparison.json", "scorecard.json", "results.parquet", "sensitivity.json",
                "calibration.json", "validation.json")
MAX_ATTEMPTS = 1000  # names tried before giving up (each one already unique to this process and microsecond)
NEW_FILE_MODE = 0o666  # what open() asks for; the umask takes bits away
LOG = logging.getLogger("preflight")
LOG.addHandler(logging.NullHandler())  # outside Hydra nothing is logged (and nothing printed twice)


class OutputError(ConfigError):
    """An output folder that cannot be used; one line naming the key, the path and why."""


def stamp() -> str:
    """``YYYY-mm-dd_HH-MM-SS-ffffff-p<pid>``: unique to this process and microsecond."""
    return f"{datetime.now():%Y-%m-%d_%H-%M-%S-%f}-p{os.getpid()}"


def new_folder(parent: str | os.PathLike, stem: str = "", key: str = "output folder",
               stamp_first: bool = False) -> Path:
    """Create a new, empty folder ``parent/<stem>_<stamp>`` (``<stamp>_<stem>`` with ``stamp_first``)
    that no other command can also get.

    Raises:
        OutputError: ``parent`` cannot be created or written.
    """
    parent = Path(parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(MAX_ATTEMPTS):
            parts = (stamp(), stem) if stamp_first else (stem, stamp())
            name = "_".join(p for p in parts if p) + (f"-{attempt}" if attempt else "")
            try:
                folder = parent / name
                folder.mkdir(exist_ok=False)
            except FileExistsError:
                continue
            _probe(folder)
            return folder
    except OSError as err:
        raise OutputError(f"{key}={parent}: cannot create a folder there ({_reason(err)})") from None
    raise OutputError(f"{key}={parent}: no fresh folder name after {MAX_ATTEMPTS} attempts")


def prepare(folder: str | os.PathLike, key: str) -> Path:
    """Check a given output folder before any simulation: create it (and its parents), write a probe.

    Args:
        folder: The folder (``compare.out``, ``hydra.run.dir``, ``hydra.sweep.dir``, ``--out``).
        key: Its name in messages.

    Raises:
        OutputError: Not a folder, not writable, or already holding results.
    """
    folder = _fresh(folder, key)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _probe(folder)
    except OSError as err:
        raise OutputError(f"{key}={folder}: cannot write there ({_reason(err)})") from None
    return folder


def _fresh(folder: str | os.PathLike, key: str) -> Path:
    """``folder`` as a path, refused if it already holds another run's results."""
    folder = Path(folder)
    found = holds_results(folder)
    if found:
        raise OutputError(f"{key}={folder}: already holds results ({found}); results never overwrite another "
                          f"run's (allowed: a new or empty folder)")
    return folder


def check_writable(folder: str | os.PathLike, key: str, fresh: bool = True) -> Path:
    """:func:`prepare` without creating anything: the folder, or its nearest existing parent, must be
    a writable folder (for commands that validate their own input later and create the folder then).
    ``fresh=False`` for a parent the command will make a new folder in (:func:`new_folder`), which
    may hold other runs' folders.

    Raises:
        OutputError: Not a folder, not writable, or (``fresh``) already holding results.
    """
    folder = _fresh(folder, key) if fresh else Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory")
        _probe(existing)
    except OSError as err:
        raise OutputError(f"{key}={folder}: cannot write there ({_reason(err)})") from None
    return folder


def holds_results(folder: Path) -> str | None:
    """The first result file in ``folder`` or one level below (None if there is none)."""
    if not folder.is_dir():
        return None
    for name in RESULT_FILES:
        if (folder / name).is_file():
            return name
    try:
        children = [c for c in folder.iterdir() if c.is_dir()]
    except OSError:
        return None
    for child in sorted(children):
        for name in RESULT_FILES:
            if (child / name).is_file():
                return f"{child.name}/{name}"
    return None


def _probe(folder: Path) -> None:
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".preflight-probe-")
    os.close(fd)
    os.unlink(probe)


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def file_mode() -> int:
    """The mode the user's umask gives a new file (read each time: a library caller may change it)."""
    return NEW_FILE_MODE & ~_umask()


def _umask() -> int:
    try:  # Linux: read without setting it (setting and restoring races with other threads' files)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def say(text: str, error: bool = False) -> None:
    """Print ``text`` (stdout, or stderr when ``error``) and send it to the run's log."""
    print(text, file=sys.stderr if error else sys.stdout, flush=error)
    for line in str(text).splitlines():
        if line.strip():
            (LOG.warning if error else LOG.info)(line)
