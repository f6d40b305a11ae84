"""Every metric Preflight reports, listed once: its family, direction, unit, kind and definition.

Data only (no numba, no model imports), so the command line, config validation, the report and
the docs can read it cheaply. :mod:`sim.metrics` computes exactly these names (a test fails when a
metric is computed but not registered, or registered but not computed), and ``docs/metrics.md``
is generated from this module (``python -m sim.metric_registry > docs/metrics.md``; a test checks
it is current).

Terms used in the definitions:

* **window**: the measurement window, from the end of the warm-up to the end of the run. Every
  metric counts only what happened (or was posted) inside it.
* **harmful**: ground truth, whatever the site decided: spam, abusive, harassing or
  plausible-but-wrong AI content.
* **enforcement action**: a defence acting on content or an account. On content: a post hidden
  (three spam/rude flags collapse it) or deleted, or a comment deleted, by community flags, a
  moderator, a review, an automated detector, staff or the destruction of its author's account.
  On an account: a warning, suspension, account destruction, question ban or vote reversal.
  Housekeeping (the roomba's deletion of abandoned closed questions) is not an action.
* **removal**: deletion of content from public view (a hidden post still collects a reduced share
  of views, so hiding is an action but not a removal). A removal that is reversed (undeleted,
  appeal upheld) is undone: the item's exposure and its time to removal continue from the restore.
* **creation time**: when a post was written; **publication time**: when it became public (later
  than creation only for questions held in the staging ground). Metrics use creation time unless
  their definition says publication.
"""

from __future__ import annotations

from dataclasses import dataclass

LOWER_IS_BETTER, HIGHER_IS_BETTER, NEUTRAL = "lower_is_better", "higher_is_better", "neutral"

#: The design's metric families, in report order.
FAMILIES: dict[str, str] = {
    "harm_exposure": "How much harmful content people saw.",
    "prevalence": "How much of what was posted or seen was harmful.",
    "time_to_removal": "How long harmful content stayed up.",
    "proactive_rate": "How much harm the defences caught before anyone flagged it, and how precisely.",
    "wrongful_actions": "Good-faith content and users hit by the defences.",
    "victimization": "Members who received abuse, and what it did to them.",
    "newcomer_experience": "What happened to newcomers' first posts, and whether newcomers came back.",
    "fairness": "Each per-member rate broken down by group: the ratio of the worst group's rate to the best's.",
    "mod_workload": "The flag queue and the people who work it.",
    "community_health": "Whether the site works as a Q&A site.",
}

#: Kinds of value: how a metric aggregates and how it is printed.
KINDS: dict[str, str] = {
    "count": "events in the window (a whole number per run)",
    "per_day": "events in the window divided by its length in days",
    "share": "a fraction between 0 and 1 of a stated population",
    "rate": "events per 1,000 of a stated population",
    "level": "a median, quantile, mean, ratio or state at the window's end",
}

#: Groups of the per-group breakdowns (fairness): the region/language groups of the population
#: config and the tenure groups.
TENURE_GROUPS = ("newcomer", "established")


@dataclass(frozen=True)
class Metric:
    """One registered metric.

    Attributes:
        name: The binding name used in ``summary.json``, the report, guardrails and SQL tables.
        family: One of :data:`FAMILIES`.
        direction: ``lower_is_better``, ``higher_is_better`` or ``neutral``.
        unit: What one unit of the value is (shown beside it).
        kind: One of :data:`KINDS`.
        definition: One sentence a reader can check the number against.
        groups: For share and rate metrics over members: the member each unit belongs to, for the
            per-group breakdown (``None``: no breakdown, and :attr:`no_groups` says why).
        no_groups: Why a share or rate has no per-group breakdown.
        work_bound: For a metric that can move the better way simply because the defences did less
            (fewer enforcement actions, closures or downvotes): the metric that measures that work.
            When the work fell in the scenario, such a "better" is reported as context, not as a
            benefit (``experiments.guardrails.mark_context``).
    """

    name: str
    family: str
    direction: str
    unit: str
    kind: str
    definition: str
    groups: str | None = None
    no_groups: str | None = None
    work_bound: str | None = None

    @property
    def is_count(self) -> bool:
        return self.kind == "count"


#: The review queues (``sim.review_queues.QUEUES``, same order), with what each holds.
REVIEW_QUEUES: dict[str, str] = {
    "suggested_edits": "edits suggested by members below the edit privilege",
    "close": "questions with close flags or sent by first-question reviewers",
    "low_quality": "posts flagged as very low quality or not an answer, and junk answers sent by reviewers",
    "first_questions": "new members' first questions",
    "first_answers": "new members' first answers",
    "late_answers": "answers from low-reputation members to questions a month old or more",
    "reopen": "closed questions edited soon after closure, or with a reopen vote",
    "staging": "first questions held in the staging ground (its lever)",
}

_ANON = "the unit is a view by an anonymous visitor, who has no group"
_MECH = "a property of the site's mechanics (who or what did the work), not of members"

_METRICS: tuple[Metric, ...] = (
    # -- harm exposure -------------------------------------------------------------------------
    Metric("harm_exposure", "harm_exposure", LOWER_IS_BETTER, "views", "count",
           "Views of harmful posts and comments while they were visible (a hidden post keeps a reduced "
           "share of its views), in the window."),
    Metric("harm_exposure_spam", "harm_exposure", LOWER_IS_BETTER, "views", "count",
           "harm_exposure of spam."),
    Metric("harm_exposure_abusive", "harm_exposure", LOWER_IS_BETTER, "views", "count",
           "harm_exposure of abusive content (not aimed at one member)."),
    Metric("harm_exposure_harassment", "harm_exposure", LOWER_IS_BETTER, "views", "count",
           "harm_exposure of content harassing a targeted member."),
    Metric("harm_exposure_wrong_ai", "harm_exposure", LOWER_IS_BETTER, "views", "count",
           "harm_exposure of plausible-but-wrong AI-generated answers."),
    Metric("harm_exposure_per_1k_views", "harm_exposure", LOWER_IS_BETTER, "per 1,000 views", "rate",
           "harm_exposure per 1,000 views of all visible posts and comments (every post counted the same "
           "way, at any age), in the window.", no_groups=_ANON),
    # -- prevalence ----------------------------------------------------------------------------
    Metric("prevalence", "prevalence", LOWER_IS_BETTER, "share of views", "share",
           "Views of harmful content divided by views of all visible posts and comments, in the window.",
           no_groups=_ANON),
    Metric("spam_posts_per_day", "prevalence", LOWER_IS_BETTER, "posts/day", "per_day",
           "Spam posts created in the window per day."),
    Metric("unfriendly_comment_share", "prevalence", LOWER_IS_BETTER, "share of comments", "share",
           "Share of comments written in the window whose tone is unwelcoming or abusive; by group of the "
           "member whose post received the comment.", groups="post owner"),
    Metric("fraud_reputation", "prevalence", LOWER_IS_BETTER, "reputation", "count",
           "Reputation gained in the window from fraudulent votes (voting rings, sock puppets), before "
           "any reversal."),
    # -- time to removal -------------------------------------------------------------------------
    Metric("time_to_removal_min_p50", "time_to_removal", LOWER_IS_BETTER, "minutes", "level",
           "Kaplan-Meier median time from posting to removal of harmful posts and comments posted in the "
           "window; items still up at the window's end are censored there; stamped at the minute of the "
           "deciding flag, vote or decision."),
    Metric("time_to_removal_min_p90", "time_to_removal", LOWER_IS_BETTER, "minutes", "level",
           "Kaplan-Meier 90th percentile of the same time to removal (not reached: no value)."),
    Metric("never_removed_share", "time_to_removal", LOWER_IS_BETTER, "share of harmful items", "share",
           "Share of harmful posts and comments posted in the window, at least a day before its end, that "
           "were still not removed at the window's end.", no_groups="harm is measured on what viewers see"),
    # -- proactive rate -----------------------------------------------------------------------------
    Metric("proactive_rate", "proactive_rate", HIGHER_IS_BETTER, "share of actioned harmful items", "share",
           "Share of harmful posts and comments posted in the window and hit by an enforcement action "
           "(hidden or removed), whose first action came before any member's flag.",
           no_groups="the authors of harmful content are mostly bad actors"),
    Metric("spam_autoflag_precision", "proactive_rate", HIGHER_IS_BETTER, "share of detections", "share",
           "Share of the spam detector's detections in the window that were really spam; by group of the "
           "detected author.", groups="detected user"),
    # -- wrongful actions ------------------------------------------------------------------------------
    Metric("wrongful_actions", "wrongful_actions", LOWER_IS_BETTER, "actions", "count",
           "Enforcement actions in the window against good-faith content (posts hidden or deleted, comments "
           "deleted) or members who did nothing wrong (sanctions), including actions later reversed.",
           work_bound="enforcement_actions_per_day"),
    Metric("wrongful_rate", "wrongful_actions", LOWER_IS_BETTER, "per 1,000 actions", "rate",
           "wrongful_actions per 1,000 enforcement actions in the window; by group of the member acted on.",
           groups="member acted on"),
    Metric("appeals_upheld", "wrongful_actions", NEUTRAL, "appeals", "count",
           "Appeals against sanctions that staff upheld in the window (the sanction lifted, content restored)."),
    Metric("undeletes_upheld", "wrongful_actions", NEUTRAL, "posts", "count",
           "Good-faith posts hidden or deleted by a defence and made visible again in the window (a moderator "
           "undeleting as they decline the flags, or an upheld appeal): wrongful removals undone."),
    Metric("undeletes_mistaken", "wrongful_actions", LOWER_IS_BETTER, "posts", "count",
           "Harmful posts hidden or deleted by a defence and made visible again in the window (a moderator "
           "declining valid flags and undeleting by mistake): their exposure restarts."),
    # -- victimization ----------------------------------------------------------------------------------
    Metric("victimization", "victimization", LOWER_IS_BETTER, "members", "count",
           "Members who received abuse (an abusive or harassing comment, or targeted harassment) in the window."),
    Metric("victimization_rate", "victimization", LOWER_IS_BETTER, "per 1,000 contributors", "rate",
           "Members abused in the window per 1,000 members who have ever posted; groups by the member's "
           "tenure at the window's end.", groups="member"),
    Metric("victim_churn", "victimization", LOWER_IS_BETTER, "share of victims", "share",
           "Share of the window's abused members who left the site in the window.", groups="member"),
    Metric("nonvictim_churn", "victimization", NEUTRAL, "share of contributors", "share",
           "Share of other members who have posted (and were present in the window) who left in the window.",
           no_groups="the comparison group of victim_churn"),
    Metric("victim_churn_ratio", "victimization", LOWER_IS_BETTER, "ratio", "level",
           "victim_churn divided by nonvictim_churn."),
    # -- newcomer experience ------------------------------------------------------------------------------
    Metric("newcomer_closed_share", "newcomer_experience", LOWER_IS_BETTER, "share of first questions", "share",
           "Share of newcomers' first questions posted in the window (at least 7 days before its end) that "
           "were closed within 7 days of publication.", groups="asker", work_bound="closure_rate"),
    Metric("newcomer_downvoted_share", "newcomer_experience", LOWER_IS_BETTER, "share of first posts", "share",
           "Share of newcomers' first posts posted in the window (at least 7 days before its end) that "
           "received a downvote within 7 days.", groups="author", work_bound="downvotes_per_day"),
    Metric("newcomer_unwelcome_share", "newcomer_experience", LOWER_IS_BETTER, "share of first posts", "share",
           "Share of newcomers' first posts posted in the window (at least 7 days before its end) that "
           "received an unwelcoming or abusive comment within 7 days.", groups="author"),
    Metric("newcomer_return_30d", "newcomer_experience", HIGHER_IS_BETTER, "share of newcomers", "share",
           "Share of members who registered during the run and first posted in the window (at least 30 days "
           "before its end) who were active again within 30 days of that post.", groups="newcomer"),
    Metric("closed_newcomer_return_30d", "newcomer_experience", HIGHER_IS_BETTER, "share of newcomers", "share",
           "newcomer_return_30d among the newcomers whose first post was closed within 7 days.", groups="newcomer"),
    # -- moderator workload --------------------------------------------------------------------------------
    Metric("flags_per_day", "mod_workload", NEUTRAL, "flags/day", "per_day",
           "Flags raised in the window (members and automated detectors) per day."),
    Metric("question_flags_per_day", "mod_workload", NEUTRAL, "flags/day", "per_day",
           "Members' flags on questions raised in the window per day."),
    Metric("flag_queue_backlog", "mod_workload", LOWER_IS_BETTER, "items", "level",
           "Items waiting in the moderator flag queue, averaged over the window's ticks."),
    Metric("queue_time_p50_min", "mod_workload", LOWER_IS_BETTER, "minutes", "level",
           "Median time from raising a flag to a moderator's decision on it, over flags raised in the "
           "window that a moderator settled (kept or declined)."),
    Metric("queue_time_p90_min", "mod_workload", LOWER_IS_BETTER, "minutes", "level",
           "90th percentile of the same time in the moderator queue."),
    Metric("moderator_share_of_flag_handling", "mod_workload", NEUTRAL, "share of handled flags", "share",
           "Share of members' flags on questions, raised in the window and settled, that a moderator settled.",
           no_groups=_MECH),
    Metric("minutes_per_moderator", "mod_workload", LOWER_IS_BETTER, "minutes/day", "level",
           "Minutes a serving moderator spent on the flag queue per day, averaged over the window's days.",
           work_bound="enforcement_actions_per_day"),
    Metric("enforcement_actions_per_day", "mod_workload", NEUTRAL, "actions/day", "per_day",
           "Enforcement actions in the window per day, by every defence (community flags and votes, "
           "moderators, reviews, detectors, staff), including actions later reversed: the work the "
           "defences did."),
    Metric("escalations_per_day", "mod_workload", NEUTRAL, "escalations/day", "per_day",
           "Cases moderators escalated to staff in the window, per day."),
    Metric("suspensions_by_moderators", "mod_workload", NEUTRAL, "suspensions/day", "per_day",
           "Suspensions (not warnings) moderators and staff imposed in the window, per day, including ones "
           "later lifted."),
    Metric("automatic_suspensions", "mod_workload", NEUTRAL, "suspensions/day", "per_day",
           "Suspensions the site imposed automatically in the window (its automatic rules for repeated "
           "serial voting, repeated red-flag deletions and recreated accounts, and detectors), per day; no "
           "moderator involved. Question bans are not suspensions."),
    Metric("question_bans_per_day", "mod_workload", NEUTRAL, "bans/day", "per_day",
           "Accounts the question-ban algorithm barred from asking in the window, per day (not suspensions)."),
    Metric("moderator_resignations", "mod_workload", LOWER_IS_BETTER, "moderators", "count",
           "Moderators who resigned (burnout) in the window.",
           work_bound="enforcement_actions_per_day"),
    Metric("moderators", "mod_workload", NEUTRAL, "moderators", "level",
           "Moderators serving at the window's end."),
    *(Metric(f"reviews_per_day_{q}", "mod_workload", NEUTRAL, "reviews/day", "per_day",
             f"Reviews (one member's decision each, audits included) in the {q.replace('_', ' ')} review queue "
             f"({what}) in the window, per day.")
      for q, what in REVIEW_QUEUES.items()),
    Metric("review_audit_failure_rate", "mod_workload", LOWER_IS_BETTER, "share of audits", "share",
           "Share of review audits (known-good or known-bad test items) in the window that the reviewer failed.",
           no_groups="audits measure the review system (robo-reviewers), not a harm to members"),
    Metric("review_bans_per_day", "mod_workload", NEUTRAL, "bans/day", "per_day",
           "Automatic review bans (after failed audits) started in the window, per day."),
    Metric("ban_evasions", "mod_workload", LOWER_IS_BETTER, "accounts", "count",
           "New accounts bad actors opened in the window to continue after a suspension or ban."),
    # -- community health -----------------------------------------------------------------------------------
    Metric("questions_per_day", "community_health", HIGHER_IS_BETTER, "questions/day", "per_day",
           "Questions that are not harmful, created in the window, per day."),
    Metric("newcomer_questions_per_day", "community_health", HIGHER_IS_BETTER, "questions/day", "per_day",
           "questions_per_day asked by newcomers: members within population.newcomer_days (30) of registering "
           "when they asked."),
    Metric("answered_share", "community_health", HIGHER_IS_BETTER, "share of questions", "share",
           "Share of those questions with at least one answer by the window's end; by group of the asker.",
           groups="asker"),
    Metric("time_to_first_answer_p50_min", "community_health", LOWER_IS_BETTER, "minutes", "level",
           "Median time from a question's publication to its first answer, over answered questions created "
           "in the window."),
    Metric("accepted_share", "community_health", HIGHER_IS_BETTER, "share of questions", "share",
           "Share of the window's questions (not harmful) with an accepted answer by the window's end.",
           groups="asker"),
    Metric("closure_rate", "community_health", NEUTRAL, "share of questions", "share",
           "Share of the window's questions (not harmful) closed by the window's end.", groups="asker"),
    Metric("community_share_of_closures", "community_health", NEUTRAL, "share of closures", "share",
           "Share of closures in the window made by members (close votes or the duplicate hammer) rather "
           "than by a moderator.", no_groups=_MECH),
    Metric("duplicate_share_of_closures", "community_health", NEUTRAL, "share of closures", "share",
           "Share of closures in the window closed as duplicates.", no_groups=_MECH),
    Metric("reopen_share_of_closures", "community_health", NEUTRAL, "reopens per closure", "share",
           "Questions reopened in the window divided by questions closed in the window.", no_groups=_MECH),
    Metric("suggested_edits_per_day", "community_health", NEUTRAL, "edits/day", "per_day",
           "Edits suggested in the window (by members below the edit privilege, and vandals' edits) per day."),
    Metric("vandal_edits_rolled_back", "community_health", NEUTRAL, "edits", "count",
           "Defacing edits that got through review and were rolled back by another member in the window."),
    Metric("active_contributors", "community_health", HIGHER_IS_BETTER, "members", "level",
           "Distinct accounts that posted in the window's last 30 days."),
    Metric("answers_per_day", "community_health", NEUTRAL, "answers/day", "per_day",
           "Answers created in the window per day (harmful ones included): with fewer questions, answerers "
           "write fewer (docs/design.md, supply and demand)."),
    Metric("answers_per_question", "community_health", HIGHER_IS_BETTER, "answers/question", "level",
           "Answers created in the window divided by questions created in the window (harmful ones included)."),
    Metric("upvotes_per_day", "community_health", NEUTRAL, "votes/day", "per_day",
           "Upvotes cast in the window per day."),
    Metric("downvotes_per_day", "community_health", NEUTRAL, "votes/day", "per_day",
           "Downvotes cast in the window per day."),
    Metric("comments_per_day", "community_health", NEUTRAL, "comments/day", "per_day",
           "Comments written in the window per day."),
    Metric("top1pct_reputation_share", "community_health", NEUTRAL, "share of reputation", "share",
           "Share of all members' reputation held by the top 1% of members at the window's end.",
           no_groups="a distribution's shape, not a rate"),
    Metric("share_posters_with_at_most_two_posts", "community_health", NEUTRAL, "share of posters", "share",
           "Share of members who have posted whose lifetime post count is one or two.",
           no_groups="a distribution's shape, not a rate"),
    Metric("answer_activity_days_exponent", "community_health", NEUTRAL, "exponent", "level",
           "Power-law exponent (discrete maximum likelihood, x_min = 1) of the number of distinct days "
           "members answered on in the window (Lotka's law: about 2 on Stack Overflow)."),
)

WORST_TO_BEST = "_worst_to_best"


def _fairness_entries(metrics: tuple[Metric, ...]) -> tuple[Metric, ...]:
    return tuple(
        Metric(m.name + WORST_TO_BEST, "fairness", LOWER_IS_BETTER if m.direction != NEUTRAL else NEUTRAL,
               "ratio", "level",
               f"Worst group's {m.name} divided by the best group's (groups by {m.groups}: region/language "
               "group and tenure group; rates shrunk toward the all-groups rate with a pseudo-count, group "
               "sizes beside them in the fairness breakdown).")
        for m in metrics if m.groups is not None)


#: name -> :class:`Metric`, every metric once, in report order within each family.
REGISTRY: dict[str, Metric] = {m.name: m for m in (*_METRICS, *_fairness_entries(_METRICS))}

#: Metrics with a per-group breakdown.
GROUPED: tuple[str, ...] = tuple(m.name for m in _METRICS if m.groups is not None)

#: name -> direction (kept for callers that only need the direction).
DIRECTIONS: dict[str, str] = {name: m.direction for name, m in REGISTRY.items()}


def family_of(name: str) -> str:
    return REGISTRY[name].family


def by_family(values: dict[str, float]) -> dict[str, dict[str, float]]:
    """Metric values grouped under their family names, families in :data:`FAMILIES` order."""
    out: dict[str, dict[str, float]] = {f: {} for f in FAMILIES}
    for name, m in REGISTRY.items():
        if name in values:
            out[m.family][name] = values[name]
    unknown = sorted(set(values) - set(REGISTRY))
    if unknown:
        raise KeyError(f"unregistered metrics: {', '.join(unknown)}")
    return {f: v for f, v in out.items() if v}


def flat(section: dict) -> dict[str, float]:
    """The metric values of a ``summary.json`` ``metrics`` section, grouped by family or (older
    summaries) flat, as one flat mapping."""
    if section and all(isinstance(v, dict) for v in section.values()) and set(section) <= set(FAMILIES):
        return {k: v for group in section.values() for k, v in group.items()}
    return dict(section)


def format_value(name: str, value: float | None) -> str:
    """The value as a reader wants it: counts without decimals, small shares in %, the unit shown."""
    m = REGISTRY.get(name)
    if value is None or value != value:
        return "n/a"
    if m is None:
        return f"{value:,.4g}"
    if m.kind == "count":
        return f"{value:,.0f} {m.unit}"
    if m.kind == "share":
        return f"{100 * value:.3g}%" if abs(value) < 0.1 else f"{100 * value:.1f}%"
    if abs(value) >= 100:
        return f"{value:,.0f} {m.unit}"
    return f"{value:,.3g} {m.unit}"


def markdown() -> str:
    """``docs/metrics.md``: every metric under its family, with direction, unit, kind and definition."""
    lines = ["# Metrics", "",
             "<!-- generated by `python -m sim.metric_registry > docs/metrics.md`; do not edit by hand -->", "",
             "Every number Preflight reports, with its definition. The names are binding: `summary.json`",
             "(grouped by family), the report, guardrails and the collected `runs` table use them.", ""]
    doc = (__doc__ or "").split("Terms used in the definitions:", 1)[1].strip()
    lines += ["## Terms", "", doc.replace("\n  ", " "), "", "## Kinds of value", ""]
    lines += [f"- **{k}**: {v}" for k, v in KINDS.items()]
    for family, blurb in FAMILIES.items():
        lines += ["", f"## {family}", "", blurb, "", "| metric | direction | unit | kind | definition |",
                  "|---|---|---|---|---|"]
        for m in REGISTRY.values():
            if m.family != family:
                continue
            note = f" Per-group breakdown by {m.groups}." if m.groups else (
                f" No per-group breakdown: {m.no_groups}." if m.no_groups else "")
            if m.work_bound:
                note += (" Can improve only because the defences did less: a better value is reported as "
                         f"context when `{m.work_bound}` fell.")
            lines.append(f"| `{m.name}` | {m.direction.replace('_', ' ')} | {m.unit} | {m.kind} | "
                         f"{m.definition}{note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
