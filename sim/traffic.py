"""Anonymous and logged-in traffic: views of posts and comments, the exposure channel for harm.

Visitors are not agents. Each visible post gets views at a rate that decays with age and rises
with score; views of harmful content while it is visible are the site's harm exposure. Viewers
with the privilege flag what looks wrong and cast close and reopen votes, in proportion to views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import close_votes
from sim.store import NONE, FlagKind, Harm, PostType, State, Target, Tone

if TYPE_CHECKING:
    from sim.model import Site

HARM_NAMES = {Harm.SPAM: "spam", Harm.ABUSIVE: "abusive", Harm.HARASSMENT: "harassment", Harm.WRONG_AI: "wrong_ai"}


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

    def __init__(self, site: Site) -> None:
        self.site = site
        self.views_today = 0.0
        self.harm_views_today = dict.fromkeys(HARM_NAMES.values(), 0.0)
        self._ids = np.zeros(0, dtype=np.int64)
        self._cum = np.zeros(0)
        p = site.settings.population
        # lookup tables: views per hour by age in minutes (up to a year), boost by score, by state
        age_h = np.arange(366 * 1440) / 60.0
        self._decay = p.views_per_hour_new_question * (1.0 + age_h / p.views_decay_hours) ** (-p.views_decay_power)
        self._score_boost = np.sqrt(1.0 + np.arange(10_000))
        self._state_factor = np.zeros(8)
        self._state_factor[[State.LIVE, State.CLOSED, State.HIDDEN]] = [1.0, 0.5, p.hidden_view_share]

    def reset_day(self) -> None:
        self.views_today = 0.0
        self.harm_views_today = dict.fromkeys(HARM_NAMES.values(), 0.0)

    def view_rate(self, ids: np.ndarray) -> np.ndarray:
        """Expected public views per hour of posts ``ids`` now: decaying with age, rising with
        score; half while closed, a reduced share while hidden, none while deleted or staged."""
        posts = self.site.posts
        age = np.clip(self.site.clock.minute + 30 - posts.created[ids], 0, self._decay.size - 1)
        rate = self._decay[age] * self._score_boost[np.clip(posts.score[ids], 0, self._score_boost.size - 1)]
        rate = rate * self._state_factor[posts.state[ids]]
        return rate * (posts.staged_until[ids] == NONE) * self.site.global_activity

    def _thinned(self, rng: np.random.Generator, prob: float) -> np.ndarray:
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
        pos = np.searchsorted(self._cum, rng.random(k) * self._cum[-1], side="right")
        return self._ids[np.minimum(pos, self._ids.size - 1)]

    def step(self) -> None:
        """Accrue this tick's views and exposure, then the flags and votes viewers cast."""
        site = self.site
        posts, comments, p = site.posts, site.comments, site.settings.population
        hours = site.clock.tick_minutes / 60.0
        lo, hi = site.hot_start(), posts.n
        ids = np.arange(lo, hi)
        views = self.view_rate(ids) * hours
        posts.views[lo:hi] += views
        self._ids, self._cum = ids, np.cumsum(views)
        # harmful posts older than the hot window keep collecting (decayed) views while visible
        old = site.harm_posts_live
        old = old[(posts.state[old] < State.DELETED) & (old < lo)]
        old_views = self.view_rate(old) * hours
        posts.views[old] += old_views
        all_ids = np.concatenate([ids, old])
        all_views = np.concatenate([views, old_views])
        self.views_today += float(all_views.sum()) * (1.0 + p.comment_view_share)
        harm = posts.harm[all_ids]
        for code, name in HARM_NAMES.items():
            sel = harm == code
            if sel.any():
                self.harm_views_today[name] += float(all_views[sel].sum())
        # harmful and unwelcoming comments: seen by a share of their post's viewers
        cids = site.flaggable_comments
        if cids.size:
            parent = comments.post[cids].astype(np.int64)
            cviews = self.view_rate(parent) * hours * p.comment_view_share * (comments.removed_at[cids] == NONE)
            comments.views[cids] += cviews
            ch = comments.harm[cids]
            for code, name in HARM_NAMES.items():
                sel = ch == code
                if sel.any():
                    self.harm_views_today[name] += float(cviews[sel].sum())
        else:
            cviews = np.zeros(0)
        self._viewer_actions(all_ids, all_views, cids, cviews)

    def _viewer_actions(self, ids: np.ndarray, views: np.ndarray, cids: np.ndarray, cviews: np.ndarray) -> None:
        site = self.site
        posts, comments, p = site.posts, site.comments, site.settings.population
        rng = site.streams["viewer_flags"]
        harm, state = posts.harm[ids], posts.state[ids]
        events = []
        # red flags on spam and abuse (hidden posts keep a reduced audience that still flags)
        bad = np.flatnonzero(harm > 0)
        if bad.size:
            b_ids, b_harm, b_views = ids[bad], harm[bad], views[bad]
            p_red = np.select([b_harm == Harm.SPAM, (b_harm == Harm.ABUSIVE) | (b_harm == Harm.HARASSMENT)],
                              [p.flag_prob_spam, p.flag_prob_abusive], 0.0)
            red = _draw(rng, b_ids, b_views * p_red)
            events.append((red, np.where(posts.harm[red] == Harm.SPAM, FlagKind.SPAM, FlagKind.RUDE)))
            ai_wrong = _draw(rng, b_ids, b_views * (state[bad] < State.HIDDEN) * (b_harm == Harm.WRONG_AI)
                             * p.flag_prob_wrong_ai)
            events.append((ai_wrong, np.full(ai_wrong.size, FlagKind.NEEDS_MODERATOR)))
        # low-quality answers (not an answer / very low quality) and very low quality questions
        is_a = posts.kind[ids] == PostType.ANSWER
        lowq = np.flatnonzero((posts.quality[ids] < p.low_quality_flag_cutoff) & (~posts.correct[ids] | ~is_a)
                              & (harm == Harm.NONE) & (state < State.HIDDEN))
        lq = _draw(rng, ids[lowq], views[lowq] * p.flag_prob_low_quality)
        naa = (rng.random(lq.size) < 0.5) & (posts.kind[lq] == PostType.ANSWER)
        events.append((lq, np.where(naa, FlagKind.NOT_AN_ANSWER, FlagKind.VERY_LOW_QUALITY)))
        # honest mistakes on fine posts: thin a Poisson stream over everything viewed
        mistaken = self._thinned(rng, p.flag_prob_mistaken)
        mistaken = mistaken[(posts.harm[mistaken] == Harm.NONE) & (posts.state[mistaken] < State.HIDDEN)]
        u = rng.random(mistaken.size)
        mk = np.select([u < 0.1, u < 0.2, u < 0.3], [FlagKind.SPAM, FlagKind.RUDE, FlagKind.NEEDS_MODERATOR],
                       FlagKind.VERY_LOW_QUALITY)
        events.append((mistaken, mk))
        if not site.policy.curators_on_strike:
            cv_rng = site.streams["close_votes"]
            live_q = (posts.kind[ids] == PostType.QUESTION) & (state == State.LIVE) & (harm == Harm.NONE)
            cw = np.flatnonzero(live_q & posts.close_worthy[ids])
            cf = _draw(rng, ids[cw], views[cw] * p.close_flag_prob)
            events.append((cf, np.full(cf.size, FlagKind.SHOULD_CLOSE)))
            # close votes: a thin stream on every live question, more on those that deserve closing
            cv = _draw(cv_rng, ids[cw], views[cw] * max(p.close_vote_prob - p.false_close_vote_prob, 0.0))
            stray = self._thinned(cv_rng, p.false_close_vote_prob)
            stray = stray[(posts.kind[stray] == PostType.QUESTION) & (posts.state[stray] == State.LIVE)
                          & (posts.harm[stray] == Harm.NONE)]
            cv = np.concatenate([cv, stray])
            if cv.size:
                voters = site.closer_pool.draw(cv_rng, cv.size)
                close_votes.cast(site, cv, voters, site.clock.jitter(rng, cv.size))
            closed = np.flatnonzero((state == State.CLOSED) & (posts.kind[ids] == PostType.QUESTION))
            c_ids = ids[closed]
            fixable = ~posts.close_worthy[c_ids] | (posts.quality[c_ids] >= p.close_worthy_quality)
            rv = _draw(cv_rng, c_ids, views[closed] * fixable * p.reopen_vote_prob)
            if rv.size:
                voters = site.closer_pool.draw(cv_rng, rv.size)
                close_votes.reopen_votes(site, rv, voters, site.clock.jitter(rng, rv.size))
        for items, kinds in events:
            if items.size:
                flaggers = site.flagger_pool.draw(rng, items.size)
                site.flags.raise_user_flags(Target.POST, items, flaggers, kinds, site.clock.jitter(rng, items.size))
        if cids.size:
            tone = comments.tone[cids]
            live = comments.removed_at[cids] == NONE
            p_c = np.where(tone == Tone.ABUSIVE, p.comment_flag_prob_abusive, p.comment_flag_prob_unwelcoming)
            cf = _draw(rng, cids, cviews * live * p_c)
            if cf.size:
                ck = np.where(comments.harm[cf] > 0, FlagKind.COMMENT_HARASSMENT, FlagKind.COMMENT_UNFRIENDLY)
                flaggers = site.flagger_pool.draw(rng, cf.size)
                site.flags.raise_user_flags(Target.COMMENT, cf, flaggers, ck, site.clock.jitter(rng, cf.size))
