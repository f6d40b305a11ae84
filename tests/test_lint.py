"""The code base stays lint-clean (ruff, configured in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed")
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run([ruff, "check", str(root)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
