"""The buttons under each kind of reply, built from the shipped knowledge base's real replies.

Pressing them end to end is in tests/e2e/test_bot_reply_kinds.py; here: which buttons, in
which order, with which callback data, and that the data always parses and fits in 64 bytes.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.engine import Engine, Kind, short_section
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
    also = [[(f"您可能还想了解：{e.questions[0]}", f"R:{e.id}")] for e in reply.also]
    assert got[: len(also)] == also
    assert got[-1] == FEEDBACK
    related = [data for row in got[len(also) : -1] for _, data in row]
    assert all(data.startswith("R:") for data in related)
    offered = [data for row in got[:-1] for _, data in row]
    assert len(offered) == len(set(offered))  # a runner-up that is also related shows once
    assert f"R:{reply.entry.id}" not in offered


def test_a_runner_up_that_is_also_related_is_offered_once_as_a_runner_up(
    shipped_engine: Engine,
) -> None:
    kb = shipped_engine.kb
    entry = next(e for e in kb.entries if e.related)
    related = kb.by_id[entry.related[0]]
    markup = keyboards.answer_keyboard(kb, entry, None, shipped_engine.replies, also=[related])
    data = every_data(markup)
    assert data[0] == f"R:{related.id}" and data.count(f"R:{related.id}") == 1
    assert rows(markup)[0][0][0].startswith("您可能还想了解：")


def test_an_overview_offers_one_button_per_section_as_suggestions(
    shipped_engine: Engine,
) -> None:
    reply = reply_of_kind(shipped_engine, Kind.OVERVIEW)
    markup = keyboards.reply_keyboard(shipped_engine.kb, reply, REF, shipped_engine.replies)
    assert every_data(markup) == [f"S:{REF}:{e.id}" for e in reply.suggestions]
    labels = [text for row in rows(markup) for text, _ in row]
    # The section, as the overview's text names it, then the entry the button opens.
    assert labels == [
        keyboards.label(f"{short_section(e.source)}：{e.topic}") for e in reply.suggestions
    ]


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
    for kind in QUESTIONS:
        reply = reply_of_kind(shipped_engine, kind)
        markup = keyboards.reply_keyboard(shipped_engine.kb, reply, REF, shipped_engine.replies)
        for data in every_data(markup):
            assert len(data.encode()) <= keyboards.MAX_CALLBACK_BYTES
            assert any(p.match(data) for p in patterns), data
