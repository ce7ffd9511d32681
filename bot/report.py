"""Trends and review of the question log: what people ask, what went unanswered, what they disliked.

Note for the Telegram front end (issue 3): every function here is plain async/pure Python over
an open `QuestionLog`; the texts are plain Chinese, so HTML-escape them before sending with
parse_mode=HTML, and each stays under Telegram's 4096-character limit. They are for admins who
may only ever see Telegram: entries go by their topic, with no ids, outcome codes, scores or
server commands (the command-line report and `kbbot suggest` show those).

    window = parse_window(since=context.args[0] if context.args else None)  # /stats 7d
    # (WindowError: reply with str(exc), it says how to write the window)
    text = format_stats(await build_report(log, window, matcher))            # /stats
    text = format_unanswered(await latest_unanswered(log, 10, matcher))      # /unanswered
    text = (await weekly_digest(log, matcher)).text                          # JobQueue, weekly

`weekly_digest` builds this week's report and the week before's and calls
`format_digest(report, previous)`: volume, answered rate (with the change), feedback and the
unanswered clusters that were not already there the week before. Schedule it with
`job_queue.run_daily(job, time=datetime.time(9, 0, tzinfo=REPORT_TZ), days=(1,))` (Monday
09:00 Beijing time) and send the text to each admin. Pass the engine's current matcher
(`engine.matcher`), so clusters and entry names follow knowledge-base reloads.

Days are counted in Beijing time (`REPORT_TZ`, UTC+8, no daylight saving): the reviewers'
"Monday" is theirs, not UTC's. Unanswered questions are grouped with the matcher's own
normalisation (synonyms, numerals, fillers, traditional characters) and rapidfuzz scores, so
两种问法 of the same thing land in one cluster.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.matcher import Matcher
from bot.store import DayCount, LoggedQuestion, QuestionLog, Totals
from bot.text import fuzzy_pinyin, tokens

REPORT_TZ = timezone(timedelta(hours=8), "北京时间")
DEFAULT_DAYS = 30
MAX_DAYS = 3660
# Outcomes that mean "the knowledge base had no answer": what reviewers can fix by editing it.
# A partial answer (the report speaks of the subject, not of what was asked) and a several-
# question message with a part left unanswered count too; only their unanswered rows are read.
# Referrals (personal matters), empty and over-long messages are not knowledge-base gaps.
REVIEW_OUTCOMES: tuple[str, ...] = ("none", "suggest", "partial", "multi")
# Two unanswered questions belong together when their normalised forms score at least this
# (0-100) in `similarity`. Tuned on realistic wordings in tests/test_report.py.
CLUSTER_THRESHOLD = 60.0
# At most this many of the latest unanswered questions are clustered: the newest are the ones
# worth reviewing, and it bounds the work (2,000 all-different questions take ~0.4 s, in a
# worker thread so the bot keeps answering meanwhile).
CLUSTER_SAMPLE = 2000
MAX_EXAMPLES = 10
# The form of a reviewable question with nothing in it at all (only spaces were stored).
UNREADABLE_KEY = "（无文字）"
# Below this score the "nearest" entry shares a word or two by chance; the short texts leave it
# out rather than send an admin after a wrong entry (the report and `suggest` still show it).
NEAREST_SHOWN = 0.25
TELEGRAM_LIMIT = 4000  # a little under Telegram's 4096, for the truncation note

_SINCE_RE = re.compile(r"^\s*(\d{1,5})\s*(d|day|days|天|h|hour|hours|小时|w|week|weeks|周)\s*$")
_UNIT_HOURS = {
    "d": 24,
    "day": 24,
    "days": 24,
    "天": 24,
    "h": 1,
    "hour": 1,
    "hours": 1,
    "小时": 1,
    "w": 24 * 7,
    "week": 24 * 7,
    "weeks": 24 * 7,
    "周": 24 * 7,
}


class WindowError(ValueError):
    """A time window that cannot be read; the message says how to write one."""


@dataclass(frozen=True)
class Window:
    """The span a report covers: [start, end), aware datetimes, days counted in `tz`."""

    start: datetime
    end: datetime
    tz: timezone = REPORT_TZ
    label: str = ""

    @property
    def utc_offset_minutes(self) -> int:
        offset = self.tz.utcoffset(None)
        return int(offset.total_seconds() // 60)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def days(self) -> list[date]:
        """Every calendar day (in `tz`) the window touches, in order."""
        first = self.local(self.start).date()
        last = self.local(self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def previous(self) -> Window:
        """The window of the same length just before this one (for week-on-week changes)."""
        length = self.end - self.start
        return Window(self.start - length, self.start, self.tz, f"{self.label}之前")

    def describe(self) -> str:
        """The window for people, e.g. 最近7天（2024-05-01 至 2024-05-07，北京时间）."""
        first = self.local(self.start).strftime("%Y-%m-%d")
        last = self.local(self.end - timedelta(microseconds=1)).strftime("%Y-%m-%d")
        span = f"{first} 至 {last}，{self.tz.tzname(None)}"
        return f"{self.label}（{span}）" if self.label else span


def parse_window(
    since: str | None = None,
    start: str | None = None,
    end: str | None = None,
    now: datetime | None = None,
    tz: timezone = REPORT_TZ,
) -> Window:
    """The window a reviewer asked for; by default the last 30 days.

    Args:
        since: a length back from `now`: "7d", "24h", "2w" (also 7天, 24小时, 2周).
        start, end: "YYYY-MM-DD" calendar days in `tz`, both included. Only `start`: up to now;
            only `end`: the 30 days ending that day.
        now: the current time (tests pass a fixed one).

    Raises:
        WindowError: with a message to show the person as it is.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if since and (start or end):
        raise WindowError("时间范围只能用一种写法：--since，或 --from/--to")
    if since:
        match = _SINCE_RE.match(since.strip().lower())
        if not match:
            raise WindowError(
                f"无法识别的时间范围 `{since}`：请写成 7d（7天）、24h（24小时）或 2w（2周）"
            )
        hours = int(match.group(1)) * _UNIT_HOURS[match.group(2)]
        if not 0 < hours <= MAX_DAYS * 24:
            raise WindowError(f"时间范围 `{since}` 应在 1 小时到 {MAX_DAYS} 天之间")
        unit = "小时" if hours < 24 or hours % 24 else "天"
        amount = hours if unit == "小时" else hours // 24
        return Window(now - timedelta(hours=hours), now, tz, f"最近{amount}{unit}")
    if start or end:
        first = _day(start, "--from", tz) if start else None
        last = _day(end, "--to", tz) + timedelta(days=1) if end else None
        window_end = last or now
        window_start = first or window_end - timedelta(days=DEFAULT_DAYS)
        if window_start >= window_end:
            raise WindowError(f"开始日期 {start} 晚于结束日期 {end or '今天'}")
        return Window(window_start, window_end, tz)
    return Window(now - timedelta(days=DEFAULT_DAYS), now, tz, f"最近{DEFAULT_DAYS}天")


def parse_duration(text: str) -> timedelta:
    """A span such as 180d, 12w or 48h as a timedelta (for retention); raises WindowError."""
    match = _SINCE_RE.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise WindowError(f"无法识别的时长 `{text}`：请写成 180d（180天）、12w 或 48h")
    return timedelta(hours=int(match.group(1)) * _UNIT_HOURS[match.group(2)])


def _day(text: str, flag: str, tz: timezone) -> datetime:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise WindowError(f"{flag} 的日期 `{text}` 应写成 YYYY-MM-DD，例如 2024-05-01") from None
    return datetime(day.year, day.month, day.day, tzinfo=tz)


# --- the report model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Nearest:
    """The knowledge-base entry closest to a cluster, by the matcher's own confidence."""

    entry_id: str
    topic: str
    score: float  # the decision model's mean confidence over the cluster's wordings
    phrase: str  # the stored phrasing that came closest


@dataclass(frozen=True)
class Cluster:
    """Near-duplicate unanswered questions, grouped so a reviewer handles them once."""

    number: int  # 1-based position in its list: `kbbot suggest --cluster N`
    key: str  # normalised form of its most asked wording
    count: int
    users: int
    first_asked: datetime
    last_asked: datetime
    examples: tuple[str, ...]  # distinct wordings as asked (masked), most asked first
    nearest: Nearest | None = None
    taken: tuple[tuple[str, int], ...] = ()  # suggestions people picked instead, most first
    keys: tuple[str, ...] = field(default=(), repr=False)  # every normalised form inside


@dataclass(frozen=True)
class Digest:
    text: str
    open_clusters: int


@dataclass(frozen=True)
class EntryStat:
    entry_id: str
    topic: str  # "" when the entry is unknown (removed since, or no knowledge base given)
    served: int
    helpful: int
    unhelpful: int


@dataclass(frozen=True)
class Report:
    """Everything `kbbot report`, /stats and the digest show, for one window."""

    window: Window
    generated_at: datetime
    totals: Totals
    days: tuple[DayCount, ...]  # every day of the window, zeros included
    top_entries: tuple[EntryStat, ...]
    unhelpful_entries: tuple[EntryStat, ...]
    clusters: tuple[Cluster, ...]
    unanswered: int  # unanswered questions that could be reviewed (REVIEW_OUTCOMES)
    open_clusters: int = 0  # clusters in the window not yet handled by an admin (all, not top)

    @property
    def answered_rate(self) -> float | None:
        """Share of questions answered from the knowledge base; None for an empty window."""
        total = self.totals.questions
        return self.totals.answered / total if total else None


async def build_report(
    log: QuestionLog,
    window: Window,
    matcher: Matcher | None = None,
    top: int = 10,
    *,
    skip: frozenset[str] = frozenset(),
) -> Report:
    """Query the log for `window` and cluster its unanswered questions.

    Args:
        matcher: the live matcher: names entries, normalises and finds each cluster's nearest
            entry. Without one, clusters use the normalised text stored at the time.
        top: how many entries and clusters to list.
        skip: wordings admins have handled (`QuestionLog.handled_forms`), left out of the
            clusters; the counts still include them.
    """
    return await _build(log, window, matcher, top, name_nearest=True, skip=skip)


async def _build(
    log: QuestionLog,
    window: Window,
    matcher: Matcher | None,
    top: int,
    *,
    name_nearest: bool,
    skip: frozenset[str] = frozenset(),
) -> Report:
    start, end = window.start, window.end
    totals = await log.totals(start, end)
    counted = {d.day: d for d in await log.per_day(start, end, window.utc_offset_minutes)}
    days = tuple(counted.get(day, DayCount(day, 0, 0)) for day in window.days())
    served = await log.entry_counts(start, end, limit=top, by="served")
    disliked = await log.entry_counts(start, end, limit=top, by="unhelpful")
    questions = await log.unanswered(start, end, outcomes=REVIEW_OUTCOMES, limit=CLUSTER_SAMPLE)
    clusters, open_clusters = await asyncio.to_thread(
        _top_clusters, questions, matcher, top, _most_asked, name_nearest=name_nearest, skip=skip
    )
    return Report(
        window=window,
        generated_at=datetime.now(UTC),
        totals=totals,
        days=days,
        top_entries=tuple(
            _entry_stat(e.entry_id, e.served, e.helpful, e.unhelpful, matcher) for e in served
        ),
        unhelpful_entries=tuple(
            _entry_stat(e.entry_id, e.served, e.helpful, e.unhelpful, matcher) for e in disliked
        ),
        clusters=tuple(clusters),
        unanswered=sum(totals.unanswered_outcomes.get(o, 0) for o in REVIEW_OUTCOMES),
        open_clusters=open_clusters,
    )


async def latest_unanswered(
    log: QuestionLog,
    limit: int = 10,
    matcher: Matcher | None = None,
    *,
    skip: frozenset[str] = frozenset(),
) -> list[Cluster]:
    """The clusters of the most recent unanswered questions, most recently asked first,
    without the wordings in `skip` (handled by an admin)."""
    questions = await log.unanswered(None, None, outcomes=REVIEW_OUTCOMES, limit=CLUSTER_SAMPLE)
    clusters, _ = await asyncio.to_thread(
        _top_clusters, questions, matcher, limit, _latest_asked, skip=skip
    )
    return clusters


async def weekly_digest(
    log: QuestionLog,
    matcher: Matcher | None = None,
    now: datetime | None = None,
    *,
    skip: frozenset[str] = frozenset(),
) -> Digest:
    """The admins' weekly message: the last 7 days compared with the 7 before, and how many
    clusters are left for admins to handle (the Telegram digest adds a button for them)."""
    window = parse_window(since="7d", now=now)
    report = await build_report(log, window, matcher, skip=skip)
    # Every cluster of the week before (unnamed: naming is the slow part), to tell what is new.
    previous = await _build(log, window.previous(), matcher, CLUSTER_SAMPLE, name_nearest=False)
    return Digest(format_digest(report, previous), report.open_clusters)


def _entry_stat(
    entry_id: str, served: int, helpful: int, unhelpful: int, matcher: Matcher | None
) -> EntryStat:
    entry = matcher.kb.by_id.get(entry_id) if matcher else None
    return EntryStat(entry_id, entry.topic if entry else "", served, helpful, unhelpful)


def _most_asked(cluster: Cluster) -> tuple[float, float, str]:
    return (-cluster.count, -cluster.last_asked.timestamp(), cluster.key)


def _latest_asked(cluster: Cluster) -> tuple[float, float, str]:
    return (-cluster.last_asked.timestamp(), -cluster.count, cluster.key)


def _top_clusters(
    questions: Sequence[LoggedQuestion],
    matcher: Matcher | None,
    top: int,
    order: Callable[[Cluster], tuple[float, float, str]],
    *,
    name_nearest: bool = True,
    skip: frozenset[str] = frozenset(),
) -> tuple[list[Cluster], int]:
    """Cluster, keep the first `top` in `order`, number them and, for those only, find their
    nearest entry; also how many clusters there were in all. CPU-bound and pure: the async
    callers run it in a worker thread."""
    if skip:
        questions = [q for q in questions if not _handled(q, skip, matcher)]
    clusters = sorted(cluster_questions(questions, matcher), key=order)
    named = [
        replace(
            cluster,
            number=number,
            nearest=nearest_entry(cluster.examples, matcher) if matcher and name_nearest else None,
        )
        for number, cluster in enumerate(clusters[:top], start=1)
    ]
    return named, len(clusters)


def _handled(question: LoggedQuestion, skip: frozenset[str], matcher: Matcher | None) -> bool:
    """Whether an admin handled this wording: as asked, as normalised when logged, or as the
    live matcher normalises it (a synonym added since changes the normalised form)."""
    return (
        question.question.strip() in skip
        or question.normalised in skip
        or (matcher is not None and matcher.normalise(question.question) in skip)
    )


# --- clustering --------------------------------------------------------------------------------


# Words that say what kind of answer is wanted (how, where, how many), not what the question is
# about; two questions about passports are one gap however they ask. Only multi-character
# words: single characters (在, 要, 有) are too often part of other words.
QUESTION_WORDS: tuple[str, ...] = (
    "为什么",
    "怎么样",
    "是不是",
    "有没有",
    "可不可以",
    "能不能",
    "怎么",
    "怎样",
    "如何",
    "哪里",
    "哪儿",
    "哪些",
    "哪个",
    "什么",
    "多少",
    "可以",
    "需要",
    "应该",
    "是否",
    "几个",
)
_QUESTION_WORDS_RE = re.compile("|".join(map(re.escape, QUESTION_WORDS)))


@dataclass(frozen=True)
class _Form:
    """A normalised question reduced to what clustering compares."""

    chars: str  # without question words
    # Its folded pinyin syllables, sorted (order and homophones stop mattering), one character
    # per syllable: rapidfuzz compares strings several times faster than tuples of strings.
    syllables: str

    @classmethod
    def of(cls, norm: str) -> _Form:
        chars = _QUESTION_WORDS_RE.sub("", norm) or norm
        spoken = sorted(fuzzy_pinyin(tok) for tok in tokens(chars))
        return cls(chars, "".join(_syllable_code(syllable) for syllable in spoken))


@lru_cache(maxsize=4096)
def _syllable_code(syllable: str) -> str:
    """A private-use character standing for one syllable (or number, or latin word).

    A stable hash rather than a growing table: nothing accumulates in a long-running bot, and
    among ~400 syllables a collision in 65,534 codes is rare and only nudges one score up.
    """
    return chr(0xF0000 + zlib.crc32(syllable.encode()) % 0xFFFE)


def similarity(a: str, b: str) -> float:
    """How alike two *normalised* questions are, 0-100.

    Question words (怎么, 哪里, 多少...) are set aside first. Then the better of two rapidfuzz
    `ratio` scores: on the characters (order-aware, as in the matcher's bonus) and on the sorted
    folded-pinyin syllables, which forgives reordered words (护照怎么办理 / 在哪里办理护照) and
    pinyin-input typos (社保怎么交 / 怎么缴社保).
    """
    return _similarity(_Form.of(a), _Form.of(b))


def _similarity(a: _Form, b: _Form) -> float:
    return max(fuzz.ratio(a.chars, b.chars), fuzz.ratio(a.syllables, b.syllables))


def cluster_questions(
    questions: Sequence[LoggedQuestion],
    matcher: Matcher | None = None,
    threshold: float = CLUSTER_THRESHOLD,
) -> list[Cluster]:
    """Group near-duplicate questions; unnumbered, in no particular order.

    Questions are normalised by the matcher (the stored normalised form without one), and
    identical forms merged; a question that normalises to nothing (markup only, such as
    `<img src=x onerror=…>`) keeps its wording as asked as its form, so it is still listed for
    review rather than left out of every cluster. Then, most asked first, each form not yet
    taken becomes a cluster's seed and takes every remaining form scoring at least `threshold`
    in `similarity` against it. Comparing with the seed only (not with every member) keeps one
    vague wording from chaining unrelated questions together.
    """
    groups: dict[str, list[LoggedQuestion]] = {}
    for question in questions:
        key = (
            (matcher.normalise(question.question) if matcher else "")
            or question.normalised
            or " ".join(question.question.split())
            or UNREADABLE_KEY
        )
        groups.setdefault(key, []).append(question)
    keys = sorted(groups, key=lambda k: (-len(groups[k]), -_latest(groups[k]), k))
    forms = [_Form.of(key) for key in keys]
    assigned = [False] * len(keys)
    remaining: list[int] = []  # positions that were unassigned at the last compaction
    chars: list[str] = []
    syllables: list[str] = []
    stale = len(keys)  # assigned since the last compaction; forces the first one
    clusters: list[Cluster] = []
    for index, seed in enumerate(forms):
        if assigned[index]:
            continue
        if stale * 4 >= len(remaining):  # drop taken forms now and then, not on every seed
            remaining = [i for i in remaining or range(len(keys)) if not assigned[i]]
            chars = [forms[i].chars for i in remaining]
            syllables = [forms[i].syllables for i in remaining]
            stale = 0
        members = [index]
        assigned[index] = True
        # Two passes in C over the remaining forms (rapidfuzz's extract) rather than a Python
        # loop over pairs: a busy month has thousands of distinct unanswered wordings.
        for query, choices in ((seed.chars, chars), (seed.syllables, syllables)):
            for _, _, position in process.extract(
                query, choices, scorer=fuzz.ratio, score_cutoff=threshold, limit=None
            ):
                candidate = remaining[position]
                if not assigned[candidate]:
                    assigned[candidate] = True
                    members.append(candidate)
        stale += len(members)
        clusters.append(_cluster([keys[i] for i in sorted(members)], groups))
    return clusters


def _latest(questions: Sequence[LoggedQuestion]) -> float:
    return max(q.asked_at for q in questions).timestamp()


def _cluster(keys: Sequence[str], groups: Mapping[str, Sequence[LoggedQuestion]]) -> Cluster:
    asked = [q for key in keys for q in groups[key]]
    wordings = Counter(q.question.strip() for q in asked)
    latest = {q.question.strip(): q.asked_at for q in sorted(asked, key=lambda q: q.asked_at)}
    examples = sorted(wordings, key=lambda w: (-wordings[w], -latest[w].timestamp(), w))
    taken = Counter(q.suggestion_taken for q in asked if q.suggestion_taken)
    return Cluster(
        number=0,
        key=keys[0],
        count=len(asked),
        users=len({q.user_hash for q in asked if q.user_hash}),
        first_asked=min(q.asked_at for q in asked),
        last_asked=max(q.asked_at for q in asked),
        examples=tuple(examples[:MAX_EXAMPLES]),
        taken=tuple(sorted(taken.items(), key=lambda item: (-item[1], item[0]))),
        keys=tuple(keys),
    )


def nearest_entry(wordings: Sequence[str], matcher: Matcher) -> Nearest | None:
    """The entry the matcher is most confident of over a cluster's wordings (their mean
    confidence), or None."""
    scores: dict[str, list[float]] = {}
    phrases: dict[str, tuple[float, str]] = {}
    sample = list(wordings[:5])
    for wording in sample:
        for candidate in matcher.rank(wording):
            entry_id = candidate.entry.id
            scores.setdefault(entry_id, []).append(candidate.confidence)
            if candidate.score > phrases.get(entry_id, (-1.0, ""))[0]:
                phrases[entry_id] = (candidate.score, candidate.phrase)
    if not scores:
        return None
    best = max(scores, key=lambda e: (sum(scores[e]) / len(sample), e))
    entry = matcher.kb.by_id[best]
    return Nearest(best, entry.topic, round(sum(scores[best]) / len(sample), 4), phrases[best][1])


def new_clusters(current: Sequence[Cluster], previous: Sequence[Cluster]) -> list[Cluster]:
    """Clusters of `current` with no similar cluster in `previous` (what the digest calls new)."""
    seen = [_Form.of(key) for cluster in previous for key in (cluster.keys or (cluster.key,))]
    fresh = []
    for cluster in current:
        forms = [_Form.of(key) for key in cluster.keys or (cluster.key,)]
        if not any(_similarity(f, s) >= CLUSTER_THRESHOLD for f in forms for s in seen):
            fresh.append(cluster)
    return fresh


# --- plain texts (Telegram /stats, /unanswered, the weekly digest) -----------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _when(moment: datetime, tz: timezone = REPORT_TZ) -> str:
    return moment.astimezone(tz).strftime("%m-%d %H:%M")


def _entry_label(stat: EntryStat) -> str:
    """An entry as admins know it in Telegram: its topic (ids are for the YAML files)."""
    return stat.topic or "（已从知识库删除的条目）"


def _clip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit(lines: Sequence[str], limit: int = TELEGRAM_LIMIT) -> str:
    """Join lines, dropping whole lines from the end (with a note) to stay under `limit`."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    note = "……（内容太长，后面的没有列出）"
    kept: list[str] = []
    size = len(note) + 1
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, note])


def summary_lines(report: Report) -> list[str]:
    """The headline numbers, one per line."""
    totals = report.totals
    lines = [
        f"提问 {totals.questions} 条，已回答 {totals.answered} 条（回答率 {_percent(report.answered_rate)}），"
        f"提问用户 {totals.users} 人",
        f"反馈：有帮助 {totals.helpful}，没帮助 {totals.unhelpful}；"
        f"从建议中选择 {totals.suggestions_taken} 次",
    ]
    inline = totals.channels.get("inline", 0)
    if inline:
        lines.append(f"其中内联模式 {inline} 条（在其他聊天里 @机器人 提问并选中的结果）")
    if totals.questions:
        parts = "，".join(
            f"{_OUTCOME_NAMES.get(k, '其他')} {v}" for k, v in totals.outcomes.items()
        )
        lines.append(f"结果分布：{parts}")
    return lines


_OUTCOME_NAMES = {
    "answer": "直接回答",
    "suggest": "给出建议",
    "none": "无答案",
    "partial": "部分相关",
    "passage": "引用原文",
    "overview": "列出相关部分",
    "multi": "多个问题",
    "referral": "转介",
    "smalltalk": "闲聊",
    "empty": "空消息",
    "too_long": "过长",
    "no_words": "无文字",
}


def _cluster_lines(clusters: Sequence[Cluster], tz: timezone, examples: int = 2) -> list[str]:
    lines = []
    for cluster in clusters:
        lines.append(
            f"{cluster.number}. {_clip(cluster.examples[0])} —— {cluster.count} 次，"
            f"{_when(cluster.first_asked, tz)} 至 {_when(cluster.last_asked, tz)}"
        )
        others = [f"“{_clip(w, 30)}”" for w in cluster.examples[1 : 1 + examples]]
        if others:
            lines.append(f"   其他问法：{'、'.join(others)}")
        if cluster.nearest is not None and cluster.nearest.score >= NEAREST_SHOWN:
            lines.append(f"   最接近的条目：{cluster.nearest.topic}")
    return lines


def format_stats(report: Report) -> str:
    """/stats: headline numbers, recent days, top and disliked entries, unanswered clusters."""
    tz = report.window.tz
    lines = [f"问答统计：{report.window.describe()}", *summary_lines(report)]
    busy = [d for d in report.days if d.answered or d.unanswered]
    if busy:
        lines.append("")
        lines.append("每天提问（已回答/未回答）：")
        lines += [
            f"{d.day:%m-%d}  {d.answered + d.unanswered}（{d.answered}/{d.unanswered}）"
            for d in busy[-14:]
        ]
    if report.top_entries:
        lines += ["", "最常用到的条目："]
        lines += [
            f"{n}. {_entry_label(s)} —— {s.served} 次" for n, s in enumerate(report.top_entries, 1)
        ]
    if report.unhelpful_entries:
        lines += ["", "“没帮助”最多的条目："]
        lines += [
            f"{n}. {_entry_label(s)} —— 没帮助 {s.unhelpful}，有帮助 {s.helpful}"
            for n, s in enumerate(report.unhelpful_entries, 1)
        ]
    if report.clusters:
        lines += ["", f"未回答的问题（{report.unanswered} 条，相近问法已合并）："]
        lines += _cluster_lines(report.clusters, tz)
    elif report.totals.questions:
        lines += ["", "没有未回答的问题。"]
    return _fit(lines)


def format_unanswered(clusters: Sequence[Cluster]) -> str:
    """/unanswered: the latest unanswered clusters, each with a few wordings."""
    if not clusters:
        return "最近没有未回答的问题。"
    lines = ["最近未回答的问题（相近问法已合并，最新在前）："]
    lines += _cluster_lines(clusters, REPORT_TZ, examples=3)
    return _fit(lines)


def format_digest(report: Report, previous: Report | None = None) -> str:
    """The weekly digest: volume, answered rate, feedback and *new* unanswered clusters.

    Args:
        previous: the report for the window before (`window.previous()`, built with a large
            `top`); gives the changes and decides which clusters are new. None: all are new.
    """
    totals = report.totals
    lines = [f"每周问答摘要：{report.window.describe()}"]
    volume = f"提问 {totals.questions} 条"
    rate = f"回答率 {_percent(report.answered_rate)}"
    if previous is not None:
        volume += f"（上周 {previous.totals.questions} 条）"
        if report.answered_rate is not None and previous.answered_rate is not None:
            change = (report.answered_rate - previous.answered_rate) * 100
            rate += f"（{change:+.1f} 个百分点）"
    lines += [f"{volume}，{rate}，提问用户 {totals.users} 人"]
    lines.append(f"反馈：有帮助 {totals.helpful}，没帮助 {totals.unhelpful}")
    if report.unhelpful_entries:
        worst = "、".join(
            f"{_entry_label(s)} {s.unhelpful} 次" for s in report.unhelpful_entries[:3]
        )
        lines.append(f"“没帮助”最多：{worst}")
    fresh = new_clusters(report.clusters, previous.clusters if previous else ())
    if fresh:
        lines += ["", f"新出现的未回答问题（{len(fresh)} 组）："]
        lines += _cluster_lines(fresh, report.window.tz)
    else:
        lines += ["", "本周没有新的未回答问题。"]
    return _fit(lines)
