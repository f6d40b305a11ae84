"""Sweeps: the joblib launcher (local default) and Ray give the same collected table.

Ray is an optional extra (``pip install .[ray]``); its test is skipped without it.
"""

import math
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from preflight.compose import compose
from preflight.run import simulate

GRID = ["seed=0,1", "run.days=5", "run.warmup_days=1", "run.progress=false"]
LAUNCHERS = {
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    # a private local Ray instance (address=local: never join a cluster left running on the machine);
    # to join a running cluster instead pass
    # hydra.launcher.ray.init.address=auto +hydra.launcher.ray.init.object_store_memory=null
    "ray": ["hydra/launcher=ray", "hydra.launcher.ray.init.address=local", "+hydra.launcher.ray.init.num_cpus=2",
            "+hydra.launcher.ray.init.include_dashboard=false"],
}


def sweep(launcher: str, root) -> dict:
    """Run the grid with ``launcher`` into an absolute sweep directory; the collected table."""
    sweep_dir = (root / launcher).resolve()  # absolute: Ray workers resolve paths themselves
    proc = subprocess.run([sys.executable, "-m", "preflight.cli", "run", "-m", *GRID, *LAUNCHERS[launcher],
                           f"hydra.sweep.dir={sweep_dir}"],
                          cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return pq.read_table(sweep_dir / "results.parquet").to_pydict()


@pytest.fixture(scope="module")
def joblib_table(tmp_path_factory):
    return sweep("joblib", tmp_path_factory.mktemp("sweeps"))


def test_joblib_sweep_collects_the_same_metrics_as_direct_runs(joblib_table):
    assert joblib_table["run_dir"] == ["0", "1"] and joblib_table["seed"] == [0, 1]
    for i, seed in enumerate(joblib_table["seed"]):
        _, settings = compose([f"seed={seed}", *GRID[1:]])
        for name, value in simulate(settings).metrics.items():
            expected = None if math.isnan(value) else value
            assert joblib_table[name][i] == expected, name


@pytest.mark.slow
def test_ray_sweep_gives_the_same_table_as_joblib(joblib_table, tmp_path):
    pytest.importorskip("ray")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    ray_table = sweep("ray", tmp_path)
    assert list(ray_table) == list(joblib_table)
    for column in ray_table:
        assert ray_table[column] == joblib_table[column], column
