from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from bot.answering.document import Sentence
from bot.answering.engine import Engine, Kind, Reply
from bot.answering.knowledge import Entry
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import QuestionRecord, StoreError
from bot.questionlog.records import record_for
from bot.questionlog.sqlite import MIGRATIONS
from bot.review.report import REVIEW_OUTCOMES
from tests.pglog import is_sqlite
from tests.reply_kinds import ALSO, reply_of_kind


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
    log = await open_log(path)
    try:
        assert path.exists()
        assert await log.schema_version() == len(MIGRATIONS)
    finally:
        await log.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [row[0] for row in raw.execute("SELECT name FROM migrations ORDER BY rowid")]
    assert names == [name for name, _ in MIGRATIONS]


async def test_rows_survive_reopening(log_db: Path | str) -> None:
    log = await open_log(log_db)
    await log.record(record("第一个问题"))
    await log.record(record("明天会下雨吗", answered=False))
    await log.close()

    log = await open_log(log_db)
    try:
        assert await log.count() == 2
        newest, oldest = await log.rows()
        assert newest["question"] == "明天会下雨吗" and newest["answered"] == 0
        assert newest["entry_id"] is None and newest["channel"] == "cli"
        assert oldest["question"] == "第一个问题" and oldest["answered"] == 1
        assert str(oldest["asked_at"]).endswith("+00:00")
    finally:
        await log.close()


async def test_questions_are_stored_verbatim_even_when_they_look_like_sql(
    log_db: Path | str,
) -> None:
    log = await open_log(log_db)
    nasty = "'); DROP TABLE questions; -- 😀\x00"
    try:
        await log.record(record(nasty, answered=False))
        [row] = await log.rows()
        # PostgreSQL's text cannot hold NUL: it keeps U+FFFD in its place (bot/questionlog/postgres.py).
        assert row["question"] == (nasty if is_sqlite(log_db) else nasty.replace("\x00", "\ufffd"))
    finally:
        await log.close()


async def test_concurrent_writes_all_land(log_db: Path | str) -> None:
    log = await open_log(log_db)
    try:
        await asyncio.gather(*(log.record(record(f"问题{n}")) for n in range(200)))
        assert await log.count() == 200
    finally:
        await log.close()


async def test_of_workers_claiming_one_scheduled_run_at_once_exactly_one_wins(
    log_db: Path | str,
) -> None:
    """Every worker schedules the weekly digest; the one that claims the week sends it."""
    logs = [await open_log(log_db) for _ in range(6)]
    try:
        claims = await asyncio.gather(*(log.claim_run("weekly_digest", "2024-W05") for log in logs))
        assert sorted(claims) == [False] * 5 + [True]
        assert await logs[0].claim_run("weekly_digest", "2024-W06")
        assert await logs[1].claim_run("another job", "2024-W05")
    finally:
        for log in logs:
            await log.close()


async def test_logged_refs_names_the_refs_whose_questions_are_in_the_log(
    log_db: Path | str,
) -> None:
    log = await open_log(log_db)
    try:
        for ref in ("ref-one", "ref-two", None):
            await log.record(dataclasses.replace(record(), ref=ref))
        assert await log.logged_refs(["ref-two", "ref-none", "ref-one"]) == {"ref-one", "ref-two"}
        assert await log.logged_refs([]) == set()
    finally:
        await log.close()


async def test_a_newer_schema_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="newer"):
        await open_log(path)


async def test_an_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open"):
        await open_log(blocker / "log.sqlite3")


async def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        await open_log(path)
    assert path.read_bytes().startswith(b"this is not a database")


async def test_upgrade_from_the_first_schema_keeps_rows(tmp_path: Path) -> None:
    import aiosqlite

    from bot.questionlog.sqlite import migrate

    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as db:
        assert await migrate(db, upto=1) == 1
        await db.execute(
            "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome)"
            " VALUES ('2020-01-01T00:00:00+00:00', 'cli', '旧问题', '旧问题', 0, 'none')"
        )
        await db.commit()
    log = await open_log(path)
    try:
        assert await log.schema_version() == len(MIGRATIONS)
        [old] = await log.rows()
        assert (
            old["question"] == "旧问题" and old["suggestions"] == "[]" and old["feedback"] is None
        )
        new_id = await log.record(record("新问题"))
        assert await log.count() == 2 and new_id == 2
    finally:
        await log.close()


async def test_personal_data_is_masked_before_storing(log_db: Path | str) -> None:
    log = await open_log(log_db)
    question = "我的电话13812345678，身份证42010619900101123X，邮箱 me@example.com"
    try:
        await log.record(record(question, answered=False))
        [row] = await log.rows()
        stored = f"{row['question']} {row['normalised']}"
        for secret in ("13812345678", "42010619900101123X", "me@example.com"):
            assert secret not in stored
        assert "[手机号]" in str(row["question"]) and "[身份证号]" in str(row["question"])
    finally:
        await log.close()


async def test_feedback_and_taken_suggestions_attach_to_their_question(log_db: Path | str) -> None:
    log = await open_log(log_db)
    try:
        offered = QuestionRecord(
            channel="telegram",
            question="行政复议",
            normalised="行政复议",
            answered=False,
            outcome="suggest",
            chat_type="private",
            user_hash="abc123",
            suggestions=("reconsideration-applications", "reconsideration-acceptance"),
        )
        question_id = await log.record(offered)
        assert await log.record_suggestion_taken(question_id, "reconsideration-acceptance")
        assert await log.record_feedback(question_id, helpful=False)
        assert not await log.record_feedback(question_id + 100, helpful=True)
        [row] = await log.rows()
        assert (
            row["suggestions"] == '["reconsideration-applications", "reconsideration-acceptance"]'
        )
        assert row["suggestion_taken"] == "reconsideration-acceptance"
        assert row["feedback"] == -1 and row["feedback_at"]
        assert row["user_hash"] == "abc123" and row["chat_type"] == "private"
    finally:
        await log.close()


async def test_what_was_chosen_after_not_helpful_is_stored_against_the_question(
    log_db: Path | str,
) -> None:
    log = await open_log(log_db)
    try:
        question_id = await log.record(record("法律顾问有哪些"))
        assert await log.record_feedback(question_id, helpful=False)
        assert await log.record_feedback_choice(question_id, "channel")
        assert not await log.record_feedback_choice(question_id + 1, "browse")  # no such row
        assert not await log.record_feedback_choice(question_id, "shrug")  # not a choice
        [row] = await log.rows()
        assert (row["feedback"], row["feedback_choice"]) == (-1, "channel")
    finally:
        await log.close()


async def test_a_log_from_before_feedback_choices_gains_the_column_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    import aiosqlite

    from bot.questionlog.sqlite import migrate

    path = tmp_path / "old.sqlite3"
    before = [name for name, _ in MIGRATIONS].index("m004_feedback_choice")
    async with aiosqlite.connect(path) as db:
        assert await migrate(db, upto=before) == before
        await db.execute(
            "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome,"
            " feedback, ref) VALUES ('2020-01-01T00:00:00+00:00', 'telegram', '旧问题', '旧问题',"
            " 1, 'answer', -1, 'oldref12345')"
        )
        await db.commit()
    log = await open_log(path)
    try:
        assert await log.record_feedback_choice("oldref12345", "ask_again")
        [row] = await log.rows()
        assert (row["question"], row["feedback"], row["feedback_choice"]) == (
            "旧问题",
            -1,
            "ask_again",
        )
    finally:
        await log.close()


async def test_opening_a_fresh_file_from_many_connections_at_once_migrates_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "race.sqlite3"
    logs = await asyncio.gather(*(open_log(path) for _ in range(6)))
    try:
        assert {await log.schema_version() for log in logs} == {len(MIGRATIONS)}
        with sqlite3.connect(path) as raw:
            names = [row[0] for row in raw.execute("SELECT name FROM migrations ORDER BY rowid")]
        assert names == [name for name, _ in MIGRATIONS]
    finally:
        for log in logs:
            await log.close()


# --- what each kind of reply leaves in the log ----------------------------------------------


def _entry(key: str) -> Entry:
    return Entry(id=key, topic=key, questions=(f"{key}?",), answer=f"{key}.", source="（二）")


def test_an_answer_is_logged_answered_with_its_entry_and_no_runners_up_as_suggestions() -> None:
    reply = Reply("q", Kind.ANSWER, "a.", entry=_entry("a"), also=(_entry("b"),))
    row = record_for(reply, "telegram")
    assert (row.outcome, row.answered, row.entry_id, row.suggestions) == ("answer", True, "a", ())


def test_a_partial_answer_is_logged_unanswered_with_the_entry_it_gave() -> None:
    reply = Reply("2020年复议申请有多少", Kind.PARTIAL, "报告没有…", entry=_entry("a"))
    row = record_for(reply, "telegram")
    assert (row.outcome, row.answered, row.entry_id) == ("partial", False, "a")


def test_a_quote_of_the_report_is_logged_answered_without_an_entry() -> None:
    quote = Sentence("立即督促相关行政单位规范改进到位。", "三、下步工作打算（二）")
    reply = Reply("q", Kind.PASSAGE, "报告原文：…", quote=quote)
    row = record_for(reply, "cli")
    assert (row.outcome, row.answered, row.entry_id) == ("passage", True, None)


def test_an_overview_is_logged_unanswered_with_the_sections_it_offered() -> None:
    reply = Reply("执法", Kind.OVERVIEW, "…", suggestions=(_entry("a"), _entry("b")))
    row = record_for(reply, "telegram")
    assert (row.outcome, row.answered, row.entry_id) == ("overview", False, None)
    assert row.suggestions == ("a", "b")


def test_small_talk_is_logged_as_its_own_outcome_not_as_a_question_left_unanswered() -> None:
    row = record_for(Reply("你好", Kind.SMALL_TALK, "您好！"), "telegram")
    assert (row.outcome, row.answered, row.entry_id, row.suggestions) == (
        "smalltalk",
        False,
        None,
        (),
    )
    assert row.outcome not in REVIEW_OUTCOMES


def test_several_questions_are_one_row_answered_only_when_every_part_is() -> None:
    answered = Reply("q1", Kind.ANSWER, "a.", entry=_entry("a"))
    unsure = Reply("q2", Kind.SUGGEST, "您是不是想问：", suggestions=(_entry("b"),))
    partial = Reply("q3", Kind.PARTIAL, "报告没有…", entry=_entry("c"))
    both = record_for(Reply("q", Kind.MULTI, "1. 2.", parts=(answered, answered)), "cli")
    assert (both.outcome, both.answered, both.entry_id, both.suggestions) == (
        "multi",
        True,
        None,
        (),
    )
    for parts in ((answered, unsure), (answered, partial)):
        row = record_for(Reply("q", Kind.MULTI, "1. 2.", parts=parts), "cli")
        assert (row.outcome, row.answered, row.entry_id, row.suggestions) == (
            "multi",
            False,
            None,
            (),
        )


async def test_each_new_kind_of_real_reply_is_stored_as_record_for_describes_it(
    log_db: Path | str, shipped_engine: Engine
) -> None:
    kinds = (ALSO, Kind.PARTIAL, Kind.PASSAGE, Kind.OVERVIEW, Kind.MULTI)
    replies = [reply_of_kind(shipped_engine, kind) for kind in kinds]
    log = await open_log(log_db)
    try:
        await log.record_many([record_for(reply, "cli") for reply in replies])
        rows = list(reversed(await log.rows()))
    finally:
        await log.close()
    stored = [(r["outcome"], r["answered"], r["entry_id"] is not None) for r in rows]
    assert stored == [
        ("answer", 1, True),
        ("partial", 0, True),
        ("passage", 1, False),
        ("overview", 0, False),
        ("multi", int(replies[-1].answered), False),
    ]
    assert rows[3]["suggestions"] == json.dumps([e.id for e in replies[3].suggestions])
    assert rows[4]["suggestions"] == "[]"
