"""The question log: every question asked, whether it was answered, and by which entry.

The only module that speaks SQL; every statement is parameterised. The schema evolves through
numbered migrations (sqlite-utils style): each is a small function registered in order by
`@migration`, applied once, and recorded with its time; PRAGMA user_version holds the count, so
an old file is upgraded in place without losing rows.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.privacy import mask_personal_data

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class QuestionRecord:
    """One row of the log, as a front end reports it."""

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


class StoreError(Exception):
    """The log could not be opened or written; the message says why in one line."""


class QuestionLog:
    """An open question log. Use `await QuestionLog.open(path)`, then `close()`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> QuestionLog:
        """Open (creating the file and its directory if needed) and migrate to the latest schema."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(path, timeout=5.0)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the question log at {path}: {exc}") from exc
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA busy_timeout=5000")
            await migrate(db)
        except BaseException as exc:
            await db.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot prepare the question log at {path}: {exc}") from exc
            raise
        return cls(db, path)

    async def close(self) -> None:
        await self._db.close()

    async def record(self, item: QuestionRecord) -> int:
        """Append one question, with personal data masked; returns its row id."""
        cursor = await self._db.execute(
            """
            INSERT INTO questions
                (asked_at, channel, question, normalised, answered, outcome, entry_id, score,
                 chat_type, user_hash, suggestions)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                _timestamp(item.asked_at),
                item.channel,
                mask_personal_data(item.question),
                mask_personal_data(item.normalised),
                int(item.answered),
                item.outcome,
                item.entry_id,
                item.score,
                item.chat_type,
                item.user_hash,
                json.dumps(list(item.suggestions)),
            ),
        )
        await self._db.commit()
        return int(cursor.lastrowid or 0)

    async def record_feedback(self, question_id: int, helpful: bool) -> bool:
        """Attach 有帮助 (True) / 没帮助 (False) to a logged question; False if there is no such row."""
        cursor = await self._db.execute(
            "UPDATE questions SET feedback = ?, feedback_at = ? WHERE id = ?",
            (1 if helpful else -1, _timestamp(datetime.now(UTC)), question_id),
        )
        await self._db.commit()
        return cursor.rowcount > 0

    async def record_suggestion_taken(self, question_id: int, entry_id: str) -> bool:
        """Note which offered suggestion the person picked; False if there is no such row."""
        cursor = await self._db.execute(
            "UPDATE questions SET suggestion_taken = ? WHERE id = ?", (entry_id, question_id)
        )
        await self._db.commit()
        return cursor.rowcount > 0

    async def count(self) -> int:
        async with self._db.execute("SELECT count(*) FROM questions") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

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


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


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
    version = await _user_version(db)
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the question log has schema version {version}, newer than this kbbot "
            f"({len(MIGRATIONS)}): upgrade kbbot"
        )
    for number, (name, apply) in enumerate(MIGRATIONS[version:target], start=version + 1):
        await db.execute("BEGIN IMMEDIATE")
        try:
            await apply(db)
            await db.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            # PRAGMA takes no parameters; `number` is an int we computed, never user input.
            await db.execute(f"PRAGMA user_version = {int(number)}")
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        log.info("question log migrated to version %d (%s)", number, name)
    return max(version, target)
