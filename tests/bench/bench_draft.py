"""The drafted knowledge base against the hand-written one, on the same blind batches, in one run.

Run from the repository root:  python tests/bench/bench_draft.py [--template knowledge]

Drafts a base from knowledge/report.txt with `kbbot kb draft`'s code (bot/authoring/draft.py), untouched,
into a temporary folder, then grades it and the shipped hand-written base on every batch in
tests/data/blind with the shared grader's rules (tests/grading.py). Prints, per base: answerable
questions right (direct, para, typo, trad, kw), out-of-scope rejected, wrong answers of all
questions, and the draft's ratio to the hand-written base. The batches were written blind but
have since been used to improve the hand-written base: its figures here are memory as much as
matching, which flatters it, not the draft.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.answering.engine import Engine  # noqa: E402
from bot.authoring.draft import write_draft  # noqa: E402
from bot.config import SHIPPED_KNOWLEDGE  # noqa: E402
from tests.grading import ANSWERABLE, Grades, grade, load_set  # noqa: E402

BLIND = sorted((ROOT / "tests" / "data" / "blind").glob("batch-*.yaml"))


def graded(engine: Engine) -> list[Grades]:
    return [
        grade(load_set(path), lambda q: (lambda r: (r.answered, r.text))(engine.respond(q)))
        for path in BLIND
    ]


def totals(grades: list[Grades]) -> tuple[int, int, int, int, int, int]:
    right = sum(g.right[c] for g in grades for c in ANSWERABLE)
    answerable = sum(g.total[c] for g in grades for c in ANSWERABLE)
    rejected = sum(g.right[c] for g in grades for c in ("oos", "hard_oos"))
    outside = sum(g.total[c] for g in grades for c in ("oos", "hard_oos"))
    wrong = sum(g.wrong for g in grades)
    questions = sum(sum(g.total.values()) for g in grades)
    return right, answerable, rejected, outside, wrong, questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=SHIPPED_KNOWLEDGE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "draft"
        started = time.perf_counter()
        write_draft(args.template / "report.txt", out, args.template)
        drafted = time.perf_counter() - started
        draft = Engine.from_directory(out)
        hand = Engine.from_directory(args.template)
        print(f"drafted {len(draft.kb.entries)} entries in {drafted:.2f} s; {len(BLIND)} batches")
        rows = {"hand-written": totals(graded(hand)), "draft, untouched": totals(graded(draft))}
    print("| base | answerable right | out-of-scope rejected | wrong answers (of all) |")
    print("| --- | --- | --- | --- |")
    for name, (right, answerable, rejected, outside, wrong, questions) in rows.items():
        print(
            f"| {name} | {right / answerable:.1%} ({right}/{answerable}) "
            f"| {rejected / outside:.1%} ({rejected}/{outside}) "
            f"| {wrong / questions:.1%} ({wrong}/{questions}) |"
        )
    hand_right, draft_right = rows["hand-written"][0], rows["draft, untouched"][0]
    print(f"draft / hand-written, answerable right: {draft_right / hand_right:.2f}")


if __name__ == "__main__":
    main()
