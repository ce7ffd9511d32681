"""What the console front end (`kbbot ask`, `kbbot chat`) needs around the engine: reading
input that may be anything, and logging questions without ever waiting for the log.

Input: undecodable bytes become U+FFFD instead of an exception (`tolerant`), and lines are read
by a daemon thread (`LineReader`), so waiting for the next line neither blocks the event loop
(the log writer keeps writing meanwhile) nor holds up the exit: Ctrl-C ends `chat` at once.

Logging the questions (`QuestionLogWriter`): answer first, log after, through the same
background writer as the bot (`bot.questionlog.writer.LogQueue`) and its pending file, so the console
never hangs on a locked, read-only or missing log and never loses a question the bot would
have kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import sys
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import IO, cast

from bot.answering.engine import Reply
from bot.questionlog.opening import LogTarget, log_url
from bot.questionlog.protocol import StoreError
from bot.questionlog.records import record_for
from bot.questionlog.writer import LogQueue

# How long the console waits, after its last answer, for a question log that another process
# has locked. A log that cannot be written at all (read-only, a missing folder, a full disk) is
# not waited for. What is still unwritten then goes to the pending file.
LOG_WAIT = 2.0
# How long one attempt waits for another connection's lock: short, so that a locked log is
# known (and said) as such well within LOG_WAIT; the writer retries meanwhile.
BUSY_TIMEOUT = 0.1
# What `LogQueue.close` is given once the waiting is over: a last attempt, no more. (Not 0: on
# Python 3.11 a cancel that lands as the writer wakes for closing can be lost by wait_for.)
CLOSE_GRACE = 0.1
# Lines read ahead of the one being answered (bounds memory on a huge stdin).
READ_AHEAD = 64


def tolerant(stream: IO[str]) -> IO[str]:
    """`stream`, reconfigured to read undecodable bytes as U+FFFD rather than raise.

    A stray Latin-1 or GBK byte on stdin must cost one character, not the rest of the batch.
    (Lone surrogates, from a surrogateescape stream or elsewhere, are repaired by the engine.)
    """
    if isinstance(stream, io.TextIOWrapper) and stream.errors != "replace":
        stream.reconfigure(errors="replace")
    return stream


class LineReader:
    """The lines of a text stream, read by a daemon thread, up to `READ_AHEAD` ahead.

    Not asyncio's worker pool: `asyncio.run` waits for its threads at exit, and one blocked in
    readline would keep an interrupted chat alive until the next Enter. Create it inside the
    running event loop.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | BaseException] = asyncio.Queue()
        self._room = threading.Semaphore(READ_AHEAD)
        self._ended = False
        thread = threading.Thread(
            target=self._pump, args=(tolerant(stream),), name="kbbot-stdin", daemon=True
        )
        thread.start()

    async def readline(self) -> str:
        """The next line with its newline, or "" at the end of the stream."""
        if self._ended:
            return ""
        item = await self._lines.get()
        self._room.release()
        if isinstance(item, BaseException):
            self._ended = True
            raise item
        self._ended = not item
        return item

    def _pump(self, stream: IO[str]) -> None:
        try:
            while True:
                self._room.acquire()
                line = stream.readline()
                self._put(line)
                if not line:
                    return
        except Exception as exc:  # a closed stream, say: the reader sees it
            self._put(exc)

    def _put(self, item: str | BaseException) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody reads any more
            self._loop.call_soon_threadsafe(self._lines.put_nowait, item)


async def read_lines(source: Iterable[str]) -> AsyncIterator[str]:
    """Each line of `source`: a stream (read by a `LineReader`) or a list of questions."""
    if not hasattr(source, "readline"):
        for line in source:
            yield line
        return
    reader = LineReader(cast(IO[str], source))
    while line := await reader.readline():
        yield line


class QuestionLogWriter:
    """Hands each reply to the question log's background writer, as the bot does.

    Answering never waits for the log: the writer opens the database itself and writes while
    the next question is answered or typed. On leaving, it gets up to `wait` seconds while the
    log is locked by another process, and none when it cannot be written at all; what is left
    goes to the pending file beside the log (`LogQueue.spill_path`), which the next kbbot able
    to write the log (console or bot) stores. The connection is always closed, so the process
    always exits, and trouble is one warning line on stderr instead of the writer's own log.

    Args:
        target: the question log (`bot.questionlog.opening.LogTarget`).
        enabled: False for --no-log: nothing is opened or written.
        wait: seconds to wait for a locked log after the last answer.
    """

    def __init__(self, target: LogTarget, enabled: bool, *, wait: float = LOG_WAIT) -> None:
        self.target, self.enabled, self.wait = target, enabled, wait
        self.queue: LogQueue | None = None
        self._notes = _WriterNotes()

    async def __aenter__(self) -> QuestionLogWriter:
        if self.enabled:
            self._notes.attach()
            self.queue = LogQueue(self.target, busy_timeout=BUSY_TIMEOUT)
            await self.queue.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        queue, self.queue = self.queue, None
        if queue is None:
            return
        try:
            await self._settle(queue)
            before = _size(queue.spill_path)
            left = await queue.close(drain_for=CLOSE_GRACE) + queue.dropped
        finally:
            self._notes.detach()
        if left:
            self._warn(left, queue.spill_path, saved=_size(queue.spill_path) > before)

    def record(self, reply: Reply) -> None:
        """Queue the reply's question for the log (returns at once)."""
        if self.queue is not None:
            self.queue.submit(record_for(reply, "cli"))

    async def _settle(self, queue: LogQueue) -> None:
        """Until everything is written, the log fails in a way waiting cannot mend, or `wait`
        seconds have passed."""
        flushed = asyncio.ensure_future(queue.flush())
        failed = asyncio.ensure_future(self._notes.lasting.wait())
        try:
            await asyncio.wait({flushed, failed}, timeout=self.wait, return_when="FIRST_COMPLETED")
        finally:
            flushed.cancel()
            failed.cancel()

    def _warn(self, left: int, spill: Path, *, saved: bool) -> None:
        error = self._notes.error
        where = log_url(self.target).shown
        if error is None:
            reason = f"{where} did not answer within {self.wait:g} s: locked by another process?"
        elif isinstance(error, StoreError):
            reason = str(error)
        else:
            reason = f"{where}: {error}"
        count = f"{left} question{'s' if left > 1 else ''}"
        if saved:
            line = f"{count} not logged yet ({reason}); saved to {spill}, to be logged at the next start"
        else:
            line = f"{count} will not be logged ({reason}; could not save them to {spill} either)"
        print(f"kbbot: warning: {line}", file=sys.stderr)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _WriterNotes(logging.Handler):
    """What the log writer reports, kept for one summary line instead of printed as it comes
    (with timestamps, mid-conversation). Notes a lasting failure: any but a lock, which another
    process will release."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.error: BaseException | None = None
        self.lasting = asyncio.Event()
        self._logger = logging.getLogger("bot.questionlog.writer")
        self._propagate = self._logger.propagate

    def attach(self) -> None:
        self._logger.addHandler(self)
        self._propagate, self._logger.propagate = self._logger.propagate, False

    def detach(self) -> None:
        self._logger.removeHandler(self)
        self._logger.propagate = self._propagate

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:  # a bug in the writer, not the database: show it as it is
            logging.getLogger("bot").handle(record)
            return
        args = record.args if isinstance(record.args, tuple) else ()
        error = next((arg for arg in args if isinstance(arg, BaseException)), None)
        if error is None:
            return
        if self.error is None:
            self.error = error
        if not any(word in str(error).lower() for word in ("locked", "busy")):
            self.lasting.set()
