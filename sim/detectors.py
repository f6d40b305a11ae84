"""Automated defenders, each with configured precision and recall and a cost to innocent users.

- :class:`SpamDetector` (SmokeDetector-like): scans new posts, casts automatic spam flags.
- :class:`AIAnswerDetector`: under an AI-answer ban, removes detected AI answers and suspends authors.
- :class:`CivilityClassifier`: scores new comments; flags unfriendly ones, or nudges their authors.
- :class:`SerialVotingScript`: nightly reversal of serial voting between one voter and one author.
- :class:`QuestionBan`: the automatic question ban for accounts whose questions are poorly received.

Precision is made to hold in expectation: false positives are drawn among innocent items at the
rate that, with the detector's recall and the true base rate seen so far, gives that precision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import removal, sanctions, voting
from sim.config import DetectorConfig
from sim.population import Kind
from sim.store import (
    NONE,
    Action,
    Cause,
    FlagKind,
    Harm,
    PostType,
    Source,
    StaffCase,
    State,
    Target,
    Tone,
    VoteType,
)

if TYPE_CHECKING:
    from agents.model import Site


class Detector:
    """Shared precision/recall machinery.

    Attributes:
        cfg: The detector's configuration.
        seen_bad: Truly bad items scanned so far.
        seen: Items scanned so far.
    """

    source: Source = Source.SPAM_DETECTOR
    stream: str = "detector"

    def __init__(self, site: Site, cfg: DetectorConfig) -> None:
        self.site = site
        self.cfg = cfg
        self.seen_bad = 0
        self.seen = 0
        self.precision = cfg.precision
        self.recall = cfg.recall

    def classify(self, bad: np.ndarray) -> np.ndarray:
        """Which items the detector fires on, given their ground truth."""
        rng = self.site.streams[self.stream]
        self.seen += bad.size
        self.seen_bad += int(bad.sum())
        u = rng.random(bad.size)
        base = (self.seen_bad + 1) / (self.seen + 2)
        fp = min(1.0, self.recall * base * (1 - self.precision) / max(self.precision, 1e-9) / max(1 - base, 1e-9))
        return np.where(bad, u < self.recall, u < fp)

    def record(self, target: int, items: np.ndarray, users: np.ndarray, truth: np.ndarray, times: np.ndarray) -> np.ndarray:
        return self.site.detections.append(items.size, created=times, source=int(self.source), target=int(target),
                                           item=items, user=users, truth_bad=truth)


class SpamDetector(Detector):
    """A SmokeDetector-like bot: scans every new post within minutes and casts spam flags."""

    source = Source.SPAM_DETECTOR
    stream = "spam_detector"

    def scan(self, ids: np.ndarray) -> None:
        site = self.site
        if ids.size == 0 or not site.policy.spam_detector:
            return
        posts = site.posts
        bad = posts.harm[ids] == Harm.SPAM
        hit = self.classify(bad)
        ids, bad = ids[hit], bad[hit]
        if ids.size == 0:
            return
        times = posts.created[ids] + int(self.cfg.delay_min)
        self.record(Target.POST, ids, posts.owner[ids], bad, times)
        site.flags.raise_bot_flags(Target.POST, ids, Source.SPAM_DETECTOR, FlagKind.SPAM, times,
                                   copies=site.policy.spam_detector_flags)


class AIAnswerDetector(Detector):
    """Detects machine-generated answers; acts only while an AI-answer ban is in force."""

    source = Source.AI_DETECTOR
    stream = "ai_detector"

    def scan(self, ids: np.ndarray) -> None:
        site = self.site
        if ids.size == 0 or not site.policy.ai_answer_ban:
            return
        posts = site.posts
        ids = ids[posts.kind[ids] == PostType.ANSWER]
        bad = posts.ai[ids]
        hit = self.classify(bad)
        ids, bad = ids[hit], bad[hit]
        if ids.size == 0:
            return
        times = posts.created[ids] + int(self.cfg.delay_min)
        det = self.record(Target.POST, ids, posts.owner[ids], bad, times)
        removal.remove_posts(site, ids, Cause.AI_DETECTOR, times, delete=True)
        for pid, did, truth in zip(ids.tolist(), det.tolist(), bad.tolist(), strict=True):
            user = int(posts.owner[pid])
            if site.users.suspended_until[user] <= site.clock.minute:
                sanctions.suspend(site, user, NONE, Source.AI_DETECTOR, cause_detection=did,
                                  days=site.policy.ai_ban_suspend_days, wrongful=not truth)


class CivilityClassifier(Detector):
    """Scores comments for unfriendliness: flags them for moderators or, with the nudge, asks the
    author to reconsider before posting (some then withdraw)."""

    source = Source.CIVILITY_CLASSIFIER
    stream = "civility"

    def gate(self, authors: np.ndarray, tone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Before posting: returns (tone, keep). Nudged authors may rewrite or withdraw."""
        site = self.site
        keep = np.ones(tone.size, dtype=bool)
        if not site.policy.civility_nudge or not self.cfg.enabled or tone.size == 0:
            return tone, keep
        rng = site.streams["civility_nudge"]
        bad = tone >= Tone.UNWELCOMING
        nudged = np.where(bad, rng.random(tone.size) < self.recall, rng.random(tone.size) < self._fp_rate())
        withdraw = nudged & (rng.random(tone.size) < site.policy.civility_nudge_withdraw)
        return tone, ~withdraw

    def _fp_rate(self) -> float:
        """The nudge's false-positive rate that gives its precision at the assumed base rate of
        unfriendly comments (the nudge acts before posting: no base rate is observed)."""
        base = self.site.settings.moderation.civility_nudge_base_rate
        return min(1.0, self.recall * base * (1 - self.precision) / self.precision / (1 - base))

    def scan(self, ids: np.ndarray) -> None:
        site = self.site
        if ids.size == 0 or not self.cfg.enabled:
            return
        comments = site.comments
        bad = comments.tone[ids] >= Tone.UNWELCOMING
        hit = self.classify(bad)
        ids, bad = ids[hit], bad[hit]
        if ids.size == 0:
            return
        times = comments.created[ids] + int(self.cfg.delay_min)
        self.record(Target.COMMENT, ids, comments.author[ids], bad, times)
        if self.cfg.flags_cast > 0:
            site.flags.raise_bot_flags(Target.COMMENT, ids, Source.CIVILITY_CLASSIFIER, FlagKind.COMMENT_UNFRIENDLY,
                                       times, copies=self.cfg.flags_cast)


class SerialVotingScript(Detector):
    """Nightly: reverses votes from one voter to one author beyond a daily threshold."""

    source = Source.SERIAL_VOTING
    stream = "serial_voting"

    def run_daily(self, first_vote: int) -> None:
        site = self.site
        if not self.cfg.enabled:
            return
        votes = site.votes
        ids = np.arange(first_vote, votes.n)
        vt = votes.vote_type[ids]
        ids = ids[((vt == VoteType.UP) | (vt == VoteType.DOWN)) & ~votes.reversed[ids]]
        if ids.size == 0:
            return
        pair = votes.voter[ids].astype(np.int64) * (1 << 32) + site.posts.owner[votes.post[ids]]
        uniq, inv, counts = np.unique(pair, return_inverse=True, return_counts=True)
        over = counts >= self.cfg.threshold
        if not over.any():
            return
        fraud_pair = np.zeros(uniq.size, dtype=bool)
        np.logical_or.at(fraud_pair, inv, votes.fraud[ids])
        cand = np.flatnonzero(over)
        hit = cand[self.classify(fraud_pair[cand])]
        if hit.size == 0:
            return
        now = site.clock.tick_end - 1
        voters = (uniq[hit] >> 32).astype(np.int64)
        authors = (uniq[hit] & 0xFFFFFFFF).astype(np.int64)
        det = self.record(Target.USER, authors, voters, fraud_pair[hit], np.full(hit.size, now))
        for h, did, truth, voter in zip(hit.tolist(), det.tolist(), fraud_pair[hit].tolist(), voters.tolist(), strict=True):
            vids = ids[inv == h]
            voting.reverse_votes(site, vids)
            site.actions.append(1, created=now, actor=NONE, source=int(Source.SERIAL_VOTING), action=int(Action.REVERSE_VOTES),
                                user=voter, target=int(Target.USER), item=NONE, cause_detection=did,
                                wrongful=not truth, group=int(site.users.region[voter]))
            site.notify_actor(voter, Action.REVERSE_VOTES)
            site.auto_suspensions.on_votes_reversed(voter, now, truth)
            if truth:
                site.escalate(StaffCase.VOTING_FRAUD, user=voter, cause_detection=did)


class QuestionBan(Detector):
    """Nightly: blocks asking for accounts whose recent questions were mostly closed, deleted or
    downvoted (the question-ban algorithm)."""

    source = Source.QUESTION_BAN
    stream = "question_ban"

    def run_daily(self) -> None:
        site = self.site
        if not self.cfg.enabled:
            return
        posts, users = site.posts, site.users
        m = site.settings.moderation
        lo = site.post_id_at_day(site.clock.day - m.question_ban_lookback_days)
        sl = slice(lo, posts.n)
        q = posts.kind[sl] == PostType.QUESTION
        owner = posts.owner[sl][q].astype(np.int64)
        if owner.size == 0:
            return
        bad = ((posts.state[sl][q] != State.LIVE) | (posts.score[sl][q] < 0))
        uniq, inv = np.unique(owner, return_inverse=True)
        n_q = np.bincount(inv)
        n_bad = np.bincount(inv, weights=bad)
        ban = (n_q >= m.question_ban_min_questions) & (n_bad / n_q >= self.cfg.threshold)
        ban &= ~users.question_banned[uniq]
        now = site.clock.tick_end - 1
        for user in uniq[ban].tolist():
            # deserved: a bad actor's account, or a member whose questions are poor on average
            truth = bool(users.kind[user] != Kind.MEMBER or users.quality[user] < m.question_ban_deserved_quality)
            det = self.record(Target.USER, np.array([user]), np.array([user]), np.array([truth]), np.array([now]))
            sanctions.question_ban(site, user, int(det[0]), wrongful=not truth)
