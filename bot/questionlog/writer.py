"""Writing the question log in the background, so that logging never delays or breaks a reply.

Answer first, log after: a front end hands each record to `LogQueue.submit`, which returns at
once, and one background task writes the queue to the `QuestionLog` in order, in batches (one
transaction each). When the database is locked, read-only, deleted or missing, the task keeps
the records in memory, says so in the bot's own log once per outage, reconnects and retries
with a growing delay until it can write again. `close()` drains everything; whatever still
cannot be written at shutdown is saved (masked, as every `QuestionRecord` is) to a
`.pending.jsonl` file beside the database (for a server database, in the data directory:
`bot.questionlog.opening.local_path`) and written at the next start (`PendingFile`), so no
question is lost on a clean shutdown.

For the Telegram front end (issue 3):

    queue = LogQueue(config)
    await queue.start()                      # post_init; never fails because of the database
    ref = new_ref()                          # bot.questionlog.records.new_ref: put it in the buttons' data
    queue.submit(record_for(reply, ..., ref=ref))     # returns a future of the row id
    queue.submit_feedback(ref, helpful=True)          # later, from the button's callback
    queue.submit_suggestion_taken(ref, entry_id)
    queue.submit_feedback_choice(ref, "browse")       # what they chose after 没帮助
    await queue.close()                      # post_shutdown: drains, then closes

Jobs run in submission order, so feedback for a `ref` always finds its row. Futures never hold
exceptions: a record that could not be stored resolves to None, an update to False.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from bot.questionlog.opening import LOG_ERRORS, LogTarget, local_path, log_url, open_log
from bot.questionlog.protocol import (
    DIRECTORY_MODE,
    FEEDBACK_CHOICES,
    FILE_MODE,
    DuplicateRef,
    QuestionKey,
    QuestionLog,
    QuestionRecord,
    RejectedRecord,
    StoreError,
)

log = logging.getLogger(__name__)

# Errors that mean "the database is not usable right now": wait, reconnect, retry.
# (aiosqlite raises ValueError when its connection has already gone away.)
_UNAVAILABLE: tuple[type[BaseException], ...] = (*LOG_ERRORS, ValueError)
SPILL_SUFFIX = ".pending.jsonl"
# A pending file taken for storing is renamed to its name plus this and a unique tail.
CLAIMED_MARK = ".claimed-"
# The growth of a delay stops after this many steps: 2.0 ** 64 is far beyond any `longest`,
# while 2.0 ** 1024 (a few hours of outage) is not even a float.
MOST_BACKOFF_STEPS = 64
# After an unexpected error in the writer's own retry path, seconds before the next attempt
# (and while closing). Fixed, not from `Backoff`: it may be what failed.
AFTER_A_BUG = 1.0
AFTER_A_BUG_CLOSING = 0.1
# Seconds between tries for the pending file's lock, which others hold for a moment only.
LOCK_RETRY = 0.001


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts while the database is unavailable, in seconds."""

    first: float = 0.05
    factor: float = 2.0
    longest: float = 30.0
    # While closing, retry at least this often so the drain uses its time limit well.
    closing: float = 0.25

    def delay(self, failures: int, *, closing: bool = False) -> float:
        """The wait after `failures` failed attempts in a row: at most `longest` however many."""
        steps = min(max(failures - 1, 0), MOST_BACKOFF_STEPS)
        try:
            wait = min(self.first * self.factor**steps, self.longest)
        except OverflowError:  # a factor so large that even the capped power is not a float
            wait = self.longest
        return min(wait, self.closing) if closing else wait


JobKind = Literal["record", "feedback", "taken", "choice"]


@dataclass
class _Job:
    kind: JobKind
    future: asyncio.Future[Any]
    record: QuestionRecord | None = None
    question: QuestionKey | None = None
    helpful: bool = False
    entry_id: str = ""
    choice: str = ""

    def settle(self, value: object) -> None:
        if not self.future.done():
            self.future.set_result(value)

    def give_up(self) -> None:
        self.settle(None if self.kind == "record" else False)

    def to_json(self) -> dict[str, Any]:
        """The job as one line of the spill file (a record's texts are masked once it exists)."""
        if self.record is not None:
            item = asdict(self.record)
            item["asked_at"] = self.record.asked_at.isoformat()
            return {"kind": "record", "record": item}
        return {
            "kind": self.kind,
            "question": self.question,
            "helpful": self.helpful,
            "entry_id": self.entry_id,
            "choice": self.choice,
        }


def _job_from_json(data: dict[str, Any], future: asyncio.Future[Any]) -> _Job:
    if data["kind"] == "record":
        item = dict(data["record"])
        item["asked_at"] = datetime.fromisoformat(item["asked_at"])
        item["suggestions"] = tuple(item.get("suggestions") or ())
        return _Job("record", future, record=QuestionRecord(**item))
    kinds: dict[str, JobKind] = {"feedback": "feedback", "choice": "choice"}
    return _Job(
        kinds.get(data["kind"], "taken"),
        future,
        question=data["question"],
        helpful=bool(data.get("helpful")),
        entry_id=str(data.get("entry_id", "")),
        choice=str(data.get("choice", "")),
    )


class PendingFile:
    """The file beside the log holding jobs no database took: one JSON job a line, mode 0600.

    Several processes may share one log (the bot, `kbbot ask`), and any of them may add to the
    file as it shuts down while another is storing it, so every change to the file holds an
    exclusive `flock` on it. An append writes all its lines in one `os.write` to the file opened
    with O_APPEND. A claim (the start of storing) renames the file aside, to a name of its own
    (`CLAIMED_MARK`), and keeps that locked until its jobs are stored and it is removed. An
    appender or claimer that opened the file just before the rename finds it locked and the name
    leading elsewhere, and opens the name again: no line lands in a file already claimed, none
    is read twice, and no one waits for another process's storing. A claimed file whose process
    died before removing it is unlocked, and the next claim takes it over, so its jobs may be
    stored twice (as when a replay is cut short) but are never lost.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, lines: Sequence[str]) -> None:
        """Add `lines` (each one JSON job, without its newline): all of them, or none.

        Raises:
            OSError: the file could not be created or written (its folder is missing and cannot
                be made, the disk is full, ...).
        """
        data = "".join(f"{line}\n" for line in lines).encode("utf-8")
        self.path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        fd = _open_locked(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        assert fd is not None  # O_CREAT
        try:
            _append_whole(fd, data)
        finally:
            os.close(fd)  # and with it the lock

    def claim(self) -> Claim:
        """Take every pending job for storing: what a claim that died left, then the file.

        The caller stores `Claim.lines()` and then calls `Claim.done()`; a claim released before
        that (`release()`, or leaving its `with` block) leaves its files for the next claim.
        """
        claim = Claim()
        try:
            for leftover in self._leftovers():
                fd = _lock_if_free(leftover)
                if fd is not None:
                    claim.files.append((leftover, fd))
            taken = self._take()
            if taken is not None:
                claim.files.append(taken)
        except BaseException:
            claim.release()
            raise
        return claim

    def _leftovers(self) -> list[Path]:
        prefix = self.path.name + CLAIMED_MARK
        try:
            names = [entry.name for entry in os.scandir(self.path.parent)]
        except FileNotFoundError:
            return []
        # The names carry the time they were claimed: oldest first.
        return [self.path.with_name(name) for name in sorted(names) if name.startswith(prefix)]

    def _take(self) -> tuple[Path, int] | None:
        """Rename the file aside under its lock; returns its new name and the locked descriptor."""
        fd = _open_locked(self.path, os.O_RDONLY)
        if fd is None:
            return None
        try:
            tail = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"
            claimed = self.path.with_name(self.path.name + CLAIMED_MARK + tail)
            os.rename(self.path, claimed)
        except BaseException:
            os.close(fd)
            raise
        return claimed, fd


@dataclass
class Claim:
    """Pending files taken for storing, each kept locked until `done()` or `release()`."""

    files: list[tuple[Path, int]] = field(default_factory=list)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def lines(self) -> list[tuple[str, bytes]]:
        """Each non-empty line, oldest first, with where it is (`file:line`) for messages."""
        found = []
        for path, _ in self.files:
            for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
                if line.strip():
                    found.append((f"{path}:{number}", line))
        return found

    def done(self) -> None:
        """The jobs are stored: remove the files (still locked, so no one else takes them)."""
        for path, _ in self.files:
            path.unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        files, self.files = self.files, []
        for _, fd in files:
            os.close(fd)


def _open_locked(path: Path, flags: int) -> int | None:
    """`path` opened with `flags` and locked, while it still names the file opened; None when
    there is no such file (and `flags` do not create it).

    The lock on the file under this name is only ever held for a moment (one append, one
    rename), so a busy lock is tried again shortly; but once renamed aside a file stays locked
    while it is stored, so a busy lock on a file no longer under this name means opening the
    name again, not waiting.
    """
    while True:
        try:
            fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
        except FileNotFoundError:
            return None
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if _still_at(fd, path):
                        time.sleep(LOCK_RETRY)
                        continue
                    break
                if _still_at(fd, path):
                    return fd
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _still_at(fd: int, path: Path) -> bool:
    """Whether `path` still names the file open as `fd` (not renamed or removed meanwhile)."""
    opened = os.fstat(fd)
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    return (opened.st_dev, opened.st_ino) == (now.st_dev, now.st_ino)


def _append_whole(fd: int, data: bytes) -> None:
    """Write `data` at the end of the locked file `fd`; on failure, cut off what got written."""
    start = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:  # one write, unless the disk is nearly full or a signal interrupts it
            view = view[os.write(fd, view) :]
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        raise


def _lock_if_free(path: Path) -> int | None:
    """`path` opened and locked, unless another process holds it (it is storing it now) or it
    was removed meanwhile."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if _still_at(fd, path):
            return fd
    except BlockingIOError:
        pass
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


class LogQueue:
    """An ordered, retrying, background writer in front of a `QuestionLog`.

    Args:
        target: the question log (`bot.questionlog.opening.LogTarget`: a Config, a SQLite file
            or a URL), opened, created and migrated by the writer itself, so a broken database
            never stops the bot from starting.
        backoff: delays between attempts while the database is unavailable.
        busy_timeout: how long one attempt waits for another connection's lock; short,
            because the queue retries rather than blocking.
        max_pending: records kept in memory during an outage; beyond this new ones are
            dropped (and counted in the log) rather than letting memory grow without bound.
        batch_size: most records written in one transaction.
    """

    def __init__(
        self,
        target: LogTarget,
        *,
        backoff: Backoff | None = None,
        busy_timeout: float = 0.5,
        max_pending: int = 50_000,
        batch_size: int = 500,
    ) -> None:
        self.target = target
        self.location = log_url(target).shown  # for messages: a URL's password is masked
        local = local_path(target)
        self.spill_path = local.with_name(local.name + SPILL_SUFFIX)
        self._pending_file = PendingFile(self.spill_path)
        self.backoff = backoff or Backoff()
        self.busy_timeout = busy_timeout
        self.max_pending = max_pending
        self.batch_size = batch_size
        self.failures = 0  # failed attempts since start: a health figure for tests and /status
        self.dropped = 0
        self._jobs: deque[_Job] = deque()
        self._qlog: QuestionLog | None = None
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._closing = asyncio.Event()
        self._outage = 0  # consecutive failed attempts; 0 when the last attempt worked
        # Set while the database is failing: a health check (or a test) can wait for it.
        self.unavailable = asyncio.Event()
        self._replayed = False
        self._bug_reported = False  # an unexpected error in the retry path, said once an outage
        self._abandoned = False  # set by close() when the writer must stop where it is

    # --- what front ends call ----------------------------------------------------------------

    async def start(self) -> None:
        """Start the background writer (it opens the database itself)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kbbot-question-log")

    async def __aenter__(self) -> LogQueue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet settled."""
        return len(self._jobs)

    @property
    def available(self) -> bool:
        """False while the database is failing (what a health check would report)."""
        return self._outage == 0

    def submit(self, item: QuestionRecord) -> asyncio.Future[int | None]:
        """Queue one question; resolves to its row id, or None if it could not be stored."""
        return self._put(_Job("record", self._future(), record=item))

    def submit_feedback(self, question: QuestionKey, helpful: bool) -> asyncio.Future[bool]:
        """Queue 有帮助/没帮助 for a question (row id or `ref`); resolves to whether it found it."""
        return self._put(_Job("feedback", self._future(), question=question, helpful=helpful))

    def submit_suggestion_taken(self, question: QuestionKey, entry_id: str) -> asyncio.Future[bool]:
        """Queue which offered suggestion was picked; resolves to whether it found the question."""
        return self._put(_Job("taken", self._future(), question=question, entry_id=entry_id))

    def submit_feedback_choice(self, question: QuestionKey, choice: str) -> asyncio.Future[bool]:
        """Queue what the person chose after 没帮助 (`bot.questionlog.protocol.FEEDBACK_CHOICES`); resolves to
        whether it found the question.

        Raises:
            ValueError: `choice` is not one of FEEDBACK_CHOICES.
        """
        if choice not in FEEDBACK_CHOICES:
            raise ValueError(f"choice must be one of {FEEDBACK_CHOICES}, not {choice!r}")
        return self._put(_Job("choice", self._future(), question=question, choice=choice))

    async def flush(self) -> None:
        """Wait until everything submitted so far is settled (stored, or given up on)."""
        if self._jobs:
            await asyncio.shield(self._jobs[-1].future)

    async def close(self, drain_for: float = 10.0) -> int:
        """Stop accepting work, write what is queued, close the database.

        Waits up to `drain_for` seconds for an unavailable database to come back (none at all
        when it is 0); what is still queued then goes to the spill file, also when close()
        itself is cancelled. Returns how many jobs were not written to the database.
        """
        self._closing.set()
        self._wakeup.set()
        try:
            if self._task is not None and drain_for > 0:
                await asyncio.wait({self._task}, timeout=drain_for)
        finally:
            await self._stop_writer()
            left = len(self._jobs)
            if left:
                self._spill()
            await self._disconnect()
        return left

    # --- internals ---------------------------------------------------------------------------

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    def _put(self, job: _Job) -> asyncio.Future[Any]:
        if self._closing.is_set():
            log.error(
                "question log is closing: could not store a %s submitted after close()", job.kind
            )
            job.give_up()
            return job.future
        if len(self._jobs) >= self.max_pending:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error(
                    "question log backlog is full (%d waiting for %s): dropped %d so far",
                    len(self._jobs),
                    self.location,
                    self.dropped,
                )
            job.give_up()
            return job.future
        self._jobs.append(job)
        self._wakeup.set()
        return job.future

    async def _run(self) -> None:
        """The writer task. Only close() ends it: a writer that died would leave every later
        question in memory, unwritten, and close() nothing but the spill file to save them to."""
        while not self._abandoned:
            try:
                if not await self._step():
                    return
            except Exception as exc:  # a bug in the retry path itself: keep the jobs, go on
                await self._stumbled(exc)

    async def _step(self) -> bool:
        """Write the next batch, or wait for one; False when there is nothing left to do."""
        if not self._jobs:
            if self._closing.is_set():
                return False  # an unreplayed spill file waits for the next start
            if self._replayed:
                self._wakeup.clear()
                await self._wakeup.wait()
                return True
        batch = self._next_batch()
        try:
            qlog = await self._connect()
            await self._replay_spill(qlog)
            results = await self._apply(qlog, batch)
            if qlog.moved():  # deleted while we wrote: those rows went with it; write again
                raise StoreError(f"{self.location} was deleted or replaced while being written")
        except _UNAVAILABLE as exc:
            await self._unavailable(exc)
            return True
        except Exception:  # a bug, not the database: do not let one job jam the queue
            log.exception("question log: could not write %d job(s); skipping them", len(batch))
            results = [None if job.kind == "record" else False for job in batch]
        for job, result in zip(batch, results, strict=True):
            self._jobs.popleft()
            job.settle(result)
        self._recovered()
        return True

    async def _stop_writer(self) -> None:
        """End the writer where it is. `_abandoned` stops it at its next step should the
        cancellation be lost (asyncio.wait_for in Python 3.11 loses one that arrives just as its
        wait ends)."""
        task = self._task
        if task is None or task.done():
            return
        self._abandoned = True
        task.cancel()
        await asyncio.wait({task})

    def _next_batch(self) -> list[_Job]:
        """The oldest job, plus the records right behind it when it is a record."""
        batch: list[_Job] = []
        for job in self._jobs:
            if batch and (job.kind != "record" or batch[0].kind != "record"):
                break
            batch.append(job)
            if len(batch) >= self.batch_size:
                break
        return batch

    async def _connect(self) -> QuestionLog:
        if self._qlog is not None and self._qlog.moved():
            log.warning("question log %s was deleted or replaced: reopening it", self.location)
            await self._disconnect()
        if self._qlog is None:
            self._qlog = await open_log(self.target, busy_timeout=self.busy_timeout)
        return self._qlog

    async def _disconnect(self) -> None:
        qlog, self._qlog = self._qlog, None
        if qlog is not None:
            with contextlib.suppress(*_UNAVAILABLE):
                await qlog.close()

    async def _apply(self, qlog: QuestionLog, batch: Sequence[_Job]) -> list[object]:
        """Run a batch; returns each job's result (a row id, or whether an update found its row)."""
        if not batch:
            return []
        if batch[0].kind == "record":
            records = [job.record for job in batch if job.record is not None]
            try:
                return list(await qlog.record_many(records))
            except RejectedRecord:
                # One bad record (a reused ref) must not hold back the rest: write them singly.
                return [await self._record_alone(qlog, record) for record in records]
        [job] = batch
        assert job.question is not None
        if job.kind == "feedback":
            return [await qlog.record_feedback(job.question, job.helpful)]
        if job.kind == "choice":
            return [await qlog.record_feedback_choice(job.question, job.choice)]
        return [await qlog.record_suggestion_taken(job.question, job.entry_id)]

    async def _record_alone(self, qlog: QuestionLog, record: QuestionRecord) -> int | None:
        try:
            return await qlog.record(record)
        except RejectedRecord as exc:
            if isinstance(exc, DuplicateRef):
                # The Telegram front end reuses an update's ref when it handles the update
                # again after a restart (bot/telegram/inbox.py): its question is stored once.
                log.debug("question log: question %s is already stored (%s)", record.ref, exc)
            else:
                log.warning("question log: not storing one question (%s)", exc)
            return None

    async def _unavailable(self, exc: BaseException) -> None:
        self.failures += 1
        self._outage += 1
        self.unavailable.set()
        if self._outage == 1:
            log.warning(
                "cannot write the question log %s (%s); keeping %d job(s) and retrying",
                self.location,
                exc,
                len(self._jobs),
            )
        else:
            log.debug("question log still unavailable (attempt %d): %s", self._outage, exc)
        # The connection may point at a deleted or replaced file: start afresh next time.
        await self._disconnect()
        await self._pause(self.backoff.delay(self._outage, closing=self._closing.is_set()))

    async def _stumbled(self, exc: Exception) -> None:
        """After an unexpected error in the retry path: say so once an outage, wait, go on."""
        self._outage = max(self._outage, 1)
        self.unavailable.set()
        if not self._bug_reported:
            self._bug_reported = True
            log.error(
                "question log writer: unexpected %s (%s); keeping %d job(s) and retrying",
                type(exc).__name__,
                exc,
                len(self._jobs),
            )
            log.debug("the question log writer's unexpected error", exc_info=exc)
        closing = self._closing.is_set()
        await self._pause(AFTER_A_BUG_CLOSING if closing else AFTER_A_BUG)

    async def _pause(self, delay: float) -> None:
        """Wait before the next attempt; close() cuts a wait short, and then retries at once."""
        if self._closing.is_set():
            await asyncio.sleep(delay)
            return
        # asyncio.timeout rather than wait_for, which in Python 3.11 loses a cancellation that
        # arrives as the event is set, and close() does both at nearly the same moment.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._closing.wait()

    def _recovered(self) -> None:
        if self._outage:
            log.warning(
                "question log %s is writable again after %d failed attempt(s)",
                self.location,
                self._outage,
            )
        self._outage = 0
        self._bug_reported = False
        self.unavailable.clear()

    # --- the spill file: what shutdown could not store ---------------------------------------

    def _spill(self) -> None:
        jobs = list(self._jobs)
        self._jobs.clear()
        try:
            self._pending_file.append(
                [json.dumps(job.to_json(), ensure_ascii=False) for job in jobs]
            )
        except OSError as exc:
            log.error(
                "could not store %d job(s) in the question log %s, nor save them to %s (%s): "
                "they are lost",
                len(jobs),
                self.location,
                self.spill_path,
                exc,
            )
        else:
            log.error(
                "could not store %d job(s) in the question log %s before shutdown; saved them "
                "to %s, to be written at the next start",
                len(jobs),
                self.location,
                self.spill_path,
            )
        for job in jobs:
            job.give_up()

    async def _replay_spill(self, qlog: QuestionLog) -> None:
        """Once per start, write what the last shutdown saved, then remove the file.

        Claiming waits at most for another process's one append or rename, so it runs here
        rather than in a thread, where a cancellation would leave the claim (and its locks)
        behind.
        """
        if self._replayed:
            return
        with self._pending_file.claim() as claim:
            if not claim.files:
                self._replayed = True
                return
            loop = asyncio.get_running_loop()
            jobs = []
            for where, line in await asyncio.to_thread(claim.lines):
                try:  # json.loads reads UTF-8 bytes; undecodable ones are a ValueError too
                    jobs.append(_job_from_json(json.loads(line), loop.create_future()))
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("%s: skipping an unreadable line (%s)", where, exc)
            for job in jobs:  # a failure halfway retries the whole file: at worst some rows twice
                await self._apply(qlog, [job])
            claim.done()
        self._replayed = True
        log.info("wrote %d job(s) saved at the last shutdown from %s", len(jobs), self.spill_path)
