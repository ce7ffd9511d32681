"""Bad input, floods and failures: every one gets a short helpful reply, never an exception.

Covers what the bot receives (very long text, emoji only, stickers, photos, voice), the
per-user flood guard, and what the Bot API does to it (429 RetryAfter, dropped connections,
5xx, a 400 nobody can retry), with the error handler as the last line.
"""

from __future__ import annotations

import logging

import pytest

from bot.telegram.flood import TAP_ALLOWANCE, FloodGuard, Verdict
from tests.e2e.conftest import RunningBot, StartBot, callback_data, wait_calls
from tests.e2e.fake_bot_api import DEFAULT_USER_ID, ApiCall

ERROR_TEXT = "抱歉，处理您的问题时出了点问题，请稍后再试。"


async def test_a_very_long_message_is_asked_to_be_shorter(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("法律顾问" * 100)
    assert reply.result["text"] == "问题太长了，请精简到 300 字以内，一次问一个问题。"
    [row] = await kbbot.rows(1)
    assert row["outcome"] == "too_long"


async def test_emoji_only_gets_a_friendly_hint_of_what_to_ask(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("😀🙏👍")
    assert reply.result["text"].startswith("🙂") and "出庭应诉率" in reply.result["text"]
    [row] = await kbbot.rows(1)
    assert row["outcome"] == "smalltalk"


@pytest.mark.parametrize(
    "kind", ["sticker", "photo", "voice", "location"], ids=["sticker", "photo", "voice", "location"]
)
async def test_non_text_gets_a_short_reply(kbbot: RunningBot, kind: str) -> None:
    mark = kbbot.api.mark()
    if kind == "sticker":
        kbbot.api.send_sticker()
    elif kind == "photo":
        kbbot.api.send_photo(caption="这是什么？")
    elif kind == "voice":
        voice = {"file_id": "AwACAgIAAxkBAAI", "file_unique_id": "AgAD", "duration": 3}
        kbbot.api.send_raw_message({"voice": voice})
    else:
        kbbot.api.send_raw_message({"location": {"latitude": 30.58, "longitude": 114.27}})
    reply = await kbbot.api.wait_for_call("sendMessage", after=mark)
    assert reply.result["text"] == "目前只能回答文字提问，请直接输入您的问题。"
    assert await kbbot.rows() == []  # not questions


async def test_a_flood_is_answered_once_then_dropped(start_bot: StartBot) -> None:
    bot = await start_bot(flood_limit=3)
    mark = bot.api.mark()
    updates = [bot.api.send_text(f"法律顾问覆盖情况{n}") for n in range(6)]
    await bot.settle(updates[-1])
    texts = [c.result["text"] for c in bot.api.calls_of("sendMessage") if c.index > mark]
    assert sorted(texts).count("您发送得太快了，请稍等一分钟再问。") == 1
    assert len(texts) == 4  # three answers and one "slow down"; the other two are dropped
    other = await bot.ask("负责人出庭应诉率", user_id=DEFAULT_USER_ID + 1)
    assert other.result["text"].startswith("2019年区政府领导")  # others are not affected
    assert len(await bot.rows(4)) == 4


async def test_a_tap_over_the_limit_is_answered_with_a_short_toast_never_left_spinning(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(flood_limit=1)  # and so two taps a period (TAP_ALLOWANCE)
    assert bot.state.taps.limit == TAP_ALLOWANCE
    menu = await bot.ask("/topics")
    data = callback_data(menu)[0]
    mark = bot.api.mark()
    presses = [await bot.press(menu, data) for _ in range(4)]
    await bot.settle(presses[-1])
    answers = await wait_calls(bot.api, "answerCallbackQuery", 4, after=mark)
    ids = sorted(str(p["callback_query"]["id"]) for p in presses)
    assert sorted(str(a.params["callback_query_id"]) for a in answers) == ids  # every one
    toasts = [a for a in answers if a.params.get("text") == "点得太快了，请稍等几秒再点。"]
    assert len(toasts) == 2 and all(not a.params.get("show_alert") for a in toasts)
    assert all(a.ok for a in answers)


async def test_taps_and_messages_are_counted_apart(start_bot: StartBot) -> None:
    bot = await start_bot(flood_limit=2)
    reply = await bot.ask("2019年收到多少行政复议申请")
    await bot.ask("负责人出庭应诉率")  # the second and last message of the period
    mark = bot.api.mark()
    await bot.press(reply, "R:reconsideration-acceptance")  # a tap still works
    related = await bot.api.wait_for_call("sendMessage", after=mark)
    assert related.result["text"].startswith("2019年行政复议案件受理22件")
    slow = await bot.ask("法律顾问覆盖情况")  # while a third message is one too many
    assert slow.result["text"] == "您发送得太快了，请稍等一分钟再问。"


def test_the_flood_window_slides() -> None:
    now = [0.0]
    guard = FloodGuard(limit=2, period=60, clock=lambda: now[0])
    assert guard.check(1) is Verdict.ALLOW
    now[0] = 30.0
    assert [guard.check(1) for _ in range(3)] == [Verdict.ALLOW, Verdict.WARN, Verdict.DROP]
    assert guard.check(2) is Verdict.ALLOW  # per user
    now[0] = 59.9
    assert guard.check(1) is Verdict.DROP
    now[0] = 60.0  # the first message left the window: room for one, then a new warning
    assert [guard.check(1) for _ in range(3)] == [Verdict.ALLOW, Verdict.WARN, Verdict.DROP]


async def _answered(bot: RunningBot, text: str) -> ApiCall:
    """Ask, and return the bot's first *successful* sendMessage (faults come before it)."""
    mark = bot.api.mark()
    bot.api.send_text(text)
    return await bot.api.wait_for_call("sendMessage", predicate=lambda c: c.ok, after=mark)


# PTB's own RetryAfter warns about its future timedelta type; nothing of ours to change.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_is_waited_out_and_retried(kbbot: RunningBot) -> None:
    kbbot.api.fail_next("sendMessage", status=429, retry_after=1)
    reply = await _answered(kbbot, "法律顾问覆盖情况")
    failed, sent = kbbot.api.calls_of("sendMessage")[-2:]
    assert failed.status == 429 and sent.index == reply.index
    assert sent.time - failed.time >= 1.0


@pytest.mark.parametrize("fault", ["drop", "500"])
async def test_network_errors_are_retried(kbbot: RunningBot, fault: str) -> None:
    if fault == "drop":
        kbbot.api.drop_next("sendMessage")
    else:
        kbbot.api.fail_next("sendMessage", status=500)
    reply = await _answered(kbbot, "法律顾问覆盖情况")
    assert reply.result["text"].startswith("全区政府系统62个部门")
    assert [c.ok for c in kbbot.api.calls_of("sendMessage")] == [False, True]
    assert len(await kbbot.rows(1)) == 1


async def test_other_errors_are_logged_and_the_user_told(
    kbbot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    kbbot.api.fail_next("sendMessage", status=400, description="Bad Request: injected failure")
    with caplog.at_level(logging.ERROR, logger="bot.telegram.errors"):
        apology = await _answered(kbbot, "法律顾问覆盖情况")
    assert apology.result["text"] == ERROR_TEXT
    assert [c.status for c in kbbot.api.calls_of("sendMessage")] == [400, 200]
    [record] = [r for r in caplog.records if r.name == "bot.telegram.errors"]
    assert record.exc_info is not None and "Injected failure" in str(record.exc_info[1])
    assert len(await kbbot.rows(1)) == 1  # the question still reached the log


async def test_a_failing_button_is_answered_with_the_apology(kbbot: RunningBot) -> None:
    menu = await kbbot.ask("/topics")
    data = menu.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    kbbot.api.fail_next("answerCallbackQuery", status=400, description="Bad Request: injected")
    mark = kbbot.api.mark()
    await kbbot.press(menu, data)
    first = await kbbot.api.wait_for_call("answerCallbackQuery", after=mark)
    assert first.status == 400
    apology = await kbbot.api.wait_for_call("answerCallbackQuery", after=first.index)
    assert apology.params["text"] == ERROR_TEXT
