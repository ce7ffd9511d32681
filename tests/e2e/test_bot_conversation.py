"""A citizen's conversation with the real bot: welcome, help, answers, suggestions, feedback.

Every test drives the production Application (`build_application`) through the fake Bot API and
checks both what the person sees and what reached the question log.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import RunningBot, StartBot, buttons, callback_data
from tests.e2e.fake_bot_api import DEFAULT_USER_ID


async def test_start_welcomes_in_two_sentences_and_offers_the_browse_menu(
    kbbot: RunningBot,
) -> None:
    reply = await kbbot.ask("/start")
    assert reply.ok and reply.params["parse_mode"] == "HTML"
    text = reply.result["text"]
    assert "江汉区2019年法治政府建设工作报告" in text
    assert len(re.findall(r"[。！？!?]", text)) == 2 and len(text) <= 100
    sections = [b["text"] for b in buttons(reply)]
    assert sections[:2] == ["加强复议机关监督职能", "提升法律顾问效能"]
    assert all(data.startswith("P:") for data in callback_data(reply))
    assert len(sections) <= 6


async def test_help_gives_examples(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("/help")
    assert "可以这样问" in reply.result["text"]
    assert "/topics" in reply.result["text"]


async def test_a_question_gets_its_answer_source_related_and_feedback_buttons(
    kbbot: RunningBot,
) -> None:
    reply = await kbbot.ask("2019年收到多少行政复议申请")
    text = reply.result["text"]
    assert text.startswith("2019年共收到行政复议申请29件")
    assert text.endswith("来源：一、工作情况（二）加强复议机关监督职能")
    assert [e["type"] for e in reply.result["entities"]] == ["italic"]  # the source line
    labels = [b["text"] for b in buttons(reply)]
    assert labels == ["相关：行政复议受案率", "👍 有帮助", "👎 没帮助"]
    assert all(len(data.encode()) <= 64 for data in callback_data(reply))

    [row] = await kbbot.rows(1)
    assert row["channel"] == "telegram" and row["chat_type"] == "private"
    assert row["answered"] == 1 and row["outcome"] == "answer"
    assert row["entry_id"] == "reconsideration-applications"
    assert row["user_hash"] and str(DEFAULT_USER_ID) not in str(row["user_hash"])


async def test_feedback_is_logged_against_that_question(kbbot: RunningBot) -> None:
    first = await kbbot.ask("法律顾问覆盖情况")
    await kbbot.ask("负责人出庭应诉率")
    helpful = next(d for d in callback_data(first) if d.startswith("F:") and d.endswith(":1"))
    mark = kbbot.api.mark()
    await kbbot.press(first, helpful)

    answered = await kbbot.api.wait_for_call("answerCallbackQuery", after=mark)
    assert answered.params["text"] == "感谢您的反馈！"
    edited = await kbbot.api.wait_for_call("editMessageReplyMarkup", after=mark)
    assert edited.ok and "reply_markup" not in edited.result  # the only row was feedback
    rows = await kbbot.rows(3)
    assert [r["feedback"] for r in rows] == [1, None]
    assert rows[0]["entry_id"] == "legal-adviser-coverage"


async def test_related_button_sends_the_related_answer(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("2019年收到多少行政复议申请")
    mark = kbbot.api.mark()
    await kbbot.press(reply, "R:reconsideration-acceptance")
    related = await kbbot.api.wait_for_call("sendMessage", after=mark)
    assert related.result["text"].startswith("2019年行政复议案件受理22件")
    assert "F:" not in " ".join(callback_data(related))  # not a logged question: no rating


async def test_unsure_offers_suggestions_and_logs_the_one_taken(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("复议")
    assert reply.result["text"] == "您是不是想问："
    choices = {b["text"]: b["callback_data"] for b in buttons(reply)}
    assert list(choices) == ["2019年收到多少行政复议申请", "行政复议受案率是多少"]

    mark = kbbot.api.mark()
    await kbbot.press(reply, choices["行政复议受案率是多少"])
    answer = await kbbot.api.wait_for_call("sendMessage", after=mark)
    assert answer.result["text"].startswith("2019年行政复议案件受理22件")
    rating = next(d for d in callback_data(answer) if d.startswith("F:") and d.endswith(":1"))
    await kbbot.press(answer, rating)
    await kbbot.api.wait_for_call("answerCallbackQuery", after=mark)

    [row] = await kbbot.rows(3)
    assert row["outcome"] == "suggest" and row["answered"] == 0
    assert row["suggestions"] == '["reconsideration-applications", "reconsideration-acceptance"]'
    assert row["suggestion_taken"] == "reconsideration-acceptance"
    assert row["feedback"] == 1


async def test_no_answer_is_honest_offers_topics_and_is_logged_unanswered(
    kbbot: RunningBot,
) -> None:
    reply = await kbbot.ask("明天天气怎么样")
    assert "没有找到答案" in reply.result["text"] and "/topics" in reply.result["text"]
    assert callback_data(reply) == ["T:0"]
    [row] = await kbbot.rows(1)
    assert (row["outcome"], row["answered"]) == ("none", 0)


async def test_personal_matters_are_referred_to_official_channels(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("我要投诉街道办")
    assert "12345" in reply.result["text"]
    assert "reply_markup" not in reply.params
    [row] = await kbbot.rows(1)
    assert row["outcome"] == "referral"


async def test_the_wording_comes_from_replies_yaml(start_bot: StartBot, kb_dir: Path) -> None:
    replies = kb_dir / "replies.yaml"
    text = replies.read_text(encoding="utf-8")
    replies.write_text(text.replace("您是不是想问：", "请问您想了解的是："), encoding="utf-8")
    bot = await start_bot()
    reply = await bot.ask("复议")
    assert reply.result["text"] == "请问您想了解的是："


async def test_knowledge_and_user_text_are_escaped(start_bot: StartBot, kb_dir: Path) -> None:
    (kb_dir / "30-markup.yaml").write_text(
        """entries:
  - id: markup-entry
    topic: 特殊字符
    questions: [特殊字符条目测试]
    answer: 答案里有 <b>标签</b> & “引号” <不是标签>
    source: 第<一>部分 & 附件
""",
        encoding="utf-8",
    )
    bot = await start_bot()
    reply = await bot.ask("特殊字符条目测试")
    assert reply.ok  # Telegram would reject an unescaped < with 400 "can't parse entities"
    assert reply.result["text"] == (
        "答案里有 <b>标签</b> & “引号” <不是标签>\n\n来源：第<一>部分 & 附件"
    )
    assert "&lt;b&gt;" in reply.params["text"]


async def test_unknown_commands_say_so(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("/frobnicate")
    assert reply.result["text"] == "没有这个命令。发送 /help 查看用法。"
