"""Per-tick scans over the hot window (the last few days of posts), as compiled loops.

Answering and accepting look at every recent question each tick; written as numpy expressions
each scan takes a dozen passes over the window, as one loop it takes one. The loops only read the
posts table; the callers draw every random number from their named streams or action keys.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.population import Kind
from sim.store import NONE, Harm, PostType, State

#: codes as plain integers for the compiled loops
QUESTION, LIVE, HIDDEN = int(PostType.QUESTION), int(State.LIVE), int(State.HIDDEN)
MEMBER, NO_HARM, WRONG_AI = int(Kind.MEMBER), int(Harm.NONE), int(Harm.WRONG_AI)


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


#: the askers' parameters of :func:`askers_return`, in the order of its ``params`` array
ACCEPT_PARAMS = ("return_established", "return_newcomer", "return_activity_half", "found_elsewhere_share",
                 "self_answer_share", "return_minutes", "solved_prob", "wrong_prob", "quality_power",
                 "harmful_prob", "self_accept_wait_min", "newcomer_min")


@njit(cache=True, inline="always")
def _mix(x):
    """SplitMix64's finaliser (as :func:`sim.arrivals.mix64`; kept beside its kernels: numba's
    cache sees changes only in the file of the function it compiled)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, inline="always")
def _post_uniform(key, salt):
    """A uniform in (0, 1) for one decision (its ``salt``) about a post (its ``key``)."""
    return ((_mix(key ^ salt) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _post_key(base, owner, created):
    """A post's key: a hash of ``base`` (the run's key, or the question's for an answer) and of who
    wrote it when, not of its row id (which shifts when anything earlier changes), so an asker
    decides alike in baseline and scenario."""
    x = (np.uint64(owner) << np.uint64(32)) | np.uint64(created)
    return _mix(base ^ (x * np.uint64(0x9E3779B97F4A7C15)))


@njit(cache=True)
def _asker_plan(q, owner, created, user_kind, activity, joined, run_key, salts, params):
    """What the asker of question ``q`` will do: 0 never returns (or has found the answer
    elsewhere and posts nothing), 1 returns to read the answers, 2 posts their own answer (found
    elsewhere) and considers only it."""
    a = owner[q]
    if user_kind[a] != MEMBER:
        return 0
    key = _post_key(run_key, a, created[q])
    newcomer = created[q] - joined[a] < params[11]
    base = params[1] if newcomer else params[0]
    p_return = base * activity[a] / (activity[a] + params[2])
    if _post_uniform(key, salts[0]) >= p_return:
        return 0
    if _post_uniform(key, salts[1]) >= params[3]:
        return 1
    return 2 if _post_uniform(key, salts[2]) < params[4] else 0


@njit(cache=True)
def askers_return(lo, hi, t0, t1, kind, parent, owner, created, state, accepted, answers, correct, quality, harm,
                  user_kind, activity, joined, run_key, salts, params):
    """One pass over the window: the askers who look at an answer in the tick ``[t0, t1)`` and
    accept it, and those who post their own answer in it (see :data:`ACCEPT_PARAMS`).

    The asker looks at each answer once, an exponential time after it arrives (the notification),
    at a self-answer never before ``self_accept_wait_min`` after asking, and accepts it with a chance
    by its correctness and quality; of answers accepted in one tick the earliest counts. Returns
    ``(questions, answers, minutes)`` accepted and ``(questions, minutes)`` self-answered."""
    n = hi - lo
    plan = np.full(n, -1, dtype=np.int8)  # the asker's plan per question of the window, when needed
    best_at = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    best = np.full(n, -1, dtype=np.int64)
    self_q, self_t = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    k = 0
    for j in range(lo, hi):
        if state[j] >= HIDDEN:
            continue
        is_question = kind[j] == QUESTION
        q = j if is_question else parent[j]
        if q < lo or accepted[q] != NONE or state[q] >= HIDDEN:
            continue
        i = q - lo
        if plan[i] < 0:
            plan[i] = _asker_plan(q, owner, created, user_kind, activity, joined, run_key, salts, params)
        if plan[i] == 0:
            continue
        qkey = _post_key(run_key, owner[q], created[q])
        if is_question:
            if plan[i] == 2 and state[q] == LIVE:  # the self-answer, when the asker comes back
                at = created[q] + np.int64(-params[5] * np.log(_post_uniform(qkey, salts[3])))
                if t0 <= at < t1:
                    self_q[k], self_t[k] = q, at
                    k += 1
            continue
        own = owner[j] == owner[q]
        if own != (plan[i] == 2):
            continue  # who found it elsewhere reads only their own answer, others never their own
        akey = _post_key(qkey, owner[j], created[j])
        at = created[j] + np.int64(-params[5] * np.log(_post_uniform(akey, salts[4])))
        if own:
            at = max(at, created[q] + np.int64(params[10]))
        if not (t0 <= at < t1) or at >= best_at[i]:
            continue
        p = (params[6] if correct[j] else params[7]) * quality[j] ** params[8]
        if harm[j] != NO_HARM and harm[j] != WRONG_AI:
            p = params[9]
        if _post_uniform(akey, salts[5]) < p:
            best_at[i], best[i] = at, j
    chosen = np.flatnonzero(best >= 0)
    return chosen + lo, best[chosen], best_at[chosen], self_q[:k], self_t[:k]
