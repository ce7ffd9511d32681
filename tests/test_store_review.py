"""The question log's review side: the ref migration, queries, retention, export and backup."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.questionlog.opening import open_log
from bot.questionlog.protocol import DuplicateRef, QuestionRecord, StoreError
from bot.questionlog.records import new_ref
from bot.questionlog.sqlite import MIGRATIONS, migrate
from tests.pglog import BACKENDS, connect, fresh_schema, is_sqlite
from tests.review_helpers import NOW
from tests.review_log import fill_log, generate_rows


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
    log = await open_log(path)
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


async def test_a_ref_names_one_question_only(log_db: Path | str) -> None:
    log = await open_log(log_db)
    try:
        await log.record(record("一", ref="abc"))
        with pytest.raises(DuplicateRef):
            await log.record(record("二", ref="abc"))
        assert await log.count() == 1
        assert len(new_ref()) == 11 and new_ref() != new_ref()
    finally:
        await log.close()


async def test_record_many_is_all_or_nothing(log_db: Path | str) -> None:
    log = await open_log(log_db)
    try:
        with pytest.raises(DuplicateRef):
            await log.record_many([record("一", ref="x"), record("二", ref="x")])
        assert await log.count() == 0
        # Ids come in order; PostgreSQL's identity leaves a gap where a batch was rolled back.
        first, second = await log.record_many([record("一"), record("二")])
        assert second == first + 1 and (first == 1 or not is_sqlite(log_db))
    finally:
        await log.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_review_tools_do_not_create_a_log_that_is_not_there(
    tmp_path: Path, backend: str
) -> None:
    if backend == "sqlite":
        with pytest.raises(StoreError, match="no question log"):
            await open_log(tmp_path / "typo.sqlite3", create=False)
        assert not await asyncio.to_thread((tmp_path / "typo.sqlite3").exists)
        return
    with fresh_schema() as url:
        with pytest.raises(StoreError, match="no question log"):
            await open_log(url, create=False)
        with connect(url) as raw:
            tables = "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            assert raw.execute(tables).fetchone() == (0,)


async def test_unanswered_returns_only_the_asked_outcomes_newest_first(log_db: Path | str) -> None:
    log = await open_log(log_db)
    try:
        await log.record(record("旧", days_ago=2))
        await log.record(record("新", days_ago=1, suggestions=("a", "b")))
        await log.record(QuestionRecord("cli", "转介", "转介", False, "referral", asked_at=NOW))
        rows = await log.unanswered(None, None, outcomes=("none",))
        assert [q.question for q in rows] == ["新", "旧"]
        assert rows[0].suggestions == ("a", "b")
        window = await log.unanswered(NOW - timedelta(days=1.5), NOW, outcomes=("none",))
        assert [q.question for q in window] == ["新"]
    finally:
        await log.close()


async def test_wordings_come_grouped_with_their_counts_and_times(log_db: Path | str) -> None:
    log = await open_log(log_db)
    try:
        await log.record_many(
            [
                *(record("护照怎么办理", days_ago=d, user_hash=f"u{d % 2}") for d in (1, 2, 3)),
                record("护照怎么办理", days_ago=9),  # outside the window below
                record("怎么办护照", days_ago=0.5),
                record("社保怎么交", days_ago=0.2),
                record("社保怎么交", days_ago=0.1),
                QuestionRecord("cli", "转介", "转介", False, "referral", asked_at=NOW),
            ]
        )
        window = (NOW - timedelta(days=7), NOW)
        wordings = await log.unanswered_wordings(*window, outcomes=("none",), limit=10)
        assert [(w.question, w.count) for w in wordings] == [
            ("护照怎么办理", 3),
            ("社保怎么交", 2),
            ("怎么办护照", 1),
        ]
        passport = wordings[0]
        assert passport.first_asked == NOW - timedelta(days=3)
        assert passport.last_asked == NOW - timedelta(days=1)
        assert len(await log.unanswered_wordings(*window, outcomes=("none",), limit=1)) == 1

        latest = await log.latest_wordings(outcomes=("none",), limit=2)
        assert [(w.question, w.count) for w in latest] == [("社保怎么交", 2), ("怎么办护照", 1)]
        everything = await log.latest_wordings(outcomes=("none",), limit=10)
        assert ("护照怎么办理", 4) in [(w.question, w.count) for w in everything]  # all time
        assert len(await log.latest_wordings(outcomes=("none",), limit=10, rows_read=1)) == 1

        assert await log.wording_users(["护照怎么办理"], *window, outcomes=("none",)) == 2
        assert await log.wording_users([], *window, outcomes=("none",)) == 0
    finally:
        await log.close()


async def test_wording_detail_counts_weeks_back_from_the_end_and_suggestions_taken(
    log_db: Path | str,
) -> None:
    log = await open_log(log_db)
    try:
        ids = await log.record_many(
            [record("护照怎么办理", days_ago=d) for d in (0.5, 1, 6.9, 7.1, 20)]
        )
        await log.record_suggestion_taken(ids[0], "passports")
        rows = await log.wording_detail(
            ["护照怎么办理"], NOW - timedelta(days=21), NOW, outcomes=("none",)
        )
        by_week = {(r.week, r.taken): r.count for r in rows}
        assert by_week == {(0, "passports"): 1, (0, None): 2, (1, None): 1, (2, None): 1}
    finally:
        await log.close()


async def test_overview_counts_a_window_in_one_pass(log_db: Path | str) -> None:
    log = await open_log(log_db)
    try:
        await log.record_many(
            [
                record("一", days_ago=0.1, user_hash="a"),
                record("二", days_ago=1.1, user_hash="a"),
                QuestionRecord(
                    "inline", "三", "三", True, "answer", "e1", asked_at=NOW, user_hash="b"
                ),
                record("旧", days_ago=30, user_hash="c"),
            ]
        )
        totals, days = await log.overview(NOW - timedelta(days=7), NOW + timedelta(hours=1))
        assert (totals.questions, totals.answered, totals.users) == (3, 1, 2)
        assert totals.outcomes == {"none": 2, "answer": 1}
        assert totals.channels == {"cli": 2, "inline": 1}
        assert totals.unanswered_outcomes == {"none": 2}
        assert [(d.answered, d.unanswered) for d in days] == [(0, 1), (1, 1)]
        [entry] = await log.entry_stats(None, None)
        assert (entry.entry_id, entry.served) == ("e1", 1)
        assert await log.earliest() == NOW - timedelta(days=30)
    finally:
        await log.close()


def _table_scans(plans: dict[str, list[str]]) -> dict[str, list[str]]:
    """The steps of each plan that read the questions table whole rather than an index."""
    scans = {
        name: [step for step in steps if step.startswith("SCAN questions") and "INDEX" not in step]
        for name, steps in plans.items()
    }
    return {name: steps for name, steps in scans.items() if steps}


@pytest.mark.parametrize("analysed", [False, True])
async def test_review_queries_read_through_indexes(tmp_path: Path, analysed: bool) -> None:
    """Every review query searches an index, with or without the planner's statistics (a
    bot's log has none until someone runs ANALYZE), and the latest wordings come in index
    order: nothing sorts the whole log before the first row."""
    path = tmp_path / "log.sqlite3"
    await asyncio.to_thread(fill_log, path, generate_rows(3000, NOW, 30), analyse=analysed)
    log = await open_log(path)
    try:
        plans = await log.query_plans()
    finally:
        await log.close()
    assert _table_scans(plans) == {}
    assert all(any("INDEX" in step for step in steps) for steps in plans.values()), plans
    assert not [step for step in plans["latest"] if "TEMP B-TREE" in step]
    for name in ("wording_counts", "detail", "wording_users"):
        assert any("questions_unanswered_wording" in step for step in plans[name]), plans[name]


async def test_prune_deletes_only_what_is_older(log_db: Path | str) -> None:
    log = await open_log(log_db)
    try:
        await log.record_many([record(f"q{n}", days_ago=n * 50) for n in range(6)])
        cutoff = NOW - timedelta(days=180)
        assert await log.prune(cutoff, dry_run=True) == 2  # 200 and 250 days old
        assert await log.count() == 6
        assert await log.prune(cutoff) == 2
        assert await log.count() == 4
    finally:
        await log.close()


async def test_export_streams_every_column_in_order(log_db: Path | str) -> None:
    log = await open_log(log_db)
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
    writer = await open_log(source)
    reader = await open_log(source)
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
