"""Members' Poisson clocks: per-member common random numbers, the right rates, no hidden state."""

from __future__ import annotations

import numpy as np

from agents.model import Site
from sim.arrivals import ACTIVITIES, _salt, next_actions
from sim.clock import MINUTES_PER_DAY
from tests.sites import small


def _planned(site: Site) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    site.step()  # the first tick plans the first day
    return {act: (p.users, p.times, p.keys) for act, p in site.arrivals._plan.items()}


def test_a_members_actions_do_not_depend_on_other_members():
    settings = small(days=3, warmup=0)
    full = Site(settings)
    fewer = Site(settings)
    users = fewer.users
    gone = fewer.arrivals.ids[::2].copy()  # half the members leave before the day is planned
    users.active[gone] = False
    users.refresh_block(gone)
    fewer.arrivals._drop_departed()
    a, b = _planned(full), _planned(fewer)
    for act in ACTIVITIES:
        stay = ~np.isin(a[act][0], gone)
        assert stay.sum() == b[act][0].size > 0
        for x, y in zip(a[act], b[act], strict=True):
            np.testing.assert_array_equal(x[stay], y)
        assert not np.isin(b[act][0], gone).any()


def test_actions_arrive_at_the_members_rates():
    site = Site(small(days=60, warmup=0))
    arrivals, clock = site.arrivals, site.clock
    planned = dict.fromkeys(ACTIVITIES, 0)
    for day in range(60):
        clock.minute = day * MINUTES_PER_DAY
        arrivals.plan_day()
        for act in ACTIVITIES:
            planned[act] += arrivals._plan[act].users.size
    # operational time is activity-weighted days: each member's expected count is rate x lam
    exposure = arrivals.lam[arrivals.bucket]
    assert 50 < exposure.mean() < 70
    for act in ACTIVITIES:
        expected = float((arrivals.rate[act] * exposure).sum())
        assert abs(planned[act] - expected) < 4 * np.sqrt(expected) + 1, (act, planned[act], expected)


def test_planning_does_not_depend_on_buffer_size():
    rng = np.random.default_rng(0)
    n = 5000
    ids = np.arange(n, dtype=np.int64) * 7
    bucket = rng.integers(0, 3, n).astype(np.int8)
    rate = rng.pareto(1.5, n) + 0.05
    nxt = rng.exponential(1 / rate)
    end = np.array([1.0, 1.5, 2.0])
    out = []
    for hint in (1, 10**6):
        state = (nxt.copy(), np.ones(n, dtype=np.uint64))
        out.append(next_actions(ids, bucket, rate, state[0], state[1], end, np.uint64(99), _salt("gap"), hint)
                   + state)
    for x, y in zip(*out, strict=True):
        np.testing.assert_array_equal(x, y)
    users, times, _, groups, after, _ = out[0]
    assert (times < end[groups]).all() and (after >= end[bucket]).all()
    assert np.isin(users, ids).all()
