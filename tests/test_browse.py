"""bot.answering.browse: the report's outline for the browse menu, chapters first."""

from __future__ import annotations

from bot.answering.browse import (
    DOCUMENT_CHAPTER,
    chapter_label,
    chapter_title,
    chapters,
    section_label,
)
from bot.answering.engine import Engine


def test_a_sections_chapter_is_the_heading_before_its_number() -> None:
    assert chapter_title("一、工作情况（二）加强复议机关监督职能") == "一、工作情况"
    assert chapter_title("一、工作情况") == "一、工作情况"
    assert chapter_title("二、存在问题") == "二、存在问题"
    assert chapter_title("文件信息") == chapter_title("报告导语") == DOCUMENT_CHAPTER
    assert chapter_title("附录") == "附录"


def test_the_shipped_report_has_four_chapters_in_report_order_document_information_last(
    shipped_engine: Engine,
) -> None:
    outline = chapters(shipped_engine.kb)
    labels = [chapter_label(c, "文件信息与导语") for c in outline]
    assert labels == ["工作情况", "存在问题", "下步工作打算", "文件信息与导语"]
    work = outline[0]
    assert [s.title for s in work.sections][:2] == [
        "一、工作情况",
        "一、工作情况（一）强化各级干部法治思维",
    ]
    assert [section_label(s, work, "总览") for s in work.sections][:2] == [
        "总览",
        "强化各级干部法治思维",
    ]
    every = [s.title for c in outline for s in c.sections]
    assert sorted(every) == sorted(s.title for s in shipped_engine.kb.sections())


def test_the_document_chapter_keeps_its_sections_own_names(shipped_engine: Engine) -> None:
    document = chapters(shipped_engine.kb)[-1]
    assert document.is_document
    assert [section_label(s, document, "总览") for s in document.sections] == [
        "文件信息",
        "报告导语",
    ]
