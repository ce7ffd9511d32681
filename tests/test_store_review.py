"""The question log's review side: the ref migration, queries, retention, export and backup."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.store import MIGRATIONS, QuestionLog, QuestionRecord, StoreError, migrate, new_ref
from tests.review_helpers import NOW


def record(question: str, *, days_ago: float = 0.0, **extra: object) -> QuestionRecord:
    return QuestionRecord(
        channel="cli",
        question=question,
        normalised=question,
        answered=False,
        outcome="none",
        asked_at=NOW - timedelta(days=days_ago),
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("old_version", [1, 2])
async def test_every_old_schema_upgrades_to_the_latest_keeping_rows(
    tmp_path: Path, old_version: int
) -> None:
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as db:
        await migrate(db, upto=old_version)
        await db.execute(
            "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome)"
            " VALUES ('2020-01-01T00:00:00+00:00', 'cli', '旧问题', '旧问题', 0, 'none')"
        )
        await db.commit()
    log = await QuestionLog.open(path)
    try:
        assert await log.schema_version() == len(MIGRATIONS)
        [old] = await log.rows()
        assert old["question"] == "旧问题" and old["ref"] is None
        ref = new_ref()
        new_id = await log.record(record("新问题", ref=ref))
        assert await log.record_feedback(ref, helpful=True)
        assert await log.record_suggestion_taken(new_id, "law-firms")
    finally:
        await log.close()


async def test_a_ref_names_one_question_only(tmp_path: Path) -> None:
    log = await QuestionLog.open(tmp_path / "log.sqlite3")
    try:
        await log.record(record("一", ref="abc"))
        with pytest.raises(sqlite3.IntegrityError):
            await log.record(record("二", ref="abc"))
        assert await log.count() == 1
        assert len(new_ref()) == 11 and new_ref() != new_ref()
    finally:
        await log.close()


async def test_record_many_is_all_or_nothing(tmp_path: Path) -> None:
    log = await QuestionLog.open(tmp_path / "log.sqlite3")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            await log.record_many([record("一", ref="x"), record("二", ref="x")])
        assert await log.count() == 0
        assert await log.record_many([record("一"), record("二")]) == [1, 2]
    finally:
        await log.close()


async def test_review_tools_do_not_create_a_log_that_is_not_there(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no question log"):
        await QuestionLog.open(tmp_path / "typo.sqlite3", create=False)
    assert not (tmp_path / "typo.sqlite3").exists()


async def test_unanswered_returns_only_the_asked_outcomes_newest_first(tmp_path: Path) -> None:
    log = await QuestionLog.open(tmp_path / "log.sqlite3")
    try:
        await log.record(record("旧", days_ago=2))
        await log.record(record("新", days_ago=1, suggestions=("a", "b")))
        await log.record(QuestionRecord("cli", "转介", "转介", False, "referral", asked_at=NOW))
        rows = await log.unanswered(None, None, outcomes=("none",))
        assert [q.question for q in rows] == ["新", "旧"]
        assert rows[0].suggestions == ("a", "b")
        window = await log.unanswered(NOW - timedelta(days=1.5), NOW, outcomes=("none",))
        assert [q.question for q in window] == ["新"]
        with pytest.raises(ValueError, match="by must be"):
            await log.entry_counts(None, None, by="nonsense")
    finally:
        await log.close()


async def test_prune_deletes_only_what_is_older(tmp_path: Path) -> None:
    log = await QuestionLog.open(tmp_path / "log.sqlite3")
    try:
        await log.record_many([record(f"q{n}", days_ago=n * 50) for n in range(6)])
        cutoff = NOW - timedelta(days=180)
        assert await log.prune(cutoff, dry_run=True) == 2  # 200 and 250 days old
        assert await log.count() == 6
        assert await log.prune(cutoff) == 2
        assert await log.count() == 4
    finally:
        await log.close()


async def test_export_streams_every_column_in_order(tmp_path: Path) -> None:
    log = await QuestionLog.open(tmp_path / "log.sqlite3")
    try:
        await log.record_many([record(f"q{n}", days_ago=3 - n) for n in range(3)])
        columns = await log.columns()
        rows = [row async for row in log.export()]
        assert [row["question"] for row in rows] == ["q0", "q1", "q2"]
        assert list(rows[0]) == columns and "ref" in columns and "user_hash" in columns
        recent = [row async for row in log.export(NOW - timedelta(days=1.5), None)]
        assert [row["question"] for row in recent] == ["q2"]
    finally:
        await log.close()


async def test_backup_is_consistent_while_another_connection_writes(tmp_path: Path) -> None:
    source = tmp_path / "log.sqlite3"
    writer = await QuestionLog.open(source)
    reader = await QuestionLog.open(source)
    try:
        await writer.record_many([record(f"q{n}") for n in range(500)])

        async def keep_writing() -> None:
            for n in range(200):
                await writer.record(record(f"more{n}"))

        target = tmp_path / "backups" / "copy.sqlite3"
        await asyncio.gather(keep_writing(), reader.backup(target))
        with sqlite3.connect(target) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            copied = copy.execute("SELECT count(*) FROM questions").fetchone()[0]
            assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert 500 <= copied <= 700
        assert not list(target.parent.glob(".*partial"))
        with pytest.raises(StoreError, match="itself"):
            await reader.backup(source)
    finally:
        await writer.close()
        await reader.close()
