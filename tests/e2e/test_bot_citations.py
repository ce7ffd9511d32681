"""Citations people can quote: every source line names the section and the report (title,
issuer, date, number), and with KBBOT_REPORT_URL the report's title links to the original."""

from __future__ import annotations

import pytest

from bot.answering.engine import Engine, Kind
from bot.config import SHIPPED_KNOWLEDGE
from tests.e2e.conftest import RunningBot, StartBot, callback_data
from tests.e2e.fake_bot_api import ApiCall
from tests.reply_kinds import reply_of_kind

URL = "https://www.jianghan.gov.cn/report?id=2020&from=bot"
DOCUMENT = "《江汉区2019年法治政府建设工作报告》（江汉区政府，2020-01-25，文号：江政）"
SECTION = "一、工作情况（二）加强复议机关监督职能"


def links(call: ApiCall) -> list[tuple[str, str]]:
    text = call.result["text"]
    return [
        (text[e["offset"] : e["offset"] + e["length"]], e["url"])
        for e in call.result.get("entities", [])
        if e["type"] == "text_link"
    ]


@pytest.fixture
async def linked_bot(start_bot: StartBot) -> RunningBot:
    """The shipped knowledge base, with the published report's address set."""
    return await start_bot(knowledge_dir=SHIPPED_KNOWLEDGE, report_url=URL)


async def test_an_answer_cites_its_section_and_the_report_with_a_link_to_it(
    linked_bot: RunningBot,
) -> None:
    reply = await linked_bot.ask("2019年收到多少行政复议申请")
    assert reply.result["text"].endswith(f"来源：{SECTION}；{DOCUMENT}")
    assert links(reply) == [("《江汉区2019年法治政府建设工作报告》", URL)]
    assert reply.params["link_preview_options"] == {"is_disabled": True}  # no preview card


async def test_without_a_report_url_the_report_is_cited_without_a_link(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(knowledge_dir=SHIPPED_KNOWLEDGE)
    reply = await bot.ask("2019年收到多少行政复议申请")
    assert reply.result["text"].endswith(f"来源：{SECTION}；{DOCUMENT}")
    assert links(reply) == []


async def test_quotes_partial_answers_and_each_of_several_answers_cite_the_report(
    linked_bot: RunningBot, shipped_engine: Engine
) -> None:
    for kind in (Kind.PASSAGE, Kind.PARTIAL, Kind.MULTI):
        expected = reply_of_kind(shipped_engine, kind)
        reply = await linked_bot.ask(expected.question)
        parts = expected.parts or (expected,)
        for part in parts:
            assert f"来源：{part.source}；{DOCUMENT}" in reply.result["text"], kind
        assert len(links(reply)) == len(parts), kind


async def test_an_answer_opened_from_a_related_button_cites_the_report_too(
    linked_bot: RunningBot,
) -> None:
    answer = await linked_bot.ask("2019年收到多少行政复议申请")
    related = next(d for d in callback_data(answer) if d.startswith("R:"))
    mark = linked_bot.api.mark()
    await linked_bot.press(answer, related)
    sent = await linked_bot.api.wait_for_call("sendMessage", after=mark)
    assert DOCUMENT in sent.result["text"] and links(sent)[0][1] == URL


async def test_an_inline_article_carries_the_same_citation(linked_bot: RunningBot) -> None:
    mark = linked_bot.api.mark()
    linked_bot.api.send_inline_query("2019年收到多少行政复议申请")
    call = await linked_bot.api.wait_for_call("answerInlineQuery", after=mark)
    html = call.params["results"][0]["input_message_content"]["message_text"]
    assert f'<a href="{URL.replace("&", "&amp;")}">《江汉区2019年法治政府建设工作报告》</a>' in html
