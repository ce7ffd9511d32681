"""Opening the question log: one function, chosen by the KBBOT_DB / --db setting."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from bot.cli.main import run
from bot.cli.settings import render
from bot.config import Config, ConfigError
from bot.logurl import LogURL, hide_password, parse_log_url
from bot.questionlog.opening import check_log, open_log
from bot.questionlog.protocol import QuestionLog, QuestionRecord, StoreError
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
        f"postgres://kbbot:{SECRET}@db.example/kbbot",
        f"postgresql+asyncpg://kbbot:{SECRET}@db.example/kbbot",
    ],
)
def test_a_postgresql_url_names_a_server_and_is_never_shown_with_its_password(url: str) -> None:
    config = Config.from_env({"KBBOT_DB": url})
    assert config.db.scheme == "postgresql" and config.db.path is None
    assert config.db.url == f"postgresql://kbbot:{SECRET}@db.example/kbbot"
    shown = [str(config.db), repr(config.db), repr(config), render(config)]
    assert all(SECRET not in text for text in shown)
    assert "KBBOT_DB=postgresql://kbbot:****@db.example/kbbot" in render(config)


def test_a_password_is_hidden_wherever_the_url_holds_it() -> None:
    assert hide_password(f"postgresql://u:{SECRET}@h:5/d?password={SECRET}&sslmode=require") == (
        "postgresql://u:****@h:5/d?password=****&sslmode=require"
    )
    assert hide_password(f"postgresql://u:p@ss{SECRET}@h/d", None) == "postgresql://u@h/d"
    assert hide_password("postgresql://u@h/d") == "postgresql://u@h/d"
    assert SECRET not in hide_password(f"postgresql://u:{SECRET}@[::1/d")  # malformed


def test_a_url_that_cannot_be_read_is_refused_in_one_line_without_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"KBBOT_DB": f"postgresql://kbbot:{SECRET}@db:port/kbbot"})
    assert "postgresql://user@host:5432/dbname" in str(caught.value)
    assert SECRET not in str(caught.value) and "\n" not in str(caught.value)


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown question log URL scheme 'mysql'"):
        Config.from_env({"KBBOT_DB": "mysql://x/y"})


def test_kbbot_db_as_a_path_or_a_url_names_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    assert Config.from_env({"KBBOT_DB": str(path)}).db.path == path
    assert Config.from_env({"KBBOT_DB": f"sqlite:///{path}"}).db.path == path


@pytest.mark.parametrize(
    "argv",
    [
        ["health"],
        ["report", "--since", "7d"],
        ["log", "export"],
        ["log", "backup", "copy.dump"],
        ["ask", "律所有哪些"],
    ],
)
def test_an_unreachable_server_is_one_line_without_the_password(
    argv: list[str],
    kb_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Port 1 on the loopback: nothing listens, so the connection is refused at once."""
    monkeypatch.setenv("KBBOT_DATA_DIR", str(tmp_path / "data"))  # `ask` saves its question
    monkeypatch.chdir(tmp_path)
    db = f"postgresql://kbbot:{SECRET}@127.0.0.1:1/kbbot"
    status = run([*argv, "--knowledge", str(kb_dir), "--db", db], out=io.StringIO())
    err = capsys.readouterr().err
    assert status == (0 if argv[0] == "ask" else 1)  # the answer goes out all the same
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "kbbot:****@127.0.0.1:1/kbbot" in err and SECRET not in err
    assert "refused" in err


async def test_open_log_is_an_async_context_manager_and_an_awaitable(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    async with open_log(f"sqlite:///{path}") as qlog:
        assert isinstance(qlog, SqliteQuestionLog) and qlog.location == str(path)
        await qlog.record(QuestionRecord("cli", "问", "问", False, "none"))
    again: QuestionLog = await open_log(Config(knowledge_dir=tmp_path, db=LogURL.file(path)))
    try:
        assert await again.count() == 1
        assert await again.check() is None  # the health check asks the log
    finally:
        await again.close()


async def test_opening_an_unreachable_server_directly_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot reach the question log") as caught:
        await open_log(f"postgresql://kbbot:{SECRET}@127.0.0.1:1/kbbot")
    assert SECRET not in str(caught.value) and "\n" not in str(caught.value)


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
