"""The question log in SQLite: every question asked, whether it was answered, and by which entry.

`SqliteQuestionLog` implements `bot.questionlog.protocol.QuestionLog`; open it with `bot.questionlog.opening.open_log`.
The only module that speaks SQL (and imports sqlite3 / aiosqlite); every statement is
parameterised. SQLite-only details stay here: `INDEXED BY` hints, `json_each` for lists of
values (`_in_values`), PRAGMAs, the online backup and `quick_check`. The schema evolves through
numbered migrations (sqlite-utils style): each is a small function registered in order by
`@migration`, applied once, and recorded with its time; PRAGMA user_version holds the count, so
an old file is upgraded in place without losing rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import tempfile
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.privacy import mask_json, mask_personal_data
from bot.questionlog.protocol import (
    DIRECTORY_MODE,
    FEEDBACK_CHOICES,
    FILE_MODE,
    PENDING_LIFETIME,
    REPORT_KEY_RE,
    REVIEW_MEMORY,
    DayCount,
    DuplicateRef,
    EntryCount,
    Handled,
    KnowledgeChange,
    LoggedQuestion,
    QuestionKey,
    QuestionRecord,
    RejectedRecord,
    StoreError,
    Totals,
    Wording,
    WordingWeek,
    summarise,
)

log = logging.getLogger(__name__)

# SQLite gives the -wal and -shm files the mode of the database file (FILE_MODE).
# The driver's errors, for callers that must tell "the log is unavailable" (bot.questionlog.opening.LOG_ERRORS).
DRIVER_ERRORS: tuple[type[BaseException], ...] = (sqlite3.DatabaseError,)

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register `fn` as the next migration; its name is recorded when it is applied."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
async def m001_create_questions(db: aiosqlite.Connection) -> None:
    await db.execute(
        """
        CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            asked_at TEXT NOT NULL,
            channel TEXT NOT NULL,
            question TEXT NOT NULL,
            normalised TEXT NOT NULL,
            answered INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            entry_id TEXT,
            score REAL
        )
        """
    )
    await db.execute("CREATE INDEX questions_asked_at ON questions (asked_at)")
    await db.execute("CREATE INDEX questions_answered ON questions (answered, asked_at)")


@migration
async def m002_people_suggestions_feedback(db: aiosqlite.Connection) -> None:
    """Who asked (chat type, keyed user hash), what was offered and taken, and feedback."""
    for column in (
        "chat_type TEXT",
        "user_hash TEXT",
        "suggestions TEXT NOT NULL DEFAULT '[]'",
        "suggestion_taken TEXT",
        "feedback INTEGER",
        "feedback_at TEXT",
    ):
        await db.execute(f"ALTER TABLE questions ADD COLUMN {column}")
    await db.execute("CREATE INDEX questions_user_hash ON questions (user_hash, asked_at)")


@migration
async def m003_question_ref(db: aiosqlite.Connection) -> None:
    """A reference the front end chooses before the row exists (see `new_ref`).

    The bot answers first and logs after, so it has no row id yet when it sends the 有帮助/没帮助
    buttons; it puts this reference in their callback data instead.
    """
    await db.execute("ALTER TABLE questions ADD COLUMN ref TEXT")
    await db.execute("CREATE UNIQUE INDEX questions_ref ON questions (ref)")


@migration
async def m004_feedback_choice(db: aiosqlite.Connection) -> None:
    """What the person chose after 没帮助: ask again, browse, or the official channel.

    Stored as one of `FEEDBACK_CHOICES`, so a reviewer can tell an answer that missed the
    question (asked again) from a question the report cannot answer (went to the channel).
    """
    await db.execute("ALTER TABLE questions ADD COLUMN feedback_choice TEXT")


@migration
async def m005_knowledge_changes_and_review(db: aiosqlite.Connection) -> None:
    """The admin loop: every knowledge edit with its text before and after (history and undo),
    the last text seen of each knowledge file (to notice hand edits), the unanswered clusters
    shown to admins under a stable key, which wordings are handled, and previews awaiting
    确认. All in the log's database, so every worker on it sees the same state.
    """
    await db.execute(
        """
        CREATE TABLE knowledge_changes (
            id INTEGER PRIMARY KEY,
            changed_at TEXT NOT NULL,
            folder TEXT NOT NULL,
            file TEXT NOT NULL,
            action TEXT NOT NULL,
            summary TEXT NOT NULL,
            entry_id TEXT,
            actor_hash TEXT,
            actor_name TEXT NOT NULL,
            before_text TEXT,
            after_text TEXT,
            undoes INTEGER,
            undone_by INTEGER
        )
        """
    )
    await db.execute("CREATE INDEX knowledge_changes_folder ON knowledge_changes (folder, id)")
    await db.execute(
        """
        CREATE TABLE knowledge_files (
            folder TEXT NOT NULL,
            file TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (folder, file)
        )
        """
    )
    await db.execute(
        """
        CREATE TABLE review_clusters (
            key TEXT PRIMARY KEY,
            shown_at TEXT NOT NULL,
            body TEXT NOT NULL
        )
        """
    )
    await db.execute(
        """
        CREATE TABLE review_handled (
            form TEXT PRIMARY KEY,
            cluster TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            actor_name TEXT NOT NULL,
            handled_at TEXT NOT NULL
        )
        """
    )
    await db.execute("CREATE INDEX review_handled_cluster ON review_handled (cluster)")
    await db.execute(
        """
        CREATE TABLE review_pending (
            token TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            body TEXT NOT NULL
        )
        """
    )


@migration
async def m006_mask_again(db: aiosqlite.Connection) -> None:
    """Mask what earlier versions stored in the clear: full-width digits, ID numbers ending in
    x or written with spaces, bank cards, and the whole `normalised` column (where addresses
    and ID numbers had lost the punctuation the old masking looked for), in the questions and
    in the review tables built from them. Rows are rewritten in place, only where masking
    changes them."""
    changed: list[tuple[str, str, int]] = []
    async with db.execute("SELECT id, question, normalised FROM questions") as cursor:
        while rows := await cursor.fetchmany(5000):
            for row_id, question, normalised in rows:
                masked = (mask_personal_data(question), mask_personal_data(normalised))
                if masked != (question, normalised):
                    changed.append((*masked, row_id))
    await db.executemany("UPDATE questions SET question = ?, normalised = ? WHERE id = ?", changed)
    async with db.execute("SELECT form FROM review_handled") as cursor:
        forms = [form for (form,) in await cursor.fetchall() if mask_personal_data(form) != form]
    for form in forms:  # two wordings may now be one: keep the first claim
        await db.execute(
            "UPDATE OR IGNORE review_handled SET form = ? WHERE form = ?",
            (mask_personal_data(form), form),
        )
        await db.execute("DELETE FROM review_handled WHERE form = ?", (form,))
    for table, key in (("review_clusters", "key"), ("review_pending", "token")):
        async with db.execute(f"SELECT {key}, body FROM {table}") as cursor:
            bodies = [(mask_json(body), name) for name, body in await cursor.fetchall()]
        await db.executemany(f"UPDATE {table} SET body = ? WHERE {key} = ?", bodies)


@migration
async def m007_unanswered_wording_index(db: aiosqlite.Connection) -> None:
    """Unanswered questions by wording, so review reads one wording's rows (its count per week,
    who asked, which suggestion they took) without touching the rest of the log. Partial (only
    unanswered rows) to stay small. A log of a million questions takes a few seconds to index,
    once."""
    await db.execute(
        """
        CREATE INDEX questions_unanswered_wording
        ON questions (question, asked_at, outcome, user_hash, suggestion_taken)
        WHERE answered = 0
        """
    )


@migration
async def m008_report(db: aiosqlite.Connection) -> None:
    """The report each question was answered from, when the knowledge base holds several side
    by side (`Reply.report`, "2020"); NULL for a base of one report and for replies that come
    from no report (small talk, empty or over-long messages)."""
    await db.execute("ALTER TABLE questions ADD COLUMN report TEXT")


@migration
async def m009_scheduled_runs(db: aiosqlite.Connection) -> None:
    """Runs of scheduled jobs claimed by one worker of several (the weekly digest's week, a
    broken knowledge edit's notice): the first to insert its key sends, the others see it
    taken (`claim_run`)."""
    await db.execute(
        """
        CREATE TABLE scheduled_runs (
            job TEXT NOT NULL,
            period TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            PRIMARY KEY (job, period)
        )
        """
    )


class SqliteQuestionLog:
    """An open SQLite question log (`bot.questionlog.protocol.QuestionLog`). Open it with
    `bot.questionlog.opening.open_log`, which calls `open`; close it with `close()`."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        path: Path,
        identity: tuple[int, int] | None = None,
        busy_timeout: float = 5.0,
    ) -> None:
        self._db = db
        self._report: str | None = None  # `only_report`
        self.path = path
        self._busy_timeout = busy_timeout
        self._identity = identity or _file_identity(path)

    @classmethod
    async def open(
        cls, path: Path, *, busy_timeout: float = 5.0, create: bool = True
    ) -> SqliteQuestionLog:
        """Open (creating the file and its directory if needed) and migrate to the latest schema.

        Args:
            busy_timeout: seconds to wait for another connection's lock before failing; the bot's
                background writer uses a short one and retries instead.
            create: False for review tools, which should say "nothing logged here" rather than
                leave an empty database behind a mistyped --db path.
        """
        if not create and not await asyncio.to_thread(path.is_file):
            raise StoreError(
                f"there is no question log at {path}: check --db / KBBOT_DB "
                "(nothing has been logged there yet)"
            )
        for _ in range(3):
            before = _file_identity(path)
            try:
                _create_private(path)
                db = await aiosqlite.connect(path, timeout=busy_timeout)
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(f"cannot open the question log at {path}: {exc}") from exc
            try:
                await _prepare(db, busy_timeout)
            except BaseException as exc:
                await db.close()
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"cannot prepare the question log at {path}: {exc}") from exc
                raise
            # The identity `moved()` compares against must be the file this connection opened.
            # If the path was replaced while connecting (a restore), open the new file instead.
            after = _file_identity(path)
            if before is None or before == after:
                return cls(db, path, after, busy_timeout)
            await db.close()
        raise StoreError(f"the question log at {path} kept being replaced while opening it")

    @property
    def location(self) -> str:
        return str(self.path)

    async def close(self) -> None:
        await self._db.close()

    def moved(self) -> bool:
        """Whether the file at `path` is gone or is no longer the one this connection opened.

        In WAL mode SQLite keeps writing to a deleted file without an error, and those rows
        vanish on close; a writer that checks this around each write can reopen instead.
        """
        return _file_identity(self.path) != self._identity

    async def record(self, item: QuestionRecord) -> int:
        """Append one question (masked when the record was built); returns its row id."""
        [row_id] = await self.record_many([item])
        return row_id

    async def record_many(self, items: Sequence[QuestionRecord]) -> list[int]:
        """Append several questions in one transaction (all or none); returns their row ids.

        One commit for a batch is what lets the background writer keep up with bursts.
        """
        ids: list[int] = []
        try:
            for item in items:
                cursor = await self._db.execute(_INSERT, _insert_params(item))
                ids.append(int(cursor.lastrowid or 0))
            await self._db.commit()
        except BaseException as exc:
            await _rollback_quietly(self._db)
            if isinstance(exc, sqlite3.IntegrityError):
                rejected = DuplicateRef if "ref" in str(exc) else RejectedRecord
                raise rejected(f"cannot store a question: {exc}") from exc
            raise
        return ids

    async def record_feedback(self, question: QuestionKey, helpful: bool) -> bool:
        """Attach 有帮助 (True) / 没帮助 (False) to a logged question; False if there is no such row.

        `question` is the row id or the record's `ref`.
        """
        column, key = _key(question)
        cursor = await self._db.execute(
            _FEEDBACK_SQL[column], (1 if helpful else -1, _timestamp(datetime.now(UTC)), key)
        )
        await self._db.commit()
        return cursor.rowcount > 0

    async def record_feedback_choice(self, question: QuestionKey, choice: str) -> bool:
        """Note what the person chose after 没帮助 (one of `FEEDBACK_CHOICES`); False if there
        is no such row, or the choice is not one of them (nothing is stored then)."""
        if choice not in FEEDBACK_CHOICES:
            log.warning("not storing an unknown feedback choice %r", choice)
            return False
        column, key = _key(question)
        cursor = await self._db.execute(_CHOICE_SQL[column], (choice, key))
        await self._db.commit()
        return cursor.rowcount > 0

    async def record_suggestion_taken(self, question: QuestionKey, entry_id: str) -> bool:
        """Note which offered suggestion the person picked; False if there is no such row."""
        column, key = _key(question)
        cursor = await self._db.execute(_TAKEN_SQL[column], (entry_id, key))
        await self._db.commit()
        return cursor.rowcount > 0

    async def count(self) -> int:
        async with self._db.execute("SELECT count(*) FROM questions") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def logged_refs(self, refs: Collection[str]) -> set[str]:
        """Which of `refs` name a question in the log (through the refs' unique index)."""
        async with self._db.execute(
            f"SELECT ref FROM questions WHERE {_in_values('ref')}", (_values(refs),)
        ) as cursor:
            return {str(ref) for (ref,) in await cursor.fetchall()}

    async def rows(self, limit: int = 100) -> list[dict[str, object]]:
        """The latest rows, newest first, as dicts (for tests and quick looks)."""
        self._db.row_factory = aiosqlite.Row
        try:
            async with self._db.execute(
                "SELECT * FROM questions ORDER BY id DESC LIMIT ?", (limit,)
            ) as cursor:
                return [dict(row) for row in await cursor.fetchall()]
        finally:
            self._db.row_factory = None

    async def schema_version(self) -> int:
        return await _user_version(self._db)

    async def only_report(self, report: str) -> None:
        """From now on, count only the questions answered from `report` ("2020": a knowledge
        base of several reports) in the review queries below, for a review split by report.

        Each review query's window condition gains `AND report = ?` (`_scoped`), a parameter
        like every other.

        Raises:
            StoreError: `report` is not a report's key.
        """
        if not REPORT_KEY_RE.fullmatch(report):
            raise StoreError(f"{report!r} is not a report: name it by its year, e.g. 2020")
        self._report = report

    def _window(self, start: datetime | None, end: datetime | None) -> tuple[str, ...]:
        """The parameters of a window condition (`_WINDOW`), with the report when split."""
        bounds = _bounds(start, end)
        return bounds if self._report is None else (*bounds, self._report)

    def _scoped(self, sql: str) -> str:
        """`sql` with its window condition narrowed to the report, when split by report."""
        return sql if self._report is None else sql.replace(_WINDOW, _WINDOW_IN_REPORT)

    # --- review queries (bot.review.report builds on these) -------------------------------------------
    # A window is [start, end); None leaves that side open. Timestamps are stored as UTC ISO
    # strings of one format, so comparing strings compares times and the asked_at index works.
    # None of these hands a window's rows to Python: they come back grouped (by day, by entry,
    # by wording), so memory stays bounded at any size of log, and each reads through an index
    # (`query_plans` shows how; tests/test_store_review.py checks it).

    async def overview(
        self, start: datetime | None, end: datetime | None, utc_offset_minutes: int = 0
    ) -> tuple[Totals, list[DayCount]]:
        """Volume, answered, distinct users, feedback and breakdowns for a window, and its
        answered / unanswered questions per calendar day in a zone `utc_offset_minutes` east of
        UTC (reviewers count days in their own time; days without questions are omitted).

        One pass over the window's rows for everything but the users, which are counted from
        their own index (counting them in the same pass would sort every row by user).
        """
        bounds = self._window(start, end)
        async with self._db.execute(
            self._scoped(_SUMMARY_SQL), (_day_modifier(utc_offset_minutes), *bounds)
        ) as cursor:
            groups = await cursor.fetchall()  # days x outcomes x channels: bounded
        async with self._db.execute(self._scoped(_USERS_SQL), bounds) as cursor:
            row = await cursor.fetchone()
        return summarise(groups, int(row[0]) if row else 0)

    async def entry_stats(self, start: datetime | None, end: datetime | None) -> list[EntryCount]:
        """Every entry served in a window with its feedback, most served first: one pass for
        both of the report's lists (the most served, and those with the most 没帮助).

        An entry is served when it answered the question or the person picked it from the
        suggestions; feedback on such a question is about that entry. There are as many rows
        as entries, so the list is as small as the knowledge base.
        """
        async with self._db.execute(self._scoped(_ENTRIES_SQL), self._window(start, end)) as cursor:
            rows = await cursor.fetchall()
        return [EntryCount(str(e), int(n), int(good), int(bad)) for e, n, good, bad in rows]

    async def unanswered_wordings(
        self,
        start: datetime | None,
        end: datetime | None,
        *,
        outcomes: Iterable[str],
        limit: int,
    ) -> list[Wording]:
        """The distinct unanswered wordings of a window with one of `outcomes`, most asked first
        (then the most recently asked), at most `limit` of them, each counted in full."""
        async with self._db.execute(
            self._scoped(_WORDINGS_SQL), (_values(outcomes), *self._window(start, end), limit)
        ) as cursor:
            rows = await cursor.fetchall()
        return [_wording(*row) for row in rows]

    async def latest_wordings(
        self, *, outcomes: Iterable[str], limit: int, rows_read: int | None = None
    ) -> list[Wording]:
        """The `limit` distinct unanswered wordings asked most recently, newest first, each
        counted over the whole log.

        The newest rows are read one batch at a time until `limit` wordings are found or
        `rows_read` rows (default 20 per wording) were read, so a busy log costs what its
        latest questions cost; then only those wordings are counted, through their index.
        """
        budget = rows_read if rows_read is not None else 20 * limit
        found: dict[str, str] = {}
        read = 0
        async with self._db.execute(
            self._scoped(_LATEST_SQL), (_values(outcomes), *self._window(None, None))
        ) as cursor:
            while len(found) < limit and read < budget:
                batch = list(await cursor.fetchmany(min(500, budget - read)))
                if not batch:
                    break
                read += len(batch)
                for question, normalised in batch:
                    found.setdefault(str(question), str(normalised))
                    if len(found) >= limit:
                        break
        if not found:
            return []
        async with self._db.execute(
            self._scoped(_WORDING_COUNTS_SQL),
            (_values(outcomes), *self._window(None, None), _values(found)),
        ) as cursor:
            rows = await cursor.fetchall()
        wordings = [
            _wording(question, found[str(question)], n, first, last)
            for question, n, first, last in rows
        ]
        return sorted(wordings, key=lambda w: (w.last_asked, w.question), reverse=True)

    async def wording_detail(
        self,
        questions: Collection[str],
        start: datetime | None,
        end: datetime | None,
        *,
        outcomes: Iterable[str],
        week: timedelta = timedelta(days=7),
    ) -> list[WordingWeek]:
        """The unanswered rows of `questions` (wordings exactly as stored) in a window, counted
        per wording, per `week` back from `end` and per suggestion taken: what a report shows
        of the clusters it lists (counts per week, suggestions people picked instead). With no
        `end`, every row is in week 0."""
        if not questions:
            return []
        bounds = self._window(start, end)
        async with self._db.execute(
            self._scoped(_DETAIL_SQL),
            (bounds[1], week.total_seconds(), _values(outcomes), *bounds, _values(questions)),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            WordingWeek(str(q), max(int(w or 0), 0), None if t is None else str(t), int(n))
            for q, w, t, n in rows
        ]

    async def wording_users(
        self,
        questions: Collection[str],
        start: datetime | None,
        end: datetime | None,
        *,
        outcomes: Iterable[str],
    ) -> int:
        """How many distinct people asked any of `questions` (unanswered) in a window."""
        if not questions:
            return 0
        async with self._db.execute(
            self._scoped(_WORDING_USERS_SQL),
            (_values(outcomes), *self._window(start, end), _values(questions)),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def earliest(self) -> datetime | None:
        """When the first question still in the log was asked; None for an empty log."""
        async with self._db.execute("SELECT min(asked_at) FROM questions") as cursor:
            row = await cursor.fetchone()
        return datetime.fromisoformat(str(row[0])) if row and row[0] is not None else None

    async def query_plans(self) -> dict[str, list[str]]:
        """How SQLite runs each review query (EXPLAIN QUERY PLAN, one line per step), for the
        tests and the benchmark: each should search an index, not scan the table."""
        bounds = _bounds(datetime.now(UTC) - timedelta(days=30), datetime.now(UTC))
        outcomes, wordings = _values(["none"]), _values(["护照怎么办理"])
        samples: dict[str, tuple[str, tuple[object, ...]]] = {
            "summary": (_SUMMARY_SQL, (_day_modifier(480), *bounds)),
            "users": (_USERS_SQL, bounds),
            "entries": (_ENTRIES_SQL, bounds),
            "wordings": (_WORDINGS_SQL, (outcomes, *bounds, 10)),
            "latest": (_LATEST_SQL, (outcomes, *_bounds(None, None))),
            "wording_counts": (_WORDING_COUNTS_SQL, (outcomes, *bounds, wordings)),
            "detail": (_DETAIL_SQL, (bounds[1], 604800.0, outcomes, *bounds, wordings)),
            "wording_users": (_WORDING_USERS_SQL, (outcomes, *bounds, wordings)),
        }
        plans: dict[str, list[str]] = {}
        for name, (sql, params) in samples.items():
            async with self._db.execute(f"EXPLAIN QUERY PLAN {sql}", params) as cursor:
                plans[name] = [str(row[3]) for row in await cursor.fetchall()]
        return plans

    async def unanswered(
        self,
        start: datetime | None,
        end: datetime | None,
        *,
        outcomes: Iterable[str],
        limit: int = 5000,
    ) -> list[LoggedQuestion]:
        """The latest unanswered questions with one of `outcomes`, newest first, row by row
        (review itself reads `unanswered_wordings`, which groups them)."""
        async with self._db.execute(
            f"""
            SELECT id, asked_at, question, normalised, outcome, user_hash, suggestions,
                   suggestion_taken
            FROM questions
            WHERE answered = 0 AND {_in_values("outcome")}
              AND asked_at >= ? AND asked_at < ?
            ORDER BY asked_at DESC, id DESC LIMIT ?
            """,
            (_values(outcomes), *_bounds(start, end), limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            LoggedQuestion(
                id=int(row_id),
                asked_at=datetime.fromisoformat(str(asked_at)),
                question=str(question),
                normalised=str(normalised),
                outcome=str(outcome),
                user_hash=None if user_hash is None else str(user_hash),
                suggestions=_entry_ids(suggestions),
                suggestion_taken=None if taken is None else str(taken),
            )
            for row_id, asked_at, question, normalised, outcome, user_hash, suggestions, taken in (
                rows
            )
        ]

    async def columns(self) -> list[str]:
        """The columns of the log, in table order (what `export` yields)."""
        async with self._db.execute("SELECT name FROM pragma_table_info('questions')") as cursor:
            return [str(name) for (name,) in await cursor.fetchall()]

    async def export(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncGenerator[dict[str, object], None]:
        """Every row in a window, oldest first, streamed (the log may be large)."""
        async with self._db.execute(
            "SELECT * FROM questions WHERE asked_at >= ? AND asked_at < ? ORDER BY id",
            _bounds(start, end),
        ) as cursor:
            names = [column[0] for column in cursor.description]
            async for row in cursor:
                yield dict(zip(names, row, strict=True))

    async def prune(self, before: datetime, *, dry_run: bool = False) -> int:
        """Delete questions asked before `before` (retention); returns how many (would) go."""
        bound = (_timestamp(before),)
        if dry_run:
            async with self._db.execute(
                "SELECT count(*) FROM questions WHERE asked_at < ?", bound
            ) as cursor:
                row = await cursor.fetchone()
            return int(row[0]) if row else 0
        cursor = await self._db.execute("DELETE FROM questions WHERE asked_at < ?", bound)
        await self._db.commit()
        return cursor.rowcount

    # --- the admin loop: knowledge history, review state, previews (bot.authoring.history, bot.authoring.teaching)

    async def record_change(
        self, draft: KnowledgeChange, write: Callable[[], Awaitable[None]] | None = None
    ) -> KnowledgeChange:
        """Record an edit (`draft`, its id ignored), remember the file's new text, and mark the
        change it reverts (if any) as undone, all in one transaction; returns it with its id.

        `write` puts the edit on disk inside that transaction, under the log's write lock,
        which `note_files` takes too: no process reloading meanwhile can mistake the edit for a
        hand edit. If `write` raises, nothing is recorded.
        """
        undoes = draft.undoes
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            change = await self._insert_change(draft)
            if undoes is not None:
                await self._db.execute(
                    "UPDATE knowledge_changes SET undone_by = ? WHERE id = ?", (change.id, undoes)
                )
            await self._set_file(draft.folder, draft.file, draft.after)
            if write is not None:
                await write()
            await self._db.commit()
        except BaseException:
            await _rollback_quietly(self._db)
            raise
        return change

    async def _insert_change(self, change: KnowledgeChange) -> KnowledgeChange:
        """Insert `change` (inside the caller's transaction); returns it with its row id."""
        cursor = await self._db.execute(
            """
            INSERT INTO knowledge_changes (changed_at, folder, file, action, summary, entry_id,
                actor_hash, actor_name, before_text, after_text, undoes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                _timestamp(change.changed_at),
                change.folder,
                change.file,
                change.action,
                change.summary,
                change.entry_id,
                change.actor_hash,
                change.actor_name,
                change.before,
                change.after,
                change.undoes,
            ),
        )
        return replace(change, id=int(cursor.lastrowid or 0))

    async def _set_file(self, folder: str, file: str, text: str | None) -> None:
        if text is None:
            await self._db.execute(
                "DELETE FROM knowledge_files WHERE folder = ? AND file = ?", (folder, file)
            )
        else:
            await self._db.execute(
                """
                INSERT INTO knowledge_files (folder, file, text) VALUES (?, ?, ?)
                ON CONFLICT (folder, file) DO UPDATE SET text = excluded.text
                """,
                (folder, file, text),
            )

    async def note_files(
        self,
        folder: str,
        current: Mapping[str, str],
        actor_name: str,
        describe: Callable[[str | None, str | None], str],
    ) -> list[KnowledgeChange]:
        """Compare the knowledge files on disk with their last recorded text and record each
        difference as a hand edit; the first time a folder is seen, remember it silently.

        One transaction under the write lock, so two workers reloading the same edit record it
        once.
        """
        changes: list[KnowledgeChange] = []
        now = datetime.now(UTC)
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            async with self._db.execute(
                "SELECT file, text FROM knowledge_files WHERE folder = ?", (folder,)
            ) as cursor:
                known = {str(f): str(t) for f, t in await cursor.fetchall()}
            first_time = not known
            for file in sorted(set(known) | set(current)):
                before, after = known.get(file), current.get(file)
                if before == after:
                    continue
                if not first_time:
                    draft = KnowledgeChange(
                        0,
                        now,
                        folder,
                        file,
                        "hand_edit",
                        describe(before, after),
                        None,
                        None,
                        actor_name,
                        before,
                        after,
                    )
                    changes.append(await self._insert_change(draft))
                await self._set_file(folder, file, after)
            await self._db.commit()
        except BaseException:
            await _rollback_quietly(self._db)
            raise
        return changes

    async def changes(self, folder: str, limit: int = 10) -> list[KnowledgeChange]:
        """The latest recorded changes of `folder`, newest first."""
        async with self._db.execute(
            f"{_CHANGE_SELECT} WHERE folder = ? ORDER BY id DESC LIMIT ?", (folder, limit)
        ) as cursor:
            return [_change(row) for row in await cursor.fetchall()]

    async def change(self, change_id: int) -> KnowledgeChange | None:
        async with self._db.execute(f"{_CHANGE_SELECT} WHERE id = ?", (change_id,)) as cursor:
            row = await cursor.fetchone()
        return _change(row) if row else None

    async def last_undoable(self, folder: str) -> KnowledgeChange | None:
        """The newest change of `folder` that is not an undo and was not undone."""
        async with self._db.execute(
            f"""{_CHANGE_SELECT} WHERE folder = ? AND undoes IS NULL AND undone_by IS NULL
            ORDER BY id DESC LIMIT 1""",
            (folder,),
        ) as cursor:
            row = await cursor.fetchone()
        return _change(row) if row else None

    async def save_review_cluster(self, key: str, body: Mapping[str, object]) -> None:
        """Remember a cluster as shown to an admin, so its buttons act on exactly that (for
        `REVIEW_MEMORY`: buttons on older messages say the cluster is gone)."""
        now = datetime.now(UTC)
        await self._db.execute(
            "DELETE FROM review_clusters WHERE shown_at < ?", (_timestamp(now - REVIEW_MEMORY),)
        )
        await self._db.execute(
            """
            INSERT INTO review_clusters (key, shown_at, body) VALUES (?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET shown_at = excluded.shown_at, body = excluded.body
            """,
            (key, _timestamp(now), json.dumps(body, ensure_ascii=False)),
        )
        await self._db.commit()

    async def review_cluster(self, key: str) -> dict[str, object] | None:
        async with self._db.execute(
            "SELECT body FROM review_clusters WHERE key = ?", (key,)
        ) as cursor:
            row = await cursor.fetchone()
        return _json_object(row[0]) if row else None

    async def claim_forms(
        self,
        cluster: str,
        forms: Sequence[str],
        *,
        action: str,
        target: str | None,
        actor_name: str,
    ) -> Handled | None:
        """Mark a cluster's wordings handled, unless one of them already is.

        Returns None when this call claimed them, else who handled them first: of two admins
        acting on the same cluster at once, exactly one wins.
        """
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            first = await self.handled(forms)  # read under the write lock just taken
            if first is not None:
                await self._db.rollback()
                return first
            now = _timestamp(datetime.now(UTC))
            await self._db.executemany(
                """
                INSERT INTO review_handled (form, cluster, action, target, actor_name, handled_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                [(form, cluster, action, target, actor_name, now) for form in dict.fromkeys(forms)],
            )
            await self._db.commit()
        except BaseException:
            await _rollback_quietly(self._db)
            raise
        return None

    async def release_forms(self, cluster: str) -> None:
        """Undo a claim whose edit then failed."""
        await self._db.execute("DELETE FROM review_handled WHERE cluster = ?", (cluster,))
        await self._db.commit()

    async def handled(self, forms: Sequence[str]) -> Handled | None:
        async with self._db.execute(
            f"{_HANDLED_SELECT} WHERE {_in_values('form')} ORDER BY handled_at LIMIT 1",
            (_values(forms),),
        ) as cursor:
            row = await cursor.fetchone()
        return _handled(row) if row else None

    async def handled_forms(self) -> frozenset[str]:
        """Every wording (as asked, or normalised) an admin has handled: left out of review."""
        async with self._db.execute("SELECT form FROM review_handled") as cursor:
            return frozenset(str(form) for (form,) in await cursor.fetchall())

    async def save_pending(self, token: str, body: Mapping[str, object]) -> None:
        """A previewed edit waiting for 确认; previews older than a day are dropped."""
        now = datetime.now(UTC)
        await self._db.execute(
            "DELETE FROM review_pending WHERE created_at < ?",
            (_timestamp(now - PENDING_LIFETIME),),
        )
        await self._db.execute(
            "INSERT INTO review_pending (token, created_at, body) VALUES (?, ?, ?)",
            (token, _timestamp(now), json.dumps(body, ensure_ascii=False)),
        )
        await self._db.commit()

    async def take_pending(self, token: str) -> dict[str, object] | None:
        """The preview `token` (removed: a 确认 pressed twice applies once), or None."""
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            async with self._db.execute(
                "SELECT body, created_at FROM review_pending WHERE token = ?", (token,)
            ) as cursor:
                row = await cursor.fetchone()
            await self._db.execute("DELETE FROM review_pending WHERE token = ?", (token,))
            await self._db.commit()
        except BaseException:
            await _rollback_quietly(self._db)
            raise
        if row is None:
            return None
        if datetime.fromisoformat(str(row[1])) < datetime.now(UTC) - PENDING_LIFETIME:
            return None
        return _json_object(row[0])

    async def claim_run(self, job: str, period: str) -> bool:
        """Claim `job`'s run for `period`: True for the first caller on this log, False for
        every later one (another worker already ran it). Claims older than `REVIEW_MEMORY`
        are forgotten."""
        now = datetime.now(UTC)
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            await self._db.execute(
                "DELETE FROM scheduled_runs WHERE claimed_at < ?",
                (_timestamp(now - REVIEW_MEMORY),),
            )
            cursor = await self._db.execute(
                "INSERT INTO scheduled_runs (job, period, claimed_at) VALUES (?, ?, ?) "
                "ON CONFLICT (job, period) DO NOTHING",
                (job, period, _timestamp(now)),
            )
            await self._db.commit()
        except BaseException:
            await _rollback_quietly(self._db)
            raise
        return cursor.rowcount == 1

    async def answered_questions(
        self, start: datetime | None, limit: int
    ) -> list[tuple[str, str, int]]:
        """Distinct answered questions since `start` with the entry they got, most asked first:
        the regression set a preview replays."""
        async with self._db.execute(
            """
            SELECT question, entry_id, count(*) AS n FROM questions
            WHERE answered = 1 AND entry_id IS NOT NULL AND asked_at >= ?
            GROUP BY question, entry_id ORDER BY n DESC, question LIMIT ?
            """,
            (_bounds(start, None)[0], limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [(str(q), str(e), int(n)) for q, e, n in rows]

    async def check(self) -> str | None:
        """The first problem with the log's file (`probe_file`), or None when it is healthy:
        probed on a connection of its own, so this one's transactions are left alone."""
        ok, detail = await asyncio.to_thread(probe_file, self.path, self._busy_timeout)
        return None if ok else detail

    async def backup(self, target: Path) -> None:
        """Copy the log to `target` with SQLite's online backup: consistent while the bot writes.

        The copy is written next to `target` and renamed into place, so `target` is never a
        half-written file, and it is a single self-contained file (no -wal beside it).
        """
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            await asyncio.to_thread(_prepare_backup_target, target, self.path)
            await asyncio.to_thread(_create_private, partial)
            # aiosqlite runs the copy in its own thread, hence check_same_thread=False.
            dest = sqlite3.connect(partial, check_same_thread=False)
            try:
                await self._db.backup(dest)
                dest.execute("PRAGMA journal_mode=DELETE")
            finally:
                dest.close()
            os.replace(partial, target)
        except (OSError, sqlite3.Error) as exc:
            partial.unlink(missing_ok=True)
            raise StoreError(f"cannot back up the question log to {target}: {exc}") from exc


_INSERT = """
    INSERT INTO questions
        (asked_at, channel, question, normalised, answered, outcome, entry_id, score,
         chat_type, user_hash, suggestions, ref, report)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_FEEDBACK_SQL = {
    "id": "UPDATE questions SET feedback = ?, feedback_at = ? WHERE id = ?",
    "ref": "UPDATE questions SET feedback = ?, feedback_at = ? WHERE ref = ?",
}
_CHOICE_SQL = {
    "id": "UPDATE questions SET feedback_choice = ? WHERE id = ?",
    "ref": "UPDATE questions SET feedback_choice = ? WHERE ref = ?",
}
_TAKEN_SQL = {
    "id": "UPDATE questions SET suggestion_taken = ? WHERE id = ?",
    "ref": "UPDATE questions SET suggestion_taken = ? WHERE ref = ?",
}


def _in_values(column: str) -> str:
    """`column IN (...)` against one parameter holding any number of values (`_values`).

    The only place that knows how: SQLite reads a JSON array with json_each; PostgreSQL would
    write `column = ANY(?)` with an array parameter.
    """
    return f"{column} IN (SELECT value FROM json_each(?))"


def _values(values: Iterable[str]) -> str:
    """The parameter for `_in_values`."""
    return json.dumps(list(values), ensure_ascii=False)


def _day_modifier(utc_offset_minutes: int) -> str:
    return f"{int(utc_offset_minutes):+d} minutes"


# Every review query selects its window with this condition (`QuestionLog._scoped` narrows
# it to one report when the review is split by report).
_WINDOW = "asked_at >= ? AND asked_at < ?"
_WINDOW_IN_REPORT = "asked_at >= ? AND asked_at < ? AND report = ?"
# One pass over a window's rows: everything `overview` reports but the users.
_SUMMARY_SQL = """
    SELECT date(asked_at, ?) AS day, answered, outcome, channel, count(*),
           coalesce(sum(feedback = 1), 0), coalesce(sum(feedback = -1), 0),
           count(suggestion_taken)
    FROM questions WHERE asked_at >= ? AND asked_at < ?
    GROUP BY day, answered, outcome, channel
"""
# Distinct users from the user index, walked in user order (each counted as it passes):
# the planner would otherwise take the window's rows by time and sort them all by user.
_USERS_SQL = """
    SELECT count(DISTINCT user_hash) FROM questions INDEXED BY questions_user_hash
    WHERE asked_at >= ? AND asked_at < ?
"""
# The entry a question was served: the suggestion the person picked, else the answer given.
_SERVED = (
    "CASE WHEN suggestion_taken IS NOT NULL THEN suggestion_taken "
    "WHEN answered = 1 THEN entry_id END"
)
_ENTRIES_SQL = f"""
    SELECT {_SERVED} AS served_entry, count(*) AS n,
           coalesce(sum(feedback = 1), 0), coalesce(sum(feedback = -1), 0)
    FROM questions WHERE asked_at >= ? AND asked_at < ? AND {_SERVED} IS NOT NULL
    GROUP BY served_entry ORDER BY n DESC, served_entry
"""
_UNANSWERED = f"answered = 0 AND {_in_values('outcome')} AND asked_at >= ? AND asked_at < ?"
_WORDINGS_SQL = f"""
    SELECT question, min(normalised), count(*) AS n, min(asked_at), max(asked_at) AS last
    FROM questions WHERE {_UNANSWERED}
    GROUP BY question ORDER BY n DESC, last DESC, question LIMIT ?
"""
# Newest first, in the order of the (answered, asked_at) index: read a batch at a time.
_LATEST_SQL = f"""
    SELECT question, normalised FROM questions
    WHERE answered = 0 AND {_in_values("outcome")} AND asked_at >= ? AND asked_at < ?
    ORDER BY asked_at DESC, id DESC
"""
# The rows of a few wordings, through their own index. Named, because without the planner's
# statistics (a log nobody ran ANALYZE on) SQLite cannot tell how few rows the wordings hold
# and would read every unanswered row of the window instead.
_BY_WORDING = "questions INDEXED BY questions_unanswered_wording"
_WORDING_COUNTS_SQL = f"""
    SELECT question, count(*), min(asked_at), max(asked_at)
    FROM {_BY_WORDING} WHERE {_UNANSWERED} AND {_in_values("question")}
    GROUP BY question
"""
# Weeks counted back from the window's end (0: the last 7 days), so the latest is whole.
_DETAIL_SQL = f"""
    SELECT question, CAST((julianday(?) - julianday(asked_at)) * 86400 / ? AS INTEGER) AS week,
           suggestion_taken, count(*)
    FROM {_BY_WORDING} WHERE {_UNANSWERED} AND {_in_values("question")}
    GROUP BY question, week, suggestion_taken
"""
_WORDING_USERS_SQL = f"""
    SELECT count(DISTINCT user_hash)
    FROM {_BY_WORDING} WHERE {_UNANSWERED} AND {_in_values("question")}
"""


def _wording(
    question: object, normalised: object, n: object, first: object, last: object
) -> Wording:
    return Wording(
        question=str(question),
        normalised=str(normalised),
        count=int(str(n)),
        first_asked=datetime.fromisoformat(str(first)),
        last_asked=datetime.fromisoformat(str(last)),
    )


_CHANGE_SELECT = """
    SELECT id, changed_at, folder, file, action, summary, entry_id, actor_hash, actor_name,
           before_text, after_text, undoes, undone_by
    FROM knowledge_changes
"""
_HANDLED_SELECT = "SELECT cluster, action, target, actor_name, handled_at FROM review_handled"


def _change(row: Sequence[object]) -> KnowledgeChange:
    (
        change_id,
        at,
        folder,
        file,
        action,
        summary,
        entry_id,
        actor_hash,
        actor_name,
        before,
        after,
        undoes,
        undone_by,
    ) = row
    return KnowledgeChange(
        id=int(str(change_id)),
        changed_at=datetime.fromisoformat(str(at)),
        folder=str(folder),
        file=str(file),
        action=str(action),
        summary=str(summary),
        entry_id=None if entry_id is None else str(entry_id),
        actor_hash=None if actor_hash is None else str(actor_hash),
        actor_name=str(actor_name),
        before=None if before is None else str(before),
        after=None if after is None else str(after),
        undoes=None if undoes is None else int(str(undoes)),
        undone_by=None if undone_by is None else int(str(undone_by)),
    )


def _handled(row: Sequence[object]) -> Handled:
    cluster, action, target, actor_name, at = row
    return Handled(
        str(cluster),
        str(action),
        None if target is None else str(target),
        str(actor_name),
        datetime.fromisoformat(str(at)),
    )


def _json_object(raw: object) -> dict[str, object] | None:
    try:
        value = json.loads(str(raw))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _insert_params(item: QuestionRecord) -> tuple[object, ...]:
    return (
        _timestamp(item.asked_at),
        item.channel,
        item.question,
        item.normalised,
        int(item.answered),
        item.outcome,
        item.entry_id,
        item.score,
        item.chat_type,
        item.user_hash,
        json.dumps(list(item.suggestions)),
        item.ref,
        item.report,
    )


def _create_private(path: Path) -> None:
    """Create `path` empty (a valid, empty SQLite database) with `FILE_MODE`, and its folder
    with `DIRECTORY_MODE`, unless they exist; an existing file keeps the mode it has."""
    path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def _prepare_backup_target(target: Path, source: Path) -> None:
    if target.exists() and target.resolve() == source.resolve():
        raise StoreError(f"{target} is the question log itself: choose another file")
    target.parent.mkdir(parents=True, exist_ok=True)


def _key(question: QuestionKey) -> tuple[str, QuestionKey]:
    return ("ref", question) if isinstance(question, str) else ("id", int(question))


def _entry_ids(raw: object) -> tuple[str, ...]:
    try:
        value = json.loads(str(raw)) if raw else []
    except ValueError:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


async def _rollback_quietly(db: aiosqlite.Connection) -> None:
    """Roll back after a failed write; the connection may itself be what failed."""
    with contextlib.suppress(sqlite3.Error, ValueError):
        await db.rollback()


async def _prepare(db: aiosqlite.Connection, busy_timeout: float, attempts: int = 6) -> None:
    """WAL mode, busy timeout and migrations, retried while another opener holds the file.

    Switching to WAL and upgrading to the write lock can fail with "database is locked" at once,
    without waiting for the busy timeout, when several processes open a fresh file together.
    """
    for attempt in range(attempts):
        try:
            # PRAGMA takes no parameters; this is an int we computed.
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await migrate(db)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.02 * 2**attempt)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _bounds(start: datetime | None, end: datetime | None) -> tuple[str, str]:
    """[start, end) as stored-format strings; "" and "~" sort before / after every timestamp."""
    return (
        _timestamp(start) if start is not None else "",
        _timestamp(end) if end is not None else "~",
    )


async def _user_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: aiosqlite.Connection, upto: int | None = None) -> int:
    """Apply every migration the file has not seen yet; returns the resulting version.

    `upto` stops after that many migrations (tests use it to build an old file to upgrade).
    """
    target = len(MIGRATIONS) if upto is None else upto
    await db.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    await db.commit()
    while True:
        # Read the version under the write lock: two processes opening a fresh file at once
        # must not both apply the same migration ("duplicate column name").
        await db.execute("BEGIN IMMEDIATE")
        try:
            version = await _user_version(db)
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"the question log has schema version {version}, newer than this kbbot "
                    f"({len(MIGRATIONS)}): upgrade kbbot"
                )
            if version >= target:
                await db.rollback()
                return version
            name, apply = MIGRATIONS[version]
            await apply(db)
            await db.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            # PRAGMA takes no parameters; the version is an int we computed, never user input.
            await db.execute(f"PRAGMA user_version = {int(version) + 1}")
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        log.info("question log migrated to version %d (%s)", version + 1, name)


# --- health: is the file writable and intact? ---------------------------------------------------

_SQLITE_CORRUPT = 11
# `PRAGMA quick_check` reads every page. The running bot's HTTP health route may be probed every
# few seconds, so a process checks a file again only once it has changed (its size, mtime or
# inode, or its -wal file's): the result for the file as it was, by its stat.
_quick_checks: dict[tuple[object, ...], str | None] = {}


def is_damaged(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) is SQLite saying the database file is damaged, as
    opposed to locked, read-only, missing or not a database at all."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.DatabaseError):
            code = getattr(seen, "sqlite_errorcode", None)
            if code is not None and code & 0xFF == _SQLITE_CORRUPT:
                return True
            if "malformed" in str(seen):
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def damaged_log_advice(path: Path, detail: str) -> str:
    """One line for a damaged question log: what is wrong, and the commands that fix it."""
    return (
        f"{path} is damaged ({_one_line(detail)}): stop the bot, move {path} "
        f"and any {path.name}-wal / -shm aside, then put your latest `kbbot log backup` copy in "
        f"its place (deploy/README.md, Backup and restore), or save what can still be read "
        f"with: sqlite3 {path} .recover | sqlite3 {path}.recovered, and use that file"
    )


def probe_file(path: Path, lock_wait: float) -> tuple[bool, str]:
    """Whether the question log at `path` can be written, without writing anything, and is
    intact: (ok, one line). What `kbbot health` and the bot's health route ask
    (`bot.questionlog.opening.check_log`), without opening the log (which would create and migrate it).

    An existing file is opened read-write and a write transaction is started and rolled back:
    that is what fails when the file is read-only, on a read-only or full file system, locked
    by another process, or not a database at all. Then `PRAGMA quick_check` reads every page
    (once per version of the file in one process): a damaged file is
    reported with the commands that restore or salvage it. A missing file is fine (the bot
    creates it) as long as its directory, or the nearest one that exists, accepts new files.
    """
    try:
        exists = path.exists()
    except OSError as exc:
        return (False, f"cannot reach {path}: {exc.strerror or exc}")
    if not exists:
        return _probe_creatable(path)
    try:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=lock_wait
        )
    except sqlite3.Error as exc:
        return (False, f"cannot open {path}: {exc}")
    try:
        connection.isolation_level = None  # we issue BEGIN/ROLLBACK ourselves
        [version] = connection.execute("PRAGMA user_version").fetchone()
        if int(version) > len(MIGRATIONS):
            return (
                False,
                f"{path} has schema version {version}, newer than this kbbot "
                f"({len(MIGRATIONS)}): upgrade kbbot",
            )
        connection.execute("BEGIN IMMEDIATE")
        try:
            # A real write, rolled back: BEGIN alone succeeds on a read-only file.
            connection.execute("CREATE TABLE kbbot_health_probe (x INTEGER)")
        finally:
            connection.execute("ROLLBACK")
        damage = _quick_check(connection, path)
    except sqlite3.Error as exc:
        if is_damaged(exc):
            return (False, damaged_log_advice(path, str(exc)))
        return (False, f"{path} is not writable: {exc}")
    finally:
        connection.close()
    if damage is not None:
        return (False, damaged_log_advice(path, damage))
    return (True, f"writable ({path})")


def _quick_check(connection: sqlite3.Connection, path: Path) -> str | None:
    """The first problem `PRAGMA quick_check` finds in the open log, or None when it is intact."""
    key: tuple[object, ...] = (str(path.resolve()),)
    for part in (path, path.with_name(f"{path.name}-wal")):
        try:
            info = part.stat()
        except OSError:
            key += (None,)
        else:
            key += (info.st_ino, info.st_size, info.st_mtime_ns)
    if key in _quick_checks:
        return _quick_checks[key]
    rows = connection.execute("PRAGMA quick_check(1)").fetchall()
    found = None if [tuple(row) for row in rows] == [("ok",)] else str(rows[0][0])
    if len(_quick_checks) > 64:
        _quick_checks.clear()
    _quick_checks[key] = found
    return found


def _probe_creatable(path: Path) -> tuple[bool, str]:
    directory = path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".kbbot-health-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return (False, f"cannot create {path}: {directory}: {reason}")
    return (True, f"not created yet; {directory} is writable")


def _one_line(text: str) -> str:
    return " ".join(text.split())
