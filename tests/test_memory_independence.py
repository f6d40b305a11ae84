"""A run's results cannot depend on what was in memory before it: not on the bytes glibc leaves in
fresh allocations, and not on a previous simulation in the same worker (``preflight compare`` runs
several simulations per worker process).

Reading an array slot before it is written (an ``np.empty`` column, capacity reserved but not yet
initialised, index ``NONE`` = -1 landing on the last reserved row) gives zeros in a fresh process,
where large allocations are fresh pages, and garbage in a worker that already ran a simulation.
``MALLOC_PERTURB_`` makes such reads visible in a single fresh process: glibc fills every fresh
allocation with the complement of the given byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.bad_actors import Harasser
from agents.model import Site
from sim.review_queues import ReviewQueue
from sim.store import NONE, Action, review_tasks_table
from tests.sites import small

#: The full-scale case from issue 11 (comment-civility on the 2018 site, seed 3), shortened to ten
#: days: its first harasser sanctioned between two accounts comes on day 0, and the lever launches
#: on day 7.
CASE = ["site=stackoverflow_2018", "scenario=comment_civility", "run.days=10", "run.warmup_days=1",
        "run.progress=false"]
CASE_SEED = 3
#: Another seed of the same case, simulated first in the reused worker.
EARLIER_SEED = 4
#: glibc fills fresh allocations with the complement of this byte: 0x5A5A5A5A (a large positive
#: int32) for 165 and 0xA4A4A4A4 (a negative one) for 91, so a read of unwritten memory is caught
#: whichever sign changes its outcome.
PERTURB_BYTES = (165, 91)
#: What must be identical (provenance names the command and differs by design).
COMPARED = ("metrics", "fairness", "events")
TIMEOUT_S = 300
#: Stands for whatever a previous simulation left in a row that was never written.
LEFTOVER_SUSPENSION_END = np.iinfo(np.int32).max


def test_suspension_of_a_given_up_account_reads_no_unwritten_row():
    """A moderator can suspend an account its harasser already gave up (after a ban): the actor,
    between accounts, must not read ``users[NONE]``, the last reserved row, which is never written."""
    site = Site(small(days=2, warmup=1))
    actor = next(a for a in site.bad_actors if isinstance(a, Harasser))
    actor.leave_account()
    assert actor.account == NONE
    comeback = actor.comeback_at
    site.users.suspended_until[NONE] = LEFTOVER_SUSPENSION_END
    actor.on_sanction(Action.SUSPEND)
    assert actor.comeback_at == comeback  # not banned a second time: no new comeback drawn


def _run(tmp_path: Path, name: str, overrides: list[str], perturb: int | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_PERTURB_"}
    if perturb is not None:
        env["MALLOC_PERTURB_"] = str(perturb)
    proc = subprocess.run([sys.executable, "-m", "preflight.cli", "run", *overrides], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"{name}: " + proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def _summary(run_dir: Path, seed: int) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["seed"] == seed
    return {key: summary[key] for key in COMPARED}


def _differences(got: dict, want: dict) -> str:
    """How two summaries differ, in a line: the metrics that changed, harm exposure first."""
    changed = [k for k in want["metrics"] if got["metrics"].get(k) != want["metrics"][k]]
    changed.sort(key=lambda k: k != "harm_exposure")
    shown = ", ".join(f"{k} {got['metrics'].get(k)} vs {want['metrics'][k]}" for k in changed[:3])
    return f"{len(changed)} of {len(want['metrics'])} metrics differ ({shown}); events {got['events']} vs {want['events']}"


def _fresh(tmp_path: Path, perturb: int | None) -> dict:
    out = (tmp_path / f"fresh_perturb_{perturb}").resolve()
    _run(tmp_path, out.name, [*CASE, f"seed={CASE_SEED}", f"hydra.run.dir={out}"], perturb)
    return _summary(out, CASE_SEED)


def test_review_queue_growth_leaves_new_posts_unqueued():
    """Growing a queue's by-post flags for new post ids must not copy old flags onto them."""
    queue = ReviewQueue(None, "first_questions", 0, review_tasks_table(16))
    early = np.arange(3)
    queue.add(early, time=0)
    beyond = queue._queued.size + early  # post ids past the flags' current size
    queue.add(beyond, time=1)
    assert queue.items.tolist() == [*early, *beyond]


@pytest.mark.slow
def test_full_scale_summary_does_not_depend_on_memory_contents(tmp_path):
    reference = _fresh(tmp_path, None)
    for perturb in PERTURB_BYTES:
        got = _fresh(tmp_path, perturb)
        assert got == reference, f"MALLOC_PERTURB_={perturb}: " + _differences(got, reference)
    # one process, two simulations in a row (Hydra's basic launcher runs a sweep's jobs in-process)
    sweep = (tmp_path / "reused_worker").resolve()
    _run(tmp_path, sweep.name, ["-m", *CASE, f"seed={EARLIER_SEED},{CASE_SEED}", f"hydra.sweep.dir={sweep}"])
    got = _summary(sweep / "1", CASE_SEED)
    assert got == reference, "after another run in the same worker: " + _differences(got, reference)
