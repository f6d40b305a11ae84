"""Per-tick scans over the hot window (the last few days of posts), as compiled loops.

Answering and accepting look at every recent question each tick; written as numpy expressions
each scan takes a dozen passes over the window, as one loop it takes one. The loops only read the
posts table; the callers draw every random number from their named streams or action keys.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.store import NONE, PostType, State

#: codes as plain integers for the compiled loops
QUESTION, LIVE, HIDDEN = int(PostType.QUESTION), int(State.LIVE), int(State.HIDDEN)


@njit(cache=True)
def answer_pool(lo, hi, now, kind, state, staged, created, published_at, quality, answers, recency, crowding,
                quality_base):
    """Live, public questions of the window and the running sum of their pull on answerers:
    ``(quality_base + quality) * recency[minutes since publication] * crowding[answers so far]``."""
    n = hi - lo
    ids = np.empty(n, dtype=np.int64)
    cum = np.empty(n)
    k = 0
    total = 0.0
    last_age, last_answers = recency.size - 1, crowding.size - 1
    for j in range(lo, hi):
        if kind[j] != QUESTION or state[j] != LIVE or staged[j]:
            continue
        public = max(created[j], published_at[j])  # published_at is NONE or later than creation
        age = min(max(now - public, 0), last_age)
        total += (quality_base + quality[j]) * recency[age] * crowding[min(answers[j], last_answers)]
        ids[k] = j
        cum[k] = total
        k += 1
    return ids[:k], cum[:k]


@njit(cache=True)
def open_duplicates(lo, hi, duplicate, state, staged):
    """Live, public questions of the window that duplicate an earlier one."""
    out = np.empty(hi - lo, dtype=np.int64)
    k = 0
    for j in range(lo, hi):
        if duplicate[j] and state[j] == LIVE and not staged[j]:
            out[k] = j
            k += 1
    return out[:k]


@njit(cache=True)
def unaccepted_answered(lo, hi, kind, answers, accepted, state):
    """Visible questions of the window that have answers and no accepted answer."""
    out = np.empty(hi - lo, dtype=np.int64)
    k = 0
    for j in range(lo, hi):
        if kind[j] == QUESTION and answers[j] > 0 and accepted[j] == NONE and state[j] < HIDDEN:
            out[k] = j
            k += 1
    return out[:k]


@njit(cache=True)
def visible_answers_to(lo, hi, parent, state, chosen):
    """Visible posts of the window whose parent is one of ``chosen`` (question ids >= ``lo``)."""
    picked = np.zeros(hi - lo, dtype=np.bool_)
    for q in chosen:
        picked[q - lo] = True
    out = np.empty(hi - lo, dtype=np.int64)
    k = 0
    for j in range(lo, hi):
        p = parent[j]
        if p >= lo and picked[p - lo] and state[j] < HIDDEN:
            out[k] = j
            k += 1
    return out[:k]
