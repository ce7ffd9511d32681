"""The report's outline for browsing: chapters, then their sections, then entries.

The knowledge base groups entries by section (`KnowledgeBase.sections`), twenty of them for the
shipped report, most starting with the same 一、工作情况（N）. Shown at once that is three pages
of near-identical buttons. Two levels read better on a phone: the few chapters (工作情况, 存在问题,
下步工作打算), then a chapter's sections by their own headings; with several reports side by side,
the choice of report comes first. The document's own information
(its header table and preamble) is a chapter of its own, last: people come for what the
district did, not for the document number. Pure: no Telegram, no database.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answering.document import METADATA_SECTION, PREAMBLE_SECTION, chapter_of, short_section
from bot.answering.knowledge import KnowledgeBase, Section

# The chapter that holds the document's header table and preamble (its label is the
# `browse_document` message of replies.yaml).
DOCUMENT_CHAPTER = METADATA_SECTION
_DOCUMENT_SECTIONS = frozenset({METADATA_SECTION, PREAMBLE_SECTION})


@dataclass(frozen=True)
class Chapter:
    """One chapter of the report (一、工作情况) and its sections, in knowledge-base order."""

    title: str
    sections: tuple[Section, ...]
    report: str = ""  # the report's key, in a base of several (`Section.report`)

    @property
    def is_document(self) -> bool:
        """The chapter of the document's own information (header table, preamble)."""
        return self.title == DOCUMENT_CHAPTER


def chapter_title(section: str) -> str:
    """The chapter a section belongs to: 一、工作情况（二）加强… -> 一、工作情况; 二、存在问题 is its
    own chapter; the header table and the preamble belong to DOCUMENT_CHAPTER."""
    return DOCUMENT_CHAPTER if section in _DOCUMENT_SECTIONS else chapter_of(section)


def reports(kb: KnowledgeBase) -> list[str]:
    """The keys of the reports to browse, latest first; [""] for a base of one report."""
    return [part.key for part in reversed(kb.reports)] or [""]


def several(kb: KnowledgeBase) -> bool:
    """Whether browsing starts with the choice of report."""
    return len(kb.reports) > 1


def chapters(kb: KnowledgeBase, report: str | None = None) -> list[Chapter]:
    """A report's chapters in knowledge-base (report) order, the document's information last.

    Args:
        report: which report's, in a base of several; None: the only report's, or the latest.
    """
    if report is None:
        report = reports(kb)[0]
    grouped: dict[str, list[Section]] = {}
    for section in kb.sections():
        if section.report == report:
            grouped.setdefault(chapter_title(section.title), []).append(section)
    found = [Chapter(title, tuple(sections), report) for title, sections in grouped.items()]
    return [c for c in found if not c.is_document] + [c for c in found if c.is_document]


def chapter_label(chapter: Chapter, document_label: str) -> str:
    """A chapter as a button: 工作情况, 存在问题; `document_label` for the document's own."""
    return document_label if chapter.is_document else short_section(chapter.title)


def section_label(section: Section, chapter: Chapter, summary_label: str) -> str:
    """A section as a button inside its chapter: its own heading (加强复议机关监督职能), or
    `summary_label` (总览) for the chapter's own overview entries."""
    if section.title == chapter.title and not chapter.is_document:
        return summary_label
    return short_section(section.title)
