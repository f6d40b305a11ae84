"""The metrics of :mod:`sim.metric_registry`: a daily time series and a summary over the window.

The summary reads a :class:`RunRecord` (the content store's columns, the members' columns and the
daily series: plain arrays a test can build by hand) through a :class:`Window`, the one place that
decides what "in the measurement window" means. Every measure is computed against ground truth,
so harm and wrongful actions count what content really was, not what the site decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.clock import DAYS_PER_WEEK, MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.metric_registry import (
    GROUPED,
    HIGHER_IS_BETTER,
    REGISTRY,
    REVIEW_QUEUES,
    TENURE_GROUPS,
    WORST_TO_BEST,
)
from sim.population import Kind
from sim.store import (
    MODERATOR_ID_BASE,
    NONE,
    Action,
    Cause,
    Closer,
    CloseReason,
    FlagStatus,
    Harm,
    PostType,
    Source,
    Target,
    Tone,
    VoteType,
    low_quality,
    unique_ids,
)

if TYPE_CHECKING:
    from agents.model import Site

# daily series (``timeseries.parquet``): context for the report, and the window's counters
DAILY = ("questions_per_day", "answers", "comments", "upvotes", "downvotes", "views", "harm_exposure", "prevalence",
         "time_to_removal_min_p50", "flags_per_day", "flag_queue_backlog", "wrongful_actions", "closures",
         "spam_posts", "active_moderators", "mod_minutes", "mod_decisions", "escalations", "registrations", "active_users",
         "unfriendly_comments", "appeals_upheld", "moderator_resignations", "ban_evasions", "fraud_reputation",
         *(f"reviews_{q}" for q in REVIEW_QUEUES), "review_audits", "review_audits_failed", "review_bans",
         "reopens", "edits", "suggested_edits", "rollbacks")
HARM_KINDS = ("spam", "abusive", "harassment", "wrong_ai")

WEEK = DAYS_PER_WEEK * MINUTES_PER_DAY
RETURN_PERIOD = 30 * MINUTES_PER_DAY
#: Harmful items posted later than this before the window's end are too young to call never removed.
NEVER_REMOVED_MIN_AGE = MINUTES_PER_DAY
#: Empirical-Bayes pseudo-count of the per-group rates (assumed: enough to tame groups of a few dozen).
FAIRNESS_PSEUDO_COUNT = 30.0

# removals that are actions by the site's defences (the roomba and owners' deletions are not)
_DEFENCE_CAUSE = np.zeros(max(Cause) + 1, dtype=bool)
_DEFENCE_CAUSE[[Cause.COMMUNITY_FLAGS, Cause.MODERATOR, Cause.REVIEW, Cause.SPAM_DETECTOR, Cause.AI_DETECTOR,
                Cause.CIVILITY_CLASSIFIER, Cause.STAFF, Cause.ACCOUNT_DESTROYED, Cause.STAGING]] = True


@dataclass(frozen=True)
class Window:
    """The measurement window ``[start, end)`` in minutes; every metric sees time through it.

    Attributes:
        start: First minute measured (the end of the warm-up).
        end: First minute not measured (the end of the run).
    """

    start: int
    end: int

    @property
    def days(self) -> float:
        return max((self.end - self.start) / MINUTES_PER_DAY, 1e-9)

    def contains(self, minutes: np.ndarray) -> np.ndarray:
        """Which of ``minutes`` fall in the window (``NONE`` never does)."""
        minutes = np.asarray(minutes)
        return (minutes >= self.start) & (minutes < self.end)

    def day_mask(self, series: dict[str, np.ndarray]) -> np.ndarray:
        """The daily series' rows inside the window."""
        day = series["day"]
        return (day * MINUTES_PER_DAY >= self.start) & (day * MINUTES_PER_DAY < self.end)

    def total(self, series: dict[str, np.ndarray], name: str) -> float:
        """A daily counter summed over the window's days."""
        return float(series[name][self.day_mask(series)].sum())

    def per_day(self, count: float) -> float:
        return float(count) / self.days


@dataclass
class RunRecord:
    """What the summary reads: columns of the content store and of the accounts, and the daily series.

    Attributes:
        posts, comments, votes, flags, actions, detections, restorations: Table columns (name -> array).
        users: Account columns (name -> array).
        region_names: Names of the region/language groups (``users["region"]`` indexes them).
        series: The daily series (:class:`DailyRecorder`).
        low_quality_threshold: Posts below this hidden quality (questions, or wrong answers) are junk.
        newcomer_minutes: How long after registration a member counts as a newcomer.
        moderators_serving: Moderators serving at the end of the run.
    """

    posts: dict[str, np.ndarray]
    comments: dict[str, np.ndarray]
    votes: dict[str, np.ndarray]
    flags: dict[str, np.ndarray]
    actions: dict[str, np.ndarray]
    detections: dict[str, np.ndarray]
    restorations: dict[str, np.ndarray]
    users: dict[str, np.ndarray]
    region_names: list[str]
    series: dict[str, np.ndarray]
    low_quality_threshold: float
    newcomer_minutes: int
    moderators_serving: int

    @classmethod
    def of(cls, site: Site) -> RunRecord:
        users = site.users
        cols = ("kind", "abused_at", "churned_at", "joined", "first_post_at", "returned_at", "region", "reputation",
                "first_post", "questions", "answers")
        return cls(
            posts=site.posts.frame(), comments=site.comments.frame(), votes=site.votes.frame(),
            flags=site.flags_table.frame(), actions=site.actions.frame(), detections=site.detections.frame(),
            restorations=site.restorations.frame(), users={k: users.col(k) for k in cols},
            region_names=list(users.region_names), series=site.recorder.series(),
            low_quality_threshold=site.settings.population.low_quality_threshold,
            newcomer_minutes=int(site.settings.population.newcomer_days * MINUTES_PER_DAY),
            moderators_serving=len(site.serving_moderators()))


def window_of(site: Site) -> Window:
    """The measurement window of a run: from the end of the warm-up to now."""
    return Window(int(site.settings.run.warmup_days * MINUTES_PER_DAY), int(site.clock.minute))


def _record_and_window(source: Site | RunRecord, window: Window | None) -> tuple[RunRecord, Window]:
    """What a summary reads: a hand-built record with its window, or a finished site's."""
    if isinstance(source, RunRecord):
        if window is None:
            raise ValueError("a hand-built RunRecord needs its Window")
        return source, window
    return RunRecord.of(source), window or window_of(source)


def _removal_durations(h: dict[str, np.ndarray], end: int) -> tuple[np.ndarray, np.ndarray]:
    """Time from posting to removal of harmful items ``h``, censored at ``end``, and whether removed."""
    removed = (h["removed_at"] != NONE) & (h["removed_at"] < end)
    return np.where(removed, h["removed_at"], end) - h["created"], removed


def _q(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if values.size else float("nan")


def _share(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def km_quantiles(durations: np.ndarray, observed: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Kaplan-Meier quantiles of time to an event with right-censoring (scipy's ``ecdf``).

    ``durations`` are times to the event where ``observed``, else times to censoring. The
    q-quantile is the first time the estimated share that had the event reaches q (NaN if it
    never does, or there are no items)."""

    durations = np.asarray(durations, dtype=np.float64)
    observed = np.asarray(observed, dtype=bool)
    if durations.size == 0 or not observed.any():
        return [float("nan")] * len(qs)
    sf = _km(durations, observed)
    times, surv = sf.quantiles, sf.probabilities
    out = []
    for q in qs:
        reached = np.flatnonzero(1.0 - surv >= q - 1e-12)
        out.append(float(times[reached[0]]) if reached.size else float("nan"))
    return out


class DailyRecorder:
    """Collects one row per simulated day (the time series written to ``timeseries.parquet``)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.rows: dict[str, list[float]] = {"day": []}
        for name in DAILY:
            self.rows[name] = []
        self._last = {"posts": 0, "comments": 0, "votes": 0, "flags": 0, "actions": 0, "reviews": 0}
        self._counters: dict[str, int] = {}
        self._fraud_total = 0

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
        fraud_total = int(site.users.col("fraud_rep").sum(dtype=np.int64))
        row = {
            "day": day, "questions_per_day": int((kind == PostType.QUESTION).sum()),
            "answers": int((kind == PostType.ANSWER).sum()), "comments": comments.n - c0,
            "upvotes": int((vt == VoteType.UP).sum()), "downvotes": int((vt == VoteType.DOWN).sum()), "views": views,
            "harm_exposure": harm_views, "prevalence": _share(harm_views, views),
            "time_to_removal_min_p50": _q(ttr, 0.5), "flags_per_day": site.flags_table.n - f0,
            # mean over the day's ticks of the items waiting for a moderator
            "flag_queue_backlog": self._delta("backlog_tick_sum") / max(self._delta("ticks"), 1),
            "wrongful_actions": int(a.wrongful[a0:a.n].sum()) + self._wrongful_removals(gone, day_lo, day_hi),
            "closures": self._delta("closures"), "spam_posts": int((posts.harm[p0:posts.n] == Harm.SPAM).sum()),
            "active_moderators": len(site.serving_moderators()),
            "mod_minutes": site.moderators.agg("minutes_today", sum),
            "mod_decisions": self._delta("mod_decisions"), "escalations": self._delta("escalations"),
            "registrations": self._delta("registrations"),
            "active_users": int(site.users.active[site.members].sum()),
            "unfriendly_comments": int((comments.tone[c0:comments.n] >= Tone.UNWELCOMING).sum()),
            "appeals_upheld": self._delta("appeals_upheld"),
            "moderator_resignations": self._delta("moderator_resignations"),
            "ban_evasions": self._delta("ban_evasions"), "fraud_reputation": fraud_total - self._fraud_total,
        }
        self._fraud_total = fraud_total
        row.update(self._review_row())
        for k, v in row.items():
            self.rows[k].append(float(v))
        self._last = {"posts": posts.n, "comments": comments.n, "votes": votes.n, "flags": site.flags_table.n,
                      "actions": a.n, "reviews": site.review_results.n}
        self.rows.setdefault("harm_exposure_by_kind", [])
        self.rows["harm_exposure_by_kind"].append(dict(site.traffic.harm_views_today))

    def _review_row(self) -> dict[str, float]:
        """Today's reviews per queue and audits (the review results since yesterday), review bans,
        reopens, edits, suggested edits and rollbacks."""
        res = self.site.review_results
        sl = slice(self._last["reviews"], res.n)
        per_queue = np.bincount(res.queue[sl], minlength=len(REVIEW_QUEUES))
        audit = res.audit[sl]
        row = {f"reviews_{q}": int(per_queue[i]) for i, q in enumerate(REVIEW_QUEUES)}
        row.update({"review_audits": int(audit.sum()), "review_audits_failed": int((audit & ~res.audit_passed[sl]).sum())})
        row.update({k: self._delta(k) for k in ("review_bans", "reopens", "edits", "suggested_edits", "rollbacks")})
        return row

    def _wrongful_removals(self, gone: np.ndarray, lo: int, hi: int) -> int:
        """Good-faith posts among ``gone`` that a defence deleted or hid today."""
        site = self.site
        posts = site.posts
        removed = (posts.removed_at[gone] >= lo) & (posts.removed_at[gone] < hi) & _DEFENCE_CAUSE[posts.removal_cause[gone]]
        hidden = (posts.hidden_at[gone] >= lo) & (posts.hidden_at[gone] < hi) & (posts.removed_at[gone] == NONE)
        good = good_faith_posts(
            {k: getattr(posts, k) for k in ("owner", "quality", "correct", "kind", "harm", "ai")},
            site.users.kind, site.settings.population.low_quality_threshold, gone)
        return int(((removed | hidden) & good).sum())

    def series(self) -> dict[str, np.ndarray]:
        """The daily series as columns (harm exposure by kind flattened)."""
        out = {k: np.asarray(v, dtype=np.float64) for k, v in self.rows.items() if k != "harm_exposure_by_kind"}
        by_kind = self.rows.get("harm_exposure_by_kind", [])
        for name in HARM_KINDS:
            out[f"harm_exposure_{name}"] = np.asarray([d.get(name, 0.0) for d in by_kind], dtype=np.float64)
        return out


def good_faith_posts(P: dict[str, np.ndarray], user_kind: np.ndarray, low_quality_threshold: float,
                     ids: np.ndarray) -> np.ndarray:
    """Ground truth for posts ``ids``: harms nobody, is no AI answer, is not low-quality junk, and
    was written by an ordinary member."""
    owners = P["owner"][ids]
    junk = low_quality(P["quality"][ids], P["correct"][ids], P["kind"][ids], low_quality_threshold)
    return (P["harm"][ids] == Harm.NONE) & ~junk & ~P["ai"][ids] & (user_kind[owners] == Kind.MEMBER)


# -- per-group breakdowns ------------------------------------------------------------------------
class Groups:
    """Group membership of a metric's units, for the per-group breakdown (fairness).

    Args:
        region: Region/language group index of each unit's member.
        newcomer: Whether each unit's member was a newcomer (``None``: all units are newcomers'
            by definition, so only the region groups apply).
    """

    def __init__(self, region: np.ndarray, newcomer: np.ndarray | None) -> None:
        self.region = np.asarray(region)
        self.newcomer = newcomer

    def counts(self, hit: np.ndarray, region_names: list[str]) -> dict[str, tuple[int, int]]:
        """Group -> (units hit, units)."""
        hit = np.asarray(hit, dtype=bool)
        k = len(region_names)
        units = np.bincount(self.region, minlength=k)
        hits = np.bincount(self.region[hit], minlength=k)
        out = {name: (int(hits[i]), int(units[i])) for i, name in enumerate(region_names)}
        if self.newcomer is not None:
            new = np.asarray(self.newcomer, dtype=bool)
            out[TENURE_GROUPS[0]] = (int((hit & new).sum()), int(new.sum()))
            out[TENURE_GROUPS[1]] = (int((hit & ~new).sum()), int((~new).sum()))
        return out


def group_rates(counts: dict[str, tuple[int, int]], scale: float = 1.0, direction: str = "lower_is_better",
                pseudo: float = FAIRNESS_PSEUDO_COUNT) -> dict:
    """Per-group rates shrunk toward the all-groups rate, and the worst-to-best ratio.

    Each group's rate is ``(events + pseudo * overall) / (units + pseudo)``: an empirical-Bayes
    estimate, so a group with a handful of units does not produce a zero or an infinite ratio while
    a group with thousands keeps its own rate. The ratio is the highest group rate over the lowest
    (1 is parity; it is the same whichever direction is better); ``worst`` and ``best`` name the
    groups. Raw counts (events, units) are reported beside the rates.
    """
    events = sum(int(e) for e, _ in counts.values())
    units = sum(int(n) for _, n in counts.values())
    raw = {g: [int(e), int(n)] for g, (e, n) in counts.items()}
    if units == 0:
        return {"groups": dict.fromkeys(counts, float("nan")), "counts": raw, "worst_to_best": float("nan"),
                "worst": None, "best": None}
    overall = events / units
    vals = {g: scale * (int(e) + pseudo * overall) / (int(n) + pseudo) for g, (e, n) in counts.items()}
    low, high = min(vals, key=vals.get), max(vals, key=vals.get)
    worst, best = (low, high) if direction == HIGHER_IS_BETTER else (high, low)
    ratio = vals[high] / vals[low] if vals[low] > 0 else (1.0 if vals[high] == 0 else float("inf"))
    return {"groups": vals, "counts": raw, "worst_to_best": ratio, "worst": worst, "best": best}


class Summary:
    """Collects metric values and their per-group breakdowns as the family functions compute them."""

    def __init__(self, rec: RunRecord) -> None:
        self.rec = rec
        self.values: dict[str, float] = {}
        self.fairness: dict[str, dict] = {}
        self._harmful: dict[str, np.ndarray] | None = None

    def harmful_items(self, w: Window) -> dict[str, np.ndarray]:
        """:func:`_harmful_items`, computed once for the families that share it."""
        if self._harmful is None:
            self._harmful = _harmful_items(self.rec, w)
        return self._harmful

    def __setitem__(self, name: str, value: float) -> None:
        self.values[name] = float(value)

    def share(self, name: str, hit: np.ndarray, groups: Groups | None = None, scale: float = 1.0) -> None:
        """A share (or, with ``scale``, a rate) of units with its per-group breakdown from the same units."""
        hit = np.asarray(hit, dtype=bool)
        self.values[name] = scale * _share(np.count_nonzero(hit), hit.size)
        if groups is not None:
            m = REGISTRY[name]
            self.fairness[name] = group_rates(groups.counts(hit, self.rec.region_names), scale, m.direction)


def summarize(source: Site | RunRecord, window: Window | None = None) -> tuple[dict[str, float], dict[str, dict]]:
    """Every registered metric over the measurement window.

    Args:
        source: A finished site, or a hand-built :class:`RunRecord`.
        window: The measurement window (default: the site's warm-up end to now).

    Returns:
        ``(metrics, fairness)``: metric name -> value, and for each grouped metric its per-group
        rates, counts and worst-to-best ratio.
    """
    rec, window = _record_and_window(source, window)
    out = Summary(rec)
    for family in (_harm_exposure, _prevalence, _time_to_removal, _proactive, _wrongful, _victimization,
                   _newcomers, _mod_workload, _community_health):
        family(rec, window, out)
    for name in GROUPED:
        out[name + WORST_TO_BEST] = out.fairness[name]["worst_to_best"]
    return out.values, out.fairness


# -- the families ---------------------------------------------------------------------------------
def _harm_exposure(rec: RunRecord, w: Window, out: Summary) -> None:
    views, harm_views = w.total(rec.series, "views"), w.total(rec.series, "harm_exposure")
    out["harm_exposure"] = harm_views
    for name in HARM_KINDS:
        out[f"harm_exposure_{name}"] = w.total(rec.series, f"harm_exposure_{name}")
    out["harm_exposure_per_1k_views"] = 1000 * _share(harm_views, views)


def _prevalence(rec: RunRecord, w: Window, out: Summary) -> None:
    P, C, U = rec.posts, rec.comments, rec.users
    out["prevalence"] = _share(w.total(rec.series, "harm_exposure"), w.total(rec.series, "views"))
    out["spam_posts_per_day"] = w.per_day(np.count_nonzero(w.contains(P["created"]) & (P["harm"] == Harm.SPAM)))
    # (the comment table is large: a mask, not ids, and no wider dtypes than the columns')
    cw = w.contains(C["created"])
    owner = P["owner"][C["post"][cw]]
    tenure = (C["created"][cw] - U["joined"][owner]) < rec.newcomer_minutes
    region = U["region"][owner]
    del owner
    out.share("unfriendly_comment_share", C["tone"][cw] >= Tone.UNWELCOMING, Groups(region, tenure))
    out["fraud_reputation"] = w.total(rec.series, "fraud_reputation")


def _harmful_items(rec: RunRecord, w: Window) -> dict[str, np.ndarray]:
    """Harmful posts and comments posted in the window: creation, current removal, first member
    flag, and first enforcement action (including actions later reversed)."""
    P, C, R = rec.posts, rec.comments, rec.restorations
    hp = np.flatnonzero(w.contains(P["created"]) & (P["harm"] > 0))
    hc = np.flatnonzero(w.contains(C["created"]) & (C["harm"] > 0))
    # a post's first action: hidden, or deleted by a defence; reversed actions are in the restorations
    p_removed = np.where(_DEFENCE_CAUSE[P["removal_cause"][hp]], P["removed_at"][hp], NONE)
    p_action = _earliest(P["hidden_at"][hp], p_removed)
    if R["post"].size and hp.size:
        pos = np.searchsorted(hp, R["post"])
        ok = (pos < hp.size) & (hp[np.minimum(pos, hp.size - 1)] == R["post"])
        reversed_at = _earliest(R["hidden_at"][ok], np.where(_DEFENCE_CAUSE[R["cause"][ok]], R["removed_at"][ok], NONE))
        earliest = np.where(reversed_at == NONE, np.iinfo(np.int64).max, reversed_at).astype(np.int64)
        p_action = np.where(p_action == NONE, np.iinfo(np.int64).max, p_action).astype(np.int64)
        np.minimum.at(p_action, pos[ok], earliest)
        p_action = np.where(p_action == np.iinfo(np.int64).max, NONE, p_action)
    c_action = np.where(_DEFENCE_CAUSE[C["removal_cause"][hc]], C["removed_at"][hc], NONE)
    return {
        "created": np.concatenate([P["created"][hp], C["created"][hc]]).astype(np.int64),
        "removed_at": np.concatenate([P["removed_at"][hp], C["removed_at"][hc]]).astype(np.int64),
        "first_flag_at": np.concatenate([P["first_flag_at"][hp], C["first_flag_at"][hc]]).astype(np.int64),
        "action_at": np.concatenate([p_action, c_action]).astype(np.int64),
    }


def _earliest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise earliest of two minute columns where ``NONE`` means never."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    return np.where(a == NONE, b, np.where(b == NONE, a, np.minimum(a, b)))


def _time_to_removal(rec: RunRecord, w: Window, out: Summary) -> None:
    h = out.harmful_items(w)
    duration, removed = _removal_durations(h, w.end)
    p50, p90 = km_quantiles(duration, removed, (0.5, 0.9))
    out["time_to_removal_min_p50"] = p50
    out["time_to_removal_min_p90"] = p90
    old_enough = h["created"] < w.end - NEVER_REMOVED_MIN_AGE
    out["never_removed_share"] = _share(np.count_nonzero(~removed & old_enough), np.count_nonzero(old_enough))


#: durations (minutes) at which :func:`removal_survival` reads the survival curve: 10 min to 2 weeks
SURVIVAL_GRID_MIN = (0, 10, 30, MINUTES_PER_HOUR, 2 * MINUTES_PER_HOUR, 4 * MINUTES_PER_HOUR, 8 * MINUTES_PER_HOUR,
                     12 * MINUTES_PER_HOUR, MINUTES_PER_DAY, 2 * MINUTES_PER_DAY, 3 * MINUTES_PER_DAY,
                     7 * MINUTES_PER_DAY, 14 * MINUTES_PER_DAY)
WEEK_DAYS = DAYS_PER_WEEK


def km_survival(durations: np.ndarray, observed: np.ndarray, at: tuple[float, ...]) -> list[float]:
    """Kaplan-Meier share of items without the event at each time in ``at`` (right-censored data,
    scipy's ``ecdf``); NaN for every time when there are no items."""
    durations = np.asarray(durations, dtype=np.float64)
    observed = np.asarray(observed, dtype=bool)
    if durations.size == 0:
        return [float("nan")] * len(at)
    if not observed.any():
        return [1.0] * len(at)
    return [float(x) for x in _km(durations, observed).evaluate(np.asarray(at, dtype=np.float64))]


def _km(durations: np.ndarray, observed: np.ndarray):
    """scipy's Kaplan-Meier survival function of right-censored durations (at least one observed)."""
    from scipy import stats  # (imported here: scipy.stats costs start-up time and memory)

    return stats.ecdf(stats.CensoredData(uncensored=durations[observed], right=durations[~observed])).sf


def removal_survival(source: Site | RunRecord, window: Window | None = None) -> dict[str, list[float]]:
    """Time to removal of harmful content as survival estimates (Kaplan-Meier, censored at the run's end).

    Returns:
        ``week_day``: first day of each week of the run (warm-up included);
        ``weekly_p50_min``: median time to removal of the harmful posts and comments posted that
        week (the weekly counterpart of ``time_to_removal_min_p50``; NaN when fewer than half of
        them were removed by the run's end);
        ``grid_min`` and ``surviving``: the share of the window's harmful items still up that many
        minutes after posting (the survival curve behind ``time_to_removal_min_p50``).
    """
    rec, window = _record_and_window(source, window)
    h = _harmful_items(rec, Window(0, window.end))
    duration, removed = _removal_durations(h, window.end)
    week_min = WEEK_DAYS * MINUTES_PER_DAY
    week = h["created"] // week_min
    n_weeks = -(-window.end // week_min)
    weekly = [km_quantiles(duration[week == k], removed[week == k], (0.5,))[0] for k in range(n_weeks)]
    inside = window.contains(h["created"])
    return {"week_day": [float(k * WEEK_DAYS) for k in range(n_weeks)], "weekly_p50_min": weekly,
            "grid_min": [float(t) for t in SURVIVAL_GRID_MIN],
            "surviving": km_survival(duration[inside], removed[inside], SURVIVAL_GRID_MIN)}


def _proactive(rec: RunRecord, w: Window, out: Summary) -> None:
    h = out.harmful_items(w)
    acted = (h["action_at"] != NONE) & (h["action_at"] < w.end)
    first_flag, action = h["first_flag_at"][acted], h["action_at"][acted]
    out.share("proactive_rate", (first_flag == NONE) | (first_flag > action))
    D, U = rec.detections, rec.users
    det = np.flatnonzero((D["source"] == Source.SPAM_DETECTOR) & w.contains(D["created"]))
    user = D["user"][det]
    out.share("spam_autoflag_precision", D["truth_bad"][det],
              Groups(U["region"][user], D["created"][det] - U["joined"][user] < rec.newcomer_minutes))


def enforcement_actions(rec: RunRecord, w: Window) -> dict[str, np.ndarray]:
    """Every enforcement action in the window (see the registry's terms), one row each: the member
    acted on, their region, the minute, and whether it was wrongful (ground truth)."""
    P, C, A, R, U = rec.posts, rec.comments, rec.actions, rec.restorations, rec.users
    # posts: the current episode's first action (hidden, or deleted by a defence), and reversed
    # ones; only posts ever hidden or removed are looked at (the posts table is the largest)
    acted = np.flatnonzero((P["hidden_at"] != NONE) | (P["removed_at"] != NONE))
    p_removed = np.where(_DEFENCE_CAUSE[P["removal_cause"][acted]], P["removed_at"][acted], NONE)
    p_at = _earliest(P["hidden_at"][acted], p_removed)
    inside = w.contains(p_at)
    p_ids, p_at = acted[inside], p_at[inside]
    r_at = _earliest(R["hidden_at"], np.where(_DEFENCE_CAUSE[R["cause"]], R["removed_at"], NONE))
    r_sel = w.contains(r_at)
    post_ids = np.concatenate([p_ids, R["post"][r_sel].astype(np.int64)])
    post_at = np.concatenate([p_at, r_at[r_sel]])
    c_ids = np.flatnonzero(w.contains(C["removed_at"]) & _DEFENCE_CAUSE[C["removal_cause"]])
    a_ids = np.flatnonzero(w.contains(A["created"]))
    good_post = good_faith_posts(P, U["kind"], rec.low_quality_threshold, post_ids)
    user = np.concatenate([P["owner"][post_ids], C["author"][c_ids], np.maximum(A["user"][a_ids], 0)]).astype(np.int64)
    return {
        "user": user,
        "region": np.concatenate([P["group"][post_ids], U["region"][C["author"][c_ids]], A["group"][a_ids]]),
        "at": np.concatenate([post_at, C["removed_at"][c_ids], A["created"][a_ids]]).astype(np.int64),
        "wrongful": np.concatenate([good_post, C["tone"][c_ids] == Tone.FINE, A["wrongful"][a_ids]]),
    }


def _wrongful(rec: RunRecord, w: Window, out: Summary) -> None:
    act = enforcement_actions(rec, w)
    out["wrongful_actions"] = np.count_nonzero(act["wrongful"])
    out["enforcement_actions_per_day"] = w.per_day(act["wrongful"].size)
    tenure = act["at"] - rec.users["joined"][act["user"]] < rec.newcomer_minutes
    out.share("wrongful_rate", act["wrongful"], Groups(act["region"], tenure), scale=1000.0)
    out["appeals_upheld"] = w.total(rec.series, "appeals_upheld")
    R = rec.restorations
    restored = w.contains(R["restored_at"])
    harmful = rec.posts["harm"][R["post"][restored]] > 0
    out["undeletes_upheld"] = np.count_nonzero(~harmful)
    out["undeletes_mistaken"] = np.count_nonzero(harmful)


def _victimization(rec: RunRecord, w: Window, out: Summary) -> None:
    U = rec.users
    member = U["kind"] == Kind.MEMBER
    victim = member & (U["abused_at"] >= w.start) & (U["abused_at"] < w.end)
    out["victimization"] = np.count_nonzero(victim)
    contributors = np.flatnonzero(member & (U["first_post_at"] != NONE) & (U["first_post_at"] < w.end))
    tenure = w.end - U["joined"][contributors] < rec.newcomer_minutes
    out.share("victimization_rate", victim[contributors], Groups(U["region"][contributors], tenure), scale=1000.0)
    churned = w.contains(U["churned_at"])
    v = np.flatnonzero(victim)
    out.share("victim_churn", churned[v], Groups(U["region"][v], w.end - U["joined"][v] < rec.newcomer_minutes))
    present = (U["churned_at"] == NONE) | (U["churned_at"] >= w.start)
    others = contributors[~victim[contributors] & present[contributors]]
    out.share("nonvictim_churn", churned[others])
    vc, nc = out.values["victim_churn"], out.values["nonvictim_churn"]
    out["victim_churn_ratio"] = _share(vc, nc) if nc else float("nan")


def _newcomers(rec: RunRecord, w: Window, out: Summary) -> None:
    P, V, U = rec.posts, rec.votes, rec.users
    first = np.flatnonzero(w.contains(P["created"]) & P["newcomer"] & (P["created"] < w.end - WEEK))
    created = P["created"][first].astype(np.int64)
    public = _public_since(P, first)
    closed7 = (P["closed_at"][first] != NONE) & (P["closed_at"][first] - public <= WEEK)
    unwelcome7 = (P["unwelcome_at"][first] != NONE) & (P["unwelcome_at"][first] - created <= WEEK)
    down7 = _downvoted_within(V, P, first, WEEK)
    q = P["kind"][first] == PostType.QUESTION
    region = P["group"][first]
    out.share("newcomer_closed_share", closed7[q], Groups(region[q], None))
    out.share("newcomer_downvoted_share", down7, Groups(region, None))
    out.share("newcomer_unwelcome_share", unwelcome7, Groups(region, None))
    member = U["kind"] == Kind.MEMBER
    newcomers = np.flatnonzero(member & (U["joined"] >= 0) & w.contains(U["first_post_at"])
                               & (U["first_post_at"] < w.end - RETURN_PERIOD))
    fpa = U["first_post_at"][newcomers]
    back = (U["returned_at"][newcomers] != NONE) & (U["returned_at"][newcomers] - fpa <= RETURN_PERIOD)
    out.share("newcomer_return_30d", back, Groups(U["region"][newcomers], None))
    fp = np.maximum(U["first_post"][newcomers], 0)
    closed_first = (P["closed_at"][fp] != NONE) & (P["closed_at"][fp] - _public_since(P, fp) <= WEEK)
    out.share("closed_newcomer_return_30d", back[closed_first], Groups(U["region"][newcomers][closed_first], None))


def _public_since(P: dict[str, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """Publication minute of posts ``ids`` (creation, unless held in the staging ground)."""
    pub = P["published_at"][ids].astype(np.int64)
    return np.where(pub == NONE, P["created"][ids], pub)


def _downvoted_within(V: dict[str, np.ndarray], P: dict[str, np.ndarray], ids: np.ndarray, period: int,
                      chunk: int = 1 << 22) -> np.ndarray:
    """Which posts ``ids`` received a downvote within ``period`` of creation (the vote table, the
    largest, is read in chunks)."""
    wanted = np.zeros(P["created"].size, dtype=bool)
    wanted[ids] = True
    hit = np.zeros(P["created"].size, dtype=bool)
    for lo in range(0, V["post"].size, chunk):
        sl = slice(lo, lo + chunk)
        down = np.flatnonzero(V["vote_type"][sl] == VoteType.DOWN) + lo
        post = V["post"][down]
        keep = wanted[post]
        post, at = post[keep], V["created"][down[keep]]
        hit[post[at - P["created"][post] <= period]] = True
    return hit[ids]


def _mod_workload(rec: RunRecord, w: Window, out: Summary) -> None:
    F, P, S = rec.flags, rec.posts, rec.series
    fwin = w.contains(F["created"])
    out["flags_per_day"] = w.per_day(np.count_nonzero(fwin))
    days = w.day_mask(S)
    out["flag_queue_backlog"] = float(np.mean(S["flag_queue_backlog"][days])) if days.any() else float("nan")
    settled = F["status"] != FlagStatus.PENDING
    by_mod = fwin & settled & (F["handler"] <= MODERATOR_ID_BASE)
    qt = (F["handled_at"][by_mod] - F["created"][by_mod]).astype(np.float64)
    out["queue_time_p50_min"] = _q(qt, 0.5)
    out["queue_time_p90_min"] = _q(qt, 0.9)
    on_post = F["target"] == Target.POST
    on_question = np.zeros(F["item"].size, dtype=bool)
    on_question[on_post] = P["kind"][F["item"][on_post]] == PostType.QUESTION
    fq = fwin & on_question & (F["source"] == Source.USER)
    out["question_flags_per_day"] = w.per_day(np.count_nonzero(fq))
    out["moderator_share_of_flag_handling"] = _share(np.count_nonzero(fq & by_mod), np.count_nonzero(fq & settled))
    mods_on_duty = np.maximum(S["active_moderators"][days], 1)
    out["minutes_per_moderator"] = float(np.mean(S["mod_minutes"][days] / mods_on_duty)) if days.any() else float("nan")
    out["escalations_per_day"] = w.per_day(w.total(S, "escalations"))
    _suspensions(rec, w, out)
    out["moderator_resignations"] = w.total(S, "moderator_resignations")
    out["moderators"] = rec.moderators_serving
    out["ban_evasions"] = w.total(S, "ban_evasions")
    for q in REVIEW_QUEUES:
        out[f"reviews_per_day_{q}"] = w.per_day(w.total(S, f"reviews_{q}"))
    out["review_audit_failure_rate"] = _share(w.total(S, "review_audits_failed"), w.total(S, "review_audits"))
    out["review_bans_per_day"] = w.per_day(w.total(S, "review_bans"))


def _suspensions(rec: RunRecord, w: Window, out: Summary) -> None:
    """Suspensions by who imposed them (people or the site's automatic rules) and question bans."""
    A = rec.actions
    win = w.contains(A["created"])
    suspended = win & (A["action"] == Action.SUSPEND)
    by_people = A["source"] == Source.MODERATOR
    out["suspensions_by_moderators"] = w.per_day(np.count_nonzero(suspended & by_people))
    out["automatic_suspensions"] = w.per_day(np.count_nonzero(suspended & ~by_people))
    out["question_bans_per_day"] = w.per_day(np.count_nonzero(win & (A["action"] == Action.QUESTION_BAN)))


def _community_health(rec: RunRecord, w: Window, out: Summary) -> None:
    P, C, U, S = rec.posts, rec.comments, rec.users, rec.series
    win = w.contains(P["created"])
    is_q = P["kind"] == PostType.QUESTION
    q = np.flatnonzero(win & is_q & (P["harm"] == Harm.NONE))
    out["questions_per_day"] = w.per_day(q.size)
    asker = P["owner"][q]
    newcomer = P["created"][q] - U["joined"][asker] < rec.newcomer_minutes
    out["newcomer_questions_per_day"] = w.per_day(np.count_nonzero(newcomer))
    groups = Groups(P["group"][q], newcomer)
    answered = P["answers"][q] > 0
    out.share("answered_share", answered, groups)
    tfa = P["first_answer_at"][q[answered]].astype(np.int64) - _public_since(P, q[answered])
    out["time_to_first_answer_p50_min"] = _q(tfa, 0.5)
    out.share("accepted_share", P["accepted"][q] != NONE, groups)
    out.share("closure_rate", P["closed_at"][q] != NONE, groups)
    cl = np.flatnonzero(w.contains(P["closed_at"]))
    out["community_share_of_closures"] = _share(np.count_nonzero(P["closer"][cl] != Closer.MODERATOR), cl.size)
    out["duplicate_share_of_closures"] = _share(np.count_nonzero(P["close_reason"][cl] == CloseReason.DUPLICATE),
                                                cl.size)
    out["reopen_share_of_closures"] = _share(w.total(S, "reopens"), w.total(S, "closures"))
    out["suggested_edits_per_day"] = w.per_day(w.total(S, "suggested_edits"))
    out["vandal_edits_rolled_back"] = w.total(S, "rollbacks")
    recent = (P["created"] >= max(w.start, w.end - RETURN_PERIOD)) & (P["created"] < w.end)
    out["active_contributors"] = np.unique(P["owner"][recent]).size
    n_q, n_a = np.count_nonzero(win & is_q), np.count_nonzero(win & (P["kind"] == PostType.ANSWER))
    out["answers_per_day"] = w.per_day(n_a)
    out["answers_per_question"] = _share(n_a, n_q)
    out["upvotes_per_day"] = w.per_day(w.total(S, "upvotes"))
    out["downvotes_per_day"] = w.per_day(w.total(S, "downvotes"))
    out["comments_per_day"] = w.per_day(np.count_nonzero(w.contains(C["created"])))
    member = U["kind"] == Kind.MEMBER
    rep = np.sort(U["reputation"][member])[::-1]
    top = max(1, rep.size // 100)
    out["top1pct_reputation_share"] = _share(rep[:top].sum(dtype=np.float64), rep.sum(dtype=np.float64))
    posts_per_poster = U["questions"][member] + U["answers"][member]
    posts_per_poster = posts_per_poster[posts_per_poster > 0]
    out["share_posters_with_at_most_two_posts"] = _share(np.count_nonzero(posts_per_poster <= 2), posts_per_poster.size)
    out["answer_activity_days_exponent"] = _answer_days_exponent(P, win)


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
