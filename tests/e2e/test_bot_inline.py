"""Inline mode: `@bot 问题` in any chat offers the top answers as articles to share."""

from __future__ import annotations

from tests.e2e.conftest import RunningBot
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

    [row] = await kbbot.rows(1)
    assert (row["channel"], row["chat_type"], row["outcome"]) == ("inline", "group", "answer")


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
    [row] = await kbbot.rows(1)
    assert row["outcome"] == "none"


async def test_an_empty_query_shows_a_hint_and_is_not_logged(kbbot: RunningBot) -> None:
    call = await _inline(kbbot, "   ")
    assert call.params["results"] == []
    assert call.params["button"]["text"] == "输入问题，例如：法律顾问覆盖情况"
    await _inline(kbbot, "律师")
    assert [row["question"] for row in await kbbot.rows(1)] == ["律师"]


async def test_a_referral_is_offered_as_an_article(kbbot: RunningBot) -> None:
    call = await _inline(kbbot, "我要投诉")
    [result] = call.params["results"]
    assert result["id"] == "referral-complaint"
    assert "12345" in result["input_message_content"]["message_text"]
