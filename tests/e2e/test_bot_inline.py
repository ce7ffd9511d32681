"""Inline mode: `@bot 问题` in any chat offers the top answers as articles to share.

Queries arrive per pause in typing, so they are not logged; the result the person chose
(`chosen_inline_result`, with inline feedback enabled in @BotFather) is.
"""

from __future__ import annotations

from tests.e2e.conftest import ADMIN_ID, RunningBot
from tests.e2e.fake_bot_api import ApiCall


async def _inline(bot: RunningBot, query: str) -> ApiCall:
    mark = bot.api.mark()
    bot.api.send_inline_query(query, chat_type="group")
    call = await bot.api.wait_for_call("answerInlineQuery", after=mark)
    assert call.ok, call
    return call


async def test_an_answer_and_its_related_entries_are_offered(kbbot: RunningBot) -> None:
    call = await _inline(kbbot, "2019年收到多少行政复议申请")
    results = call.params["results"]
    assert [r["id"] for r in results] == [
        "reconsideration-applications",
        "reconsideration-acceptance",
    ]
    first = results[0]
    assert first["type"] == "article" and first["title"] == "2019年收到多少行政复议申请"
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert content["message_text"].startswith("2019年共收到行政复议申请29件")
    assert "<i>来源：" in content["message_text"]
    assert "button" not in call.params
    assert await kbbot.rows() == []  # offered, not yet chosen: nothing is logged


async def test_an_unsure_query_offers_the_suggestions(kbbot: RunningBot) -> None:
    call = await _inline(kbbot, "复议")
    assert [r["id"] for r in call.params["results"]] == [
        "reconsideration-applications",
        "reconsideration-acceptance",
    ]


async def test_nothing_found_offers_a_button_to_ask_the_bot(kbbot: RunningBot) -> None:
    call = await _inline(kbbot, "明天天气怎么样")
    assert call.params["results"] == []
    assert call.params["button"] == {
        "text": "报告里没有找到，点此打开机器人提问",
        "start_parameter": "inline",
    }


async def test_an_empty_query_shows_a_hint(kbbot: RunningBot) -> None:
    call = await _inline(kbbot, "   ")
    assert call.params["results"] == []
    assert call.params["button"]["text"] == "输入问题，例如：法律顾问覆盖情况"


async def test_typing_is_not_logged_but_the_chosen_result_is(kbbot: RunningBot) -> None:
    for typed in ("复", "复议", "复议申请", "2019年收到多少行政复议申请"):
        await _inline(kbbot, typed)
    kbbot.api.send_chosen_inline_result(
        "reconsideration-applications", "2019年收到多少行政复议申请"
    )
    [row] = await kbbot.rows(1)
    assert (row["channel"], row["chat_type"]) == ("inline", "group")  # where it was typed
    assert (row["question"], row["outcome"], row["answered"]) == (
        "2019年收到多少行政复议申请",
        "answer",
        1,
    )
    assert (row["entry_id"], row["suggestion_taken"]) == ("reconsideration-applications", None)


async def test_a_chosen_runner_up_or_suggestion_is_logged_as_the_one_taken(
    kbbot: RunningBot,
) -> None:
    call = await _inline(kbbot, "复议")
    picked = call.params["results"][1]["id"]
    kbbot.api.send_chosen_inline_result(picked, "复议")
    rows = await kbbot.rows(2)  # the question, then the suggestion taken
    assert [(r["outcome"], r["suggestion_taken"]) for r in rows] == [("suggest", picked)]


async def test_stats_count_inline_questions_on_a_line_of_their_own(kbbot: RunningBot) -> None:
    await kbbot.ask("法律顾问覆盖情况")
    await _inline(kbbot, "负责人出庭应诉率")
    kbbot.api.send_chosen_inline_result("court-appearance-rate", "负责人出庭应诉率")
    await kbbot.rows(2)
    stats = await kbbot.ask("/stats", user_id=ADMIN_ID)
    text = stats.result["text"]
    assert "提问 2 条，已回答 2 条" in text
    assert "其中内联模式 1 条" in text


async def test_a_referral_is_offered_as_an_article(kbbot: RunningBot) -> None:
    call = await _inline(kbbot, "我要投诉")
    [result] = call.params["results"]
    assert result["id"] == "referral-complaint"
    assert "12345" in result["input_message_content"]["message_text"]
