"""The process's log: its level, its format (text or JSON lines), and what no line may carry.

What an operator reads at INFO is one line per event that matters: the bot started (and what it
serves), stopped, reloaded its knowledge (and what changed), or failed. kbbot's own code logs
what happens per update or per scheduled run at DEBUG; libraries are kept from burying those
lines by their levels, never by matching their text:

- apscheduler writes two INFO lines per run of every job, and the knowledge watch runs every few
  seconds (some 57,000 lines a day): it logs at WARNING unless KBBOT_LOG_LEVEL=DEBUG.
- PTB's Application writes its start and stop at INFO, which the bot's own start and stop lines
  say better (with what is served): WARNING unless KBBOT_LOG_LEVEL=DEBUG.
- httpx writes every request URL at INFO, and Bot API URLs contain the token: it logs at WARNING
  at every level, DEBUG included.
- aiosqlite writes every statement with its parameters at DEBUG (for the inbox, whole updates:
  user ids and messages): it never logs below INFO.

KBBOT_LOG_FORMAT=json writes one JSON object per line, for a log collector: `time` (ISO 8601,
UTC), `level`, `logger`, `message`, `update_id` while an update is being handled, and `exc_info`
(the traceback) when there is one.

The bot token is in no line, whatever the level or format: `RedactSecret` replaces it in the
message, its arguments, the traceback and the stack before a formatter sees the record.

Standard library only: the Telegram front end sets `UPDATE_ID` while it handles an update
(bot/telegram/app.py) and adds its own filters; nothing here imports Telegram.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import IO

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "<token>"

# The update being handled by the current task, for `update_id` in JSON lines. Each update is
# handled in a task of its own, which starts with a copy of the context, so a value set while
# handling one update never shows in another's lines.
UPDATE_ID: ContextVar[int | None] = ContextVar("update_id", default=None)


def library_levels(level: str) -> dict[str, int]:
    """The level each talkative library logs at when kbbot logs at `level` (see above).

    NOTSET means the library follows the root logger, i.e. `level`.
    """
    number = logging.getLevelNamesMapping()[level]
    # A logger's own level decides what reaches the root's handlers, whatever the root's level:
    # never below `level`, or KBBOT_LOG_LEVEL=ERROR would still show the libraries' warnings.
    quiet = max(logging.WARNING, number)
    unless_debug = logging.NOTSET if number <= logging.DEBUG else quiet
    return {
        "httpx": quiet,
        "apscheduler": unless_debug,
        "telegram.ext.Application": unless_debug,
        "aiosqlite": max(logging.INFO, number),
    }


def set_library_levels(level: str) -> None:
    for name, library_level in library_levels(level).items():
        logging.getLogger(name).setLevel(library_level)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in messages and tracebacks escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, object] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        update_id = getattr(record, "update_id", None)
        if update_id is not None:
            line["update_id"] = update_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class UpdateIdFilter(logging.Filter):
    """Stamps each record with `UPDATE_ID`, unless its caller passed `extra={"update_id": ...}`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "update_id", None) is None:
            record.update_id = UPDATE_ID.get()
        return True


class RedactSecret(logging.Filter):
    """Replaces a secret wherever a record carries it: message and arguments, traceback, stack.

    Of a bot token (`<bot id>:<secret>`) only the part after the colon is secret: it is replaced
    wherever it appears, with or without the bot id before it, and the public bot id is left
    to tell which bot a line is about (as `kbbot config` shows it). Installed on handlers, so it
    sees records from every logger, libraries included.
    """

    def __init__(self, secret: str) -> None:
        super().__init__()
        _, _, tail = secret.partition(":")
        self.secret = tail or secret

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: the handler reports it
            return True
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, REDACTED), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, REDACTED)
        if record.stack_info and self.secret in record.stack_info:
            record.stack_info = record.stack_info.replace(self.secret, REDACTED)
        return True


def make_handler(
    log_format: str = "text", *, token: str | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """A handler writing to `stream` (stderr) in `log_format`, stamping update ids and
    redacting `token`."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(UpdateIdFilter())
    if token:
        handler.addFilter(RedactSecret(token))
    return handler


def configure_logging(
    level: str = "INFO",
    log_format: str = "text",
    *,
    token: str | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Log at `level` in `log_format` to stderr, never showing `token`; set the libraries'
    levels to match.

    Like `logging.basicConfig`, it leaves a root logger that already has handlers alone (a test
    runner's, a program embedding kbbot, an earlier call), apart from the libraries' levels.
    Python warnings become log records, and in JSON so does a crash's traceback, so that every
    line the process writes is JSON.
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(make_handler(log_format, token=token, stream=stream))
        root.setLevel(level)
        logging.captureWarnings(True)
        if log_format == "json":
            sys.excepthook = log_crash
    set_library_levels(level)


def log_crash(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """`sys.excepthook`: an exception nothing caught, as a CRITICAL record with its traceback."""
    logging.getLogger("kbbot").critical(
        "crashed: %s: %s", kind.__name__, error, exc_info=(kind, error, traceback)
    )
