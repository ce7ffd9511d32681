"""The Telegram bot's wiring: build the Application, register every handler, run it.

This module only wires; what each handler does lives in handlers.py (citizens), inline.py,
admin.py and errors.py. `build_application` is what `kbbot run`, the end-to-end tests and the
benchmark all use, so they exercise exactly the production bot.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import secrets
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode, UpdateType
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import Config, ConfigError
from bot.engine import Engine
from bot.logqueue import LogQueue
from bot.report import REPORT_TZ
from bot.store import QuestionLog, StoreError
from bot.telegram import admin, handlers, inline, keyboards, review, review_keyboards
from bot.telegram.commands import publish_commands
from bot.telegram.errors import RetryingRateLimiter, redact_token, report_error
from bot.telegram.flood import TAP_ALLOWANCE, FloodGuard
from bot.telegram.health import schedule_health_route
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


class BotStartError(Exception):
    """The bot could not start (token rejected, Bot API unreachable): one line to show."""


def require_token(config: Config) -> str:
    """The token, or a ConfigError saying how to get one (checked before any slow start-up)."""
    if not config.token:
        raise ConfigError("KBBOT_TOKEN is not set: get a token from @BotFather and export it")
    return config.token


def build_application(
    config: Config, engine: Engine, *, timeout: float = REQUEST_TIMEOUT
) -> AnyApplication:
    """The production Application for `config`, serving `engine`.

    Args:
        timeout: seconds for each Bot API request (connect, read, write, pool); tests use less.
    """
    token = require_token(config)
    state = BotState(
        config=config,
        engine=engine,
        user_secret=config.user_hash_secret(),
        flood=FloodGuard(config.flood_limit, config.flood_period),
        taps=FloodGuard(config.flood_limit * TAP_ALLOWANCE, config.flood_period),
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
        .concurrent_updates(CONCURRENT_UPDATES)
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
    is_admin = filters.User(user_id=admins) & private

    # Group -1 runs before everything else: the flood guard may stop an update here.
    app.add_handler(TypeHandler(Update, handlers.guard_flood), group=-1)

    app.add_handler(CommandHandler("start", handlers.start, filters=new))
    app.add_handler(CommandHandler("help", handlers.help_command, filters=new))
    app.add_handler(CommandHandler("topics", handlers.topics, filters=new))
    app.add_handler(CommandHandler("stats", admin.show_stats, filters=new & is_admin))
    app.add_handler(CommandHandler("unanswered", review.show_unanswered, filters=new & is_admin))
    app.add_handler(CommandHandler("history", review.show_history, filters=new & is_admin))
    app.add_handler(CommandHandler("undo", review.undo_last, filters=new & is_admin))
    app.add_handler(CommandHandler("why", admin.explain_last, filters=new & is_admin))
    app.add_handler(CommandHandler("reload", admin.reload_knowledge, filters=new & is_admin))
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
    """Open the question log, publish the command menu, start the knowledge-file watcher."""
    state: BotState = app.bot_data[STATE_KEY]
    await _prepare_log(state.config.db_path)
    questions = LogQueue(state.config.db_path)
    await questions.start()
    state.questions = questions
    await admin.note_hand_edits(state)  # files edited while the bot was down
    if state.owns_stop_signals:
        _stop_once_on_signals()
    await publish_commands(app.bot, state)
    jobs = app.job_queue
    if jobs is not None:
        interval = state.config.reload_interval
        jobs.run_repeating(admin.watch_knowledge, interval=interval, first=interval)
        jobs.run_daily(admin.send_weekly_digest, time=WEEKLY_DIGEST_AT, days=(MONDAY,))
    schedule_health_route(app)  # webhook mode: GET /healthz (bot/telegram/health.py)
    log.info(
        "bot @%s started: %d entries, %d admin(s)",
        app.bot.username,
        len(state.engine.kb.entries),
        len(state.config.admins),
    )


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _stop_once_on_signals() -> None:
    """Stop on the first SIGTERM/SIGINT as PTB does, and ignore any that follow.

    PTB's own handler raises SystemExit on every stop signal, so a second SIGTERM (an impatient
    `docker stop`, a supervisor that repeats itself) would break off the graceful shutdown in
    the middle: replies in flight and questions not yet written would be lost. Ignoring the
    repeats lets the shutdown finish; SIGKILL remains for a bot that truly hangs.
    """
    loop = asyncio.get_running_loop()
    stopping = False

    def stop() -> None:
        # Two signals read from the loop's wake-up pipe together schedule this twice; the
        # second call must not raise into the shutdown the first one started.
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
        log.info("stop signal received: finishing the updates in hand, then exiting")
        raise SystemExit

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)


async def _prepare_log(path: Path) -> None:
    """Create and migrate the log before anything else opens it.

    Two connections opening a fresh file at once (the background writer and an admin's /stats)
    could both try the same migration; doing it once here, first, rules that out. A failure is
    only a warning: the writer retries, and answering does not depend on the log.
    """
    try:
        prepared = await QuestionLog.open(path)
    except StoreError as exc:
        log.warning("%s; questions are kept in memory until it can be written", exc)
        return
    await prepared.close()


async def post_shutdown(app: AnyApplication) -> None:
    """Close the question log once every handler has finished (the Application waits for them),
    so every question received before a SIGTERM is in the log."""
    state: BotState = app.bot_data[STATE_KEY]
    questions, state.questions = state.questions, None
    if questions is not None:
        unwritten = await questions.close()
        if unwritten:
            log.error("%d question(s) could not be written before shutdown", unwritten)
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

    On a stop signal PTB stops fetching, finishes the updates it has, then runs post_shutdown,
    which writes every logged question out before the process exits.
    """
    redact_token(require_token(config))
    app = build_application(config, engine)
    app.bot_data[STATE_KEY].owns_stop_signals = True
    try:
        if config.webhook_url:
            app.run_webhook(**webhook_options(config))
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except InvalidToken as exc:  # its message quotes the token: never show it
        raise BotStartError(
            f"the Bot API at {config.api_url} rejected KBBOT_TOKEN: "
            "check the token from @BotFather (and KBBOT_API_URL)"
        ) from exc
    except NetworkError as exc:
        raise BotStartError(f"cannot reach the Bot API at {config.api_url}: {exc}") from exc
    return 0


__all__ = [
    "ALLOWED_UPDATES",
    "AnyApplication",
    "BotStartError",
    "Context",
    "build_application",
    "register_handlers",
    "require_token",
    "run_bot",
    "webhook_options",
]
