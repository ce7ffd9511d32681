"""Which of several reports a question is about.

A knowledge base may hold one report per year side by side (knowledge/2020/...). A question
that names a year goes to that year's report; one that names a year only another report speaks
of (那2018年呢, when the 2019 report gives 2018 as a comparison) goes to that report; a
follow-up stays with the report its question was answered from; anything else goes to the
latest. The engine says which report it answered from whenever the question did not name it.
Pure: no Telegram, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class How(StrEnum):
    """How the report was chosen, which decides what the reply says about it."""

    NAMED = "named"  # the question names the report's year
    MENTIONED = "mentioned"  # it names a year only this report speaks of (较2018年)
    CONTEXT = "context"  # a follow-up on a question answered from this report
    LATEST = "latest"  # it names none: the latest report
    FALLBACK = "fallback"  # the latest had no answer, an older report has


@dataclass(frozen=True)
class Candidate:
    """What the choice reads of one report."""

    key: str
    year: int
    mentions: frozenset[int]  # every year its text names, its own included


@dataclass(frozen=True)
class Choice:
    index: int  # into the reports, oldest first
    how: How


def choose(
    reports: Sequence[Candidate], asked: frozenset[int], context: str | None = None
) -> Choice:
    """The report for a question naming the years `asked`.

    Args:
        reports: the reports, oldest first (at least one).
        asked: the years the question names (bot.answering.constraints.years_in).
        context: the key of the report the previous question was answered from, when this
            message may follow up on it.

    The latest of the named years wins (a comparison is stated in the later year's report:
    2020年比2019年增加多少 is the 2020 report's).
    """
    own = [n for n, report in enumerate(reports) if report.year in asked]
    if own:
        return Choice(own[-1], How.NAMED)
    mentioned = [n for n, report in enumerate(reports) if asked & report.mentions]
    if mentioned:
        return Choice(mentioned[-1], How.MENTIONED)
    followed = [n for n, report in enumerate(reports) if context and report.key == context]
    if followed:
        return Choice(followed[0], How.CONTEXT)
    return Choice(len(reports) - 1, How.LATEST)
