"""The built-in levers. Each is one small class naming the real policy it models."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from scenarios.lever import Lever, Param, lever
from sim.clock import DAYS_PER_WEEK, HOURS_PER_DAY, MINUTES_PER_DAY

if TYPE_CHECKING:
    from agents.model import Site


@lever
class CloseVoteThreshold(Lever):
    """Close votes needed to close a question, and reopen votes to reopen one (Stack Overflow moved
    both from 5 to 3 in 2019)."""

    name = "close_vote_threshold"
    summary = "Number of close (and reopen) votes that closes (reopens) a question."
    params = {"threshold": Param(int, 3, 1, 50, "close votes (and reopen votes) needed")}

    def launch(self, site: Site) -> None:
        site.policy.close_vote_threshold = self.threshold
        site.policy.reopen_vote_threshold = self.threshold


@lever
class RedFlagThreshold(Lever):
    """Spam/rude flags that hide and delete a post (6 delete on Stack Exchange)."""

    name = "red_flag_threshold"
    summary = "Spam/rude flags needed to hide and to delete a post."
    params = {"hide": Param(int, 3, 1, 100, "spam/rude flags that hide a post (capped at delete)"),
              "delete": Param(int, 6, 1, 100, "spam/rude flags that delete a post (-100 rep to its author)")}

    def launch(self, site: Site) -> None:
        site.policy.red_flags_to_hide = min(self.hide, self.delete)
        site.policy.red_flags_to_delete = self.delete


@lever
class SpamAutoflag(Lever):
    """The SmokeDetector-like bot's automatic flags (on by default; switch off to see its value)."""

    name = "spam_autoflag"
    summary = "Whether the spam detector runs and how many flags it casts."
    params = {"enabled": Param(bool, True, doc="whether the spam detector runs"),
              "flags_cast": Param(int, 3, 0, 100, "automatic spam flags it casts on a detected post")}

    def launch(self, site: Site) -> None:
        site.policy.spam_detector = self.enabled
        site.policy.spam_detector_flags = self.flags_cast


@lever
class NewcomerRateLimit(Lever):
    """Stricter question rate limit below a reputation level (SO: 90 minutes below 125 rep)."""

    name = "newcomer_rate_limit"
    summary = "Minimum minutes between questions for low-reputation users."
    params = {"interval_min": Param(int, 90, 0, 100_000, "minutes a low-reputation user waits between questions"),
              "below_rep": Param(int, 125, 1, 1_000_000, "reputation below which the limit applies")}

    def launch(self, site: Site) -> None:
        site.policy.newcomer_question_interval_min = self.interval_min
        site.policy.newcomer_rep = self.below_rep


@lever
class StagingGround(Lever):
    """Stack Overflow's Staging Ground (2023-24): first questions reviewed by >=500-rep users
    before going public; reviewers help fix unclear questions and point out duplicates."""

    name = "staging_ground"
    summary = "First questions wait for review by experienced users before going public."
    params = {"max_wait_hours": Param(float, 24.0, 0.1, HOURS_PER_DAY * 30, "hours a question waits before it goes public unreviewed"),
              "improvement": Param(float, 0.25, 0, 1, "quality a fixed question gains (quality runs 0-1)"),
              "fix_share": Param(float, 0.7, 0, 1, "share of unclear (close-worthy) questions reviewers help fix"),
              "reviewer_rep": Param(int, 500, 1, 1_000_000, "reputation needed to review")}

    def launch(self, site: Site) -> None:
        pol = site.policy
        pol.staging_ground = True
        pol.staging_hours = self.max_wait_hours
        pol.staging_improvement = self.improvement
        pol.staging_rejects_close_worthy = self.fix_share
        pol.priv_review = self.reviewer_rep
        site.review.staging.min_rep = self.reviewer_rep
        site.review.refresh_reviewers()


@lever
class AIAnswerBan(Lever):
    """The December 2022 ban on AI-generated answers, enforced through a detector with a given
    precision and recall: detected answers are removed and their authors suspended."""

    name = "ai_answer_ban"
    summary = "Remove detected AI answers and suspend their authors."
    params = {"precision": Param(float, 0.95, 0.01, 1.0, "share of the detector's hits that are AI answers"),
              "recall": Param(float, 0.7, 0, 1, "share of AI answers the detector catches"),
              "suspend_days": Param(float, 7.0, 0, 3650, "days a detected author is suspended")}

    def launch(self, site: Site) -> None:
        site.policy.ai_answer_ban = True
        site.policy.ai_ban_suspend_days = self.suspend_days
        site.ai_detector.precision = self.precision
        site.ai_detector.recall = self.recall


@lever
class AIAnswerInflux(Lever):
    """A wave of accounts posting machine-generated answers (as after ChatGPT's release)."""

    name = "ai_answer_influx"
    summary = "Add AI-answer farmers at launch."
    params = {"farmers": Param(int, 10, 0, 100_000, "AI-answer accounts added at launch"),
              "answers_per_day": Param(float, 15.0, 0, 10_000, "answers each of them posts a day"),
              "correctness": Param(float, 0.45, 0, 1, "share of their answers that are correct")}

    def launch(self, site: Site) -> None:
        from agents.bad_actors import AIFarmer

        cfg = replace(site.settings.bad_actors.ai_farmers, rate_per_day=self.answers_per_day,
                      correctness=self.correctness)
        self.add_bad_actors(site, AIFarmer, self.farmers, cfg)


@lever
class AskersGoElsewhere(Lever):
    """A share of would-be askers get their answer elsewhere (e.g. from a chatbot) and do not ask;
    ramped, the share grows as the substitute is adopted (chatgpt_substitute, docs/scenarios.md)."""

    name = "askers_go_elsewhere"
    summary = "Reduce the question rate by a share of askers."
    params = {"share": Param(float, 0.3, 0, 1, "share of members' questions no longer asked"),
              "newcomer_share": Param(float, 0.4, 0, 1, "share of newcomers' first questions no longer asked")}

    def launch(self, site: Site) -> None:
        site.policy.ask_multiplier = 1.0 - self.share
        site.policy.newcomer_ask_multiplier = 1.0 - self.newcomer_share


@lever
class ModeratorStrike(Lever):
    """Moderators (and optionally curators: reviewers and close voters) stop work for some weeks,
    as in the 2023 Stack Exchange moderation strike. A strike need not be all-or-nothing: a share of
    the moderators and of the curators stops, some striking moderators keep handling the most
    urgent flags, and staff may take part of the flag queue's overflow."""

    name = "moderator_strike"
    summary = "Moderators (and curators) stop for N weeks, in part or in full."
    ramps = False  # a strike is a switch (on for its weeks)
    params = {"weeks": Param(float, 6.0, 0, 520, "length of the strike"),
              "curators": Param(bool, True, doc="whether reviewers and close voters strike too"),
              "share": Param(float, 1.0, 0, 1, "share of the moderators who strike"),
              "curator_share": Param(float, 1.0, 0, 1, "share of the curators who strike (with curators: true)"),
              "urgent_share": Param(float, 0.0, 0, 1, "share of striking moderators who still handle urgent flags"),
              "staff_cover": Param(float, 0.0, 0, 1, "share of the striking moderators' usual minutes that "
                                   "staff spend on the flag queue during the strike")}

    def __init__(self, launch_minute: int, values: dict) -> None:
        super().__init__(launch_minute, values)
        self.ended = False

    def launch(self, site: Site) -> None:
        pol = site.policy
        pol.moderator_strike_share = self.share
        pol.curator_strike_share = self.curator_share if self.curators else 0.0
        pol.strike_urgent_share = self.urgent_share
        striking = site.serving_moderators().select(lambda m: m.striking())
        pol.staff_flag_minutes_per_day = self.staff_cover * striking.agg("minutes_per_day", sum)

    def follow_up(self, site: Site) -> None:
        if self.ended or site.clock.minute < self.launch_minute + self.weeks * DAYS_PER_WEEK * MINUTES_PER_DAY:
            return
        self.ended = True
        pol = site.policy
        pol.moderator_strike_share = pol.curator_strike_share = pol.strike_urgent_share = 0.0
        pol.staff_flag_minutes_per_day = 0.0


@lever
class CommentCivility(Lever):
    """The 2018-19 welcoming push: a code of conduct, an unfriendly-comment flag and a classifier
    that nudges authors of unfriendly comments before they post."""

    name = "comment_civility"
    summary = "Code of conduct plus a classifier nudging authors of unfriendly comments."
    params = {"code_of_conduct_effect": Param(float, 0.15, 0, 1, "share by which unwelcoming comments become rarer"),
              "nudge_withdraw": Param(float, 0.6, 0, 1, "share of nudged authors who withdraw the comment"),
              "recall": Param(float, 0.6, 0, 1, "share of unfriendly comments the classifier nudges"),
              "precision": Param(float, 0.7, 0.01, 1, "share of nudged comments that are unfriendly")}

    def launch(self, site: Site) -> None:
        site.policy.civility_nudge = True
        site.policy.code_of_conduct_effect = self.code_of_conduct_effect
        site.policy.civility_nudge_withdraw = self.nudge_withdraw
        site.civility.recall = self.recall
        site.civility.precision = self.precision


@lever
class ClearCloseNotices(Lever):
    """Closed questions get a clear notice of why and how to fix them (SO's 2019-20 close-reason
    overhaul): fewer closed newcomers leave, more askers edit their closed question, and an edit
    soon after closure sends it to the reopen queue."""

    name = "clear_close_notices"
    summary = "Closed questions' askers are told clearly why and how to fix them."
    params = {"churn_relief": Param(float, 0.5, 0, 1, "factor on a closed newcomer's extra chance to leave"),
              "edit_prob": Param(float, 0.4, 0, 1, "chance an asker edits their closed question")}

    def launch(self, site: Site) -> None:
        site.policy.clear_close_notices = True
        site.policy.close_notice_churn_relief = self.churn_relief
        site.policy.owner_edit_prob = self.edit_prob


@lever
class FreeVotesForNewUsers(Lever):
    """Users below the upvote privilege may upvote; their votes carry no reputation."""

    name = "free_votes_for_new_users"
    summary = "Low-reputation users may upvote, without reputation effect."
    params = {}
    ramps = False  # a switch

    def launch(self, site: Site) -> None:
        site.policy.free_votes_for_new_users = True


@lever
class MoreModerators(Lever):
    """An election adds moderator seats."""

    name = "more_moderators"
    summary = "Elect additional moderators."
    params = {"seats": Param(int, 5, 0, 10_000, "moderators added at launch")}

    def launch(self, site: Site) -> None:
        self.add_moderators(site, self.seats)
