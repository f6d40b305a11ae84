"""Each metric family on a hand-built mini-site whose answer is worked out by hand in the test.

The mini-site (``tests/mini_site.py``) places members, posts, flags and decisions at exact minutes;
the summary reads it exactly as it reads a finished run. Every case includes something that must
not count (warm-up events, housekeeping, pending flags) so a metric that leaks is caught.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.metrics import FAIRNESS_PSEUDO_COUNT
from sim.store import Action, Closer, CloseReason, Harm, Source
from tests.mini_site import DAY, NONE, Cause, FlagStatus, Kind, MiniSite, PostType, Tone

MOD, MOD2 = -1000, -1001  # moderators' handler ids


def test_harm_exposure_and_prevalence_count_the_window_only():
    site = MiniSite(days=10, warmup_days=2)
    site.member()
    site.daily("views", {0: 1000, 1: 1000, **{d: 500 for d in range(2, 10)}})  # 8 x 500 = 4,000 in the window
    site.daily("harm_exposure", {1: 100, 3: 8, 5: 12})  # day 1 is warm-up
    site.daily("harm_exposure_spam", {1: 100, 3: 8})
    site.daily("harm_exposure_harassment", {5: 12})
    m, _ = site.summarize()
    assert m["harm_exposure"] == 20
    assert m["harm_exposure_spam"] == 8 and m["harm_exposure_harassment"] == 12
    assert m["prevalence"] == pytest.approx(20 / 4000)
    assert m["harm_exposure_per_1k_views"] == pytest.approx(5.0)


def removal_case() -> MiniSite:
    """Harmful items and how they were removed (window: day 1 to day 10)."""
    site = MiniSite(days=10, warmup_days=1)
    good, bad = site.member(), site.member(kind=Kind.SPAMMER)
    host = site.post(good, 1500)
    # removed by a moderator 100 min after posting; a member flagged it first
    site.post(bad, 2000, harm=Harm.SPAM, first_flag_at=2040, removed_at=2100, removal_cause=Cause.MODERATOR)
    # hidden by the spam detector at once, deleted after 300 min; no member flag: proactive
    site.post(bad, 3000, harm=Harm.SPAM, hidden_at=3010, removed_at=3300, removal_cause=Cause.SPAM_DETECTOR)
    # never removed: censored at the window's end
    site.post(bad, 4000, harm=Harm.ABUSIVE)
    # hidden by a detector at 5100, restored (wrongly) at 5200, flagged by a member at 5150 and
    # deleted at 5600: its time to removal is 600, not 100
    p4 = site.post(bad, 5000, harm=Harm.HARASSMENT, first_flag_at=5150, removed_at=5600, removal_cause=Cause.MODERATOR)
    site.restoration(p4, restored_at=5200, hidden_at=5100)
    # an abusive comment a moderator deleted after 50 min, nobody flagged it: proactive
    site.comment(host, bad, 6000, harm=Harm.ABUSIVE, tone=Tone.ABUSIVE, removed_at=6050, removal_cause=Cause.MODERATOR)
    # posted in the warm-up: not counted
    site.post(bad, 100, harm=Harm.SPAM, removed_at=5000, removal_cause=Cause.MODERATOR)
    # posted 200 min before the end: censored at 200, too young to call never removed
    site.post(bad, site.window.end - 200, harm=Harm.SPAM)
    return site


def test_time_to_removal_is_a_kaplan_meier_estimate_with_censoring_and_restores():
    m, _ = removal_case().summarize()
    # times to removal 50, 100, 300, 600; censored at 200 and at 10,400 (posted at 4,000).
    # Kaplan-Meier: S(50) = 5/6, S(100) = 5/6 * 4/5 = 2/3, the item censored at 200 leaves three at
    # risk, S(300) = 2/3 * 2/3 = 4/9 (4/9 < 1/2: the median is 300), S(600) = 4/9 * 1/2 = 2/9
    # (> 1/10: the 90th percentile is not reached)
    assert m["time_to_removal_min_p50"] == 300
    assert math.isnan(m["time_to_removal_min_p90"])
    # five items at least a day old at the end; one never removed
    assert m["never_removed_share"] == pytest.approx(1 / 5)
    # each kind alone. Posts: 100, 300, 600, censored at 200 and 10,400: S(100) = 4/5, three at
    # risk after the censoring at 200, S(300) = 4/5 * 2/3 = 8/15 (> 1/2), S(600) = 4/15: median 600.
    # Comments: the one removed after 50 min
    assert m["time_to_removal_posts_min_p50"] == 600
    assert m["time_to_removal_comments_min_p50"] == 50


def test_proactive_rate_counts_the_first_enforcement_action_of_every_episode():
    m, _ = removal_case().summarize()
    # actioned: the moderator's removal (flagged first: no), the detector's hide (yes), the
    # restored item whose first action, the reversed hide at 5,100, came before the first flag at
    # 5,150 (yes, although its final removal came after it), and the unflagged comment (yes)
    assert m["proactive_rate"] == pytest.approx(3 / 4)


def test_wrongful_actions_count_reversed_actions_and_ignore_housekeeping_and_warmup():
    site = MiniSite(days=10, warmup_days=1)
    good, bad = site.member(), site.member(kind=Kind.SPAMMER)
    newcomer = site.member(region=1, joined=5000 - DAY)
    spam = site.post(bad, 2000, harm=Harm.SPAM, hidden_at=2050, removed_at=2100, removal_cause=Cause.COMMUNITY_FLAGS)
    good_post = site.post(good, 3000)
    site.restoration(good_post, restored_at=3200, hidden_at=3100)  # wrongly hidden by flags, then restored
    site.post(good, 4000, removed_at=9000, removal_cause=Cause.ROOMBA)  # housekeeping: not an action
    site.post(good, 100, removed_at=500, removal_cause=Cause.MODERATOR)  # acted on in the warm-up
    site.comment(spam, good, 5000, tone=Tone.FINE, removed_at=5100, removal_cause=Cause.MODERATOR)  # wrongful
    site.comment(good_post, bad, 5000, tone=Tone.ABUSIVE, harm=Harm.ABUSIVE, removed_at=5200,
                 removal_cause=Cause.CIVILITY_CLASSIFIER)
    site.sanction(good, 6000, wrongful=True)
    site.sanction(bad, 7000)
    site.sanction(newcomer, 6500, wrongful=True)
    site.sanction(good, 500, wrongful=True)  # warm-up
    site.daily("appeals_upheld", {0: 1, 4: 2})
    m, fairness = site.summarize()
    # 7 actions in the window: spam post, restored good post, two comments, three sanctions;
    # wrongful: the good post, the fine comment, the good member's and the newcomer's sanctions
    assert m["wrongful_actions"] == 4
    assert m["wrongful_rate"] == pytest.approx(1000 * 4 / 7)
    assert m["appeals_upheld"] == 2
    entry = fairness["wrongful_rate"]
    assert entry["counts"] == {"americas": [3, 6], "europe": [1, 1], "newcomer": [1, 1], "established": [3, 6]}
    k, overall = FAIRNESS_PSEUDO_COUNT, 4 / 7
    americas = 1000 * (3 + k * overall) / (6 + k)
    europe = 1000 * (1 + k * overall) / (1 + k)
    assert entry["groups"]["americas"] == pytest.approx(americas)
    assert entry["groups"]["europe"] == pytest.approx(europe)
    assert entry["worst"] == "europe" and entry["best"] in ("americas", "established")
    assert m["wrongful_rate_worst_to_best"] == pytest.approx(europe / americas)


def test_victimization_counts_abuse_in_the_window():
    site = MiniSite(days=10, warmup_days=1)
    site.member(abused_at=2000, first_post_at=100, churned_at=3000)  # victim, left
    site.member(abused_at=500, first_post_at=100)  # abused in the warm-up only
    site.member(first_post_at=200, churned_at=2500)  # left without being abused
    site.member(first_post_at=300)
    site.member()  # never posted: not a contributor
    site.member(first_post_at=100, churned_at=1000)  # left during the warm-up
    m, _ = site.summarize()
    assert m["victimization"] == 1
    assert m["victimization_rate"] == pytest.approx(1000 * 1 / 5)  # five members have posted
    assert m["victim_churn"] == 1.0
    assert m["nonvictim_churn"] == pytest.approx(1 / 3)  # of the three others still there
    assert m["victim_churn_ratio"] == pytest.approx(3.0)


def test_newcomer_experience_on_first_posts():
    site = MiniSite(days=45, warmup_days=1)
    n = [site.member(joined=1500, first_post_at=t) for t in (2000, 3000, 4000, 5000)]
    late = site.member(joined=1500, first_post_at=60_000)
    q1 = site.post(n[0], 2000, newcomer=True, closed_at=2000 + 2 * DAY)
    q2 = site.post(n[1], 3000, newcomer=True)
    site.downvote(q2, 3000 + 3 * DAY)
    a3 = site.post(n[2], 4000, kind=PostType.ANSWER, parent=q1, newcomer=True, unwelcome_at=4000 + DAY)
    # held in the staging ground for 3 days; closed 6 days after going public (9 after creation)
    q4 = site.post(n[3], 5000, newcomer=True, published_at=5000 + 3 * DAY, closed_at=5000 + 9 * DAY)
    site.post(late, 60_000, newcomer=True, closed_at=60_100)  # too young to judge: excluded
    for user, post in zip(n, (q1, q2, a3, q4), strict=True):
        site._users[user]["first_post"] = post
    site._users[n[0]]["returned_at"] = 2000 + 5 * DAY
    site._users[n[1]]["returned_at"] = 3000 + 40 * DAY  # came back too late
    m, fairness = site.summarize()
    assert m["newcomer_closed_share"] == pytest.approx(2 / 3)  # q1 and q4 of three first questions
    assert m["newcomer_downvoted_share"] == pytest.approx(1 / 4)
    assert m["newcomer_unwelcome_share"] == pytest.approx(1 / 4)
    assert m["newcomer_return_30d"] == pytest.approx(1 / 4)
    assert m["closed_newcomer_return_30d"] == pytest.approx(1 / 2)  # closed first posts: q1 (back), q4
    assert fairness["newcomer_closed_share"]["counts"] == {"americas": [2, 3], "europe": [0, 0]}


def test_moderator_workload_counts_flags_settled_by_moderators_with_their_queue_time():
    site = MiniSite(days=10, warmup_days=1)
    m_ = site.member()
    old, q, q2 = site.post(m_, 500), site.post(m_, 2000), site.post(m_, 2500)
    site.flag(q, 2040, handler=MOD, handled_at=2100)  # a moderator deleted it: 60 min in queue
    site.flag(q2, 2600, handler=MOD2, handled_at=2900, status=FlagStatus.DECLINED)  # declined: 300 min
    site.flag(q, 2050, handler=NONE, handled_at=2100)  # settled by the close queue, not a moderator
    site.flag(q, 3000, status=FlagStatus.PENDING)  # still waiting
    site.flag(old, 1000, handler=MOD, handled_at=1200)  # raised in the warm-up
    site.daily("moderator_resignations", {0: 1, 3: 1})
    site.daily("escalations", {0: 5, 2: 3})
    m, _ = site.summarize()
    assert m["queue_time_p50_min"] == pytest.approx(180)  # median of 60 and 300
    assert m["queue_time_p90_min"] == pytest.approx(60 + 0.9 * 240)
    assert m["moderator_share_of_flag_handling"] == pytest.approx(2 / 3)
    assert m["flags_per_day"] == pytest.approx(4 / 9) and m["question_flags_per_day"] == pytest.approx(4 / 9)
    assert m["moderator_resignations"] == 1
    assert m["escalations_per_day"] == pytest.approx(3 / 9)
    assert m["moderators"] == 2


def test_suspensions_are_counted_by_who_imposed_them_and_question_bans_apart():
    """Window: days 1 to 10 (9 days). Moderators' and staff's suspensions, the site's automatic
    ones, warnings and question bans each counted where they belong."""
    site = MiniSite(days=10, warmup_days=1)
    a, b = site.member(), site.member(kind=Kind.SOCK)
    site.sanction(a, 2000, action=Action.SUSPEND, source=Source.MODERATOR, actor=MOD, days=7.0)
    site.sanction(a, 3000, action=Action.SUSPEND, source=Source.MODERATOR, days=30.0)  # staff: no actor
    site.sanction(a, 1000, action=Action.SUSPEND, source=Source.MODERATOR, actor=MOD, days=7.0)  # warm-up
    site.sanction(a, 2500, action=Action.WARN, source=Source.MODERATOR, actor=MOD)  # a warning
    site.sanction(b, 4000, action=Action.SUSPEND, source=Source.SYSTEM, days=7.0)  # repeated serial voting
    site.sanction(b, 5000, action=Action.SUSPEND, source=Source.SYSTEM, days=30.0)  # a recreated account
    site.sanction(b, 6000, action=Action.SUSPEND, source=Source.AI_DETECTOR, days=7.0)  # under an AI-answer ban
    site.sanction(a, 7000, action=Action.QUESTION_BAN, source=Source.QUESTION_BAN)
    site.sanction(a, 7100, action=Action.QUESTION_BAN, source=Source.QUESTION_BAN)
    site.sanction(b, 7200, action=Action.REVERSE_VOTES, source=Source.SERIAL_VOTING)  # not a suspension
    m, _ = site.summarize()
    assert m["suspensions_by_moderators"] == pytest.approx(2 / 9)
    assert m["automatic_suspensions"] == pytest.approx(3 / 9)
    assert m["question_bans_per_day"] == pytest.approx(2 / 9)


def test_community_health_uses_publication_time_for_first_answers():
    site = MiniSite(days=10, warmup_days=1)
    asker, answerer, bad = site.member(), site.member(region=1), site.member(kind=Kind.SPAMMER)
    q1 = site.post(asker, 2000, answers=1, first_answer_at=2060, accepted=0)
    q2 = site.post(asker, 3000, published_at=3600, answers=1, first_answer_at=3630)  # staged for 600 min
    site.post(asker, 4000, closed_at=5000, closer=Closer.COMMUNITY, close_reason=CloseReason.DUPLICATE)
    site.post(bad, 4500, harm=Harm.SPAM)  # not a question of the community
    site.post(asker, 100)  # warm-up
    site.post(answerer, 2060, kind=PostType.ANSWER, parent=q1)
    site.post(answerer, 3630, kind=PostType.ANSWER, parent=q2)
    m, fairness = site.summarize()
    assert m["questions_per_day"] == pytest.approx(3 / 9)
    assert m["answered_share"] == pytest.approx(2 / 3)
    assert m["time_to_first_answer_p50_min"] == pytest.approx(45)  # median of 60 and 30 (not 630)
    assert m["accepted_share"] == pytest.approx(1 / 3)
    assert m["closure_rate"] == pytest.approx(1 / 3)
    assert m["community_share_of_closures"] == 1.0 and m["duplicate_share_of_closures"] == 1.0
    assert m["answers_per_question"] == pytest.approx(2 / 4)  # the spam question counts here
    assert m["active_contributors"] == 3
    assert fairness["answered_share"]["counts"]["americas"] == [2, 3]


def test_a_rate_where_higher_is_better_names_the_lowest_group_worst():
    from sim.metrics import group_rates

    entry = group_rates({"a": (90, 100), "b": (50, 100)}, direction="higher_is_better", pseudo=0.0)
    assert entry["worst"] == "b" and entry["best"] == "a"
    assert entry["worst_to_best"] == pytest.approx(0.9 / 0.5)


def test_kaplan_meier_matches_the_plain_quantile_without_censoring():
    from sim.metrics import km_quantiles

    durations = np.arange(1, 101, dtype=float)
    p50, p90 = km_quantiles(durations, np.ones(100, dtype=bool), (0.5, 0.9))
    assert (p50, p90) == (50, 90)


def test_removal_survival_is_kaplan_meier_by_week_of_posting_and_over_the_window():
    from sim.metrics import SURVIVAL_GRID_MIN, removal_survival

    site = removal_case()
    s = removal_survival(site.record(), site.window)
    assert s["week_day"] == [0.0, 7.0]  # a 10-day run: two weeks, the second one partial
    # week 0 (warm-up included): 50, 100, 300, 600 and 4,900 (posted at minute 100) removed, one
    # censored at 10,400: S(50) = 5/6, S(100) = 4/6, S(300) = 3/6, so the median is 300
    assert s["weekly_p50_min"][0] == 300
    # week 1: one item, still up at the end (censored): no median
    assert math.isnan(s["weekly_p50_min"][1])
    # the window's items (the warm-up post left out), as in time_to_removal_min_p50's test
    curve = dict(zip(SURVIVAL_GRID_MIN, s["surviving"]))
    assert curve[0] == curve[30] == 1.0
    assert curve[60] == pytest.approx(5 / 6) and curve[120] == pytest.approx(2 / 3)
    assert curve[240] == pytest.approx(2 / 3)  # the item censored at 200 is no removal
    assert curve[480] == pytest.approx(4 / 9) and curve[720] == pytest.approx(2 / 9)
    assert curve[14 * DAY] == pytest.approx(2 / 9)


def test_review_metrics_count_the_windows_reviews_audits_bans_and_reopens():
    """Window: days 2 to 10 (8 days). Warm-up days are left out of every count."""
    site = MiniSite(days=10, warmup_days=2)
    site.member()
    site.daily("reviews_close", {1: 50, 2: 10, 9: 6})  # 16 in the window
    site.daily("reviews_reopen", {3: 4})
    site.daily("review_audits", {1: 9, 4: 6, 5: 4})  # 10 audits in the window ...
    site.daily("review_audits_failed", {1: 9, 5: 2})  # ... 2 of them failed
    site.daily("review_bans", {1: 3, 6: 2})
    site.daily("closures", {1: 40, 3: 12, 7: 8})  # 20 closures in the window ...
    site.daily("reopens", {1: 10, 8: 1})  # ... and 1 reopen
    site.daily("suggested_edits", {2: 4, 3: 4})
    site.daily("rollbacks", {0: 1, 9: 2})
    m, _ = site.summarize()
    assert m["reviews_per_day_close"] == pytest.approx(16 / 8)
    assert m["reviews_per_day_reopen"] == pytest.approx(4 / 8)
    assert m["reviews_per_day_suggested_edits"] == 0
    assert m["review_audit_failure_rate"] == pytest.approx(2 / 10)
    assert m["review_bans_per_day"] == pytest.approx(2 / 8)
    assert m["reopen_share_of_closures"] == pytest.approx(1 / 20)
    assert m["suggested_edits_per_day"] == pytest.approx(1.0)
    assert m["vandal_edits_rolled_back"] == 2
