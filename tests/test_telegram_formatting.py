"""How each kind of reply reads in Telegram HTML: its text, its source line, escaping, length.

`rendered` parses the HTML exactly as Telegram does (tests/e2e/fake_bot_api.py), so these
assert what a person sees, and that a `<` or `&` from an admin or a user never breaks a message.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answering.document import Sentence, SourceDocument
from bot.answering.engine import Engine, Kind, Reply
from bot.answering.knowledge import Entry
from bot.telegram.formatting import MAX_TEXT, Citing, reply_html
from tests.e2e.fake_bot_api import parse_html
from tests.reply_kinds import ALSO, reply_of_kind

MESSAGES = {"source_label": "来源"}
HOSTILE = "<b>A&B</b> <script>&lt;"


def rendered(html: str) -> str:
    plain, _entities = parse_html(html)
    return plain


def italics(html: str) -> list[str]:
    """The italic stretches of the rendered text (the source lines)."""
    plain, entities = parse_html(html)
    # Offsets count UTF-16 code units; the texts here are all in the BMP.
    return [
        plain[e["offset"] : e["offset"] + e["length"]] for e in entities if e["type"] == "italic"
    ]


def entry(key: str = "e", answer: str = "答案", source: str = "一、工作情况") -> Entry:
    return Entry(
        id=key, topic=f"{key} 主题", questions=(f"{key} 问法",), answer=answer, source=source
    )


def answer(item: Entry) -> Reply:
    return Reply("问题", Kind.ANSWER, item.answer, entry=item)


def test_an_answer_shows_its_text_and_cites_its_source_in_italics() -> None:
    html = reply_html(answer(entry(answer="29件", source="（二）复议")), MESSAGES)
    assert rendered(html) == "29件\n\n来源：（二）复议"
    assert italics(html) == ["来源：（二）复议"]


def test_a_partial_answer_shows_what_is_missing_and_cites_the_related_entry() -> None:
    related = entry(source="（二）复议")
    text = "报告没有2020年的相关数字。报告里相关的内容是：2019年共收到29件。"
    reply = Reply("2020年复议申请有多少", Kind.PARTIAL, text, entry=related)
    html = reply_html(reply, MESSAGES)
    assert rendered(html) == f"{text}\n\n来源：（二）复议"
    assert italics(html) == ["来源：（二）复议"]


def test_a_quote_of_the_report_cites_the_section_of_the_sentence() -> None:
    sentence = Sentence("立即督促相关行政单位规范改进到位。", "三、下步工作打算（二）")
    text = f"报告原文：“{sentence.text}”"
    reply = Reply("问题", Kind.PASSAGE, text, quote=sentence)
    html = reply_html(reply, MESSAGES)
    assert rendered(html) == f"{text}\n\n来源：三、下步工作打算（二）"
    assert italics(html) == ["来源：三、下步工作打算（二）"]


def test_several_questions_are_numbered_each_with_its_own_source_line() -> None:
    first = answer(entry("a", "29件", "（二）复议"))
    second = Reply(
        "q", Kind.PARTIAL, "报告没有2020年的相关数字。", entry=entry("b", "33件", "（三）")
    )
    third = Reply("q", Kind.NONE, "没有找到答案。")
    multi = Reply("q", Kind.MULTI, "1. …", parts=(first, second, third))
    html = reply_html(multi, MESSAGES)
    assert rendered(html) == (
        "1. 29件\n来源：（二）复议\n\n"
        "2. 报告没有2020年的相关数字。\n来源：（三）\n\n"
        "3. 没有找到答案。"
    )
    assert italics(html) == ["来源：（二）复议", "来源：（三）"]


def test_a_part_that_can_only_suggest_lists_its_suggestions_in_the_text() -> None:
    unsure = Reply("q", Kind.SUGGEST, "您是不是想问：", suggestions=(entry("a"), entry("b")))
    multi = Reply("q", Kind.MULTI, "", parts=(answer(entry("c")), unsure))
    assert rendered(reply_html(multi, MESSAGES)).endswith("2. 您是不是想问：\n· a 问法\n· b 问法")


def test_an_overview_is_its_text_alone_the_buttons_carry_the_sections() -> None:
    text = "报告里有好几部分谈到“执法”：“存在问题”。请选择想了解的部分："
    reply = Reply("执法", Kind.OVERVIEW, text, suggestions=(entry("a"), entry("b")))
    assert rendered(reply_html(reply, MESSAGES)) == text


def test_shipped_replies_of_every_new_kind_cite_every_source_they_rest_on(
    shipped_engine: Engine,
) -> None:
    messages = shipped_engine.replies
    for kind in (ALSO, Kind.PARTIAL, Kind.PASSAGE, Kind.OVERVIEW, Kind.MULTI):
        reply = reply_of_kind(shipped_engine, kind)
        html = reply_html(reply, messages)
        sources = [part.source for part in reply.parts] if reply.parts else [reply.source]
        assert italics(html) == [f"来源：{source}" for source in sources if source], kind


DOCUMENT = SourceDocument(
    title="江汉区2019年法治政府建设工作报告",
    metadata={"发布机构": "江汉区政府", "发文日期": "2020-01-25 17:00", "文号": "江政"},
    sentences=(),
)
CITED = "（二）复议；《江汉区2019年法治政府建设工作报告》（江汉区政府，2020-01-25，文号：江政）"


def links(html: str) -> list[tuple[str, str]]:
    """(shown text, url) of each link in the rendered text."""
    plain, entities = parse_html(html)
    return [
        (plain[e["offset"] : e["offset"] + e["length"]], e["url"])
        for e in entities
        if e["type"] == "text_link"
    ]


def test_a_source_line_cites_the_section_and_the_report_a_civil_servant_can_quote() -> None:
    html = reply_html(answer(entry(answer="29件", source="（二）复议")), MESSAGES, Citing(DOCUMENT))
    assert rendered(html) == f"29件\n\n来源：{CITED}"
    assert italics(html) == [f"来源：{CITED}"]
    assert links(html) == []


def test_with_a_report_url_the_reports_title_links_to_the_published_original() -> None:
    url = 'https://www.jianghan.gov.cn/zwgk/report?id=1&lang=zh"<x>'
    html = reply_html(
        answer(entry(answer="29件", source="（二）复议")), MESSAGES, Citing(DOCUMENT, url)
    )
    assert rendered(html) == f"29件\n\n来源：{CITED}"  # the same words, the title a link
    assert links(html) == [("《江汉区2019年法治政府建设工作报告》", url)]
    assert 'href="https://www.jianghan.gov.cn/zwgk/report?id=1&amp;lang=zh&quot;&lt;x&gt;"' in html


def test_every_part_of_several_answers_cites_the_report_too() -> None:
    parts = (answer(entry("a", "29件", "（二）复议")), answer(entry("b", "92.3%", "（二）复议")))
    html = reply_html(Reply("q", Kind.MULTI, "", parts=parts), MESSAGES, Citing(DOCUMENT))
    assert italics(html) == [f"来源：{CITED}"] * 2


def test_a_referral_that_names_what_the_report_says_cites_that_entry() -> None:
    about = entry("about", "2019年收到行政复议申请29件。", "（二）复议")
    text = "对行政机关的决定不服，可以依法申请行政复议。\n报告里的相关内容：2019年收到行政复议申请29件。"
    reply = Reply("我要申请行政复议", Kind.REFERRAL, text, entry=about)
    html = reply_html(reply, MESSAGES, Citing(DOCUMENT))
    assert rendered(html) == f"{text}\n\n来源：{CITED}"


def test_a_referral_without_an_entry_and_small_talk_are_their_text_alone() -> None:
    assert rendered(reply_html(Reply("我要投诉", Kind.REFERRAL, "请拨打12345。"), MESSAGES)) == (
        "请拨打12345。"
    )
    assert rendered(reply_html(Reply("你好", Kind.SMALL_TALK, "您好！"), MESSAGES)) == "您好！"


def test_an_answer_shows_the_replys_own_text_when_it_says_more_than_the_entry() -> None:
    item = entry(answer="2019年收到29件，较2018年减少10件。", source="（二）复议")
    text = f"报告没有直接给出2018年的数字，只给出了与2018年相比的变化：{item.answer}"
    html = reply_html(Reply("那2018年呢", Kind.ANSWER, text, entry=item), MESSAGES)
    assert rendered(html) == f"{text}\n\n来源：（二）复议"


def test_a_long_citation_in_a_crowded_message_is_cut_and_loses_its_link_not_its_markup() -> None:
    parts = tuple(answer(entry(str(n), "长" * 2000, "（二）复议" * 80)) for n in range(6))
    html = reply_html(
        Reply("q", Kind.MULTI, "", parts=parts), MESSAGES, Citing(DOCUMENT, "https://x.org/r")
    )
    assert len(rendered(html)) <= MAX_TEXT
    assert links(html) == [] and len(italics(html)) == 6


TEXT = st.text(st.sampled_from("<>&;/ab\"' 甲乙\n"), min_size=1, max_size=30)


@settings(max_examples=100)
@given(text=TEXT, source=TEXT, question=TEXT)
def test_every_kind_shows_admin_and_user_text_literally(
    text: str, source: str, question: str
) -> None:
    item = entry(answer=text, source=source)
    sentence = Sentence(text, source)
    quote = Reply(question, Kind.PASSAGE, text, quote=sentence)
    partial = Reply(question, Kind.PARTIAL, text, entry=item)
    overview = Reply(question, Kind.OVERVIEW, text, suggestions=(item,))
    cited = f"{text}\n\n来源：{source}"
    assert rendered(reply_html(answer(item), MESSAGES)) == cited
    assert rendered(reply_html(partial, MESSAGES)) == cited
    assert rendered(reply_html(quote, MESSAGES)) == cited
    assert rendered(reply_html(overview, MESSAGES)) == text
    multi = Reply(question, Kind.MULTI, text, parts=(quote, overview))
    assert rendered(reply_html(multi, MESSAGES)) == (
        f"1. {text}\n来源：{source}\n\n2. {text}\n· {item.topic}"
    )


def test_a_reply_too_long_for_one_message_is_cut_but_keeps_its_source() -> None:
    long = "长" * 5000 + HOSTILE
    html = reply_html(answer(entry(answer=long, source="（二）复议")), MESSAGES)
    shown = rendered(html)
    assert len(shown) <= MAX_TEXT
    assert shown.endswith("…\n\n来源：（二）复议")


def test_several_long_answers_together_stay_within_one_message() -> None:
    parts = tuple(answer(entry(str(n), "长&" * 3000, f"（{n}）")) for n in range(3))
    multi = Reply("q", Kind.MULTI, "", parts=parts)
    html = reply_html(multi, MESSAGES)
    assert len(rendered(html)) <= MAX_TEXT
    assert italics(html) == ["来源：（0）", "来源：（1）", "来源：（2）"]
