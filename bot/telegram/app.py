"""The Telegram bot's wiring: build the Application, register every handler, run it.

This module only wires; what each handler does lives in handlers.py (citizens), inline.py,
admin.py and errors.py. `build_application` is what `kbbot run`, the end-to-end tests and the
benchmark all use, so they exercise exactly the production bot.

It also writes the lines an operator reads at INFO about the bot as a whole (bot/logsetup.py):
one when it has started (what it serves and how) and one when it has stopped; the one line per
reload of the knowledge, saying what changed, is admin.reload's.

`serve` runs it the way PTB's `run_polling`/`run_webhook` would, with three differences a
production bot needs: a Bot API that cannot be reached at start is one log line and a retry
with a growing delay, not a traceback and an exit; a stop signal at any moment, start-up
included, cancels what is under way and shuts down cleanly (PTB closes its start-up coroutine
instead, which can leave the process hanging); and the drain after a stop signal is bounded,
leaving what it cannot finish in the inbox (bot/telegram/inbox.py) for the next start, so the
whole shutdown fits in the stop timeout of the deploy files.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import fcntl
import hashlib
import hmac
import logging
import os
import secrets
import signal
from collections.abc import Awaitable, Callable, Collection, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode, UpdateType
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    Defaults,
    InlineQueryHandler,
    JobQueue,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.answering.engine import Engine
from bot.config import Config, ConfigError
from bot.questionlog.opening import LOG_ERRORS, open_log
from bot.questionlog.protocol import StoreError
from bot.questionlog.writer import Backoff, LogQueue
from bot.review.report import REPORT_TZ
from bot.telegram import admin, handlers, inline, keyboards, review, review_keyboards
from bot.telegram.commands import add_command_handlers, publish_commands
from bot.telegram.errors import (
    RetryingRateLimiter,
    note_update_id,
    quiet_startup_retries,
    redact_token,
    report_error,
)
from bot.telegram.flood import TAP_ALLOWANCE, FloodGuard
from bot.telegram.health import schedule_health_route
from bot.telegram.inbox import INBOX_FILE, Inbox, InboxProcessor, InboxQueue
from bot.telegram.state import STATE_KEY, BotState, Context

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

# Everything the handlers use; Telegram sends nothing else, so nothing else costs a poll.
# Chosen inline results come only once inline feedback is enabled (@BotFather /setinlinefeedback).
ALLOWED_UPDATES = [
    UpdateType.MESSAGE,
    UpdateType.CALLBACK_QUERY,
    UpdateType.INLINE_QUERY,
    UpdateType.CHOSEN_INLINE_RESULT,
]
# Updates handled at once. Handlers mostly wait on the Bot API, so concurrency is what lets one
# process keep many conversations moving; the rate limiter still paces what goes out. More is
# not better: each concurrent request holds an HTTP connection, and httpcore scans them all per
# request (tests/bench/bench_bot.py: 8-16 beat 32 and 64).
CONCURRENT_UPDATES = 16
REQUEST_TIMEOUT = 10.0
WEEKLY_DIGEST_AT = dtm.time(9, 0, tzinfo=REPORT_TZ)
MONDAY = 1  # PTB's run_daily counts days from Sunday = 0
# Waits between attempts to reach the Bot API at start: 1 s, 2 s, 4 s ... at most a minute.
STARTUP_BACKOFF = Backoff(first=1.0, factor=2.0, longest=60.0)
# After a stop signal: seconds to stop fetching and finish the updates in hand. Then the
# question log gets up to LogQueue.close's 10 s; together well inside the 30 s the deploy files
# allow (deploy/kbbot.service TimeoutStopSec, deploy/compose.yaml stop_grace_period).
DRAIN_SECONDS = 15.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

T = TypeVar("T")

# The job that looks at the knowledge files (its name is in apscheduler's DEBUG lines).
WATCH_JOB = "watch_knowledge"
# Held (flock) by the `kbbot run` process serving a data directory: its inbox is one worker's.
RUN_LOCK = "run.lock"


class BotStartError(Exception):
    """The bot could not start (token rejected, Bot API unreachable): one line to show."""


def require_token(config: Config) -> str:
    """The token, or a ConfigError saying how to get one (checked before any slow start-up)."""
    if not config.token:
        raise ConfigError("KBBOT_TOKEN is not set: get a token from @BotFather and export it")
    return config.token


def require_shared_settings(config: Config) -> None:
    """With the question log on a server, the settings that every worker on it must share,
    checked before any slow start-up.

    A server log is what several workers share (deploy/README.md), each with a data directory
    of its own. The user-hash key generated into one data directory (secret.key) would differ
    from the next worker's: each would count a person as someone else, and an update handled by
    two workers (one killed half-way) would be logged under two refs (bot/telegram/inbox.py).
    A webhook secret picked at random per start would lock out every worker but the last one
    started, which registered its own with Telegram.

    Raises:
        ConfigError: KBBOT_SECRET (or, in webhook mode, KBBOT_WEBHOOK_SECRET) is not set.
    """
    if config.db.path is not None:
        return
    if not config.user_secret:
        raise ConfigError(
            f"KBBOT_SECRET is not set: every worker on the question log {config.db} must hash "
            "user ids with the same key; set it to one value for all of them (the contents of "
            "an existing secret.key keep the hashes logged so far)"
        )
    if config.webhook_url and not config.webhook_secret:
        raise ConfigError(
            f"KBBOT_WEBHOOK_SECRET is not set: every worker on the question log {config.db} "
            "must check the same webhook secret; set it to one value for all of them"
        )


def update_ref_key(config: Config, user_secret: bytes) -> bytes:
    """The key of the questions' refs derived from update ids (`bot.telegram.inbox.update_ref`):
    the user-hash secret all workers on one log share, for this bot (the token's id part), so
    two bots logging to one database never derive the same ref from the same update id."""
    bot_id = require_token(config).partition(":")[0]
    message = f"kbbot question refs of bot {bot_id}".encode()
    return hmac.new(user_secret, message, hashlib.sha256).digest()


@contextlib.contextmanager
def holding_data_dir(data_dir: Path) -> Iterator[None]:
    """Hold `data_dir` for this process while it serves: its inbox belongs to one worker.

    Two workers on one data directory would replay each other's updates in hand at every
    start (bot/telegram/inbox.py). The lock is an flock, which the kernel releases when the
    process dies, SIGKILL included, so a crash never leaves it held. A data directory where
    the lock file cannot be made is only warned about: the inbox will say what it can do.

    Raises:
        BotStartError: another process holds `data_dir`.
    """
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(data_dir / RUN_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        log.warning("cannot lock the data directory %s (%s)", data_dir, exc)
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BotStartError(
                f"another kbbot is running with the data directory {data_dir}: give each "
                "worker a KBBOT_DATA_DIR of its own"
            ) from None
        yield
    finally:
        os.close(fd)


def build_application(
    config: Config, engine: Engine, *, timeout: float = REQUEST_TIMEOUT
) -> AnyApplication:
    """The production Application for `config`, serving `engine`.

    Args:
        timeout: seconds for each Bot API request (connect, read, write, pool); tests use less.
    """
    token = require_token(config)
    user_secret = config.user_hash_secret()
    inbox = Inbox(config.data_dir / INBOX_FILE, ref_key=update_ref_key(config, user_secret))
    state = BotState(
        config=config,
        engine=engine,
        user_secret=user_secret,
        flood=FloodGuard(config.flood_limit, config.flood_period),
        taps=FloodGuard(config.flood_limit * TAP_ALLOWANCE, config.flood_period),
        inbox=inbox,
    )
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{config.api_url}/bot")
        .base_file_url(f"{config.api_url}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(RetryingRateLimiter(overall_max_rate=config.rate_limit))
        .update_queue(InboxQueue(inbox))  # journals each update before it is acknowledged
        .concurrent_updates(InboxProcessor(inbox, CONCURRENT_UPDATES))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    for set_timeout in (
        builder.connect_timeout,
        builder.read_timeout,
        builder.write_timeout,
        builder.pool_timeout,
        builder.get_updates_connect_timeout,
        builder.get_updates_read_timeout,
        builder.get_updates_write_timeout,
        builder.get_updates_pool_timeout,
    ):
        set_timeout(timeout)
    app = builder.build()
    app.bot_data[STATE_KEY] = state
    register_handlers(app, config.admins)
    return app


def register_handlers(app: AnyApplication, admins: frozenset[int]) -> None:
    """Every handler, in one place. Order matters!

    Within group 0 the first matching handler wins: commands before free text, admin commands
    (admins only, private chats only) before the unknown-command reply that everyone else gets
    for them, specific buttons before the catch-all for stale or forged ones.
    """
    new = filters.UpdateType.MESSAGE  # edits of old messages are not new questions
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS

    # Group -1000 runs first of all: what is logged from here on names the update.
    app.add_handler(TypeHandler(Update, note_update_id), group=-1000)
    # Group -1 runs before the answering handlers: the flood guard may stop an update here.
    app.add_handler(TypeHandler(Update, handlers.guard_flood), group=-1)

    add_command_handlers(app, admins)  # bot/telegram/commands.py: every command, declared once
    app.add_handler(MessageHandler(new & filters.COMMAND, handlers.unknown_command))
    app.add_handler(
        MessageHandler(new & filters.StatusUpdate.NEW_CHAT_MEMBERS, handlers.bot_added_to_group)
    )
    app.add_handler(MessageHandler(new & private & filters.TEXT, handlers.ask_question))
    app.add_handler(MessageHandler(new & groups & filters.TEXT, handlers.ask_in_group))
    app.add_handler(
        MessageHandler(
            new & (private | groups) & ~filters.TEXT & ~filters.StatusUpdate.ALL,
            handlers.non_text,
        )
    )

    app.add_handler(CallbackQueryHandler(handlers.open_topics, pattern=keyboards.TOPICS_RE))
    app.add_handler(CallbackQueryHandler(handlers.open_report, pattern=keyboards.REPORT_RE))
    app.add_handler(CallbackQueryHandler(handlers.open_chapter, pattern=keyboards.CHAPTER_RE))
    app.add_handler(CallbackQueryHandler(handlers.open_section, pattern=keyboards.SECTION_RE))
    app.add_handler(CallbackQueryHandler(handlers.open_entry, pattern=keyboards.ENTRY_RE))
    app.add_handler(CallbackQueryHandler(handlers.open_related, pattern=keyboards.RELATED_RE))
    app.add_handler(CallbackQueryHandler(handlers.rate_answer, pattern=keyboards.FEEDBACK_RE))
    app.add_handler(CallbackQueryHandler(handlers.choose_next_step, pattern=keyboards.NEXT_STEP_RE))
    app.add_handler(CallbackQueryHandler(handlers.take_suggestion, pattern=keyboards.SUGGESTION_RE))
    # The admin loop's buttons check the admin list themselves, so a forged press is logged.
    for pattern, callback in (
        (review_keyboards.LIST_RE, review.list_clusters),
        (review_keyboards.CARD_RE, review.open_card),
        (review_keyboards.CARD_AGAIN_RE, review.show_card_again),
        (review_keyboards.ATTACH_RE, review.attach_nearest),
        (review_keyboards.OTHER_RE, review.pick_other),
        (review_keyboards.SECTIONS_RE, review.pick_section),
        (review_keyboards.SECTION_RE, review.pick_in_section),
        (review_keyboards.PICK_RE, review.attach_picked),
        (review_keyboards.SYNONYM_RE, review.add_synonym),
        (review_keyboards.IGNORE_RE, review.ignore_cluster),
        (review_keyboards.CONFIRM_RE, review.confirm_edit),
        (review_keyboards.CANCEL_RE, review.cancel_edit),
        (review_keyboards.UNDO_RE, review.undo_pressed),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=pattern))
    app.add_handler(CallbackQueryHandler(handlers.expired_button))

    app.add_handler(InlineQueryHandler(inline.answer_inline_query))
    app.add_handler(ChosenInlineResultHandler(inline.log_chosen_result))
    app.add_error_handler(report_error)


async def post_init(app: AnyApplication) -> None:
    """Open the question log and the inbox, queue again what the last run left unfinished,
    publish the command menu, start the knowledge-file watcher."""
    state: BotState = app.bot_data[STATE_KEY]
    await _prepare_log(state.config)
    questions = LogQueue(state.config)
    await questions.start()
    state.questions = questions
    if state.inbox is not None and isinstance(app.update_queue, InboxQueue):
        await state.inbox.open()

        async def logged(refs: Collection[str]) -> set[str]:
            try:
                async with open_log(state.config) as qlog:
                    return await qlog.logged_refs(refs)
            except LOG_ERRORS as exc:
                log.warning("cannot ask the question log what was answered already: %s", exc)
                return set()

        await app.update_queue.replay(app.bot, logged)  # handled first, once the app starts
    await admin.note_hand_edits(state)  # files edited while the bot was down
    await publish_commands(app.bot, state)
    jobs = app.job_queue
    if jobs is not None:
        _watch_knowledge(jobs, state.config.reload_interval)
        jobs.run_daily(admin.send_weekly_digest, time=WEEKLY_DIGEST_AT, days=(MONDAY,))
    schedule_health_route(app)  # webhook mode: GET /healthz (bot/telegram/health.py)


def _watch_knowledge(jobs: JobQueue[Any], interval: float) -> None:
    """Look at the knowledge files `interval` seconds after the last look ended, until the
    Application stops.

    Not `run_repeating`: a look that reloads a large knowledge base can outlast the interval,
    and apscheduler then skips each run that falls due meanwhile with a WARNING line. Chained
    looks never overlap. Each runs however late it is (no misfire grace), since a look dropped
    as misfired would end the chain; and none is scheduled once the Application is stopping,
    so the JobQueue's shutdown never finds a look under way to cancel.
    """
    watch = admin.watch_knowledge

    def schedule() -> None:
        jobs.run_once(look, interval, name=WATCH_JOB, job_kwargs={"misfire_grace_time": None})

    async def look(context: Context) -> None:
        try:
            await watch(context)
        finally:
            if context.application.running:
                schedule()

    schedule()


async def _prepare_log(config: Config) -> None:
    """Create and migrate the log before anything else opens it.

    Two connections opening a fresh file at once (the background writer and an admin's /stats)
    could both try the same migration; doing it once here, first, rules that out. A failure is
    only a warning: the writer retries, and answering does not depend on the log.
    """
    try:
        async with open_log(config):
            pass
    except StoreError as exc:
        log.warning("%s; questions are kept in memory until it can be written", exc)


async def post_shutdown(app: AnyApplication) -> None:
    """Close the question log once every handler has finished (the Application waits for them),
    so every question received before a SIGTERM is in the log; then the inbox, which marks done
    the updates whose questions that wrote (or saved for the next start)."""
    state: BotState = app.bot_data[STATE_KEY]
    questions, state.questions = state.questions, None
    if questions is not None:
        unwritten = await questions.close()
        if unwritten:
            log.error("%d question(s) could not be written before shutdown", unwritten)
    if state.inbox is not None:
        await state.inbox.close()
    log.info("bot stopped")


def webhook_options(config: Config) -> dict[str, Any]:
    """Arguments for `run_webhook`/`Updater.start_webhook` from the settings.

    The local path is the webhook URL's path, so a reverse proxy can pass requests through
    unchanged. Without KBBOT_WEBHOOK_SECRET a fresh secret is made per start: setWebhook hands
    it to Telegram each time, and PTB rejects (403) any request without it.
    """
    if config.webhook_url is None:
        raise ConfigError("no webhook URL: pass --webhook-url or set KBBOT_WEBHOOK_URL")
    return {
        "listen": config.webhook_listen,
        "port": config.webhook_port,
        "url_path": urlsplit(config.webhook_url).path.strip("/"),
        "webhook_url": config.webhook_url,
        "secret_token": config.webhook_secret or secrets.token_urlsafe(32),
        "allowed_updates": ALLOWED_UPDATES,
    }


def run_bot(config: Config, engine: Engine) -> int:
    """Run until SIGINT/SIGTERM: long polling, or PTB's webhook server with a webhook URL.

    Raises:
        BotStartError: the Bot API rejected the token, or refused the webhook settings, or
            another process serves the same data directory.
        ConfigError: settings several workers must share are missing (`require_shared_settings`).
    """
    redact_token(require_token(config))
    require_shared_settings(config)
    quiet_startup_retries()

    async def until_signalled(app: AnyApplication) -> None:
        stopping = asyncio.Event()
        _stop_once_on_signals(stopping)
        await serve(app, stopping)

    try:
        with holding_data_dir(config.data_dir):
            asyncio.run(until_signalled(build_application(config, engine)))
    except InvalidToken as exc:  # its message quotes the token: never show it
        raise BotStartError(
            f"the Bot API at {config.api_url} rejected KBBOT_TOKEN: "
            "check the token from @BotFather (and KBBOT_API_URL)"
        ) from exc
    except TelegramError as exc:  # not the network (that is retried): e.g. a refused webhook
        raise BotStartError(
            f"the Bot API at {config.api_url} refused to start the bot: {exc}"
        ) from exc
    return 0


def _stop_once_on_signals(stopping: asyncio.Event) -> None:
    """Set `stopping` on the first SIGTERM/SIGINT, and ignore any that follow.

    A second SIGTERM (an impatient `docker stop`, a supervisor that repeats itself) must not
    break off the shutdown the first one started: replies in flight and questions not yet
    written would be lost. SIGKILL remains for a bot that truly hangs.
    """
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if stopping.is_set():  # two signals read from the wake-up pipe together
            return
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
        log.debug("stop signal received: finishing the updates in hand, then exiting")
        stopping.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)


async def serve(app: AnyApplication, stopping: asyncio.Event) -> None:
    """Start `app` (built by build_application), serve until `stopping` is set, shut down.

    A stop during start-up cancels the start-up where it is (a request in flight, a wait
    before retrying) and still shuts down in order, so the question log and the inbox close.
    """
    state: BotState = app.bot_data[STATE_KEY]
    try:
        if await _unless_stopping(stopping, _start(app, state.config)):
            await stopping.wait()
    finally:
        await _stop(app)


async def _unless_stopping(stopping: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run `work` until it ends (True) or `stopping` is set first (cancelled, False)."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    log.debug("stopped during start-up")
    return False


async def _start(app: AnyApplication, config: Config) -> None:
    """What run_polling/run_webhook do before they idle, retrying while the network is away."""
    await _retrying(app.initialize, config)  # getMe: the Bot API is there, the token is good
    if app.post_init is not None:
        await app.post_init(app)
    await _retrying(lambda: _start_fetching(app, config), config)
    await app.start()
    state: BotState = app.bot_data[STATE_KEY]
    log.info("bot @%s started: %s", app.bot.username, _serving(state))


def _serving(state: BotState) -> str:
    """What the start line says is served: how many entries from where, how updates arrive,
    and to how many admins."""
    config = state.config
    directory = state.engine.directory or config.knowledge_dir
    if config.webhook_url:
        mode = f"webhook {config.webhook_url} on {config.webhook_listen}:{config.webhook_port}"
    else:
        mode = "long polling"
    entries = len(state.engine.kb.entries)
    return f"{entries} entries from {directory}, {mode}, {len(config.admins)} admin(s)"


async def _start_fetching(app: AnyApplication, config: Config) -> None:
    updater = app.updater
    assert updater is not None, "build_application makes an Updater"
    if config.webhook_url:
        await updater.start_webhook(**webhook_options(config))
    else:
        await updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=_poll_failed)


def _poll_failed(error: TelegramError) -> None:
    """One line per failed poll (PTB's default is a traceback); PTB retries with a backoff."""
    log.warning("fetching updates failed (%s); retrying", error)


async def _retrying(action: Callable[[], Awaitable[T]], config: Config) -> T:
    """`action()`, retried with STARTUP_BACKOFF while the Bot API cannot be reached."""
    failures = 0
    while True:
        try:
            return await action()
        except InvalidToken:
            raise
        except NetworkError as exc:
            failures += 1
            delay = STARTUP_BACKOFF.delay(failures)
            log.warning(
                "cannot reach the Bot API at %s (%s); retrying in %gs", config.api_url, exc, delay
            )
            await asyncio.sleep(delay)


async def _stop(app: AnyApplication) -> None:
    """Stop fetching, finish the updates in hand within DRAIN_SECONDS, shut down.

    Updates not finished by then (waiting in the queue, or handlers still running, e.g. while
    Telegram rate-limits or is unreachable) are left in the inbox for the next start.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_SECONDS
    updater = app.updater
    if updater is not None and updater.running:
        # Its last getUpdates confirms the updates fetched; if that fails they come again,
        # and the inbox knows them.
        with contextlib.suppress(TimeoutError, TelegramError):
            await asyncio.wait_for(updater.stop(), DRAIN_SECONDS)
    if app.running:
        await _drain(app, max(deadline - loop.time(), 0.0))
        await app.stop()
    await app.shutdown()
    await app.bot.shutdown()  # when initialize failed half-way, shutdown() leaves the bot open
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


async def _drain(app: AnyApplication, seconds: float) -> None:
    """Wait up to `seconds` for the update queue to be handled; then give up on the rest."""
    queue = app.update_queue
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(queue.join(), seconds)
        return
    waiting = 0
    while not queue.empty():
        queue.get_nowait()
        queue.task_done()
        waiting += 1
    processor = app.update_processor
    running = await processor.cancel_in_flight() if isinstance(processor, InboxProcessor) else 0
    log.warning(
        "stopping: %d update(s) not finished within %gs (%d waiting, %d being answered) are "
        "kept in the inbox for the next start",
        waiting + running,
        DRAIN_SECONDS,
        waiting,
        running,
    )


__all__ = [
    "ALLOWED_UPDATES",
    "AnyApplication",
    "BotStartError",
    "Context",
    "build_application",
    "register_handlers",
    "require_shared_settings",
    "require_token",
    "run_bot",
    "serve",
    "webhook_options",
]
