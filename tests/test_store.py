from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.store import MIGRATIONS, QuestionLog, QuestionRecord, StoreError


def record(question: str = "法律顾问覆盖情况", answered: bool = True) -> QuestionRecord:
    return QuestionRecord(
        channel="cli",
        question=question,
        normalised=question,
        answered=answered,
        outcome="answer" if answered else "none",
        entry_id="legal-adviser-coverage" if answered else None,
        score=0.9 if answered else 0.1,
    )


async def test_open_creates_file_directory_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "log.sqlite3"
    log = await QuestionLog.open(path)
    try:
        assert path.exists()
        assert await log.schema_version() == len(MIGRATIONS)
    finally:
        await log.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [row[0] for row in raw.execute("SELECT name FROM migrations ORDER BY rowid")]
    assert names == [name for name, _ in MIGRATIONS]


async def test_rows_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    log = await QuestionLog.open(path)
    await log.record(record("第一个问题"))
    await log.record(record("明天会下雨吗", answered=False))
    await log.close()

    log = await QuestionLog.open(path)
    try:
        assert await log.count() == 2
        newest, oldest = await log.rows()
        assert newest["question"] == "明天会下雨吗" and newest["answered"] == 0
        assert newest["entry_id"] is None and newest["channel"] == "cli"
        assert oldest["question"] == "第一个问题" and oldest["answered"] == 1
        assert str(oldest["asked_at"]).endswith("+00:00")
    finally:
        await log.close()


async def test_questions_are_stored_verbatim_even_when_they_look_like_sql(tmp_path: Path) -> None:
    log = await QuestionLog.open(tmp_path / "log.sqlite3")
    nasty = "'); DROP TABLE questions; -- 😀\x00"
    try:
        await log.record(record(nasty, answered=False))
        [row] = await log.rows()
        assert row["question"] == nasty
    finally:
        await log.close()


async def test_concurrent_writes_all_land(tmp_path: Path) -> None:
    log = await QuestionLog.open(tmp_path / "log.sqlite3")
    try:
        await asyncio.gather(*(log.record(record(f"问题{n}")) for n in range(200)))
        assert await log.count() == 200
    finally:
        await log.close()


async def test_a_newer_schema_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="newer"):
        await QuestionLog.open(path)


async def test_an_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open"):
        await QuestionLog.open(blocker / "log.sqlite3")


async def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        await QuestionLog.open(path)
    assert path.read_bytes().startswith(b"this is not a database")
