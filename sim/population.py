"""User state as arrays owned by the model, and fast sampling of who acts in a tick.

Every registered account (ordinary users and bad actors' accounts alike) is one row. Agents are
thin views over these rows; a dormant user costs nothing per tick because only live members have
clocks in :class:`sim.arrivals.Arrivals`.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from sim.clock import MINUTES_PER_DAY
from sim.config import Settings
from sim.store import NONE, Table


class Kind(IntEnum):
    """Who really controls an account (ground truth for wrongful-action metrics)."""

    MEMBER = 0
    SPAMMER = 1
    HARASSER = 2
    TROLL = 3
    SOCK = 4
    AI_FARMER = 5
    DOWNVOTER = 6

    @property
    def bad(self) -> bool:
        return self is not Kind.MEMBER


class Users(Table):
    """All accounts of the site, column by column.

    Attributes:
        n: Number of accounts.
        reputation: Current reputation (never below the floor).
        rep_today: Reputation earned today from votes (subject to the daily cap).
        active: Whether the account still takes part (churned users are inactive).
        kind: Ground truth :class:`Kind`.
        region: Fairness group index into ``region_names``.
        rates: Per-activity daily rates (``rates["ask"]`` ...).
        boredom: Answers a member missed lately for want of questions (:func:`sim.retention.answering_shortfall`).
    """

    _COLUMNS = {
        "reputation": (np.int32, 1), "rep_today": (np.int32, 0), "joined": (np.int32, 0),
        "active": (np.bool_, True), "churned_at": (np.int32, NONE), "kind": (np.int8, 0),
        "region": (np.int8, 0),
        "activity": (np.float32, 1.0), "skill": (np.float32, 0.5), "topic": (np.int16, 0),
        "quality": (np.float32, 0.5), "civility": (np.float32, 1.0), "newcomer": (np.bool_, False),
        "votes_today": (np.int16, 0), "flags_today": (np.int16, 0), "flags_helpful": (np.int32, 0),
        "flags_declined": (np.int32, 0), "flag_banned_until": (np.int32, NONE),
        "suspended_until": (np.int32, NONE), "blocked_until": (np.int32, NONE), "suspensions": (np.int8, 0), "question_banned": (np.bool_, False),
        "destroyed": (np.bool_, False), "last_question_at": (np.int32, -(10**8)), "questions": (np.int32, 0),
        "questions_today": (np.int16, 0), "questions_30_days": (np.int16, 0),
        "answers": (np.int32, 0), "first_post": (np.int32, NONE), "first_post_at": (np.int32, NONE),
        "first_post_bad": (np.bool_, False), "returned_at": (np.int32, NONE), "abused_at": (np.int32, NONE),
        "abuse_received": (np.int32, 0), "last_post": (np.int32, NONE), "fraud_rep": (np.int32, 0),
        "vote_rate": (np.float32, 0.0), "flag_rate": (np.float32, 0.0), "wrongly_sanctioned": (np.bool_, False),
        "first_question_due": (np.int32, NONE),
        "churn_hazard": (np.float32, 0.0),
        "churn_threshold": (np.float32, 1.0),
        # reviewing: audits passed and failed, recent failures toward a review ban, and the bans
        "audits_passed": (np.int32, 0), "audits_failed": (np.int32, 0), "recent_audit_fails": (np.int16, 0),
        "last_audit_fail_at": (np.int32, NONE), "review_banned_until": (np.int32, NONE),
        "review_bans": (np.int16, 0), "last_review_ban_days": (np.float32, 0.0),
        "boredom": (np.float32, 0.0),
    }

    def __init__(self, settings: Settings, rng: np.random.Generator) -> None:
        self.settings = settings
        self.region_names = list(settings.population.regions)
        groups = list(settings.population.regions.values())
        self._region_share = np.array([g.share for g in groups])
        self._region_tz = np.array([g.tz for g in groups], dtype=np.float32)
        self._region_native = np.array([g.native_english for g in groups])
        super().__init__(self._COLUMNS, int(settings.site.registered_users * 1.3) + 64)
        self._populate(rng)

    #: A member's activity is split between asking, answering and curating (voting, flagging).
    ROLES = 3

    def _draw_traits(self, rng: np.random.Generator, n: int, newcomer: bool) -> dict[str, np.ndarray]:
        p, t, scale = self.settings.population, self.settings.population.traits, self.settings.site.activity_scale
        u = rng.random(n)
        activity = np.minimum((1.0 - u) ** (-1.0 / p.activity_tail), p.activity_max)
        # each role's share, times the number of roles: 1 on average for every role
        mix = rng.dirichlet((t.role_mix_concentration,) * self.ROLES, size=n) * self.ROLES
        expert = rng.random(n) < p.expert_share
        k = t.skill_concentration  # Beta with mean skill_mean
        skill = np.clip(rng.beta(k * p.skill_mean, k * (1 - p.skill_mean), n) + t.expert_skill_boost * expert, 0, 1)
        region = rng.choice(len(self._region_share), size=n, p=self._region_share)
        topics = self.settings.site.topics
        topic = np.minimum(rng.zipf(t.topic_zipf, n) - 1, topics - 1)
        quality = np.clip(rng.normal(p.question_quality_mean, t.member_quality_sd, n)
                          - (p.newcomer_quality_penalty if newcomer else 0), t.quality_floor, t.quality_ceiling)
        ask = p.ask_rate * scale * activity * mix[:, 0] * np.where(expert, t.expert_ask_factor, 1.0)
        drive = np.zeros(n, dtype=np.float32)
        if newcomer:
            # most newcomers register to ask one question; the drive ends with their first question
            drive = np.where(rng.random(n) < p.newcomer_asker_share, p.newcomer_first_question_rate * scale, 0.0)
        return {
            # each account leaves once its accumulated hazard passes its own Exp(1) threshold: one
            # draw at registration, so baseline and scenario share every user's fate until it differs
            "churn_threshold": rng.exponential(1.0, n),
            "first_question_drive": drive,
            "activity": activity, "skill": skill, "region": region, "topic": topic, "quality": quality,
            "civility": rng.lognormal(0.0, t.civility_spread, n),
            "ask_rate": ask,
            "answer_rate": p.answer_rate * scale * activity * mix[:, 1] * np.where(expert, t.expert_answer_factor, 1.0)
            * skill,
            "comment_rate": p.comment_rate * scale * activity,
            "vote_rate": p.vote_rate * scale * activity
            * ((1.0 - t.vote_rate_from_curation) + t.vote_rate_from_curation * mix[:, 2]),
            "flag_rate": p.flag_rate * scale * activity * mix[:, 2],
        }

    #: Traits used only when an account registers (the member's clocks and first question keep
    #: them): not stored per account but handed to the caller in :attr:`registered`.
    AT_REGISTRATION = ("ask_rate", "answer_rate", "comment_rate", "first_question_drive")

    def add(self, rng: np.random.Generator, n: int, joined: int, kind: Kind = Kind.MEMBER,
            newcomer: bool = True, **overrides: np.ndarray | float) -> np.ndarray:
        """Register ``n`` accounts at minute ``joined``; returns their ids. Their registration-only
        traits (:attr:`AT_REGISTRATION`) are in :attr:`registered`, aligned with the ids."""
        start, stop = self.n, self.n + int(n)
        self.reserve(stop)
        traits = self._draw_traits(rng, n, newcomer)
        traits.update(overrides)
        sl = slice(start, stop)
        self.registered = {}
        for name, val in traits.items():
            if name in self.AT_REGISTRATION:
                self.registered[name] = np.broadcast_to(np.asarray(val, dtype=np.float32), (int(n),)).copy()
            else:
                getattr(self, name)[sl] = val
        self.joined[sl] = joined
        self.kind[sl] = int(kind)
        self.newcomer[sl] = newcomer
        self.n = stop
        return np.arange(start, stop)

    #: Bound on an account's expected warm-start reputation (a numerical guard for the Poisson draw).
    MAX_WARM_START_REP = 2e6

    def _populate(self, rng: np.random.Generator) -> None:
        s, p, t = self.settings.site, self.settings.population, self.settings.population.traits
        ids = self.add(rng, s.registered_users, joined=0, newcomer=False)
        # the more active an account, the likelier it is still active
        odds = np.minimum(1.0, t.active_odds_base + t.active_odds_per_activity * self.activity[ids])
        self.active[ids] = rng.random(ids.size) < s.active_share * odds
        self.refresh_block(ids)
        # Warm start: accounts that predate the run carry the reputation their history earned.
        tenure = rng.random(ids.size) * p.rep_warm_start_days
        self.joined[ids] = -(tenure * MINUTES_PER_DAY).astype(np.int32)
        # dormant accounts were active only for a while before they left
        active_days = np.where(self.active[ids], tenure, np.minimum(tenure, rng.exponential(t.dormant_active_days, ids.size)))
        self.questions[ids] = rng.poisson(self.registered["ask_rate"] * active_days)
        self.answers[ids] = rng.poisson(self.registered["answer_rate"] * active_days)
        earned = (p.warm_start_rep_per_answer * self.answers[ids] * (t.warm_start_skill_offset + self.skill[ids])
                  + p.warm_start_rep_per_question * self.questions[ids])
        self.reputation[ids] = 1 + rng.poisson(np.minimum(earned, self.MAX_WARM_START_REP)).astype(np.int32)

    # -- views -------------------------------------------------------------------------------
    def col(self, name: str) -> np.ndarray:
        """The live part of a column."""
        return getattr(self, name)[: self.n]

    def tz(self, ids: np.ndarray | int | slice) -> np.ndarray:
        """Timezone (UTC offset in hours) of accounts, from their region."""
        return self._region_tz[self.region[ids]]

    def native(self, ids: np.ndarray | int) -> np.ndarray | bool:
        """Whether accounts are native English speakers, from their region."""
        return self._region_native[self.region[ids]]

    def can_act(self, ids: np.ndarray, now: int) -> np.ndarray:
        """Accounts that exist, are active and are not suspended at ``now``."""
        return self.blocked_until[ids] <= now

    def refresh_block(self, ids: np.ndarray | int) -> None:
        """Keep ``blocked_until`` (the one column :meth:`can_act` reads) in step with ``active``,
        ``destroyed`` and ``suspended_until``; call after changing any of them."""
        open_ = self.active[ids] & ~self.destroyed[ids]
        self.blocked_until[ids] = np.where(open_, self.suspended_until[ids], np.iinfo(np.int32).max)

    def is_newcomer(self, ids: np.ndarray, now: int) -> np.ndarray:
        """Newcomer group: joined less than ``newcomer_days`` ago."""
        return (now - self.joined[ids]) < self.settings.population.newcomer_days * MINUTES_PER_DAY

    def start_day(self) -> None:
        """A new day: the daily allowances start afresh (vote reputation toward the cap, votes, flags,
        questions)."""
        n = self.n
        self.rep_today[:n] = 0
        self.votes_today[:n] = 0
        self.flags_today[:n] = 0
        self.questions_today[:n] = 0

    def touch(self, ids: np.ndarray, now: np.ndarray | int) -> None:
        """Record activity: marks a newcomer as returned once they act a day after their first post."""
        fp = self.first_post_at[ids]
        back = (fp >= 0) & (self.returned_at[ids] < 0) & (now - fp >= MINUTES_PER_DAY)
        if back.any():
            self.returned_at[ids[back]] = np.broadcast_to(now, ids.shape)[back]


class WeightedPool:
    """Accounts eligible for one role (flagging, close voting, reviewing), drawn by a weight.

    Rebuilt daily; draws return ``-1`` when nobody is eligible.
    """

    def __init__(self, ids: np.ndarray, weights: np.ndarray) -> None:
        keep = weights > 0
        self.ids = ids[keep]
        self.cum = np.cumsum(weights[keep].astype(np.float64))

    def draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        if self.ids.size == 0 or k == 0:
            return np.full(k, -1, dtype=np.int64)
        pos = np.searchsorted(self.cum, rng.random(k) * self.cum[-1], side="right")
        return self.ids[np.minimum(pos, self.ids.size - 1)]
