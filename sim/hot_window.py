"""Per-tick scans over the hot window (the last few days of posts), as compiled loops.

Answering and accepting look at every recent question each tick; written as numpy expressions
each scan takes a dozen passes over the window, as one loop it takes one. The answering loops only
read the posts table, and their callers draw every random number from named streams or action
keys. The askers' loops write one column, ``asker_acts_at``: :func:`plan_askers` draws each
asker's plan once per post from a hash of who wrote it when (common random numbers between
baseline and scenario), and :func:`askers_due` clears each plan as it falls due.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.population import Kind
from sim.store import NONE, Harm, PostType, State

#: codes as plain integers for the compiled loops
QUESTION, LIVE, HIDDEN = int(PostType.QUESTION), int(State.LIVE), int(State.HIDDEN)
MEMBER, NO_HARM, WRONG_AI = int(Kind.MEMBER), int(Harm.NONE), int(Harm.WRONG_AI)
#: minutes are int32 timestamps: ``question * MINUTE_SPAN + minute`` orders by question, then minute
MINUTE_SPAN = np.int64(1) << np.int64(32)


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


#: the askers' parameters of :func:`plan_askers`, in the order of its ``params`` array
ASKER_PARAMS = ("return_established", "return_newcomer", "return_activity_half", "found_elsewhere_share",
                "self_answer_share", "return_minutes", "solved_prob", "wrong_prob", "quality_power",
                "harmful_prob", "self_accept_wait_min", "newcomer_min")
#: the askers' decisions, in the order of :func:`plan_askers`'s ``salts`` array
ASKER_DECISIONS = ("return", "elsewhere", "self_answer", "self_answer_at", "read_at", "accept")
#: what a question's asker does (:func:`_asker_plan`)
NEVER_RETURNS, READS_ANSWERS, ANSWERS_ITSELF = 0, 1, 2


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
    """What the asker of question ``q`` does, from the question's key: a member comes back with a
    chance by tenure at asking (newcomers less) and activity (``READS_ANSWERS``); some who come
    back found the answer elsewhere, and some of those post it themselves (``ANSWERS_ITSELF``);
    the rest, and bad actors, never act on the answers (``NEVER_RETURNS``)."""
    a = owner[q]
    if user_kind[a] != MEMBER:
        return NEVER_RETURNS
    key = _post_key(run_key, a, created[q])
    newcomer = created[q] - joined[a] < params[11]
    base = params[1] if newcomer else params[0]
    p_return = base * activity[a] / (activity[a] + params[2])
    if _post_uniform(key, salts[0]) >= p_return:
        return NEVER_RETURNS
    if _post_uniform(key, salts[1]) >= params[3]:
        return READS_ANSWERS
    return ANSWERS_ITSELF if _post_uniform(key, salts[2]) < params[4] else NEVER_RETURNS


@njit(cache=True)
def plan_askers(lo, hi, kind, parent, owner, created, correct, quality, harm, user_kind, activity, joined, run_key,
                salts, params, asker_acts_at):
    """New posts ``[lo, hi)``: when their asker will act on them (``asker_acts_at``; parameters in
    :data:`ASKER_PARAMS`). A question whose asker found the answer elsewhere gets the minute they
    post it. An answer the asker reads (others' answers, or for who answers it themselves only
    their own) gets, if they will accept it, the minute they do: an exponential time after it
    arrives (the notification), a self-answer never sooner than ``self_accept_wait_min`` after
    asking; the chance to accept is by its correctness and hidden quality."""
    for j in range(lo, hi):
        q = j if kind[j] == QUESTION else parent[j]
        if q < 0:
            continue
        plan = _asker_plan(q, owner, created, user_kind, activity, joined, run_key, salts, params)
        if plan == NEVER_RETURNS:
            continue
        qkey = _post_key(run_key, owner[q], created[q])
        if q == j:
            if plan == ANSWERS_ITSELF:
                asker_acts_at[j] = created[j] + np.int64(-params[5] * np.log(_post_uniform(qkey, salts[3])))
            continue
        own = owner[j] == owner[q]
        if own != (plan == ANSWERS_ITSELF):
            continue  # who found it elsewhere reads only their own answer, others never their own
        akey = _post_key(qkey, owner[j], created[j])
        p = (params[6] if correct[j] else params[7]) * quality[j] ** params[8]
        if harm[j] != NO_HARM and harm[j] != WRONG_AI:
            p = params[9]
        if _post_uniform(akey, salts[5]) >= p:
            continue
        at = created[j] + np.int64(-params[5] * np.log(_post_uniform(akey, salts[4])))
        if own:
            at = max(at, created[q] + np.int64(params[10]))
        asker_acts_at[j] = at


@njit(cache=True)
def askers_due(lo, hi, t1, kind, parent, state, accepted, asker_acts_at):
    """One pass over the window: what askers do before ``t1``, as :func:`plan_askers` planned it
    (``asker_acts_at``: on an answer the minute its asker accepts it, on a question the minute its
    asker posts their own answer; ``NONE`` for nothing). Each plan falls due once and is cleared.

    Returns ``(questions, answers, minutes)`` to accept (per question the earliest answer due,
    while the question is visible and unaccepted) and ``(questions, minutes)`` to self-answer."""
    n = hi - lo
    cand_q, cand_a, cand_t = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    self_q, self_t = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    c = k = 0
    for j in range(lo, hi):
        at = asker_acts_at[j]
        if at == NONE or at >= t1:
            continue
        asker_acts_at[j] = NONE
        if kind[j] == QUESTION:
            if state[j] == LIVE:
                self_q[k], self_t[k] = j, at
                k += 1
            continue
        q = parent[j]
        if q >= lo and state[j] < HIDDEN and state[q] < HIDDEN and accepted[q] == NONE:
            cand_q[c], cand_a[c], cand_t[c] = q, j, at
            c += 1
    order = np.argsort(cand_q[:c] * MINUTE_SPAN + cand_t[:c])  # by question, then minute
    first = np.ones(c, dtype=np.bool_)
    for i in range(1, c):
        first[i] = cand_q[order[i]] != cand_q[order[i - 1]]
    pick = order[first]
    return cand_q[pick], cand_a[pick], cand_t[pick], self_q[:k], self_t[:k]
