"""The one way to open the question log: `open_log(config)`.

Which database holds the log is named by one setting, KBBOT_DB or --db
(`bot.logurl.parse_log_url`): a plain path or `sqlite:///path` opens the SQLite
file (`bot.questionlog.sqlite`), a `postgresql://` URL a PostgreSQL database
(`bot.questionlog.postgres`). Every caller (the bot's writer, its admin commands, the console,
review tools, the health check) goes through here, so the backend is chosen in this module and
nowhere else.

`bot.questionlog.postgres` (and its driver, psycopg, a quarter of a second to import) is imported
only when a PostgreSQL log is opened: the embedded default starts as fast as before. It raises no
driver errors of its own, only `StoreError` and its subclasses, so `LOG_ERRORS` needs none of
them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from bot.config import Config, default_data_dir
from bot.logurl import LogURL, parse_log_url
from bot.questionlog.protocol import QuestionLog, StoreError
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

LogTarget = Config | LogURL | Path | str

__all__ = [
    "LOG_ERRORS",
    "LogTarget",
    "check_log",
    "damaged_log_advice",
    "is_damaged",
    "local_path",
    "log_url",
    "open_log",
]


def log_url(target: LogTarget) -> LogURL:
    """The log `target` names: a Config's KBBOT_DB, a `LogURL`, a SQLite file, or a path or
    URL as KBBOT_DB takes it.

    Raises:
        StoreError: `target` is a URL of no known backend (the message is one line).
    """
    if isinstance(target, Config):
        return target.db
    if isinstance(target, LogURL):
        return target
    if isinstance(target, Path):
        return LogURL.file(target)
    try:
        return parse_log_url(target)
    except ValueError as exc:
        raise StoreError(str(exc)) from exc


def local_path(target: LogTarget) -> Path:
    """The file the log's local companions are named after (the background writer's pending
    file adds a suffix): the SQLite file itself, or, for a server database, a name in the data
    directory made of its host, port and database, so two bots on one machine that log to
    different servers keep apart. Nothing is created here."""
    url = log_url(target)
    if url.path is not None:
        return url.path
    parts = urlsplit(url.url)
    where = f"{parts.hostname or 'local'}-{parts.port or 5432}-{parts.path.strip('/') or 'db'}"
    data_dir = target.data_dir if isinstance(target, Config) else default_data_dir(os.environ)
    return data_dir / f"postgresql-{re.sub(r'[^0-9A-Za-z._-]+', '_', where)}"


class _Opening:
    """What `open_log` returns: await it for a log the caller closes (the background writer,
    which reopens after a restore), or `async with` it for one closed on the way out."""

    def __init__(self, target: LogTarget, busy_timeout: float, create: bool) -> None:
        self._target = target
        self._busy_timeout = busy_timeout
        self._create = create
        self._log: QuestionLog | None = None

    async def _open(self) -> QuestionLog:
        url = log_url(self._target)
        if url.path is None:
            from bot.questionlog.postgres import (
                PostgresQuestionLog,  # only when asked for: see the docstring
            )

            return await PostgresQuestionLog.open(
                url, connect_timeout=self._busy_timeout, create=self._create
            )
        return await SqliteQuestionLog.open(
            url.path, busy_timeout=self._busy_timeout, create=self._create
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
        target: the Config (its KBBOT_DB), a `LogURL`, or a path or URL as KBBOT_DB takes it.
        busy_timeout: seconds to wait for another writer's lock (SQLite) or for the server to
            answer (PostgreSQL) before failing; the bot's background writer uses a short one
            and retries instead.
        create: False for review tools, which should say "nothing logged here" rather than
            leave an empty database behind a mistyped --db path.
    """
    return _Opening(target, busy_timeout, create)


def check_log(target: LogTarget, lock_wait: float) -> tuple[bool, str]:
    """Whether the log can be written and is intact, without opening it as a log (which would
    create and migrate it): (ok, one line). Blocking: the bot calls it in a thread."""
    try:
        url = log_url(target)
    except StoreError as exc:
        return (False, str(exc))
    if url.path is None:
        from bot.questionlog.postgres import probe_server  # only when asked for: see the docstring

        return probe_server(url, lock_wait)
    return probe_file(url.path, lock_wait)
