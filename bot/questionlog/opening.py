"""The one way to open the question log: `open_log(config)`.

Which database holds the log is named by one setting, KBBOT_DB or --db
(`bot.questionlog.protocol.parse_log_url`): a plain path or `sqlite:///path` opens the SQLite file;
a `postgresql://` URL is refused at start with one line, until that backend is written. Every
caller (the bot's writer, its admin commands, the console, review tools, the health check) goes
through here, so a second backend is chosen in this module and nowhere else.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.config import Config
from bot.questionlog.protocol import QuestionLog, StoreError, parse_log_url
from bot.questionlog.sqlite import (
    DRIVER_ERRORS,
    SqliteQuestionLog,
    damaged_log_advice,
    is_damaged,
    probe_file,
)

# What a caller catches when the log cannot be reached or written right now: our own one-line
# errors, the file system, and the backend's driver.
LOG_ERRORS: tuple[type[BaseException], ...] = (StoreError, OSError, *DRIVER_ERRORS)

LogTarget = Config | Path | str

__all__ = [
    "LOG_ERRORS",
    "LogTarget",
    "check_log",
    "damaged_log_advice",
    "is_damaged",
    "log_path",
    "open_log",
]


def log_path(target: LogTarget) -> Path:
    """The SQLite file `target` names (a Config's db_path, a path, or a sqlite: URL).

    Raises:
        StoreError: `target` names another backend (the message is one line).
    """
    if isinstance(target, Config):
        return target.db_path
    if isinstance(target, Path):
        return target
    try:
        return parse_log_url(target).path
    except ValueError as exc:
        raise StoreError(str(exc)) from exc


class _Opening:
    """What `open_log` returns: await it for a log the caller closes (the background writer,
    which reopens after a restore), or `async with` it for one closed on the way out."""

    def __init__(self, target: LogTarget, busy_timeout: float, create: bool) -> None:
        self._target = target
        self._busy_timeout = busy_timeout
        self._create = create
        self._log: QuestionLog | None = None

    async def _open(self) -> QuestionLog:
        return await SqliteQuestionLog.open(
            log_path(self._target), busy_timeout=self._busy_timeout, create=self._create
        )

    def __await__(self) -> Generator[Any, None, QuestionLog]:
        return self._open().__await__()

    async def __aenter__(self) -> QuestionLog:
        self._log = await self._open()
        return self._log

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._log is not None:
            await self._log.close()


def open_log(target: LogTarget, *, busy_timeout: float = 5.0, create: bool = True) -> _Opening:
    """Open the question log `target` names, creating and migrating it as needed.

    `async with open_log(config) as qlog: ...`, or `qlog = await open_log(...)` and
    `await qlog.close()`.

    Args:
        target: the Config (its db_path), or a path or URL as KBBOT_DB takes it.
        busy_timeout: seconds to wait for another writer's lock before failing; the bot's
            background writer uses a short one and retries instead.
        create: False for review tools, which should say "nothing logged here" rather than
            leave an empty database behind a mistyped --db path.
    """
    return _Opening(target, busy_timeout, create)


def check_log(target: LogTarget, lock_wait: float) -> tuple[bool, str]:
    """Whether the log can be written and is intact, without opening it as a log (which would
    create and migrate it): (ok, one line). Blocking: the bot calls it in a thread."""
    try:
        path = log_path(target)
    except StoreError as exc:
        return (False, str(exc))
    return probe_file(path, lock_wait)
