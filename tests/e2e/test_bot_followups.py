"""Follow-up questions through the real bot: "那2018年呢" is read with the asker's last question.

The memory is per chat, and per person inside a group; it ends after FOLLOW_UP_SECONDS. The
reading itself (bot/answering/followup.py, Engine.respond) is tested in the core's own tests; these prove
the Telegram front end hands each message the right context, and no other.
"""

from __future__ import annotations

import dataclasses

from bot.answering.followup import FOLLOW_UP_SECONDS
from bot.telegram.followups import FOLLOW_UP_KEY
from tests.e2e.conftest import ADMIN_ID, RunningBot, callback_data
from tests.e2e.fake_bot_api import DEFAULT_GROUP_ID, DEFAULT_USER_ID, ApiCall

FIRST = "2019年收到多少行政复议申请"
FOLLOW_UP = "那2018年呢"
OTHER_YEAR = (
    "报告没有直接给出2018年的数字，只给出了与2018年相比的变化：2019年共收到行政复议申请29件"
)
NOT_FOUND = "没有找到答案"
OTHER_USER = DEFAULT_USER_ID + 1


async def _in_group(bot: RunningBot, text: str, user_id: int) -> ApiCall:
    mark = bot.api.mark()
    bot.api.send_group_text(f"@kbbot_test_bot {text}", user_id=user_id)
    return await bot.api.wait_for_call(
        "sendMessage",
        predicate=lambda c: c.params.get("chat_id") == DEFAULT_GROUP_ID,
        after=mark,
    )


async def test_a_follow_up_is_read_with_the_previous_question(kbbot: RunningBot) -> None:
    await kbbot.ask(FIRST)
    reply = await kbbot.ask(FOLLOW_UP)
    text = reply.result["text"]
    assert text.startswith(OTHER_YEAR)
    assert text.endswith("来源：一、工作情况（二）加强复议机关监督职能")
    rows = await kbbot.rows(2)
    assert (rows[1]["question"], rows[1]["outcome"], rows[1]["entry_id"]) == (
        FOLLOW_UP,
        "answer",
        "reconsideration-applications",
    )


async def test_without_a_previous_question_a_follow_up_is_read_alone(kbbot: RunningBot) -> None:
    reply = await kbbot.ask(FOLLOW_UP)
    assert NOT_FOUND in reply.result["text"]


async def test_one_persons_question_is_no_context_for_anothers_chat(kbbot: RunningBot) -> None:
    await kbbot.ask(FIRST, user_id=DEFAULT_USER_ID)
    reply = await kbbot.ask(FOLLOW_UP, user_id=OTHER_USER)
    assert NOT_FOUND in reply.result["text"]


async def test_in_a_group_each_person_follows_up_on_their_own_question(kbbot: RunningBot) -> None:
    await _in_group(kbbot, FIRST, DEFAULT_USER_ID)
    someone_else = await _in_group(kbbot, FOLLOW_UP, OTHER_USER)
    assert NOT_FOUND in someone_else.result["text"]
    asker = await _in_group(kbbot, FOLLOW_UP, DEFAULT_USER_ID)
    assert asker.result["text"].startswith(OTHER_YEAR)


async def test_a_question_in_a_group_is_no_context_in_the_same_persons_private_chat(
    kbbot: RunningBot,
) -> None:
    await _in_group(kbbot, FIRST, DEFAULT_USER_ID)
    reply = await kbbot.ask(FOLLOW_UP, user_id=DEFAULT_USER_ID)
    assert NOT_FOUND in reply.result["text"]


async def test_a_follow_up_after_the_window_is_read_alone(kbbot: RunningBot) -> None:
    await kbbot.ask(FIRST)
    memory = kbbot.app.chat_data[DEFAULT_USER_ID][FOLLOW_UP_KEY]
    context = memory[DEFAULT_USER_ID]
    memory[DEFAULT_USER_ID] = dataclasses.replace(
        context, asked_at=context.asked_at - FOLLOW_UP_SECONDS - 1
    )
    reply = await kbbot.ask(FOLLOW_UP)
    assert NOT_FOUND in reply.result["text"]


async def test_small_talk_between_does_not_end_a_line_of_questions(kbbot: RunningBot) -> None:
    await kbbot.ask(FIRST)
    thanks = await kbbot.ask("谢谢")
    assert thanks.result["text"].startswith("不客气")
    reply = await kbbot.ask(FOLLOW_UP)
    assert reply.result["text"].startswith(OTHER_YEAR)


async def test_an_answer_picked_from_the_suggestions_is_the_context_too(kbbot: RunningBot) -> None:
    unsure = await kbbot.ask("复议")
    picked = next(d for d in callback_data(unsure) if d.endswith(":reconsideration-applications"))
    mark = kbbot.api.mark()
    await kbbot.press(unsure, picked)
    await kbbot.api.wait_for_call("sendMessage", after=mark)
    reply = await kbbot.ask(FOLLOW_UP)
    assert reply.result["text"].startswith(OTHER_YEAR)


async def test_why_shows_how_a_follow_up_was_read(kbbot: RunningBot) -> None:
    await kbbot.ask(FIRST, user_id=ADMIN_ID)
    await kbbot.ask(FOLLOW_UP, user_id=ADMIN_ID)
    why = await kbbot.ask("/why", user_id=ADMIN_ID)
    assert "连同上一个问题理解为：2018年收到多少行政复议申请" in why.result["text"]
