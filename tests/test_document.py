from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.answering.document import (
    METADATA_SECTION,
    PREAMBLE_SECTION,
    fold,
    load_document,
    parse_document,
)
from bot.answering.knowledge import KnowledgeError, load_knowledge
from bot.config import SHIPPED_KNOWLEDGE

REPORT = load_document(SHIPPED_KNOWLEDGE)


def test_the_shipped_report_is_cut_into_metadata_title_and_sectioned_sentences() -> None:
    assert REPORT is not None
    assert REPORT.title == "江汉区2019年法治政府建设工作报告"
    assert REPORT.metadata["发文日期"] == "2020-01-25 17:00"
    assert REPORT.metadata["文号"] == "江政" and REPORT.metadata["有效性"] == "有效"
    sections = REPORT.sections
    assert sections[0] == PREAMBLE_SECTION
    assert "一、工作情况（二）加强复议机关监督职能" in sections
    assert "二、存在问题" in sections
    assert sections[-1] == "三、下步工作打算（四）强化宣传教育"
    assert METADATA_SECTION not in sections  # the table is metadata, not sentences
    assert not any(s.text.startswith("附件") for s in REPORT.sentences)


def test_a_section_heading_that_opens_its_paragraph_is_not_a_sentence() -> None:
    assert REPORT is not None
    plan = [s for s in REPORT.sentences if s.section.startswith("三、下步工作打算（一）")]
    assert plan and plan[0].text.startswith("推进“两法衔接”")


def test_passages_are_found_whatever_the_punctuation_width_and_spacing() -> None:
    assert REPORT is not None
    assert REPORT.contains("2019年共收到行政复议申请29件，较2018年减少10件")  # full-width comma
    assert REPORT.contains("发文日期 | 2020-01-25 17:00")
    assert REPORT.contains("(一)强化各级干部法治思维")
    assert not REPORT.contains("2019年共收到行政复议申请30件")
    assert not REPORT.contains("   ")


def test_a_report_without_a_table_or_outline_is_one_preamble() -> None:
    document = parse_document("标题\n第一句。第二句；第三句")
    assert document.title == "标题"
    assert [s.text for s in document.sentences] == ["第一句。", "第二句；", "第三句"]
    assert {s.section for s in document.sentences} == {PREAMBLE_SECTION}


@given(st.text(max_size=2000))
def test_any_text_parses_and_every_sentence_is_in_it(text: str) -> None:
    document = parse_document(text)
    for sentence in document.sentences:
        assert document.contains(sentence.text)
        assert fold(sentence.text) in fold(text)


def test_kb_check_rejects_a_passage_that_is_not_in_the_report(tmp_path: Path) -> None:
    kb_dir = tmp_path / "knowledge"
    kb_dir.mkdir()
    for name in ("replies.yaml", "synonyms.yaml", "report.txt"):
        (kb_dir / name).write_text(
            (SHIPPED_KNOWLEDGE / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    (kb_dir / "10-x.yaml").write_text(
        "entries:\n"
        "  - id: x\n"
        "    topic: 复议\n"
        "    questions: [复议申请多少件]\n"
        "    answer: 29件\n"
        "    source: 一、工作情况\n"
        "    passage: 2019年共收到行政复议申请30件\n",
        encoding="utf-8",
    )
    try:
        load_knowledge(kb_dir)
    except KnowledgeError as exc:
        [problem] = [p for p in exc.problems if p.severity == "error"]
        assert problem.line == 7 and "passage" in problem.message
    else:
        raise AssertionError("a misquoted passage must fail the check")


def test_every_shipped_entry_rests_on_a_passage_of_the_report() -> None:
    kb = load_knowledge(SHIPPED_KNOWLEDGE)
    assert kb.document is not None
    assert all(entry.passage for entry in kb.entries)
    assert not [w for w in kb.warnings if "passage" in w.message]
