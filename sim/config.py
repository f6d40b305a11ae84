"""Typed, validated configuration.

Hydra composes plain YAML from ``conf/``; :func:`validate` turns the composed tree into frozen
dataclasses and rejects anything a user could get wrong with a one-line :class:`ConfigError`
naming the key, the value and what is allowed. Every number in DESIGN.md is a default here or in
the YAML, never a literal in the mechanics.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from typing import Any

from sim.clock import DAYS_PER_WEEK, HOURS_PER_DAY, MINUTES_PER_DAY


class ConfigError(ValueError):
    """A bad configuration value; its message is one line: key, value, what is allowed."""


def _rng(lo: float | None = None, hi: float | None = None, doc: str = "") -> dict:
    return {"min": lo, "max": hi, "doc": doc}


# Every numeric key has a finite range: values beyond it are not what-ifs but typos (``1e300``) that
# would overflow a counter or a Poisson draw hours into a run. Ranges are generous: orders of
# magnitude beyond Stack Overflow's real figures, never tight around the calibrated values.
POSITIVE_MIN = 1e-12  # "> 0" for keys that divide or take a logarithm
PROB = _rng(0.0, 1.0)
OPEN_UNIT = _rng(POSITIVE_MIN, 1.0 - POSITIVE_MIN)  # a mean of a Beta distribution
MAX_DAYS = 36_500.0  # a hundred years: durations, ages, bans, warm-up, launch day
DAYS = _rng(0.0, MAX_DAYS)
DAYS_POS = _rng(POSITIVE_MIN, MAX_DAYS)
MAX_HOURS = HOURS_PER_DAY * MAX_DAYS
HOURS_POS = _rng(POSITIVE_MIN, MAX_HOURS)
MINUTES = _rng(0.0, MINUTES_PER_DAY * MAX_DAYS)  # delays in minutes
MINUTES_OF_A_DAY = _rng(0.0, float(MINUTES_PER_DAY))  # time a person gives per day
MINUTES_PER_TASK = _rng(POSITIVE_MIN, float(MINUTES_PER_DAY))
MAX_RATE = 100.0  # actions per member per active day (SO's calibrated rates are ~0.01)
RATE = _rng(0.0, MAX_RATE)
MAX_FACTOR = 1000.0  # multipliers and exponents
FACTOR = _rng(0.0, MAX_FACTOR)
FACTOR_POS = _rng(POSITIVE_MIN, MAX_FACTOR)
MAX_REP_PER_EVENT = 100_000  # reputation points one event gives or takes (SO: 2 to 100)
REP_PER_EVENT = _rng(0, MAX_REP_PER_EVENT)
MAX_REP = 100_000_000  # reputation levels (privileges, caps); SO's top user has ~1.5 M
REP = _rng(0, MAX_REP)
MAX_PER_DAY = 1_000_000  # daily allowances, caps and counts
PER_DAY = _rng(1, MAX_PER_DAY)
COUNT = _rng(0, MAX_PER_DAY)
MAX_VIEWS_PER_HOUR = 1e7
MAX_SEED = 2**63 - 1
MIN_RUN_DAYS = 1.0  # metrics are daily: a run shorter than a day has nothing to measure


def num(default: float, meta: dict) -> Any:
    """A numeric field with its bounds (``meta``, from :func:`_rng`; both ends required)."""
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RegionGroup:
    """A region/language group of users: a fairness group with its own timezone.

    Attributes:
        share: Share of registered users in this group.
        tz: Hour offset from UTC of the group's typical user.
        native_english: Whether the group writes in its first language on the site.
    """

    share: float = num(0.25, PROB)
    tz: int = num(0, _rng(-12, 14))
    native_english: bool = True


@dataclass(frozen=True)
class SiteConfig:
    """Scale of the simulated site (presets: ``small``, ``stackoverflow_2018``)."""

    name: str = "small"
    registered_users: int = num(2000, _rng(10, 50_000_000))
    active_share: float = num(0.2, PROB)
    registrations_per_day: float = num(40.0, _rng(0.0, MAX_PER_DAY))
    topics: int = num(20, _rng(1, 10_000))
    activity_scale: float = num(1.0, FACTOR_POS)


@dataclass(frozen=True)
class RulesConfig:
    """Stack Overflow's mechanics (DESIGN.md section 2)."""

    rep_question_upvote: int = num(10, REP_PER_EVENT)
    rep_answer_upvote: int = num(10, REP_PER_EVENT)
    rep_downvote_received: int = num(2, REP_PER_EVENT)
    rep_answer_downvote_cost: int = num(1, REP_PER_EVENT)
    rep_accept: int = num(15, REP_PER_EVENT)
    rep_accepter: int = num(2, REP_PER_EVENT)
    rep_spam_deletion_penalty: int = num(100, REP_PER_EVENT)
    rep_daily_cap: int = num(200, _rng(1, MAX_REP))
    rep_floor: int = num(1, _rng(1, MAX_REP))
    votes_per_day: int = num(40, PER_DAY)
    priv_upvote: int = num(15, REP)
    priv_flag: int = num(15, REP)
    priv_comment_everywhere: int = num(50, REP)
    priv_downvote: int = num(125, REP)
    priv_review: int = num(500, REP)
    priv_review_low_quality: int = num(2000, REP)
    priv_close_vote: int = num(3000, REP)
    newcomer_rep: int = num(125, REP)
    newcomer_question_interval_min: int = num(90, MINUTES)
    question_limit_per_day: int = num(6, _rng(1, 10_000))
    question_limit_per_30_days: int = num(50, _rng(1, 10_000))
    close_vote_threshold: int = num(3, _rng(1, 50))
    close_vote_aging_days: float = num(14.0, DAYS_POS)
    reopen_vote_threshold: int = num(3, _rng(1, 50))
    dupe_hammer_prob: float = num(0.35, PROB)
    dupe_hammer_hours: float = num(12.0, HOURS_POS)
    flag_allowance: int = num(10, PER_DAY)
    flag_allowance_bonus_per_10_helpful: int = num(1, COUNT)
    flag_allowance_max: int = num(100, PER_DAY)
    flag_ban_declined_share: float = num(0.25, PROB)
    flag_ban_min_flags: int = num(10, PER_DAY)
    flag_ban_days: float = num(7.0, DAYS)
    red_flags_to_hide: int = num(3, _rng(1, 100))
    red_flags_to_delete: int = num(6, _rng(1, 100))
    comment_flags_to_delete: int = num(3, _rng(1, 100))
    reviews_per_queue_per_day: int = num(20, PER_DAY)
    reviews_per_queue_per_day_backlog: int = num(40, PER_DAY)
    review_backlog_threshold: int = num(200, COUNT)
    low_quality_reviews_to_delete: int = num(3, _rng(1, 50))
    roomba_days: float = num(9.0, DAYS)
    self_accept_wait_hours: float = num(48.0, _rng(0.0, MAX_HOURS))
    priv_edit: int = num(2000, REP)
    priv_review_suggested_edits: int = num(2000, REP)
    suggested_edit_reviews_to_decide: int = num(2, _rng(1, 50))
    reopen_queue_edit_days: float = num(5.0, DAYS)
    reopen_reviews_to_leave_closed: int = num(3, _rng(1, 50))
    first_posts_one_queue: bool = True
    late_answer_days: float = num(30.0, DAYS)
    late_answer_max_rep: int = num(50, REP)
    review_ban_failed_audits: int = num(2, _rng(1, 1000))
    review_audit_memory_days: float = num(30.0, DAYS)
    review_ban_first_days: float = num(2.0, DAYS_POS)
    review_ban_repeat_window_days: float = num(30.0, DAYS)
    review_ban_max_days: float = num(365.0, DAYS_POS)


@dataclass(frozen=True)
class TraitsConfig:
    """Shapes of the members' trait distributions (:mod:`sim.population`): assumed, hand-calibrated
    together with the population's rates (``conf/population/default.yaml``)."""

    role_mix_concentration: float = num(0.6, FACTOR_POS)
    skill_concentration: float = num(4.0, FACTOR_POS)
    expert_skill_boost: float = num(0.25, PROB)
    expert_ask_factor: float = num(0.3, FACTOR)
    expert_answer_factor: float = num(6.0, FACTOR)
    vote_rate_from_curation: float = num(0.5, PROB)
    topic_zipf: float = num(1.6, _rng(1.0 + 1e-6, 100.0))
    member_quality_sd: float = num(0.1, PROB)
    quality_floor: float = num(0.02, PROB)
    quality_ceiling: float = num(0.98, PROB)
    civility_spread: float = num(0.7, _rng(0.0, 10.0))
    active_odds_base: float = num(0.5, PROB)
    active_odds_per_activity: float = num(0.1, FACTOR)
    dormant_active_days: float = num(15.0, DAYS)
    warm_start_skill_offset: float = num(0.5, FACTOR)


@dataclass(frozen=True)
class SupplyConfig:
    """How members' answering, voting and commenting follow what there is to act on, and how a
    shortage of questions bores answerers away (:mod:`sim.supply`; assumed, ``conf/population/default.yaml``)."""

    answer_half_saturation: float = num(5.0, FACTOR)
    vote_half_saturation: float = num(1.0, FACTOR)
    comment_half_saturation: float = num(1.0, FACTOR)
    smoothing_days: float = num(1.0, DAYS_POS)
    reference_start_day: float = num(3.0, DAYS)
    reference_days: float = num(7.0, DAYS_POS)
    boredom_memory_days: float = num(30.0, DAYS_POS)
    boredom_hazard_per_missed_answer: float = num(0.0002, PROB)


@dataclass(frozen=True)
class PopulationConfig:
    """How ordinary users behave: heavy-tailed activity, skill, civility, retention."""

    regions: dict[str, RegionGroup] = field(default_factory=lambda: {
        "americas": RegionGroup(0.35, -5, True), "europe": RegionGroup(0.30, 1, False),
        "south_asia": RegionGroup(0.22, 5, False), "east_asia": RegionGroup(0.13, 8, False)})
    activity_tail: float = num(1.1, _rng(0.2, 10))
    activity_max: float = num(2000.0, _rng(POSITIVE_MIN, MAX_PER_DAY))
    ask_rate: float = num(0.007, RATE)
    answer_rate: float = num(0.01, RATE)
    comment_rate: float = num(0.02, RATE)
    vote_rate: float = num(0.045, RATE)
    flag_rate: float = num(0.01, RATE)
    newcomer_first_question_rate: float = num(0.5, RATE)
    newcomer_asker_share: float = num(0.6, PROB)
    expert_share: float = num(0.08, PROB)
    question_quality_mean: float = num(0.6, PROB)
    question_quality_sd: float = num(0.2, PROB)
    newcomer_quality_penalty: float = num(0.12, PROB)
    duplicate_base: float = num(0.03, PROB)
    duplicate_low_quality: float = num(0.04, PROB)
    duplicate_low_quality_below: float = num(0.5, PROB)
    close_reason_shares: list[float] = field(default_factory=lambda: [0.6, 0.25, 0.15], metadata=PROB)
    close_worthy_quality: float = num(0.24, PROB)
    skill_mean: float = num(0.6, OPEN_UNIT)
    topic_loyalty: float = num(0.8, PROB)
    unwelcoming_base: float = num(0.012, PROB)
    unwelcoming_newcomer_factor: float = num(2.0, FACTOR)
    unwelcoming_low_quality_factor: float = num(2.0, FACTOR)
    abusive_base: float = num(0.0005, PROB)
    upvote_question_base: float = num(0.55, PROB)
    upvote_question_quality: float = num(0.45, PROB)
    upvote_correct_answer: float = num(0.96, PROB)
    upvote_wrong_answer: float = num(0.7, PROB)
    upvote_wrong_ai_answer: float = num(0.5, PROB)
    upvote_harmful: float = num(0.03, PROB)
    off_topic_skill_factor: float = num(0.75, PROB)
    answer_correct_base: float = num(0.6, PROB)
    answer_correct_per_quality: float = num(0.4, PROB)
    answer_quality_split: float = num(0.5, OPEN_UNIT)
    answer_delay_min: float = num(20.0, MINUTES)
    answer_recency_power: float = num(1.5, FACTOR)
    answer_crowding_power: float = num(1.5, FACTOR)
    answer_pull_quality_base: float = num(0.3, FACTOR)
    unwelcoming_low_quality_below: float = num(0.4, PROB)
    accept_return_established: float = num(0.97, PROB)
    accept_return_newcomer: float = num(0.88, PROB)
    accept_return_activity_half: float = num(0.1, FACTOR)
    accept_return_hours: float = num(6.0, HOURS_POS)
    accept_found_elsewhere_share: float = num(0.08, PROB)
    self_answer_share: float = num(0.3, PROB)
    accept_solved_prob: float = num(1.0, PROB)
    accept_wrong_answer_prob: float = num(0.55, PROB)
    accept_quality_power: float = num(0.3, FACTOR)
    accept_harmful_prob: float = num(0.0, PROB)
    low_quality_flag_cutoff: float = num(0.2, PROB)
    low_quality_threshold: float = num(0.25, PROB)
    diurnal_amplitude: float = num(0.6, PROB)
    weekend_factor: float = num(0.7, FACTOR_POS)
    activity_peak_hour: float = num(15.0, _rng(0.0, float(HOURS_PER_DAY)))
    churn_hazard_per_day: float = num(0.005, PROB)
    newcomer_churn_hazard_per_day: float = num(0.05, PROB)
    churn_activity_protection: float = num(1.0, FACTOR)
    bad_first_post_churn: float = num(0.3, PROB)
    closed_first_post_churn: float = num(0.5, PROB)
    abuse_churn: float = num(0.25, PROB)
    first_post_hit_days: float = num(7.0, DAYS)
    closed_question_edit_prob: float = num(0.15, PROB)
    owner_edit_delay_hours: float = num(24.0, HOURS_POS)
    edit_fix_prob: float = num(0.15, PROB)
    edit_fix_margin: float = num(0.1, PROB)
    edit_quality_gain: float = num(0.05, PROB)
    edit_prob: float = num(0.0005, PROB)
    edit_improves_share: float = num(0.85, PROB)
    vandal_quality_drop: float = num(0.3, PROB)
    rollback_hours: float = num(12.0, HOURS_POS)
    old_question_answer_share: float = num(0.05, PROB)
    old_question_answer_share_new_members: float = num(0.05, PROB)
    newcomer_days: float = num(30.0, DAYS_POS)
    views_per_hour_new_question: float = num(6.0, _rng(0.0, MAX_VIEWS_PER_HOUR))
    views_decay_hours: float = num(10.0, HOURS_POS)
    answer_recency_hours: float = num(2.0, HOURS_POS)
    views_decay_power: float = num(1.3, FACTOR_POS)
    hot_days: float = num(3.0, DAYS_POS)
    hidden_view_share: float = num(0.25, PROB)
    closed_view_share: float = num(0.5, PROB)
    views_score_power: float = num(0.5, FACTOR)
    comment_view_share: float = num(0.3, PROB)
    comment_flaggable_days: float = num(7.0, DAYS)
    flag_prob_spam: float = num(0.02, PROB)
    flag_prob_abusive: float = num(0.02, PROB)
    flag_prob_wrong_ai: float = num(0.003, PROB)
    flag_prob_low_quality: float = num(0.004, PROB)
    flag_prob_mistaken: float = num(0.00004, PROB)
    mistaken_flag_kind_share: float = num(0.1, _rng(0.01, 1.0 / 3))
    not_an_answer_share: float = num(0.5, PROB)
    close_flag_prob: float = num(0.12, PROB)
    close_vote_prob: float = num(0.0015, PROB)
    false_close_vote_prob: float = num(0.0002, PROB)
    reopen_vote_prob: float = num(0.002, PROB)
    comment_flag_prob_abusive: float = num(0.03, PROB)
    comment_flag_prob_unwelcoming: float = num(0.003, PROB)
    appeal_prob: float = num(0.3, PROB)
    flagger_vote_weight: float = num(0.2, FACTOR)
    reviewer_base_weight: float = num(0.01, RATE)
    close_review_share_factor: float = num(1.0, PROB)
    rep_warm_start_days: float = num(1000.0, DAYS)
    warm_start_rep_per_answer: float = num(20.0, _rng(0.0, MAX_REP_PER_EVENT))
    warm_start_rep_per_question: float = num(4.0, _rng(0.0, MAX_REP_PER_EVENT))
    unanswered_first_question_days: float = num(2.0, DAYS)
    unanswered_first_question_churn: float = num(0.1, PROB)
    traits: TraitsConfig = field(default_factory=TraitsConfig)
    supply: SupplyConfig = field(default_factory=SupplyConfig)


@dataclass(frozen=True)
class ModeratorConfig:
    """Elected moderators (DESIGN.md section 3)."""

    count: int = num(3, _rng(0, 10_000))
    minutes_per_day: float = num(90.0, MINUTES_OF_A_DAY)
    online_hours: int = num(4, _rng(1, HOURS_PER_DAY))
    minutes_per_decision: float = num(1.0, MINUTES_PER_TASK)
    error_rate: float = num(0.03, PROB)
    error_multiplier_non_native: float = num(1.5, FACTOR)
    escalation_prob: float = num(0.5, PROB)
    wrongful_suspension_prob: float = num(0.3, PROB)
    burnout_load: float = num(2.0, FACTOR_POS)
    burnout_weeks: float = num(4.0, _rng(POSITIVE_MIN, MAX_DAYS / DAYS_PER_WEEK))
    resignation_prob_per_week: float = num(0.1, PROB)
    binding_close_share: float = num(0.03, PROB)
    handles_close_flags_share: float = num(0.04, PROB)
    minutes_spread: float = num(0.3, _rng(0.0, 10.0))
    destroy_spammer_below_rep: int = num(200, REP)
    undelete_wrongful_prob: float = num(1.0, PROB)
    undelete_mistaken_prob: float = num(0.2, PROB)
    undelete_detector_flagged_factor: float = num(0.1, PROB)
    strike_urgent_priority: int = num(0, _rng(0, 3))


@dataclass(frozen=True)
class StaffConfig:
    """Community managers and trust & safety staff taking escalations and appeals."""

    count: int = num(1, _rng(0, 1000))
    minutes_per_day: float = num(120.0, MINUTES_OF_A_DAY)
    minutes_per_case: float = num(20.0, MINUTES_PER_TASK)
    appeal_accuracy: float = num(0.9, PROB)
    tz: float = num(-5.0, _rng(-12.0, 14.0))
    start_hour: float = num(9.0, _rng(0.0, float(HOURS_PER_DAY)))
    hours: float = num(8.0, _rng(POSITIVE_MIN, float(HOURS_PER_DAY)))
    threat_suspension_days: float = num(365.0, DAYS)
    fraud_suspension_days: float = num(30.0, DAYS)


@dataclass(frozen=True)
class DetectorConfig:
    """An automated defender with its error rates; ``enabled`` switches it."""

    enabled: bool = True
    precision: float = num(0.995, _rng(1e-6, 1.0))
    recall: float = num(0.9, PROB)
    flags_cast: int = num(3, _rng(0, 100))
    threshold: float = num(5.0, _rng(0.0, MAX_PER_DAY))
    delay_min: float = num(2.0, MINUTES)


@dataclass(frozen=True)
class AutoSuspensionConfig:
    """The site's automatic suspension rules (:mod:`sim.auto_suspensions`); ``enabled`` switches them."""

    enabled: bool = True
    strike_days: float = num(30.0, DAYS_POS)
    serial_voting_strikes: int = num(3, _rng(1, MAX_PER_DAY))
    serial_voting_days: float = num(7.0, DAYS)
    red_flag_deletions: int = num(3, _rng(1, MAX_PER_DAY))
    red_flag_days: float = num(7.0, DAYS)
    evasion_detection_prob: float = num(0.5, PROB)
    evasion_days: float = num(30.0, DAYS)


@dataclass(frozen=True)
class ModerationConfig:
    """The community's and site's defences."""

    moderators: ModeratorConfig = field(default_factory=ModeratorConfig)
    staff: StaffConfig = field(default_factory=StaffConfig)
    spam_detector: DetectorConfig = field(default_factory=DetectorConfig)
    serial_voting: DetectorConfig = field(default_factory=lambda: DetectorConfig(
        precision=0.9, recall=0.8, flags_cast=0, threshold=5.0))
    question_ban: DetectorConfig = field(default_factory=lambda: DetectorConfig(
        precision=1.0, recall=1.0, flags_cast=0, threshold=0.6))
    civility_classifier: DetectorConfig = field(default_factory=lambda: DetectorConfig(
        precision=0.7, recall=0.3, flags_cast=1, threshold=0.0))
    ai_detector: DetectorConfig = field(default_factory=lambda: DetectorConfig(
        enabled=False, precision=0.95, recall=0.7, flags_cast=0))
    auto_suspension: AutoSuspensionConfig = field(default_factory=AutoSuspensionConfig)
    reviewer_accuracy: float = num(0.9, PROB)
    review_share_of_eligible: float = num(0.05, PROB)
    first_posts_close_share: float = num(0.5, PROB)
    robo_reviewer_share: float = num(0.1, PROB)
    audit_share: float = num(0.05, _rng(0.0, 0.9))
    audit_known_bad_share: float = num(0.5, PROB)
    audit_accuracy: float = num(0.95, PROB)
    destroy_removes_days: int = num(7, _rng(0, int(MAX_DAYS)))
    question_ban_min_questions: int = num(4, _rng(1, MAX_PER_DAY))
    question_ban_lookback_days: int = num(60, _rng(0, int(MAX_DAYS)))
    question_ban_deserved_quality: float = num(0.4, PROB)
    civility_nudge_base_rate: float = num(0.03, OPEN_UNIT)
    suspension_ladder_days: list[float] = field(default_factory=lambda: [0.0, 7.0, 30.0, 365.0], metadata=DAYS)


@dataclass(frozen=True)
class BadActorConfig:
    """One family of bad actors (the keys every family has; :mod:`agents.bad_actors`)."""

    count: int = num(0, _rng(0, 100_000))
    rate_per_day: float = num(1.0, _rng(0.0, MAX_PER_DAY))
    rate_spread: float = num(0.3, _rng(0.0, 10.0))
    evasion_prob: float = num(0.5, PROB)
    evasion_delay_days: float = num(2.0, DAYS)
    adapt_slowdown: float = num(0.25, PROB)
    ban_suspension_days: float = num(20.0, DAYS)
    accounts: int = num(1, _rng(1, 1000))
    correctness: float = num(0.4, PROB)
    replacement_days: float = num(7.0, DAYS)
    start_rep: int = num(1, REP)


@dataclass(frozen=True)
class SpammerConfig(BadActorConfig):
    """Spammers: the family's keys, and their tactic."""

    question_share: float = num(0.6, PROB)
    switch_prob: float = num(0.5, PROB)
    post_quality: float = num(0.05, PROB)


@dataclass(frozen=True)
class HarasserConfig(BadActorConfig):
    """Harassers: the family's keys, and how often a sanction makes them pick a new victim."""

    switch_prob: float = num(0.5, PROB)


@dataclass(frozen=True)
class TrollConfig(BadActorConfig):
    """Trolls: the family's keys, and the share of their actions that deface a post by an edit."""

    vandal_share: float = num(0.3, PROB)


@dataclass(frozen=True)
class VotingRingConfig(BadActorConfig):
    """Voting rings: the family's keys, the beneficiary's answers, the socks' back-off."""

    beneficiary_answers_per_day: float = num(2.0, RATE)
    reversal_backoff: int = num(1, _rng(0, MAX_PER_DAY))


@dataclass(frozen=True)
class SerialDownvoterConfig(BadActorConfig):
    """Serial downvoters: the family's keys, their back-off and how far back they look."""

    reversal_backoff: int = num(2, _rng(0, MAX_PER_DAY))
    lookback_days: int = num(30, _rng(0, int(MAX_DAYS)))


@dataclass(frozen=True)
class BadActorsConfig:
    """The bad-actor population (DESIGN.md section 3)."""

    spammers: SpammerConfig = field(default_factory=SpammerConfig)
    harassers: HarasserConfig = field(default_factory=lambda: HarasserConfig(start_rep=60))
    trolls: TrollConfig = field(default_factory=lambda: TrollConfig(start_rep=60))
    voting_rings: VotingRingConfig = field(default_factory=lambda: VotingRingConfig(start_rep=20))
    ai_farmers: BadActorConfig = field(default_factory=BadActorConfig)
    serial_downvoters: SerialDownvoterConfig = field(default_factory=lambda: SerialDownvoterConfig(start_rep=600))


@dataclass(frozen=True)
class ScenarioConfig:
    """A named what-if: levers with parameters, switched on at ``launch_day``."""

    name: str = "baseline"
    description: str = ""
    hypothesis: str = ""
    primary_metric: str = ""
    primary_direction: str = "decrease"
    launch_day: float = num(0.0, DAYS)
    context: dict[str, Any] = field(default_factory=dict)
    levers: dict[str, dict] = field(default_factory=dict)
    guardrails: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class RunConfig:
    """One simulation run: length, warm-up, tick and outputs."""

    days: float = num(30.0, _rng(MIN_RUN_DAYS, MAX_DAYS))
    warmup_days: float = num(0.0, DAYS)
    tick_minutes: int = num(60, _rng(1, MINUTES_PER_DAY))
    progress: bool = True
    event_tables: bool = False
    #: The calendar date of simulated minute 0 (``YYYY-MM-DD``): the event tables' timestamps
    #: (``CreationDate`` ...) are this date plus the simulated minutes.
    start_date: str = "2018-01-01"


@dataclass(frozen=True)
class CompareConfig:
    """A paired comparison: CI method and level, decision rule, sequential seeds, parallel jobs.

    See docs/statistics.md. ``alpha``: 1 - the confidence of every interval (two-sided; a guardrail
    errs with at most alpha/2). ``fdr``: false discovery rate of the better/worse labels
    (Benjamini-Hochberg). ``power``: chance of deciding at the "seeds to decide" reported for an
    undecided guardrail. ``rare_events``: a count with fewer events in an arm gets the rare-event
    interval, and a zero-width interval over fewer events decides nothing. ``until_decided``: add
    ``batch_size`` seed pairs at a time until every guardrail is decided or ``max_replicates``
    pairs have run, with intervals valid under the repeated looks (alpha spending).
    """

    ci_method: str = "t"
    jobs: int = num(0, _rng(0, 1024))
    out: str = ""
    alpha: float = num(0.05, _rng(1e-6, 0.5))
    fdr: float = num(0.05, _rng(1e-6, 0.5))
    power: float = num(0.8, _rng(0.5, 0.999))
    rare_events: int = num(20, _rng(0, 1_000_000))
    until_decided: bool = False
    max_replicates: int = num(64, _rng(2, 10_000))
    batch_size: int = num(4, _rng(1, 10_000))


@dataclass(frozen=True)
class Settings:
    """The whole validated configuration of one run or comparison."""

    seed: int = num(0, _rng(0, MAX_SEED))
    replicates: int = num(4, _rng(2, 10_000))
    site: SiteConfig = field(default_factory=SiteConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    moderation: ModerationConfig = field(default_factory=ModerationConfig)
    bad_actors: BadActorsConfig = field(default_factory=BadActorsConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    run: RunConfig = field(default_factory=RunConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    guardrails: list[dict] = field(default_factory=list)


_CHOICES = {"compare.ci_method": ("t", "bootstrap"), "scenario.primary_direction": ("increase", "decrease")}


MAX_NAME_LENGTH = 64
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IDENTIFIERS = ("scenario.name",)  # names that become folder names


def check_identifier(key: str, value: object) -> None:
    """``value`` must be an identifier (scenario names and what-if options become folder names).

    Raises:
        ConfigError: One line naming the key, the value and what is allowed.
    """
    if not isinstance(value, str) or not _IDENTIFIER.match(value) or len(value) > MAX_NAME_LENGTH:
        raise ConfigError(f"{key}={value!r}: must be an identifier (letters, digits and _, not starting with "
                          f"a digit, at most {MAX_NAME_LENGTH} characters)")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _allowed(meta: dict | None, lead: str = "") -> str:
    """The range of a numeric key in words ('' without one)."""
    lo, hi = (meta or {}).get("min"), (meta or {}).get("max")
    if lo is None or hi is None:
        return ""
    if (lo, hi) == (0.0, 1.0):
        return f"{lead}must be between 0 and 1 (a probability)"
    if (lo, hi) == (POSITIVE_MIN, 1.0 - POSITIVE_MIN):
        return f"{lead}must be strictly between 0 and 1"
    low = "> 0" if lo == POSITIVE_MIN else f">= {lo:g}"
    return f"{lead}must be {low} and <= {hi:g}"


def _convert(value: Any, tp: Any, key: str, meta: dict | None) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}={value!r}: expected a mapping of {tp.__name__} fields")
        return _build(tp, value, key)
    if origin is dict:
        _, vt = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}={value!r}: expected a mapping")
        return {str(k): _convert(v, vt, f"{key}.{k}", None) for k, v in value.items()}
    if origin is list:
        (it,) = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}={value!r}: expected a list")
        return [_convert(v, it, f"{key}[{i}]", meta) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}={value!r}: expected true or false")
        return value
    if tp in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}={value!r}: expected a number ({_type_name(tp)})")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{key}={value!r}: expected a finite number{_allowed(meta, ', ')}")
        lo, hi = (meta or {}).get("min"), (meta or {}).get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):  # before any conversion
            raise ConfigError(f"{key}={value!r}: {_allowed(meta)}")
        if tp is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{key}={value!r}: expected a whole number")
        return tp(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}={value!r}: expected a string")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ConfigError(f"{key}={value!r}: must be one of {', '.join(_CHOICES[key])}")
        if key in _IDENTIFIERS:
            check_identifier(key, value)
        return value
    if tp is dict or tp is Any:
        return value
    raise ConfigError(f"{key}: unsupported type {tp}")  # pragma: no cover


def _build(cls: type, data: dict, prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k in data:
        if k not in fields:
            allowed = ", ".join(sorted(fields))
            raise ConfigError(f"{prefix + '.' if prefix else ''}{k}: unknown key (allowed: {allowed})")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            key = f"{prefix}.{name}" if prefix else name
            val = data[name]
            if val is None:
                raise ConfigError(f"{key}=null: a value is required")
            kwargs[name] = _convert(val, hints[name], key, dict(f.metadata) or None)
    return cls(**kwargs)


def validate(tree: dict) -> Settings:
    """Build validated :class:`Settings` from a plain (resolved) config tree.

    Args:
        tree: The composed configuration, e.g. ``OmegaConf.to_container(cfg, resolve=True)``.

    Returns:
        Frozen settings.

    Raises:
        ConfigError: One line naming the key, the value and what is allowed.
    """
    tree = {k: v for k, v in tree.items() if k != "hydra"}
    rails = tree.get("guardrails")
    if isinstance(rails, dict):  # the guardrails group (conf/guardrails/NAME.yaml): its one key is the list
        for key in rails:
            if key != "guardrails":
                raise ConfigError(f"guardrails.{key}: unknown key (allowed: guardrails, the list of guardrails)")
        tree["guardrails"] = rails.get("guardrails") or []
    context = (tree.get("scenario") or {}).get("context") or {}
    if context:
        tree = _apply_context(tree, context)
    settings = _build(Settings, tree, "")
    _cross_checks(settings)
    return settings


def _apply_context(tree: dict, context: dict) -> dict:
    """Apply a scenario's ``context`` (dotted key -> value) to both arms' configuration: the
    conditions a what-if is tested under, e.g. the 2018 close-vote quorum of 5."""
    import copy

    tree = copy.deepcopy(tree)
    for dotted, value in context.items():
        node = tree
        *parents, leaf = str(dotted).split(".")
        for p in parents:
            if not isinstance(node.get(p), dict):
                raise ConfigError(f"scenario.context.{dotted}: unknown key ({p!r} is not a config section)")
            node = node[p]
        if leaf not in node:
            raise ConfigError(f"scenario.context.{dotted}: unknown key")
        node[leaf] = value
    return tree


def _check_start_date(text: str) -> None:
    """``run.start_date`` must be a calendar date, ``YYYY-MM-DD``."""
    import datetime

    try:
        datetime.date.fromisoformat(str(text))
        ok = len(str(text)) == 10
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"run.start_date={text}: not a date (allowed: YYYY-MM-DD, e.g. 2018-01-01)")


def _cross_checks(s: Settings) -> None:
    shares = sum(g.share for g in s.population.regions.values())
    if not s.population.regions:
        raise ConfigError("population.regions={}: at least one region group is required")
    if abs(shares - 1.0) > 1e-6:
        raise ConfigError(f"population.regions: shares sum to {shares:g}; they must sum to 1")
    _check_start_date(s.run.start_date)
    if s.run.warmup_days >= s.run.days:
        raise ConfigError(f"run.warmup_days={s.run.warmup_days:g}: must be < run.days ({s.run.days:g})")
    if s.scenario.levers and s.scenario.launch_day >= s.run.days:
        raise ConfigError(f"scenario.launch_day={s.scenario.launch_day:g}: must be < run.days ({s.run.days:g}); "
                          f"the levers would never switch on")
    p = s.population
    if p.unanswered_first_question_days > p.first_post_hit_days:
        raise ConfigError(f"population.unanswered_first_question_days={p.unanswered_first_question_days:g}: must be "
                          f"<= population.first_post_hit_days ({p.first_post_hit_days:g}), the days a first post "
                          f"can still drive its author away")
    if s.rules.red_flags_to_delete < s.rules.red_flags_to_hide:
        raise ConfigError(f"rules.red_flags_to_delete={s.rules.red_flags_to_delete}: must be >= "
                          f"rules.red_flags_to_hide ({s.rules.red_flags_to_hide})")
    reasons = s.population.close_reason_shares
    if len(reasons) != 3 or abs(sum(reasons) - 1.0) > 1e-6:
        raise ConfigError(f"population.close_reason_shares={reasons}: three shares (needs details, off topic, "
                          f"opinion-based) that sum to 1")
    if len(s.moderation.suspension_ladder_days) < 1:
        raise ConfigError("moderation.suspension_ladder_days=[]: at least one step is required")
    from sim.metric_registry import REGISTRY

    if s.scenario.primary_metric and s.scenario.primary_metric not in REGISTRY:
        raise ConfigError(f"scenario.primary_metric={s.scenario.primary_metric!r}: not a metric name "
                          f"(see docs/metrics.md)")


def seeds_of(settings: Settings) -> list[int]:
    """The paired seeds of a comparison: ``seed, seed + 1, ..., seed + replicates - 1``."""
    return [settings.seed + i for i in range(settings.replicates)]


def flatten(tree: dict, prefix: str = "") -> dict:
    """Nested mappings as dotted keys, lists kept as values: ``{"run.days": 60, ...}``."""
    out = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, dotted + "."))  # an empty mapping adds no key
        else:
            out[dotted] = value
    return out


def to_tree(settings: Settings) -> dict:
    """The settings as a plain dict (for ``config.yaml`` and diffs)."""
    return dataclasses.asdict(settings)


def baseline_of(settings: Settings) -> Settings:
    """The same settings with the scenario's levers and guardrails removed: the baseline arm of a
    comparison (``preflight compare``, ``sensitivity``, the dashboard).

    Launch day, primary metric and context (already applied to both arms' configuration) are
    kept, so the arms differ only in what the scenario changes.
    """
    empty = dataclasses.replace(settings.scenario, name="baseline", levers={}, guardrails=[], hypothesis="",
                                description="The site as it is, with no change.")
    return dataclasses.replace(settings, scenario=empty)


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with dotted keys replaced, e.g. ``replace(s, **{"run.days": 3})``."""
    tree = to_tree(settings)
    for dotted, value in changes.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return validate(tree)


__all__ = ["ConfigError", "Settings", "validate", "to_tree", "replace", "flatten", "seeds_of"]
