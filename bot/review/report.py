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

`weekly_digest` builds this week's report and the week before's totals and calls
`format_digest(report, previous)`: the unanswered clusters that are new or growing first, then
volume, answered rate (with the change) and feedback. Schedule it with
`job_queue.run_daily(job, time=datetime.time(9, 0, tzinfo=REPORT_TZ), days=(1,))` (Monday
09:00 Beijing time) and send the text to each admin. Pass the engine's current matcher
(`engine.matcher`), so clusters and entry names follow knowledge-base reloads.

Days are counted in Beijing time (`REPORT_TZ`, UTC+8, no daylight saving): the reviewers'
"Monday" is theirs, not UTC's. Unanswered questions are grouped with the matcher's own
normalisation (synonyms, numerals, fillers, traditional characters) and rapidfuzz scores, so
两种问法 of the same thing land in one cluster.

Every unanswered question in the window is counted. The log groups identical wordings first
(`QuestionLog.unanswered_wordings`: each with its count, first and last time), and the distinct
wordings are clustered, weighted by their counts: a wording asked 3,000 times costs what one
costs. A window with more than `CLUSTER_WORDINGS` distinct wordings clusters the most asked of
them and the report says how many questions those cover (`Report.covered`). The clusters listed
then get their count per week of the window and their count in the window before, of the same
length, which gives their trend (`trend`: new, growing, fading or steady).
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

from bot.answering.matcher import Matcher
from bot.answering.text import fuzzy_pinyin, tokens
from bot.questionlog.protocol import (
    DayCount,
    EntryCount,
    LoggedQuestion,
    QuestionLog,
    Totals,
    Wording,
)

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
# At most this many distinct wordings of a window are clustered, the most asked: it bounds the
# work (5,000 all-different wordings take about 3 s, in a worker thread so the bot keeps
# answering meanwhile) while every wording asked more than a few times is in. Beyond it the
# report says how many questions the clusters cover.
CLUSTER_WORDINGS = 5000
# /unanswered clusters the wordings asked most recently, each counted over the whole log.
LATEST_WORDINGS = 2000
# A cluster is growing when asked at least GROWTH times as often as in the window before and
# at least MIN_CHANGE times more (fading: the same the other way), new when not asked before.
GROWTH = 1.5
MIN_CHANGE = 3
TREND_NAMES = {"new": "新出现", "growing": "增多", "fading": "减少", "steady": "持平"}
WEEK = timedelta(days=7)
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

    def weeks(self) -> list[tuple[datetime, datetime]]:
        """The window in 7-day spans counted back from its end, oldest first: the latest is
        always a whole week (a trend is read at its end); the oldest is shorter when the window
        is not a whole number of weeks."""
        spans: list[tuple[datetime, datetime]] = []
        end = self.end
        while end > self.start:
            begin = max(end - WEEK, self.start)
            spans.append((begin, end))
            end = begin
        return spans[::-1]

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
    wordings: tuple[str, ...] = field(default=(), repr=False)  # every wording, as stored
    weekly: tuple[int, ...] = ()  # its count in each of `Report.weeks`, oldest first
    previous: int | None = None  # its count in the window before; None: not compared
    trend: str = ""  # new | growing | fading | steady (see `trend`); "": not compared


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
    # Unanswered questions whose wordings were clustered: all of them (`unanswered`) unless the
    # window had more than CLUSTER_WORDINGS distinct wordings.
    covered: int = 0
    weeks: tuple[tuple[datetime, datetime], ...] = ()  # `Window.weeks`, for `Cluster.weekly`
    log_start: datetime | None = None  # when the first question in the log was asked

    @property
    def answered_rate(self) -> float | None:
        """Share of questions answered from the knowledge base; None for an empty window."""
        total = self.totals.questions
        return self.totals.answered / total if total else None

    @property
    def fully_covered(self) -> bool:
        return self.covered >= self.unanswered

    @property
    def compared_in_full(self) -> bool:
        """Whether the log reaches back over the whole window the trends compare with (a log
        younger than that makes every cluster look new, or growing)."""
        start = self.window.previous().start
        return self.log_start is not None and self.log_start <= start


async def build_report(
    qlog: QuestionLog,
    window: Window,
    matcher: Matcher | None = None,
    top: int = 10,
    *,
    skip: frozenset[str] = frozenset(),
) -> Report:
    """Query the log for `window` and cluster its unanswered questions: every one of them
    (up to `CLUSTER_WORDINGS` distinct wordings), the clusters listed with their count per week
    and their trend against the window before.

    Args:
        matcher: the live matcher: names entries, normalises and finds each cluster's nearest
            entry. Without one, clusters use the normalised text stored at the time.
        top: how many entries and clusters to list.
        skip: wordings admins have handled (`QuestionLog.handled_forms`), left out of the
            clusters; the counts still include them.
    """
    return await _build(qlog, window, matcher, top, name_nearest=True, skip=skip)


async def _build(
    qlog: QuestionLog,
    window: Window,
    matcher: Matcher | None,
    top: int,
    *,
    name_nearest: bool = True,
    skip: frozenset[str] = frozenset(),
    clusters: bool = True,
) -> Report:
    start, end = window.start, window.end
    totals, per_day = await qlog.overview(start, end, window.utc_offset_minutes)
    counted = {d.day: d for d in per_day}
    days = tuple(counted.get(day, DayCount(day, 0, 0)) for day in window.days())
    entries = await qlog.entry_stats(start, end)
    disliked = sorted(
        (e for e in entries if e.unhelpful), key=lambda e: (-e.unhelpful, -e.served, e.entry_id)
    )
    unanswered = sum(totals.unanswered_outcomes.get(o, 0) for o in REVIEW_OUTCOMES)
    weeks = window.weeks()
    found: list[Cluster] = []
    open_clusters = covered = 0
    if clusters:
        wordings = await qlog.unanswered_wordings(
            start, end, outcomes=REVIEW_OUTCOMES, limit=CLUSTER_WORDINGS
        )
        covered = sum(w.count for w in wordings)
        before = window.previous()
        earlier = await qlog.unanswered_wordings(
            before.start, before.end, outcomes=REVIEW_OUTCOMES, limit=CLUSTER_WORDINGS
        )
        found, open_clusters = await asyncio.to_thread(
            _top_clusters,
            wordings,
            matcher,
            top,
            _most_asked,
            name_nearest=name_nearest,
            skip=skip,
            before=earlier,
        )
        found = await _detailed(qlog, found, start, end, weeks)
    return Report(
        window=window,
        generated_at=datetime.now(UTC),
        totals=totals,
        days=days,
        top_entries=tuple(_entry_stat(e, matcher) for e in entries[:top]),
        unhelpful_entries=tuple(_entry_stat(e, matcher) for e in disliked[:top]),
        clusters=tuple(found),
        unanswered=unanswered,
        open_clusters=open_clusters,
        covered=covered,
        weeks=tuple(weeks),
        log_start=await qlog.earliest(),
    )


async def _detailed(
    qlog: QuestionLog,
    clusters: Sequence[Cluster],
    start: datetime | None,
    end: datetime | None,
    weeks: Sequence[tuple[datetime, datetime]],
) -> list[Cluster]:
    """The listed clusters with what only their rows tell: the people who asked, the
    suggestions they took instead, and the count in each of `weeks` (none when empty)."""
    owner = {wording: n for n, cluster in enumerate(clusters) for wording in cluster.wordings}
    weekly = [[0] * len(weeks) for _ in clusters]
    taken: list[Counter[str]] = [Counter() for _ in clusters]
    for row in await qlog.wording_detail(list(owner), start, end, outcomes=REVIEW_OUTCOMES):
        n = owner.get(row.question)
        if n is None:
            continue
        if weeks:
            weekly[n][len(weeks) - 1 - min(row.week, len(weeks) - 1)] += row.count
        if row.taken:
            taken[n][row.taken] += row.count
    return [
        replace(
            cluster,
            users=await qlog.wording_users(cluster.wordings, start, end, outcomes=REVIEW_OUTCOMES),
            taken=_ranked(taken[n]),
            weekly=tuple(weekly[n]),
        )
        for n, cluster in enumerate(clusters)
    ]


def _ranked(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


async def latest_unanswered(
    qlog: QuestionLog,
    limit: int = 10,
    matcher: Matcher | None = None,
    *,
    skip: frozenset[str] = frozenset(),
) -> list[Cluster]:
    """The clusters of the most recently asked unanswered wordings, most recently asked first,
    each wording counted over the whole log, without the wordings in `skip` (handled by an
    admin)."""
    wordings = await qlog.latest_wordings(outcomes=REVIEW_OUTCOMES, limit=LATEST_WORDINGS)
    clusters, _ = await asyncio.to_thread(
        _top_clusters, wordings, matcher, limit, _latest_asked, skip=skip
    )
    return await _detailed(qlog, clusters, None, None, ())


async def weekly_digest(
    qlog: QuestionLog,
    matcher: Matcher | None = None,
    now: datetime | None = None,
    *,
    skip: frozenset[str] = frozenset(),
) -> Digest:
    """The admins' weekly message: what is new or growing among the unanswered questions, the
    last 7 days compared with the 7 before, and how many clusters are left for admins to handle
    (the Telegram digest adds a button for them)."""
    window = parse_window(since="7d", now=now)
    report = await build_report(qlog, window, matcher, skip=skip)
    previous = await _build(qlog, window.previous(), matcher, 0, clusters=False)
    return Digest(format_digest(report, previous), report.open_clusters)


def _entry_stat(entry: EntryCount, matcher: Matcher | None) -> EntryStat:
    known = matcher.kb.by_id.get(entry.entry_id) if matcher else None
    return EntryStat(
        entry.entry_id,
        known.topic if known else "",
        entry.served,
        entry.helpful,
        entry.unhelpful,
    )


def _most_asked(cluster: Cluster) -> tuple[float, float, str]:
    return (-cluster.count, -cluster.last_asked.timestamp(), cluster.key)


def _latest_asked(cluster: Cluster) -> tuple[float, float, str]:
    return (-cluster.last_asked.timestamp(), -cluster.count, cluster.key)


def _top_clusters(
    wordings: Sequence[Wording],
    matcher: Matcher | None,
    top: int,
    order: Callable[[Cluster], tuple[float, float, str]],
    *,
    name_nearest: bool = True,
    skip: frozenset[str] = frozenset(),
    before: Sequence[Wording] | None = None,
) -> tuple[list[Cluster], int]:
    """Cluster, keep the first `top` in `order`, compare them with the wordings of the window
    `before` (when given), number them and, for those only, find their nearest entry; also how
    many clusters there were in all. CPU-bound and pure: the async callers run it in a worker
    thread."""
    if skip:
        wordings = [w for w in wordings if not _handled(w, skip, matcher)]
    clusters = sorted(cluster_wordings(wordings, matcher), key=order)
    chosen = clusters[:top]
    if before is not None:
        earlier = [w for w in before if not _handled(w, skip, matcher)] if skip else before
        chosen = compare_clusters(chosen, earlier, matcher)
    named = [
        replace(
            cluster,
            number=number,
            nearest=nearest_entry(cluster.examples, matcher) if matcher and name_nearest else None,
        )
        for number, cluster in enumerate(chosen, start=1)
    ]
    return named, len(clusters)


def _handled(wording: Wording, skip: frozenset[str], matcher: Matcher | None) -> bool:
    """Whether an admin handled this wording: as asked, as normalised when logged, or as the
    live matcher normalises it (a synonym added since changes the normalised form)."""
    return (
        wording.question.strip() in skip
        or wording.normalised in skip
        or (matcher is not None and matcher.normalise(wording.question) in skip)
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


def cluster_wordings(
    wordings: Sequence[Wording],
    matcher: Matcher | None = None,
    threshold: float = CLUSTER_THRESHOLD,
) -> list[Cluster]:
    """Group near-duplicate wordings, each weighing as much as it was asked; unnumbered, in no
    particular order, without users or suggestions taken (those need the rows: `_detailed`).

    Wordings are normalised by the matcher (the stored normalised form without one), and
    identical forms merged; a wording that normalises to nothing (markup only, such as
    `<img src=x onerror=…>`) keeps its text as asked as its form, so it is still listed for
    review rather than left out of every cluster. Then, most asked first, each form not yet
    taken becomes a cluster's seed and takes every remaining form scoring at least `threshold`
    in `similarity` against it. Comparing with the seed only (not with every member) keeps one
    vague wording from chaining unrelated questions together.
    """
    groups: dict[str, list[Wording]] = {}
    for wording in wordings:
        groups.setdefault(_form_key(wording, matcher), []).append(wording)
    weight = {key: sum(w.count for w in group) for key, group in groups.items()}
    latest = {key: max(w.last_asked for w in group).timestamp() for key, group in groups.items()}
    keys = sorted(groups, key=lambda k: (-weight[k], -latest[k], k))
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
        for position in _similar(seed, chars, syllables, threshold):
            candidate = remaining[position]
            if not assigned[candidate]:
                assigned[candidate] = True
                members.append(candidate)
        stale += len(members)
        clusters.append(_cluster([keys[i] for i in sorted(members)], groups))
    return clusters


def _form_key(wording: Wording, matcher: Matcher | None) -> str:
    return (
        (matcher.normalise(wording.question) if matcher else "")
        or wording.normalised
        or " ".join(wording.question.split())
        or UNREADABLE_KEY
    )


def _similar(
    seed: _Form, chars: Sequence[str], syllables: Sequence[str], threshold: float
) -> list[int]:
    """Positions of the forms (given as their `chars` and `syllables`) at least `threshold`
    similar to `seed`, as `similarity` scores them."""
    found: list[int] = []
    for query, choices in ((seed.chars, chars), (seed.syllables, syllables)):
        found += [
            position
            for _, _, position in process.extract(
                query, choices, scorer=fuzz.ratio, score_cutoff=threshold, limit=None
            )
        ]
    return found


def _cluster(keys: Sequence[str], groups: Mapping[str, Sequence[Wording]]) -> Cluster:
    members = [w for key in keys for w in groups[key]]
    counts: Counter[str] = Counter()
    latest: dict[str, datetime] = {}
    for wording in members:
        text = wording.question.strip()
        counts[text] += wording.count
        latest[text] = max(latest.get(text, wording.last_asked), wording.last_asked)
    examples = sorted(counts, key=lambda w: (-counts[w], -latest[w].timestamp(), w))
    return Cluster(
        number=0,
        key=keys[0],
        count=sum(counts.values()),
        users=0,
        first_asked=min(w.first_asked for w in members),
        last_asked=max(w.last_asked for w in members),
        examples=tuple(examples[:MAX_EXAMPLES]),
        keys=tuple(keys),
        wordings=tuple(w.question for w in members),
    )


def cluster_questions(
    questions: Sequence[LoggedQuestion],
    matcher: Matcher | None = None,
    threshold: float = CLUSTER_THRESHOLD,
) -> list[Cluster]:
    """`cluster_wordings` for rows a caller already holds, with the users and the suggestions
    taken counted from them."""
    rows: dict[str, list[LoggedQuestion]] = {}
    for question in questions:
        rows.setdefault(question.question, []).append(question)
    wordings = [
        Wording(
            question=text,
            normalised=asked[0].normalised,
            count=len(asked),
            first_asked=min(q.asked_at for q in asked),
            last_asked=max(q.asked_at for q in asked),
        )
        for text, asked in rows.items()
    ]
    clusters = []
    for cluster in cluster_wordings(wordings, matcher, threshold):
        asked = [q for wording in cluster.wordings for q in rows[wording]]
        taken = Counter(q.suggestion_taken for q in asked if q.suggestion_taken)
        users = len({q.user_hash for q in asked if q.user_hash})
        clusters.append(replace(cluster, users=users, taken=_ranked(taken)))
    return clusters


def trend(current: int, previous: int) -> str:
    """new (not asked before), growing (at least GROWTH times as often and MIN_CHANGE more),
    fading (the same, fewer) or steady."""
    if not previous:
        return "new" if current else "steady"
    if current >= GROWTH * previous and current - previous >= MIN_CHANGE:
        return "growing"
    if previous >= GROWTH * current and previous - current >= MIN_CHANGE:
        return "fading"
    return "steady"


def compare_clusters(
    clusters: Sequence[Cluster],
    before: Sequence[Wording],
    matcher: Matcher | None = None,
    threshold: float = CLUSTER_THRESHOLD,
) -> list[Cluster]:
    """`clusters` with their count in the window before (`before`: its wordings) and their
    trend.

    A wording of the window before counts for the cluster holding its normalised form, else
    for the first cluster (most asked first) whose seed it is similar to: the rule the
    clustering follows, so a wording is counted where it would have been clustered.
    """
    home = {key: n for n, c in enumerate(clusters) for key in c.keys or (c.key,)}
    counts = [0] * len(clusters)
    strays: list[tuple[_Form, int]] = []
    for wording in before:
        key = _form_key(wording, matcher)
        if key in home:
            counts[home[key]] += wording.count
        else:
            strays.append((_Form.of(key), wording.count))
    chars = [form.chars for form, _ in strays]
    syllables = [form.syllables for form, _ in strays]
    counted = [False] * len(strays)
    for n in sorted(range(len(clusters)), key=lambda n: -clusters[n].count):
        for position in _similar(_Form.of(clusters[n].key), chars, syllables, threshold):
            if not counted[position]:
                counted[position] = True
                counts[n] += strays[position][1]
    return [
        replace(cluster, previous=counts[n], trend=trend(cluster.count, counts[n]))
        for n, cluster in enumerate(clusters)
    ]


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


def rising_clusters(clusters: Sequence[Cluster]) -> list[Cluster]:
    """The clusters that are new or growing against the window before (what the digest leads
    with)."""
    return [cluster for cluster in clusters if cluster.trend in ("new", "growing")]


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


def trend_text(cluster: Cluster, before: str = "上期") -> str:
    """A cluster's trend for people: 新出现, 增多，上期 4 次, 减少，上期 9 次 or 持平，上期 5 次;
    "" when it was not compared. `before` names the window before."""
    if not cluster.trend:
        return ""
    name = TREND_NAMES.get(cluster.trend, cluster.trend)
    return name if cluster.trend == "new" else f"{name}，{before} {cluster.previous} 次"


def coverage_text(report: Report) -> str:
    """What share of the unanswered questions the clusters cover; "" when all of them."""
    if report.fully_covered:
        return ""
    return (
        f"聚类覆盖了 {report.covered:,} / {report.unanswered:,} 条未回答问题"
        f"（问法太多，只聚类了问得最多的 {CLUSTER_WORDINGS:,} 种问法）"
    )


def comparison_text(report: Report) -> str:
    """What the trends compare with, and a warning when the log does not reach back over all
    of it (then more clusters look new than are)."""
    before = report.window.previous()
    span = Window(before.start, before.end, before.tz).describe()
    text = f"趋势与之前同样长的时段（{span}）相比"
    if not report.compared_in_full and report.log_start is not None:
        began = report.log_start.astimezone(report.window.tz)
        text += f"；日志从 {began:%Y-%m-%d} 才开始，那段时间的记录不全，趋势仅供参考"
    return text


def weeks_text(report: Report, width: int = 26) -> str:
    """How to read a `sparkline` of `Report.weeks` at most `width` wide."""
    weeks = report.weeks
    if not weeks:
        return ""
    run = -(-len(weeks) // width)
    tz = report.window.tz
    first = weeks[0][0].astimezone(tz)
    text = f"每周一栏：{first:%m-%d} 起，每格 {run} 周，最右一格是最近 7 天"
    cells = -(-len(weeks) // run)
    leftmost = weeks[: len(weeks) - run * (cells - 1)]  # the runs are counted from the latest
    days = (leftmost[-1][1] - leftmost[0][0]) / timedelta(days=1)
    if cells > 1 and days < 7 * run:
        text += f"；最左一格只有 {days:.3g} 天，次数自然少些"
    return text


SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(counts: Sequence[int], width: int = 26) -> str:
    """Counts as block characters (▁ for none, █ for the most), e.g. ▁▂▅█, at most `width`
    of them: more counts are summed in runs, counted from the latest, which stays whole."""
    values = list(counts)
    if len(values) > width > 0:
        run = -(-len(values) // width)
        values = [sum(values[max(end - run, 0) : end]) for end in range(len(values), 0, -run)]
        values.reverse()
    peak = max(values, default=0)
    if not peak:
        return SPARK_BLOCKS[0] * len(values)
    top = len(SPARK_BLOCKS) - 2
    return "".join(
        SPARK_BLOCKS[1 + round(v / peak * top)] if v else SPARK_BLOCKS[0] for v in values
    )


def _cluster_lines(
    clusters: Sequence[Cluster], tz: timezone, examples: int = 2, before: str = "上期"
) -> list[str]:
    lines = []
    for cluster in clusters:
        change = trend_text(cluster, before)
        lines.append(
            f"{cluster.number}. {_clip(cluster.examples[0])} —— {cluster.count} 次"
            f"{f'（{change}）' if change else ''}，"
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
        if coverage := coverage_text(report):
            lines.append(coverage)
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
    """The weekly digest: the unanswered clusters that are new or growing first (what admins
    can act on), then volume, answered rate and feedback.

    Args:
        previous: the report for the window before (`window.previous()`; its clusters are not
            needed): gives the changes in volume and answered rate.
    """
    totals = report.totals
    tz = report.window.tz
    lines = [f"每周问答摘要：{report.window.describe()}"]
    rising = rising_clusters(report.clusters)
    if rising:
        lines.append(f"新出现或增多的未回答问题（{len(rising)} 组）：")
        lines += _cluster_lines(rising, tz, before="上周")
    else:
        lines.append("本周没有新出现或增多的未回答问题。")
    fading = [c for c in report.clusters if c.trend == "fading"]
    if fading:
        lines.append(
            "比上周少的："
            + "、".join(
                f"{_clip(c.examples[0], 20)}（{c.previous} → {c.count} 次）" for c in fading[:3]
            )
        )
    volume = f"提问 {totals.questions} 条"
    rate = f"回答率 {_percent(report.answered_rate)}"
    if previous is not None:
        volume += f"（上周 {previous.totals.questions} 条）"
        if report.answered_rate is not None and previous.answered_rate is not None:
            change = (report.answered_rate - previous.answered_rate) * 100
            rate += f"（{change:+.1f} 个百分点）"
    lines += ["", f"{volume}，{rate}，提问用户 {totals.users} 人"]
    lines.append(f"反馈：有帮助 {totals.helpful}，没帮助 {totals.unhelpful}")
    if report.unhelpful_entries:
        worst = "、".join(
            f"{_entry_label(s)} {s.unhelpful} 次" for s in report.unhelpful_entries[:3]
        )
        lines.append(f"“没帮助”最多：{worst}")
    return _fit(lines)
