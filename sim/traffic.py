"""Anonymous and logged-in traffic: views of posts and comments, the exposure channel for harm.

Visitors are not agents. Each visible post gets views at a rate that decays with age and rises
with score; views of harmful content while it is visible are the site's harm exposure. Viewers
with the privilege flag what looks wrong and cast close and reopen votes, in proportion to views.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim import close_votes
from sim.clock import MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.store import NONE, FlagKind, Harm, PostType, State, Target, Tone, unique_ids

if TYPE_CHECKING:
    from agents.model import Site

#: codes as plain integers for the compiled kernels
_QUESTION, _LIVE, _CLOSED, _HIDDEN = int(PostType.QUESTION), int(State.LIVE), int(State.CLOSED), int(State.HIDDEN)

HARM_NAMES = {Harm.SPAM: "spam", Harm.ABUSIVE: "abusive", Harm.HARASSMENT: "harassment", Harm.WRONG_AI: "wrong_ai"}


def _red_flag_prob(p) -> np.ndarray:
    """Chance per view that a viewer red-flags a post, by harm code."""
    table = np.zeros(max(Harm) + 1)
    table[Harm.SPAM] = p.flag_prob_spam
    table[[Harm.ABUSIVE, Harm.HARASSMENT]] = p.flag_prob_abusive
    return table


# honest mistakes: a share each (population.mistaken_flag_kind_share) of spam, rude and
# needs-moderator flags, the rest very low quality
_MISTAKEN_KIND = np.array([FlagKind.SPAM, FlagKind.RUDE, FlagKind.NEEDS_MODERATOR, FlagKind.VERY_LOW_QUALITY])


@njit(cache=True, inline="always")
def _public_since(j, created, published_at):
    """The minute post ``j`` went public (its creation, unless it waited in the staging ground).

    ``published_at`` is ``NONE`` (below any minute) or at least the creation time, so the later of
    the two is the answer; written as a max, not a branch, which keeps the hot loops fast."""
    return max(created[j], published_at[j])


@njit(cache=True, inline="always")
def _weight(j, score, state, staged, score_boost, state_factor):
    """The age-independent part of post ``j``'s view rate: score boost times state factor (half
    while closed, a share while hidden, none once deleted or while staged)."""
    if staged[j]:
        return 0.0
    sc = min(max(score[j], 0), score_boost.size - 1)
    return score_boost[sc] * state_factor[state[j]]


@njit(cache=True, inline="always")
def _view_rate(j, now, created, published_at, score, state, staged, decay, score_boost, state_factor):
    """Views per hour of post ``j`` at minute ``now`` before the site-wide activity level: decaying
    with time since publication, rising with score, by state."""
    age = min(max(now - _public_since(j, created, published_at), 0), decay.size - 1)
    return decay[age] * _weight(j, score, state, staged, score_boost, state_factor)


@njit(cache=True)
def view_rates(ids, now, created, published_at, score, state, staged, decay, score_boost, state_factor, activity):
    """:func:`_view_rate` times the activity level, for the posts ``ids``."""
    out = np.empty(ids.size)
    for i in range(ids.size):
        out[i] = _view_rate(ids[i], now, created, published_at, score, state, staged, decay, score_boost,
                            state_factor) * activity
    return out


@njit(cache=True)
def fresh_view_rate(lo, hi, now, created, published_at, state, staged, decay, state_factor):
    """Views per hour of posts ``lo`` to ``hi`` at minute ``now`` at score 0, before the activity
    level: decaying with time since publication, by state, none while staged."""
    total = 0.0
    last = decay.size - 1
    for j in range(lo, hi):
        if not staged[j]:
            age = min(max(now - _public_since(j, created, published_at), 0), last)
            total += decay[age] * state_factor[state[j]]
    return total


@njit(cache=True)
def post_weights(ids, created, published_at, score, state, staged, score_boost, state_factor, tick_minutes):
    """For posts ``ids``: their view-rate weight (:func:`_weight`) and their publication tick."""
    w = np.empty(ids.size)
    cohort = np.empty(ids.size, dtype=np.int64)
    for i in range(ids.size):
        j = ids[i]
        w[i] = _weight(j, score, state, staged, score_boost, state_factor)
        cohort[i] = _public_since(j, created, published_at) // tick_minutes
    return w, cohort


@njit(cache=True)
def cohort_views_per_hour(weight, upto, now, tick_minutes, decay):
    """Views per hour (before the activity level) of every post tracked by publication tick:
    ``sum over ticks c of weight[c] * decay[age of tick c's midpoint]``."""
    total = 0.0
    last = decay.size - 1
    half = tick_minutes // 2
    for c in range(min(upto, weight.size)):
        if weight[c] != 0.0:
            age = min(max(now - (c * tick_minutes + half), 0), last)
            total += weight[c] * decay[age]
    return total


class OlderPostViews:
    """Views of the good posts older than the hot window, in closed form.

    Each such post's views per hour are ``decay(age) * weight`` (:func:`_weight`), so the posts that
    went public in the same tick share the decay: their total is ``decay(age of the tick) * sum of
    their weights``. The weights are kept per publication tick and updated whenever a tracked post's
    score, state or staging changes (:meth:`Traffic.reweighing`), so a tick costs one pass over the
    ticks elapsed, not over every post. Ages are taken at the middle of the publication tick: past
    the hot window the decay changes by well under 0.1% within a tick. Harmful posts are not tracked
    here: they are followed one by one (their views are the harm exposure).

    Attributes:
        weight: Sum of tracked posts' weights by publication tick.
        upto: Posts with ids below this are tracked (the hot window starts here).
    """

    def __init__(self, ticks: int) -> None:
        self.weight = np.zeros(ticks + 2)
        self.upto = 0

    def track(self, ids: np.ndarray, w: np.ndarray, cohort: np.ndarray) -> None:
        if cohort.size and cohort.max() >= self.weight.size:
            grown = np.zeros(int(cohort.max()) * 2 + 2)
            grown[: self.weight.size] = self.weight
            self.weight = grown
        np.add.at(self.weight, cohort, w)


@njit(cache=True)
def hot_window_pass(lo, hi, now, hours, activity, created, published_at, score, state, staged, harm, kind, quality,
                    correct, close_worthy, post_views, decay, score_boost, state_factor, low_quality_cutoff):
    """One pass over the posts of the hot window: accrue this tick's views (``post_views``) and
    return them with their running sum, and the posts viewers may act on (offsets from ``lo``):
    harmful posts, low-quality candidates, close-worthy live questions, closed questions."""
    n = hi - lo
    views = np.empty(n)
    cum = np.empty(n)
    harmful = np.empty(n, dtype=np.int64)
    lowq = np.empty(n, dtype=np.int64)
    close_worthy_live = np.empty(n, dtype=np.int64)
    closed = np.empty(n, dtype=np.int64)
    nh = nl = nc = nd = 0
    total = 0.0
    for i in range(n):
        j = lo + i
        st = state[j]
        v = _view_rate(j, now, created, published_at, score, state, staged, decay, score_boost,
                       state_factor) * activity * hours
        post_views[j] += v
        views[i] = v
        total += v
        cum[i] = total
        is_q = kind[j] == _QUESTION
        if harm[j] > 0:
            harmful[nh] = i
            nh += 1
            continue
        if st < _HIDDEN and quality[j] < low_quality_cutoff and (is_q or not correct[j]):
            lowq[nl] = i
            nl += 1
        if is_q:
            if st == _LIVE and close_worthy[j]:
                close_worthy_live[nc] = i
                nc += 1
            elif st == _CLOSED:
                closed[nd] = i
                nd += 1
    return views, cum, harmful[:nh], lowq[:nl], close_worthy_live[:nc], closed[:nd]


def _draw(rng: np.random.Generator, items: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson events over items with rates ``lam``: draw the total, then place each event on an
    item in proportion to its rate (equivalent to independent Poisson counts, and O(n) once)."""
    if items.size == 0:
        return items[:0]
    cum = np.cumsum(lam, dtype=np.float64)
    total = cum[-1]
    if total <= 0:
        return items[:0]
    k = rng.poisson(total)
    if k == 0:
        return items[:0]
    pos = np.searchsorted(cum, rng.random(k) * total, side="right")
    return items[np.minimum(pos, items.size - 1)]


class Traffic:
    """Views and what viewers do about what they see.

    Attributes:
        views_today: Post and comment views so far today.
        harm_views_today: Views of harmful content so far today, by harm name.
    """

    #: Lookup tables: the view decay by age in minutes up to this many days (older posts stay at
    #: the last value) and the score boost up to this score.
    DECAY_TABLE_DAYS, SCORE_TABLE_SIZE = 366, 10_000

    def __init__(self, site: Site) -> None:
        self.site = site
        self.views_today = 0.0
        self.harm_views_today = dict.fromkeys(HARM_NAMES.values(), 0.0)
        self._lo = 0
        self._cum = np.zeros(0)
        p = site.settings.population
        # lookup tables: views per hour by age in minutes (up to a year), boost by score, by state
        age_h = np.arange(self.DECAY_TABLE_DAYS * MINUTES_PER_DAY) / MINUTES_PER_HOUR
        self._decay = p.views_per_hour_new_question * (1.0 + age_h / p.views_decay_hours) ** (-p.views_decay_power)
        self._score_boost = (1.0 + np.arange(self.SCORE_TABLE_SIZE)) ** p.views_score_power
        self._state_factor = np.zeros(max(State) + 1)
        self._state_factor[[State.LIVE, State.CLOSED, State.HIDDEN]] = [1.0, p.closed_view_share, p.hidden_view_share]
        self.older = OlderPostViews(int(np.ceil(site.settings.run.days * MINUTES_PER_DAY / site.clock.tick_minutes)))

    def _weights(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        posts = self.site.posts
        return post_weights(ids, posts.created, posts.published_at, posts.score, posts.state, posts.staged,
                            self._score_boost, self._state_factor, self.site.clock.tick_minutes)

    @contextmanager
    def reweighing(self, ids: np.ndarray):
        """Wrap a change to posts' score, state or staging: the closed-form views of older posts
        follow it (every place that changes them must use this)."""
        older, posts = self.older, self.site.posts
        ids = np.asarray(ids, dtype=np.int64)
        ids = ids[ids < older.upto]
        if ids.size:
            ids = unique_ids(ids[posts.harm[ids] == Harm.NONE])
        if ids.size == 0:
            yield
            return
        w, cohort = self._weights(ids)
        yield
        w_after, cohort_after = self._weights(ids)
        older.track(ids, -w, cohort)
        older.track(ids, w_after, cohort_after)

    def _advance_older(self, lo: int) -> None:
        """Posts that left the hot window join the closed-form accounting."""
        older, posts = self.older, self.site.posts
        if lo > older.upto:
            ids = np.arange(older.upto, lo, dtype=np.int64)
            ids = ids[posts.harm[ids] == Harm.NONE]
            w, cohort = self._weights(ids)
            older.track(ids, w, cohort)
            older.upto = lo

    def reset_day(self) -> None:
        self.views_today = 0.0
        self.harm_views_today = dict.fromkeys(HARM_NAMES.values(), 0.0)

    def view_rate(self, ids: np.ndarray) -> np.ndarray:
        """Expected public views per hour of posts ``ids`` now (at the middle of the tick)."""
        posts, site = self.site.posts, self.site
        return view_rates(np.asarray(ids, dtype=np.int64), site.clock.tick_midpoint, posts.created,
                          posts.published_at, posts.score, posts.state, posts.staged, self._decay, self._score_boost,
                          self._state_factor, site.global_activity)

    def thinned(self, rng: np.random.Generator, prob: float) -> np.ndarray:
        """Events at ``prob`` per view over all posts in the hot window this tick (to be thinned by
        the caller to the posts they apply to, which keeps them Poisson)."""
        if self._cum.size == 0 or self._cum[-1] <= 0 or prob <= 0:
            return np.zeros(0, dtype=np.int64)
        k = rng.poisson(self._cum[-1] * prob)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        return self.sample_viewed(rng, k)

    def sample_viewed(self, rng: np.random.Generator, k: int) -> np.ndarray | None:
        """``k`` posts drawn in proportion to their views this tick (what members are looking at)."""
        if self._cum.size == 0 or self._cum[-1] <= 0:
            return None
        return self.viewed_at(rng.random(k))

    def viewed_at(self, u: np.ndarray) -> np.ndarray | None:
        """The posts at uniforms ``u`` of this tick's view distribution (``None`` if nothing is viewed)."""
        if self._cum.size == 0 or self._cum[-1] <= 0:
            return None
        pos = np.searchsorted(self._cum, u * self._cum[-1], side="right")
        return np.minimum(pos, self._cum.size - 1) + self._lo

    def fresh_views_per_hour(self) -> float:
        """Views per hour the hot window's posts would draw now at score 0 and the site's usual
        activity level: what there is to read and vote on, however popular."""
        site, posts = self.site, self.site.posts
        return fresh_view_rate(site.hot_start(), posts.n, site.clock.tick_midpoint, posts.created, posts.published_at,
                               posts.state, posts.staged, self._decay, self._state_factor)

    def step(self) -> None:
        """Accrue this tick's views and exposure, then the flags and votes viewers cast."""
        site = self.site
        posts, comments, p = site.posts, site.comments, site.settings.population
        hours = site.clock.tick_minutes / MINUTES_PER_HOUR
        lo, hi = site.hot_start(), posts.n
        now = site.clock.tick_midpoint
        views, cum, bad, lowq, cw, closed = hot_window_pass(
            lo, hi, now, hours, site.global_activity, posts.created, posts.published_at, posts.score, posts.state,
            posts.staged, posts.harm, posts.kind, posts.quality, posts.correct, posts.close_worthy,
            posts.views, self._decay, self._score_boost, self._state_factor, p.low_quality_flag_cutoff)
        self._lo, self._cum = lo, cum
        # good posts older than the hot window, in closed form (their views are not exposure)
        self._advance_older(lo)
        older_views = cohort_views_per_hour(self.older.weight, self.older.weight.size, now,
                                            site.clock.tick_minutes, self._decay) * site.global_activity * hours
        # harmful posts older than the hot window keep collecting (decayed) views while visible
        old = site.harm_posts_live
        old = old[(posts.state[old] < State.DELETED) & (old < lo)]
        old_views = self.view_rate(old) * hours
        posts.views[old] += old_views
        self.views_today += ((float(cum[-1] if cum.size else 0.0) + float(old_views.sum()) + older_views)
                             * (1.0 + p.comment_view_share))
        # the posts that can draw red flags: harmful ones, in the hot window or older
        b_ids = np.concatenate([bad + lo, old])
        b_views = np.concatenate([views[bad], old_views])
        b_harm = posts.harm[b_ids]
        for code, name in HARM_NAMES.items():
            sel = b_harm == code
            if sel.any():
                self.harm_views_today[name] += float(b_views[sel].sum())
        # harmful and unwelcoming comments: seen by a share of their post's viewers
        cids = site.flaggable_comments
        if cids.size:
            parent = comments.post[cids].astype(np.int64)
            cviews = self.view_rate(parent) * hours * p.comment_view_share * (comments.removed_at[cids] == NONE)
            ch = comments.harm[cids]
            for code, name in HARM_NAMES.items():
                sel = ch == code
                if sel.any():
                    self.harm_views_today[name] += float(cviews[sel].sum())
        else:
            cviews = np.zeros(0)
        self._viewer_actions(lo, views, lowq, cw, closed, b_ids, b_views, b_harm, cids, cviews)

    def _viewer_actions(self, lo: int, views: np.ndarray, lowq: np.ndarray, cw: np.ndarray, closed: np.ndarray,
                        b_ids: np.ndarray, b_views: np.ndarray, b_harm: np.ndarray, cids: np.ndarray,
                        cviews: np.ndarray) -> None:
        """What viewers do about this tick's posts and comments: flags (the post flags raised as one
        batch) and, unless every curator is on strike, close and reopen votes. Each step draws from the
        streams in a fixed order."""
        site = self.site
        rng = site.streams["viewer_flags"]
        events = self._red_flags(rng, b_ids, b_views, b_harm)
        events += self._low_quality_flags(rng, lo + lowq, views[lowq])
        events.append(self._mistaken_flags(rng))
        site.edits.from_views(site.streams["edits"])
        if site.policy.curator_strike_share < 1:  # (striking curators' votes are dropped as cast)
            events.append(self._close_and_reopen_votes(rng, lo, views, cw, closed))
        # all of this tick's post flags go through the flag mechanics as one batch
        items = np.concatenate([e[0] for e in events])
        if items.size:
            kinds = np.concatenate([np.asarray(e[1], dtype=np.int64) for e in events])
            flaggers = site.flagger_pool.draw(rng, items.size)
            site.flags.raise_user_flags(Target.POST, items, flaggers, kinds, site.clock.jitter(rng, items.size))
        if cids.size:
            self._comment_flags(rng, cids, cviews)

    def _red_flags(self, rng: np.random.Generator, b_ids: np.ndarray, b_views: np.ndarray,
                   b_harm: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Red flags on spam and abuse (hidden posts keep a reduced audience that still flags) and
        needs-moderator flags on wrong AI answers: (posts, flag kinds) of each."""
        posts, p = self.site.posts, self.site.settings.population
        if not b_ids.size:
            return []
        p_red = _red_flag_prob(p)[b_harm]
        red = _draw(rng, b_ids, b_views * p_red)
        ai_wrong = _draw(rng, b_ids, b_views * (posts.state[b_ids] < State.HIDDEN) * (b_harm == Harm.WRONG_AI)
                         * p.flag_prob_wrong_ai)
        return [(red, np.where(posts.harm[red] == Harm.SPAM, FlagKind.SPAM, FlagKind.RUDE)),
                (ai_wrong, np.full(ai_wrong.size, FlagKind.NEEDS_MODERATOR))]

    def _low_quality_flags(self, rng: np.random.Generator, ids: np.ndarray,
                           views: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Low-quality answers (not an answer / very low quality) and very low quality questions."""
        posts, p = self.site.posts, self.site.settings.population
        lq = _draw(rng, ids, views * p.flag_prob_low_quality)
        naa = (rng.random(lq.size) < p.not_an_answer_share) & (posts.kind[lq] == PostType.ANSWER)
        return [(lq, np.where(naa, FlagKind.NOT_AN_ANSWER, FlagKind.VERY_LOW_QUALITY))]

    def _mistaken_flags(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Honest mistakes on fine posts: a thinned Poisson stream over everything viewed, a share
        each as spam, rude and needs-moderator flags, the rest very low quality."""
        posts, p = self.site.posts, self.site.settings.population
        mistaken = self.thinned(rng, p.flag_prob_mistaken)
        mistaken = mistaken[(posts.harm[mistaken] == Harm.NONE) & (posts.state[mistaken] < State.HIDDEN)]
        u = rng.random(mistaken.size)
        kind = np.minimum((u * (1.0 / p.mistaken_flag_kind_share)).astype(np.int64), _MISTAKEN_KIND.size - 1)
        return mistaken, _MISTAKEN_KIND[kind]

    def _close_and_reopen_votes(self, rng: np.random.Generator, lo: int, views: np.ndarray, cw: np.ndarray,
                                closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Close flags on close-worthy live questions (returned, for the flag batch), and the close
        and reopen votes viewers with the privilege cast now."""
        site = self.site
        posts, p = site.posts, site.settings.population
        cv_rng = site.streams["close_votes"]
        cw_ids = cw + lo
        cf = _draw(rng, cw_ids, views[cw] * p.close_flag_prob)
        # close votes: a thin stream on every live question, more on those that deserve closing
        cv = _draw(cv_rng, cw_ids, views[cw] * max(p.close_vote_prob - p.false_close_vote_prob, 0.0))
        stray = self.thinned(cv_rng, p.false_close_vote_prob)
        stray = stray[(posts.kind[stray] == PostType.QUESTION) & (posts.state[stray] == State.LIVE)
                      & (posts.harm[stray] == Harm.NONE)]
        cv = np.concatenate([cv, stray])
        if cv.size:
            voters = site.closer_pool.draw(cv_rng, cv.size)
            close_votes.cast(site, cv, voters, site.clock.jitter(rng, cv.size))
        c_ids = closed + lo
        fixable = ~posts.close_worthy[c_ids] | (posts.quality[c_ids] >= p.close_worthy_quality)
        rv = _draw(cv_rng, c_ids, views[closed] * fixable * p.reopen_vote_prob)
        if rv.size:
            voters = site.closer_pool.draw(cv_rng, rv.size)
            close_votes.reopen_votes(site, rv, voters, site.clock.jitter(rng, rv.size), enqueue=True)
        return cf, np.full(cf.size, FlagKind.SHOULD_CLOSE)

    def _comment_flags(self, rng: np.random.Generator, cids: np.ndarray, cviews: np.ndarray) -> None:
        """Flags on abusive and unwelcoming comments, in proportion to their views."""
        site = self.site
        comments, p = site.comments, site.settings.population
        tone = comments.tone[cids]
        live = comments.removed_at[cids] == NONE
        p_c = np.where(tone == Tone.ABUSIVE, p.comment_flag_prob_abusive, p.comment_flag_prob_unwelcoming)
        cf = _draw(rng, cids, cviews * live * p_c)
        if cf.size:
            ck = np.where(comments.harm[cf] > 0, FlagKind.COMMENT_HARASSMENT, FlagKind.COMMENT_UNFRIENDLY)
            flaggers = site.flagger_pool.draw(rng, cf.size)
            site.flags.raise_user_flags(Target.COMMENT, cf, flaggers, ck, site.clock.jitter(rng, cf.size))
