"""The reply kinds beyond answer / suggest / none, through the engine on the shipped knowledge."""

from __future__ import annotations

import pytest

from bot.answering.engine import Engine, Kind, format_plain, short_section


def test_a_detail_only_the_reports_own_sentence_holds_is_quoted_with_its_section(
    shipped_engine: Engine,
) -> None:
    reply = shipped_engine.respond("区政府的依法决策水平")
    assert reply.kind is Kind.PASSAGE and reply.answered
    assert reply.quote is not None and reply.entry is None
    assert reply.text.startswith("报告原文：“") and reply.quote.text in reply.text
    assert reply.source == "一、工作情况（一）强化各级干部法治思维"
    assert format_plain(reply).endswith("来源：一、工作情况（一）强化各级干部法治思维")


@pytest.mark.parametrize("word", ["执法", "改革", "监督"])
def test_a_broad_word_gets_the_sections_that_speak_of_it(shipped_engine: Engine, word: str) -> None:
    reply = shipped_engine.respond(word)
    assert reply.kind is Kind.OVERVIEW and not reply.answered
    assert len(reply.suggestions) >= 3
    assert len({entry.source for entry in reply.suggestions}) == len(reply.suggestions)
    for entry in reply.suggestions:
        assert f"“{short_section(entry.source)}”" in reply.text


@pytest.mark.parametrize("keyword", ["放管服", "复议", "两法衔接", "出庭应诉率"])
def test_a_keyword_of_one_section_is_still_answered(shipped_engine: Engine, keyword: str) -> None:
    assert shipped_engine.respond(keyword).kind is Kind.ANSWER


def test_a_close_runner_up_is_offered_beside_the_answer(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("复议申请受理了几件")
    assert reply.kind is Kind.ANSWER
    assert reply.entry is not None and reply.entry.id == "reconsideration-accepted"
    assert reply.entry not in reply.also and len(reply.also) <= 2


def test_a_plan_named_is_answered_by_its_own_entry_not_the_plans_summary(
    shipped_engine: Engine,
) -> None:
    """共性问题 names one of the plans; the summary of all of them is offered beside it. A
    question of plans in general still gets the summary."""
    reply = shipped_engine.respond("对于区里发现的共性问题，下一步准备怎么处理？")
    assert reply.kind is Kind.ANSWER
    assert reply.entry is not None and reply.entry.id == "plan-power-oversight"
    assert [entry.id for entry in reply.also] == ["plans-summary"]
    general = shipped_engine.respond("下一步有什么打算")
    assert general.entry is not None and general.entry.id == "plans-summary"


def test_short_section_drops_the_chapter() -> None:
    assert short_section("一、工作情况（二）加强复议机关监督职能") == "加强复议机关监督职能"
    assert short_section("二、存在问题") == "存在问题"
    assert short_section("报告导语") == "报告导语"


def test_the_preamble_as_a_whole_is_asked_of_its_own_entry(shipped_engine: Engine) -> None:
    """报告开头讲了啥 asks what the whole preamble says; a question about its opening words
    (who the district works under) gets the whole of it, leadership included."""
    whole = shipped_engine.respond("报告导语说了什么")
    assert whole.entry is not None and whole.entry.id == "preamble"
    asked = shipped_engine.respond("报告开头讲这些工作是在谁的领导下开展的")
    assert asked.kind is Kind.ANSWER and "区委的正确领导" in asked.text


def test_the_reports_own_words_for_two_plans_stay_apart(shipped_engine: Engine) -> None:
    """督促指导 and 监督指导 are each the report's wording of a different plan (the forms that
    urge the three systems on; the yearly case-file sampling): no synonym merges them."""
    reply = shipped_engine.respond("今后靠什么形式督促指导行政执法工作")
    assert reply.answered and "法制工作联席会" in reply.text


def test_how_staff_improve_is_the_training_not_the_shortcoming(shipped_engine: Engine) -> None:
    """业务水平 is not the 素质能力 of the shortcomings chapter: how enforcement staff improve is
    answered by their training, while a question about the uneven team still finds the problem."""
    improve = shipped_engine.respond("执法人员平时怎么提高业务水平")
    assert improve.answered and "法律培训班" in improve.text
    problem = shipped_engine.respond("执法人员业务能力有什么问题")
    assert problem.answered and "参差不齐" in problem.text


@pytest.mark.parametrize("question", ["两法衔接以后怎么推进", "两法衔接"])
def test_an_answer_says_all_its_sentence_says_of_what_is_asked(
    shipped_engine: Engine, question: str
) -> None:
    """The plan for 两法衔接 is the platform and the joint meeting, not only the aim: an
    answer gives the whole of what its sentence of the report says of the matter."""
    reply = shipped_engine.respond(question)
    assert reply.answered and "工作平台" in reply.text and "联席会议" in reply.text


def test_case_handling_procedure_is_the_reconsideration_wording(shipped_engine: Engine) -> None:
    """办案流程 is the report's 办理流程 of reconsideration and litigation cases, not (through
    流程 -> 程序) the enforcement procedures."""
    reply = shipped_engine.respond("复议的办案流程规范吗")
    assert reply.answered and "办理流程" in reply.text
