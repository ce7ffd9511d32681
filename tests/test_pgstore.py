"""The PostgreSQL question log (bot/questionlog/postgres.py): what only a server database has
to get right.

The behaviour both logs share is tested on both (`log_db`, tests/conftest.py); here: the
migrations match SQLite's and upgrade an old schema, several workers write one database at
once, the review queries give SQLite's answers row for row and read through indexes, the
writer survives a lost connection and a lock, backup says how to use pg_dump (and that
command works), and the health check. Each test has a schema of its own (tests/pglog.py).
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import shlex
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bot.config import Config
from bot.logurl import parse_log_url
from bot.questionlog import postgres, sqlite
from bot.questionlog.opening import check_log, open_log
from bot.questionlog.postgres import PostgresQuestionLog
from bot.questionlog.protocol import DuplicateRef, QuestionLog, QuestionRecord, StoreError
from bot.questionlog.writer import Backoff, LogQueue
from bot.review.report import REVIEW_OUTCOMES
from tests.pglog import connect, fresh_schema
from tests.review_helpers import NOW
from tests.review_log import fill_log, generate_rows

FAST = Backoff(first=0.01, factor=2.0, longest=0.05, closing=0.02)


@pytest.fixture
def pg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of an empty schema of its own."""
    monkeypatch.setenv("KBBOT_DATA_DIR", str(tmp_path / "data"))
    with fresh_schema() as url:
        yield url


@pytest.fixture
async def pg_log(pg: str) -> AsyncIterator[QuestionLog]:
    log = await open_log(pg)
    yield log
    await log.close()


def record(question: str, *, ref: str | None = None, hours_ago: float = 1.0) -> QuestionRecord:
    return QuestionRecord(
        "telegram",
        question,
        question,
        False,
        "none",
        ref=ref,
        asked_at=NOW - timedelta(hours=hours_ago),
    )


# --- the schema --------------------------------------------------------------------------------


def test_the_migrations_are_sqlites_by_name_and_number() -> None:
    assert [name for name, _ in postgres.MIGRATIONS] == [name for name, _ in sqlite.MIGRATIONS]


async def test_a_fresh_database_is_migrated_once_by_workers_starting_together(pg: str) -> None:
    logs = await asyncio.gather(*(open_log(pg) for _ in range(6)))
    try:
        assert {await log.schema_version() for log in logs} == {len(postgres.MIGRATIONS)}
        assert isinstance(logs[0], PostgresQuestionLog)
    finally:
        for log in logs:
            await log.close()
    with connect(pg) as raw:
        names = [name for (name,) in raw.execute("SELECT name FROM migrations ORDER BY name")]
        assert names == sorted(name for name, _ in sqlite.MIGRATIONS)
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [
            (len(postgres.MIGRATIONS),)
        ]


async def build_old(url: str, upto: int) -> None:
    """The schema of an older kbbot: the first `upto` migrations only."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
        assert await postgres.migrate(db, upto=upto) == upto


@pytest.mark.parametrize("old_version", [1, 2, 7])
async def test_every_old_schema_upgrades_to_the_latest_keeping_rows(
    pg: str, old_version: int
) -> None:
    await build_old(pg, old_version)
    with connect(pg) as raw:
        raw.execute(
            "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome)"
            " VALUES ('2020-01-01T00:00:00+00:00', 'cli', '旧问题', '旧问题', 0, 'none')"
        )
    log = await open_log(pg)
    try:
        assert await log.schema_version() == len(postgres.MIGRATIONS)
        [old] = await log.rows()
        assert (old["question"], old["suggestions"], old["ref"]) == ("旧问题", "[]", None)
        assert old["asked_at"] == "2020-01-01T00:00:00.000+00:00"
        new_id = await log.record(record("新问题", ref="abc"))
        assert new_id == 2 and await log.record_feedback("abc", helpful=True)
    finally:
        await log.close()


async def test_an_upgrade_masks_what_older_masking_let_through(pg: str) -> None:
    await build_old(pg, [name for name, _ in postgres.MIGRATIONS].index("m006_mask_again"))
    with connect(pg) as raw:
        raw.execute(
            "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome)"
            " VALUES (now(), 'telegram', '电话１３８１２３４５６７８', '电话13812345678', 0, 'none')"
        )
        body = json.dumps({"examples": ["电话１３８１２３４５６７８"], "count": 12345678})
        raw.execute(
            "INSERT INTO review_clusters (key, shown_at, body) VALUES ('k', now(), %s)", (body,)
        )
        for form in ("电话13812345678", "电话１３８１２３４５６７８"):  # one wording, once masked
            raw.execute(
                "INSERT INTO review_handled (form, cluster, action, actor_name, handled_at)"
                " VALUES (%s, 'k', 'ignore', 'admin', now())",
                (form,),
            )
    log = await open_log(pg)
    try:
        [row] = await log.rows()
        assert (row["question"], row["normalised"]) == ("电话[手机号]", "电话[手机号]")
        assert await log.review_cluster("k") == {"examples": ["电话[手机号]"], "count": 12345678}
        assert await log.handled_forms() == frozenset({"电话[手机号]"})
    finally:
        await log.close()


async def test_a_newer_schema_is_refused_and_unhealthy(pg: str) -> None:
    await (await open_log(pg)).close()
    with connect(pg) as raw:
        raw.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(StoreError, match="newer than this kbbot"):
        await open_log(pg)
    ok, detail = check_log(pg, 1.0)
    assert not ok and "schema version 999, newer than this kbbot" in detail


# --- several workers, one database --------------------------------------------------------------


async def test_two_workers_writing_at_once_get_distinct_ids_and_one_wins_a_ref(pg: str) -> None:
    first, second = await open_log(pg), await open_log(pg)
    try:

        async def write(log: QuestionLog, name: str) -> list[int]:
            ids: list[int] = []
            for n in range(40):
                ids += await log.record_many([record(f"{name}{n}"), record(f"{name}{n}?")])
            return ids

        ids_a, ids_b = await asyncio.gather(write(first, "甲"), write(second, "乙"))
        assert len(set(ids_a) | set(ids_b)) == 160
        outcomes = await asyncio.gather(
            first.record(record("同一个", ref="shared")),
            second.record(record("同一个", ref="shared")),
            return_exceptions=True,
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["DuplicateRef", "int"]
        assert await first.count() == 161
    finally:
        await first.close()
        await second.close()


async def test_of_two_workers_claiming_one_cluster_exactly_one_wins(pg: str) -> None:
    logs = [await open_log(pg) for _ in range(4)]
    try:
        claims = await asyncio.gather(
            *(
                log.claim_forms(
                    "k",
                    ["护照怎么办理", "怎么办护照"],
                    action="ignore",
                    target=None,
                    actor_name=f"admin{n}",
                )
                for n, log in enumerate(logs)
            )
        )
        assert [c is None for c in claims].count(True) == 1
        winner = next(n for n, c in enumerate(claims) if c is None)
        assert {c.actor_name for c in claims if c is not None} == {f"admin{winner}"}
    finally:
        for log in logs:
            await log.close()


async def test_a_duplicate_ref_is_refused_as_on_sqlite(pg_log: QuestionLog) -> None:
    await pg_log.record(record("一", ref="r"))
    with pytest.raises(DuplicateRef):
        await pg_log.record_many([record("二"), record("三", ref="r")])
    assert await pg_log.count() == 1


# --- the same answers as SQLite ----------------------------------------------------------------


def varied_records(total: int = 1500, seed: int = 12) -> list[QuestionRecord]:
    """Questions over nine weeks with everything review looks at: ties in counts and times,
    wordings that sort differently by locale, users, reports, suggestions, microseconds."""
    rng = random.Random(seed)
    wordings = ["护照怎么办理", "怎么办护照", "Passport?", "passport?", "社保", "社保卡", "ä", "z"]
    outcomes = ["none", "suggest", "partial", "multi", "answer", "smalltalk", "empty"]
    records = []
    for n in range(total):
        outcome = rng.choice(outcomes)
        answered = outcome in ("answer", "multi") and rng.random() < 0.7
        question = rng.choice(wordings) if rng.random() < 0.8 else f"一次性问题{n}"
        moment = NOW - timedelta(
            seconds=rng.randrange(63 * 86400), microseconds=rng.randrange(10**6)
        )
        records.append(
            QuestionRecord(
                channel=rng.choice(["telegram", "inline", "cli"]),
                question=question,
                normalised=question.lower(),
                answered=answered,
                outcome=outcome,
                entry_id=rng.choice([None, "law-firms", "legal-adviser-coverage"]),
                score=rng.choice([None, 0.25, 0.9]),
                asked_at=moment,
                chat_type=rng.choice([None, "private", "group"]),
                user_hash=rng.choice([None, *(f"user{u}" for u in range(30))]),
                suggestions=tuple(rng.sample(["a", "b", "c"], rng.randrange(3))),
                ref=f"ref{n}",
                report=rng.choice([None, "2019", "2020"]),
            )
        )
    return records


async def answers(log: QuestionLog, records: list[QuestionRecord]) -> dict[str, object]:
    """Everything the review tools read from a log holding `records` (plus feedback)."""
    for start in range(0, len(records), 500):
        await log.record_many(records[start : start + 500])
    for n, item in enumerate(records[::7]):
        assert item.ref is not None
        await log.record_feedback(item.ref, helpful=n % 3 == 0)
        if n % 2:
            await log.record_suggestion_taken(item.ref, "law-firms" if n % 4 == 1 else "c")
        if n % 5 == 0:
            await log.record_feedback_choice(n + 1, "channel")
    week = (NOW - timedelta(days=7), NOW)
    quarter = (NOW - timedelta(days=70), NOW)
    found: dict[str, object] = {}
    for offset in (0, 480, -300):
        found[f"overview{offset}"] = await log.overview(*week, utc_offset_minutes=offset)
    found["overview_all"] = await log.overview(None, None, 480)
    found["entries"] = await log.entry_stats(*quarter)
    wordings = await log.unanswered_wordings(*quarter, outcomes=REVIEW_OUTCOMES, limit=50)
    found["wordings"] = wordings
    found["latest"] = await log.latest_wordings(outcomes=REVIEW_OUTCOMES, limit=5)
    found["latest_short"] = await log.latest_wordings(outcomes=["none"], limit=9, rows_read=40)
    questions = [w.question for w in wordings[:12]]
    found["detail"] = sorted(
        await log.wording_detail(questions, *quarter, outcomes=REVIEW_OUTCOMES),
        key=lambda w: (w.question, w.week, w.taken or ""),
    )
    found["detail_open"] = sorted(
        await log.wording_detail(questions, None, None, outcomes=["none"]),
        key=lambda w: (w.question, w.week, w.taken or ""),
    )
    found["users"] = await log.wording_users(questions, *week, outcomes=REVIEW_OUTCOMES)
    found["unanswered"] = await log.unanswered(*week, outcomes=REVIEW_OUTCOMES, limit=100)
    found["answered"] = await log.answered_questions(quarter[0], 20)
    found["earliest"] = await log.earliest()
    found["columns"] = await log.columns()
    # Feedback times are the moment of writing: whether there is one is what compares.
    found["export"] = [_timeless(row) async for row in log.export(*week)]
    found["rows"] = [_timeless(row) for row in await log.rows(20)]
    found["prune"] = await log.prune(NOW - timedelta(days=30), dry_run=True)
    await log.only_report("2019")
    found["report_overview"] = await log.overview(*quarter)
    found["report_entries"] = await log.entry_stats(*quarter)
    found["report_wordings"] = await log.unanswered_wordings(
        *quarter, outcomes=REVIEW_OUTCOMES, limit=20
    )
    return found


def _timeless(row: dict[str, object]) -> dict[str, object]:
    return {**row, "feedback_at": row["feedback_at"] is not None}


async def test_every_review_query_gives_sqlites_answer(pg: str, tmp_path: Path) -> None:
    records = varied_records()
    results = []
    for target in (tmp_path / "log.sqlite3", pg):
        log = await open_log(target)
        try:
            results.append(await answers(log, records))
        finally:
            await log.close()
    on_sqlite, on_postgres = results
    for name, expected in on_sqlite.items():
        assert on_postgres[name] == expected, name
    assert on_sqlite["wordings"] and on_sqlite["export"]  # the comparison compared something


@pytest.mark.parametrize("analysed", [False, True])
async def test_the_wording_queries_read_through_their_index(pg: str, analysed: bool) -> None:
    """Where an index is meaningful: a few wordings' rows among many, and the newest rows (in
    index order, not the log sorted). PostgreSQL takes no hints (SQLite's log names its
    indexes): once the planner has statistics, which autovacuum gathers on any log in use,
    the wording index answers alone (an index-only scan); before, an index on the time still
    keeps it from reading the whole table. The window's summaries read most of a window's
    rows, which the planner may rightly scan."""
    end = datetime.now(UTC)  # query_plans asks about the last 30 days
    await asyncio.to_thread(fill_log, pg, generate_rows(20_000, end, 30), analyse=analysed)
    log = await open_log(pg)
    try:
        plans = await log.query_plans()
    finally:
        await log.close()
    for name in ("latest", "wording_counts", "detail", "wording_users"):
        assert any("Index" in line for line in plans[name]), plans[name]
        assert not any("Seq Scan" in line for line in plans[name]), plans[name]
    assert any("Index Scan Backward" in line for line in plans["latest"]), plans["latest"]
    if analysed:
        for name in ("wording_counts", "detail", "wording_users"):
            wording_index = "Index Only Scan using questions_unanswered_wording"
            assert any(wording_index in line for line in plans[name]), plans[name]


# --- the writer, against a server that goes away or is locked ------------------------------------


async def test_the_writer_reconnects_when_the_server_drops_its_connection(
    pg: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"kbbot-{secrets.token_hex(4)}"  # this writer's connections, no other test's
    async with LogQueue(f"{pg}&application_name={name}", backoff=FAST) as queue:
        assert isinstance(await queue.submit(record("第一")), int)
        with connect(pg) as admin:  # what a server restart or failover does to the writer
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            )
        futures = [queue.submit(record(f"之后{n}")) for n in range(20)]
        await queue.flush()
        assert all(isinstance(f.result(), int) for f in futures)
        assert queue.failures >= 1 and "writable again" in caplog.text
    log = await open_log(pg)
    try:
        assert await log.count() == 21
    finally:
        await log.close()


async def test_a_locked_table_delays_only_the_log_and_a_shutdown_saves_what_is_left(
    pg: str, tmp_path: Path
) -> None:
    config = Config(knowledge_dir=tmp_path, db=parse_log_url(pg), data_dir=tmp_path / "data")
    await (await open_log(config)).close()
    with connect(pg) as locker:
        locker.execute("BEGIN")
        locker.execute("LOCK TABLE questions IN ACCESS EXCLUSIVE MODE")
        queue = LogQueue(config, busy_timeout=0.05, backoff=FAST)
        await queue.start()
        for n in range(5):
            queue.submit(record(f"我的电话13812345678，问题{n}"))
        async with asyncio.timeout(30):
            await queue.unavailable.wait()
        assert await queue.close(drain_for=0.2) == 5
        assert queue.spill_path.parent == tmp_path / "data"
        saved = queue.spill_path.read_text(encoding="utf-8")
        assert saved.count("\n") == 5 and "13812345678" not in saved
        locker.execute("ROLLBACK")
    async with LogQueue(config) as again:
        await again.submit(record("恢复后"))
    assert not queue.spill_path.exists()
    log = await open_log(config)
    try:
        assert await log.count() == 6
    finally:
        await log.close()


# --- upkeep: backup and health -----------------------------------------------------------------


async def test_backup_names_the_pg_dump_command_which_works(pg: str, tmp_path: Path) -> None:
    """The test server trusts local connections: the password in the URL goes unused."""
    target = tmp_path / "copy.dump"
    async with open_log(pg.replace("postgres@", "postgres:hunter2@", 1)) as log:
        await log.record(record("备份前的问题"))
        with pytest.raises(StoreError) as caught:
            await log.backup(target)
    message = str(caught.value)
    assert "\n" not in message and "hunter2" not in message
    assert message.count("pg_dump --format=custom") == 1 and "pg_restore" in message
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("no pg_dump on PATH to run the command with")
    command = message.split("pg_dump ", 1)[1].split(" (restore:", 1)[0]
    # The printed command dumps the whole database; here only this test's schema, since other
    # tests (other pytest workers) create and drop theirs meanwhile.
    schema = shlex.quote(pg.rsplit("search_path%3D", 1)[1])
    await asyncio.to_thread(
        subprocess.run,
        f"pg_dump {command} --schema={schema}",
        shell=True,
        check=True,
        capture_output=True,
    )
    listed = await asyncio.to_thread(
        subprocess.run, ["pg_restore", "--list", str(target)], check=True, capture_output=True
    )
    listing = listed.stdout.decode()
    assert "TABLE DATA" in listing and " questions " in listing


def test_kbbot_log_backup_says_to_use_pg_dump(pg: str, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import run

    assert run(["kb", "history", "--db", pg]) == 0  # creates the log
    assert run(["log", "backup", "copy.dump", "--db", pg]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("kbbot: error: the question log is in PostgreSQL") and err.count("\n") == 1
    )


async def test_the_health_check_of_an_empty_and_of_a_migrated_database(pg: str) -> None:
    ok, detail = check_log(pg, 1.0)
    assert ok and detail.startswith("not created yet") and "accepts connections" in detail
    log = await open_log(pg)
    try:
        assert await log.check() is None
    finally:
        await log.close()
    ok, detail = check_log(pg, 1.0)
    assert ok and detail.startswith("writable (postgresql://")


def test_kbbot_health_on_a_postgresql_log(
    pg: str, kb_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.main import run

    assert run(["health", "--knowledge", str(kb_dir), "--db", pg]) == 0
    assert "question log: not created yet" in capsys.readouterr().out


async def test_a_user_who_may_not_write_is_unhealthy(pg: str) -> None:
    await (await open_log(pg)).close()
    role = "kbbot_reader_" + pg.rsplit("kbbot_test_", 1)[1][:12]
    schema = "kbbot_test_" + pg.rsplit("kbbot_test_", 1)[1][:12]
    with connect(pg) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    try:
        reader = pg.replace("postgres@", f"{role}@", 1)
        ok, detail = check_log(reader, 1.0)
        assert not ok and f"{role} may not write the questions table: GRANT" in detail
        async with open_log(reader, create=False) as log:  # reading is fine
            assert await log.count() == 0
            assert "may not write" in str(await log.check())
    finally:
        with connect(pg) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")
