"""👎 没帮助 is a next step, not a dead end: the bot asks what was missing and offers to ask
again, to browse, or the official channel; the choice is logged against the question."""

from __future__ import annotations

from tests.e2e.conftest import RunningBot, buttons, callback_data
from tests.e2e.fake_bot_api import ApiCall

ASK = "抱歉没能帮到您。缺了什么呢？可以换个问法再问，按主题浏览报告，或者找人工渠道。"


async def _not_helpful(bot: RunningBot) -> tuple[ApiCall, ApiCall]:
    """Ask, press 👎, and return the answer and the bot's question of what was missing."""
    answer = await bot.ask("法律顾问覆盖情况")
    unhelpful = next(d for d in callback_data(answer) if d.startswith("F:") and d.endswith(":0"))
    mark = bot.api.mark()
    await bot.press(answer, unhelpful)
    asked = await bot.api.wait_for_call("sendMessage", after=mark)
    return answer, asked


async def _choose(bot: RunningBot, asked: ApiCall, label: str) -> ApiCall:
    data = next(str(b["callback_data"]) for b in buttons(asked) if b["text"] == label)
    mark = bot.api.mark()
    await bot.press(asked, data)
    answered = await bot.api.wait_for_call("answerCallbackQuery", after=mark)
    assert answered.ok
    edit = await bot.api.wait_for_call("editMessageText", after=mark)
    assert edit.ok, edit
    return edit


async def test_not_helpful_asks_what_was_missing_and_offers_three_next_steps(
    kbbot: RunningBot,
) -> None:
    answer, asked = await _not_helpful(kbbot)
    assert asked.result["text"] == ASK
    assert asked.params["reply_parameters"]["message_id"] == answer.result["message_id"]
    assert [b["text"] for b in buttons(asked)] == ["✏️ 换个问法", "📚 按主题浏览", "☎️ 人工渠道"]
    rated = kbbot.api.calls_of("editMessageReplyMarkup")[-1]
    assert rated.ok and "reply_markup" not in rated.result  # the rating buttons are gone
    [row] = await kbbot.rows(2)
    assert (row["feedback"], row["feedback_choice"]) == (-1, None)


async def test_the_official_channel_is_the_12345_hotline_and_the_choice_is_logged(
    kbbot: RunningBot,
) -> None:
    _, asked = await _not_helpful(kbbot)
    edit = await _choose(kbbot, asked, "☎️ 人工渠道")
    assert edit.result["text"] == (
        "需要人工解答的，请拨打12345政务服务便民热线。本机器人只能介绍报告里的内容。"
    )
    assert "reply_markup" not in edit.result
    [row] = await kbbot.rows(3)
    assert (row["feedback"], row["feedback_choice"]) == (-1, "channel")


async def test_ask_again_says_how_to_word_the_question(kbbot: RunningBot) -> None:
    _, asked = await _not_helpful(kbbot)
    edit = await _choose(kbbot, asked, "✏️ 换个问法")
    assert edit.result["text"].startswith("请换个说法再问一次")
    [row] = await kbbot.rows(3)
    assert row["feedback_choice"] == "ask_again"


async def test_browse_turns_the_question_into_the_browse_menu(kbbot: RunningBot) -> None:
    _, asked = await _not_helpful(kbbot)
    edit = await _choose(kbbot, asked, "📚 按主题浏览")
    assert edit.result["text"] == "请选择想了解的主题："
    menu = [b["text"] for b in buttons(edit)]
    assert menu == ["加强复议机关监督职能", "提升法律顾问效能", "严格执行出庭应诉规定"]
    section = await _choose(kbbot, edit, "提升法律顾问效能")  # and the menu works from there
    assert section.result["text"] == "一、工作情况（九）提升法律顾问效能"
    [row] = await kbbot.rows(3)
    assert row["feedback_choice"] == "browse"


async def test_helpful_just_thanks(kbbot: RunningBot) -> None:
    answer = await kbbot.ask("法律顾问覆盖情况")
    helpful = next(d for d in callback_data(answer) if d.startswith("F:") and d.endswith(":1"))
    mark = kbbot.api.mark()
    await kbbot.press(answer, helpful)
    answered = await kbbot.api.wait_for_call("answerCallbackQuery", after=mark)
    assert answered.params["text"] == "感谢您的反馈！"
    reply = await kbbot.ask("负责人出庭应诉率")  # no question of what was missing came first
    assert [c.index for c in kbbot.api.calls_of("sendMessage") if c.index > mark] == [reply.index]


async def test_a_forged_next_step_is_turned_away(kbbot: RunningBot) -> None:
    answer = await kbbot.ask("法律顾问覆盖情况")
    ref = next(d for d in callback_data(answer) if d.startswith("F:")).split(":")[1]
    mark = kbbot.api.mark()
    kbbot.api.send_callback(  # well formed, but never offered on that message
        f"N:{ref}:c", chat_id=answer.result["chat"]["id"], message_id=answer.result["message_id"]
    )
    answered = await kbbot.api.wait_for_call("answerCallbackQuery", after=mark)
    assert answered.params["text"] == "这个按钮已失效，请发送 /topics 重新浏览。"
    [row] = await kbbot.rows(1)
    assert row["feedback_choice"] is None
