"""Provenance: what code, packages and command produced a result (recorded in every output)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from sim.config import Settings

PACKAGES = ("mesa", "hydra-core", "omegaconf", "numpy", "scipy", "pandas", "pyarrow", "duckdb", "matplotlib")
MAX_LISTED_FILES = 100  # changed or untracked files named in the provenance (the count is always exact)


def git_state(root: str | os.PathLike | None = None) -> dict:
    """The code's git state: commit, and whether the tree differs from it.

    Untracked files count as a difference (a new lever module changes what runs).

    Args:
        root: A folder in the checkout (default: this package's).

    Returns:
        ``commit`` (``<sha>``, ``<sha>-dirty`` or ``unknown`` outside a checkout), ``dirty``,
        ``modified`` (tracked files changed or staged) and ``untracked`` (not ignored), each list at
        most ``MAX_LISTED_FILES`` long, with their full counts in ``modified_count`` and
        ``untracked_count``.
    """
    here = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    unknown = {"commit": "unknown", "dirty": None, "modified": [], "untracked": [], "modified_count": 0,
               "untracked_count": 0}
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return unknown
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=here,
                                capture_output=True, text=True, timeout=5)
        if status.returncode != 0:
            return unknown
    except (OSError, subprocess.SubprocessError):
        return unknown
    modified, untracked = [], []
    for line in status.stdout.splitlines():
        if len(line) > 3:
            (untracked if line.startswith("??") else modified).append(line[3:])
    dirty = bool(modified or untracked)
    return {"commit": out.stdout.strip() + ("-dirty" if dirty else ""), "dirty": dirty,
            "modified": modified[:MAX_LISTED_FILES], "untracked": untracked[:MAX_LISTED_FILES],
            "modified_count": len(modified), "untracked_count": len(untracked)}


def git_commit() -> str:
    """The commit of the code that ran (``-dirty`` with changed or untracked files; 'unknown' outside
    a git checkout)."""
    return git_state()["commit"]


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(settings: Settings, command: str | None = None, whatif: dict | None = None) -> dict:
    """Everything needed to reproduce a result: seed, command, code (commit, changed and untracked
    files), package versions and the what-if files' own YAML text.

    Args:
        settings: The run's settings.
        command: The command line (default: this process's).
        whatif: ``{group: {option, path, yaml}}`` from :func:`preflight.whatif.selected_files`.
    """
    default = os.environ.get("PREFLIGHT_COMMAND") or " ".join(["preflight", *sys.argv[1:]])
    git = git_state()
    return {"seed": settings.seed, "command": command if command is not None else default,
            "git_commit": git["commit"], "git_dirty": git["dirty"], "git_modified": git["modified"],
            "git_untracked": git["untracked"], "git_modified_count": git["modified_count"],
            "git_untracked_count": git["untracked_count"], "packages": package_versions(),
            "whatif": whatif or {}}


