"""Building question logs for the review tests: real logs (a SQLite file, or a PostgreSQL schema:
tests/pglog.py) with rows at chosen times."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.answering.engine import Engine
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import QuestionLog, QuestionRecord
from bot.questionlog.records import record_for

# A fixed "now" so windows and day buckets are exact: Wednesday 2024-05-15 12:00 UTC
# (20:00 in Beijing).
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)


def asked(
    engine: Engine,
    question: str,
    *,
    hours_ago: float = 1.0,
    user: str | None = "u1",
    channel: str = "telegram",
    ref: str | None = None,
) -> QuestionRecord:
    """The record the bot would log for `question`, asked `hours_ago` before NOW."""
    reply = engine.respond(question)
    record = record_for(
        reply,
        channel,
        chat_type="private" if channel == "telegram" else None,
        user_hash=user,
        ref=ref,
    )
    return replace(record, asked_at=NOW - timedelta(hours=hours_ago))


async def seeded_log(path: Path | str, records: Iterable[QuestionRecord]) -> QuestionLog:
    log = await open_log(path)
    await log.record_many(list(records))
    return log
