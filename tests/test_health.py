"""`kbbot health`: 0 when the knowledge base loads and the question log is writable, otherwise
1 and one line saying what is wrong and where (that line is what `docker inspect` shows)."""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answering.knowledge import load_knowledge
from bot.cli.main import run
from bot.health import check, check_database, check_knowledge
from bot.questionlog.opening import open_log
from bot.questionlog.sqlite import MIGRATIONS
from tests.unprivileged import unprivileged_prefix

ROOT = Path(__file__).resolve().parent.parent


def health(
    capsys: pytest.CaptureFixture[str], kb_dir: Path, db: Path, *extra: str
) -> tuple[int, str, str]:
    out = io.StringIO()
    status = run(["health", "--knowledge", str(kb_dir), "--db", str(db), *extra], out=out)
    return status, out.getvalue(), capsys.readouterr().err


def make_log(path: Path) -> Path:
    async def create() -> None:
        log = await open_log(path)
        await log.close()

    asyncio.run(create())
    return path


def test_healthy_installation_exits_0(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = make_log(tmp_path / "data" / "questions.sqlite3")
    status, out, err = health(capsys, kb_dir, db)
    assert (status, err) == (0, "")
    entries = len(load_knowledge(kb_dir).entries)
    assert out == f"ok: knowledge base: {entries} entries; question log: writable ({db})\n"


def test_a_log_not_created_yet_is_fine_when_its_directory_is_writable(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "new" / "deeper" / "questions.sqlite3"
    status, out, _ = health(capsys, kb_dir, db)
    assert status == 0 and f"not created yet; {tmp_path} is writable" in out
    assert not (tmp_path / "new").exists(), "the check must not create anything"
    assert [p.name for p in tmp_path.iterdir()] == ["knowledge"]


def one_line_failure(status: int, out: str, err: str) -> str:
    assert status == 1 and out == ""
    assert err.startswith("kbbot: unhealthy: ") and err.endswith("\n") and err.count("\n") == 1
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("entries:\n  - id: x\n    topic: [unclosed\n", "YAML 格式错误"),
        ("base: &a [1, 2]\nentries: *a\n", "锚点"),
        ("entries:" + " [" * 20 + " ]" * 20 + "\n", "嵌套层级过深"),
    ],
    ids=["syntax", "anchors", "nesting"],
)
def test_a_broken_knowledge_file_is_one_line_naming_the_file_and_line(
    kb_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    expected: str,
) -> None:
    broken = kb_dir / "50-broken.yaml"
    broken.write_text(content, encoding="utf-8")
    err = one_line_failure(*health(capsys, kb_dir, make_log(tmp_path / "q.sqlite3")))
    assert f"knowledge base: {broken}:" in err and expected in err
    assert "question log" not in err, "only failures are reported"


def test_a_huge_knowledge_file_is_unhealthy(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (kb_dir / "50-huge.yaml").write_text("# " + "x" * 1_100_000 + "\n", encoding="utf-8")
    err = one_line_failure(*health(capsys, kb_dir, make_log(tmp_path / "q.sqlite3")))
    assert "50-huge.yaml:0" in err and "文件过大" in err


def test_a_missing_knowledge_directory_is_unhealthy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = one_line_failure(*health(capsys, tmp_path / "nowhere", tmp_path / "q.sqlite3"))
    assert "知识库目录不存在" in err


def test_a_file_that_is_not_a_database_is_unhealthy(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "q.sqlite3"
    db.write_bytes(b"this is a backup restored to the wrong name\n" * 100)
    err = one_line_failure(*health(capsys, kb_dir, db))
    assert f"question log: {db} is not writable: file is not a database" in err


def test_a_log_from_a_newer_kbbot_is_unhealthy(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = make_log(tmp_path / "q.sqlite3")
    with sqlite3.connect(db) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    err = one_line_failure(*health(capsys, kb_dir, db))
    assert "newer than this kbbot" in err and "upgrade kbbot" in err


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A question log another process holds the write lock on until the fixture ends."""
    db = make_log(tmp_path / "q.sqlite3")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield db
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_a_log_locked_by_another_process_is_unhealthy(locked: Path) -> None:
    result = check_database(locked, lock_wait=0.1)
    assert not result.ok and result.detail == f"{locked} is not writable: database is locked"


def test_the_lock_is_only_unhealthy_while_it_is_held(tmp_path: Path) -> None:
    db = make_log(tmp_path / "q.sqlite3")
    with sqlite3.connect(db, isolation_level=None) as other:
        other.execute("BEGIN IMMEDIATE")
        assert not check_database(db, lock_wait=0.05).ok
        other.execute("ROLLBACK")
    assert check_database(db, lock_wait=0.05).ok


def health_process(
    kb_dir: Path, db: Path, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`kbbot health` as Docker runs it: a separate process, judged by exit status and output."""
    env = {**os.environ, "KBBOT_KNOWLEDGE": str(kb_dir), "KBBOT_DB": str(db)}
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "bot", "health"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def test_a_read_only_log_is_unhealthy(kb_dir: Path, tmp_path: Path) -> None:
    """The usual cause: a backup restored by root into a directory the bot's user owns."""
    prefix = unprivileged_prefix()
    db = make_log(tmp_path / "q.sqlite3")
    db.chmod(0o444)
    result = health_process(kb_dir, db, prefix)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"kbbot: unhealthy: question log: {db} is not writable: "
        "attempt to write a readonly database\n"
    )
    # SQLite gave the -wal and -shm files it created the database file's mode: fix them all.
    for path in tmp_path.glob("q.sqlite3*"):
        path.chmod(0o644)
    assert health_process(kb_dir, db, prefix).returncode == 0


def test_a_log_that_cannot_be_created_is_unhealthy(kb_dir: Path, tmp_path: Path) -> None:
    prefix = unprivileged_prefix()
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    result = health_process(kb_dir, read_only / "data" / "q.sqlite3", prefix)
    assert result.returncode == 1
    assert f"cannot create {read_only}/data/q.sqlite3: {read_only}: Permission denied" in (
        result.stderr
    )


def test_the_check_writes_nothing(tmp_path: Path) -> None:
    db = make_log(tmp_path / "q.sqlite3")
    before = db.read_bytes()
    with sqlite3.connect(db) as raw:
        tables = raw.execute("SELECT name FROM sqlite_master").fetchall()
    assert check_database(db).ok
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT name FROM sqlite_master").fetchall() == tables
    assert db.read_bytes() == before


def test_a_served_knowledge_base_is_not_parsed_again(kb_dir: Path) -> None:
    """The running bot's HTTP probe passes what it serves; unchanged files need no load."""
    kb = load_knowledge(kb_dir)
    (kb_dir / "50-broken.yaml").write_text("entries: [\n", encoding="utf-8")
    assert not check_knowledge(kb_dir, served=kb).ok, "the files changed: they are checked"
    (kb_dir / "50-broken.yaml").unlink()
    assert check_knowledge(kb_dir, served=kb).detail == f"{len(kb.entries)} entries"


def test_a_malformed_token_is_unhealthy_without_echoing_it(
    kb_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KBBOT_TOKEN", "123456:short-but-secret-Zq9")
    status, out, err = health(capsys, kb_dir, tmp_path / "q.sqlite3")
    assert status == 1 and "KBBOT_TOKEN is malformed" in err and "Zq9" not in err + out


def test_healthcheck_as_a_real_process(kb_dir: Path, tmp_path: Path) -> None:
    """What Docker runs: the console script's exit status and output, nothing else (no log
    lines on stdout, even when the log level is DEBUG)."""
    db = tmp_path / "data" / "questions.sqlite3"
    ok = health_process(kb_dir, db)
    assert (ok.returncode, ok.stderr) == (0, "") and ok.stdout.startswith("ok: ")
    (kb_dir / "replies.yaml").write_text("messages: {}\n", encoding="utf-8")
    bad = health_process(kb_dir, db)
    assert bad.returncode == 1 and bad.stdout == "" and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith(f"kbbot: unhealthy: knowledge base: {kb_dir}/replies.yaml:")


def test_check_reports_every_failure_at_once(tmp_path: Path) -> None:
    from bot.config import Config
    from bot.logurl import LogURL

    (tmp_path / "q.sqlite3").write_bytes(b"not a database" * 100)
    config = Config(knowledge_dir=tmp_path / "nowhere", db=LogURL.file(tmp_path / "q.sqlite3"))
    result = check(config)
    assert not result.ok
    assert [c.name for c in result.checks if not c.ok] == ["knowledge base", "question log"]
    assert result.summary().count("; ") == 1


# --- a damaged log: pages corrupted behind a valid header ---------------------------------------


def damaged_log(path: Path, rows: int = 400) -> Path:
    """A question log whose header and schema page are intact and whose other pages are not:
    it opens and even takes writes, and fails where a command reads the damaged pages."""
    make_log(path)
    connection = sqlite3.connect(path)
    connection.executemany(
        "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome) "
        "VALUES (?, 'cli', ?, ?, 0, 'none')",
        [
            (f"2024-05-01T00:00:{n % 60:02d}+00:00", f"问题{n}" * 20, f"问题{n}")
            for n in range(rows)
        ],
    )
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    [page_size] = connection.execute("PRAGMA page_size").fetchone()
    connection.close()
    data = bytearray(path.read_bytes())
    for start in range(page_size, len(data), page_size):  # every page but the first
        data[start : start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    return path


def assert_backup_advice(line: str, db: Path) -> None:
    assert line.count("\n") == 1 and "Traceback" not in line
    assert f"{db} is damaged" in line
    assert "kbbot log backup" in line and f"sqlite3 {db} .recover" in line


def test_a_damaged_log_is_unhealthy_with_the_commands_that_restore_it(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = damaged_log(tmp_path / "q.sqlite3")
    status, out, err = health(capsys, kb_dir, db)
    one_line_failure(status, out, err)
    assert err.startswith(f"kbbot: unhealthy: question log: {db} is damaged (")
    assert_backup_advice(err, db)


@pytest.mark.parametrize(
    "command", [["report"], ["log", "export"], ["log", "export", "--format", "json"]]
)
def test_reading_a_damaged_log_is_one_line_with_the_same_advice(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    db = damaged_log(tmp_path / "q.sqlite3")
    out = io.StringIO()
    status = run([*command, "--knowledge", str(kb_dir), "--db", str(db)], out=out)
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"kbbot: error: the question log {db} is damaged (")
    assert_backup_advice(err, db)


def test_an_intact_log_passes_the_integrity_check_each_time_it_changes(tmp_path: Path) -> None:
    db = make_log(tmp_path / "q.sqlite3")
    assert check_database(db).ok
    connection = sqlite3.connect(db)
    connection.execute(
        "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome) "
        "VALUES ('2024-05-01T00:00:00+00:00', 'cli', '问', '问', 0, 'none')"
    )
    connection.commit()
    connection.close()
    assert check_database(db).ok
    damaged_log(tmp_path / "other.sqlite3")
    assert not check_database(tmp_path / "other.sqlite3").ok
