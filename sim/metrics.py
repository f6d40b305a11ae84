"""The metrics of DESIGN.md section 4: a daily time series and a summary over the measurement window.

Names are binding; every report uses them. :data:`DIRECTIONS` says whether higher is better or
worse. All measures are computed from the content store against ground truth, so harm and
wrongful actions count what content really was, not what the site decided.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.clock import MINUTES_PER_DAY
from sim.population import Kind
from sim.store import (
    NONE,
    Cause,
    Closer,
    CloseReason,
    FlagStatus,
    Harm,
    PostType,
    Source,
    Tone,
    unique_ids,
)

if TYPE_CHECKING:
    from sim.model import Site

WORSE, BETTER, NEUTRAL = "lower_is_better", "higher_is_better", "neutral"

DIRECTIONS: dict[str, str] = {
    "harm_exposure": WORSE, "harm_exposure_per_1k_views": WORSE, "prevalence": WORSE,
    "harm_exposure_spam": WORSE, "harm_exposure_abusive": WORSE, "harm_exposure_harassment": WORSE,
    "harm_exposure_wrong_ai": WORSE,
    "time_to_removal_min_p50": WORSE, "time_to_removal_min_p90": WORSE, "never_removed_share": WORSE,
    "proactive_rate": BETTER,
    "wrongful_actions": WORSE, "wrongful_rate": WORSE, "appeals_upheld": NEUTRAL,
    "victimization": WORSE, "victim_churn": WORSE, "nonvictim_churn": NEUTRAL, "victim_churn_ratio": WORSE,
    "newcomer_closed_share": WORSE, "newcomer_downvoted_share": WORSE, "newcomer_unwelcome_share": WORSE,
    "newcomer_return_30d": BETTER, "closed_newcomer_return_30d": BETTER,
    "flags_per_day": NEUTRAL, "flag_queue_backlog": WORSE, "queue_time_p50_min": WORSE, "queue_time_p90_min": WORSE,
    "minutes_per_moderator": WORSE, "escalations_per_day": NEUTRAL, "moderator_resignations": WORSE,
    "questions_per_day": BETTER, "answered_share": BETTER, "time_to_first_answer_p50_min": WORSE,
    "accepted_share": BETTER, "active_contributors": BETTER, "closure_rate": NEUTRAL,
    "answers_per_question": BETTER, "upvotes_per_day": NEUTRAL, "downvotes_per_day": NEUTRAL,
    "comments_per_day": NEUTRAL, "community_share_of_closures": NEUTRAL, "duplicate_share_of_closures": NEUTRAL,
    "question_flags_per_day": NEUTRAL, "moderator_share_of_flag_handling": NEUTRAL, "spam_posts_per_day": WORSE,
    "spam_autoflag_precision": BETTER, "unfriendly_comment_share": WORSE, "moderators": NEUTRAL,
    "top1pct_reputation_share": NEUTRAL, "share_posters_with_at_most_two_posts": NEUTRAL,
    "fraud_reputation": WORSE, "ban_evasions": WORSE, "answer_activity_days_exponent": NEUTRAL,
}

FAIRNESS_METRICS = ("wrongful_rate", "newcomer_closed_share", "newcomer_unwelcome_share", "victimization_rate")
DIRECTIONS.update({f"{name}_worst_to_best": WORSE for name in FAIRNESS_METRICS})

# daily series: name -> how the recorder computes it (see DailyRecorder.record_day)
DAILY = ("questions_per_day", "answers", "comments", "upvotes", "downvotes", "views", "harm_exposure", "prevalence",
         "time_to_removal_min_p50", "flags_per_day", "flag_queue_backlog", "wrongful_actions", "closures",
         "spam_posts", "active_moderators", "mod_minutes", "mod_decisions", "escalations", "registrations", "active_users",
         "unfriendly_comments")


def _q(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if values.size else float("nan")


def _share(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


class DailyRecorder:
    """Collects one row per simulated day (the time series written to ``timeseries.parquet``)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.rows: dict[str, list[float]] = {"day": []}
        for name in DAILY:
            self.rows[name] = []
        self._last = {"posts": 0, "comments": 0, "votes": 0, "flags": 0, "actions": 0}
        self._counters: dict[str, int] = {}

    def _delta(self, key: str) -> int:
        now = self.site.counters[key]
        before = self._counters.get(key, 0)
        self._counters[key] = now
        return now - before

    def record_day(self) -> None:
        site = self.site
        posts, comments, votes = site.posts, site.comments, site.votes
        day = site.clock.day
        day_lo, day_hi = day * MINUTES_PER_DAY, (day + 1) * MINUTES_PER_DAY
        p0, c0, v0, f0, a0 = (self._last[k] for k in ("posts", "comments", "votes", "flags", "actions"))
        kind = posts.kind[p0:posts.n]
        vt = votes.vote_type[v0:votes.n]
        views = site.traffic.views_today
        harm_views = sum(site.traffic.harm_views_today.values())
        # posts hidden or deleted today: the removal log, not a scan of the posts table
        gone = unique_ids(np.concatenate(site.removed_today)) if site.removed_today else np.zeros(0, np.int64)
        rem = gone[(posts.harm[gone] > 0) & (posts.removed_at[gone] >= day_lo) & (posts.removed_at[gone] < day_hi)]
        ttr = (posts.removed_at[rem] - posts.created[rem]).astype(np.float64)
        a = site.actions
        row = {
            "day": day, "questions_per_day": int((kind == PostType.QUESTION).sum()),
            "answers": int((kind == PostType.ANSWER).sum()), "comments": comments.n - c0,
            "upvotes": int((vt == 2).sum()), "downvotes": int((vt == 3).sum()), "views": views,
            "harm_exposure": harm_views, "prevalence": _share(harm_views, views),
            "time_to_removal_min_p50": _q(ttr, 0.5), "flags_per_day": site.flags_table.n - f0,
            # mean over the day's ticks of the items waiting for a moderator
            "flag_queue_backlog": self._delta("backlog_tick_sum") / max(self._delta("ticks"), 1),
            "wrongful_actions": int(a.wrongful[a0:a.n].sum()) + self._wrongful_removals(gone, day_lo, day_hi),
            "closures": self._delta("closures"), "spam_posts": int((posts.harm[p0:posts.n] == Harm.SPAM).sum()),
            "active_moderators": sum(1 for m in site.moderators if not m.resigned),
            "mod_minutes": sum(m.minutes_today for m in site.moderators),
            "mod_decisions": self._delta("mod_decisions"), "escalations": self._delta("escalations"),
            "registrations": self._delta("registrations"),
            "active_users": int(site.users.active[site._members].sum()),
            "unfriendly_comments": int((comments.tone[c0:comments.n] >= Tone.UNWELCOMING).sum()),
        }
        for k, v in row.items():
            self.rows[k].append(float(v))
        self._last = {"posts": posts.n, "comments": comments.n, "votes": votes.n, "flags": site.flags_table.n,
                      "actions": a.n}
        self.rows.setdefault("harm_exposure_by_kind", [])
        self.rows["harm_exposure_by_kind"].append(dict(site.traffic.harm_views_today))

    def _wrongful_removals(self, gone: np.ndarray, lo: int, hi: int) -> int:
        """Good-faith posts among ``gone`` that a defence deleted or hid today."""
        posts = self.site.posts
        removed = (posts.removed_at[gone] >= lo) & (posts.removed_at[gone] < hi) & _wrongful_cause(posts.removal_cause[gone])
        hidden = (posts.hidden_at[gone] >= lo) & (posts.hidden_at[gone] < hi) & (posts.removed_at[gone] == NONE)
        return int(((removed | hidden) & _good_faith_post(self.site, gone)).sum())

    def series(self) -> dict[str, np.ndarray]:
        """The daily series as columns (harm exposure by kind flattened)."""
        out = {k: np.asarray(v, dtype=np.float64) for k, v in self.rows.items() if k != "harm_exposure_by_kind"}
        by_kind = self.rows.get("harm_exposure_by_kind", [])
        for name in ("spam", "abusive", "harassment", "wrong_ai"):
            out[f"harm_exposure_{name}"] = np.asarray([d.get(name, 0.0) for d in by_kind], dtype=np.float64)
        return out


_DEFENCE_CAUSE = np.zeros(max(Cause) + 1, dtype=bool)
_DEFENCE_CAUSE[[Cause.COMMUNITY_FLAGS, Cause.MODERATOR, Cause.REVIEW, Cause.SPAM_DETECTOR, Cause.AI_DETECTOR,
                Cause.CIVILITY_CLASSIFIER, Cause.STAFF, Cause.ACCOUNT_DESTROYED]] = True


def _wrongful_cause(cause: np.ndarray) -> np.ndarray:
    """Removals that are actions by the site's defences (roomba and owner deletions are not)."""
    return _DEFENCE_CAUSE[cause]


def _good_faith_post(site: Site, sl) -> np.ndarray:
    """Ground truth: a post that harms nobody and is not low-quality junk by a bad actor."""
    posts = site.posts
    owners = posts.owner[sl]
    cutoff = site.settings.population.low_quality_threshold
    junk = (posts.quality[sl] < cutoff) & (~posts.correct[sl] | (posts.kind[sl] == PostType.QUESTION))
    return (posts.harm[sl] == Harm.NONE) & ~junk & ~posts.ai[sl] & (site.users.kind[owners] == Kind.MEMBER)


def summarize(site: Site) -> tuple[dict[str, float], dict[str, dict]]:
    """Metrics over the measurement window (after warm-up).

    Returns:
        ``(metrics, fairness)``: flat metric name -> value, and per-metric group breakdowns with
        the worst-to-best ratio.
    """
    s = site.settings
    posts, comments, votes, users, flags, actions = (site.posts, site.comments, site.votes, site.users,
                                                     site.flags_table, site.actions)
    w0 = int(s.run.warmup_days * MINUTES_PER_DAY)
    w1 = site.clock.minute
    days = max((w1 - w0) / MINUTES_PER_DAY, 1e-9)
    series = site.recorder.series()
    in_win = series["day"] >= s.run.warmup_days
    m: dict[str, float] = {}

    P = {k: v for k, v in posts.frame().items()}
    win = (P["created"] >= w0) & (P["created"] < w1)
    is_q = P["kind"] == PostType.QUESTION
    harm = P["harm"]
    # -- harm exposure ---------------------------------------------------------------------
    views = float(series["views"][in_win].sum())
    hv = float(series["harm_exposure"][in_win].sum())
    m["harm_exposure"] = hv
    m["harm_exposure_per_1k_views"] = 1000 * _share(hv, views)
    m["prevalence"] = _share(hv, views)
    for name in ("spam", "abusive", "harassment", "wrong_ai"):
        m[f"harm_exposure_{name}"] = float(series[f"harm_exposure_{name}"][in_win].sum())
    # -- time to removal (posts and comments) ------------------------------------------------
    C = comments.frame()
    cwin = (C["created"] >= w0) & (C["created"] < w1)
    hp = win & (harm > 0)
    hc = cwin & (C["harm"] > 0)
    removed_at = np.concatenate([P["removed_at"][hp], C["removed_at"][hc]])
    created = np.concatenate([P["created"][hp], C["created"][hc]])
    first_flag = np.concatenate([P["first_flag_at"][hp], C["first_flag_at"][hc]])
    removed = removed_at != NONE
    ttr = (removed_at[removed] - created[removed]).astype(np.float64)
    m["time_to_removal_min_p50"] = _q(ttr, 0.5)
    m["time_to_removal_min_p90"] = _q(ttr, 0.9)
    # never removed: still visible at the end, counting only items old enough to have had a day
    old_enough = created < w1 - MINUTES_PER_DAY
    m["never_removed_share"] = _share((~removed & old_enough).sum(), old_enough.sum())
    proactive = removed & ((first_flag == NONE) | (first_flag > removed_at))
    m["proactive_rate"] = _share(proactive.sum(), removed.sum())
    del hp, hc, removed_at, created, first_flag, removed, old_enough, proactive  # (large tables: free as we go)
    # -- wrongful actions ----------------------------------------------------------------------
    A = actions.frame()
    awin = (A["created"] >= w0) & (A["created"] < w1)
    # actions on posts: deletions by a defence, and hiding by flags (a post hidden by three spam
    # flags has been acted on even if it is never deleted)
    # (post-level sets are kept as ids, not masks over every post, to keep memory small)
    premoved = np.flatnonzero(win & (((P["removed_at"] != NONE) & _wrongful_cause(P["removal_cause"]))
                                     | (P["hidden_at"] != NONE)))
    wrong_posts = premoved[_good_faith_post(site, premoved)]
    cremoved = cwin & (C["removed_at"] != NONE) & (C["removal_cause"] != Cause.ROOMBA)
    wrong_comments = cremoved & (C["tone"] == Tone.FINE)
    wrong_sanctions = awin & A["wrongful"]
    n_wrong = int(wrong_posts.size + wrong_comments.sum() + wrong_sanctions.sum())
    n_actions = int(premoved.size + cremoved.sum() + awin.sum())
    del cremoved, wrong_comments
    m["wrongful_actions"] = float(n_wrong)
    m["wrongful_rate"] = 1000 * _share(n_wrong, n_actions)
    m["appeals_upheld"] = float(site.counters["appeals_upheld"])
    # -- victimization ---------------------------------------------------------------------------
    U = {k: users.col(k) for k in ("kind", "abused_at", "active", "churned_at", "joined", "first_post_at",
                                   "returned_at", "region", "reputation", "first_post", "questions", "answers")}
    member = U["kind"] == Kind.MEMBER
    victim = member & (U["abused_at"] >= w0)
    m["victimization"] = float(victim.sum())
    contributors = member & (U["first_post_at"] != NONE)
    churned = U["churned_at"] >= w0
    m["victim_churn"] = _share((victim & churned).sum(), victim.sum())
    others = contributors & ~victim & ((U["churned_at"] == NONE) | churned)
    m["nonvictim_churn"] = _share((others & churned).sum(), others.sum())
    m["victim_churn_ratio"] = _share(m["victim_churn"], m["nonvictim_churn"]) if m["nonvictim_churn"] else float("nan")
    del victim, contributors, churned, others
    # -- newcomer experience -----------------------------------------------------------------------
    week = 7 * MINUTES_PER_DAY
    first = np.flatnonzero(win & P["newcomer"] & (P["created"] < w1 - week))  # newcomers' first posts
    f_created = P["created"][first]
    closed7 = (P["closed_at"][first] != NONE) & (P["closed_at"][first] - f_created <= week)
    unwelcome7 = (P["unwelcome_at"][first] != NONE) & (P["unwelcome_at"][first] - f_created <= week)
    is_first = np.zeros(posts.n, dtype=bool)
    is_first[first] = True
    # downvotes on first posts, read in chunks (the vote table is the largest)
    vtype, vpost, vcreated = votes.column("vote_type"), votes.column("post"), votes.column("created")
    found_p, found_t = [], []
    for lo in range(0, votes.n, 1 << 22):
        down = np.flatnonzero(vtype[lo:lo + (1 << 22)] == 3) + lo
        down = down[is_first[vpost[down]]]
        found_p.append(vpost[down])
        found_t.append(vcreated[down])
    vp = np.concatenate(found_p) if found_p else np.zeros(0, dtype=np.int32)
    vt = np.concatenate(found_t) if found_t else np.zeros(0, dtype=np.int32)
    del is_first, found_p, found_t, vtype, vpost, vcreated
    down_first = np.isin(first, vp[vt - P["created"][vp] <= week])
    fq = is_q[first]  # which first posts are questions
    m["newcomer_closed_share"] = _share((fq & closed7).sum(), fq.sum())
    m["newcomer_downvoted_share"] = _share(down_first.sum(), first.size)
    m["newcomer_unwelcome_share"] = _share(unwelcome7.sum(), first.size)
    newcomers = member & (U["first_post_at"] >= w0) & (U["first_post_at"] < w1 - 30 * MINUTES_PER_DAY)
    newcomers &= U["joined"] >= 0
    back = newcomers & (U["returned_at"] != NONE) & (U["returned_at"] - U["first_post_at"] <= 30 * MINUTES_PER_DAY)
    m["newcomer_return_30d"] = _share(back.sum(), newcomers.sum())
    fp = np.maximum(users.col("first_post"), 0)
    closed_first = newcomers & (P["closed_at"][fp] != NONE) & (P["closed_at"][fp] - P["created"][fp] <= week)
    m["closed_newcomer_return_30d"] = _share((back & closed_first).sum(), closed_first.sum())
    del newcomers, back, fp, closed_first, vp, vt, f_created
    # -- moderator workload ---------------------------------------------------------------------------
    F = flags.frame()
    fwin = (F["created"] >= w0) & (F["created"] < w1)
    m["flags_per_day"] = float(fwin.sum()) / days
    m["flag_queue_backlog"] = float(np.mean(series["flag_queue_backlog"][in_win])) if in_win.any() else float("nan")
    handled_by_mod = fwin & (F["handler"] <= -1000) & (F["status"] != FlagStatus.PENDING)
    qt = (F["handled_at"][handled_by_mod] - F["created"][handled_by_mod]).astype(np.float64)
    qt_all = np.asarray(site.queue_times, dtype=np.float64)
    m["queue_time_p50_min"] = _q(qt if qt.size else qt_all, 0.5)
    m["queue_time_p90_min"] = _q(qt if qt.size else qt_all, 0.9)
    mods_on_duty = np.maximum(series["active_moderators"][in_win], 1)
    m["minutes_per_moderator"] = float(np.mean(series["mod_minutes"][in_win] / mods_on_duty)) if in_win.any() else float("nan")
    m["escalations_per_day"] = float(series["escalations"][in_win].sum()) / days
    m["moderator_resignations"] = float(site.counters["moderator_resignations"])
    m["moderators"] = float(sum(1 for x in site.moderators if not x.resigned))
    # -- community health ---------------------------------------------------------------------------------
    q_win = win & is_q
    q_win &= harm == Harm.NONE
    n_q = np.count_nonzero(q_win)
    m["questions_per_day"] = float(n_q) / days
    answered = q_win & (P["answers"] > 0)
    m["answered_share"] = _share(np.count_nonzero(answered), n_q)
    tfa = P["first_answer_at"][answered]
    tfa -= P["created"][answered]
    del answered
    m["time_to_first_answer_p50_min"] = _q(tfa, 0.5)
    del tfa
    m["accepted_share"] = _share(np.count_nonzero(q_win & (P["accepted"] != NONE)), n_q)
    recent = P["created"] >= max(w0, w1 - 30 * MINUTES_PER_DAY)
    recent &= P["created"] < w1
    m["active_contributors"] = float(np.unique(P["owner"][recent]).size)
    del recent
    m["closure_rate"] = _share(np.count_nonzero(q_win & (P["closed_at"] != NONE)), n_q)
    del q_win
    # -- calibration figures (targets.yaml) ------------------------------------------------------------------
    n_q = np.count_nonzero(win & is_q)
    m["answers_per_question"] = _share(np.count_nonzero(win) - n_q, n_q)  # every post is a question or an answer
    # votes are the largest table: count them from the daily series rather than scanning it again
    m["upvotes_per_day"] = float(series["upvotes"][in_win].sum()) / days
    m["downvotes_per_day"] = float(series["downvotes"][in_win].sum()) / days
    m["comments_per_day"] = float(cwin.sum()) / days
    cl = np.flatnonzero(P["closed_at"] >= w0)
    cl = cl[P["closed_at"][cl] < w1]
    m["community_share_of_closures"] = _share(np.count_nonzero(P["closer"][cl] != Closer.MODERATOR), cl.size)
    m["duplicate_share_of_closures"] = _share(np.count_nonzero(P["close_reason"][cl] == CloseReason.DUPLICATE), cl.size)
    del cl
    on_post = F["target"] == 1
    item_kind = np.zeros(F["item"].size, dtype=np.int8)
    item_kind[on_post] = posts.kind[F["item"][on_post]]
    fq_ = fwin & on_post & (item_kind == PostType.QUESTION)
    m["question_flags_per_day"] = float((fq_ & (F["source"] == Source.USER)).sum()) / days
    m["moderator_share_of_flag_handling"] = _share((fq_ & (F["handler"] <= -1000)).sum(), (fq_ & (F["status"] != 0)).sum())
    m["spam_posts_per_day"] = float((win & (harm == Harm.SPAM)).sum()) / days
    D = site.detections.frame()
    dspam = (D["source"] == Source.SPAM_DETECTOR) & (D["created"] >= w0)
    m["spam_autoflag_precision"] = _share((dspam & D["truth_bad"]).sum(), dspam.sum())
    m["unfriendly_comment_share"] = _share((cwin & (C["tone"] >= Tone.UNWELCOMING)).sum(), cwin.sum())
    rep = np.sort(U["reputation"][member])[::-1]
    top = max(1, rep.size // 100)
    m["top1pct_reputation_share"] = _share(rep[:top].sum(dtype=np.float64), rep.sum(dtype=np.float64))
    del rep
    posters_n = U["questions"][member] + U["answers"][member]
    posters_n = posters_n[posters_n > 0]
    m["share_posters_with_at_most_two_posts"] = _share((posters_n <= 2).sum(), posters_n.size)
    m["answer_activity_days_exponent"] = _answer_days_exponent(P, win)
    m["fraud_reputation"] = float(users.col("fraud_rep").sum())
    m["ban_evasions"] = float(site.counters["ban_evasions"])
    # -- fairness by group -----------------------------------------------------------------------------------
    fairness = _fairness(site, P, A, U, awin, premoved, wrong_posts, wrong_sanctions, first, closed7, unwelcome7, fq)
    for name, breakdown in fairness.items():
        m[f"{name}_worst_to_best"] = breakdown["worst_to_best"]
    return m, fairness


def _answer_days_exponent(P: dict[str, np.ndarray], win: np.ndarray, chunk: int = 1 << 20) -> float:
    """Power-law exponent of the number of distinct days users answered on (discrete MLE, xmin=1).

    Distinct (owner, day) pairs are found chunk by chunk and merged, so memory stays small."""
    pairs = []
    for lo in range(0, win.size, chunk):
        sl = slice(lo, lo + chunk)
        ans = np.flatnonzero(win[sl] & (P["kind"][sl] == PostType.ANSWER)) + lo
        key = P["owner"][ans].astype(np.int64)
        key *= 100_000
        key += P["created"][ans] // MINUTES_PER_DAY
        pairs.append(np.unique(key))
    key = np.concatenate(pairs) if pairs else np.zeros(0, dtype=np.int64)
    del pairs
    if key.size == 0:
        return float("nan")
    key.sort()
    owners, log_days = _day_runs(key, 100_000)
    return float(1.0 + owners / log_days)


@njit(cache=True)
def _day_runs(sorted_keys, base):
    """From sorted ``owner * base + day`` keys (repeats allowed): the number of owners and the sum
    over owners of log(distinct days / 0.5)."""
    owners = 0
    total = 0.0
    days = 0
    for i in range(sorted_keys.size):
        if i > 0 and sorted_keys[i] == sorted_keys[i - 1]:
            continue
        if i > 0 and sorted_keys[i] // base != sorted_keys[i - 1] // base:
            owners += 1
            total += np.log(days / 0.5)
            days = 0
        days += 1
    owners += 1
    total += np.log(days / 0.5)
    return owners, total


def _fairness(site, P, A, U, awin, premoved, wrong_posts, wrong_sanctions, first, closed7, unwelcome7,
              fq) -> dict[str, dict]:
    """Each rate by group (region groups and tenure groups), with the worst-to-best ratio.

    Post-level sets arrive as post ids (``premoved``, ``wrong_posts``, ``first``) with masks
    aligned to ``first`` (``closed7``, ``unwelcome7``, ``fq``)."""
    users = site.users
    region_names = users.region_names
    now = site.clock.minute
    newcomer_minutes = site.settings.population.newcomer_days * MINUTES_PER_DAY

    def post_counts(ids: np.ndarray) -> dict[str, int]:
        """How many of the posts ``ids`` fall in each group."""
        region = np.bincount(P["group"][ids], minlength=len(region_names))
        new = int(np.count_nonzero((P["created"][ids] - users.joined[P["owner"][ids]]) < newcomer_minutes))
        out = {name: int(region[i]) for i, name in enumerate(region_names)}
        out.update(newcomer=new, established=int(ids.size) - new)
        return out

    groups: dict[str, np.ndarray] = {}  # name -> action mask
    for i, name in enumerate(region_names):
        groups[name] = A["group"] == i
    a_user_new = (A["created"] - users.joined[np.maximum(A["user"], 0)]) < newcomer_minutes
    groups["newcomer"] = a_user_new
    groups["established"] = ~a_user_new
    out: dict[str, dict] = {}
    victims = (U["kind"] == Kind.MEMBER) & (U["abused_at"] != NONE)
    contributors = (U["kind"] == Kind.MEMBER) & (U["first_post_at"] != NONE)
    user_new = (now - U["joined"]) < newcomer_minutes
    wrong_p, removed_p = post_counts(wrong_posts), post_counts(premoved)
    fq_ids = first[fq]
    fq_closed, fq_all = post_counts(fq_ids[closed7[fq]]), post_counts(fq_ids)
    first_unwelcome, first_all = post_counts(first[unwelcome7]), post_counts(first)
    for metric in FAIRNESS_METRICS:
        counts: dict[str, tuple[int, int]] = {}
        for g, am in groups.items():
            if metric == "wrongful_rate":
                counts[g] = (wrong_p[g] + (wrong_sanctions & am).sum(), removed_p[g] + (awin & am).sum())
            elif metric == "newcomer_closed_share":
                if g != "established":
                    counts[g] = (fq_closed[g], fq_all[g])
            elif metric == "newcomer_unwelcome_share":
                if g != "established":
                    counts[g] = (first_unwelcome[g], first_all[g])
            else:
                if g in region_names:
                    um = U["region"] == region_names.index(g)
                else:
                    um = user_new if g == "newcomer" else ~user_new
                counts[g] = ((victims & um).sum(), (contributors & um).sum())
        scale = 1.0 if metric.endswith("_share") else 1000.0
        out[metric] = group_rates(counts, scale)
    return out


FAIRNESS_PSEUDO_COUNT = 30.0


def group_rates(counts: dict[str, tuple[int, int]], scale: float = 1.0,
                pseudo: float = FAIRNESS_PSEUDO_COUNT) -> dict:
    """Per-group rates shrunk toward the all-groups rate, and the worst-to-best ratio.

    Each group's rate is ``(events + pseudo * overall) / (exposures + pseudo)``: an empirical-Bayes
    estimate, so a group with a handful of actions does not produce a zero or an infinite ratio
    while a group with thousands keeps its own rate. Raw counts are reported beside it.
    """
    events = sum(int(e) for e, _ in counts.values())
    exposures = sum(int(n) for _, n in counts.values())
    if exposures == 0:
        return {"groups": dict.fromkeys(counts, float("nan")), "counts": {}, "worst_to_best": float("nan")}
    overall = events / exposures
    vals = {g: scale * (int(e) + pseudo * overall) / (int(n) + pseudo) for g, (e, n) in counts.items()}
    best, worst = min(vals.values()), max(vals.values())
    ratio = worst / best if best > 0 else 1.0
    return {"groups": vals, "counts": {g: [int(e), int(n)] for g, (e, n) in counts.items()}, "worst_to_best": ratio}

