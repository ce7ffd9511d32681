"""Writing the question log in the background, so that logging never delays or breaks a reply.

Answer first, log after: a front end hands each record to `LogQueue.submit`, which returns at
once, and one background task writes the queue to the `QuestionLog` in order, in batches (one
transaction each). When the database is locked, read-only, deleted or missing, the task keeps
the records in memory, says so in the bot's own log once per outage, reconnects and retries
with a growing delay until it can write again. `close()` drains everything; whatever still
cannot be written at shutdown is saved (masked) to a `.pending.jsonl` file beside the database
and written at the next start, so no question is lost on a clean shutdown.

For the Telegram front end (issue 3):

    queue = LogQueue(config.db_path)
    await queue.start()                      # post_init; never fails because of the database
    ref = new_ref()                          # bot.store.new_ref: put it in the buttons' data
    queue.submit(QuestionRecord(..., ref=ref))        # returns a future of the row id
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
import json
import logging
import sqlite3
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from bot.privacy import mask_personal_data
from bot.store import FEEDBACK_CHOICES, QuestionKey, QuestionLog, QuestionRecord, StoreError

log = logging.getLogger(__name__)

# Errors that mean "the database is not usable right now": wait, reconnect, retry.
# (aiosqlite raises ValueError when its connection has already gone away.)
_UNAVAILABLE = (sqlite3.OperationalError, sqlite3.DatabaseError, StoreError, OSError, ValueError)
SPILL_SUFFIX = ".pending.jsonl"


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts while the database is unavailable, in seconds."""

    first: float = 0.05
    factor: float = 2.0
    longest: float = 30.0
    # While closing, retry at least this often so the drain uses its time limit well.
    closing: float = 0.25

    def delay(self, failures: int, *, closing: bool = False) -> float:
        wait = min(self.first * self.factor ** max(failures - 1, 0), self.longest)
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
        """The job as one line of the spill file, personal data masked like the log itself."""
        if self.record is not None:
            item = asdict(self.record)
            item["question"] = mask_personal_data(self.record.question)
            item["normalised"] = mask_personal_data(self.record.normalised)
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


class LogQueue:
    """An ordered, retrying, background writer in front of a `QuestionLog`.

    Args:
        path: the SQLite file (opened, created and migrated by the writer itself, so a broken
            database never stops the bot from starting).
        backoff: delays between attempts while the database is unavailable.
        busy_timeout: how long one attempt waits for another connection's lock; short,
            because the queue retries rather than blocking.
        max_pending: records kept in memory during an outage; beyond this new ones are
            dropped (and counted in the log) rather than letting memory grow without bound.
        batch_size: most records written in one transaction.
    """

    def __init__(
        self,
        path: Path,
        *,
        backoff: Backoff | None = None,
        busy_timeout: float = 0.5,
        max_pending: int = 50_000,
        batch_size: int = 500,
    ) -> None:
        self.path = path
        self.spill_path = path.with_name(path.name + SPILL_SUFFIX)
        self.backoff = backoff or Backoff()
        self.busy_timeout = busy_timeout
        self.max_pending = max_pending
        self.batch_size = batch_size
        self.failures = 0  # failed attempts since start: a health figure for tests and /status
        self.dropped = 0
        self._jobs: deque[_Job] = deque()
        self._log: QuestionLog | None = None
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._closing = asyncio.Event()
        self._outage = 0  # consecutive failed attempts; 0 when the last attempt worked
        # Set while the database is failing: a health check (or a test) can wait for it.
        self.unavailable = asyncio.Event()
        self._replayed = False

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
        """Queue what the person chose after 没帮助 (`bot.store.FEEDBACK_CHOICES`); resolves to
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

        Waits up to `drain_for` seconds for an unavailable database to come back; what is still
        queued then goes to the spill file. Returns how many jobs were not written to the
        database.
        """
        self._closing.set()
        self._wakeup.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), drain_for)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
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
                    self.path,
                    self.dropped,
                )
            job.give_up()
            return job.future
        self._jobs.append(job)
        self._wakeup.set()
        return job.future

    async def _run(self) -> None:
        while True:
            if not self._jobs:
                if self._closing.is_set():
                    return  # an unreplayed spill file waits for the next start
                if self._replayed:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
            batch = self._next_batch()
            try:
                db = await self._connect()
                await self._replay_spill(db)
                results = await self._apply(db, batch)
                if db.moved():  # deleted while we wrote: those rows went with it; write again
                    raise StoreError(f"{self.path} was deleted or replaced while being written")
            except _UNAVAILABLE as exc:
                await self._unavailable(exc)
                continue
            except Exception:  # a bug, not the database: do not let one job jam the queue
                log.exception("question log: could not write %d job(s); skipping them", len(batch))
                results = [None if job.kind == "record" else False for job in batch]
            for job, result in zip(batch, results, strict=True):
                self._jobs.popleft()
                job.settle(result)
            self._recovered()

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
        if self._log is not None and self._log.moved():
            log.warning("question log %s was deleted or replaced: reopening it", self.path)
            await self._disconnect()
        if self._log is None:
            self._log = await QuestionLog.open(self.path, busy_timeout=self.busy_timeout)
        return self._log

    async def _disconnect(self) -> None:
        db, self._log = self._log, None
        if db is not None:
            with contextlib.suppress(*_UNAVAILABLE):
                await db.close()

    async def _apply(self, db: QuestionLog, batch: Sequence[_Job]) -> list[object]:
        """Run a batch; returns each job's result (a row id, or whether an update found its row)."""
        if not batch:
            return []
        if batch[0].kind == "record":
            records = [job.record for job in batch if job.record is not None]
            try:
                return list(await db.record_many(records))
            except sqlite3.IntegrityError:
                # One bad record (a reused ref) must not hold back the rest: write them singly.
                return [await self._record_alone(db, record) for record in records]
        [job] = batch
        assert job.question is not None
        if job.kind == "feedback":
            return [await db.record_feedback(job.question, job.helpful)]
        if job.kind == "choice":
            return [await db.record_feedback_choice(job.question, job.choice)]
        return [await db.record_suggestion_taken(job.question, job.entry_id)]

    async def _record_alone(self, db: QuestionLog, record: QuestionRecord) -> int | None:
        try:
            return await db.record(record)
        except sqlite3.IntegrityError as exc:
            if record.ref is not None and "ref" in str(exc):
                # The Telegram front end reuses an update's ref when it handles the update
                # again after a restart (bot/telegram/inbox.py): its question is stored once.
                log.info("question log: question %s is already stored (%s)", record.ref, exc)
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
                self.path,
                exc,
                len(self._jobs),
            )
        else:
            log.debug("question log still unavailable (attempt %d): %s", self._outage, exc)
        # The connection may point at a deleted or replaced file: start afresh next time.
        await self._disconnect()
        closing = self._closing.is_set()
        delay = self.backoff.delay(self._outage, closing=closing)
        if closing:
            await asyncio.sleep(delay)
        else:  # a long wait is cut short by close(), which then retries at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)

    def _recovered(self) -> None:
        if self._outage:
            log.warning(
                "question log %s is writable again after %d failed attempt(s)",
                self.path,
                self._outage,
            )
        self._outage = 0
        self.unavailable.clear()

    # --- the spill file: what shutdown could not store ---------------------------------------

    def _spill(self) -> None:
        jobs = list(self._jobs)
        self._jobs.clear()
        try:
            with self.spill_path.open("a", encoding="utf-8") as handle:
                for job in jobs:
                    handle.write(json.dumps(job.to_json(), ensure_ascii=False) + "\n")
        except OSError as exc:
            log.error(
                "could not store %d job(s) in the question log %s, nor save them to %s (%s): "
                "they are lost",
                len(jobs),
                self.path,
                self.spill_path,
                exc,
            )
        else:
            log.error(
                "could not store %d job(s) in the question log %s before shutdown; saved them "
                "to %s, to be written at the next start",
                len(jobs),
                self.path,
                self.spill_path,
            )
        for job in jobs:
            job.give_up()

    async def _replay_spill(self, db: QuestionLog) -> None:
        """Once per start, write what the last shutdown saved, then remove the file."""
        if self._replayed:
            return
        try:
            lines = await asyncio.to_thread(self.spill_path.read_text, encoding="utf-8")
        except FileNotFoundError:
            self._replayed = True
            return
        loop = asyncio.get_running_loop()
        jobs = []
        for number, line in enumerate(lines.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                jobs.append(_job_from_json(json.loads(line), loop.create_future()))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("%s:%d: skipping an unreadable line (%s)", self.spill_path, number, exc)
        for job in jobs:  # a failure halfway retries the whole file: at worst some rows twice
            await self._apply(db, [job])
        await asyncio.to_thread(self.spill_path.unlink, missing_ok=True)
        self._replayed = True
        log.info("wrote %d job(s) saved at the last shutdown from %s", len(jobs), self.spill_path)
