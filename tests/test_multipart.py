from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.answering.engine import Engine, Kind
from bot.answering.multipart import MAX_PARTS, split_question


def test_sentences_that_each_ask_something_are_parts() -> None:
    parts = split_question("2019年复议申请有多少件？出庭应诉率又是多少？")
    assert [p.text for p in parts] == ["2019年复议申请有多少件", "出庭应诉率又是多少"]


def test_a_clause_telling_of_several_things_is_no_question_of_its_own(
    shipped_engine: Engine,
) -> None:
    """几个部门 before a question of how tells of several departments: one question."""
    message = "安全生产领域几个部门职责分不清，区里是怎么处理的"
    assert len(split_question(message)) == 1
    reply = shipped_engine.respond(message)
    assert reply.kind is Kind.ANSWER and "执法权责" in reply.text


def test_a_later_part_without_its_subject_is_also_read_with_the_first_ones() -> None:
    first, second = split_question("案卷评查抽了几家部门？一共多少卷？")
    assert second.text == "一共多少卷" and second.with_subject == "案卷评查一共多少卷"
    assert first.with_subject is None


def test_the_subject_ends_before_the_verb_of_the_first_part() -> None:
    _, second = split_question("案卷抽查涉及几家部门?总共抽了多少卷?")
    assert second.with_subject == "案卷抽查总共抽了多少卷"


def test_a_part_read_alone_as_a_near_miss_is_read_with_its_subject(
    shipped_engine: Engine,
) -> None:
    """总共抽了多少卷 alone finds no count of 卷; with 案卷抽查 it finds the 165卷."""
    reply = shipped_engine.respond("案卷抽查涉及几家部门?总共抽了多少卷?")
    assert reply.kind is Kind.MULTI
    assert "19家" in reply.parts[0].text
    assert "165卷" in reply.parts[1].text


def test_coordinated_subjects_of_each_are_separate_questions() -> None:
    parts = split_question("马上办和网上办现在各有多少项")
    assert [p.text for p in parts] == ["马上办有多少项", "网上办有多少项"]
    parts = split_question("复议受案率和行政诉讼数量分别是多少")
    assert [p.text for p in parts] == ["复议受案率是多少", "行政诉讼数量是多少"]


def test_what_the_last_subject_has_with_de_is_asked_of_each() -> None:
    parts = split_question("复议申请和行政诉讼的同比降幅分别是多少")
    assert [p.text for p in parts] == ["复议申请的同比降幅是多少", "行政诉讼的同比降幅是多少"]


def test_each_may_come_before_the_subjects() -> None:
    parts = split_question("请分别说明复议申请和被诉案件的同比降幅")
    assert [p.text for p in parts] == ["复议申请的同比降幅", "被诉案件的同比降幅"]
    # Without what is asked of each, it is one request.
    assert len(split_question("分别讲讲马上办和网上办")) == 1


def test_a_clause_without_a_question_word_is_context_not_a_question() -> None:
    question = "对以区政府名义对外签订的合同进行合法性审查，依据的是哪份意见"
    assert len(split_question(question)) == 1
    assert len(split_question("有的单位好几次用信访的方式回复，复议机关怎么处理的")) == 1


@given(st.text(max_size=400))
def test_any_message_splits_into_at_most_three_non_empty_parts(message: str) -> None:
    parts = split_question(message)
    assert 1 <= len(parts) <= MAX_PARTS


def test_each_part_is_answered_from_its_own_entry_with_its_source(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("2019年复议申请有多少件？出庭应诉率又是多少？")
    assert reply.kind is Kind.MULTI and reply.answered
    assert [p.entry.id for p in reply.parts if p.entry] == [
        "reconsideration-applications",
        "court-appearance-rate",
    ]
    assert "29件" in reply.text and "92.3%" in reply.text
    assert all(part.source for part in reply.parts)


def test_a_part_the_report_does_not_answer_is_said_so_beside_the_others(
    shipped_engine: Engine,
) -> None:
    reply = shipped_engine.respond("2019年复议申请有多少件？2020年行政诉讼有多少件？")
    assert reply.kind is Kind.MULTI and not reply.answered
    assert [p.kind for p in reply.parts] == [Kind.ANSWER, Kind.PARTIAL]


def test_two_clauses_that_find_one_fact_are_one_question(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("去年区政府当被告的官司有多少，比前年少了多少件")
    assert reply.kind is Kind.ANSWER and reply.entry is not None
    assert reply.entry.id == "administrative-lawsuits"


def test_a_clause_that_sets_a_condition_is_context_not_a_question() -> None:
    assert len(split_question("要是哪个部门一把手老不去法院出庭，会有什么后果吗")) == 1
    assert len(split_question("哪个部门负责复议，复议申请有多少件")) == 2


def test_a_part_read_with_the_first_parts_subject_may_be_answered_by_a_quote(
    shipped_engine: Engine,
) -> None:
    """A later part that leaves out its subject is read with the first part's; what that
    finds counts when it answers from the report, by an entry or by a quoted sentence."""
    reply = shipped_engine.respond("区政府拍板大事之前要走哪些流程？别又是拍脑袋决定的吧")
    assert reply.answered


def test_colloquial_questions_requests_and_also_clauses_are_parts() -> None:
    """咋 asks as 怎么 does; 请概括… asks as a question does; and a clause opening with 以及
    after a question asks one more thing."""
    assert [p.text for p in split_question("现在存在啥问题，下一步又打算咋整")] == [
        "现在存在啥问题",
        "下一步又打算咋整",
    ]
    assert [p.text for p in split_question("请概括一下存在的问题，以及下一步的工作打算")] == [
        "请概括一下存在的问题",
        "以及下一步的工作打算",
    ]
    # 以及 inside one question's clause list is no second question.
    assert len(split_question("复议申请以及行政诉讼，各有多少件")) == 2


def test_the_problems_and_the_plans_asked_together_get_both(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("现在存在啥问题，下一步又打算咋整")
    assert reply.kind is Kind.MULTI and reply.answered
    assert "参差不齐" in reply.text and "两法衔接" in reply.text


def test_a_question_of_its_own_is_not_dropped_for_the_one_the_whole_answers(
    shipped_engine: Engine,
) -> None:
    """Two questions, each with its question mark: when the whole message finds only what the
    second asks, the first still gets its suggestions rather than vanishing."""
    reply = shipped_engine.respond("原法治办的职能划给了谁？复议里的疑难问题又是怎么研究的？")
    assert reply.kind is Kind.MULTI and len(reply.parts) == 2
    assert reply.parts[0].kind is Kind.SUGGEST and reply.parts[0].suggestions
    assert "专家座谈会" in reply.parts[1].text
