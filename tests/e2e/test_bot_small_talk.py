"""Small talk and personal matters through the real bot.

A greeting, thanks or goodbye gets a warm short reply (no "not in the report", no rating
buttons) and is logged as small talk, never as an unanswered question. A personal matter gets
the official channel that handles it, with what the report says of it where the channel names
an entry, cited like any answer.
"""

from __future__ import annotations

import pytest

from bot.answering.citation import cite
from bot.answering.engine import Engine
from bot.config import SHIPPED_KNOWLEDGE
from tests.e2e.conftest import ADMIN_ID, RunningBot, StartBot, buttons, callback_data

GREETING = "您好！我可以回答《江汉区2019年法治政府建设工作报告》里的问题"


@pytest.fixture
async def shipped_bot(start_bot: StartBot) -> RunningBot:
    """The bot serving the shipped knowledge base (read only: nothing here edits it)."""
    return await start_bot(knowledge_dir=SHIPPED_KNOWLEDGE)


@pytest.mark.parametrize(
    ("said", "reply_starts"),
    [("你好", GREETING), ("谢谢啦", "不客气"), ("再见", "好的，再见"), ("你是谁？", "我是")],
)
async def test_small_talk_gets_a_warm_short_reply_and_the_browse_button_only(
    kbbot: RunningBot, said: str, reply_starts: str
) -> None:
    reply = await kbbot.ask(said)
    text = reply.result["text"]
    assert text.startswith(reply_starts) and "没有找到答案" not in text
    assert [b["text"] for b in buttons(reply)] == ["📚 按主题浏览"]
    assert callback_data(reply) == ["T:0"]
    [row] = await kbbot.rows(1)
    assert (row["outcome"], row["answered"], row["entry_id"]) == ("smalltalk", 0, None)


async def test_small_talk_is_not_among_the_unanswered_questions(kbbot: RunningBot) -> None:
    for said in ("你好", "谢谢", "拜拜"):
        await kbbot.ask(said)
    await kbbot.logged(3)
    text = (await kbbot.ask("/unanswered", user_id=ADMIN_ID)).result["text"]
    assert text == "最近没有未回答的问题。"


async def test_a_greeting_followed_by_a_question_answers_the_question(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("你好，2019年收到多少行政复议申请？")
    assert reply.result["text"].startswith("2019年共收到行政复议申请29件")
    [row] = await kbbot.rows(1)
    assert row["outcome"] == "answer"


async def test_small_talk_in_a_group_is_answered_only_when_addressed(kbbot: RunningBot) -> None:
    mark = kbbot.api.mark()
    kbbot.api.send_group_text("你好")  # to the group, not to the bot
    kbbot.api.send_group_text("@kbbot_test_bot 你好")
    reply = await kbbot.api.wait_for_call("sendMessage", after=mark)
    assert reply.result["text"].startswith(GREETING)
    assert len(await kbbot.rows()) == 1


async def test_a_personal_matter_goes_to_its_channel_with_what_the_report_says(
    shipped_bot: RunningBot, shipped_engine: Engine
) -> None:
    reply = await shipped_bot.ask("我要申请行政复议")
    text = reply.result["text"]
    assert text.startswith("对行政机关的决定不服，可以依法申请行政复议")
    about = shipped_engine.kb.by_id["reconsideration-summary"]
    assert f"报告里的相关内容：{about.answer}" in text
    assert text.endswith(f"来源：{cite(about.source, shipped_engine.kb.document)}")
    assert "reply_markup" not in reply.params  # nothing to rate, nothing to browse
    [row] = await shipped_bot.rows(1)
    assert (row["outcome"], row["entry_id"]) == ("referral", "reconsideration-summary")


async def test_a_personal_matter_the_report_does_not_cover_gets_the_channel_alone(
    shipped_bot: RunningBot,
) -> None:
    reply = await shipped_bot.ask("公司拖欠工资怎么办")
    text = reply.result["text"]
    assert "12333" in text and "来源：" not in text
    assert "reply_markup" not in reply.params
