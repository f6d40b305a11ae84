"""The review queues, their reviewers and the edits that feed the reopen queue, on the small site.

Hand-built cases drive one question (or a few hundred) through the mechanics of a small site that
has run a few days (so there are reviewers of every reputation level); one shared 60-day run
checks that every queue works and that its reviews are written as event tables.
"""

from __future__ import annotations

import numpy as np
import pytest

from preflight.run import build_site
from preflight.tables import export_tables, write_event_tables
from sim import close_votes, posting
from sim.clock import MINUTES_PER_DAY
from sim.metric_registry import REVIEW_QUEUES
from sim.population import Kind
from sim.review_queues import QUEUE_NAMES
from sim.store import Closer, EditKind, EditState, PostType, ReviewResult, ReviewTaskState, State
from tests.sites import small


def _warm_site(*overrides: str, days: float = 30, warm_days: int = 4):
    """A small site run for ``warm_days`` (reviewers exist, queues have started)."""
    site = build_site(small(*overrides, days=days, warmup=1, seed=3))
    for _ in range(warm_days * MINUTES_PER_DAY // site.clock.tick_minutes):
        site.step()
    return site


def _run_days(site, days: float) -> None:
    for _ in range(int(days * MINUTES_PER_DAY // site.clock.tick_minutes)):
        site.step()


def _askers(site, n: int) -> np.ndarray:
    """``n`` distinct active members who may ask now (above the new-user rate limit)."""
    users = site.users
    ids = site.active_members()
    ok = (users.kind[ids] == Kind.MEMBER) & (users.reputation[ids] >= site.policy.newcomer_rep)
    return ids[ok][:n]


def _closed_questions(site, quality: np.ndarray) -> np.ndarray:
    """Questions of the given hidden quality, posted now by distinct members and closed at once."""
    owners = _askers(site, quality.size)
    assert owners.size == quality.size, "not enough askers on the warm site"
    now = site.clock.minute
    qs = posting.ask(site, owners, np.full(owners.size, now), quality=quality)
    assert qs.size == owners.size
    site.posts.duplicate[qs] = False
    site.posts.close_worthy[qs] = quality < site.settings.population.close_worthy_quality
    close_votes.close(site, qs, now + 1, Closer.COMMUNITY)
    assert (site.posts.state[qs] == State.CLOSED).all()
    return qs


def _reopened_by_review(site, qs: np.ndarray) -> np.ndarray:
    """Which questions were reopened and had a reopen review (a Reopen result in the reopen queue)."""
    t, r = site.review_tasks, site.review_results
    res = np.flatnonzero((r.queue[: r.n] == QUEUE_NAMES.index("reopen")) & (r.result[: r.n] == ReviewResult.REOPEN)
                         & ~r.audit[: r.n])
    reviewed = np.isin(qs, t.post[r.task[res]])
    return reviewed & (site.posts.reopened_at[qs] != -1) & (site.posts.state[qs] == State.LIVE)


def test_the_queues_are_the_registrys():
    assert QUEUE_NAMES == tuple(REVIEW_QUEUES)


def test_an_edited_closed_question_is_reopened_through_the_reopen_queue():
    # (no viewers' reopen votes: the asker's edit is the only way into the reopen queue)
    site = _warm_site("moderation.robo_reviewer_share=0.0", "population.reopen_vote_prob=0.0")
    (q,) = _closed_questions(site, np.array([0.7]))  # a good question, closed wrongly
    assert site.posts.reopened_at[q] == -1
    site.edits.owner_edits.add(np.array([q]), np.array([site.clock.minute + 60]))
    _run_days(site, 4)
    E = site.edits_table
    edit = np.flatnonzero(E.post[: E.n] == q)
    assert E.kind[edit[0]] == EditKind.OWNER and E.state[edit[0]] == EditState.APPLIED
    assert _reopened_by_review(site, np.array([q]))[0]
    t = site.review_tasks
    task = np.flatnonzero((t.post[: t.n] == q) & (t.queue[: t.n] == QUEUE_NAMES.index("reopen")))
    assert t.state[task[0]] == ReviewTaskState.COMPLETED


def test_a_closed_question_nobody_edits_stays_out_of_the_reopen_queue():
    site = _warm_site("moderation.robo_reviewer_share=0.0", "population.closed_question_edit_prob=0.0",
                      "population.reopen_vote_prob=0.0")
    (q,) = _closed_questions(site, np.array([0.7]))
    _run_days(site, 4)
    t = site.review_tasks
    assert not ((t.post[: t.n] == q) & (t.queue[: t.n] == QUEUE_NAMES.index("reopen"))).any()
    assert site.posts.state[q] == State.CLOSED


def test_wrongly_closed_questions_are_reopened_more_often_than_rightly_closed_ones():
    """Paired: each pair is one good question closed wrongly and one close-worthy question closed
    rightly, both edited by their askers the same hour; reviewers judge the question as it is."""
    site = _warm_site("moderation.review_share_of_eligible=0.5", "population.reopen_vote_prob=0.0",
                      "population.closed_question_edit_prob=0.0")
    pairs = 60
    quality = np.r_[np.full(pairs, 0.7), np.full(pairs, 0.1)]
    qs = _closed_questions(site, quality)
    site.edits.owner_edits.add(qs, np.full(qs.size, site.clock.minute + 60))
    _run_days(site, 8)
    # askers who left the site in the meantime (a closed first post drives some away) never edit:
    # compare the pairs whose two askers both edited
    E = site.edits_table
    edited = np.isin(qs, E.post[: E.n][E.kind[: E.n] == EditKind.OWNER])
    both = edited[:pairs] & edited[pairs:]
    assert both.sum() >= pairs // 4
    reopened = _reopened_by_review(site, qs)
    wrong, right = reopened[:pairs][both], reopened[pairs:][both]
    assert wrong.mean() > 0.8 and wrong.mean() > right.mean() + 0.2, (wrong.mean(), right.mean())
    # the rightly closed ones that reopened are the ones the asker's edit really fixed
    fixed = ~site.posts.close_worthy[qs[pairs:]][both]
    assert right[~fixed].mean() < 0.15
    print(f"pairs both edited {both.sum()}: reopened wrongly closed {wrong.mean():.2f}, rightly closed "
          f"{right.mean():.2f} (fixed by the edit {right[fixed].mean():.2f}, not fixed {right[~fixed].mean():.2f})")


def test_a_suggested_edit_waits_for_review_and_a_direct_edit_goes_in():
    site = _warm_site("moderation.robo_reviewer_share=0.0")
    users, posts = site.users, site.posts
    members = site.active_members()
    low = members[users.reputation[members] < site.settings.rules.priv_edit][:1]
    high = members[users.reputation[members] >= site.settings.rules.priv_edit][:1]
    live = np.flatnonzero((posts.state[: posts.n] == State.LIVE) & (posts.harm[: posts.n] == 0))
    target = live[(posts.owner[live] != low[0]) & (posts.owner[live] != high[0])][-2:]
    before = posts.quality[target].copy()
    n0 = site.edits_table.n
    now = np.full(1, site.clock.minute)
    site.edits.propose(target[:1], low, now, np.ones(1, bool), EditKind.SUGGESTED)
    site.edits.propose(target[1:], high, now, np.ones(1, bool), EditKind.SUGGESTED)
    E = site.edits_table
    assert E.kind[n0] == EditKind.SUGGESTED and E.state[n0] == EditState.PENDING
    assert E.kind[n0 + 1] == EditKind.DIRECT and E.state[n0 + 1] == EditState.APPLIED
    assert posts.quality[target[1]] > before[1] and posts.quality[target[0]] == before[0]
    _run_days(site, 3)
    assert E.state[n0] == EditState.APPLIED  # approved in the suggested-edits queue
    assert posts.quality[target[0]] > before[0]


def test_a_defacing_edit_that_gets_through_is_rolled_back():
    site = _warm_site()
    posts, E = site.posts, site.edits_table
    live = np.flatnonzero((posts.state[: posts.n] == State.LIVE) & (posts.harm[: posts.n] == 0)
                          & (posts.answers[: posts.n] > 0) & (posts.score[: posts.n] > 0))  # (not roomba-bound)
    target = live[-1:]
    before = float(posts.quality[target[0]])
    troll = np.flatnonzero(site.users.kind[: site.users.n] == Kind.TROLL)[:1]
    n0 = E.n
    site.edits.propose(target, troll, np.full(1, site.clock.minute), np.zeros(1, bool), EditKind.VANDAL)
    assert E.state[n0] == EditState.PENDING  # a vandal's edit always waits for review
    site.edits.apply(np.array([n0]), site.clock.minute)  # ... and the reviewers let it through
    assert posts.quality[target[0]] < before
    _run_days(site, 4)
    assert E.state[n0] == EditState.ROLLED_BACK and E.rolled_back_at[n0] > E.decided_at[n0]
    assert site.counters["rollbacks"] == (E.state[: E.n] == EditState.ROLLED_BACK).sum()  # every rollback counted
    assert posts.quality[target[0]] == pytest.approx(before, abs=0.06)  # (other edits may have come since)


def test_review_bans_start_at_two_days_double_on_a_quick_repeat_and_halve_after_a_long_gap():
    site = _warm_site(warm_days=1)
    users, day = site.users, MINUTES_PER_DAY
    who = np.array([7])
    ban = site.review.reviewers.ban
    ban(who, 0)
    assert users.review_banned_until[7] == 2 * day
    ban(who, 10 * day)  # within 30 days of the last ban's end: doubled
    assert users.review_banned_until[7] == 14 * day
    ban(who, 15 * day)
    assert users.review_banned_until[7] == 23 * day
    ban(who, 100 * day)  # long after: halved
    assert users.review_banned_until[7] == 104 * day
    assert users.review_bans[7] == 4


def test_robo_reviewers_fail_audits_and_get_review_banned():
    site = build_site(small("moderation.robo_reviewer_share=0.3", "moderation.audit_share=0.3",
                            days=20, warmup=1, seed=3))
    site.run()
    users, r = site.users, site.review_results
    audits = np.flatnonzero(r.audit[: r.n])
    who = r.reviewer[audits]
    robo = site.review.reviewers.is_robo(who)
    failed = ~r.audit_passed[audits]
    assert failed[robo].mean() > 0.3  # every known-bad audit (half of them)
    assert failed[~robo].mean() < 0.1  # attentive reviewers fail few
    reviewers = np.unique(r.reviewer[: r.n])
    robo_reviewer = site.review.reviewers.is_robo(reviewers)
    was_banned = users.review_bans[reviewers] > 0
    assert was_banned[robo_reviewer].mean() > 3 * was_banned[~robo_reviewer].mean()
    banned = reviewers[was_banned]
    # nobody reviews during their latest ban
    start = users.review_banned_until[banned] - users.last_review_ban_days[banned] * MINUTES_PER_DAY
    for u, lo, hi in zip(banned, start, users.review_banned_until[banned], strict=True):
        at = r.created[: r.n][r.reviewer[: r.n] == u]
        assert not ((at > lo) & (at < hi)).any()


@pytest.fixture(scope="module")
def sixty_days():
    """The small site for 60 days, the staging ground switched on at day 40 (so every queue, the
    first-questions queue before it and the staging ground after, has work); a fifth of answers go
    to older questions, so the late-answers queue (about one review a month on the small site at the
    default 5%) has work too, and half the answers of members below 50 reputation (its only authors;
    at 0.2, the seed's run after the close queue's change had none in the window)."""
    site = build_site(small("scenario=staging_ground", "scenario.launch_day=40", "population.old_question_answer_share=0.2",
                            "population.old_question_answer_share_new_members=0.5",
                            days=60, warmup=10, seed=1))
    site.run()
    return site


def test_every_queue_has_reviews_in_a_60_day_run(sixty_days):
    r = sixty_days.review_results
    per_queue = np.bincount(r.queue[: r.n][~r.audit[: r.n]], minlength=len(QUEUE_NAMES))
    assert (per_queue > 0).all(), dict(zip(QUEUE_NAMES, per_queue.tolist(), strict=True))
    series = sixty_days.recorder.series()
    assert sum(series[f"reviews_{q}"].sum() for q in QUEUE_NAMES) == r.n


def test_review_tables_are_written(sixty_days, tmp_path):
    import duckdb

    write_event_tables(export_tables(sixty_days), tmp_path)
    con = duckdb.connect(str(tmp_path / "events.duckdb"))
    tasks, results = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("ReviewTasks", "ReviewTaskResults"))
    assert tasks == sixty_days.review_tasks.n > 0 and results == sixty_days.review_results.n > 0
    orphans = con.execute("SELECT count(*) FROM ReviewTaskResults r LEFT JOIN ReviewTasks t ON r.ReviewTaskId = t.Id "
                          "WHERE t.Id IS NULL").fetchone()[0]
    assert orphans == 0
    # a completed task names the result that completed it, a result of that task
    wrong = con.execute("SELECT count(*) FROM ReviewTasks t JOIN ReviewTaskResults r ON t.CompletedByReviewTaskId = r.Id "
                        "WHERE t.ReviewTaskStateId = 2 AND r.ReviewTaskId <> t.Id").fetchone()[0]
    assert wrong == 0
    types = {row[0] for row in con.execute("SELECT DISTINCT ReviewTaskTypeId FROM ReviewTasks").fetchall()}
    assert {1, 2, 3, 4, 5, 6} <= types
    audits = con.execute("SELECT count(*), sum(CASE WHEN AuditPassed THEN 0 ELSE 1 END) FROM ReviewTaskResults "
                         "WHERE IsAudit").fetchone()
    assert audits[0] > 0
    assert con.execute("SELECT count(*) FROM PostEdits").fetchone()[0] == sixty_days.edits_table.n


def test_clear_close_notices_raise_the_askers_edits_of_closed_questions():
    """The lever works through the edit mechanism: more closed questions are edited by their askers."""
    def owner_edits_per_closure(*overrides: str) -> float:
        site = build_site(small(*overrides, days=40, warmup=1, seed=2))
        site.run()
        E = site.edits_table
        return (E.kind[: E.n] == EditKind.OWNER).sum() / max(site.counters["closures"], 1)

    base = owner_edits_per_closure()
    lever = owner_edits_per_closure("scenario=clear_close_notices", "scenario.launch_day=0")
    assert lever > 1.5 * base > 0, (base, lever)


@pytest.mark.parametrize(("new_share", "old_share"), [(1.0, 0.0), (0.0, 1.0)])
def test_members_below_the_comment_privilege_have_their_own_share_of_answers_to_old_questions(new_share, old_share):
    """Answers go to an older question found by search with ``old_question_answer_share``, or, for
    members below the comment-everywhere privilege (who land from a web search and cannot comment),
    with ``old_question_answer_share_new_members``: at shares 1 and 0 exactly one group is sent to
    old questions (posted before the hot window), the other keeps the question it picked."""
    from sim.arrivals import Events

    site = _warm_site(f"population.old_question_answer_share_new_members={new_share}",
                      f"population.old_question_answer_share={old_share}", warm_days=8)
    users, lo = site.users, site.hot_start()
    assert lo > 0
    ids = site.active_members()
    new = ids[users.reputation[ids] < site.policy.priv_comment_everywhere][:100]
    est = ids[users.reputation[ids] >= site.policy.priv_comment_everywhere][:100]
    assert new.size == est.size == 100
    who = np.r_[new, est]
    hot = site.posts.n - 1  # the newest post, inside the hot window
    targets = np.full(who.size, hot, dtype=np.int64)
    keys = np.arange(who.size, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    site.community._late_answers(Events(who, np.full(who.size, site.clock.minute), keys), targets)
    moved = targets != hot
    assert moved[:100].all() == bool(new_share) and (~moved[:100]).all() == (not new_share)
    assert moved[100:].all() == bool(old_share) and (~moved[100:]).all() == (not old_share)
    assert (targets[moved] < lo).all()  # before the hot window, and questions
    assert (site.posts.kind[targets[moved]] == PostType.QUESTION).all()


def _close_tasks(site, q) -> np.ndarray:
    """The close review tasks of question ``q``."""
    t = site.review_tasks
    return np.flatnonzero((t.post[: t.n] == q) & (t.queue[: t.n] == QUEUE_NAMES.index("close")))


def _open_questions(site, n: int, quality: float = 0.7) -> np.ndarray:
    """``n`` live questions posted now by distinct members (not duplicates)."""
    owners = _askers(site, n)
    qs = posting.ask(site, owners, np.full(owners.size, site.clock.minute), quality=np.full(owners.size, quality))
    site.posts.duplicate[qs] = False
    site.posts.close_worthy[qs] = quality < site.settings.population.close_worthy_quality
    return qs


def _voters(site, n: int) -> np.ndarray:
    """``n`` active members with the close-vote privilege."""
    ids = site.active_members()
    return ids[site.users.reputation[ids] >= site.policy.priv_close_vote][:n]


def test_a_first_close_vote_cast_on_the_question_page_opens_one_close_review_task():
    # as on Stack Overflow: the first close vote (or close flag) puts the question in the close queue
    site = _warm_site("population.close_vote_prob=0.0", "population.false_close_vote_prob=0.0",
                      "population.close_flag_prob=0.0")
    (q,) = _open_questions(site, 1)
    v = _voters(site, 2)
    assert v.size == 2
    now = site.clock.minute
    close_votes.cast(site, np.array([q]), v[:1], np.array([now]))
    assert _close_tasks(site, q).size == 1
    close_votes.cast(site, np.array([q]), v[1:], np.array([now + 1]))  # a second vote opens no second task
    assert _close_tasks(site, q).size == 1
    # votes cast from the queue open none (the question is already under review)
    (q2,) = _open_questions(site, 1)
    close_votes.cast(site, np.array([q2]), v[:1], np.array([now]), reviewed=True)
    assert _close_tasks(site, q2).size == 0


def test_close_tasks_nobody_reviews_age_out_with_their_votes():
    # no close-queue reviewers: a task waits until its votes have aged (14 days), then leaves unreviewed
    site = _warm_site("population.close_review_share_factor=0.0", "population.close_vote_prob=0.0",
                      "population.false_close_vote_prob=0.0", "population.close_flag_prob=0.0")
    (q,) = _open_questions(site, 1, quality=0.1)
    close_votes.cast(site, np.array([q]), _voters(site, 1), np.array([site.clock.minute]))
    (task,) = _close_tasks(site, q)
    t = site.review_tasks
    aging = site.settings.rules.close_vote_aging_days
    _run_days(site, aging - 1)
    assert t.state[task] == ReviewTaskState.ACTIVE and site.review.close.backlog >= 1
    _run_days(site, 3)
    assert t.state[task] == ReviewTaskState.INVALIDATED
    assert (t.completed_at[task] - t.created[task]) / MINUTES_PER_DAY == pytest.approx(aging, abs=1.01)
    assert site.posts.state[q] == State.LIVE and site.posts.close_votes[q] == 0
    r = site.review_results
    assert not np.isin(r.task[: r.n], [task]).any()  # never reviewed


def test_fewer_close_queue_reviewers_do_fewer_close_reviews_and_leave_more_to_age_out():
    def close_queue(factor: float) -> tuple[int, int]:
        site = _warm_site(f"population.close_review_share_factor={factor}", warm_days=24)
        t, r = site.review_tasks, site.review_results
        close = QUEUE_NAMES.index("close")
        reviews = int(((r.queue[: r.n] == close) & ~r.audit[: r.n]).sum())
        aged = int(((t.queue[: t.n] == close) & (t.state[: t.n] == ReviewTaskState.INVALIDATED)).sum())
        return reviews, aged
    full, tenth = close_queue(1.0), close_queue(0.1)
    print(f"close reviews, tasks aged out: factor 1 {full}, factor 0.1 {tenth}")
    assert tenth[0] < 0.5 * full[0]
    assert tenth[1] > full[1]
