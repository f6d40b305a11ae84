"""Who stays and who leaves: each member's accumulated hazard of leaving, and what adds to it.

Every member leaves once the hazard they have accumulated passes their own threshold (an Exp(1)
draw at registration, :mod:`sim.population`), so baseline and scenario share each member's fate
until their experiences differ. A daily background hazard (lower for active members, higher for
newcomers), boredom (answers missed lately for want of questions to answer) and one-off bad
experiences (a first post closed, downvoted, met with an unwelcoming comment or left unanswered;
abuse received) add to it. Askers and answerers thus feed each other's departures over weeks:
fewer questions bore answerers away, and fewer answers leave first questions unanswered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.clock import MINUTES_PER_DAY
from sim.population import Kind
from sim.store import Harm, PostType, State

if TYPE_CHECKING:
    from agents.model import Site

#: Leave probabilities are capped just below 1 so that their hazard stays finite (numerical guard).
_MAX_LEAVE_PROB = 1 - 1e-12


def one_off_hazard(leave_prob: np.ndarray | float) -> np.ndarray:
    """The hazard of a one-off bad experience after which a member leaves with ``leave_prob``:
    ``-log(1 - p)``."""
    return -np.log1p(-np.minimum(leave_prob, _MAX_LEAVE_PROB))


def add_churn_hazard(site: Site, ids: np.ndarray, amount: np.ndarray | float, unique: bool = False) -> None:
    """Add to members' accumulated hazard of leaving; those past their threshold leave now.

    Bad actors' accounts are not members and are left alone. With ``unique`` the ids are known to
    be distinct (one vectorised add instead of an unbuffered one)."""
    users = site.users
    ids = np.asarray(ids, dtype=np.int64)
    member = users.kind[ids] == Kind.MEMBER
    ids = ids[member]
    amount = np.broadcast_to(amount, member.shape)[member]
    if unique:
        users.churn_hazard[ids] += amount
    else:
        np.add.at(users.churn_hazard, ids, amount)
    _leave(site, ids[users.churn_hazard[ids] >= users.churn_threshold[ids]])


def _leave(site: Site, ids: np.ndarray) -> None:
    users = site.users
    ids = ids[users.active[ids]]
    users.active[ids] = False
    users.refresh_block(ids)
    users.churned_at[ids] = site.clock.minute


def first_post_hit(site: Site, post_ids: np.ndarray, times: np.ndarray, closed: bool = False,
                   churn: float | None = None) -> None:
    """A first post was closed, downvoted, met an unwelcoming comment or (``churn`` given: its
    chance to drive its author away) went unanswered: its author may leave.

    Only the first such experience of a member's first post counts, and only within
    ``population.first_post_hit_days`` of posting. With clear close notices (a lever) a closed
    newcomer is less likely to leave (and, :mod:`sim.edits`, more likely to edit the question)."""
    posts, users, pol, p = site.posts, site.users, site.policy, site.settings.population
    owners = posts.owner[post_ids].astype(np.int64)
    hit = (users.first_post[owners] == post_ids) & ~users.first_post_bad[owners]
    hit &= (np.asarray(times) - posts.created[post_ids]) <= p.first_post_hit_days * MINUTES_PER_DAY
    if not hit.any():
        return
    owners = owners[hit]
    users.first_post_bad[owners] = True
    if churn is None:
        churn = p.closed_first_post_churn if closed else p.bad_first_post_churn
    churn_p = np.full(owners.size, churn)
    if closed and pol.clear_close_notices:
        churn_p *= pol.close_notice_churn_relief
    add_churn_hazard(site, owners, one_off_hazard(churn_p))


def abuse_received(site: Site, victims: np.ndarray, times: np.ndarray) -> None:
    """Abuse received: recorded for victimization (the latest abuse per member); some victims leave."""
    users = site.users
    victims = np.asarray(victims, dtype=np.int64)
    np.add.at(users.abuse_received, victims, 1)
    # the latest abuse: a member abused at or after the window's start is a victim in the window
    np.maximum.at(users.abused_at, victims, np.broadcast_to(np.asarray(times, dtype=np.int32), victims.shape))
    add_churn_hazard(site, victims, one_off_hazard(site.settings.population.abuse_churn))


def answering_shortfall(site: Site, visitors: np.ndarray, shortfall: float) -> None:
    """Answering visits that found less to answer than usual: each adds the answers it missed (the
    drop in its chance to answer, :meth:`sim.supply.Supply.shortfall`; negative when there was
    more than usual) to its member's boredom."""
    if shortfall != 0 and visitors.size:
        np.add.at(site.users.boredom, visitors, np.float32(shortfall))


def unanswered_first_questions(site: Site) -> None:
    """Daily: first questions asked ``population.unanswered_first_question_days`` ago (a day's
    worth) that are visible and still without an answer may drive their askers away."""
    posts, p = site.posts, site.settings.population
    if p.unanswered_first_question_churn == 0:
        return  # (no experience recorded, so a later closure or downvote of the post still counts)
    end = site.clock.tick_end - p.unanswered_first_question_days * MINUTES_PER_DAY
    day = int(end // MINUTES_PER_DAY)
    ids = np.arange(site.post_id_at_day(day - 1), site.post_id_at_day(day + 1), dtype=np.int64)
    ids = ids[(posts.created[ids] >= end - MINUTES_PER_DAY) & (posts.created[ids] < end)]
    ids = ids[(posts.kind[ids] == PostType.QUESTION) & (posts.answers[ids] == 0) & (posts.state[ids] < State.HIDDEN)
              & (posts.harm[ids] == Harm.NONE)]
    if ids.size:
        first_post_hit(site, ids, np.full(ids.size, site.clock.minute), churn=p.unanswered_first_question_churn)


def daily_churn(site: Site) -> None:
    """The day's background hazard of leaving and the hazard of boredom (:func:`answering_shortfall`,
    forgotten over ``population.supply.boredom_memory_days``), for every active member; forgets
    those who left."""
    users, p = site.users, site.settings.population
    ids = site.members = site.members[users.active[site.members]]
    hazard = np.where(users.newcomer[ids], p.newcomer_churn_hazard_per_day,
                      p.churn_hazard_per_day / (1.0 + p.churn_activity_protection * np.log1p(users.activity[ids])))
    bored = users.boredom[ids]
    users.boredom[ids] = bored * np.float32(np.exp(-1.0 / p.supply.boredom_memory_days))
    hazard = hazard + p.supply.boredom_hazard_per_missed_answer * np.maximum(bored, 0.0)
    add_churn_hazard(site, ids, one_off_hazard(hazard), unique=True)
