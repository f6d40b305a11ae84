"""The individual agents are Mesa agents: registered with the model, found through its agent sets,
numbered by Mesa, and stepped in the order they joined."""

from __future__ import annotations

import numpy as np

from agents.bad_actors import FAMILIES, BadActor, Spammer
from agents.model import Site
from agents.moderator import Moderator
from sim.clock import MINUTES_PER_DAY
from sim.store import MODERATOR_ID_BASE, FlagStatus
from tests.sites import run_site, small


def test_moderators_and_bad_actors_are_the_models_agent_sets():
    site = Site(small(days=2, warmup=1))
    assert list(site.moderators) == list(site.agents_by_type[Moderator])
    assert len(site.moderators) == site.settings.moderation.moderators.count
    # every family's actors, in the order they were created (family by family)
    expected = [a for cls in FAMILIES.values() for a in site.agents_by_type.get(cls, ())]
    assert list(site.bad_actors) == expected
    assert all(isinstance(a, BadActor) for a in site.bad_actors)
    assert len(site.agents_by_type[Spammer]) == site.settings.bad_actors.spammers.count
    # Mesa numbers every agent; the moderators' handler codes are a separate attribute
    ids = [a.unique_id for a in site.agents]
    assert len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids)
    assert [m.handler for m in site.moderators] == [MODERATOR_ID_BASE - i for i in range(len(site.moderators))]


def test_elected_moderators_join_the_agent_set_and_work_the_queue():
    site = run_site(small("scenario=more_moderators", "scenario.launch_day=1", "moderation.moderators.count=1",
                          "bad_actors.spammers.count=6", days=12, warmup=1, seed=2))
    seats = site.levers[0].seats
    assert len(site.moderators) == 1 + seats
    assert [m.index for m in site.moderators] == list(range(1 + seats))
    f = site.flags_table.frame()
    handlers = set(np.unique(f["handler"][f["status"] != FlagStatus.PENDING]).tolist())
    assert {m.handler for m in site.moderators} <= handlers  # each of them settled flags
    assert site.serving_moderators().agg("minutes_per_day", sum) > 0


def test_an_actor_acts_only_once_due():
    site = Site(small(days=2, warmup=1))
    actor = next(iter(site.bad_actors))
    actor.wake = site.clock.tick_end + MINUTES_PER_DAY
    posts, votes, comments = site.posts.n, site.votes.n, site.comments.n
    actor.step()
    assert (site.posts.n, site.votes.n, site.comments.n) == (posts, votes, comments)
    assert actor.wake == site.clock.tick_end + MINUTES_PER_DAY
