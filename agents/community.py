"""Ordinary users, acting together: one Mesa agent whose step is vectorised over the user arrays.

This is a columnar agent set in the spirit of mesa-frames, not per-member agent objects: each
member is a row of the user arrays (:class:`sim.population.Users`), and the community's step acts
for all members due this tick with a handful of array operations. A million ``mesa.Agent``
objects stepped one by one would be too slow by orders of magnitude; moderators, staff and bad
actors, a few dozen, are individual Mesa agents.

Askers, answerers and curators are not classes: they emerge from each user's heavy-tailed rates
(see :mod:`sim.population`). Each tick the community takes the questions its members' own Poisson
clocks planned for this tick (:mod:`sim.arrivals`) and their answering, commenting and voting
visits, of which those that find something to act on act (:mod:`sim.supply`: fewer open questions,
fewer answers), picks what they act on, and hands the batch to the site's mechanics, which enforce
every rule. Every per-action decision uses the action's own key, so a member decides the same way
in baseline and scenario.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import hot_window, posting, retention, voting
from sim.arrivals import Events, salt, uniform
from sim.clock import MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.store import NONE, Harm, PostType, Tone

if TYPE_CHECKING:
    from agents.model import Site


class Community(mesa.Agent):
    """The site's ordinary members, as one vectorised actor: a columnar agent set (one row of the
    user arrays per member, in the spirit of mesa-frames), not one Mesa agent per member.

    Attributes:
        site: The model.
    """

    def __init__(self, model: Site) -> None:
        super().__init__(model)
        self.site = model
        p = model.settings.population
        # answer attraction: (1 + age / recency)^-power by age in minutes (over the hot window and
        # a margin), (1 + answers so far)^-power (up to a table size no question reaches)
        hours = np.arange(int((p.hot_days + 2) * MINUTES_PER_DAY)) / MINUTES_PER_HOUR
        self._recency_table = (1.0 + hours / p.answer_recency_hours) ** (-p.answer_recency_power)
        self._crowding_table = (1.0 + np.arange(4096)) ** (-p.answer_crowding_power)
        self._asker_keys = self._asker_inputs()
        self._planned_to = 0  # posts before this one have their askers' plans

    def step(self) -> None:
        site = self.site
        arrivals, supply, minute = site.arrivals, site.supply, site.clock.minute
        self.first_questions()
        self.ask(self._live(arrivals.now("ask")))
        found = self.accept()
        pool, cum = self._answer_pool()
        supply.observe("open_questions", float(cum[-1]) if cum.size else 0.0, minute)
        supply.observe("views", site.traffic.fresh_views_per_hour(), minute)
        visits = self._live(arrivals.now("answer"))
        retention.answering_shortfall(site, visits.users, supply.shortfall("answer"))
        self.answer(supply.acting("answer", visits), pool, cum, found)
        self.comment(self._live(supply.acting("comment", arrivals.now("comment"))))
        votes = self._live(supply.acting("vote", arrivals.now("vote")))
        if site.policy.curator_strike_share > 0:
            votes = votes.subset(~site.striking_curators(votes.users))
        self.vote(votes)

    def _live(self, events: Events) -> Events:
        """Actions of members who may act now (the mechanics check again; this saves their work)."""
        return events.subset(self.site.users.can_act(events.users, self.site.clock.minute))

    # -- asking ------------------------------------------------------------------------------
    def first_questions(self) -> None:
        """Newcomers who registered to ask post their first question when it falls due."""
        site = self.site
        users = site.users
        ready = site.registrations.due_askers(site.clock.tick_end)
        if ready.size == 0:
            return
        times = np.maximum(users.first_question_due[ready], site.clock.minute)
        users.first_question_due[ready] = NONE
        keep = site.streams["first_question_filter"].random(ready.size) < site.policy.newcomer_ask_multiplier
        posting.ask(site, ready[keep], times[keep])

    def ask(self, events: Events) -> None:
        """New questions from this tick's askers (a lever may thin them)."""
        site = self.site
        keep = uniform(events.keys, "ask_filter") < site.policy.ask_multiplier
        posting.ask(site, events.users[keep], events.times[keep])

    # -- answering ---------------------------------------------------------------------------
    def _answer_pool(self) -> tuple[np.ndarray, np.ndarray]:
        """The open questions answerers may pick now and the running sum of their pull (its total
        is the supply of questions to answer)."""
        site = self.site
        posts, p = site.posts, site.settings.population
        return hot_window.answer_pool(site.hot_start(), posts.n, site.clock.minute, posts.kind, posts.state,
                                      posts.staged, posts.created, posts.published_at, posts.quality,
                                      posts.answers, self._recency_table, self._crowding_table,
                                      p.answer_pull_quality_base)

    def answer(self, events: Events, pool: np.ndarray, cum: np.ndarray, found: tuple[np.ndarray, np.ndarray]) -> None:
        """Answers to open questions (``pool``, with the running sum of their pull ``cum``), chosen
        by how attractive and how unanswered they are, and the answers askers found elsewhere to
        their own questions (``found``: questions and minutes)."""
        site = self.site
        posts, p = site.posts, site.settings.population
        authors, targets, times = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if events.size and pool.size:
            u = uniform(events.keys, "answer_target")
            targets = pool[np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), pool.size - 1)]
            self._late_answers(events, targets)
            delay = (-p.answer_delay_min * np.log(uniform(events.keys, "answer_delay"))).astype(np.int64)
            authors, times = events.users, np.maximum(events.times, posts.created[targets] + 1 + delay)
        own = np.r_[np.zeros(authors.size, dtype=bool), np.ones(found[0].size, dtype=bool)]
        if own.size:
            posting.answer(site, np.r_[authors, posts.owner[found[0]]], np.r_[targets, found[0]], np.r_[times, found[1]],
                           found=own)

    def _late_answers(self, events: Events, targets: np.ndarray) -> None:
        """A share of answers go to an older question found by search (late answers), a share of
        its own for members below the comment-everywhere privilege: ``targets`` rewritten in place."""
        site = self.site
        posts, p = site.posts, site.settings.population
        lo = site.hot_start()
        new_member = site.users.reputation[events.users] < site.policy.priv_comment_everywhere
        share = np.where(new_member, p.old_question_answer_share_new_members, p.old_question_answer_share)
        old = (uniform(events.keys, "answer_old") < share) & (lo > 0)
        if old.any():
            found = (uniform(events.keys[old], "answer_old_target") * lo).astype(np.int64)
            targets[old] = np.where(posts.kind[found] == PostType.QUESTION, found, np.maximum(posts.parent[found], 0))

    # -- commenting --------------------------------------------------------------------------
    def comment(self, events: Events) -> None:
        """Comments on posts people are viewing; below 50 rep only on one's own latest post."""
        site = self.site
        if events.size == 0:
            return
        users, posts, pol, p = site.users, site.posts, site.policy, site.settings.population
        targets = site.traffic.viewed_at(uniform(events.keys, "comment_target"))
        if targets is None:
            return
        commenters, times, keys = events.users, events.times, events.keys
        low = users.reputation[commenters] < pol.priv_comment_everywhere
        own = users.last_post[commenters]
        targets = np.where(low, own, targets)
        keep = targets != NONE
        commenters, targets, times, keys = commenters[keep], targets[keep], times[keep], keys[keep]
        n = commenters.size
        if n == 0:
            return
        newcomer_target = posts.newcomer[targets]
        low_quality = posts.quality[targets] < p.unwelcoming_low_quality_below
        own_post = posts.owner[targets] == commenters
        p_unwelcome = (p.unwelcoming_base * users.civility[commenters]
                       * np.where(newcomer_target, p.unwelcoming_newcomer_factor, 1.0)
                       * np.where(low_quality, p.unwelcoming_low_quality_factor, 1.0)
                       * (1.0 - pol.code_of_conduct_effect) * ~own_post)
        p_abusive = p.abusive_base * users.civility[commenters] * ~own_post
        u = uniform(keys, "comment_tone")
        tone = np.where(u < p_abusive, Tone.ABUSIVE, np.where(u < p_abusive + p_unwelcome, Tone.UNWELCOMING, Tone.FINE))
        tone, keep = site.civility_gate(commenters, tone)
        commenters, targets, tone, times = commenters[keep], targets[keep], tone[keep], times[keep]
        harm = np.where(tone == Tone.ABUSIVE, Harm.ABUSIVE, Harm.NONE)
        posting.comment(site, commenters, targets, times, tone.astype(np.int8), harm)

    # -- voting ------------------------------------------------------------------------------
    def vote(self, events: Events) -> None:
        """Up and down votes on viewed posts, by their hidden quality and correctness."""
        site = self.site
        if events.size == 0:
            return
        posts = site.posts
        voters = events.users
        targets = site.traffic.viewed_at(uniform(events.keys, "vote_target"))
        if targets is None:
            return
        is_q = posts.kind[targets] == PostType.QUESTION
        p = site.settings.population
        p_up = np.where(is_q, p.upvote_question_base + p.upvote_question_quality * posts.quality[targets],
                        np.where(posts.correct[targets], p.upvote_correct_answer, p.upvote_wrong_answer))
        harm = posts.harm[targets]
        p_up = np.where(harm > 0, np.where(harm == Harm.WRONG_AI, p.upvote_wrong_ai_answer, p.upvote_harmful), p_up)
        up = uniform(events.keys, "vote_up") < np.clip(p_up, 0, 1)
        voting.vote(site, voters, targets, events.times, up)

    # -- accepting ----------------------------------------------------------------------------
    def _asker_inputs(self) -> tuple[np.uint64, np.ndarray, np.ndarray]:
        """The run's key for askers' decisions, the decisions' salts and the askers' parameters
        (:data:`sim.hot_window.ASKER_DECISIONS`, :data:`sim.hot_window.ASKER_PARAMS`)."""
        settings = self.site.settings
        p, rules = settings.population, settings.rules
        run_key = np.random.SeedSequence(entropy=settings.seed, spawn_key=(zlib.crc32(b"accepts"),)).generate_state(
            1, np.uint64)[0]
        salts = np.array([salt(f"accept/{name}") for name in hot_window.ASKER_DECISIONS], dtype=np.uint64)
        params = np.array([p.accept_return_established, p.accept_return_newcomer, p.accept_return_activity_half,
                           p.accept_found_elsewhere_share, p.self_answer_share, p.accept_return_hours * MINUTES_PER_HOUR,
                           p.accept_solved_prob, p.accept_wrong_answer_prob, p.accept_quality_power,
                           p.accept_harmful_prob, rules.self_accept_wait_hours * MINUTES_PER_HOUR,
                           p.newcomer_days * MINUTES_PER_DAY], dtype=np.float64)
        return run_key, salts, params

    def plan_askers(self) -> None:
        """Posts written since the last tick's plan: when their askers will act on them
        (:func:`sim.hot_window.plan_askers`)."""
        site = self.site
        posts, users = site.posts, site.users
        lo, self._planned_to = self._planned_to, posts.n
        if lo < posts.n:
            hot_window.plan_askers(lo, posts.n, posts.kind, posts.parent, posts.owner, posts.created, posts.correct,
                                   posts.quality, posts.harm, users.kind, users.activity, users.joined,
                                   *self._asker_keys, posts.asker_acts_at)

    def accept(self) -> tuple[np.ndarray, np.ndarray]:
        """Askers act when their plans fall due: accept an answer now, or post the one they found
        elsewhere with this tick's answers (returned: questions and minutes). Posts are planned
        once, at the first tick after they were written."""
        self.plan_askers()
        site = self.site
        posts, clock = site.posts, site.clock
        questions, answers, times, self_q, self_t = hot_window.askers_due(
            site.hot_start(), posts.n, clock.tick_end, posts.kind, posts.parent, posts.state, posts.accepted,
            posts.asker_acts_at)
        voting.accept(site, questions, answers, np.maximum(times, clock.minute))
        return self_q, np.maximum(self_t, clock.minute)
