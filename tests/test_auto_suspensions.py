"""Automatic suspensions (issue 13, item 6): the site's own rules suspend accounts, counted apart
from moderators' suspensions, and question bans are not suspensions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from preflight.run import build_site
from sim import posting
from sim.clock import MINUTES_PER_DAY
from sim.metrics import summarize
from sim.population import Kind
from sim.store import Action, FlagKind, Source, State, Target
from tests.sites import small


def _run(site, days: float):
    for _ in range(int(days * MINUTES_PER_DAY / site.clock.tick_minutes)):
        site.step()
    return site


@pytest.fixture(scope="module")
def caught_rings():
    """The small site for 40 days, with the serial-voting script's threshold lowered under the
    voting rings' daily votes once they have formed, rings that do not back off and no staff to
    investigate: the script reverses the socks' votes night after night. The question-ban algorithm
    judges accounts on two questions, so that some are banned."""
    site = build_site(small("bad_actors.voting_rings.count=2", "bad_actors.voting_rings.reversal_backoff=0",
                            "moderation.staff.count=0", "moderation.question_ban_min_questions=2", days=40, warmup=10,
                            seed=2))
    script = site.serial_voting
    script.cfg = dataclasses.replace(script.cfg, threshold=2.0)
    return _run(site, 40)


def _suspensions(site, source: Source) -> np.ndarray:
    a = site.actions
    return np.flatnonzero((a.column("action") == Action.SUSPEND) & (a.column("source") == source))


def test_voting_rings_are_suspended_automatically_not_by_moderators(caught_rings):
    site = caught_rings
    a = site.actions
    auto = _suspensions(site, Source.SYSTEM)
    socks = auto[site.users.kind[a.user[auto]] == Kind.SOCK]
    assert socks.size >= 2
    assert (a.actor[socks] == -1).all()  # no moderator acted
    # each was caused by the rule's own detection, after three reversals within the strike window
    strikes = site.settings.moderation.auto_suspension.serial_voting_strikes
    reversals = (a.column("action") == Action.REVERSE_VOTES)
    for row in socks.tolist():
        voter, at = a.user[row], a.created[row]
        assert site.detections.source[a.cause_detection[row]] == Source.SYSTEM
        assert np.count_nonzero(reversals & (a.column("user") == voter) & (a.column("created") <= at)) >= strikes
    metrics, _ = summarize(site)
    start = site.settings.run.warmup_days * MINUTES_PER_DAY
    in_window = a.created[auto] >= start
    days = (site.clock.minute - start) / MINUTES_PER_DAY
    assert metrics["automatic_suspensions"] == pytest.approx(np.count_nonzero(in_window) / days)


def test_moderators_suspensions_are_still_counted_and_question_bans_are_not_suspensions(caught_rings):
    site = caught_rings
    a = site.actions
    start = site.settings.run.warmup_days * MINUTES_PER_DAY
    days = (site.clock.minute - start) / MINUTES_PER_DAY
    by_mods = _suspensions(site, Source.MODERATOR)
    by_mods = by_mods[a.created[by_mods] >= start]
    assert by_mods.size > 0
    metrics, _ = summarize(site)
    assert metrics["suspensions_by_moderators"] == pytest.approx(by_mods.size / days)
    # a question ban leaves the account able to act: it is not a suspension of any kind
    bans = np.flatnonzero((a.column("action") == Action.QUESTION_BAN) & (a.column("created") >= start))
    assert bans.size > 0
    assert metrics["question_bans_per_day"] == pytest.approx(bans.size / days)
    suspended = a.column("action") == Action.SUSPEND
    total = np.count_nonzero(suspended & (a.column("created") >= start)) / days
    assert metrics["suspensions_by_moderators"] + metrics["automatic_suspensions"] == pytest.approx(total)


def test_repeated_red_flag_deletions_suspend_the_author_automatically():
    """A member's three posts deleted by spam flags within the strike window: the third deletion
    suspends them, wrongly (the posts were fine), with the system, not a moderator, as the source."""
    site = _run(build_site(small(days=10, warmup=2, seed=4)), 2)
    users, posts = site.users, site.posts
    now = site.clock.minute
    member = next(int(u) for u in site.active_members() if users.reputation[u] >= site.policy.newcomer_rep
                  and users.can_act(np.array([u]), now)[0] and not users.question_banned[u])
    cfg = site.settings.moderation.auto_suspension
    for k in range(cfg.red_flag_deletions):
        q = posting.ask(site, np.array([member]), np.array([now + k]))
        assert q.size == 1
        site.flags.raise_bot_flags(Target.POST, q, Source.SPAM_DETECTOR, FlagKind.SPAM, np.array([now + k]),
                                   copies=site.policy.red_flags_to_delete)
        assert posts.state[q[0]] == State.DELETED
        suspended = _suspensions(site, Source.SYSTEM)
        mine = suspended[site.actions.user[suspended] == member]
        assert mine.size == (k == cfg.red_flag_deletions - 1)
    row = int(mine[0])
    assert site.actions.wrongful[row] and site.actions.days[row] == cfg.red_flag_days
    assert not users.can_act(np.array([member]), site.clock.minute)[0]
