"""The simulated Q&A site: the Mesa model that owns the clock, the user arrays and the content store."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import mesa
import numpy as np
from mesa.agentset import AgentSet

from agents import burnout
from agents.bad_actors import FAMILIES, BadActor
from agents.community import Community
from agents.moderator import Moderator
from agents.staff import Staff
from sim import close_votes, posting, retention, store
from sim.arrivals import Arrivals
from sim.auto_suspensions import AutoSuspensions
from sim.clock import DAYS_PER_WEEK, MINUTES_PER_DAY, Clock
from sim.config import Settings
from sim.detectors import AIAnswerDetector, CivilityClassifier, QuestionBan, SerialVotingScript, SpamDetector
from sim.edits import Edits
from sim.flag_queue import FlagQueue
from sim.metrics import DailyRecorder
from sim.policy import Policy
from sim.population import Kind, Users, WeightedPool
from sim.registrations import Registrations
from sim.review_queues import ReviewQueues
from sim.roomba import Roomba
from sim.store import NONE, Action, PostType, StaffCase, State, Tone
from sim.streams import Streams
from sim.supply import Supply
from sim.traffic import Traffic

if TYPE_CHECKING:
    from scenarios.lever import Lever

logging.getLogger("MESA").setLevel(logging.WARNING)


class Site(mesa.Model):
    """A Stack Overflow-like site.

    One :meth:`step` is one tick (an hour by default). Ordinary members act through the
    vectorised :class:`~agents.community.Community` (a columnar agent set over the user arrays);
    moderators, staff and bad actors are individual Mesa agents, registered with the model and
    found through its agent sets (:attr:`moderators`, :attr:`bad_actors`), stepped in the order
    they joined. Every random draw comes from a named stream of :attr:`streams`.

    Attributes:
        settings: The validated configuration.
        clock: Simulated time (minute timestamps).
        users: Per-account state arrays.
        posts, comments, votes, flags_table, actions, detections, edits_table, review_tasks,
            review_results: The content store.
        policy: Lever-controlled rules in force now.
        supply: What there is to answer and vote on, and the chance a member's visit acts on it.
        flags: The flag queue; review: the review queues; edits: edits and rollbacks;
            traffic: views and exposure.
        recorder: Daily metrics.
    """

    def __init__(self, settings: Settings, levers: Sequence[Lever] = ()) -> None:
        """Build the site of ``settings`` with ``levers`` attached (the scenario's, built by the
        application layer: ``preflight.run.build_site``); no levers is the baseline."""
        self.streams = Streams(settings.seed)
        super().__init__(rng=self.streams["mesa"])
        self.settings = settings
        p = settings.population
        self.clock = Clock(settings.run.tick_minutes, p.diurnal_amplitude, p.weekend_factor, p.activity_peak_hour)
        self.policy = Policy.from_settings(settings)
        self.users = Users(settings, self.streams["population"])
        population = self.users.registered  # the initial members' rates, for their clocks
        users = self.users
        live = users.active[: users.n] & (users.kind[: users.n] == Kind.MEMBER)
        self._reserve_content_store(population, live)
        self._start_bookkeeping()
        self._build_defences()
        self._add_agents()
        self.levers = list(levers)
        self.supply = Supply(p.supply, self.clock.tick_minutes, settings.scenario.launch_day)
        self.arrivals = Arrivals(users, self.clock, settings.seed, self.supply.visit_factor)
        members = np.flatnonzero(live)
        self.arrivals.add(members, {name: rates[members] for name, rates in population.items()})
        self.registrations = Registrations(self)
        self.members = members  # active members (pruned daily, extended by registrations)
        self.roomba = Roomba(self)
        self.recorder = DailyRecorder(self)
        self.total_ticks = int(math.ceil(settings.run.days * MINUTES_PER_DAY / self.clock.tick_minutes))
        self._rebuild_pools()

    #: Tables are reserved for runs of up to this many days (longer runs grow them as needed) ...
    RESERVE_MAX_DAYS = 400
    #: ... with this margin over the initial members' expected activity, plus a few spare days.
    RESERVE_MARGIN, RESERVE_SPARE_DAYS = 1.3, 2
    #: Spare rows of every table (a small site's first days; the rates are expectations).
    RESERVE_SPARE_ROWS = 4096

    def _reserve_content_store(self, population: dict[str, np.ndarray], live: np.ndarray) -> None:
        """The content store's tables, with room for the whole run from the initial members' rates:
        reserved rows are untouched memory until used, and tables that never regrow never copy."""
        settings, users, spare = self.settings, self.users, self.RESERVE_SPARE_ROWS
        days = min(settings.run.days, self.RESERVE_MAX_DAYS) * self.RESERVE_MARGIN + self.RESERVE_SPARE_DAYS

        def per_day(rate: str) -> float:
            values = population[rate] if rate in population else getattr(users, rate)[: users.n]
            return float(values[live].sum())

        asks = per_day("ask_rate") + settings.site.registrations_per_day * settings.population.newcomer_asker_share
        self.posts = store.posts_table(int((asks + per_day("answer_rate")) * days) + spare)
        self.comments = store.comments_table(int(per_day("comment_rate") * days) + spare)
        self.votes = store.votes_table(int(per_day("vote_rate") * days * 1.1) + spare)  # (+ close votes)
        self.flags_table = store.flags_table(int(self.posts._cap * 0.2) + spare)
        self.actions = store.actions_table(spare)
        self.detections = store.detections_table(spare)
        self.restorations = store.restorations_table(1024)
        self.review_tasks = store.review_tasks_table(spare)
        self.review_results = store.review_results_table(spare)
        self.edits_table = store.edits_table(spare)
        self.staff_cases = store.staff_cases_table(1024)

    def _start_bookkeeping(self) -> None:
        """The run's counters and the live lists the mechanics keep up to date."""
        self.counters: Counter[str] = Counter()
        self.actor_of: dict[int, BadActor] = {}  # account -> the bad actor operating it
        self.harm_posts_live = np.zeros(0, dtype=np.int64)
        self.flaggable_comments = np.zeros(0, dtype=np.int64)
        self._day_first_post: list[int] = []
        self._day_first_vote: list[int] = []
        self._new_posts: list[np.ndarray] = []
        self._new_comments: list[np.ndarray] = []
        self.removed_today: list[np.ndarray] = []  # posts hidden or deleted today (read by the recorder)
        self.global_activity = 1.0

    def _build_defences(self) -> None:
        """Traffic, the flag and review queues, and the automated defenders."""
        m = self.settings.moderation
        self.traffic = Traffic(self)
        self.flags = FlagQueue(self)
        self.edits = Edits(self)
        self.review = ReviewQueues(self)
        self.spam_detector = SpamDetector(self, m.spam_detector)
        self.ai_detector = AIAnswerDetector(self, m.ai_detector)
        self.civility = CivilityClassifier(self, m.civility_classifier)
        self.serial_voting = SerialVotingScript(self, m.serial_voting)
        self.question_ban = QuestionBan(self, m.question_ban)
        self.auto_suspensions = AutoSuspensions(self, m.auto_suspension)

    def _add_agents(self) -> None:
        """The Mesa agents: the community, staff, the elected moderators, each family's bad actors."""
        self.community = Community(self)
        self.staff = Staff(self)
        self._no_agents = AgentSet([], random=self.random)
        self._bad_actors, self._bad_actors_of = self._no_agents, 0  # (agents are never removed)
        self.add_moderators(self.settings.moderation.moderators.count)
        for family, cls in FAMILIES.items():
            self.add_bad_actors(cls, getattr(self.settings.bad_actors, family).count)

    # -- population changes -------------------------------------------------------------------
    @property
    def moderators(self) -> AgentSet:
        """Every moderator elected so far, in order of election (Mesa's agent set of the type;
        those who resigned stay in it, out of service)."""
        return self.agents_by_type.get(Moderator, self._no_agents)

    def serving_moderators(self) -> AgentSet:
        """The moderators who have not resigned."""
        return self.moderators.select(lambda m: not m.resigned)

    @property
    def bad_actors(self) -> AgentSet:
        """Every bad actor, all families, in order of arrival (selected from the model's agents by
        type, again whenever agents have joined since the last selection)."""
        if self._bad_actors_of != len(self.agents):
            self._bad_actors = self.agents.select(agent_type=BadActor)
            self._bad_actors_of = len(self.agents)
        return self._bad_actors

    def add_moderators(self, n: int) -> None:
        """Elect ``n`` more moderators, spread over the user timezones."""
        tzs = self.users.tz(slice(0, self.users.n))
        rng = self.streams["elections"]
        for _ in range(int(n)):
            tz = float(tzs[rng.integers(tzs.size)]) if tzs.size else 0.0
            Moderator(self, len(self.moderators), tz)  # (a Mesa agent registers with its model)

    def add_bad_actors(self, cls: type[BadActor], n: int, cfg=None) -> None:
        """Add ``n`` bad actors of a family (used at start and by influx levers)."""
        cfg = cfg or getattr(self.settings.bad_actors, cls.family)
        start = len(self.agents_by_type.get(cls, ()))
        for i in range(int(n)):
            cls(self, cfg, start + i)

    # -- indices into the time-ordered tables ---------------------------------------------------
    def post_id_at_day(self, day: int) -> int:
        """First post id created on or after ``day`` (0 before the run)."""
        if day <= 0 or not self._day_first_post:
            return 0
        return self._day_first_post[day] if day < len(self._day_first_post) else self.posts.n

    def hot_start(self) -> int:
        """First post of the hot window (posts young enough to draw most traffic)."""
        return self.post_id_at_day(self.clock.day - int(math.ceil(self.settings.population.hot_days)))

    # -- hooks the mechanics call -------------------------------------------------------------
    def on_posts_created(self, ids: np.ndarray) -> None:
        """New posts: harmful ones join the live list, first posts go to review (first questions
        to the staging ground while it runs), all await the detectors' scan."""
        posts = self.posts
        harmful = ids[posts.harm[ids] > 0]
        if harmful.size:
            self.harm_posts_live = np.concatenate([self.harm_posts_live, harmful])
        first = ids[posts.newcomer[ids] | (self.users.first_post[posts.owner[ids]] == ids)]
        if self.policy.staging_ground:
            staged = first[posts.kind[first] == PostType.QUESTION]
            posts.staged[staged] = True  # in the staging ground until reviewed or its wait runs out
            self.review.staging.add(staged, self.clock.minute)
            first = first[posts.kind[first] != PostType.QUESTION]
        self.review.add_new_posts(first, ids, self.clock.minute)
        self._new_posts.append(ids)

    def on_comments_created(self, ids: np.ndarray) -> None:
        """New comments: unwelcoming ones can be flagged, all await the civility classifier's scan."""
        bad = ids[self.comments.tone[ids] >= Tone.UNWELCOMING]
        if bad.size:
            self.flaggable_comments = np.concatenate([self.flaggable_comments, bad])
        self._new_comments.append(ids)

    def civility_gate(self, authors: np.ndarray, tone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Comments about to be posted pass the civility nudge: ``(tone, keep)``."""
        return self.civility.gate(authors, tone)

    def notify_actor(self, user: int, action: Action) -> None:
        """Tell the bad actor operating ``user`` (if any) that a defence acted on the account."""
        actor = self.actor_of.get(int(user))
        if actor is not None:
            actor.on_sanction(action)

    def maybe_appeal(self, action_id: int, user: int) -> None:
        """A member wrongly sanctioned may appeal to staff."""
        if self.users.kind[user] == Kind.MEMBER and self.streams["appeals"].random() < self.settings.population.appeal_prob:
            self.staff.open_case(StaffCase.APPEAL, action=action_id, user=user)

    def escalate(self, kind: StaffCase, user: int, **cause: int) -> None:
        """Open a staff case about ``user`` (naming its cause: a flag or a detection)."""
        self.counters["escalations"] += 1
        self.staff.open_case(kind, user=user, **cause)

    def striking_curators(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` are curators on strike now: members with the close-vote privilege whose
        standing draw falls in the striking share (no one outside a strike)."""
        ids = np.asarray(ids, dtype=np.int64)
        share = self.policy.curator_strike_share
        if share <= 0 or ids.size == 0:
            return np.zeros(ids.size, dtype=bool)
        out = self.users.reputation[np.maximum(ids, 0)] >= self.policy.priv_close_vote
        out &= ids >= 0
        out[out] = self.arrivals.member_uniform(ids[out], "curator_strike") < share
        return out

    def active_members(self) -> np.ndarray:
        """Members who are active now (destroyed accounts excluded)."""
        members, users = self.members, self.users
        return members[users.active[members] & ~users.destroyed[members]]

    def platform_events(self) -> int:
        """Simulated platform events so far: posts, comments, votes, flags, reviews, moderator and
        detector actions (views are counted separately)."""
        return int(self.posts.n + self.comments.n + self.votes.n + self.flags_table.n + self.actions.n
                   + self.detections.n + self.counters["mod_decisions"]
                   + self.review_results.n + self.edits_table.n)

    # -- the tick ------------------------------------------------------------------------------
    def _rebuild_pools(self) -> None:
        """Daily: who may flag, vote to close and review today (by reputation), drawn by their rates;
        the timezone groups' weights in the site-wide activity level."""
        users, rules, pol, p = self.users, self.settings.rules, self.policy, self.settings.population
        ids = self.active_members()
        rep = users.reputation[ids]
        flag_rate, vote_rate = users.flag_rate[ids], users.vote_rate[ids]
        flaggers = rep >= rules.priv_flag
        self.flagger_pool = WeightedPool(ids[flaggers], flag_rate[flaggers] + vote_rate[flaggers] * p.flagger_vote_weight)
        closers = rep >= pol.priv_close_vote
        self.closer_pool = WeightedPool(ids[closers], vote_rate[closers] + flag_rate[closers])
        self.review.refresh_reviewers(ids, rep, flag_rate + p.reviewer_base_weight)
        votes = self.arrivals.totals["vote"]
        self._tz_weights = votes / max(votes.sum(), 1e-12)

    def _start_day(self) -> None:
        """The day's lifecycle before its first tick: registrations, fresh allowances, the members'
        planned actions, today's pools."""
        day = self.clock.day
        while len(self._day_first_post) <= day:
            self._day_first_post.append(self.posts.n)
            self._day_first_vote.append(self.votes.n)
        self.registrations.start_day()
        self.users.start_day()
        posting.start_day(self)
        self.review.new_day()
        self.arrivals.plan_day()
        self._rebuild_pools()

    def step(self) -> None:
        """Advance one tick."""
        clock = self.clock
        if clock.is_day_start:
            self._start_day()
        for lever in self.levers:
            lever.maybe_launch(self)
        act = clock.activity(self.arrivals.tz_values)
        self.global_activity = float(np.dot(act, self._tz_weights)) if act.size else 1.0
        self.traffic.step()
        self.community.step()
        self.bad_actors.do("step")
        self._scan_new_content()
        close_votes.dupe_hammer(self)
        self.edits.step()
        self.review.step()
        self.moderators.do("step")
        self.staff.step()
        self.counters["backlog_tick_sum"] += self.flags.backlog
        self.counters["ticks"] += 1
        if clock.is_day_end:
            self._end_day()
        clock.advance()

    def _scan_new_content(self) -> None:
        """The automated defenders scan what was posted this tick."""
        if self._new_posts:
            ids = np.concatenate(self._new_posts)
            self._new_posts = []
            self.spam_detector.scan(ids)
            self.ai_detector.scan(ids)
        if self._new_comments:
            ids = np.concatenate(self._new_comments)
            self._new_comments = []
            self.civility.scan(ids)

    def _end_day(self) -> None:
        """The day's lifecycle after its last tick: nightly scripts, close-vote aging, the roomba,
        churn, burnout, the day's metrics, then fresh daily tallies."""
        day = self.clock.day
        self.serial_voting.run_daily(self._day_first_vote[day])
        self.auto_suspensions.run_daily()
        if day % DAYS_PER_WEEK == DAYS_PER_WEEK - 1:
            self.question_ban.run_daily()  # the question-ban algorithm re-evaluates accounts weekly
        close_votes.age_votes(self)
        self.roomba.run_daily()
        retention.unanswered_first_questions(self)
        retention.daily_churn(self)
        burnout.end_day(self)
        self.recorder.record_day()
        self.removed_today = []
        self.moderators.do("new_day")
        self.traffic.reset_day()
        self._prune_live_lists()

    def _prune_live_lists(self) -> None:
        """Drop removed items from the live lists (and unwelcoming comments past their flaggable days)."""
        hp = self.harm_posts_live
        self.harm_posts_live = hp[self.posts.state[hp] < State.DELETED]
        fc = self.flaggable_comments
        young = self.comments.created[fc] > self.clock.minute - self.settings.population.comment_flaggable_days * MINUTES_PER_DAY
        self.flaggable_comments = fc[(self.comments.removed_at[fc] == NONE) & (young | (self.comments.harm[fc] > 0))]

    def run(self, progress=None) -> None:
        """Run all ticks of ``run.days``; ``progress(done, total)`` is called once per day."""
        for tick in range(self.total_ticks):
            self.step()
            if progress is not None and self.clock.minute % MINUTES_PER_DAY == 0:
                progress(tick + 1, self.total_ticks)

