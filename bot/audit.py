"""Knowledge-base checks that need the matcher: phrasings that lead to the wrong entry.

A question stored under entry A that, left out of the index, matches entry B better than A is a
sign the two entries overlap or the phrasing is too vague; `kbbot kb check` warns about it.
"""

from __future__ import annotations

from bot.knowledge import Problem
from bot.matcher import Matcher


def confusable_questions(matcher: Matcher) -> list[Problem]:
    """Warnings for stored questions whose closest other entry outscores their own entry."""
    problems: list[Problem] = []
    floor = matcher.model.suggest_at
    for entry in matcher.kb.entries:
        for question in entry.questions:
            ranked = matcher.rank(question, exclude=(question,))
            if not ranked or ranked[0].entry.id == entry.id or ranked[0].confidence < floor:
                continue
            rival = ranked[0]
            own = next((c.score for c in ranked if c.entry.id == entry.id), None)
            scores = (
                f"{rival.score:.2f} > {own:.2f}"
                if own is not None
                else f"{rival.score:.2f}，本条目不在候选之列"
            )
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    f"条目 `{entry.id}` 的问法 `{question}` 更像条目 `{rival.entry.id}` 的"
                    f" `{rival.phrase}`（{scores}），请把问法写得更具体，或检查两个条目是否重复",
                    "warning",
                )
            )
    return problems
