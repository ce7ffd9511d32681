"""The question log with several reports side by side: each answer's report in its own column
(migration m008_report), and the review split by report (`only_report`,
`kbbot report --report YEAR`)."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import aiosqlite
import pytest

from bot.answering.engine import Engine
from bot.cli.main import run
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import StoreError
from bot.questionlog.sqlite import MIGRATIONS, migrate
from tests.review_helpers import asked, seeded_log
from tests.several_reports import beside

WINDOW = ["--from", "2024-05-01", "--to", "2024-05-15"]


@pytest.fixture(scope="module")
def several_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return beside(tmp_path_factory.mktemp("reports") / "knowledge")


@pytest.fixture(scope="module")
def several(several_dir: Path) -> Engine:
    return Engine.from_directory(several_dir)


def seed(target: Path | str, several: Engine) -> Path | str:
    """A log at `target` of questions answered from each report."""
    records = [
        asked(several, "2019年收到多少行政复议申请", hours_ago=2, user="a"),
        asked(several, "2019年出庭应诉率是多少", hours_ago=3, user="b"),
        asked(several, "2020年收到多少行政复议申请", hours_ago=4, user="c"),
        asked(several, "你好", hours_ago=5, user="d"),
    ]

    async def write() -> None:
        await (await seeded_log(target, records)).close()

    asyncio.run(write())
    return target


@pytest.fixture
def db(log_db: Path | str, several: Engine) -> Path | str:
    """The seeded log, on each backend."""
    return seed(log_db, several)


async def test_an_old_log_gets_the_report_column_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as db:
        await migrate(db, upto=[name for name, _ in MIGRATIONS].index("m008_report"))
        await db.execute(
            "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome)"
            " VALUES ('2020-01-01T00:00:00+00:00', 'cli', '旧问题', '旧问题', 0, 'none')"
        )
        await db.commit()
    log = await open_log(path)
    try:
        [old] = await log.rows()
        assert old["question"] == "旧问题" and old["report"] is None
    finally:
        await log.close()


async def test_each_row_names_the_report_it_was_answered_from(db: Path | str) -> None:
    log = await open_log(db)
    try:
        rows = list(reversed(await log.rows()))
        assert [row["report"] for row in rows] == ["2019", "2019", "2020", None]
    finally:
        await log.close()


async def test_a_connection_can_read_only_one_reports_questions(db: Path | str) -> None:
    log = await open_log(db)
    try:
        await log.only_report("2019")
        totals, _ = await log.overview(None, None)
        assert totals.questions == 2
        await log.only_report("2020")  # another report, on the same connection
        totals, _ = await log.overview(None, None)
        assert totals.answered == 1
        [served] = await log.entry_stats(None, None)  # the one 2020 question's entry
        assert served.entry_id.startswith("2020-") and served.served == 1
        with pytest.raises(StoreError, match="not a report"):
            await log.only_report("2019' OR 1=1 --")
        assert await log.count() == 4  # the split is the review's: the log keeps every row
    finally:
        await log.close()
    other = await open_log(db)  # the split is this log object's alone
    try:
        totals, _ = await other.overview(None, None)
        assert totals.questions == 4
    finally:
        await other.close()


def test_kbbot_report_splits_by_report(several_dir: Path, several: Engine, tmp_path: Path) -> None:
    """SQLite only, for time (three runs of the command, each loading the knowledge base): the
    split itself is tested on both backends above, and the command reads through the same
    `QuestionLog` whichever it is."""
    db = seed(tmp_path / "log.sqlite3", several)
    argv = ["report", "--knowledge", str(several_dir), "--db", str(db), *WINDOW, "--format"]
    out = io.StringIO()
    assert run([*argv, "json", "--report", "2019"], out=out) == 0
    totals = json.loads(out.getvalue())["totals"]
    assert (totals["questions"], totals["answered"]) == (2, 2)
    out = io.StringIO()
    assert run([*argv, "json"], out=out) == 0
    assert json.loads(out.getvalue())["totals"]["questions"] == 4
    out = io.StringIO()
    assert run([*argv, "table", "--report", "2020"], out=out) == 0
    assert "提问 1 条，已回答 1 条" in out.getvalue()
