"""Where a command's simulations run: joblib's loky processes on this machine (the default), or a
Ray instance (``ray=ADDRESS``): ``ray=local`` starts a private one on this machine, ``ray=auto``
or ``ray=ray://HOST:PORT`` joins a running cluster (``ray start --head`` on one node, ``ray start
--address=...`` on the others; every node needs the project installed, ``pip install ".[ray]"``).

On Ray, :func:`experiments.compare.in_parallel` sends each call as a Ray task (at most ``n_jobs`` at
a time) and takes results as they finish (joblib's Ray backend cannot: it does not return results
unordered, which the progress bars need); they are put back in the order asked, so where a run
happens never changes a result.
"""

from __future__ import annotations

import os
import re

LOCAL = "local"
#: ``ray=`` values: a private instance, the running cluster, or a cluster's address
ADDRESS = re.compile(r"local|auto|(ray://)?[A-Za-z0-9_.-]+:\d+")


class ClusterError(ValueError):
    """``ray=ADDRESS`` cannot be used (one line naming it)."""


def backend(address: str | None) -> str:
    """Where :func:`experiments.compare.in_parallel` runs for ``ray=ADDRESS``: ``"loky"`` (joblib's
    local processes) without one, else ``"ray"`` (Ray tasks, :func:`on_ray`), connecting to Ray first.

    Raises:
        ClusterError: Ray is not installed, or the address cannot be reached.
    """
    if not address:
        return "loky"
    if not ADDRESS.fullmatch(address):
        raise ClusterError(f"ray={address}: not a Ray address (allowed: local, auto, ray://HOST:PORT, HOST:PORT)")
    try:
        import ray
    except ImportError:
        raise ClusterError(f"ray={address}: Ray is not installed (allowed once installed: pip install '.[ray]')") from None
    if not ray.is_initialized():
        try:
            ray.init(address=None if address == LOCAL else address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as err:
            first = " ".join(str(err).split())[:160]
            raise ClusterError(f"ray={address}: cannot start or join Ray ({first}; allowed: local, auto, "
                               "ray://HOST:PORT)") from None
    return "ray"


def cores(n_jobs: int, backend_name: str) -> int:
    """Parallel runs for ``n_jobs`` (0 = every core: this machine's, or the Ray cluster's)."""
    if n_jobs:
        return n_jobs
    if backend_name == "ray":
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))
    return os.cpu_count() or 1


def on_ray(numbered, function, arguments: list[tuple], n_jobs: int):
    """``numbered(i, function, *a)`` for each of ``arguments`` as Ray tasks, at most ``n_jobs`` in
    flight; yields each ``numbered`` result as it finishes."""
    import ray

    task = ray.remote(numbered)
    waiting = list(enumerate(arguments))[::-1]
    running = []
    while waiting or running:
        while waiting and len(running) < max(n_jobs, 1):
            index, args = waiting.pop()
            running.append(task.remote(index, function, args))
        done, running = ray.wait(running, num_returns=1)
        yield ray.get(done[0])
