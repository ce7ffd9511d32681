"""A question torn between two facts of one section is answered by the entry that states both."""

from __future__ import annotations

from bot.answering.covering import answers_for, covering
from bot.answering.engine import Engine, Kind
from bot.answering.knowledge import Entry

SECTION = "（九）推进法律顾问工作"


def _entry(key: str, answer: str, *, draft: bool = False) -> Entry:
    return Entry(key, key, (f"{key}?",), answer, SECTION, draft=draft)


COVERAGE = _entry("coverage", "全区政府系统62个部门及街道实现法律顾问全覆盖。")
TEAM = _entry("team", "区政府聘任10名法学专家、知名律师组成区政府法律顾问团队。")
SUMMARY = _entry(
    "summary",
    "全区政府系统62个部门及街道实现法律顾问全覆盖；区政府聘任10名法学专家、知名律师组成"
    "区政府法律顾问团队，并与四家律师事务所签署法律服务协议。",
)
# The same figures, none of the wording: says nothing of what the details say.
SAME_FIGURES = _entry("figures", "62个单位参加了10次培训。")


def test_a_summary_answers_for_each_of_its_details() -> None:
    assert answers_for(SUMMARY, COVERAGE)
    assert answers_for(SUMMARY, TEAM)
    assert not answers_for(COVERAGE, TEAM)


def test_the_shortest_entry_stating_both_details_covers_them() -> None:
    longer = _entry("longer", SUMMARY.answer + "另有专业律师代理区政府重大复议诉讼案件。")
    assert covering([COVERAGE, TEAM, longer, SUMMARY], [COVERAGE, TEAM]) == SUMMARY


def test_sharing_the_figures_is_not_covering() -> None:
    assert answers_for(SAME_FIGURES, _entry("x", "共62个，10名。"))
    assert covering([SAME_FIGURES], [COVERAGE, TEAM]) is None


def test_an_unreviewed_draft_covers_nothing() -> None:
    draft = _entry("draft", SUMMARY.answer, draft=True)
    assert covering([draft], [COVERAGE, TEAM]) is None


def test_a_question_between_two_facts_of_a_section_gets_the_summary(
    shipped_engine: Engine,
) -> None:
    reply = shipped_engine.respond("以前在网上能办的才多少项")
    assert reply.match is not None
    leading = [c.entry for c in reply.match.suggestions[:2]]
    assert reply.kind is Kind.ANSWER
    assert reply.entry is not None
    assert all(answers_for(reply.entry, entry) for entry in leading)
    assert "57项" in reply.text
    # The facts it was torn between stay on offer.
    assert {e.id for e in reply.also} <= {e.id for e in leading}
    assert reply.also


def test_why_names_the_entry_answered_and_the_reason(shipped_engine: Engine) -> None:
    from bot.telegram.formatting import why_html

    reply = shipped_engine.respond("以前在网上能办的才多少项")
    assert reply.match is not None and reply.entry is not None
    why = why_html(reply, reply.match.ranked[:3], "≥ 0.7")
    assert f"回答的条目</b>：<code>{reply.entry.id}</code>" in why
    assert "同时说明了两者" in reply.match.reason
