"""Progress bars: drawn on a terminal only, never inside sweep jobs, and never changing a result."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from experiments.compare import in_parallel
from preflight import progress

SHORT = ["run.days=3", "run.warmup_days=1"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_only_on_a_terminal_and_outside_sweep_jobs(monkeypatch):
    screen = Terminal()
    with progress.bar(3, "strike vs baseline", "run", True, stream=screen) as runs:
        runs.update(3)
    assert "strike vs baseline" in screen.getvalue() and "3/3" in screen.getvalue()
    assert isinstance(progress.bar(3, "x", "run", True, stream=io.StringIO()), progress.Quiet)  # a pipe or file
    assert isinstance(progress.bar(3, "x", "run", False, stream=Terminal()), progress.Quiet)  # run.progress=false
    monkeypatch.setattr(progress, "in_sweep", lambda: True)
    assert isinstance(progress.bar(3, "x", "run", True, stream=Terminal()), progress.Quiet)


def _slow_square(i: int, n: int) -> int:
    time.sleep(0.2 * (n - i))  # the last task finishes first
    return i * i


def test_runs_in_parallel_advance_the_bar_as_they_finish_and_keep_their_order():
    class Count:
        n = 0

        def update(self, k: int = 1) -> None:
            self.n += k

    counted = Count()
    assert in_parallel(_slow_square, [(i, 4) for i in range(4)], 2, counted) == [0, 1, 4, 9]
    assert counted.n == 4


def run_on_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """``preflight ARGS`` with stderr on a pseudo-terminal: (exit code, what the terminal showed)."""
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 rows, 120 columns
    proc = subprocess.Popen([sys.executable, "-m", "preflight.cli", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    shown = b""
    while True:
        ready, _, _ = select.select([main], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the process closed its end
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(main)
    return proc.wait(timeout=300), shown.decode(errors="replace")


def _results(folder: Path) -> tuple[dict, object]:
    summary = json.loads((folder / "summary.json").read_text())
    return ({k: summary[k] for k in ("metrics", "fairness", "events", "seed")},
            pq.read_table(folder / "timeseries.parquet").to_pandas())


def test_a_run_alone_draws_a_bar_over_its_days_and_the_results_do_not_change(tmp_path):
    code, shown = run_on_terminal(["run", *SHORT, f"hydra.run.dir={tmp_path / 'bar'}"], tmp_path)
    assert code == 0, shown
    assert "baseline seed 0" in shown and "3/3" in shown and "day" in shown, shown
    quiet = subprocess.run([sys.executable, "-m", "preflight.cli", "run", *SHORT, f"hydra.run.dir={tmp_path / 'quiet'}"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and "3/3" not in quiet.stderr and "\r" not in quiet.stderr  # not a terminal
    (metrics_bar, series_bar), (metrics_quiet, series_quiet) = _results(tmp_path / "bar"), _results(tmp_path / "quiet")
    assert metrics_bar == metrics_quiet and series_bar.equals(series_quiet)


@pytest.mark.slow
def test_a_comparison_draws_one_bar_over_its_runs_and_the_results_do_not_change(tmp_path):
    args = ["compare", "scenario=more_moderators", "scenario.launch_day=1", "replicates=2", "run.days=5",
            "run.warmup_days=1", "compare.jobs=2"]
    code, shown = run_on_terminal([*args, f"compare.out={tmp_path / 'bar'}"], tmp_path)
    assert code in (0, 1, 3), shown
    assert "more_moderators vs baseline" in shown and "4/4" in shown and "run" in shown, shown
    assert "seed 0" not in shown  # the runs inside the comparison draw no bars of their own
    quiet = subprocess.run([sys.executable, "-m", "preflight.cli", *args, f"compare.out={tmp_path / 'quiet'}"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert quiet.returncode == code and "4/4" not in quiet.stderr

    def results(folder: Path) -> dict:
        comparison = json.loads((folder / "comparison.json").read_text())
        return {k: v for k, v in comparison.items() if k not in ("provenance", "wall_time_s")}

    assert results(tmp_path / "bar") == results(tmp_path / "quiet")
