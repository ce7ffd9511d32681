"""The question log's seam: what callers may ask of a log, and the records it holds.

Every caller (the bot, the console, review tools, the health check) holds a `QuestionLog`
opened by `bot.questionlog.opening.open_log`; none knows which database is behind it. Two
classes implement it, the only modules that speak SQL: `bot.questionlog.sqlite.SqliteQuestionLog`
(the embedded default) and `bot.questionlog.postgres.PostgresQuestionLog` (a server shared by
several bot workers), chosen by KBBOT_DB (`bot.logurl.parse_log_url`). Pure: no I/O, no SQL, nothing from
answering or Telegram.
"""

from __future__ import annotations

import re
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.privacy import prepare_text

# The longest text a column holds: twice bot.answering.engine.MAX_INPUT_CHARS (tests/test_import_graph.py
# checks it). The engine already cuts questions at MAX_INPUT_CHARS, with a note of their
# length; this bounds records that did not come from it.
STORED_LIMIT = 2000
# What `only_report` accepts: a report's key (its year), or a folder-like name.
REPORT_KEY_RE = re.compile(r"[0-9A-Za-z_-]{1,32}")
# How long a previewed edit can wait for 确认, and a listed cluster for its buttons.
PENDING_LIFETIME = timedelta(days=1)
REVIEW_MEMORY = timedelta(days=90)
# The log holds what the public typed: only its owner may read it, and any file made from it.
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


class StoreError(Exception):
    """The log could not be opened or written; the message says why in one line."""


class RejectedRecord(StoreError):
    """The log refused a record (a constraint): writing it again will not help, but the other
    records of its batch may still be written one by one."""


class DuplicateRef(RejectedRecord):
    """A record's `ref` is already in the log: the question was logged before (the Telegram
    front end reuses an update's ref when it handles the update again after a restart)."""


# After 没帮助: asked again in other words, browsed the report, or took the official channel.
FEEDBACK_CHOICES: tuple[str, ...] = ("ask_again", "browse", "channel")


@dataclass(frozen=True)
class KnowledgeChange:
    """One recorded edit of a knowledge file (`knowledge_changes`)."""

    id: int
    changed_at: datetime
    folder: str  # the knowledge folder, resolved: several bots may share one log
    file: str  # the file's name in it
    action: str  # add_questions | add_synonym | hand_edit | undo
    summary: str
    entry_id: str | None
    actor_hash: str | None  # the admin's keyed hash; None from the shell or a hand edit
    actor_name: str
    before: str | None  # None: the file did not exist
    after: str | None  # None: the file was deleted
    undoes: int | None = None  # the change this one reverted
    undone_by: int | None = None


@dataclass(frozen=True)
class Handled:
    """Who already handled a wording of an unanswered cluster, and how."""

    cluster: str
    action: str  # attach | ignore | synonym
    target: str | None
    actor_name: str
    handled_at: datetime


@dataclass(frozen=True)
class QuestionRecord:
    """One row of the log, as a front end reports it: `question` and `normalised` are masked
    and capped (`__post_init__`) as soon as the record exists."""

    channel: str
    question: str
    normalised: str
    answered: bool
    outcome: str
    entry_id: str | None = None
    score: float | None = None
    asked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    chat_type: str | None = None
    user_hash: str | None = None  # bot.privacy.hash_user_id: never a raw id
    suggestions: tuple[str, ...] = ()  # entry ids offered, in order
    # bot.questionlog.records.new_ref(): lets feedback find the row before its id is known.
    ref: str | None = None
    report: str | None = None  # the report answered from, among several (`Reply.report`)

    def __post_init__(self) -> None:
        # The one place personal data is masked for the log: every record is built through here
        # (bot.questionlog.records.record_for, a test, a line read back from the writer's spill file), so
        # no backend, spill file or export can hold a text that was not.
        object.__setattr__(self, "question", prepare_text(self.question, STORED_LIMIT))
        object.__setattr__(self, "normalised", prepare_text(self.normalised, STORED_LIMIT))


# A logged question is named by its row id or by the `ref` its front end gave it.
QuestionKey = int | str


@dataclass(frozen=True)
class Totals:
    """Counts over a window of the log."""

    questions: int
    answered: int
    users: int  # distinct user hashes; console questions carry none
    helpful: int
    unhelpful: int
    suggestions_taken: int
    outcomes: Mapping[str, int]
    channels: Mapping[str, int]
    # Unanswered questions by outcome: a "multi" row may be either, a "partial" never answered.
    unanswered_outcomes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DayCount:
    day: date
    answered: int
    unanswered: int


@dataclass(frozen=True)
class EntryCount:
    """How often one entry was served (answered, or picked from suggestions), and its feedback."""

    entry_id: str
    served: int
    helpful: int
    unhelpful: int


@dataclass(frozen=True)
class LoggedQuestion:
    """One stored question, as review tools read it back (already masked)."""

    id: int
    asked_at: datetime
    question: str
    normalised: str
    outcome: str
    user_hash: str | None
    suggestions: tuple[str, ...]
    suggestion_taken: str | None


@dataclass(frozen=True)
class Wording:
    """One distinct unanswered question, as asked (masked), over a window: review clusters
    these rather than rows, so a wording asked 3,000 times costs what one costs."""

    question: str  # exactly as stored: the key for `wording_detail` and `wording_users`
    normalised: str  # as stored (one of its rows; the normalisation of the day it was logged)
    count: int
    first_asked: datetime
    last_asked: datetime


@dataclass(frozen=True)
class WordingWeek:
    """Rows of one wording in one week (`week` 0 is the last 7 days before the window's end),
    with the suggestion people took (None: the rows where they took none)."""

    question: str
    week: int
    taken: str | None
    count: int


def summarise(groups: Iterable[Sequence[object]], users: int) -> tuple[Totals, list[DayCount]]:
    """`QuestionLog.overview`'s result from its grouped rows, (day, answered, outcome, channel,
    count, helpful, unhelpful, suggestions taken) each: the one fold every backend uses, so
    they count alike. `day` is a date or its ISO text; None leaves the row out of the days."""
    counts = {"questions": 0, "answered": 0, "helpful": 0, "unhelpful": 0, "taken": 0}
    outcomes: dict[str, int] = {}
    channels: dict[str, int] = {}
    unanswered: dict[str, int] = {}
    days: dict[str, list[int]] = {}
    for day, answered, outcome, channel, n, good, bad, taken in groups:
        n = int(str(n))
        counts["questions"] += n
        counts["answered"] += n if answered else 0
        counts["helpful"] += int(str(good))
        counts["unhelpful"] += int(str(bad))
        counts["taken"] += int(str(taken))
        _add(outcomes, str(outcome), n)
        _add(channels, str(channel), n)
        if not answered:
            _add(unanswered, str(outcome), n)
        if day is not None:
            per_day = days.setdefault(str(day), [0, 0])
            per_day[0 if answered else 1] += n
    totals = Totals(
        questions=counts["questions"],
        answered=counts["answered"],
        users=users,
        helpful=counts["helpful"],
        unhelpful=counts["unhelpful"],
        suggestions_taken=counts["taken"],
        outcomes=_most_first(outcomes),
        channels=_most_first(channels),
        unanswered_outcomes=_most_first(unanswered),
    )
    return totals, [
        DayCount(date.fromisoformat(day), answered_n, unanswered_n)
        for day, (answered_n, unanswered_n) in sorted(days.items())
    ]


def _add(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def _most_first(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


class QuestionLog(Protocol):
    """An open question log: what every caller uses, whatever database is behind it.

    Open one with `bot.questionlog.opening.open_log` and close it (or leave the `async with`). Methods raise
    `StoreError` (or `DuplicateRef`) for what a person can act on; a backend's own driver errors
    are listed in `bot.questionlog.opening.LOG_ERRORS`. Times are aware datetimes; windows are [start, end)
    with None for open ends. Texts read back are as stored, already masked.
    """

    @property
    def location(self) -> str:
        """Where the log is, for messages (a file path; a URL without its password)."""
        ...

    async def close(self) -> None: ...

    def moved(self) -> bool:
        """Whether the log this connection writes to is no longer the one at its location (a
        file deleted or replaced by a restore): the background writer reopens when it is."""
        ...

    # --- recording (the bot's background writer) ---
    async def record(self, item: QuestionRecord) -> int:
        """Append one question; returns its row id."""
        ...

    async def record_many(self, items: Sequence[QuestionRecord]) -> list[int]:
        """Append several questions in one transaction (all or none); `DuplicateRef` when a
        `ref` is already logged."""
        ...

    async def record_feedback(self, question: QuestionKey, helpful: bool) -> bool: ...
    async def record_feedback_choice(self, question: QuestionKey, choice: str) -> bool: ...
    async def record_suggestion_taken(self, question: QuestionKey, entry_id: str) -> bool: ...

    # --- reading back (tests, `kbbot log`) ---
    async def count(self) -> int: ...
    async def logged_refs(self, refs: Collection[str]) -> set[str]:
        """Which of `refs` name a question in the log: the inbox replays an update only when
        its question is not there yet (bot/telegram/inbox.py)."""
        ...

    async def rows(self, limit: int = 100) -> list[dict[str, object]]: ...
    async def schema_version(self) -> int: ...
    async def earliest(self) -> datetime | None: ...
    async def only_report(self, report: str) -> None:
        """Narrow the review queries to the questions answered from one report."""
        ...

    async def columns(self) -> list[str]: ...
    def export(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncGenerator[dict[str, object], None]:
        """Every row in a window, oldest first, streamed."""
        ...

    # --- review queries (bot.review.report, bot.authoring.teaching) ---
    async def overview(
        self, start: datetime | None, end: datetime | None, utc_offset_minutes: int = 0
    ) -> tuple[Totals, list[DayCount]]: ...
    async def entry_stats(
        self, start: datetime | None, end: datetime | None
    ) -> list[EntryCount]: ...
    async def unanswered_wordings(
        self,
        start: datetime | None,
        end: datetime | None,
        *,
        outcomes: Iterable[str],
        limit: int,
    ) -> list[Wording]: ...
    async def latest_wordings(
        self, *, outcomes: Iterable[str], limit: int, rows_read: int | None = None
    ) -> list[Wording]: ...
    async def wording_detail(
        self,
        questions: Collection[str],
        start: datetime | None,
        end: datetime | None,
        *,
        outcomes: Iterable[str],
        week: timedelta = timedelta(days=7),
    ) -> list[WordingWeek]: ...
    async def wording_users(
        self,
        questions: Collection[str],
        start: datetime | None,
        end: datetime | None,
        *,
        outcomes: Iterable[str],
    ) -> int: ...
    async def unanswered(
        self,
        start: datetime | None,
        end: datetime | None,
        *,
        outcomes: Iterable[str],
        limit: int = 5000,
    ) -> list[LoggedQuestion]: ...
    async def answered_questions(
        self, start: datetime | None, limit: int
    ) -> list[tuple[str, str, int]]: ...
    async def query_plans(self) -> dict[str, list[str]]:
        """How the database runs each review query, for the bench and tests (backend-specific
        text: SQLite's EXPLAIN QUERY PLAN lines, PostgreSQL's EXPLAIN lines)."""
        ...

    # --- knowledge history (bot.authoring.history) ---
    async def record_change(
        self, draft: KnowledgeChange, write: Callable[[], Awaitable[None]] | None = None
    ) -> KnowledgeChange: ...
    async def note_files(
        self,
        folder: str,
        current: Mapping[str, str],
        actor_name: str,
        describe: Callable[[str | None, str | None], str],
    ) -> list[KnowledgeChange]: ...
    async def changes(self, folder: str, limit: int = 10) -> list[KnowledgeChange]: ...
    async def change(self, change_id: int) -> KnowledgeChange | None: ...
    async def last_undoable(self, folder: str) -> KnowledgeChange | None: ...

    # --- review state shared by every worker (bot.authoring.teaching) ---
    async def save_review_cluster(self, key: str, body: Mapping[str, object]) -> None: ...
    async def review_cluster(self, key: str) -> dict[str, object] | None: ...
    async def claim_forms(
        self,
        cluster: str,
        forms: Sequence[str],
        *,
        action: str,
        target: str | None,
        actor_name: str,
    ) -> Handled | None: ...
    async def release_forms(self, cluster: str) -> None: ...
    async def handled(self, forms: Sequence[str]) -> Handled | None: ...
    async def handled_forms(self) -> frozenset[str]: ...
    async def save_pending(self, token: str, body: Mapping[str, object]) -> None: ...
    async def take_pending(self, token: str) -> dict[str, object] | None: ...

    async def claim_run(self, job: str, period: str) -> bool:
        """Claim one run of a scheduled job (`job`, e.g. the weekly digest, for `period`, its
        week): True for the first worker on this log to ask, False for every other, so a job
        every worker schedules runs once."""
        ...

    # --- upkeep (`kbbot log prune|backup`, `kbbot health`) ---
    async def prune(self, before: datetime, *, dry_run: bool = False) -> int: ...
    async def backup(self, target: Path) -> None:
        """A consistent copy while the bot writes (SQLite's online backup); a server database
        raises `StoreError` saying which dump command to run instead."""
        ...

    async def check(self) -> str | None:
        """The first problem with the log (damaged pages, a schema newer than this kbbot, not
        writable), or None when it is healthy. Writes nothing."""
        ...
