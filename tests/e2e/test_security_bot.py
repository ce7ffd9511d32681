"""Security, end to end: the real bot never leaks its token, refuses admin actions to everyone
else however they are dressed up, stores users only as keyed hashes, and shows any text
literally.

Refusals are proved by a later message the bot does answer: updates from one user are
handled in order, so when that reply arrives the earlier update was already handled.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import aiohttp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from telegram.ext import CallbackQueryHandler

from bot.privacy import hash_user_id
from bot.telegram import admin, review, review_keyboards
from tests.e2e.botproc import PROCESS_TOKEN, BotProcess, bot_env
from tests.e2e.conftest import ADMIN_ID, RunningBot, StartBot, callback_data
from tests.e2e.fake_bot_api import (
    DEFAULT_BOT_USERNAME,
    DEFAULT_GROUP_ID,
    ApiCall,
    FakeBotApi,
    JSONDict,
    auto_entities,
)

SECRET_PART = PROCESS_TOKEN.split(":", 1)[1]
UNKNOWN = "没有这个命令。发送 /help 查看用法。"
EXPIRED = "这个按钮已失效，请发送 /topics 重新浏览。"
WAIT = 20.0


def leaks(text: str) -> bool:
    return SECRET_PART in text or PROCESS_TOKEN in text


def everything_written(data: Path) -> str:
    """Every file the bot wrote in its data directory (log, write-ahead log, spill, key)."""
    return "".join(
        path.read_bytes().decode("utf-8", "replace") for path in data.rglob("*") if path.is_file()
    )


def everything_sent(api: FakeBotApi) -> str:
    """Every parameter of every Bot API call: replies, error replies, menus, inline results."""
    return json.dumps([call.params for call in api.calls], ensure_ascii=False, default=str)


async def test_the_token_never_appears_in_what_the_bot_writes_at_debug(
    tmp_path: Path, kb_dir: Path
) -> None:
    data = tmp_path / "data"
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        env = bot_env(api, kb_dir, data, KBBOT_LOG_LEVEL="DEBUG", KBBOT_ADMINS=str(ADMIN_ID))
        bot = await BotProcess.start(env)
        try:
            await bot.wait_for_line("bot @kbbot_test_bot started")
            await api.ask("/start", user_id=ADMIN_ID, timeout=WAIT)
            # Failures that make PTB and the bot log errors, retries and full tracebacks.
            api.fail_next("sendMessage", status=502)
            api.drop_next("sendMessage")
            api.fail_next("sendMessage", status=400, description="Bad Request: injected")
            api.fail_next("getUpdates", status=500)
            for n, question in enumerate(["法律顾问覆盖情况", "复议", "我要投诉"]):
                await api.ask(question, user_id=800 + n, timeout=WAIT)
            # Admin paths: statistics, and a reload that fails with file:line problems.
            await api.ask("/stats", user_id=ADMIN_ID, timeout=WAIT)
            (kb_dir / "50-broken.yaml").write_text("entries: [\n", encoding="utf-8")
            await api.ask("/reload", user_id=ADMIN_ID, timeout=WAIT)
            mark = api.mark()
            api.send_inline_query("法律顾问", user_id=900)
            await api.wait_for_call("answerInlineQuery", after=mark, timeout=WAIT)
            api.send_callback("F:forgedforged:1", user_id=901)
            await api.wait_for_call("answerCallbackQuery", after=mark, timeout=WAIT)
            assert await bot.stop() == 0, bot.output
        finally:
            await bot.kill()
    assert "Traceback" in bot.output, "the run exercised the error paths"
    assert not leaks(bot.output)
    assert not leaks(everything_written(data))
    assert not leaks(everything_sent(api))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_at_debug_never_prints_the_token(tmp_path: Path, kb_dir: Path) -> None:
    """`kbbot run --webhook-url ...` as a process: the secret header, the health route, and
    nothing that carries the token in its output."""
    data = tmp_path / "data"
    port = _free_port()
    url = "https://bot.example.org/kbbot/webhook"
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        env = bot_env(api, kb_dir, data, KBBOT_LOG_LEVEL="DEBUG", KBBOT_WEBHOOK_SECRET="hdr-42")
        bot = await BotProcess.start(env, args=("run", "--webhook-url", url, "--port", str(port)))
        try:
            await bot.wait_for_line("health check at /healthz")
            registered = await api.wait_for_call("setWebhook", timeout=WAIT)
            assert registered.params["url"] == url
            user = api.add_user(4321)
            chat = api.add_chat({"id": 4321, "type": "private", "first_name": "W"})
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
            base = f"http://127.0.0.1:{port}"
            timeout = aiohttp.ClientTimeout(total=WAIT)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(base + "/healthz") as response:
                    assert response.status == 200
                    assert (await response.text()).startswith("ok: knowledge base: ")
                async with session.post(base + "/kbbot/webhook", json=update) as response:
                    assert response.status == 403  # no secret header
                headers = {"X-Telegram-Bot-Api-Secret-Token": "hdr-42"}
                async with session.post(
                    base + "/kbbot/webhook", json=update, headers=headers
                ) as response:
                    assert response.status == 200
            reply = await api.wait_for_call("sendMessage", timeout=WAIT)
            assert reply.ok and reply.params["chat_id"] == 4321
            assert await bot.stop() == 0, bot.output
        finally:
            await bot.kill()
    assert not leaks(bot.output) and not leaks(everything_sent(api))


# --- admin actions are for admins only ----------------------------------------------------------

_users = iter(range(3_000_000, 4_000_000))
_message_ids = iter(range(50_000_000, 60_000_000))


def inject_text(api: FakeBotApi, text: str, user_id: int, chat: JSONDict) -> None:
    """A text message as raw update: unlike `send_text`, it may claim any chat (a forgery)."""
    message: JSONDict = {
        "message_id": next(_message_ids),
        "from": {"id": user_id, "is_bot": False, "first_name": "U"},
        "chat": chat,
        "date": int(time.time()),
        "text": text,
    }
    entities = auto_entities(text)
    if entities:
        message["entities"] = entities
    api.inject({"message": message})


def chat_for(where: str, user: int) -> JSONDict:
    if where == "group":
        return {"id": DEFAULT_GROUP_ID, "type": "supergroup", "title": "街道工作群"}
    if where == "spoofed-chat":  # a forged update claiming the admin's private chat
        return {"id": ADMIN_ID, "type": "private", "first_name": "Admin"}
    return {"id": user, "type": "private", "first_name": "U"}


async def sends_until_sentinel(bot: RunningBot, chat: JSONDict, user_id: int) -> list[ApiCall]:
    """Every call the bot made until it answered a /help sent after the update under test
    (updates of one user are handled in order)."""
    chat_id = chat["id"]
    mark = bot.api.mark()
    inject_text(bot.api, "/help", user_id, chat)
    sentinel = await bot.api.wait_for_call(
        "sendMessage",
        predicate=lambda c: c.params["chat_id"] == chat_id and "可以这样问" in c.params["text"],
        after=mark,
        timeout=WAIT,
    )
    return [
        call
        for call in bot.api.calls
        if call.index < sentinel.index and call.method != "getUpdates"
    ]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    command=st.sampled_from(["stats", "unanswered", "why", "reload", "STATS", "Reload"]),
    suffix=st.sampled_from(["", f"@{DEFAULT_BOT_USERNAME}", "@otherbot"]),
    args=st.sampled_from(["", " 7d", " 50", " ../../etc/passwd", " <b>x</b>"]),
    where=st.sampled_from(["private", "group", "spoofed-chat"]),
)
async def test_admin_commands_are_refused_to_everyone_else(
    kbbot: RunningBot, command: str, suffix: str, args: str, where: str
) -> None:
    user = next(_users)
    served = kbbot.state.engine.kb
    chat = chat_for(where, user)
    mark = kbbot.api.mark()
    inject_text(kbbot.api, f"/{command}{suffix}{args}", user, chat)
    sent = [c for c in await sends_until_sentinel(kbbot, chat, user) if c.index > mark]
    texts = [c.params.get("text") for c in sent if c.method == "sendMessage"]
    assert set(texts) <= {UNKNOWN}, texts
    assert all(c.method == "sendMessage" for c in sent), sent
    assert kbbot.state.engine.kb is served, "nothing was reloaded"


async def test_a_caption_or_an_edit_is_not_an_admin_command(kbbot: RunningBot) -> None:
    served = kbbot.state.engine.kb
    mark = kbbot.api.mark()
    kbbot.api.send_photo(user_id=ADMIN_ID, caption="/reload")
    admin_chat = chat_for("spoofed-chat", ADMIN_ID)
    sent = [c for c in await sends_until_sentinel(kbbot, admin_chat, ADMIN_ID) if c.index > mark]
    assert [c.params["text"] for c in sent] == ["目前只能回答文字提问，请直接输入您的问题。"]
    assert kbbot.state.engine.kb is served


def test_only_the_admin_loop_handles_admin_buttons(kbbot: RunningBot) -> None:
    """The statistics, /why and /reload are commands only: no button reaches the admin module.
    The admin loop's buttons (bot/telegram/review.py) check the sender on every press."""
    callbacks = [
        handler.callback
        for group in kbbot.app.handlers.values()
        for handler in group
        if isinstance(handler, CallbackQueryHandler)
    ]
    assert callbacks and all(cb.__module__ != admin.__name__ for cb in callbacks)
    guarded = {cb for cb in callbacks if cb.__module__ == review.__name__}
    assert len(guarded) == len(review_keyboards.PATTERNS)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.one_of(*(st.from_regex(p, fullmatch=True) for p in review_keyboards.PATTERNS)))
async def test_admin_loop_buttons_refuse_everyone_else(kbbot: RunningBot, data: str) -> None:
    """Any well-formed admin-loop button, pressed by a non-admin on a message that carries it
    (a modified client can make one), is refused, logs nothing and edits nothing."""
    user = next(_users)
    jobs = kbbot.submitted
    mark = kbbot.api.mark()
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
    kbbot.api.send_callback(data, user_id=user, reply_markup=markup)
    answer = await kbbot.api.wait_for_call("answerCallbackQuery", after=mark, timeout=WAIT)
    assert answer.params.get("text") == EXPIRED
    calls = await sends_until_sentinel(kbbot, chat_for("private", user), user)
    assert [c.method for c in calls if c.index > mark] == ["answerCallbackQuery"]
    assert kbbot.submitted == jobs  # nothing logged


# Data a modified client might send: well-formed buttons for other messages or users, admin
# words, overlong, non-ASCII, injection-looking, and anything at all.
FORGED = st.one_of(
    st.builds(lambda r, h: f"F:{r}:{h}", st.from_regex(r"[A-Za-z0-9_-]{6,13}", fullmatch=True), st.sampled_from("01")),
    st.builds(lambda r, e: f"S:{r}:{e}", st.from_regex(r"[A-Za-z0-9_-]{11}", fullmatch=True), st.sampled_from(["law-firms", "x", "legal-adviser-coverage"])),
    st.sampled_from(["reload", "/reload", "stats", "A:reload", "T:0", "T:9999", "E:law-firms",
                     "R:court-appearance-rate", "P:00000000:0", "'; DROP TABLE questions;--",
                     "F:" + "A" * 60 + ":1", "法律顾问覆盖情况", ""]),
    st.text(max_size=64),
)  # fmt: skip


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=FORGED)
async def test_forged_callback_data_changes_nothing(kbbot: RunningBot, data: str) -> None:
    user = next(_users)
    jobs = kbbot.submitted + 1
    reply = await kbbot.ask("法律顾问覆盖情况", user_id=user, timeout=WAIT)
    assume(data not in callback_data(reply))
    await kbbot.logged(jobs)  # the question itself
    mark = kbbot.api.mark()
    kbbot.api.send_callback(data, user_id=user, chat_id=user, message_id=reply.result["message_id"])
    answer = await kbbot.api.wait_for_call("answerCallbackQuery", after=mark, timeout=WAIT)
    assert answer.params.get("text") == EXPIRED
    await sends_until_sentinel(kbbot, chat_for("private", user), user)
    acted = [
        c
        for c in kbbot.api.calls
        if c.index > mark and c.method in ("editMessageText", "editMessageReplyMarkup")
    ]
    assert acted == []
    assert kbbot.submitted == jobs, "no feedback or suggestion was logged"


# --- user ids are stored only as keyed hashes ---------------------------------------------------


async def test_user_ids_are_stored_only_as_keyed_hashes(kbbot: RunningBot) -> None:
    user = 6_543_210_987
    reply = await kbbot.ask("法律顾问覆盖情况", user_id=user)
    helpful = next(d for d in callback_data(reply) if d.startswith("F:") and d.endswith(":1"))
    await kbbot.press(reply, helpful, user_id=user)
    mark = kbbot.api.mark()
    kbbot.api.send_group_text(f"@{DEFAULT_BOT_USERNAME} 复议", user_id=user)
    kbbot.api.send_inline_query("负责人出庭应诉率", user_id=user)
    await kbbot.api.wait_for_call("answerInlineQuery", after=mark, timeout=WAIT)
    kbbot.api.send_chosen_inline_result("court-appearance-rate", "负责人出庭应诉率", user_id=user)
    rows = await asyncio.wait_for(kbbot.rows(4), WAIT)  # 3 questions + 1 rating
    expected = hash_user_id(user, kbbot.state.user_secret)
    assert [row["user_hash"] for row in rows] == [expected] * 3
    assert rows[0]["feedback"] == 1
    db = kbbot.config.db.path
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert str(user).encode() not in stored
    assert kbbot.state.user_secret not in stored


# --- any text shows literally -------------------------------------------------------------------

MARKUP_ENTRY = """entries:
  - id: markup-topic
    topic: <主题> & "引号" </b>
    questions: [标记字符测试问题]
    answer: 答案 <script>alert(1)</script> & &amp; *星* _下_ [链](http://x) <b>粗</b>
    source: 第<一>部分 & </i>
"""


async def test_markup_anywhere_in_the_knowledge_base_shows_literally(
    start_bot: StartBot, kb_dir: Path
) -> None:
    (kb_dir / "40-markup.yaml").write_text(MARKUP_ENTRY, encoding="utf-8")
    replies = kb_dir / "replies.yaml"
    text = replies.read_text(encoding="utf-8")
    text = text.replace(
        "  topics_intro: 请选择想了解的主题：", "  topics_intro: <选择> & <b>主题</b>："
    )
    text = text.replace("  suggest_intro: 您是不是想问：", "  suggest_intro: <您是不是> & 想问：")
    replies.write_text(text, encoding="utf-8")
    bot = await start_bot()
    answer = await bot.ask("标记字符测试问题")
    assert answer.result["text"] == (
        "答案 <script>alert(1)</script> & &amp; *星* _下_ [链](http://x) <b>粗</b>\n\n"
        "来源：第<一>部分 & </i>"
    )
    assert answer.result.get("entities", []) == [
        {"type": "italic", "offset": 72, "length": 16}
    ] or all(e["type"] == "italic" for e in answer.result.get("entities", []))
    menu = await bot.ask("/topics")
    assert menu.result["text"] == "<选择> & <b>主题</b>："
    # The admin's /why echoes the admin's own question, markup and all.
    await bot.ask("<b>不是标签</b> & 标记字符测试问题", user_id=ADMIN_ID)
    why = await bot.ask("/why", user_id=ADMIN_ID)
    assert why.ok and "问题：<b>不是标签</b> & 标记字符测试问题" in why.result["text"]
    mark = bot.api.mark()
    bot.api.send_inline_query("标记字符测试问题")
    inline = await bot.api.wait_for_call("answerInlineQuery", after=mark, timeout=WAIT)
    assert inline.ok, inline  # the fake validates each result's HTML as Telegram would
