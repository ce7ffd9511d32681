"""The scripted session of `tests/e2e/transcript.py`, step by step, and its page and picture.

The README shows that session as a picture. These tests prove each step still goes as a
person expects, that the page draws what the bot sent without trusting it (only <b>, <i> and
<a> become markup), and that Chromium photographs it at a phone's width.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from bot.config import SHIPPED_KNOWLEDGE
from tests.e2e import transcript as script
from tests.e2e.conftest import RunningBot, StartBot
from tests.e2e.transcript import (
    BotMessage,
    Button,
    Step,
    Toast,
    Transcript,
    play,
    render_html,
    telegram_html,
)

DOCUMENT = "《江汉区2019年法治政府建设工作报告》（江汉区政府，2020-01-25，文号：江政）"
RECONSIDERATION = f"来源：一、工作情况（二）加强复议机关监督职能；{DOCUMENT}"
COURT = f"来源：一、工作情况（三）严格执行出庭应诉规定；{DOCUMENT}"
RATING = ["👍 有帮助", "👎 没帮助"]
BROWSE = ["📚 按主题浏览"]


@pytest.fixture
async def shipped_bot(start_bot: StartBot) -> RunningBot:
    """The bot serving the shipped knowledge base (read only: nothing here edits it)."""
    return await start_bot(knowledge_dir=SHIPPED_KNOWLEDGE)


def _answer(step: Step, starts: str, source: str) -> BotMessage:
    reply = step.reply
    assert reply.text.startswith(starts), reply.text
    assert reply.text.endswith(source), reply.text
    return reply


async def test_the_scripted_session_goes_as_a_person_expects(shipped_bot: RunningBot) -> None:
    session = await play(shipped_bot.api, shipped_bot.app)

    hello = session["small talk"].reply
    assert hello.text.startswith("您好！我可以回答") and hello.labels == BROWSE

    asked = _answer(session["question"], "2019年江汉区共收到行政复议申请29件", RECONSIDERATION)
    assert asked.labels[-2:] == RATING and len(asked.labels) <= 5

    # A follow-up naming only the new detail is read with the question before it.
    detail = _answer(
        session["follow-up: a new detail"], "2019年行政复议案件受理22件", RECONSIDERATION
    )
    helpful = session["helpful"]
    assert helpful.toasts == ["感谢您的反馈！"]
    [rated] = [e for e in helpful.events if isinstance(e, BotMessage)]
    assert (rated.edit, rated.message_id) == ("keyboard", detail.message_id)
    assert not set(RATING) & set(rated.labels)  # the rating buttons are gone

    # Another year, which the report does not give for that figure: said so, with what it has.
    year = _answer(
        session["follow-up: another year"], "报告没有2018年的相关数字。", RECONSIDERATION
    )
    assert "受理22件" in year.text and year.labels == BROWSE + RATING

    matter = session["personal matter"].reply
    assert "12333人力资源和社会保障服务热线" in matter.text and not matter.keyboard

    # Browsing: one message, edited in place at each level, down to an answer.
    menu = session["browse: the menu"].reply
    assert menu.text == "请选择想了解的主题："
    assert menu.labels == ["工作情况", "存在问题", "下步工作打算", "文件信息与导语"]
    chapter = session["browse: a chapter"].reply
    assert chapter.text == "一、工作情况" and script.SECTION in chapter.labels
    section = session["browse: a section"].reply
    assert section.text == f"一、工作情况（三）{script.SECTION}"
    assert script.ENTRY in section.labels and section.labels[-1] == "« 返回"
    found = _answer(session["browse: an answer"], "2019年江汉区行政诉讼案件", COURT)
    assert "出庭应诉率达92.3%" in found.text and found.labels[-1] == "« 返回"
    assert {m.message_id for m in (menu, chapter, section, found)} == {menu.message_id}
    assert [m.edit for m in (chapter, section, found)] == ["text"] * 3

    # 👎 on the other-year answer: the bot asks what was missing, quoting that answer.
    missing = session["not helpful"]
    assert [e.message_id for e in missing.events if isinstance(e, BotMessage)] == [
        year.message_id,  # its rating buttons removed
        missing.reply.message_id,
    ]
    assert missing.reply.text.startswith("抱歉没能帮到您。缺了什么呢？")
    assert missing.reply.quote == year.text
    assert missing.reply.labels == ["✏️ 换个问法", "📚 按主题浏览", "☎️ 人工渠道"]
    channel = session["next step"].reply
    assert (channel.message_id, channel.edit, channel.keyboard) == (
        missing.reply.message_id,
        "text",
        (),
    )
    assert channel.text.startswith("需要人工解答的，请拨打12345政务服务便民热线。")

    thanks = session["thanks"].reply
    assert thanks.text.startswith("不客气！") and thanks.labels == BROWSE

    rows = await shipped_bot.rows()
    assert [(r["question"], r["outcome"], r["feedback"], r["feedback_choice"]) for r in rows] == [
        (script.GREETING, "smalltalk", None, None),
        (script.QUESTION, "answer", None, None),
        (script.FOLLOW_UP_DETAIL, "answer", 1, None),
        (script.FOLLOW_UP_YEAR, "partial", -1, "channel"),
        (script.PERSONAL_MATTER, "referral", None, None),
        (script.THANKS, "smalltalk", None, None),
    ]

    page = render_html(session)
    for step in session.steps:
        if step.said is not None:
            assert f'<div class="bubble">{html.escape(step.said)}</div>' in page
        if step.pressed is not None:
            assert f"点按 ▸ {html.escape(step.pressed)}</div>" in page
        for message in step.messages:
            assert telegram_html(message.html) in page
            for label in message.labels:
                assert f'<span class="key">{html.escape(label)}</span>' in page
    assert '<div class="toast"><span>感谢您的反馈！</span></div>' in page
    assert page.count('<span class="edited">已编辑</span>') == 4  # three browse levels, a choice
    assert "<i>来源：一、工作情况（二）" in page  # the source lines stay italic


def test_bot_html_keeps_only_bold_italic_and_links_as_markup() -> None:
    assert telegram_html("<b>29件</b>，<i>来源</i>") == "<b>29件</b>，<i>来源</i>"
    assert telegram_html('<a href="https://example.org/x?a=1&amp;b=2">报告</a>') == (
        '<span class="link">报告</span>'  # drawn as a link, its address dropped
    )
    assert telegram_html("1 &lt; 2 &amp;&amp; <code>x</code>") == (
        "1 &lt; 2 &amp;&amp; &lt;code&gt;x&lt;/code&gt;"
    )
    assert telegram_html("<b>unclosed <i>both") == "<b>unclosed <i>both</i></b>"
    assert telegram_html("stray </b> close") == "stray  close"
    assert telegram_html('<b onclick="alert(1)">x</b>') == "<b>x</b>"


def test_the_page_escapes_what_people_typed_and_loads_nothing() -> None:
    hostile = '<img src="http://example.invalid/x.png" onerror="alert(1)"><script>alert(1)</script>'
    session = Transcript(
        [
            Step("typed markup", said=hostile),
            Step(
                "a bot that sent more than it should",
                events=[
                    BotMessage(
                        1,
                        f'<b>ok</b> <u>u</u> <a href="javascript:alert(1)">x</a> {hostile}',
                        "…",
                        ((Button(f"<i>{hostile}</i>", "E:x"),),),
                        quote=hostile,
                    ),
                    Toast(hostile),
                ],
            ),
            Step("a press", pressed=hostile),
        ]
    )
    page = render_html(session)
    tags = {tag.lower() for tag in re.findall(r"<([a-zA-Z][a-zA-Z0-9-]*)", page)}
    assert tags == {"html", "head", "meta", "title", "style", "body", "header", "div", "main"} | {
        "b",
        "span",
    }
    assert not [t for t in re.findall(r"<[a-zA-Z][^>]*>", page) if re.search(r"\s(src|href|on)", t)]
    assert "url(" not in page and "@import" not in page and "javascript:" not in page
    assert (
        page.count("&lt;img src=&quot;http://example.invalid/x.png&quot;") == 6
    )  # typed, sent, button, quote, toast, press
    assert f'content="{script.CONTENT_SECURITY_POLICY}"' in page
    assert "default-src 'none'" in script.CONTENT_SECURITY_POLICY


async def test_the_picture_is_a_phone_screen_wide_and_as_tall_as_the_session(
    shipped_bot: RunningBot, tmp_path: Path
) -> None:
    binary = script.chromium_binary()
    if binary is None:
        pytest.skip("no chromium binary (CI installs Debian's chromium in .ci/run)")
    session = await play(shipped_bot.api, shipped_bot.app)
    page = tmp_path / "transcript.html"
    page.write_text(render_html(session), encoding="utf-8")
    png = tmp_path / "transcript.png"
    width, height = script.screenshot(page, png, binary)
    assert (width, height) == script.png_size(png)
    assert width == script.WIDTH
    # Thirteen steps and their answers: several screens, yet no runaway layout.
    assert 2000 < height < 8000
