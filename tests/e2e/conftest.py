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

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

from tests.e2e.fake_bot_api import DEFAULT_TOKEN, FakeBotApi

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
