"""CI smoke benchmark: fails only on a gross slowdown (3x the recorded figure), never on noise.

The reference is ``benchmarks/results/smoke_reference.json``, recorded on this machine class with
``python benchmarks/throughput.py --smoke --out benchmarks/results/smoke_reference.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "benchmarks" / "results" / "smoke_reference.json"


@pytest.mark.slow
def test_no_gross_slowdown(tmp_path):
    out = tmp_path / "smoke.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "throughput.py"), "--smoke", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(out.read_text())["rows"][0]
    ref = json.loads(REFERENCE.read_text())["rows"][0]
    assert got["events"] > 0 and got["peak_rss_mb"] > 0
    assert got["run_s"] <= 3.0 * ref["run_s"], (
        f"smoke benchmark took {got['run_s']:.2f} s, more than 3x the recorded {ref['run_s']:.2f} s")
