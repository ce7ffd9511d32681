"""Matching quality on every question set the project has seen, as a regression guard.

These sets are no longer blind (tests/data/README.md): the figures that count are each blind
batch's first grade, kept in the README. This test only keeps what was reached from slipping.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import Engine
from tests.grading import grade, load_set

DATA = Path(__file__).parent / "data"
SETS = [DATA / "dev_questions.yaml", *sorted((DATA / "blind").glob("batch-*.yaml"))]


@pytest.mark.parametrize("path", SETS, ids=[p.stem for p in SETS])
def test_seen_question_sets_stay_answered(shipped_engine: Engine, path: Path) -> None:
    def answer(question: str) -> tuple[bool, str]:
        reply = shipped_engine.respond(question)
        return reply.answered, reply.text

    grades = grade(load_set(path), answer)
    report = "\n".join(grades.failures)
    assert grades.answerable >= 0.90, report
    assert grades.rate("oos") >= 0.95, report
    assert grades.rate("hard_oos") >= 0.90, report
    assert grades.rate("multi") >= 0.80, report
    assert grades.wrong_share <= 0.05, report
