"""The mechanics behind the metrics, on real runs of the small site: views are counted for every
visible post, decisions are stamped when they happen, moderators' handling is recorded as theirs,
restores undo removals, and staging keeps the creation time."""

from __future__ import annotations

import numpy as np
import pytest

from agents.model import Site
from sim.store import MODERATOR_ID_BASE, NONE, Cause, Closer, FlagKind, State, Target, VoteType
from sim.traffic import view_rates
from tests.sites import run_site, small


def test_every_visible_post_is_viewed_the_same_way_at_any_age():
    """Per tick, the views the traffic counts equal a brute-force sum of every post's view rate
    (posts in the hot window one by one, older ones in closed form), so prevalence's denominator
    and numerator count views alike."""
    site = Site(small(days=9, warmup=1, seed=4))
    traffic, posts, p = site.traffic, site.posts, site.settings.population
    step = traffic.step
    checked = []

    def checked_step():
        ids = np.arange(posts.n, dtype=np.int64)
        hours = site.clock.tick_minutes / 60
        expected = view_rates(ids, site.clock.tick_midpoint, posts.created, posts.published_at, posts.score,
                              posts.state, posts.staged, traffic._decay, traffic._score_boost,
                              traffic._state_factor, site.global_activity).sum() * hours
        before = traffic.views_today
        step()
        counted = (traffic.views_today - before) / (1 + p.comment_view_share)
        checked.append((expected, counted, site.hot_start()))

    traffic.step = checked_step
    site.run()
    expected, counted, hot_start = map(np.array, zip(*checked, strict=True))
    assert (hot_start > 0).sum() > 48  # many ticks with posts older than the hot window
    np.testing.assert_allclose(counted, expected, rtol=1e-3)


@pytest.fixture(scope="module")
def busy():
    return run_site(small("bad_actors.harassers.count=3", days=30, seed=5))


def test_a_moderator_deletion_counts_as_moderator_handling(busy):
    f, p = busy.flags_table.frame(), busy.posts.frame()
    on_post = f["target"] == Target.POST
    item = np.where(on_post, f["item"], 0)
    by_mod_removal = on_post & (p["removal_cause"][item] == Cause.MODERATOR) & (f["handled_at"] == p["removed_at"][item])
    assert by_mod_removal.sum() > 5
    assert (f["handler"][by_mod_removal] <= MODERATOR_ID_BASE).all()


def test_red_flag_thresholds_act_at_the_minute_of_the_deciding_flag(busy):
    f, p = busy.flags_table.frame(), busy.posts.frame()
    threshold = busy.policy.red_flags_to_hide
    restored = set(busy.restorations.frame()["post"].tolist())
    red = (f["target"] == Target.POST) & np.isin(f["kind"], (FlagKind.SPAM, FlagKind.RUDE))
    hidden = [i for i in np.flatnonzero(p["hidden_at"] != NONE) if i not in restored]
    assert len(hidden) > 5
    for post in hidden:
        times = np.sort(f["created"][red & (f["item"] == post)])
        assert p["hidden_at"][post] == times[threshold - 1], post


def test_a_community_closure_is_stamped_at_a_close_vote(busy):
    p, v = busy.posts.frame(), busy.votes.frame()
    closed = np.flatnonzero(p["closer"] == Closer.COMMUNITY)
    assert closed.size > 5
    close_votes = v["vote_type"] == VoteType.CLOSE
    for q in closed:
        assert p["closed_at"][q] in set(v["created"][close_votes & (v["post"] == q)].tolist()), q


def test_restored_posts_are_visible_again_and_their_action_stays_on_record(busy):
    r, p = busy.restorations.frame(), busy.posts.frame()
    for post, hidden_at, removed_at in zip(r["post"], r["hidden_at"], r["removed_at"], strict=True):
        assert hidden_at != NONE or removed_at != NONE
        if p["state"][post] == State.LIVE:
            assert p["removed_at"][post] == NONE and p["hidden_at"][post] == NONE


def test_the_tick_midpoint_follows_the_tick_length():
    site = Site(small("run.tick_minutes=30", days=3, warmup=1, seed=1))
    for _ in range(40):
        site.step()
    ids = np.arange(site.posts.n, dtype=np.int64)
    posts, t = site.posts, site.traffic
    want = view_rates(ids, site.clock.minute + 15, posts.created, posts.published_at, posts.score, posts.state,
                      posts.staged, t._decay, t._score_boost, t._state_factor, site.global_activity)
    np.testing.assert_array_equal(t.view_rate(ids), want)


def test_staging_keeps_the_creation_time_and_records_publication():
    site = run_site(small("scenario=staging_ground", "scenario.launch_day=0", days=20, seed=3))
    p = site.posts.frame()
    published = np.flatnonzero(p["published_at"] != NONE)
    assert published.size > 5
    assert (p["published_at"][published] >= p["created"][published]).all()
    assert (p["published_at"][published] > p["created"][published]).any()
    answered = published[p["first_answer_at"][published] != NONE]
    assert answered.size and (p["first_answer_at"][answered] > p["published_at"][answered]).all()


def test_a_restored_harmful_post_is_seen_again():
    """Exposure continues from a restore: a harmful post older than the hot window that was deleted
    (and dropped from the live list at the day's end) collects views again once restored."""
    from sim import removal
    from sim.clock import MINUTES_PER_DAY

    site = Site(small(days=12, warmup=1, seed=2))
    while site.clock.minute < 6 * MINUTES_PER_DAY:
        site.step()
    posts = site.posts
    old = np.flatnonzero(posts.harm[: site.hot_start()] > 0)
    assert old.size
    post = int(old[0])
    removal.remove_posts(site, np.array([post]), Cause.MODERATOR, site.clock.minute)  # (if still up)
    while not site.clock.is_day_start:  # the day ends: deleted posts leave the live list
        site.step()
    assert post not in site.harm_posts_live
    seen = posts.views[post]
    site.step()
    assert posts.views[post] == seen  # deleted: no views
    removal.restore_posts(site, np.array([post]), site.clock.minute)
    assert posts.removed_at[post] == NONE and posts.state[post] == State.LIVE
    site.step()
    assert posts.views[post] > seen
