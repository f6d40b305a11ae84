"""Bad actors: each a Mesa agent with a tactic, a rate and an adaptation rule.

They act through the same mechanics as everybody (so limits and privileges hold for them) and
are told when a defence bites (:meth:`BadActor.on_sanction`), whereupon they slow down, switch
target or tactic, or come back on a new account (ban evasion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import posting, retention, voting
from sim.clock import MINUTES_PER_DAY
from sim.config import BadActorConfig
from sim.population import Kind
from sim.store import NONE, Action, EditKind, Harm, PostType, State, Tone

if TYPE_CHECKING:
    from agents.model import Site


class BadActor(mesa.Agent):
    """Common life cycle: accounts, rate, sanctions and evasion.

    Attributes:
        family: Config family name (``spammers`` ...).
        kind: Account kind they register as.
        rate: Current actions per day (adapts).
        account: The account in use (``NONE`` while between accounts).
        comeback_at: Minute a new account will be registered after a ban (``NONE`` if not evading).
    """

    family = "bad"
    kind = Kind.SPAMMER

    def __init__(self, model: Site, cfg: BadActorConfig, index: int) -> None:
        super().__init__(model)
        self.site = model
        self.cfg = cfg
        self.index = index
        self.draws = model.streams[f"{self.family}:{index}"]
        self.rate = cfg.rate_per_day * self.draws.lognormal(0.0, cfg.rate_spread)
        self.account = NONE
        self.comeback_at = NONE
        self.evading = False
        self.session_tick = int(self.draws.integers(0, max(1, MINUTES_PER_DAY // model.clock.tick_minutes)))
        self.wake = model.clock.minute  # the model steps the actor only from this minute on
        self.new_account()

    def new_account(self) -> int:
        site = self.site
        acct = int(site.users.add(self.draws, 1, joined=site.clock.minute, kind=self.kind, newcomer=True,
                                  ask_rate=0.0, answer_rate=0.0, comment_rate=0.0, vote_rate=0.0, flag_rate=0.0)[0])
        site.users.reputation[acct] = self.cfg.start_rep
        site.actor_of[acct] = self
        self.account = acct
        self.comeback_at = NONE
        self.next_action = site.clock.minute + self._gap()  # a fresh start on the new account
        return acct

    def can_act(self) -> bool:
        site = self.site
        if self.account == NONE:
            if self.comeback_at != NONE and site.clock.minute >= self.comeback_at:
                self.new_account()
                self._came_back()
            else:
                return False
        return self.account_ok(self.account)

    def _came_back(self) -> None:
        """On a new account: after a ban it is ban evasion, which the site may recognise."""
        if self.evading:
            self.site.counters["ban_evasions"] += 1
            self.site.auto_suspensions.on_ban_evasion(self.account)

    def account_ok(self, account: int) -> bool:
        """The account exists, is active and not suspended (``Users.can_act`` for one account)."""
        return bool(self.site.users.blocked_until[account] <= self.site.clock.minute)

    #: Actors that act in one daily session (voting fraud) rather than spread over the day.
    daily_session = False

    def _gap(self) -> float:
        """Minutes to the next action at the current rate (actions are a Poisson process)."""
        return float(self.draws.exponential(MINUTES_PER_DAY / self.rate)) if self.rate > 0 else float("inf")

    def reschedule(self) -> None:
        """After a change of rate: the next action comes after a fresh gap (the process is memoryless)."""
        self.next_action = self.site.clock.minute + self._gap()
        self._set_wake()

    def _set_wake(self) -> None:
        clock = self.site.clock
        if self.daily_session:
            session = clock.day * MINUTES_PER_DAY + self.session_tick * clock.tick_minutes
            self.wake = session if session >= clock.tick_end else session + MINUTES_PER_DAY
            if self.account == NONE and self.comeback_at != NONE:
                self.wake = min(self.wake, max(self.comeback_at, clock.tick_end))
        elif self.account == NONE:
            self.wake = self.comeback_at if self.comeback_at != NONE else float("inf")
        else:
            self.wake = self.next_action

    def actions_this_tick(self) -> int:
        clock = self.site.clock
        if self.daily_session:
            if clock.minute % MINUTES_PER_DAY // clock.tick_minutes != self.session_tick:
                return 0
            return int(self.draws.poisson(self.rate))
        n = 0
        while self.next_action < clock.tick_end:
            n += 1
            self.next_action += self._gap()
        return n

    def step(self) -> None:
        """Act if due: nothing happens before :attr:`wake` (the model steps every actor every tick)."""
        if self.wake >= self.site.clock.tick_end:
            return
        if self.can_act():
            n = self.actions_this_tick()
            if n:
                self.act(n)
        elif not self.daily_session:
            # actions that fall while the account cannot act are lost, not saved up
            while self.next_action < self.site.clock.tick_end:
                self.next_action += self._gap()
        self._set_wake()

    def act(self, n: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def on_sanction(self, action: Action) -> None:
        """A defence bit: slow down; after a ban, perhaps come back on a new account."""
        self.rate *= 1.0 - self.cfg.adapt_slowdown
        site = self.site
        # A suspension longer than ban_suspension_days is a ban: the operator gives the account up.
        # A sanction can reach an account the actor already gave up (a flag on its old content
        # handled later); between accounts there is no suspension to read: ``users[NONE]`` would be
        # the last reserved row of the user table, never written.
        banned = action == Action.DESTROY or (
            action == Action.SUSPEND and self.account != NONE
            and site.users.suspended_until[self.account] - site.clock.minute > self.cfg.ban_suspension_days * MINUTES_PER_DAY)
        if banned:
            self.leave_account()
        self.reschedule()

    def leave_account(self) -> None:
        """After a ban the operator comes back on a new account (ban evasion), or gives up and a new
        operator of the same kind takes the slot after ``replacement_days`` (so the bad-actor
        population stays stationary)."""
        self.account = NONE
        if self.draws.random() < self.cfg.evasion_prob:
            self.evading = True
            delay = self.cfg.evasion_delay_days
        else:
            self.evading = False
            self.rate = self.cfg.rate_per_day * self.draws.lognormal(0.0, self.cfg.rate_spread)
            delay = self.cfg.replacement_days
        # the delay is uniform on [0, 2 * delay days]: delay days on average
        self.comeback_at = self.site.clock.minute + int(delay * MINUTES_PER_DAY * self.draws.random() * 2) + 1
        self._set_wake()

    def my_times(self, n: int) -> np.ndarray:
        return self.site.clock.jitter(self.draws, n)


class Spammer(BadActor):
    """Link spam from burst accounts (SmokeDetector's prey). Tactic: questions, or answers on
    recent questions when question spam is removed fast."""

    family, kind = "spammers", Kind.SPAMMER

    def __init__(self, model: Site, cfg: BadActorConfig, index: int) -> None:
        super().__init__(model, cfg, index)
        self.tactic = PostType.QUESTION if self.draws.random() < cfg.question_share else PostType.ANSWER

    def act(self, n: int) -> None:
        site = self.site
        times = np.sort(self.my_times(n))
        if self.tactic == PostType.QUESTION:
            for t in times[:1].tolist():  # the new-user rate limit allows one question at a time
                posting.ask(site, np.array([self.account]), np.array([t]), quality=np.array([self.cfg.post_quality]),
                            harm=Harm.SPAM)
        else:
            qs = site.traffic.sample_viewed(self.draws, n)
            if qs is None:
                return
            qs = np.where(site.posts.kind[qs] == PostType.QUESTION, qs, np.maximum(site.posts.parent[qs], 0))
            posting.answer(site, np.full(n, self.account), qs, times, correct=np.zeros(n, dtype=bool), harm=Harm.SPAM)

    def on_sanction(self, action: Action) -> None:
        super().on_sanction(action)
        if self.draws.random() < self.cfg.switch_prob:
            self.tactic = PostType.ANSWER if self.tactic == PostType.QUESTION else PostType.QUESTION


class Harasser(BadActor):
    """Targeted harassment: abusive comments on one victim's posts; switches victim when sanctioned."""

    family, kind = "harassers", Kind.HARASSER

    def __init__(self, model: Site, cfg: BadActorConfig, index: int) -> None:
        super().__init__(model, cfg, index)
        self.victim = NONE

    def pick_victim(self) -> None:
        site = self.site
        posts = site.posts
        lo = site.hot_start()
        if posts.n == lo:
            return
        owners = posts.owner[lo:posts.n]
        owners = owners[site.users.kind[owners] == Kind.MEMBER]
        if owners.size:
            self.victim = int(owners[self.draws.integers(owners.size)])

    def act(self, n: int) -> None:
        site = self.site
        if self.victim == NONE or not site.users.active[self.victim]:
            self.pick_victim()
        if self.victim == NONE:
            return
        post = int(site.users.last_post[self.victim])
        if post == NONE or site.posts.state[post] >= State.DELETED:
            return
        posting.comment(site, np.full(n, self.account), np.full(n, post), self.my_times(n),
                        np.full(n, Tone.ABUSIVE, dtype=np.int8), Harm.HARASSMENT)

    def on_sanction(self, action: Action) -> None:
        super().on_sanction(action)
        if self.draws.random() < self.cfg.switch_prob:
            self.victim = NONE


class Troll(BadActor):
    """Untargeted abuse on whatever is popular: abusive comments, and (a share ``vandal_share`` of
    their actions) vandalism, defacing a post by an edit that reviewers may let through."""

    family, kind = "trolls", Kind.TROLL

    def act(self, n: int) -> None:
        site = self.site
        posts_ = site.traffic.sample_viewed(self.draws, n)
        if posts_ is None:
            return
        times = self.my_times(n)
        deface = self.draws.random(n) < self.cfg.vandal_share
        deface &= (site.posts.harm[posts_] == Harm.NONE) & (site.posts.state[posts_] < State.HIDDEN)
        k = int(deface.sum())
        if k:
            site.edits.propose(posts_[deface], np.full(k, self.account), times[deface], np.zeros(k, dtype=bool),
                               EditKind.VANDAL)
        keep = ~deface
        posting.comment(site, np.full(int(keep.sum()), self.account), posts_[keep], times[keep],
                        np.full(int(keep.sum()), Tone.ABUSIVE, dtype=np.int8), Harm.ABUSIVE)


class AIFarmer(BadActor):
    """Plausible-looking machine-generated answers at high volume, often wrong."""

    family, kind = "ai_farmers", Kind.AI_FARMER

    def act(self, n: int) -> None:
        site = self.site
        qs = site.traffic.sample_viewed(self.draws, n)
        if qs is None:
            return
        qs = np.where(site.posts.kind[qs] == PostType.QUESTION, qs, np.maximum(site.posts.parent[qs], 0))
        correct = self.draws.random(n) < self.cfg.correctness
        times = self.my_times(n)
        for ok, harm in ((True, Harm.NONE), (False, Harm.WRONG_AI)):
            sel = correct == ok
            if sel.any():
                posting.answer(site, np.full(int(sel.sum()), self.account), qs[sel], times[sel],
                               correct=np.full(int(sel.sum()), ok), harm=harm, ai=True)


class VotingRing(BadActor):
    """Sock puppets upvoting one beneficiary's posts, kept under the serial-voting threshold."""

    family, kind = "voting_rings", Kind.SOCK
    daily_session = True

    def __init__(self, model: Site, cfg: BadActorConfig, index: int) -> None:
        super().__init__(model, cfg, index)
        self.form_ring()
        self._today = -1
        self._cast: dict[int, int] = {}

    def form_ring(self) -> None:
        """Register the beneficiary and its sock puppets, voting just under the detector's threshold."""
        self.socks = [self.account] + [self.new_account() for _ in range(max(self.cfg.accounts, 2) - 1)]
        self.account = self.beneficiary = self.socks[0]
        self.my_posts: list[int] = []
        thr = self.site.settings.moderation.serial_voting.threshold
        self.per_sock_per_day = max(1, int(thr) - 1)

    def can_act(self) -> bool:
        site = self.site
        if any(self.account_ok(s) for s in self.socks):
            return True
        if self.comeback_at == NONE:
            self.leave_account()
        elif site.clock.minute >= self.comeback_at:
            self.new_account()
            self.form_ring()
            self._came_back()
            return True
        return False

    def act(self, n: int) -> None:
        site = self.site
        if site.clock.day != self._today:
            self._today, self._cast = site.clock.day, {}
        # the beneficiary posts a couple of answers a day, the socks upvote them
        k = int(self.draws.poisson(self.cfg.beneficiary_answers_per_day))
        qs = site.traffic.sample_viewed(self.draws, k) if k else None
        if qs is not None:
            q = np.where(site.posts.kind[qs] == PostType.QUESTION, qs, np.maximum(site.posts.parent[qs], 0))
            self.my_posts.extend(posting.answer(site, np.full(k, self.beneficiary), q, self.my_times(k)).tolist())
        lo = site.hot_start()
        self.my_posts = [p for p in self.my_posts if p >= lo and site.posts.state[p] < State.DELETED]
        if not self.my_posts:
            return
        posts_ = np.array(self.my_posts)
        voters, targets = [], []
        for sock in self.socks[1:]:
            k = min(self.per_sock_per_day - self._cast.get(sock, 0), n, posts_.size)
            if k > 0:
                voters.append(np.full(k, sock))
                targets.append(self.draws.choice(posts_, size=k, replace=False))
        if not voters:
            return
        voters_, targets_ = np.concatenate(voters), np.concatenate(targets)
        ids = voting.vote(site, voters_, targets_, self.my_times(voters_.size), np.ones(voters_.size, dtype=bool),
                          fraud=True)
        for sock in site.votes.voter[ids].tolist():
            self._cast[sock] = self._cast.get(sock, 0) + 1

    def on_sanction(self, action: Action) -> None:
        """Reversed votes: the socks vote less per day. A sanction on one sock does not stop the
        ring (it acts while any sock can, :meth:`can_act`)."""
        if action is Action.REVERSE_VOTES:  # the serial-voting script reversed its votes
            self.per_sock_per_day = max(1, self.per_sock_per_day - self.cfg.reversal_backoff)


class SerialDownvoter(BadActor):
    """An established account downvoting one target's posts, kept under the reversal threshold."""

    family, kind = "serial_downvoters", Kind.DOWNVOTER
    daily_session = True

    def __init__(self, model: Site, cfg: BadActorConfig, index: int) -> None:
        super().__init__(model, cfg, index)
        self.target = NONE
        self.per_day = max(1, int(model.settings.moderation.serial_voting.threshold) + 1)
        self._today, self._cast = -1, 0
        self._target_posts = np.zeros(0, dtype=np.int64)
        self._seen = 0

    def act(self, n: int) -> None:
        site = self.site
        if site.clock.day != self._today:
            self._today, self._cast = site.clock.day, 0
        if self.target == NONE:
            lo = site.hot_start()
            owners = site.posts.owner[lo:site.posts.n]
            owners = owners[site.users.kind[owners] == Kind.MEMBER]
            if owners.size == 0:
                return
            self.target = int(owners[self.draws.integers(owners.size)])
            retention.abuse_received(site, np.array([self.target]), np.array([site.clock.minute]))
            self._target_posts = None
        lo = site.post_id_at_day(site.clock.day - self.cfg.lookback_days)
        if self._target_posts is None:  # the target's posts of the lookback period, then kept up to date
            self._target_posts = np.flatnonzero(site.posts.owner[lo:site.posts.n] == self.target) + lo
        else:
            new = np.flatnonzero(site.posts.owner[self._seen:site.posts.n] == self.target) + self._seen
            self._target_posts = np.concatenate([self._target_posts[self._target_posts >= lo], new])
        self._seen = site.posts.n
        posts_ = self._target_posts
        k = min(n, posts_.size, self.per_day - self._cast)
        if k <= 0:
            return
        targets = self.draws.choice(posts_, size=k, replace=False)
        ids = voting.vote(site, np.full(k, self.account), targets, self.my_times(k), np.zeros(k, dtype=bool), fraud=True)
        self._cast += ids.size

    def on_sanction(self, action: Action) -> None:
        if action is Action.REVERSE_VOTES:  # the serial-voting script reversed its votes
            self.per_day = max(1, self.per_day - self.cfg.reversal_backoff)
            return
        super().on_sanction(action)


FAMILIES: dict[str, type[BadActor]] = {
    "spammers": Spammer, "harassers": Harasser, "trolls": Troll, "ai_farmers": AIFarmer,
    "voting_rings": VotingRing, "serial_downvoters": SerialDownvoter,
}
