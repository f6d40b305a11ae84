"""How a run's close queue works, per question: a diagnostic for comparing sites of different sizes.

    python benchmarks/close_queue_scale.py site=small population=calibrated_small seed=2001 run.days=90 run.warmup_days=44
    python benchmarks/close_queue_scale.py site=stackoverflow_2018 population=calibrated_small seed=2001 run.days=75 run.warmup_days=30

Any Hydra override of ``preflight run`` is accepted. It reads the run's own tables afterwards
(nothing is patched) and prints one JSON line over the questions asked after the warm-up and at
least 14 days before the end (time to close): questions a day and per registered account at the
end, the close-worthy share, the closed share and the hours to closure (25th, 50th, 75th
percentile) of close-worthy questions and who closed them, close votes, close tasks and close
reviews per question, reviews per task, and the tasks' end states. The same counts on two sites
show where a per-capita fit stops carrying over (docs/calibration.md, "Scale").
"""

from __future__ import annotations

import json
import sys

import numpy as np

from preflight.compose import compose
from preflight.run import build_site
from sim.clock import MINUTES_PER_DAY
from sim.review_queues import QUEUE_NAMES
from sim.store import Closer, PostType, ReviewTaskState, VoteType


def measure(overrides: list[str]) -> dict:
    _, settings = compose(overrides)
    site = build_site(settings)
    site.run()
    posts, votes, tasks, results = site.posts, site.votes, site.review_tasks, site.review_results
    n = posts.n
    start = int(settings.run.warmup_days * MINUTES_PER_DAY)
    stop = int(site.clock.minute) - 14 * MINUTES_PER_DAY
    created = posts.created[:n]
    asked = (posts.kind[:n] == PostType.QUESTION) & (created >= start) & (created < stop)
    worthy = asked & posts.close_worthy[:n]
    closed = worthy & (posts.closed_at[:n] >= 0)
    hours = (posts.closed_at[:n][closed] - created[closed]) / 60.0
    n_q = int(asked.sum())
    per_q = 1.0 / max(n_q, 1)
    on_asked = asked[votes.post[: votes.n][votes.vote_type[: votes.n] == VoteType.CLOSE]]
    close_q = QUEUE_NAMES.index("close")
    task_ids = np.flatnonzero((tasks.queue[: tasks.n] == close_q) & ~tasks.audit[: tasks.n])
    task_ids = task_ids[asked[tasks.post[task_ids]]]
    is_task = np.zeros(tasks.n, dtype=bool)
    is_task[task_ids] = True
    reviews = int(is_task[results.task[: results.n][~results.audit[: results.n]]].sum())
    states = np.bincount(tasks.state[task_ids], minlength=max(ReviewTaskState) + 1)
    days = (stop - start) / MINUTES_PER_DAY
    return {
        "questions_per_day": round(n_q / days, 2),
        "questions_per_day_per_account": round(n_q / days / site.users.n, 6),
        "close_worthy_share": round(worthy.sum() * per_q, 4),
        "close_worthy_closed_share": round(closed.sum() / max(worthy.sum(), 1), 4),
        "close_worthy_hours_to_close_p25_p50_p75": [round(float(x), 1) for x in np.percentile(hours, [25, 50, 75])]
        if hours.size else None,
        "close_worthy_closed_by": {c.name.lower(): int((posts.closer[:n][closed] == c).sum()) for c in Closer if c},
        "close_votes_per_question": round(float(on_asked.sum()) * per_q, 4),
        "close_tasks_per_question": round(task_ids.size * per_q, 4),
        "close_reviews_per_question": round(reviews * per_q, 4),
        "close_reviews_per_task": round(reviews / max(task_ids.size, 1), 3),
        "close_task_states": {s.name.lower(): int(states[s]) for s in ReviewTaskState},
    }


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1:])))
