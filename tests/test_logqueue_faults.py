"""Faults around the question log's files: the pending file shared by several processes, and
`kbbot log export -o` onto what is not a plain new file.

Real processes, real files, real SQLite; nothing mocked.
"""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import os
import sqlite3
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.cli.main import run
from bot.questionlog.protocol import QuestionRecord
from bot.questionlog.writer import SPILL_SUFFIX, LogQueue, PendingFile
from tests.review_helpers import asked, seeded_log

# A hang guard for child processes that take well under a second: not a timing assertion.
PROCESS_LIMIT = 60.0


def record(question: str) -> QuestionRecord:
    return QuestionRecord("telegram", question, question, False, "none")


def questions(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as raw:
        return Counter(q for (q,) in raw.execute("SELECT question FROM questions"))


def pending_files(db: Path) -> list[str]:
    """The pending file beside `db`, and any part of it claimed and not yet stored."""
    return sorted(p.name for p in db.parent.glob(db.name + ".pending*"))


# --- the pending file: two processes saving to it while a third stores it ------------------------


def save_one_by_one(path: Path, prefix: str, count: int) -> None:
    """A process that cannot write the log saves what it holds to the pending file as it closes;
    a queue whose writer never ran is the quickest way to have one do that, many times over."""
    logging.disable(logging.CRITICAL)  # each close() says it saved a question: thousands of lines

    async def main() -> None:
        for n in range(count):
            queue = LogQueue(path)
            queue.submit(record(f"{prefix}{n}"))
            assert await queue.close() == 1

    asyncio.run(main())


async def test_questions_saved_while_another_process_stores_the_pending_file_arrive_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.sqlite3"
    per_saver = 1000
    # Forked, not spawned: a new interpreter spends far longer importing bot than saving.
    fork = multiprocessing.get_context("fork")
    savers = [
        fork.Process(target=save_one_by_one, args=(path, prefix, per_saver))
        for prefix in ("甲", "乙")
    ]
    rounds = 0

    async def store_what_is_pending() -> None:
        """What every start does: store the pending file, then the question in hand."""
        nonlocal rounds
        rounds += 1
        async with LogQueue(path) as queue:
            assert isinstance(await queue.submit(record("启动")), int)

    for saver in savers:
        saver.start()
    try:
        async with asyncio.timeout(PROCESS_LIMIT):  # a hang guard, not a timing assertion
            while any(saver.is_alive() for saver in savers):
                await store_what_is_pending()
            await store_what_is_pending()  # what was saved after the last round
    finally:
        for saver in savers:
            saver.join(PROCESS_LIMIT)
    assert [saver.exitcode for saver in savers] == [0, 0]

    stored = questions(path)
    assert stored.pop("启动") == rounds
    expected = {f"{prefix}{n}" for prefix in ("甲", "乙") for n in range(per_saver)}
    assert set(stored) == expected  # none lost
    assert set(stored.values()) == {1}  # none stored twice
    assert pending_files(path) == []


def claim_and_die(path: Path) -> None:
    """A process that took the pending file for storing and died before it was done."""
    PendingFile(path.with_name(path.name + SPILL_SUFFIX)).claim()
    os._exit(1)  # no cleanup at all: the kernel drops its locks, the claimed file stays


async def test_a_pending_file_claimed_by_a_process_that_died_is_stored_by_the_next(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.sqlite3"
    for n in range(3):
        queue = LogQueue(path)
        queue.submit(record(f"问题{n}"))
        assert await queue.close() == 1
    dying = multiprocessing.get_context("fork").Process(target=claim_and_die, args=(path,))
    dying.start()
    await asyncio.to_thread(dying.join, PROCESS_LIMIT)
    assert dying.exitcode == 1
    [claimed] = pending_files(path)
    assert ".claimed-" in claimed

    async with LogQueue(path) as queue:
        await queue.submit(record("启动"))
    assert questions(path) == Counter(["问题0", "问题1", "问题2", "启动"])
    assert pending_files(path) == []


# --- kbbot log export -o: only ever a regular file, created private --------------------------------
# Beside the pending file because both hold questions; `report --html`'s own checks are in
# tests/test_bad_input.py (row 11), and export refuses the same targets with the same function.


@pytest.fixture
def db(tmp_path: Path, engine: Engine) -> Path:
    path = tmp_path / "log.sqlite3"

    async def seed() -> None:
        log = await seeded_log(path, [asked(engine, "护照怎么办理"), asked(engine, "法律顾问")])
        await log.close()

    asyncio.run(seed())
    return path


@pytest.fixture
def umask() -> Iterator[None]:
    """The usual umask, so a file created without an explicit private mode would be 0644."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def export_to(kb_dir: Path, db: Path, target: Path) -> int:
    argv = ["log", "export", "--knowledge", str(kb_dir), "--db", str(db), "-o", str(target)]
    return run(argv, out=io.StringIO())


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_export_creates_a_new_file_readable_by_its_owner_only(
    kb_dir: Path, db: Path, tmp_path: Path, umask: None
) -> None:
    target = tmp_path / "export.csv"
    assert export_to(kb_dir, db, target) == 0
    assert "护照怎么办理" in target.read_text(encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_export_overwrites_an_existing_file_and_leaves_its_mode(
    kb_dir: Path, db: Path, tmp_path: Path
) -> None:
    target = tmp_path / "export.csv"
    target.write_text("an older, longer export\n" * 100, encoding="utf-8")
    target.chmod(0o640)  # the admin's choice: kept, as the question log keeps its own
    assert export_to(kb_dir, db, target) == 0
    text = target.read_text(encoding="utf-8")
    assert "older" not in text and "法律顾问" in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_export_refuses_a_symbolic_link(
    kb_dir: Path, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me", encoding="utf-8")
    link = tmp_path / "export.csv"
    link.symlink_to(precious)
    assert export_to(kb_dir, db, link) == 1
    assert "symbolic link" in one_error_line(capsys)
    assert link.is_symlink() and precious.read_text(encoding="utf-8") == "keep me"


def test_export_refuses_a_fifo(
    kb_dir: Path, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    # A reader at the other end, so that writing into the FIFO would not block but succeed.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert export_to(kb_dir, db, fifo) == 1
        assert "FIFO" in one_error_line(capsys)
        assert os.read(reader, 1 << 16) == b""  # nothing was written into it
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_export_into_a_missing_folder_is_one_line_not_a_traceback(
    kb_dir: Path, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-folder" / "export.csv"
    assert export_to(kb_dir, db, target) == 1
    assert "does not exist" in one_error_line(capsys)
    assert not target.parent.exists()
