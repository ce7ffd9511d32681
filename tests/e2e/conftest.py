"""Shared fixtures for end-to-end tests: the fake Bot API and a real PTB Application on it.

Typical bot test::

    async def test_greets(fake_api, app_builder, start_app):
        app = app_builder.build()
        register_handlers(app)  # the bot's own wiring
        await start_app(app)
        reply = await fake_api.ask("/start")
        assert "欢迎" in reply.params["text"]
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

from bot.answering.engine import Engine
from bot.config import Config
from bot.logurl import LogURL
from bot.questionlog.opening import open_log
from bot.telegram.app import ALLOWED_UPDATES, build_application
from bot.telegram.state import STATE_KEY, BotState
from tests.e2e.fake_bot_api import (
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    ApiCall,
    FakeBotApi,
    JSONDict,
)

# Short but generous timeouts: every request is served by a process-local server, so only
# a bug (or an injected delay) takes longer than a fraction of a second.
CLIENT_TIMEOUT = 3.0
# Long-poll timeout passed to getUpdates; the Updater's read timeout adds CLIENT_TIMEOUT.
POLL_TIMEOUT = 1

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
StartApp = Callable[[AnyApplication], Awaitable[AnyApplication]]


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; make sure loopback traffic never leaves the host."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost,::1")


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    """A running fake Bot API on a free 127.0.0.1 port, token ``DEFAULT_TOKEN``."""
    async with FakeBotApi(token=DEFAULT_TOKEN) as api:
        yield api


@pytest.fixture
def app_builder(fake_api: FakeBotApi) -> Any:
    """An ``ApplicationBuilder`` pointed at ``fake_api`` with short timeouts.

    Add the bot's own settings (persistence, rate limiter, defaults...) before ``build()``.
    """
    return (
        ApplicationBuilder()
        .token(fake_api.token)
        .base_url(fake_api.base_url)
        .base_file_url(fake_api.base_file_url)
        .connect_timeout(CLIENT_TIMEOUT)
        .read_timeout(CLIENT_TIMEOUT)
        .write_timeout(CLIENT_TIMEOUT)
        .pool_timeout(CLIENT_TIMEOUT)
        .get_updates_connect_timeout(CLIENT_TIMEOUT)
        .get_updates_read_timeout(CLIENT_TIMEOUT)
        .get_updates_write_timeout(CLIENT_TIMEOUT)
        .get_updates_pool_timeout(CLIENT_TIMEOUT)
    )


@pytest.fixture
async def start_app(fake_api: FakeBotApi) -> AsyncIterator[StartApp]:
    """Start an Application polling the fake; everything started is stopped at teardown.

    Depends on ``fake_api`` so that the bot stops before the server does (its final
    ``getUpdates`` confirms the last offset, as in production).
    """
    started: list[AnyApplication] = []

    async def start(app: AnyApplication) -> AnyApplication:
        await app.initialize()
        started.append(app)
        await app.start()
        assert app.updater is not None, "build the Application with an Updater"
        await app.updater.start_polling(poll_interval=0, timeout=POLL_TIMEOUT)
        return app

    yield start

    for app in reversed(started):
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()


@pytest.fixture
async def bot(fake_api: FakeBotApi) -> AsyncIterator[Bot]:
    """A bare, initialized ``telegram.Bot`` on the fake, for calling API methods directly."""
    async with Bot(
        fake_api.token, base_url=fake_api.base_url, base_file_url=fake_api.base_file_url
    ) as direct:
        yield direct


# --------------------------------------------------------------------------------------
# The kbbot bot itself on the fake (used by tests/e2e/test_bot_*.py)
# --------------------------------------------------------------------------------------

ADMIN_ID = 4242
"""The one admin in ``bot_config`` (any other user id is not an admin)."""


def api_origin(api: FakeBotApi) -> str:
    """What KBBOT_API_URL would be for ``api``: the server root, as for a self-hosted Bot API."""
    return api.base_url.removesuffix("/bot")


@pytest.fixture
def bot_config(tmp_path: Path, kb_dir: Path, fake_api: FakeBotApi) -> Config:
    """Settings for a bot on ``fake_api`` serving the fixture knowledge base (a private copy)."""
    return Config(
        knowledge_dir=kb_dir,
        db=LogURL.file(tmp_path / "data" / "questions.sqlite3"),
        data_dir=tmp_path / "data",
        token=fake_api.token,
        user_secret="e2e-user-secret",
        api_url=api_origin(fake_api),
        admins=frozenset({ADMIN_ID}),
        reload_interval=3600.0,  # tests that need the watcher ask for a short one
    )


@dataclass
class RunningBot:
    """The production Application, running (post_init done) and polling the fake."""

    api: FakeBotApi
    app: AnyApplication
    config: Config
    # Jobs handed to the question log: questions, feedback, suggestions taken, feedback choices.
    submitted: int = 0
    _submitted_changed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def watch_log(self) -> None:
        """Count what the bot hands to its LogQueue, so tests can await it instead of sleeping."""
        queue = self.state.questions
        assert queue is not None, "post_init opens the question log"
        for name in (
            "submit",
            "submit_feedback",
            "submit_suggestion_taken",
            "submit_feedback_choice",
        ):
            original = getattr(queue, name)

            def counted(*args: Any, _original: Any = original, **kw: Any) -> Any:
                future = _original(*args, **kw)
                self.submitted += 1
                event, self._submitted_changed = self._submitted_changed, asyncio.Event()
                event.set()
                return future

            setattr(queue, name, counted)

    async def logged(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until ``count`` log jobs were submitted in all, then until they are written."""
        async with asyncio.timeout(timeout):
            while self.submitted < count:
                await self._submitted_changed.wait()
        assert self.state.questions is not None
        await self.state.questions.flush()

    @property
    def state(self) -> BotState:
        state = self.app.bot_data[STATE_KEY]
        assert isinstance(state, BotState)
        return state

    async def ask(self, text: str, **kw: Any) -> ApiCall:
        """Send a private message and return the bot's reply (its sendMessage call)."""
        return await self.api.ask(text, **kw)

    async def press(self, reply: ApiCall, data: str, *, user_id: int = DEFAULT_USER_ID) -> JSONDict:
        """Press the button with callback ``data`` on the message the bot sent in ``reply``."""
        sent = reply.result
        assert isinstance(sent, dict), reply
        assert data in callback_data(reply), f"{data!r} is not a button of {reply!r}"
        chat = sent["chat"]
        return self.api.send_callback(
            data,
            user_id=user_id,
            chat_id=chat["id"],
            chat_type=chat["type"],
            message_id=sent["message_id"],
        )

    async def settle(self, update: JSONDict) -> None:
        """Wait until ``update`` and every update before it have been fully handled.

        The fake sees an update confirmed once PTB has queued it, and the Application's
        update queue counts a queued update done only when its handlers have finished.
        """
        await self.api.wait_confirmed(update["update_id"])
        await self.app.update_queue.join()

    async def rows(self, jobs: int | None = None) -> list[dict[str, object]]:
        """Every logged question, oldest first, once the log has caught up.

        Without ``jobs``: once every update received so far has been handled (a handler hands
        its question to the log after replying) and all that was handed over is written. With
        ``jobs``: once that many log jobs (questions, feedback, suggestions taken, feedback
        choices) are written.
        """
        if jobs is None:
            await self.app.update_queue.join()
        await self.logged(self.submitted if jobs is None else jobs)
        reader = await open_log(self.config.db.path)
        try:
            return list(reversed(await reader.rows(limit=10_000)))
        finally:
            await reader.close()


def buttons(call: ApiCall) -> list[JSONDict]:
    """The inline buttons of a sendMessage/editMessageText call, row by row flattened."""
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def wait_calls(api: FakeBotApi, method: str, count: int, *, after: int) -> list[ApiCall]:
    """The first ``count`` calls of ``method`` made after call index ``after``, in order."""
    found: list[ApiCall] = []
    for _ in range(count):
        found.append(await api.wait_for_call(method, after=found[-1].index if found else after))
    return found


def callback_data(call: ApiCall) -> list[str]:
    return [str(b["callback_data"]) for b in buttons(call) if "callback_data" in b]


StartBot = Callable[..., Awaitable[RunningBot]]


async def start_bot_app(app: AnyApplication) -> None:
    """What ``Application.run_polling`` does before it idles, minus signal handling."""
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
    )
    await app.start()


async def stop_bot_app(app: AnyApplication) -> None:
    """What ``run_polling`` does on SIGTERM: stop fetching, finish handlers, shut down."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


@pytest.fixture
async def start_bot(fake_api: FakeBotApi, bot_config: Config) -> AsyncIterator[StartBot]:
    """Start the real bot (``build_application``) on ``fake_api``; ``start_bot(admins=...)``
    overrides settings. Everything started is stopped, and its log closed, at teardown."""
    running: list[RunningBot] = []

    async def start(**overrides: Any) -> RunningBot:
        config = dataclasses.replace(bot_config, **overrides)
        app = build_application(
            config, Engine.from_directory(config.knowledge_dir), timeout=CLIENT_TIMEOUT
        )
        await start_bot_app(app)
        bot = RunningBot(fake_api, app, config)
        bot.watch_log()
        running.append(bot)
        return bot

    yield start

    for bot in reversed(running):
        await stop_bot_app(bot.app)


@pytest.fixture
async def kbbot(start_bot: StartBot) -> RunningBot:
    """The bot with default test settings, already running."""
    return await start_bot()


class LogLines(logging.Handler):
    """The bot's own log records, awaitable (handlers may run in worker threads)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.DEBUG)
        self.loop = loop
        self.records: list[logging.LogRecord] = []
        self._changed = asyncio.Event()

    @property
    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.loop.call_soon_threadsafe(self._notify)

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_for(self, text: str, after: int = 0, timeout: float = 20.0) -> int:  # noqa: ASYNC109
        """Index of the first message from `after` on containing `text`."""
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                for index, message in enumerate(self.messages[after:], after):
                    if text in message:
                        return index
                await changed.wait()


@pytest.fixture
async def bot_log() -> AsyncIterator[LogLines]:
    """What the bot's own modules log at INFO and above: what an operator reads."""
    handler = LogLines(asyncio.get_running_loop())
    logger = logging.getLogger("bot")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
