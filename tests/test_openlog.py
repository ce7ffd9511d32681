"""Opening the question log: one function, chosen by the KBBOT_DB / --db setting."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from bot.cli.main import run
from bot.config import Config, ConfigError
from bot.questionlog.opening import check_log, open_log
from bot.questionlog.protocol import QuestionLog, QuestionRecord, StoreError, parse_log_url
from bot.questionlog.sqlite import SqliteQuestionLog

SECRET = "hunter2-password"


def test_a_plain_path_is_taken_as_given() -> None:
    assert parse_log_url("logs/questions.sqlite3").path == Path("logs/questions.sqlite3")
    assert parse_log_url("/var/lib/kbbot/q.sqlite3").scheme == "sqlite"


def test_sqlite_urls_follow_sqlalchemy_three_slashes_relative_four_absolute() -> None:
    assert parse_log_url("sqlite:///logs/q.sqlite3").path == Path("logs/q.sqlite3")
    assert parse_log_url("sqlite:////var/lib/kbbot/q.sqlite3").path == Path(
        "/var/lib/kbbot/q.sqlite3"
    )
    with pytest.raises(ValueError, match="names a file"):
        parse_log_url("sqlite://")


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://kbbot:{SECRET}@db.example/kbbot",
        f"postgres://kbbot:{SECRET}@db/kbbot",
        f"postgresql+asyncpg://kbbot:{SECRET}@db/kbbot",
    ],
)
def test_a_postgresql_url_is_refused_in_one_line_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"KBBOT_DB": url})
    message = str(caught.value)
    assert "PostgreSQL backend" in message and "not available yet" in message
    assert SECRET not in message and "\n" not in message


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown question log URL scheme 'mysql'"):
        Config.from_env({"KBBOT_DB": "mysql://x/y"})


def test_kbbot_db_as_a_path_or_a_url_names_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    assert Config.from_env({"KBBOT_DB": str(path)}).db_path == path
    assert Config.from_env({"KBBOT_DB": f"sqlite:///{path}"}).db_path == path


def test_the_cli_refuses_a_postgresql_db_before_doing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        run(["health", "--db", f"postgresql://kbbot:{SECRET}@db/kbbot"], out=io.StringIO())
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "PostgreSQL backend" in err and SECRET not in err


async def test_open_log_is_an_async_context_manager_and_an_awaitable(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    async with open_log(f"sqlite:///{path}") as qlog:
        assert isinstance(qlog, SqliteQuestionLog) and qlog.location == str(path)
        await qlog.record(QuestionRecord("cli", "问", "问", False, "none"))
    again: QuestionLog = await open_log(Config(knowledge_dir=tmp_path, db_path=path))
    try:
        assert await again.count() == 1
        assert await again.check() is None  # the health check asks the log
    finally:
        await again.close()


async def test_opening_a_postgresql_url_directly_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not available yet"):
        await open_log(f"postgresql://kbbot:{SECRET}@db/kbbot")


def test_check_log_reports_a_missing_file_it_could_create(tmp_path: Path) -> None:
    ok, detail = check_log(tmp_path / "new.sqlite3", lock_wait=0.1)
    assert ok and "not created yet" in detail


async def test_the_health_check_of_an_open_log_finds_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    async with open_log(path) as qlog:
        with sqlite3.connect(path) as raw:
            raw.execute("PRAGMA user_version = 999")
        problem = await qlog.check()
    assert problem is not None and "newer than this kbbot" in problem


def test_a_record_is_masked_once_when_it_is_built() -> None:
    record = QuestionRecord("cli", "电话13812345678", "电话 13812345678", False, "none")
    assert "13812345678" not in record.question + record.normalised
    again = QuestionRecord("cli", record.question, record.normalised, False, "none")
    assert (again.question, again.normalised) == (record.question, record.normalised)
