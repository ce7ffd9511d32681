"""Citations people can quote: the section, and the document it is in.

A civil servant quoting the bot in a briefing needs more than "一、工作情况（二）": the document's
title, who issued it, when, and its number where it has one. The report's header table holds
them (bot/answering/document.py). Pure: no Telegram, no database.
"""

from __future__ import annotations

from bot.answering.document import SourceDocument


def document_line(document: SourceDocument | None) -> str:
    """《江汉区2019年法治政府建设工作报告》（江汉区政府，2020-01-25，文号：江政）, or "" without a
    report."""
    if document is None or not document.title:
        return ""
    facts = [
        document.metadata.get("发布机构", ""),
        document.metadata.get("发文日期", "").split(" ")[0],
    ]
    number = document.metadata.get("文号", "")
    if number:
        facts.append(f"文号：{number}")
    details = "，".join(fact for fact in facts if fact)
    return f"《{document.title}》" + (f"（{details}）" if details else "")


def cite(section: str, document: SourceDocument | None) -> str:
    """The section, then the document: what a reply's source line says."""
    line = document_line(document)
    return f"{section}；{line}" if line else section
