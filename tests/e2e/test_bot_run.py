"""Running the bot for real: `kbbot` / `kbbot run` in a subprocess against the fake Bot API
(long polling, SIGTERM, a rejected token), and PTB's webhook server with its secret header."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sqlite3
from pathlib import Path

import aiohttp

from bot.answering.engine import Engine
from bot.config import Config
from bot.telegram.app import build_application, webhook_options
from tests.e2e.botproc import spawn
from tests.e2e.conftest import CLIENT_TIMEOUT, api_origin, stop_bot_app
from tests.e2e.fake_bot_api import DEFAULT_USER_ID, FakeBotApi

# Real tokens are <bot id>:<35 characters>; `kbbot` refuses anything else before starting.
REAL_SHAPED_TOKEN = "7712345678:AAF3kq9Zx_pQ-secretsecretsecret12345"
REPO = Path(__file__).parents[2]


def _env(api: FakeBotApi, tmp_path: Path, kb_dir: Path, token: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KBBOT_") and "proxy" not in key.lower()
    }
    env.update(
        KBBOT_TOKEN=token,
        KBBOT_API_URL=api_origin(api),
        KBBOT_KNOWLEDGE=str(kb_dir),
        KBBOT_DB=str(tmp_path / "questions.sqlite3"),
        KBBOT_DATA_DIR=str(tmp_path / "data"),
        KBBOT_LOG_LEVEL="DEBUG",  # the most talkative level must still never print the token
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(REPO),
    )
    return env


async def test_kbbot_starts_the_bot_and_sigterm_logs_every_question(
    tmp_path: Path, kb_dir: Path
) -> None:
    questions = ["法律顾问覆盖情况", "复议", "明天天气怎么样", "负责人出庭应诉率", "我要投诉"] * 4
    async with FakeBotApi(token=REAL_SHAPED_TOKEN) as api:
        # No command: with KBBOT_TOKEN set, the main job is the Telegram bot.
        process = await spawn(_env(api, tmp_path, kb_dir, REAL_SHAPED_TOKEN))
        try:
            # Polling starts right after deleteWebhook; updates sent now wait for that poll.
            await api.wait_for_call("deleteWebhook", timeout=30)
            mark = api.mark()
            for n, question in enumerate(questions):
                api.send_text(question, user_id=DEFAULT_USER_ID + n)
            for n in range(len(questions)):
                await api.wait_for_call(
                    "sendMessage",
                    predicate=lambda c, n=n: c.params["chat_id"] == DEFAULT_USER_ID + n,
                    after=mark,
                    timeout=30,
                )
            # Stop right after the last answer: the log is written in the background, so
            # this checks that shutdown drains it.
            process.send_signal(signal.SIGTERM)
            process.send_signal(signal.SIGTERM)  # a repeat must not cut the shutdown short
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert REAL_SHAPED_TOKEN not in log and REAL_SHAPED_TOKEN.split(":")[1] not in log
    assert "bot @kbbot_test_bot started" in log and "bot stopped" in log
    with sqlite3.connect(tmp_path / "questions.sqlite3") as db:
        logged = [q for (q,) in db.execute("SELECT question FROM questions ORDER BY id")]
    assert sorted(logged) == sorted(questions)


async def test_a_rejected_token_is_one_line_and_never_printed(tmp_path: Path, kb_dir: Path) -> None:
    async with FakeBotApi(token="1:" + "x" * 35) as api:  # the server knows another token
        process = await spawn(_env(api, tmp_path, kb_dir, REAL_SHAPED_TOKEN), "run")
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert process.returncode == 1
    assert log.splitlines()[-1].startswith("kbbot: error: the Bot API at http://127.0.0.1:")
    assert "rejected KBBOT_TOKEN" in log.splitlines()[-1]
    assert REAL_SHAPED_TOKEN.split(":")[1] not in log  # not even in PTB's own traceback


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_checks_the_secret_header(
    fake_api: FakeBotApi, bot_config: Config
) -> None:
    config = dataclasses.replace(
        bot_config,
        webhook_url="https://kbbot.example.test/telegram/hook",
        webhook_port=_free_port(),
        webhook_secret="s3cret_Header-value",
    )
    app = build_application(
        config, Engine.from_directory(config.knowledge_dir), timeout=CLIENT_TIMEOUT
    )
    options = webhook_options(config)
    assert options["url_path"] == "telegram/hook"
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    try:
        assert app.updater is not None
        await app.updater.start_webhook(**options)
        await app.start()
        registered = await fake_api.wait_for_call("setWebhook")
        assert registered.params["url"] == config.webhook_url
        assert registered.params["secret_token"] == "s3cret_Header-value"
        assert registered.params["allowed_updates"] == [
            "message",
            "callback_query",
            "inline_query",
            "chosen_inline_result",
        ]

        user = fake_api.add_user(DEFAULT_USER_ID)
        chat = fake_api.add_chat({"id": DEFAULT_USER_ID, "type": "private", "first_name": "T"})
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "from": user,
                "chat": chat,
                "text": "法律顾问覆盖情况",
            },
        }
        url = f"http://127.0.0.1:{config.webhook_port}/telegram/hook"
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with session.post(url, json=update, headers=headers) as response:
                    assert response.status == 403
            good = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_Header-value"}
            async with session.post(url, json=update, headers=good) as response:
                assert response.status == 200
        reply = await fake_api.wait_for_call("sendMessage")
        assert reply.result["text"].startswith("全区政府系统62个部门")
        assert len(fake_api.calls_of("sendMessage")) == 1  # the rejected posts did nothing
    finally:
        await stop_bot_app(app)
