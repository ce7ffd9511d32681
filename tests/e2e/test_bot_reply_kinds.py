"""The replies beyond one plain answer, through the real bot: an answer with close runners-up,
a partial answer, several questions in one message, a broad word, and a quote of the report.

The small fixture knowledge base has no report text and few entries, so the kinds that need
more (runners-up, overviews, quotes) run on the shipped knowledge base. The questions come
from tests/reply_kinds.py, which picks ones that still get each kind as matching is tuned.
"""

from __future__ import annotations

import pytest

from bot.answering.citation import cite
from bot.answering.engine import Engine, Kind, short_section
from bot.config import SHIPPED_KNOWLEDGE
from bot.telegram.keyboards import fits, label
from tests.e2e.conftest import RunningBot, StartBot, buttons, callback_data
from tests.e2e.fake_bot_api import ApiCall, parse_html
from tests.reply_kinds import ALSO, reply_of_kind


@pytest.fixture
async def shipped_bot(start_bot: StartBot) -> RunningBot:
    """The bot serving the shipped knowledge base (read only: nothing here edits it)."""
    return await start_bot(knowledge_dir=SHIPPED_KNOWLEDGE)


def italics(call: ApiCall) -> list[str]:
    """The italic stretches of a sent message: its source lines."""
    text = call.result["text"]
    return [
        text[e["offset"] : e["offset"] + e["length"]]
        for e in call.result.get("entities", [])
        if e["type"] == "italic"
    ]


def feedback_row(call: ApiCall) -> list[str]:
    return [data for data in callback_data(call) if data.startswith("F:")]


async def test_an_answer_offers_close_runners_up_and_a_press_sends_that_answer(
    shipped_bot: RunningBot, shipped_engine: Engine
) -> None:
    expected = reply_of_kind(shipped_engine, ALSO)
    assert expected.entry is not None
    document = shipped_engine.kb.document
    reply = await shipped_bot.ask(expected.question)
    assert reply.result["text"].startswith(expected.entry.answer)
    assert italics(reply) == [f"来源：{cite(expected.entry.source, document)}"]
    runner_up = expected.also[0]
    assert buttons(reply)[0] == {
        "text": label(f"🔎 {runner_up.topic}"),
        "callback_data": f"R:{runner_up.id}",
    }
    assert len(buttons(reply)) <= 3 + 2  # at most three entries, then the feedback row
    assert len(feedback_row(reply)) == 2

    mark = shipped_bot.api.mark()
    await shipped_bot.press(reply, f"R:{runner_up.id}")
    sent = await shipped_bot.api.wait_for_call("sendMessage", after=mark)
    assert sent.result["text"] == (
        f"{runner_up.answer}\n\n来源：{cite(runner_up.source, document)}"
    )
    assert feedback_row(sent) == []  # the rating belongs to the question asked

    [row] = await shipped_bot.rows(1)
    assert (row["outcome"], row["answered"]) == ("answer", 1)
    assert row["entry_id"] == expected.entry.id and row["suggestions"] == "[]"


async def test_a_partial_answer_says_what_the_report_lacks_and_is_logged_unanswered(
    kbbot: RunningBot, engine: Engine
) -> None:
    expected = reply_of_kind(engine, Kind.PARTIAL)
    assert expected.entry is not None
    reply = await kbbot.ask(expected.question)
    text = reply.result["text"]
    assert text.startswith("报告没有") and expected.entry.answer in text
    assert italics(reply) == [f"来源：{expected.entry.source}"]
    assert callback_data(reply)[0] == "T:0" and len(feedback_row(reply)) == 2

    [row] = await kbbot.rows(1)
    assert (row["outcome"], row["answered"], row["entry_id"]) == (
        "partial",
        0,
        expected.entry.id,
    )


async def test_two_questions_in_one_message_get_two_numbered_answers_with_both_sources(
    kbbot: RunningBot, engine: Engine
) -> None:
    expected = reply_of_kind(engine, Kind.MULTI)
    first, second = expected.parts[:2]
    reply = await kbbot.ask(expected.question)
    text = reply.result["text"]
    assert text.startswith(f"1. {first.text}\n来源：{first.source}\n\n2. {second.text}")
    assert italics(reply) == [f"来源：{part.source}" for part in expected.parts]
    assert callback_data(reply) == feedback_row(reply) and len(feedback_row(reply)) == 2

    [row] = await kbbot.rows(1)
    assert (row["outcome"], row["entry_id"], row["suggestions"]) == ("multi", None, "[]")
    assert row["answered"] == int(expected.answered)


async def test_a_broad_word_offers_the_sections_that_speak_of_it_and_a_press_answers_one(
    shipped_bot: RunningBot, shipped_engine: Engine
) -> None:
    expected = reply_of_kind(shipped_engine, Kind.OVERVIEW)
    reply = await shipped_bot.ask(expected.question)
    assert reply.result["text"] == expected.text
    offered = expected.suggestions
    labels = [b["text"] for b in buttons(reply)]
    both = f"{short_section(offered[0].source)}：{offered[0].topic}"
    assert labels[0] == (both if fits(both) else short_section(offered[0].source))
    assert len(labels) == len(offered)
    data = callback_data(reply)
    assert all(
        d.startswith("S:") and d.endswith(f":{e.id}") for d, e in zip(data, offered, strict=True)
    )

    picked = offered[-1]
    mark = shipped_bot.api.mark()
    await shipped_bot.press(reply, data[-1])
    answer = await shipped_bot.api.wait_for_call("sendMessage", after=mark)
    document = shipped_engine.kb.document
    assert answer.result["text"] == f"{picked.answer}\n\n来源：{cite(picked.source, document)}"
    assert len(feedback_row(answer)) == 2

    [row] = await shipped_bot.rows(2)
    assert (row["outcome"], row["answered"]) == ("overview", 0)
    assert row["suggestion_taken"] == picked.id


async def test_a_question_only_a_sentence_of_the_report_answers_gets_that_sentence_quoted(
    shipped_bot: RunningBot, shipped_engine: Engine
) -> None:
    expected = reply_of_kind(shipped_engine, Kind.PASSAGE)
    assert expected.quote is not None
    reply = await shipped_bot.ask(expected.question)
    source = cite(expected.quote.section, shipped_engine.kb.document)
    assert reply.result["text"] == f"报告原文：“{expected.quote.text}”\n\n来源：{source}"
    assert italics(reply) == [f"来源：{source}"]
    assert callback_data(reply) == feedback_row(reply) and len(feedback_row(reply)) == 2

    [row] = await shipped_bot.rows(1)
    assert (row["outcome"], row["answered"], row["entry_id"]) == ("passage", 1, None)


# --- inline mode --------------------------------------------------------------------------------


async def _inline(bot: RunningBot, query: str) -> list[dict[str, object]]:
    mark = bot.api.mark()
    bot.api.send_inline_query(query, chat_type="group")
    call = await bot.api.wait_for_call("answerInlineQuery", after=mark)
    assert call.ok, call
    results = call.params["results"]
    assert isinstance(results, list)
    return results


def shared_text(result: dict[str, object]) -> str:
    """What the chat sees when the person picks this article (its HTML parsed)."""
    content = result["input_message_content"]
    assert isinstance(content, dict) and content["parse_mode"] == "HTML"
    plain, _entities = parse_html(str(content["message_text"]))
    return plain


async def test_inline_mode_offers_an_answers_runners_up_as_further_articles(
    shipped_bot: RunningBot, shipped_engine: Engine
) -> None:
    expected = reply_of_kind(shipped_engine, ALSO)
    assert expected.entry is not None
    results = await _inline(shipped_bot, expected.question)
    ids = [r["id"] for r in results]
    assert ids[: 1 + len(expected.also)] == [expected.entry.id, *(e.id for e in expected.also)]


async def test_inline_mode_shares_a_quote_a_partial_answer_and_several_answers_whole(
    shipped_bot: RunningBot, shipped_engine: Engine
) -> None:
    for kind in (Kind.PASSAGE, Kind.PARTIAL, Kind.MULTI):
        expected = reply_of_kind(shipped_engine, kind)
        [result] = await _inline(shipped_bot, expected.question)
        assert str(result["id"]).startswith(f"{kind.value}-")
        text = shared_text(result)
        for part in expected.parts or (expected,):
            assert f"来源：{cite(str(part.source), shipped_engine.kb.document)}" in text
        assert str(result["title"]).startswith(expected.text[:20])
        shipped_bot.api.send_chosen_inline_result(str(result["id"]), expected.question)
    rows = await shipped_bot.rows(3)
    assert [r["outcome"] for r in rows] == ["passage", "partial", "multi"]
    assert {r["suggestion_taken"] for r in rows} == {None}  # the reply itself was chosen


async def test_inline_mode_offers_each_section_of_a_broad_word(
    shipped_bot: RunningBot, shipped_engine: Engine
) -> None:
    expected = reply_of_kind(shipped_engine, Kind.OVERVIEW)
    results = await _inline(shipped_bot, expected.question)
    assert [r["id"] for r in results] == [e.id for e in expected.suggestions][:5]
    assert shared_text(results[0]).startswith(expected.suggestions[0].answer)
