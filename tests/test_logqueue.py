"""bot.questionlog.writer: the bot answers first and logs after, whatever state the database is in.

Every test uses a real SQLite file (the normal path on a PostgreSQL schema too, `log_db`;
a PostgreSQL server's outages are in tests/test_pgstore.py); "unavailable" means really locked
by another process, really read-only, really deleted or really impossible to create, never a
mock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import QuestionRecord
from bot.questionlog.records import new_ref
from bot.questionlog.writer import SPILL_SUFFIX, Backoff, LogQueue

FAST = Backoff(first=0.01, factor=2.0, longest=0.05, closing=0.02)


def record(question: str, ref: str | None = None) -> QuestionRecord:
    return QuestionRecord("telegram", question, question, False, "none", ref=ref)


def answer_and_log(engine: Engine, queue: LogQueue, question: str) -> asyncio.Future[int | None]:
    """What the bot does per message: reply (here: compute it), then hand the record over."""
    reply = engine.respond(question)
    assert reply.text  # the answer exists before anything touches the database
    return queue.submit(
        QuestionRecord(
            channel="telegram",
            question=question,
            normalised=reply.normalised,
            answered=reply.answered,
            outcome=reply.kind.value,
            entry_id=reply.entry.id if reply.entry else None,
            score=reply.score,
        )
    )


async def failing(queue: LogQueue) -> None:
    """Wait until the writer has really hit the unavailable database (not for some time)."""
    async with asyncio.timeout(30):
        await queue.unavailable.wait()


def count(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        return int(raw.execute("SELECT count(*) FROM questions").fetchone()[0])


async def logged(target: Path | str) -> list[dict[str, object]]:
    """Every row of the log `target` names, oldest first, read through the log itself."""
    log = await open_log(target)
    try:
        return list(reversed(await log.rows(100_000)))
    finally:
        await log.close()


def delete_database(path: Path) -> None:
    """What an admin's `rm questions.sqlite3*` does: the file and its -wal and -shm."""
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()


async def create(path: Path) -> None:
    log = await open_log(path)
    await log.close()


# --- the normal path ---------------------------------------------------------------------------


async def test_a_thousand_concurrent_questions_give_a_thousand_rows(
    tmp_path: Path, engine: Engine
) -> None:
    """SQLite only, for time (most of it is answering): on PostgreSQL the writer's batches and
    concurrent writers are tested with fewer rows (here and in tests/test_pgstore.py)."""
    log_db = tmp_path / "log.sqlite3"
    queue = LogQueue(log_db)
    await queue.start()

    async def one_chat(n: int) -> asyncio.Future[int | None]:
        await asyncio.sleep(0)  # every chat is its own task, interleaved with the others
        return answer_and_log(engine, queue, f"第{n}个问题：行政复议申请有几件")

    futures = await asyncio.gather(*(one_chat(n) for n in range(1000)))
    assert await queue.close() == 0
    ids = [future.result() for future in futures]
    assert len(set(ids)) == 1000 and None not in ids
    assert len(await logged(log_db)) == 1000


async def test_clean_shutdown_writes_everything_still_queued(log_db: Path | str) -> None:
    queue = LogQueue(log_db)
    await queue.start()
    futures = [queue.submit(record(f"问题{n}")) for n in range(300)]
    assert queue.pending == 300
    assert await queue.close() == 0
    assert all(isinstance(f.result(), int) for f in futures)
    assert len(await logged(log_db)) == 300 and not queue.spill_path.exists()


async def test_feedback_by_ref_finds_a_row_submitted_just_before(log_db: Path | str) -> None:
    async with LogQueue(log_db) as queue:
        ref = new_ref()
        stored = queue.submit(record("行政复议", ref=ref))
        taken = queue.submit_suggestion_taken(ref, "reconsideration-applications")
        feedback = queue.submit_feedback(ref, helpful=False)
        missing = queue.submit_feedback("no-such-ref", helpful=True)
        await queue.flush()
        assert isinstance(stored.result(), int)
        assert taken.result() is True and feedback.result() is True and missing.result() is False
    [row] = await logged(log_db)
    assert (row["ref"], row["suggestion_taken"], row["feedback"]) == (
        ref,
        "reconsideration-applications",
        -1,
    )


async def test_the_choice_after_not_helpful_finds_its_row_by_ref(log_db: Path | str) -> None:
    async with LogQueue(log_db) as queue:
        ref = new_ref()
        queue.submit(record("法律顾问有哪些", ref=ref))
        queue.submit_feedback(ref, helpful=False)
        chosen = queue.submit_feedback_choice(ref, "browse")
        with pytest.raises(ValueError, match="choice must be one of"):
            queue.submit_feedback_choice(ref, "shrug")
        await queue.flush()
        assert chosen.result() is True
    [row] = await logged(log_db)
    assert (row["feedback"], row["feedback_choice"]) == (-1, "browse")


async def test_one_bad_record_does_not_hold_back_the_others(log_db: Path | str) -> None:
    async with LogQueue(log_db) as queue:
        futures = [
            queue.submit(record("第一", ref="same")),
            queue.submit(record("第二", ref="same")),  # a reused ref: rejected by the index
            queue.submit(record("第三")),
        ]
        await queue.flush()
    assert [f.result() is None for f in futures] == [False, True, False]
    assert len(await logged(log_db)) == 2


async def test_submitting_after_close_is_refused_not_lost_silently(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = LogQueue(tmp_path / "log.sqlite3")
    await queue.start()
    await queue.close()
    assert queue.submit(record("太晚了")).result() is None
    assert "after close()" in caplog.text


# --- an unavailable database -------------------------------------------------------------------

LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
db.execute(
    "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome)"
    " VALUES ('2024-01-01T00:00:00.000+00:00', 'cli', 'locker', 'locker', 0, 'none')"
)
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""


Release = Callable[[], Awaitable[None]]


@pytest.fixture
async def locked(tmp_path: Path) -> AsyncIterator[tuple[Path, Release]]:
    """A log another process holds an open write transaction on; await release() to commit."""
    path = tmp_path / "log.sqlite3"
    await create(path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LOCKER,
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    assert await proc.stdout.readline() == b"locked\n"

    async def release() -> None:
        if proc.returncode is None:
            await proc.communicate(b"\n")
            assert proc.returncode == 0

    try:
        yield path, release
    finally:
        await release()


async def test_a_database_locked_by_another_process_delays_only_the_log(
    locked: tuple[Path, Release], engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    path, release = locked
    queue = LogQueue(path, busy_timeout=0.05, backoff=FAST)
    await queue.start()
    futures = [answer_and_log(engine, queue, f"出庭应诉率{n}") for n in range(50)]
    await failing(queue)
    assert not any(f.done() for f in futures) and not queue.available
    assert "cannot write the question log" in caplog.text
    await release()
    await queue.flush()
    assert all(isinstance(f.result(), int) for f in futures)
    assert queue.available and "writable again" in caplog.text
    await queue.close()
    assert count(path) == 51  # the other process's row too


async def test_questions_queued_at_shutdown_survive_in_the_spill_file(
    locked: tuple[Path, Release], caplog: pytest.LogCaptureFixture
) -> None:
    path, release = locked
    queue = LogQueue(path, busy_timeout=0.05, backoff=FAST)
    await queue.start()
    for n in range(10):
        queue.submit(record(f"我的电话13812345678，问题{n}"))
    queue.submit_feedback(1, helpful=True)
    queue.submit_feedback_choice(1, "channel")
    await failing(queue)
    assert await queue.close(drain_for=0.2) == 12
    spill = path.with_name(path.name + SPILL_SUFFIX)
    saved = spill.read_text(encoding="utf-8")
    assert saved.count("\n") == 12
    assert "13812345678" not in saved and "[手机号]" in saved  # masked like the log itself
    assert "saved them" in caplog.text

    await release()
    async with LogQueue(path) as again:
        await again.submit(record("重启后的第一个问题"))
    assert not spill.exists()
    assert count(path) == 1 + 10 + 1
    with sqlite3.connect(path) as raw:
        masked = raw.execute("SELECT count(*) FROM questions WHERE question LIKE '%[手机号]%'")
        assert masked.fetchone()[0] == 10
        rated = raw.execute("SELECT feedback, feedback_choice FROM questions ORDER BY id LIMIT 1")
        assert rated.fetchone() == (1, "channel")


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], Callable[[], None]]]:
    """Make a file really read-only, also for root (who ignores permission bits)."""
    undo: list[Callable[[], None]] = []

    def make(path: Path) -> Callable[[], None]:
        if os.geteuid() != 0:
            mode = path.stat().st_mode
            path.chmod(0o444)
            path.parent.chmod(0o555)

            def restore() -> None:
                path.parent.chmod(0o755)
                path.chmod(mode)
        else:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"root cannot make a file read-only here: {done.stderr!r}")

            def restore() -> None:
                subprocess.run(["chattr", "-i", str(path)], check=True)

        undo.append(restore)
        return restore

    yield make
    for restore in undo:
        restore()


async def test_a_read_only_database_keeps_questions_until_it_is_writable(
    tmp_path: Path,
    engine: Engine,
    read_only: Callable[[Path], Callable[[], None]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "log.sqlite3"
    await create(path)
    make_writable = read_only(path)
    queue = LogQueue(path, busy_timeout=0.05, backoff=FAST)
    await queue.start()
    futures = [answer_and_log(engine, queue, f"合作的律所有哪些{n}") for n in range(20)]
    await failing(queue)
    assert not any(f.done() for f in futures)
    assert "cannot write the question log" in caplog.text
    make_writable()
    await queue.close()
    assert all(isinstance(f.result(), int) for f in futures)
    assert count(path) == 20


async def test_a_database_deleted_while_running_is_recreated(
    tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    path = tmp_path / "log.sqlite3"
    queue = LogQueue(path, backoff=FAST)
    await queue.start()
    for n in range(5):
        answer_and_log(engine, queue, f"删除前{n}")
    await queue.flush()
    await asyncio.to_thread(delete_database, path)
    # In WAL mode SQLite would happily keep writing into the deleted file; these must not vanish.
    futures = [answer_and_log(engine, queue, f"删除后{n}") for n in range(5)]
    await queue.close()
    assert [f.result() for f in futures] == [1, 2, 3, 4, 5]
    assert count(path) == 5
    assert "deleted or replaced" in caplog.text


async def test_a_database_that_cannot_be_created_yet_is_retried(
    tmp_path: Path, engine: Engine
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    path = blocker / "log.sqlite3"
    queue = LogQueue(path, backoff=FAST)
    await queue.start()
    futures = [answer_and_log(engine, queue, f"问题{n}") for n in range(3)]
    await failing(queue)
    await asyncio.to_thread(blocker.unlink)  # the admin fixes the data directory
    await queue.flush()
    await queue.close()
    assert all(isinstance(f.result(), int) for f in futures)
    assert count(path) == 3


# --- faults in the writer itself, and shutting down at once ------------------------------------


def test_the_backoff_never_overflows_however_long_the_outage() -> None:
    backoff = Backoff()
    # 2.0 ** 1024 is not a float: a few hours of outage used to kill the writer.
    for failures in (1025, 10**6, sys.maxsize):
        assert backoff.delay(failures) == backoff.longest
        assert backoff.delay(failures, closing=True) == backoff.closing
    assert Backoff(factor=1e300).delay(3) == Backoff().longest
    assert [backoff.delay(n) for n in (0, 1, 2, 3)] == [0.05, 0.05, 0.1, 0.2]


@dataclass(frozen=True)
class BrokenBackoff(Backoff):
    """A retry path with a bug in it (what the overflow above was)."""

    hit: list[int] = field(default_factory=list)
    hit_three_times: asyncio.Event = field(default_factory=asyncio.Event)

    def delay(self, failures: int, *, closing: bool = False) -> float:
        self.hit.append(failures)
        if len(self.hit) == 3:
            self.hit_three_times.set()
        raise RuntimeError("a bug in the retry path")


async def test_an_unexpected_error_while_retrying_is_one_error_line_not_a_dead_writer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.sqlite3"
    path.mkdir()  # a folder where the database should be: every attempt fails
    broken = BrokenBackoff()
    queue = LogQueue(path, backoff=broken)
    await queue.start()
    futures = [queue.submit(record(f"问题{n}")) for n in range(3)]
    await failing(queue)
    closing = asyncio.create_task(queue.close())  # the writer retries at once, and soon again
    async with asyncio.timeout(30):  # a hang guard, not a timing assertion
        await broken.hit_three_times.wait()
    await asyncio.to_thread(path.rmdir)  # the admin fixes it
    assert await closing == 0
    assert all(isinstance(f.result(), int) for f in futures)
    assert count(path) == 3
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "a bug in the retry path" in errors[0].getMessage()


async def test_closing_with_no_time_to_drain_returns_and_keeps_the_questions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.sqlite3"
    path.mkdir()  # unwritable until the admin fixes it
    # A long delay: close() finds the writer waiting to retry, and must not wait for it.
    queue = LogQueue(path, backoff=Backoff(first=30.0, longest=30.0))
    await queue.start()
    futures = [queue.submit(record(f"问题{n}")) for n in range(3)]
    await failing(queue)
    closing = asyncio.create_task(queue.close(drain_for=0))
    done, _ = await asyncio.wait({closing}, timeout=10)  # a hang guard, not a timing assertion
    if not done:
        closing.cancel()
    assert closing in done, "close(drain_for=0) waited for a database that stays unwritable"
    assert closing.result() == 3 and queue.failures == 1
    assert [f.result() for f in futures] == [None, None, None]
    spill = path.with_name(path.name + SPILL_SUFFIX)
    assert spill.read_text(encoding="utf-8").count("\n") == 3

    path.rmdir()  # fixed: the next start stores them before its own question
    async with LogQueue(path) as again:
        await again.submit(record("重启后"))
    assert count(path) == 4 and not spill.exists()


async def save_to_the_pending_file(path: Path, question: str) -> None:
    """What a process that cannot write the log does at shutdown (here: never even tried)."""
    queue = LogQueue(path)
    queue.submit(record(question))
    assert await queue.close() == 1


async def test_the_pending_file_is_readable_by_its_owner_only_also_when_made_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.sqlite3"
    spill = path.with_name(path.name + SPILL_SUFFIX)
    before = os.umask(0o022)  # the usual umask: a file opened without a mode is 0644
    try:
        await save_to_the_pending_file(path, "我的电话13812345678")
        assert stat.S_IMODE(spill.stat().st_mode) == 0o600
        async with LogQueue(path) as queue:  # stores it and removes the file
            await queue.submit(record("下一个"))
        assert not spill.exists() and count(path) == 2
        await save_to_the_pending_file(path, "又一个")
        assert stat.S_IMODE(spill.stat().st_mode) == 0o600
    finally:
        os.umask(before)
