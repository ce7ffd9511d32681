"""Webhook mode answers `kbbot health` over HTTP: GET /healthz on the bot's own webhook server.

The real production Application is started the way `run_webhook` starts it (post_init, then
PTB's tornado webhook server, then the Application), against the fake Bot API; the probe is a
plain HTTP client on loopback, as a load balancer would be.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.answering.engine import Engine
from bot.config import Config
from bot.telegram.app import build_application, webhook_options
from bot.telegram.health import HEALTH_PATH
from tests.e2e.conftest import CLIENT_TIMEOUT, AnyApplication, stop_bot_app
from tests.e2e.fake_bot_api import DEFAULT_USER_ID, FakeBotApi

SECRET = "health-test-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Announced(logging.Handler):
    """Sets an event when the bot logs that the health route is in place (no polling)."""

    def __init__(self) -> None:
        super().__init__()
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("health check at"):
            self.event.set()


@dataclasses.dataclass
class WebhookBot:
    app: AnyApplication
    config: Config
    base: str
    session: aiohttp.ClientSession

    async def probe(self, method: str = "GET") -> tuple[int, str]:
        async with self.session.request(method, self.base + HEALTH_PATH) as response:
            return response.status, await response.text()

    async def post_update(self, api: FakeBotApi, update_id: int, text: str) -> None:
        user = api.add_user(DEFAULT_USER_ID)
        chat = api.add_chat({"id": DEFAULT_USER_ID, "type": "private", "first_name": "T"})
        update = {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_700_000_000,
                "from": user,
                "chat": chat,
                "text": text,
            },
        }
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self.session.post(
            self.base + "/kbbot/webhook", json=update, headers=headers
        ) as response:
            assert response.status == 200


@pytest.fixture
async def webhook_bot(fake_api: FakeBotApi, bot_config: Config) -> AsyncIterator[WebhookBot]:
    config = dataclasses.replace(
        bot_config,
        webhook_url="https://bot.example.org/kbbot/webhook",
        webhook_port=_free_port(),
        webhook_secret=SECRET,
    )
    app = build_application(
        config, Engine.from_directory(config.knowledge_dir), timeout=CLIENT_TIMEOUT
    )
    announced = _Announced()
    logger = logging.getLogger("bot.telegram.health")
    logger.addHandler(announced)
    level = logger.level
    logger.setLevel(logging.DEBUG)  # the route's line is no news at INFO
    try:
        await app.initialize()
        assert app.post_init is not None and app.updater is not None
        await app.post_init(app)
        await app.updater.start_webhook(**webhook_options(config))
        await app.start()
        await asyncio.wait_for(announced.event.wait(), 10)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            yield WebhookBot(app, config, f"http://127.0.0.1:{config.webhook_port}", session)
    finally:
        logger.removeHandler(announced)
        logger.setLevel(level)
        await stop_bot_app(app)


async def test_a_healthy_bot_answers_200_with_every_check(webhook_bot: WebhookBot) -> None:
    status, body = await webhook_bot.probe()
    entries = len(webhook_bot.app.bot_data["kbbot"].engine.kb.entries)
    db = webhook_bot.config.db.path
    assert status == 200
    assert body == (
        f"ok: knowledge base: {entries} entries; question log: writable ({db}); "
        "log writer: 0 waiting\n"
    )
    assert await webhook_bot.probe("HEAD") == (200, "")


async def test_broken_knowledge_files_turn_it_503_while_the_bot_keeps_answering(
    webhook_bot: WebhookBot, fake_api: FakeBotApi, kb_dir: Path
) -> None:
    broken = kb_dir / "50-broken.yaml"
    broken.write_text("entries:\n  - id: [unclosed\n", encoding="utf-8")
    status, body = await webhook_bot.probe()
    assert status == 503 and body.startswith(f"unhealthy: knowledge base: {broken}:")
    assert body.count("\n") == 1 and "question log" not in body
    # The last good version still answers questions arriving on the webhook.
    await webhook_bot.post_update(fake_api, 1, "法律顾问覆盖情况")
    reply = await fake_api.wait_for_call("sendMessage")
    assert reply.result["text"].startswith("全区政府系统62个部门")
    broken.unlink()
    assert (await webhook_bot.probe())[0] == 200


async def test_an_unusable_question_log_turns_it_503(webhook_bot: WebhookBot) -> None:
    db = webhook_bot.config.db.path
    for path in db.parent.glob(db.name + "*"):
        path.unlink()
    db.write_bytes(b"restored from the wrong backup\n" * 200)
    status, body = await webhook_bot.probe()
    assert status == 503 and body.count("\n") == 1
    # The log writer may or may not have noticed yet; the file check always has.
    assert body.startswith(f"unhealthy: question log: {db} is not writable: file is not a database")
