"""Moderators' mistakes look like real mistakes, and a strike need not be all-or-nothing.

Declining the flags on a post the flags hid or deleted leaves it as it was: the moderator undeletes
what was removed wrongly, and harmful content only by a rare mistake (rarer still when the spam
detector flagged it too). A partial strike sits between no strike and a full one."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from agents.model import Site
from preflight.run import simulate
from sim.store import NONE, FlagKind, Harm, Source, State, Target
from tests.sites import small

N_POSTS = 300


def _site_with_deleted_posts(*overrides: str, harmful: bool, source: Source) -> tuple[Site, np.ndarray]:
    """A small site after fifteen days, with ``N_POSTS`` of its posts deleted by six spam flags from
    ``source`` (made spam in ground truth if ``harmful``); the flag queue then holds only them."""
    site = Site(small(*overrides, days=20, warmup=1))
    for _ in range(360):
        site.step()
    posts = site.posts
    ids = np.flatnonzero((posts.state[: posts.n] == State.LIVE) & (posts.harm[: posts.n] == Harm.NONE))[:N_POSTS]
    assert ids.size == N_POSTS
    if harmful:
        posts.harm[ids] = Harm.SPAM
    site.flags._heap.clear()
    site.flags.queued_at.clear()
    times = np.full(ids.size, site.clock.minute)
    site.flags.record(Target.POST, np.repeat(ids, 6), np.full(ids.size * 6, NONE), source,
                      np.full(ids.size * 6, int(FlagKind.SPAM)), np.repeat(times, 6))
    assert (posts.state[ids] == State.DELETED).all()
    return site, ids


def _moderator_declines_all(site: Site) -> int:
    """One moderator decides every queued item now; returns how many."""
    mod, n = site.moderators.to_list()[0], 0
    while (nxt := site.flags.take()) is not None:
        mod.decide(*nxt, site.clock.minute)
        n += 1
    return n


def _restored_share(site: Site, ids: np.ndarray) -> float:
    return float(np.mean(site.posts.state[ids] == State.LIVE))


@pytest.mark.parametrize("source", [Source.SPAM_DETECTOR, Source.USER])
def test_a_mistaken_decline_leaves_a_deleted_spam_post_deleted(source):
    # the moderator always errs: every valid spam flag is declined
    site, ids = _site_with_deleted_posts("moderation.moderators.error_rate=1.0",
                                         "moderation.moderators.undelete_detector_flagged_factor=0",
                                         harmful=True, source=source)
    assert _moderator_declines_all(site) == N_POSTS and site.flags.backlog == 0
    restored = _restored_share(site, ids)
    if source == Source.SPAM_DETECTOR:
        assert restored == 0.0  # what the detector also flagged is never undeleted here
    else:
        assert 0.1 < restored < 0.3  # undelete_mistaken_prob: 0.2


def test_mistaken_undeletes_of_detector_flagged_spam_are_rare_and_counted():
    site, ids = _site_with_deleted_posts("moderation.moderators.error_rate=1.0", harmful=True,
                                         source=Source.SPAM_DETECTOR)
    _moderator_declines_all(site)
    restored = ids[site.posts.state[ids] == State.LIVE]
    assert restored.size < 0.06 * N_POSTS  # 0.2 x 0.1 of them
    r = site.restorations.frame()
    now = r["restored_at"] == site.clock.minute
    assert set(r["post"][now].tolist()) == set(restored.tolist())
    assert (r["handler"][now] == site.moderators.to_list()[0].handler).all()
    assert np.isin(restored, site.harm_posts_live).all()  # back in front of readers: exposure restarts


def test_a_correct_decline_undeletes_a_wrongly_deleted_post():
    site, ids = _site_with_deleted_posts("moderation.moderators.error_rate=0.0", harmful=False, source=Source.USER)
    _moderator_declines_all(site)
    assert _restored_share(site, ids) == 1.0  # undelete_wrongful_prob: 1.0


@functools.lru_cache
def _backlog(*levers: str) -> float:
    """Mean flag queue backlog under an eight-week strike covering the window (``moderator_strike``
    lever parameters as ``key=value``), over two seeds."""
    keys = [f"scenario.levers.moderator_strike.{kv}" for kv in levers]
    runs = [simulate(small("scenario=moderator_strike", *keys, "scenario.launch_day=12", "scenario.levers.moderator_strike.weeks=8",
                           days=50, warmup=14, seed=s)) for s in (0, 1)]
    return float(np.mean([r.metrics["flag_queue_backlog"] for r in runs]))


def test_a_partial_strike_sits_between_no_strike_and_a_full_strike():
    full = ("share=1", "curator_share=1", "urgent_share=0", "staff_cover=0")
    none = _backlog("share=0", "curator_share=0", "urgent_share=0", "staff_cover=0")
    half = _backlog("share=0.5", "curator_share=0.5", "urgent_share=0", "staff_cover=0")
    assert none < half < _backlog(*full)
    urgent = _backlog(*full[:2], "urgent_share=1", full[3])
    staff = _backlog(*full[:3], "staff_cover=0.5")
    assert urgent < _backlog(*full) and staff < _backlog(*full)  # urgent flags handled; staff take overflow


@pytest.mark.parametrize("seed", range(6))
def test_a_strike_stops_the_same_number_of_moderators_on_every_seed(seed):
    """A strike of share s stops round(s x n) of the n moderators on every seed (a draw per
    moderator against the share made the small site's strike a lottery), nested as the share grows,
    and round(u x k) of the k strikers keep handling urgent flags."""
    site = Site(small("moderation.moderators.count=5", days=2, warmup=0, seed=seed))
    mods = list(site.moderators)
    assert len(mods) == 5
    before = set()
    for share, expected in ((0.0, 0), (0.1, 1), (0.3, 2), (0.5, 3), (0.8, 4), (1.0, 5)):
        site.policy.moderator_strike_share = share
        striking = {m.index for m in mods if m.striking()}
        assert len(striking) == expected and before <= striking, (share, striking)
        before = striking
    site.policy.moderator_strike_share = 0.8
    for urgent, expected in ((0.0, 0), (0.5, 2), (1.0, 4)):
        site.policy.strike_urgent_share = urgent
        assert sum(m.striking() and m.urgent_only() for m in mods) == expected
