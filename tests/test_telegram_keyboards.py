"""The buttons under each kind of reply, built from the shipped knowledge base's real replies.

Pressing them end to end is in tests/e2e/test_bot_reply_kinds.py; here: which buttons, in
which order, with which callback data, and that the data always parses and fits in 64 bytes.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.answering.browse import chapters
from bot.answering.document import short_section
from bot.answering.engine import Engine, Kind
from bot.answering.knowledge import Entry, KnowledgeBase, Replies
from bot.answering.related import already_stated
from bot.telegram import keyboards
from tests.reply_kinds import ALSO, QUESTIONS, reply_of_kind

REF = "abcdefghijk"


def rows(markup: InlineKeyboardMarkup | None) -> list[list[tuple[str, str]]]:
    assert markup is not None
    return [[(b.text, str(b.callback_data)) for b in row] for row in markup.inline_keyboard]


def every_data(markup: InlineKeyboardMarkup | None) -> list[str]:
    return [data for row in rows(markup) for _, data in row]


FEEDBACK = [("👍 有帮助", f"F:{REF}:1"), ("👎 没帮助", f"F:{REF}:0")]


def test_an_answer_offers_its_close_runners_up_first_then_related_then_feedback(
    shipped_engine: Engine,
) -> None:
    reply = reply_of_kind(shipped_engine, ALSO)
    assert reply.entry is not None
    markup = keyboards.reply_keyboard(shipped_engine.kb, reply, REF, shipped_engine.replies)
    got = rows(markup)
    first = reply.also[0]
    assert got[0] == [(f"🔎 {first.topic}", f"R:{first.id}")]  # labelled by topic
    assert got[-1] == FEEDBACK
    offered = [data for row in got[:-1] for _, data in row]
    assert 1 <= len(offered) <= 3 and all(data.startswith("R:") for data in offered)
    assert len(offered) == len(set(offered))  # a runner-up that is also related shows once
    assert f"R:{reply.entry.id}" not in offered


def test_a_runner_up_that_is_also_related_is_offered_once_as_a_runner_up(
    shipped_engine: Engine,
) -> None:
    kb = shipped_engine.kb
    entry, related = next(
        (e, kb.by_id[r])
        for e in kb.entries
        for r in e.related
        if not already_stated(e.answer, kb.by_id[r])
    )
    markup = keyboards.answer_keyboard(kb, entry, None, shipped_engine.replies, also=[related])
    data = every_data(markup)
    assert data[0] == f"R:{related.id}" and data.count(f"R:{related.id}") == 1
    assert rows(markup)[0][0][0] == f"🔎 {related.topic}"


def test_no_answer_offers_more_than_three_entries_nor_one_whose_facts_it_already_states(
    shipped_engine: Engine,
) -> None:
    kb = shipped_engine.kb
    for entry in kb.entries:
        also = [kb.by_id[i] for i in entry.related][:2]
        markup = keyboards.answer_keyboard(kb, entry, REF, shipped_engine.replies, also=also)
        offered = [kb.by_id[d[2:]] for d in every_data(markup) if d.startswith("R:")]
        assert len(offered) <= 3, entry.id
        assert not [o.id for o in offered if already_stated(entry.answer, o)], entry.id


def test_an_answer_does_not_offer_the_entry_whose_figures_it_gives(
    shipped_engine: Engine,
) -> None:
    messages = shipped_engine.replies
    kb = KnowledgeBase(
        (
            Entry(
                "applications",
                "复议申请",
                ("收到多少申请",),
                "2019年收到申请29件，受理22件。",
                "（二）",
                related=("accepted", "rate"),
            ),
            Entry("accepted", "受理数量", ("受理多少件",), "2019年受理22件。", "（二）"),
            Entry("rate", "受案率", ("受案率是多少",), "受案率75.86%。", "（二）"),
        ),
        {},
        Replies(messages),
        "",
    )
    markup = keyboards.answer_keyboard(kb, kb.by_id["applications"], None, messages)
    assert rows(markup) == [[("相关：受案率", "R:rate")]]


def test_every_label_of_every_menu_and_answer_fits_a_phone_screen(shipped_engine: Engine) -> None:
    kb, messages = shipped_engine.kb, shipped_engine.replies
    markups = [keyboards.menu_keyboard(kb, 0, messages)]
    for chapter in chapters(kb):
        markups += [keyboards.chapter_keyboard(kb, chapter, page, messages) for page in (0, 1)]
    for section in kb.sections():
        markups.append(keyboards.section_keyboard(kb, section, 0, messages))
    for entry in kb.entries:
        markups.append(keyboards.browse_entry_keyboard(kb, entry, messages))
        markups.append(keyboards.answer_keyboard(kb, entry, REF, messages))
    for kind in QUESTIONS:
        reply = reply_of_kind(shipped_engine, kind)
        markups.append(keyboards.reply_keyboard(kb, reply, REF, messages))
    labels = {text for markup in markups if markup for row in rows(markup) for text, _ in row}
    too_wide = [text for text in labels if keyboards.width(text) > keyboards.MAX_LABEL_WIDTH]
    assert too_wide == []
    assert not [text for text in labels if text.endswith("…")]  # and none had to be cut


def test_label_cuts_by_width_not_by_characters() -> None:
    assert keyboards.label("法" * 16) == "法" * 16
    assert keyboards.label("法" * 17) == "法" * 15 + "…"
    assert keyboards.label("a" * 32) == "a" * 32
    assert keyboards.width(keyboards.label("律" * 40)) <= keyboards.MAX_LABEL_WIDTH


def test_an_overview_offers_one_button_per_section_as_suggestions(
    shipped_engine: Engine,
) -> None:
    reply = reply_of_kind(shipped_engine, Kind.OVERVIEW)
    markup = keyboards.reply_keyboard(shipped_engine.kb, reply, REF, shipped_engine.replies)
    assert every_data(markup) == [f"S:{REF}:{e.id}" for e in reply.suggestions]
    labels = [text for row in rows(markup) for text, _ in row]
    # The section, as the overview's text names it, with the entry's topic when both fit.
    for text, entry in zip(labels, reply.suggestions, strict=True):
        assert text in (
            f"{short_section(entry.source)}：{entry.topic}",
            short_section(entry.source),
        )


def test_small_talk_offers_the_browse_menu_only(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("你好")
    assert reply.kind is Kind.SMALL_TALK
    markup = keyboards.reply_keyboard(shipped_engine.kb, reply, REF, shipped_engine.replies)
    assert rows(markup) == [[("📚 按主题浏览", "T:0")]]


def test_after_not_helpful_the_three_next_steps_are_offered_in_one_row(
    shipped_engine: Engine,
) -> None:
    messages = shipped_engine.replies
    markup = keyboards.next_step_keyboard(REF, messages)
    assert rows(markup) == [
        [
            ("✏️ 换个问法", f"N:{REF}:a"),
            ("📚 按主题浏览", f"N:{REF}:b"),
            ("☎️ 人工渠道", f"N:{REF}:c"),
        ]
    ]
    assert [keyboards.NEXT_STEPS[d[-1]] for d in every_data(markup)] == [
        "ask_again",
        "browse",
        "channel",
    ]
    without_channel = keyboards.next_step_keyboard(REF, messages, channel=False)
    assert every_data(without_channel) == [f"N:{REF}:a", f"N:{REF}:b"]


def test_a_partial_answer_offers_the_topics_and_feedback(shipped_engine: Engine) -> None:
    reply = reply_of_kind(shipped_engine, Kind.PARTIAL)
    markup = keyboards.reply_keyboard(shipped_engine.kb, reply, REF, shipped_engine.replies)
    assert rows(markup) == [[("📚 按主题浏览", "T:0")], FEEDBACK]


def test_a_quote_and_several_answers_offer_feedback_only(shipped_engine: Engine) -> None:
    for kind in (Kind.PASSAGE, Kind.MULTI):
        reply = reply_of_kind(shipped_engine, kind)
        markup = keyboards.reply_keyboard(shipped_engine.kb, reply, REF, shipped_engine.replies)
        assert rows(markup) == [FEEDBACK]


def test_every_button_of_every_kind_parses_and_fits_in_callback_data(
    shipped_engine: Engine,
) -> None:
    patterns = (
        keyboards.TOPICS_RE,
        keyboards.RELATED_RE,
        keyboards.FEEDBACK_RE,
        keyboards.SUGGESTION_RE,
    )
    assert keyboards.NEXT_STEP_RE.match(keyboards.next_step_data(REF, "browse"))
    assert keyboards.CHAPTER_RE.match(keyboards.chapter_data("一、工作情况", 3))
    for kind in QUESTIONS:
        reply = reply_of_kind(shipped_engine, kind)
        markup = keyboards.reply_keyboard(shipped_engine.kb, reply, REF, shipped_engine.replies)
        for data in every_data(markup):
            assert len(data.encode()) <= keyboards.MAX_CALLBACK_BYTES
            assert any(p.match(data) for p in patterns), data
