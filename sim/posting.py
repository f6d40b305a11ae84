"""Asking, answering and commenting: the one place content enters the site.

Every author, ordinary or bad actor, goes through these functions, so rate limits, suspensions,
question bans and the comment privilege hold for everybody. All functions are vectorised over the
tick's batch of authors and return the ids of what was actually created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import retention
from sim.store import NONE, Harm, PostType, State, Tone, first_occurrence

if TYPE_CHECKING:
    from agents.model import Site


def _record_first_posts(site: Site, owners: np.ndarray, post_ids: np.ndarray, times: np.ndarray) -> None:
    users = site.users
    first = users.first_post[owners] == NONE
    if first.any():
        users.first_post[owners[first]] = post_ids[first]
        users.first_post_at[owners[first]] = times[first]
        site.posts.newcomer[post_ids[first]] = users.is_newcomer(owners[first], site.clock.minute)
    users.last_post[owners] = post_ids
    users.touch(owners, times)


def start_day(site: Site) -> None:
    """A new day (``site.clock.day``): the questions asked 30 days ago leave their askers' 30-day
    count, so the count covers the last 30 whole days, today included (the daily count starts
    afresh in :meth:`sim.population.Users.start_day`)."""
    day = site.clock.day
    lo, hi = site.post_id_at_day(day - 30), site.post_id_at_day(day - 29)
    if hi <= lo:
        return
    posts = site.posts
    owners = posts.owner[lo:hi][posts.kind[lo:hi] == PostType.QUESTION]
    np.subtract.at(site.users.questions_30_days, owners, 1)


def ask(site: Site, owners: np.ndarray, times: np.ndarray, quality: np.ndarray | None = None,
        harm: int = Harm.NONE, ai: bool = False) -> np.ndarray:
    """Post questions; drops authors who are suspended, question-banned or rate-limited (below
    ``newcomer_rep``, one question per ``newcomer_question_interval_min``; everybody, at most
    ``question_limit_per_day`` today and ``question_limit_per_30_days`` in the last 30 days, see
    :func:`start_day`; all from :class:`sim.policy.Policy`, so a lever may change them).

    Args:
        site: The model.
        owners: Asking accounts (one question each; repeats in one tick are dropped).
        times: Minute timestamp of each question.
        quality: Hidden quality in [0, 1]; drawn from the author's quality when omitted.
        harm: Ground-truth harm label for all of these questions.
        ai: Whether the questions are machine-generated.

    Returns:
        Ids of the created questions.
    """
    users, pol, rng = site.users, site.policy, site.streams["asking"]
    owners = np.asarray(owners, dtype=np.int64)
    times = np.asarray(times, dtype=np.int64)
    keep = first_occurrence(owners) & users.can_act(owners, site.clock.minute) & ~users.question_banned[owners]
    low = users.reputation[owners] < pol.newcomer_rep
    interval = np.where(low, pol.newcomer_question_interval_min, 0)
    keep &= (times - users.last_question_at[owners]) >= interval
    keep &= ((users.questions_today[owners] < pol.question_limit_per_day)
             & (users.questions_30_days[owners] < pol.question_limit_per_30_days))
    owners, times = owners[keep], times[keep]
    if quality is not None:
        quality = np.asarray(quality)[keep]
    n = owners.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    p = site.settings.population
    if quality is None:
        quality = np.clip(users.quality[owners] + rng.normal(0, p.question_quality_sd, n), 0.0, 1.0)
    dup_prob = p.duplicate_base + p.duplicate_low_quality * (quality < p.duplicate_low_quality_below)
    duplicate = (rng.random(n) < dup_prob) & (harm == Harm.NONE)
    loyal = rng.random(n) < p.topic_loyalty
    topic = np.where(loyal, users.topic[owners], rng.integers(0, site.settings.site.topics, n))
    close_worthy = duplicate | ((quality < p.close_worthy_quality) & (harm == Harm.NONE))
    ids = site.posts.append(
        n, kind=PostType.QUESTION, owner=owners, owner_rep=users.reputation[owners], created=times, topic=topic, quality=quality, harm=harm,
        ai=ai, duplicate=duplicate, close_worthy=close_worthy, group=users.region[owners])
    users.last_question_at[owners] = times
    users.questions[owners] += 1
    users.questions_today[owners] += 1
    users.questions_30_days[owners] += 1
    _record_first_posts(site, owners, ids, times)
    site.on_posts_created(ids)
    return ids


def answer(site: Site, owners: np.ndarray, questions: np.ndarray, times: np.ndarray,
           correct: np.ndarray | None = None, harm: int = Harm.NONE, ai: bool = False,
           found: np.ndarray | None = None) -> np.ndarray:
    """Post answers to ``questions``; an answer is never earlier than its question.

    Drops suspended authors, questions that are closed, hidden or deleted, and answers to the
    author's own question except those marked in ``found`` (askers posting the answer they found
    elsewhere, which is correct; every row marked must be a self-answer).

    Returns:
        Ids of the created answers.
    """
    users, posts = site.users, site.posts
    owners = np.asarray(owners, dtype=np.int64)
    questions = np.asarray(questions, dtype=np.int64)
    times = np.asarray(times, dtype=np.int64)
    found = np.zeros(owners.size, dtype=bool) if found is None else np.asarray(found, dtype=bool)
    keep = users.can_act(owners, site.clock.minute) & ((posts.owner[questions] == owners) == found)
    keep &= posts.state[questions] == State.LIVE
    owners, questions, times, found = owners[keep], questions[keep], times[keep], found[keep]
    n = owners.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    times = np.maximum(times, posts.created[questions] + 1)
    rng, p = site.streams["answering"], site.settings.population
    if correct is None:
        # right more often: skilled, on the answerer's own topic, a clear question
        match = users.topic[owners] == posts.topic[questions]
        p_correct = (users.skill[owners] * np.where(match, 1.0, p.off_topic_skill_factor)
                     * (p.answer_correct_base + p.answer_correct_per_quality * posts.quality[questions]))
        correct = (rng.random(n) < p_correct) | found
    else:
        correct = np.asarray(correct)[keep]
    # hidden quality: uniform above the split for correct answers, below it for wrong ones
    split = p.answer_quality_split
    quality = np.where(correct, split + (1.0 - split) * rng.random(n), split * rng.random(n))
    ids = posts.append(n, kind=PostType.ANSWER, parent=questions, owner=owners, owner_rep=users.reputation[owners],
                       created=times,
                       topic=posts.topic[questions], quality=quality, correct=correct, harm=harm, ai=ai,
                       group=users.region[owners])
    np.add.at(posts.answers, questions, 1)
    order = np.lexsort((times, questions))
    q_sorted, t_sorted = questions[order], times[order]
    firsts = np.r_[True, q_sorted[1:] != q_sorted[:-1]]
    earliest_q, earliest_t = q_sorted[firsts], t_sorted[firsts]
    cur = posts.first_answer_at[earliest_q]
    posts.first_answer_at[earliest_q] = np.where(cur == NONE, earliest_t, np.minimum(cur, earliest_t))
    users.answers[owners] += 1
    _record_first_posts(site, owners, ids, times)
    site.on_posts_created(ids)
    return ids


def comment(site: Site, authors: np.ndarray, posts_: np.ndarray, times: np.ndarray, tone: np.ndarray,
            harm: np.ndarray | int = Harm.NONE) -> np.ndarray:
    """Post comments. Below the comment privilege an author may comment only on their own post or
    on answers to their own question. Abusive and harassing comments mark their target as abused.

    Returns:
        Ids of the created comments.
    """
    users, posts, pol = site.users, site.posts, site.policy
    authors = np.asarray(authors, dtype=np.int64)
    posts_ = np.asarray(posts_, dtype=np.int64)
    times = np.asarray(times, dtype=np.int64)
    tone = np.asarray(tone, dtype=np.int8)
    harm = np.broadcast_to(np.asarray(harm, dtype=np.int8), authors.shape)
    own = (posts.owner[posts_] == authors) | (
        (posts.kind[posts_] == PostType.ANSWER) & (posts.owner[np.maximum(posts.parent[posts_], 0)] == authors))
    privileged = users.reputation[authors] >= pol.priv_comment_everywhere
    keep = users.can_act(authors, site.clock.minute) & (own | privileged) & (posts.state[posts_] != State.DELETED)
    authors, posts_, times, tone, harm = authors[keep], posts_[keep], times[keep], tone[keep], harm[keep]
    n = authors.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    times = np.maximum(times, posts.created[posts_] + 1)
    target = posts.owner[posts_]
    ids = site.comments.append(n, post=posts_, author=authors, created=times, tone=tone, harm=harm)
    unwelcome = tone >= Tone.UNWELCOMING
    if unwelcome.any():
        p_ids, t = posts_[unwelcome], times[unwelcome]
        cur = posts.unwelcome_at[p_ids]
        posts.unwelcome_at[p_ids] = np.where(cur == NONE, t, np.minimum(cur, t))
        retention.first_post_hit(site, p_ids, t)
    abusive = harm > 0
    if abusive.any():
        retention.abuse_received(site, target[abusive], times[abusive])
    users.touch(authors, times)
    site.on_comments_created(ids)
    return ids
