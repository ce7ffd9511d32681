"""The bot in a group: it answers commands, mentions and replies to itself, and is otherwise
quiet. Quiet is proved by a later message it does answer: updates are handled in order, so
when that reply arrives, the earlier message was already handled (and ignored)."""

from __future__ import annotations

from tests.e2e.conftest import RunningBot
from tests.e2e.fake_bot_api import DEFAULT_BOT_USERNAME, DEFAULT_GROUP_ID, ApiCall

MENTION = f"@{DEFAULT_BOT_USERNAME}"


async def _group_reply(bot: RunningBot, text: str, **kw: object) -> ApiCall:
    mark = bot.api.mark()
    update = bot.api.send_group_text(text, **kw)  # type: ignore[arg-type]
    call = await bot.api.wait_for_call("sendMessage", after=mark)
    assert call.params["reply_parameters"]["message_id"] == update["message"]["message_id"]
    return call


async def _sends_after(bot: RunningBot, mark: int) -> list[ApiCall]:
    return [c for c in bot.api.calls_of("sendMessage") if c.index > mark]


async def test_a_mention_is_answered_without_the_mention(kbbot: RunningBot) -> None:
    call = await _group_reply(kbbot, f"{MENTION} 法律顾问覆盖情况")
    assert call.params["chat_id"] == DEFAULT_GROUP_ID
    assert call.result["text"].startswith("全区政府系统62个部门")
    [row] = await kbbot.rows(1)
    assert row["question"] == "法律顾问覆盖情况" and row["chat_type"] == "supergroup"


async def test_a_reply_to_the_bot_is_answered(kbbot: RunningBot) -> None:
    await _group_reply(kbbot, f"{MENTION} 法律顾问覆盖情况")
    call = await _group_reply(kbbot, "负责人出庭应诉率", reply_to_bot=True)
    assert call.result["text"].startswith("2019年区政府领导及部门负责人出庭应诉率达92.3%")


async def test_chatter_stickers_and_other_bots_commands_get_no_reply(kbbot: RunningBot) -> None:
    mark = kbbot.api.mark()
    kbbot.api.send_group_text("大家好，今天开会吗？")
    kbbot.api.send_group_text("法律顾问覆盖情况")  # a question, but not for the bot
    kbbot.api.send_group_text("/stats@some_other_bot")
    kbbot.api.send_group_text("/frobnicate")  # a bare unknown command may be another bot's
    kbbot.api.send_sticker(chat_id=DEFAULT_GROUP_ID, chat_type="supergroup")
    last = await _group_reply(kbbot, f"{MENTION} 出庭应诉率")
    assert [c.index for c in await _sends_after(kbbot, mark)] == [last.index]
    assert len(await kbbot.rows(1)) == 1


async def test_commands_work_in_groups_with_a_hint_how_to_ask(kbbot: RunningBot) -> None:
    call = await _group_reply(kbbot, f"/help@{DEFAULT_BOT_USERNAME}")
    assert f"请 @{DEFAULT_BOT_USERNAME} 加上您的问题" in call.result["text"]
    call = await _group_reply(kbbot, "/start")
    assert "江汉区2019年法治政府建设工作报告" in call.result["text"]
    call = await _group_reply(kbbot, f"/frobnicate@{DEFAULT_BOT_USERNAME}")
    assert call.result["text"] == "没有这个命令。发送 /help 查看用法。"


async def test_being_added_to_a_group_explains_how_to_ask(kbbot: RunningBot) -> None:
    mark = kbbot.api.mark()
    kbbot.api.send_raw_message(
        {"new_chat_members": [dict(kbbot.api.bot_user)]},
        chat_id=DEFAULT_GROUP_ID,
        chat_type="supergroup",
    )
    call = await kbbot.api.wait_for_call("sendMessage", after=mark)
    assert call.params["chat_id"] == DEFAULT_GROUP_ID
    assert f"@{DEFAULT_BOT_USERNAME}" in call.result["text"]


async def test_button_presses_work_in_groups(kbbot: RunningBot) -> None:
    call = await _group_reply(kbbot, f"{MENTION} 复议")
    data = next(
        b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row
    )
    mark = kbbot.api.mark()
    await kbbot.press(call, data, user_id=777)  # anyone in the group may press
    answer = await kbbot.api.wait_for_call("sendMessage", after=mark)
    assert answer.params["chat_id"] == DEFAULT_GROUP_ID
    [row] = await kbbot.rows(2)
    assert row["suggestion_taken"] == data.rsplit(":", 1)[1]
