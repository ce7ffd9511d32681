"""Matching quality on every question set the project has seen, as a regression guard.

These sets are no longer blind (tests/data/README.md): the figures that count are each blind
batch's first grade, kept in the README. This test only keeps what was reached from slipping.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering.engine import Engine
from tests.grading import grade, load_set

DATA = Path(__file__).parent / "data"
SETS = [DATA / "dev_questions.yaml", *sorted((DATA / "blind").glob("batch-*.yaml"))]
# Per set, the answerable share it must keep: a few points under what it reached when it was
# last measured, so noise does not fail the build but a real slip does. A new batch joins at
# the same margin under its figure after the round of work that followed its first grade.
ANSWERABLE_FLOOR = {
    "dev_questions": 0.93,
    "batch-1": 0.91,
    "batch-2": 0.90,
    "batch-3": 0.90,
    "batch-4": 0.91,
    "batch-5": 0.86,
    "batch-6": 0.90,
    "batch-7": 0.87,
    "batch-8": 0.89,
    "batch-9": 0.86,
    "batch-10": 0.82,
    "batch-11": 0.89,
    "batch-12": 0.88,
    "batch-13": 0.93,
    "batch-14": 0.90,
    "batch-15": 0.92,
    "batch-16": 0.90,
    "batch-17": 0.90,
    "batch-18": 0.91,
    "batch-19": 0.94,
    "batch-20": 0.94,
    "batch-21": 0.90,
    "batch-22": 0.90,
    "batch-23": 0.91,
    "batch-24": 0.90,
    "batch-25": 0.87,
    "batch-26": 0.93,
    "batch-27": 0.94,
    "batch-28": 0.96,
    "batch-29": 0.96,
    "batch-30": 0.95,
    "batch-31": 0.96,
    "batch-32": 0.95,
    "batch-33": 0.92,
    "batch-34": 0.94,
    "batch-35": 0.91,
    "batch-36": 0.93,
    "batch-37": 0.96,
    "batch-38": 0.95,
    "batch-39": 0.95,
    "batch-40": 0.94,
    "batch-41": 0.94,
    "batch-42": 0.95,
    "batch-43": 0.97,
    "batch-44": 0.94,
    "batch-45": 0.95,
    "batch-46": 0.94,
    "batch-47": 0.94,
    "batch-48": 0.95,
    "batch-49": 0.96,
    "batch-50": 0.95,
    "batch-51": 0.95,
}

# Sets that joined below the shared out-of-scope bar keep what they reached. (Batches 17, 20, 21
# and 25 are back at the shared bar: place names weigh as little as years, a request to write
# something is told what the bot does, and a date asked of something the report never speaks
# of, 高考分数线什么时候公布, is not its issue date.)
OUT_OF_SCOPE_FLOOR: dict[str, float] = {}
# Sets that joined with more wrong answers than the shared ceiling keep what they reached.
WRONG_CEILING: dict[str, float] = {}
# Sets whose multi-part messages stay under the shared floor (the bar is 80%) keep what they
# reached. Batch 46: two questions, each with its mark, where one part only gets suggestions
# (原法治办的职能划给了谁？…), and 是按哪个办法管理的 read without the subject of the first part.
MULTI_FLOOR = {"batch-46": 0.84}


def test_every_seen_set_has_a_floor() -> None:
    assert {path.stem for path in SETS} == set(ANSWERABLE_FLOOR)


@pytest.mark.parametrize("path", SETS, ids=[p.stem for p in SETS])
def test_seen_question_sets_stay_answered(shipped_engine: Engine, path: Path) -> None:
    def answer(question: str) -> tuple[bool, str]:
        reply = shipped_engine.respond(question)
        return reply.answered, reply.text

    grades = grade(load_set(path), answer)
    report = "\n".join(grades.failures)
    assert grades.answerable >= ANSWERABLE_FLOOR[path.stem], report
    assert grades.rate("oos") >= OUT_OF_SCOPE_FLOOR.get(path.stem, 0.95), report
    assert grades.rate("hard_oos") >= 0.90, report
    assert grades.rate("multi") >= MULTI_FLOOR.get(path.stem, 0.90), report
    assert grades.wrong_share <= WRONG_CEILING.get(path.stem, 0.035), report
