"""The inbox: every update written to disk before Telegram hears it arrived, replayed until done.

Telegram forgets an update once the bot acknowledges it: with long polling, by asking getUpdates
for the next offset; with a webhook, by answering 200. Anything acknowledged but not yet
answered when the process dies (kill -9, the OOM killer, a power cut) used to be lost for good.
So every update is journaled first, marked done once answered and logged, and whatever is not
done when the bot starts is handled again.

Where the journal is written: at the door of the Application's update queue. PTB's Updater
awaits `update_queue.put(update)` for each update of a getUpdates response before it asks for
the next offset (telegram/ext/_updater.py, `polling_action_cb`), and its webhook handler awaits
the same `put` before tornado sends the 200 (telegram/ext/_utils/webhookhandler.py).
`InboxQueue.put` commits the update (SQLite, synchronous=FULL) before it returns, so in both
modes nothing is acknowledged that is not on disk. One hook serves both modes and none of
PTB's request or webhook code is replaced.

When an update is done: `InboxProcessor`, the Application's update processor, runs each
update's handlers with the update's `Ticket` in a context variable. Every question-log job a
handler submits (`track_log_job`, called by `BotState.log_question` and friends) is attached to
it, and the update is done once its handlers have returned and all those jobs are settled:
written to the question log, or saved to the log's pending file at shutdown. Updates that log
nothing (commands, most buttons) are done when their handlers return; so is an update whose
handler failed, since handling it again would fail the same way.

Replay and duplicates: at start (`InboxQueue.replay`, from post_init, before polling starts)
the updates not done are queued again, oldest first, except those whose question the question
log already holds. A question is logged once its reply was sent (or failed for good: a handler
cut short by a stop logs nothing and leaves its update to the replay), so such an update was
answered and only its done mark was lost. The update id is the journal's key, so
an update Telegram delivers again (fetched but not yet acknowledged when the process died) is
skipped, whether it is in hand or done. Each update's row also holds the `ref` of the question
it asks (`question_ref`): a replay sends its answer with the same buttons and logs it under the
same ref, which the question log's unique index refuses a second time, so a question is in the
log once however often its update is handled. What a replay cannot undo is a reply that left
before the crash: those few people get their answer twice. An update still not done after
`MAX_REPLAYS` unclean exits is dropped with an error in the log (it may be what kills the bot).

Several workers (webhook mode behind a proxy) each keep an inbox of their own, in their own
data directory. An update whose webhook request died with a worker is posted again by Telegram,
to another worker, while the dead one replays it from its inbox when it starts again. So the
ref is not random: `update_ref` derives it from the update id, keyed with the user-hash secret
every worker on one log shares (KBBOT_SECRET), and both workers log the question under the same
ref, which the log stores once.

Privacy: an update holds the sender's raw Telegram id and message text, while everything else
kbbot keeps stores user ids only as keyed hashes (bot.privacy). So the journal keeps an
update's content only while it is in flight: `payload` is cleared the moment the update is
done, leaving its id and times for `KEEP_DONE` (Telegram keeps an unacknowledged update for 24
hours, so no redelivery comes later); cleared content is overwritten (secure_delete) and the
write-ahead log truncated after each checkpoint, so little outlives the update even on disk.
The file is created 0600 in the data directory (KBBOT_DATA_DIR) beside the question log. This
module is the only one that speaks its SQL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import hashlib
import hmac
import json
import logging
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
from telegram import Bot, Update
from telegram.ext import SimpleUpdateProcessor

from bot.questionlog.records import new_ref

log = logging.getLogger(__name__)

INBOX_FILE = "inbox.sqlite3"
# An update left unfinished by this many unclean exits in a row is dropped (a clean shutdown
# proves none of the updates in hand brought the bot down, and resets the count).
MAX_REPLAYS = 3
# How long a done update's id is kept to recognise a redelivery (Telegram keeps 24 hours).
KEEP_DONE = 48 * 3600.0
# Done marks written in one transaction at most.
DONE_BATCH = 500
_RETRY_SECONDS = 0.5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    update_id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    ref TEXT NOT NULL,
    replays INTEGER NOT NULL DEFAULT 0,
    payload TEXT,
    done_at REAL
)
"""
_UNAVAILABLE = (sqlite3.Error, OSError, ValueError)  # ValueError: the connection is gone
# Which of some refs name questions in the question log (`InboxQueue.replay`).
LoggedRefs = Callable[[Collection[str]], Awaitable[Collection[str]]]


def update_ref(key: bytes, update_id: int) -> str:
    """The ref of the question update `update_id` asks, the same in every worker that holds
    `key` (the shape of `bot.questionlog.records.new_ref`: 11 URL-safe characters).

    Keyed, so a ref cannot be guessed from an update id; `key` should also name the bot (see
    `bot.telegram.app.update_ref_key`), since two bots' update ids may coincide in one log.
    """
    digest = hmac.new(key, str(update_id).encode(), hashlib.sha256).digest()[:8]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(eq=False)
class Ticket:
    """One update in hand: its question's ref and the log jobs it is waiting for."""

    update_id: int
    ref: str
    inbox: Inbox = field(repr=False)
    handled: bool = False  # its handlers have returned
    finished: bool = False  # marked done (the mark may still be on its way to disk)
    jobs: set[asyncio.Future[Any]] = field(default_factory=set, repr=False)
    _refs_given: int = 0

    def next_ref(self) -> str:
        """The journaled ref for the update's first question, then refs derived from it."""
        given, self._refs_given = self._refs_given, self._refs_given + 1
        if given == 0:
            return self.ref
        digest = hashlib.blake2s(f"{self.ref}:{given}".encode(), digest_size=8).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


_CURRENT: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar(
    "kbbot_inbox_ticket", default=None
)


def question_ref() -> str:
    """The ref for the question the update being handled asks (`QuestionRecord.ref`).

    The same on every replay of the update, so the log stores its question once; a random
    one (`bot.questionlog.records.new_ref`) outside an update or without a journal.
    """
    ticket = _CURRENT.get()
    return ticket.next_ref() if ticket is not None else new_ref()


def track_log_job(job: asyncio.Future[Any]) -> None:
    """Hold the update being handled (if any) open until `job`, a question-log job, settles."""
    ticket = _CURRENT.get()
    if ticket is not None and not ticket.finished:
        ticket.inbox.attach(ticket, job)


# An update waiting to be journaled: its ticket, its JSON, and the answer to `_journal`.
_Arrival = tuple[Ticket, str, "asyncio.Future[bool]"]


class Inbox:
    """The journal of updates in hand.

    Args:
        path: the SQLite file; created 0600 (with its folder, 0700) when missing.
        ref_key: derives each update's question ref from its id (`update_ref`), so workers
            sharing the key log an update handled by both once; None: random refs.

    Opening never fails the bot: without a journal (unwritable folder, corrupt file) updates
    are answered as they come, and the error says what was lost.
    """

    def __init__(self, path: Path, ref_key: bytes | None = None) -> None:
        self.path = path
        self._ref_key = ref_key
        self._db: aiosqlite.Connection | None = None
        self._tickets: dict[int, Ticket] = {}
        self._done: list[int] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._writer: asyncio.Task[None] | None = None
        self._failing = False
        self._pruned_at = 0.0
        # Writes take turns on the one connection: an update journaled while a batch of done
        # marks has its transaction open would be committed only with that batch, after the
        # update was acknowledged, and lost with it to a kill in between.
        self._writing = asyncio.Lock()
        # Updates waiting to be journaled together, and the task committing them (`_journal`).
        self._arrivals: list[_Arrival] = []
        self._committing: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        return self._db is not None

    @property
    def in_hand(self) -> int:
        """Updates received (or replayed) and not yet done."""
        return len(self._tickets)

    async def open(self) -> None:
        try:
            self._db = await self._connect()
        except _UNAVAILABLE as exc:
            log.error(
                "cannot open the inbox %s (%s): updates are answered without it, and any "
                "fetched but unanswered when the bot dies are lost",
                self.path,
                exc,
            )
            return
        self._closing = False
        self._writer = asyncio.create_task(self._write_done(), name="kbbot-inbox-done")

    async def _connect(self) -> aiosqlite.Connection:
        await asyncio.to_thread(_create_private, self.path)
        db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await db.execute("PRAGMA busy_timeout = 5000")
            await db.execute("PRAGMA journal_mode=WAL")
            # FULL: an acknowledged update must survive a power cut, not only a crash.
            await db.execute("PRAGMA synchronous=FULL")
            # A cleared payload is overwritten on disk, not only unlinked from the table; and
            # the write-ahead log, which holds recent pages whole, is folded into the file
            # every 100 pages and then truncated rather than left holding old updates.
            await db.execute("PRAGMA secure_delete=ON")
            await db.execute("PRAGMA wal_autocheckpoint=100")
            await db.execute("PRAGMA journal_size_limit=0")
            await db.execute(_SCHEMA)
            await db.execute(
                "DELETE FROM updates WHERE payload IS NULL AND done_at < ?",
                (time.time() - KEEP_DONE,),
            )
        except BaseException:
            await db.close()
            raise
        self._pruned_at = time.monotonic()
        return db

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self, update: Update) -> bool:
        """Journal `update` (committed before this returns); False if it was seen before."""
        if update.update_id in self._tickets:
            log.debug("update %d delivered again while in hand: skipped", update.update_id)
            return False
        if self._db is None:
            return True
        ticket = Ticket(update.update_id, self._ref_for(update.update_id), self)
        try:
            # Shielded: if the fetch is cancelled (a stop) the row is still written whole.
            new = await asyncio.shield(self._journal(ticket, update.to_json()))
        except _UNAVAILABLE as exc:
            self._failed(exc)
            return True
        self._recovered()
        if not new:
            log.debug(
                "update %d delivered again after a restart: already handled", ticket.update_id
            )
        return new

    def _ref_for(self, update_id: int) -> str:
        return new_ref() if self._ref_key is None else update_ref(self._ref_key, update_id)

    async def _journal(self, ticket: Ticket, payload: str) -> bool:
        """Insert the update's row, committed; False if its id is already there.

        Updates that arrive while a commit is under way (a webhook's concurrent requests) wait
        for the next one together: one transaction, and one flush to disk, for all of them.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._arrivals.append((ticket, payload, future))
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(
                self._commit_arrivals(), name="kbbot-inbox-journal"
            )
        return await future

    async def _commit_arrivals(self) -> None:
        while self._arrivals:
            batch, self._arrivals = self._arrivals, []
            try:
                inserted = await self._insert(batch)
            except _UNAVAILABLE as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (ticket, _, future), new in zip(batch, inserted, strict=True):
                if new:
                    self._tickets[ticket.update_id] = ticket
                if not future.done():
                    future.set_result(new)

    async def _insert(self, batch: list[_Arrival]) -> list[bool]:
        """Insert a batch of updates in one transaction; whether each was new."""
        assert self._db is not None
        inserted = []
        async with self._writing:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                for ticket, payload, _ in batch:
                    cursor = await self._db.execute(
                        "INSERT INTO updates (update_id, received_at, ref, payload) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
                        (ticket.update_id, time.time(), ticket.ref, payload),
                    )
                    inserted.append(cursor.rowcount == 1)
                await self._db.execute("COMMIT")
            except BaseException:
                await _rollback(self._db)
                raise
        return inserted

    async def unfinished(self, bot: Bot) -> list[Update]:
        """The updates the last run left unfinished, oldest first, now in hand again."""
        if self._db is None:
            return []
        try:
            async with self._db.execute(
                "SELECT update_id, ref, replays, payload FROM updates "
                "WHERE payload IS NOT NULL ORDER BY received_at, update_id"
            ) as cursor:
                rows = list(await cursor.fetchall())
        except _UNAVAILABLE as exc:
            log.error(
                "cannot read the inbox %s (%s): unfinished updates not replayed", self.path, exc
            )
            return []
        updates: list[Update] = []
        dropped: list[int] = []
        for update_id, ref, replays, payload in rows:
            if replays >= MAX_REPLAYS:
                log.error(
                    "update %d was still unfinished after %d restarts: dropping it (does "
                    "handling it bring the bot down?)",
                    update_id,
                    replays,
                )
                dropped.append(update_id)
                continue
            try:
                update = Update.de_json(json.loads(payload), bot)
            except (ValueError, TypeError, KeyError) as exc:
                log.error("update %d in the inbox is unreadable (%s): dropping it", update_id, exc)
                dropped.append(update_id)
                continue
            self._tickets[update_id] = Ticket(update_id, str(ref), self)
            updates.append(update)
        async with self._writing:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                await self._db.executemany(
                    "UPDATE updates SET replays = replays + 1 WHERE update_id = ?",
                    [(u.update_id,) for u in updates],
                )
                await self._clear(dropped)
                await self._db.execute("COMMIT")
            except _UNAVAILABLE as exc:
                await _rollback(self._db)
                log.warning("cannot count the replays in the inbox %s (%s)", self.path, exc)
        return updates

    # --- finishing ---------------------------------------------------------------------------

    def ticket_for(self, update: object) -> Ticket | None:
        if not isinstance(update, Update):
            return None
        return self._tickets.get(update.update_id)

    def attach(self, ticket: Ticket, job: asyncio.Future[Any]) -> None:
        ticket.jobs.add(job)
        job.add_done_callback(lambda settled: self._settled(ticket, settled))

    def _settled(self, ticket: Ticket, job: asyncio.Future[Any]) -> None:
        ticket.jobs.discard(job)
        if ticket.handled and not ticket.jobs:
            self._finish(ticket)

    def handled(self, ticket: Ticket) -> None:
        """The update's handlers have returned: it is done once its log jobs are."""
        ticket.handled = True
        if not ticket.jobs:
            self._finish(ticket)

    def _finish(self, ticket: Ticket) -> None:
        if ticket.finished:
            return
        ticket.finished = True
        self._tickets.pop(ticket.update_id, None)
        if self._db is not None:
            self._done.append(ticket.update_id)
            self._wakeup.set()

    async def _write_done(self) -> None:
        """Clear the payload of done updates, in batches, as they come."""
        while True:
            if not self._done:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._done[:DONE_BATCH]
            try:
                await self._mark_done(batch)
            except _UNAVAILABLE as exc:
                self._failed(exc)
                if self._closing:
                    log.error(
                        "could not mark %d update(s) done in the inbox: they will be "
                        "answered again at the next start",
                        len(self._done),
                    )
                    return
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            self._recovered()
            del self._done[: len(batch)]

    async def _mark_done(self, ids: list[int]) -> None:
        assert self._db is not None
        async with self._writing:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                await self._clear(ids)
                if time.monotonic() - self._pruned_at > 3600:
                    await self._db.execute(
                        "DELETE FROM updates WHERE payload IS NULL AND done_at < ?",
                        (time.time() - KEEP_DONE,),
                    )
                    self._pruned_at = time.monotonic()
                await self._db.execute("COMMIT")
            except BaseException:
                await _rollback(self._db)
                raise

    async def _clear(self, ids: list[int]) -> None:
        """Forget the content of updates (done, or given up on), keeping their ids."""
        assert self._db is not None
        now = time.time()
        await self._db.executemany(
            "UPDATE updates SET payload = NULL, done_at = ? WHERE update_id = ?",
            [(now, update_id) for update_id in ids],
        )

    async def close(self) -> int:
        """Write the last done marks and close; returns how many updates stay for next time.

        Call it after the question log is closed, so every log job has settled. A clean
        shutdown resets the replay count of what it leaves behind: none of it crashed the bot.
        """
        for ticket in list(self._tickets.values()):
            ticket.jobs = {job for job in ticket.jobs if not job.done()}
            if ticket.handled and not ticket.jobs:
                self._finish(ticket)
        self._closing = True
        self._wakeup.set()
        if self._committing is not None:
            await self._committing
            self._committing = None
        if self._writer is not None:
            await self._writer
            self._writer = None
        db, self._db = self._db, None
        if db is None:
            return len(self._tickets)
        left = 0
        with contextlib.suppress(*_UNAVAILABLE):
            async with db.execute("SELECT count(*) FROM updates WHERE payload IS NOT NULL") as cur:
                row = await cur.fetchone()
            left = int(row[0]) if row else 0
            if left:
                await db.execute("UPDATE updates SET replays = 0 WHERE payload IS NOT NULL")
        with contextlib.suppress(*_UNAVAILABLE):
            await db.close()
        self._tickets.clear()
        if left:
            log.warning(
                "%d update(s) not finished before the stop are kept in the inbox %s for the "
                "next start",
                left,
                self.path,
            )
        return left

    # --- outages -----------------------------------------------------------------------------

    def _failed(self, exc: BaseException) -> None:
        if not self._failing:
            self._failing = True
            log.error(
                "cannot write the inbox %s (%s): answering updates without it until it can "
                "be written",
                self.path,
                exc,
            )

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.warning("the inbox %s is writable again", self.path)


def _create_private(path: Path) -> None:
    """Create `path` (and its folder) readable by this user only; tighten an existing file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    with contextlib.suppress(OSError):  # not ours to change: SQLite will say if it is unusable
        os.chmod(path, 0o600)


async def _rollback(db: aiosqlite.Connection) -> None:
    with contextlib.suppress(*_UNAVAILABLE):
        await db.execute("ROLLBACK")


class InboxQueue(asyncio.Queue[object]):
    """The Application's update queue, journaling each update as it is put in.

    `put` is the front door (PTB's Updater and webhook handler use it and acknowledge the update
    only after it returns); `put_nowait` is left as it is, for `replay` and PTB's stop signal.
    """

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self.inbox = inbox

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and not await self.inbox.receive(item):
            return
        await super().put(item)

    async def replay(self, bot: Bot, logged: LoggedRefs | None = None) -> int:
        """Queue the updates the last run left unfinished; returns how many.

        Args:
            logged: which of the given refs name a question already in the question log. Such
                an update was answered before the crash, then logged (the bot answers first):
                by this worker, whose done mark was lost, or by another that Telegram posted
                it to when this one died. It is marked done instead of answered again.
        """
        updates = await self.inbox.unfinished(bot)
        tickets = [self.inbox.ticket_for(update) for update in updates]
        answered: Collection[str] = ()
        if logged is not None and updates:
            answered = await logged([ticket.ref for ticket in tickets if ticket is not None])
        replayed = 0
        for update, ticket in zip(updates, tickets, strict=True):
            if ticket is not None and ticket.ref in answered:
                self.inbox.handled(ticket)
            else:
                self.put_nowait(update)
                replayed += 1
        if updates:
            log.warning(
                "replaying %d update(s) left unfinished by the last run (%d more were answered "
                "and logged already)",
                replayed,
                len(updates) - replayed,
            )
        return replayed


class InboxProcessor(SimpleUpdateProcessor):
    """Runs each update's handlers as PTB's `SimpleUpdateProcessor` does, with its ticket set,
    and tells the inbox when they return.

    Handlers cancelled by a stop (`cancel_in_flight`) leave their update unfinished, for the
    next start.
    """

    def __init__(self, inbox: Inbox, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self.inbox = inbox
        self._in_flight: set[asyncio.Task[Any]] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        ticket = self.inbox.ticket_for(update)
        task = asyncio.current_task()
        if ticket is None or task is None:
            await coroutine
            return
        token = _CURRENT.set(ticket)
        self._in_flight.add(task)
        handled = False
        try:
            await coroutine
            handled = True
        except asyncio.CancelledError:
            raise
        except Exception:
            handled = True  # a bug, not the moment: handling it again would fail the same way
            raise
        finally:
            self._in_flight.discard(task)
            _CURRENT.reset(token)
            if handled:
                self.inbox.handled(ticket)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def cancel_in_flight(self) -> int:
        """Cancel the handlers still running (their updates stay in the inbox); returns how many."""
        tasks = list(self._in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)


__all__ = [
    "INBOX_FILE",
    "Inbox",
    "InboxProcessor",
    "InboxQueue",
    "Ticket",
    "question_ref",
    "track_log_job",
    "update_ref",
]
