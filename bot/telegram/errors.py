"""What happens when something goes wrong: retries first, then a log line and an apology.

Transient failures are retried before a handler ever sees them: `RetryingRateLimiter` is PTB's
`AIORateLimiter` (Telegram's flood limits, and `RetryAfter` answered by waiting and retrying)
plus a few retries of plain network errors. Anything still failing reaches `report_error`,
which logs it (never the token: see `redact_token`) and tells the person something went wrong
instead of leaving them waiting. Its line, like every line written while an update is handled,
carries the update's id (`note_update_id`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import AIORateLimiter

from bot.logsetup import UPDATE_ID, RedactSecret
from bot.telegram.formatting import esc
from bot.telegram.state import Context, state_of

log = logging.getLogger(__name__)

# Waits before each retry of a request that failed with a network error (seconds).
NETWORK_RETRY_DELAYS: tuple[float, ...] = (0.25, 1.0, 3.0)
# Start-up requests: bot.telegram.app retries them itself, one log line per attempt.
RETRIED_BY_CALLER = frozenset({"getMe", "deleteWebhook", "setWebhook"})

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class RetryingRateLimiter(AIORateLimiter):
    """`AIORateLimiter`, plus retries of requests that failed with a network error.

    Only `NetworkError` itself is retried: a refused connection, a reset, a 5xx from the Bot
    API. `BadRequest` (our mistake) is not, and neither is `TimedOut`, whose request may well
    have arrived: resending it would send the answer twice. Nor are the start-up requests
    (`RETRIED_BY_CALLER`), whose caller waits longer between attempts than a reply can.
    """

    def __init__(
        self,
        *,
        retry_delays: Sequence[float] = NETWORK_RETRY_DELAYS,
        overall_max_rate: float = 30,
        max_retries: int = 3,
    ) -> None:
        super().__init__(overall_max_rate=overall_max_rate, max_retries=max_retries)
        self._retry_delays = tuple(retry_delays)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        for delay in (*self._retry_delays, None):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except (BadRequest, TimedOut):
                raise
            except NetworkError as exc:
                if delay is None or endpoint in RETRIED_BY_CALLER:
                    raise
                log.warning("%s failed (%s); retrying in %.2fs", endpoint, exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


async def report_error(update: object, context: Context) -> None:
    """The Application's error handler: log, then apologise to whoever was waiting."""
    error = context.error
    if isinstance(error, Forbidden):
        log.debug("cannot write to a chat (%s)", error)  # blocked, kicked: nothing to tell
        return
    kind = "a job" if update is None else f"update {getattr(update, 'update_id', '?')}"
    # The first line says what failed and why; the traceback follows as the record's exception.
    log.error("error while handling %s: %s: %s", kind, type(error).__name__, error, exc_info=error)
    if not isinstance(update, Update):
        return
    text = state_of(context).messages["error"]
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_chat is not None and update.effective_message is not None:
            await update.effective_chat.send_message(esc(text))
    except TelegramError as exc:
        log.warning("could not tell the user about the error: %s", exc)


def redact_token(token: str) -> None:
    """Make every log handler replace the token, wherever a library puts it in a message.

    httpx is already kept at WARNING (its INFO lines are request URLs, token included), but an
    exception text may quote a URL too; this is the net under that. `kbbot` installs the same
    filter with its handler (bot/logsetup.py); this covers handlers someone else added.
    """
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactSecret) for f in handler.filters):
            handler.addFilter(RedactSecret(token))


async def note_update_id(update: Update, context: Context) -> None:
    """Handler group -1000, before everything else: the log lines written while `update` is
    handled carry its id (`update_id` in JSON lines, bot/logsetup.py)."""
    UPDATE_ID.set(update.update_id)


class _BootstrapFailure(logging.Filter):
    """Drops PTB's record of a failed start-up request (deleteWebhook, setWebhook).

    PTB logs it with a traceback before raising the error; bot.telegram.app says the same in
    one line and retries. Matched on PTB's message, so a PTB that words it differently shows
    the traceback again rather than hiding anything else.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (
            record.levelno >= logging.ERROR
            and bool(args)
            and str(args[0]).startswith("Network Retry Loop (Bootstrap")
        )


def quiet_startup_retries() -> None:
    """Keep PTB's start-up tracebacks out of the log (see `_BootstrapFailure`)."""
    ptb = logging.getLogger("telegram.ext")  # PTB's network retry loop logs here
    if not any(isinstance(f, _BootstrapFailure) for f in ptb.filters):
        ptb.addFilter(_BootstrapFailure())
