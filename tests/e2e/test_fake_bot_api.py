"""Prove the fake Bot API is faithful enough for the real PTB stack to run on it.

Each test drives the unmodified python-telegram-bot ``Application`` (long polling via the
``Updater``, ``HTTPXRequest``, ``de_json``, error mapping) or a bare ``Bot`` against the fake,
so a discrepancy between the fake and what PTB sends/expects fails here first, not in the
bot's own tests.  Nothing sleeps: every wait is on an event with a timeout.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from tests.e2e.conftest import AnyApplication, StartApp
from tests.e2e.fake_bot_api import (
    DEFAULT_BOT_USERNAME,
    DEFAULT_GROUP_ID,
    DEFAULT_USER_ID,
    FakeBotApi,
    auto_entities,
    parse_html,
    utf16_len,
)

BOT_MENTION = f"@{DEFAULT_BOT_USERNAME}"


# --------------------------------------------------------------------------------------
# A tiny bot defined here, so these tests depend on PTB and the fake only
# --------------------------------------------------------------------------------------


async def _record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    context.bot_data.setdefault("seen", []).append(update.update_id)


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"欢迎! args={context.args}")


async def _mentions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    found = update.effective_message.parse_entities(["mention"]).values()
    await update.effective_message.reply_text("mentions: " + " ".join(found))


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text
    await update.effective_message.reply_text(update.effective_message.text)


async def _button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("收到")
    await query.edit_message_text(f"你选择了 {query.data}")


async def _inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    assert query is not None
    results = [
        InlineQueryResultArticle(
            id=f"r{i}",
            title=f"{query.query} #{i}",
            input_message_content=InputTextMessageContent(f"{query.query} 答案 {i}"),
        )
        for i in range(3)
    ]
    await query.answer(results, cache_time=0)


@pytest.fixture
async def app(app_builder: Any, start_app: StartApp) -> AnyApplication:
    application: AnyApplication = app_builder.build()
    application.add_handler(TypeHandler(Update, _record), group=-1)
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(MessageHandler(filters.Entity("mention"), _mentions))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    application.add_handler(CallbackQueryHandler(_button))
    application.add_handler(InlineQueryHandler(_inline))
    return await start_app(application)


# --------------------------------------------------------------------------------------
# The Application on the fake
# --------------------------------------------------------------------------------------


async def test_initialize_uses_get_me(fake_api: FakeBotApi, app: AnyApplication) -> None:
    assert app.bot.username == DEFAULT_BOT_USERNAME
    assert app.bot.id == 123456
    assert app.bot.can_join_groups is True
    assert app.bot.supports_inline_queries is True
    get_me = fake_api.calls_of("getMe")[0]
    assert get_me.ok and get_me.http_method == "POST"
    # Updater.start_polling bootstraps with deleteWebhook, then long-polls.
    assert fake_api.calls_of("deleteWebhook")
    poll = await fake_api.wait_polling()
    assert poll.params == {"timeout": 1, "offset": 0}  # allowed_updates is not sent


async def test_text_is_echoed(fake_api: FakeBotApi, app: AnyApplication) -> None:
    text = "你好，请问法律顾问制度是什么？😀"
    call = await fake_api.ask(text)
    assert call.params["chat_id"] == DEFAULT_USER_ID  # decoded from the form field "10001"
    assert call.params["text"] == text
    sent = call.result
    assert sent["chat"] == {
        "id": DEFAULT_USER_ID,
        "type": "private",
        "first_name": "Tester",
        "username": f"user{DEFAULT_USER_ID}",
    }
    assert sent["from"]["id"] == app.bot.id and sent["from"]["is_bot"] is True
    # The bot's message ids continue the chat's sequence after the user's message.
    assert sent["message_id"] == 2
    assert fake_api.message(DEFAULT_USER_ID, 2) == sent


async def test_numeric_looking_text_stays_a_string(
    fake_api: FakeBotApi, app: AnyApplication
) -> None:
    call = await fake_api.ask("12345")
    assert call.params["text"] == "12345"


async def test_command_routed_by_entities(fake_api: FakeBotApi, app: AnyApplication) -> None:
    update = fake_api.send_text("/start 法律 顾问")
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    call = await fake_api.wait_for_call("sendMessage")
    assert call.params["text"] == "欢迎! args=['法律', '顾问']"

    # /cmd@botname is one bot_command entity and PTB checks the name against getMe.
    update = fake_api.send_text(f"/start@{DEFAULT_BOT_USERNAME}")
    assert update["message"]["entities"][0]["length"] == len(f"/start@{DEFAULT_BOT_USERNAME}")
    call = await fake_api.wait_for_call("sendMessage")
    assert call.params["text"] == "欢迎! args=[]"

    # Addressed to another bot: no handler answers, so the next reply is the echo.
    fake_api.send_text("/start@some_other_bot")
    call = await fake_api.ask("ping")
    assert call.params["text"] == "ping"
    assert [c.params["text"] for c in fake_api.calls_of("sendMessage")][-1] == "ping"
    assert len(fake_api.calls_of("sendMessage")) == 3


async def test_mention_entities_use_utf16_offsets(
    fake_api: FakeBotApi, app: AnyApplication
) -> None:
    text = f"😀你好 {BOT_MENTION}，请问🙏法律顾问"
    update = fake_api.send_group_text(text)
    entity = update["message"]["entities"][0]
    # The emoji is two UTF-16 code units: a code-point offset would be 4, not 5.
    assert entity == {"type": "mention", "offset": 5, "length": len(BOT_MENTION)}
    call = await fake_api.wait_for_call("sendMessage")
    # In groups PTB's reply_text quotes the message it answers.
    assert call.params == {
        "chat_id": DEFAULT_GROUP_ID,
        "text": f"mentions: {BOT_MENTION}",
        "reply_parameters": {"message_id": update["message"]["message_id"]},
    }
    assert call.result["reply_to_message"]["text"] == text
    assert call.result["chat"]["type"] == "supergroup"


async def test_group_reply_to_bot(fake_api: FakeBotApi, app: AnyApplication) -> None:
    update = fake_api.send_group_text("法律顾问是什么", reply_to_bot=True)
    message = update["message"]
    assert message["reply_to_message"]["from"]["id"] == app.bot.id  # invented bot message
    assert message["message_id"] == message["reply_to_message"]["message_id"] + 1
    call = await fake_api.wait_for_call("sendMessage")
    assert call.params["reply_parameters"] == {"message_id": message["message_id"]}
    assert call.result["message_id"] == message["message_id"] + 1


def test_mentions_follow_telegram_word_boundaries() -> None:
    # A CJK character is a word character: Telegram makes no mention without a separator.
    assert auto_entities(f"请问{BOT_MENTION}") == []
    assert auto_entities(f"请问 {BOT_MENTION}")[0]["offset"] == 3
    assert auto_entities(f"请问，{BOT_MENTION}")[0]["type"] == "mention"
    # Too short to be a username; an e-mail address is not a mention.
    assert auto_entities("@abc hi") == []
    assert auto_entities("mail me@example.com") == []
    # Commands are found anywhere, as clients do; /cmd@bot is one entity.
    assert auto_entities("see /help") == [{"type": "bot_command", "offset": 4, "length": 5}]
    assert auto_entities("/a@bc") == []  # bot usernames have at least 3 characters


@given(
    prefix=st.text(max_size=12),
    name=st.from_regex(r"[A-Za-z][A-Za-z0-9_]{4,20}", fullmatch=True),
    suffix=st.text(max_size=12),
)
def test_auto_entities_round_trip_through_ptb(prefix: str, name: str, suffix: str) -> None:
    """Whatever the surrounding text (emoji, CJK, combining marks), PTB's UTF-16 slicing
    of every generated entity gives back exactly a ``@mention`` or a ``/command``."""
    text = f"{prefix} @{name} {suffix}"
    message = Message.de_json(
        {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1, "type": "private"},
            "text": text,
            "entities": auto_entities(text),
        },
        bot=None,
    )
    assert message is not None
    parsed = list(message.parse_entities().values())
    assert f"@{name}" in parsed
    assert all(p[0] in "@/" and " " not in p for p in parsed)
    for entity in message.entities:
        assert entity.offset + entity.length <= utf16_len(text)


async def test_callback_query_answered_and_message_edited(
    fake_api: FakeBotApi, app: AnyApplication
) -> None:
    keyboard = {"inline_keyboard": [[{"text": "法律", "callback_data": "topic:法律"}]]}
    update = fake_api.send_callback("topic:法律", message_text="请选择", reply_markup=keyboard)
    query = update["callback_query"]
    message_id = query["message"]["message_id"]

    answer = await fake_api.wait_for_call("answerCallbackQuery")
    assert answer.params == {"callback_query_id": query["id"], "text": "收到"}
    assert answer.result is True

    edit = await fake_api.wait_for_call("editMessageText")
    assert edit.params["chat_id"] == DEFAULT_USER_ID
    assert edit.params["message_id"] == message_id
    assert edit.params["text"] == "你选择了 topic:法律"
    stored = fake_api.message(DEFAULT_USER_ID, message_id)
    assert stored is not None and stored["text"] == "你选择了 topic:法律"
    assert "reply_markup" not in stored  # an edit without reply_markup drops the keyboard
    assert edit.result == stored


async def test_inline_query_answered(fake_api: FakeBotApi, app: AnyApplication) -> None:
    update = fake_api.send_inline_query("法律顾问")
    call = await fake_api.wait_for_call("answerInlineQuery")
    assert call.params["inline_query_id"] == update["inline_query"]["id"]
    assert call.params["cache_time"] == 0
    results = call.params["results"]  # a JSON string in the form, decoded to a list here
    assert [r["id"] for r in results] == ["r0", "r1", "r2"]
    assert results[0]["type"] == "article"
    assert results[0]["input_message_content"] == {"message_text": "法律顾问 答案 0"}


async def test_a_chosen_inline_result_reaches_ptb_as_one(fake_api: FakeBotApi, bot: Bot) -> None:
    fake_api.send_chosen_inline_result("r1", "法律顾问", user_id=DEFAULT_USER_ID)
    [update] = await bot.get_updates(timeout=0)
    chosen = update.chosen_inline_result
    assert chosen is not None and update.effective_user is not None
    assert (chosen.result_id, chosen.query, chosen.inline_message_id) == ("r1", "法律顾问", None)
    assert update.effective_user.id == DEFAULT_USER_ID
    # Like Telegram, the fake sends only the update kinds a bot asked for when it lists any.
    fake_api.send_chosen_inline_result("r2", "复议")
    assert await bot.get_updates(offset=update.update_id + 1, allowed_updates=["message"]) == ()


async def test_offsets_confirm_updates(fake_api: FakeBotApi, app: AnyApplication) -> None:
    updates = [fake_api.send_text(f"消息 {i}") for i in range(5)]
    ids = [u["update_id"] for u in updates]
    texts = [(await fake_api.wait_for_call("sendMessage")).params["text"] for _ in ids]
    assert texts == [f"消息 {i}" for i in range(5)]
    await fake_api.wait_confirmed(ids[-1])
    assert fake_api.pending_updates == []
    assert sorted(fake_api.delivery_log) == ids  # each update delivered exactly once
    assert app.bot_data["seen"] == ids
    offsets = [c.params.get("offset") for c in fake_api.calls_of("getUpdates")]
    assert ids[-1] + 1 in offsets


async def test_unconfirmed_updates_are_redelivered(fake_api: FakeBotApi, bot: Bot) -> None:
    first = fake_api.send_text("一")["update_id"]
    second = fake_api.send_text("二")["update_id"]
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first, second]
    # No offset: nothing confirmed, the same updates come again.
    assert [u.update_id for u in await bot.get_updates(timeout=0, limit=1)] == [first]
    assert [u.update_id for u in await bot.get_updates(offset=second, timeout=0)] == [second]
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    assert fake_api.pending_updates == []


async def test_long_poll_returns_when_an_update_arrives(fake_api: FakeBotApi, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake_api.wait_polling()
    update = fake_api.send_text("醒醒")
    result = await asyncio.wait_for(poll, 2)
    assert [u.update_id for u in result] == [update["update_id"]]
    assert result[0].message is not None and result[0].message.text == "醒醒"


async def test_long_poll_times_out_empty(fake_api: FakeBotApi, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=dtm.timedelta(milliseconds=200)) == ()
    assert loop.time() - started >= 0.15
    assert fake_api.calls_of("getUpdates")[-1].params["timeout"] == 0.2


async def test_newer_poll_terminates_older_with_conflict(fake_api: FakeBotApi, bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=30))
    await fake_api.wait_polling()
    # A second instance of the bot (a Bot's getUpdates pool holds one connection).
    async with Bot(fake_api.token, base_url=fake_api.base_url) as second:
        assert await second.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getupdates request"):
        await asyncio.wait_for(older, 2)


# --------------------------------------------------------------------------------------
# Errors and faults, seen through a bare Bot
# --------------------------------------------------------------------------------------


async def test_429_surfaces_as_retry_after(
    fake_api: FakeBotApi, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22's opt-in: retry_after is a timedelta
    fake_api.send_text("hi")  # the user opened the private chat
    fake_api.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(DEFAULT_USER_ID, "你好")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    failed = fake_api.calls_of("sendMessage")[-1]
    assert (failed.status, failed.fault) == (429, "fail")
    # The fault is consumed: the retry goes through.
    message = await bot.send_message(DEFAULT_USER_ID, "你好")
    assert message.text == "你好" and message.chat.id == DEFAULT_USER_ID


async def test_5xx_surfaces_as_network_error(fake_api: FakeBotApi, bot: Bot) -> None:
    fake_api.send_text("hi")
    fake_api.fail_next("sendMessage", status=500, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error") as caught:
            await bot.send_message(DEFAULT_USER_ID, "x")
        assert not isinstance(caught.value, (BadRequest, RetryAfter))
    assert (await bot.send_message(DEFAULT_USER_ID, "x")).message_id > 0


async def test_wrong_token_is_invalid_token(fake_api: FakeBotApi) -> None:
    wrong = Bot("654321:WRONG", base_url=fake_api.base_url)
    try:
        with pytest.raises(InvalidToken):
            await wrong.initialize()
    finally:
        await wrong.shutdown()
    assert fake_api.calls[-1].status == 401


async def test_unknown_method_is_endpoint_not_found(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_dropped_connection_is_network_error(fake_api: FakeBotApi, bot: Bot) -> None:
    fake_api.send_text("hi")
    fake_api.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(DEFAULT_USER_ID, "丢失")
    assert fake_api.calls_of("sendMessage")[-1].status == 0
    assert fake_api.chat_messages(DEFAULT_USER_ID)[-1]["text"] == "hi"  # not sent

    fake_api.drop_next("sendMessage", processed=True)
    with pytest.raises(NetworkError):
        await bot.send_message(DEFAULT_USER_ID, "已发送但回应丢失")
    assert fake_api.chat_messages(DEFAULT_USER_ID)[-1]["text"] == "已发送但回应丢失"


async def test_delay_provokes_client_timeout(fake_api: FakeBotApi, bot: Bot) -> None:
    fake_api.send_text("hi")
    fake_api.delay_next("sendMessage", 5)
    with pytest.raises(TimedOut):
        await bot.send_message(DEFAULT_USER_ID, "慢", read_timeout=0.2)
    # Telegram-like: the message was sent even though the answer came too late.
    call = await fake_api.wait_for_call("sendMessage")
    assert call.fault == "delay" and call.result["text"] == "慢"


async def test_html_is_parsed_like_telegram(fake_api: FakeBotApi, bot: Bot) -> None:
    fake_api.send_text("hi")
    message = await bot.send_message(
        DEFAULT_USER_ID, "<b>法律</b>顾问 &lt;3 😀<i>好</i>", parse_mode=ParseMode.HTML
    )
    assert message.text == "法律顾问 <3 😀好"
    assert message.parse_entities() == {
        message.entities[0]: "法律",
        message.entities[1]: "好",
    }
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "问题" at byte offset 9'):
        await bot.send_message(DEFAULT_USER_ID, "回答：<问题>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag corresponding to start tag"):
        await bot.send_message(DEFAULT_USER_ID, "<b>未闭合", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(DEFAULT_USER_ID, "第1.2条", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(DEFAULT_USER_ID, "法" * 4097)


def test_parse_html_pre_code_language() -> None:
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert entities == [{"offset": 0, "length": 5, "type": "pre", "language": "python"}]


async def test_edit_rules(fake_api: FakeBotApi, bot: Bot) -> None:
    fake_api.send_text("hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="yes")]])
    sent = await bot.send_message(DEFAULT_USER_ID, "确认？", reply_markup=keyboard)
    assert sent.reply_markup == keyboard  # inline keyboards are echoed in the Message
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "确认？", DEFAULT_USER_ID, sent.message_id, reply_markup=keyboard
        )
    edited = await bot.edit_message_text("已确认", DEFAULT_USER_ID, sent.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", DEFAULT_USER_ID, 999)
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", DEFAULT_USER_ID, 1)  # the user's own message
    assert await bot.delete_message(DEFAULT_USER_ID, sent.message_id) is True
    assert fake_api.message(DEFAULT_USER_ID, sent.message_id) is None


async def test_callback_data_limit_is_in_utf8_bytes(fake_api: FakeBotApi, bot: Bot) -> None:
    fake_api.send_text("hi")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("太长", callback_data="法" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(DEFAULT_USER_ID, "选择", reply_markup=too_long)


async def test_chat_rules(fake_api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(42, "陌生人")
    fake_api.send_group_text("大家好", user_id=77)  # seen in a group only
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(77, "私聊")
    fake_api.send_text("hi", user_id=78)
    fake_api.block_user(78)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(78, "还在吗")


async def test_bot_level_methods(fake_api: FakeBotApi, bot: Bot) -> None:
    assert await bot.set_my_commands([("start", "开始"), ("help", "帮助")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.set_my_description("江汉区法治政府报告问答")
    assert await bot.set_my_short_description("问答机器人")
    assert await bot.set_webhook("https://example.invalid/hook")  # stored, never contacted
    info = await bot.get_webhook_info()
    assert info.url == "https://example.invalid/hook"
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    fake_api.send_group_text("hi")
    chat = await bot.get_chat(DEFAULT_GROUP_ID)
    assert chat.type == "supergroup" and chat.title == "测试群"
    assert await bot.send_chat_action(DEFAULT_GROUP_ID, "typing")
    assert await bot.log_out() and await bot.close()


async def test_uploaded_files_are_recorded(fake_api: FakeBotApi, bot: Bot) -> None:
    fake_api.send_text("hi")
    fake_api.set_handler(
        "sendDocument",
        lambda params: {
            "message_id": 99,
            "date": 0,
            "chat": {"id": params["chat_id"], "type": "private"},
            "document": {"file_id": "D1", "file_unique_id": "U1"},
        },
    )
    message = await bot.send_document(DEFAULT_USER_ID, b"%PDF-1.4", filename="报告.pdf")
    assert message.document is not None and message.document.file_id == "D1"
    call = fake_api.calls_of("sendDocument")[-1]
    assert call.files[0].data == b"%PDF-1.4" and call.files[0].filename == "报告.pdf"
    assert call.params["chat_id"] == DEFAULT_USER_ID


async def test_photo_can_be_downloaded(fake_api: FakeBotApi, bot: Bot) -> None:
    update = fake_api.send_photo(caption=f"看看 {BOT_MENTION}", content=b"jpeg-bytes")
    largest = update["message"]["photo"][-1]
    assert update["message"]["caption_entities"][0]["type"] == "mention"
    file = await bot.get_file(largest["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"jpeg-bytes"


# --------------------------------------------------------------------------------------
# The wire format, without PTB in between
# --------------------------------------------------------------------------------------


async def test_raw_http_contract(fake_api: FakeBotApi) -> None:
    url = f"{fake_api.base_url}{fake_api.token}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/GETME") as response:  # GET, any case
            body = await response.json()
            assert response.status == 200 and body["result"]["is_bot"] is True
        async with session.post(f"{fake_api.base_url}1:bad/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with session.post(f"{url}/frobnicate") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        fake_api.send_text("hi")
        markup = {"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]}
        payload = {"chat_id": DEFAULT_USER_ID, "text": "json body", "reply_markup": markup}
        async with session.post(f"{url}/sendMessage", json=payload) as response:
            body = await response.json()
            assert body["ok"] is True and body["result"]["reply_markup"] == markup
        form = {"chat_id": str(DEFAULT_USER_ID), "text": "007", "reply_markup": json.dumps(markup)}
        async with session.post(f"{url}/sendmessage", data=form) as response:
            assert (await response.json())["result"]["text"] == "007"
    form_call = fake_api.calls[-1]
    assert form_call.method == "sendMessage"  # canonical name whatever the case used
    assert form_call.params == {"chat_id": DEFAULT_USER_ID, "text": "007", "reply_markup": markup}
    fake_api.fail_next("getMe", status=429)
    async with aiohttp.ClientSession() as session, session.post(f"{url}/getMe") as response:
        assert response.status == 429
        assert (await response.json())["parameters"] == {"retry_after": 1}


async def test_wait_for_call_timeout_lists_calls(fake_api: FakeBotApi, bot: Bot) -> None:
    fake_api.send_text("hi")
    await bot.send_chat_action(DEFAULT_USER_ID, "typing")
    with pytest.raises(TimeoutError, match=r"(?s)no 'sendMessage' call.*sendChatAction"):
        await fake_api.wait_for_call("sendMessage", timeout=0.05)
    # Calls are handed out once each, in order; `after` looks past an index instead.
    first = await fake_api.wait_for_call("getMe")
    with pytest.raises(TimeoutError):
        await fake_api.wait_for_call("getMe", timeout=0.05)
    assert (await fake_api.wait_for_call("getMe", after=first.index - 1)) is first
