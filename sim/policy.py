"""The site's live policy: the extension points that scenario levers switch at launch.

Mechanics read these fields every tick instead of the static rules, so a lever changes the site's
behaviour from its launch time onwards without touching mechanics code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config import Settings


@dataclass
class Policy:
    """Current values of every lever-controlled rule and switch.

    Attributes:
        close_vote_threshold: Close votes needed to close a question.
        reopen_vote_threshold: Reopen votes needed to reopen a closed question.
        red_flags_to_hide: Spam/rude flags that hide a post.
        red_flags_to_delete: Spam/rude flags that delete a post (with the reputation penalty).
        newcomer_rep: Reputation below which new-user limits apply.
        newcomer_question_interval_min: Minimum minutes between questions below ``newcomer_rep``.
        question_limit_per_day: Questions an account may ask in a day.
        question_limit_per_30_days: Questions an account may ask in the last 30 days.
        ask_multiplier: Multiplier on every asker's rate (e.g. askers going elsewhere).
        spam_detector: Whether the spam detector runs.
        moderator_strike_share: Share of the moderators on strike (0: none): ``round(share x n)`` of
            them, chosen by each moderator's own draw, so a larger share adds strikers without
            reshuffling the others (:meth:`agents.moderator.Moderator.striking`).
        curator_strike_share: Share of the curators (members with the close-vote privilege, and the
            review queues' capacity) on strike.
        strike_urgent_share: Share of the striking moderators who still handle the most urgent
            flags (priority up to ``moderation.moderators.strike_urgent_priority``).
        staff_flag_minutes_per_day: Minutes a day staff spend on the moderator flag queue (the
            strike's overflow; 0 otherwise).
        staging_ground: First questions wait for review by experienced users before going public.
        ai_answer_ban: AI answers are removed and their authors suspended when detected.
        civility_nudge: The civility classifier nudges authors of unfriendly comments before posting.
        clear_close_notices: Closed newcomers are told clearly why and how to fix the question.
        owner_edit_prob: Chance an asker edits their closed question (the lever raises it).
        free_votes_for_new_users: Low-rep users may upvote, without reputation effect.
    """

    close_vote_threshold: int
    reopen_vote_threshold: int
    red_flags_to_hide: int
    red_flags_to_delete: int
    newcomer_rep: int
    newcomer_question_interval_min: int
    question_limit_per_day: int
    question_limit_per_30_days: int
    priv_upvote: int
    priv_downvote: int
    priv_comment_everywhere: int
    priv_close_vote: int
    priv_review: int
    ask_multiplier: float = 1.0
    newcomer_ask_multiplier: float = 1.0
    spam_detector: bool = True
    spam_detector_flags: int = 3
    moderator_strike_share: float = 0.0
    curator_strike_share: float = 0.0
    strike_urgent_share: float = 0.0
    staff_flag_minutes_per_day: float = 0.0
    staging_ground: bool = False
    staging_hours: float = 24.0
    staging_improvement: float = 0.2
    staging_rejects_close_worthy: float = 0.6
    ai_answer_ban: bool = False
    ai_ban_suspend_days: float = 7.0
    civility_nudge: bool = False
    civility_nudge_withdraw: float = 0.6
    code_of_conduct_effect: float = 0.0
    clear_close_notices: bool = False
    close_notice_churn_relief: float = 0.5
    owner_edit_prob: float = 0.0
    free_votes_for_new_users: bool = False

    @classmethod
    def from_settings(cls, s: Settings) -> Policy:
        r = s.rules
        return cls(
            close_vote_threshold=r.close_vote_threshold, reopen_vote_threshold=r.reopen_vote_threshold,
            red_flags_to_hide=r.red_flags_to_hide,
            red_flags_to_delete=r.red_flags_to_delete, newcomer_rep=r.newcomer_rep,
            newcomer_question_interval_min=r.newcomer_question_interval_min,
            question_limit_per_day=r.question_limit_per_day, question_limit_per_30_days=r.question_limit_per_30_days,
            priv_upvote=r.priv_upvote,
            priv_downvote=r.priv_downvote, priv_comment_everywhere=r.priv_comment_everywhere,
            priv_close_vote=r.priv_close_vote, priv_review=r.priv_review,
            spam_detector=s.moderation.spam_detector.enabled,
            spam_detector_flags=s.moderation.spam_detector.flags_cast,
            owner_edit_prob=s.population.closed_question_edit_prob,
        )
