"""Matcher benchmark: latency and accuracy beside a naive rapidfuzz baseline, in one run.

Run from the repository root:  python tests/bench/bench_matcher.py [--set QUESTIONS.yaml]

Not collected by pytest. The machines are shared and noisy, so figures are reported as ratios
against the baseline measured in the same run (the naive matcher: rapidfuzz
`process.extractOne(question, all_questions, scorer=WRatio)` with a score cutoff), on
 1. the shipped knowledge base, and
 2. a synthetic 10,000-entry knowledge base built from the report's own vocabulary.
Accuracy uses the same rules as ../shared/eval/grade.py (answerable: answered and containing
the expected strings; out-of-scope: not answered).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from bot.config import SHIPPED_KNOWLEDGE
from bot.knowledge import Entry, KnowledgeBase, load_knowledge
from bot.matcher import Matcher, Outcome
from bot.text import to_simplified

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SET = ROOT.parent / "shared" / "eval" / "questions.yaml"
REPORT = ROOT.parent / "shared" / "seed" / "report.txt"
NAIVE_CUTOFF = 80.0  # WRatio score above which the naive matcher answers


def naive_matcher(kb: KnowledgeBase) -> Callable[[str], Entry | None]:
    choices = [q for e in kb.entries for q in e.questions]
    owners = [e for e in kb.entries for _ in e.questions]

    def answer(question: str) -> Entry | None:
        hit = process.extractOne(question, choices, scorer=fuzz.WRatio, score_cutoff=NAIVE_CUTOFF)
        return owners[hit[2]] if hit else None

    return answer


def ours(matcher: Matcher) -> Callable[[str], Entry | None]:
    def answer(question: str) -> Entry | None:
        result = matcher._match(question)  # uncached: measure the real work
        return result.best.entry if result.outcome is Outcome.ANSWER and result.best else None

    return answer


def accuracy(
    answer: Callable[[str], Entry | None], items: list[dict[str, object]]
) -> tuple[float, float]:
    right = total = rejected = oos = 0
    for item in items:
        entry = answer(str(item["q"]))
        if item["expect"] == "none":
            oos += 1
            rejected += entry is None
            continue
        if item.get("cat") == "en":
            continue
        total += 1
        text = to_simplified(entry.answer).replace(" ", "") if entry else ""
        must = [str(m) for m in item.get("must", [])]  # type: ignore[attr-defined]
        anys = [str(a) for a in item.get("any", [])]  # type: ignore[attr-defined]
        right += (
            bool(entry)
            and all(m in text for m in must)
            and (not anys or any(a in text for a in anys))
        )
    return 100.0 * right / max(total, 1), 100.0 * rejected / max(oos, 1)


def latency_us(
    answer: Callable[[str], Entry | None], questions: list[str], rounds: int
) -> list[float]:
    samples = []
    for _ in range(rounds):
        for question in questions:
            start = time.perf_counter()
            answer(question)
            samples.append((time.perf_counter() - start) * 1e6)
    return samples


def synthetic_kb(base: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    """`size` entries whose phrasings are random runs of the report's own text."""
    rng = random.Random(seed)
    text = "".join(ch for ch in REPORT.read_text(encoding="utf-8") if "\u4e00" <= ch <= "\u9fff")
    entries = list(base.entries)
    template = entries[0]
    while len(entries) < size:
        n = len(entries)
        questions = []
        for _ in range(5):
            start = rng.randrange(len(text) - 20)
            questions.append(
                text[start : start + rng.randint(5, 14)]
                + rng.choice(["是多少", "怎么样", "有哪些", ""])
            )
        entries.append(
            replace(
                template,
                id=f"synthetic-{n}",
                topic=f"合成{n}",
                questions=tuple(questions),
                keywords=(),
                related=(),
            )
        )
    return KnowledgeBase(
        entries=tuple(entries),
        synonyms=base.synonyms,
        replies=base.replies,
        fingerprint="synthetic",
    )


def report(label: str, kb: KnowledgeBase, items: list[dict[str, object]], rounds: int) -> None:
    questions = [str(item["q"]) for item in items]
    start = time.perf_counter()
    matcher = Matcher(kb)
    build_s = time.perf_counter() - start
    naive = naive_matcher(kb)
    ours_fn = ours(matcher)
    for fn in (ours_fn, naive):  # warm caches (pinyin, OpenCC) before timing
        for question in questions:
            fn(question)
    ours_t = latency_us(ours_fn, questions, rounds)
    naive_t = latency_us(naive, questions, rounds)
    ours_acc = accuracy(ours_fn, items)
    naive_acc = accuracy(naive, items)
    p = statistics.quantiles
    print(
        f"\n## {label}: {len(kb.entries)} entries, {sum(len(e.questions) for e in kb.entries)} phrasings"
    )
    print(f"index build: {build_s * 1000:.0f} ms")
    print("| matcher | p50 µs | p95 µs | mean µs | answerable right | out-of-scope rejected |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, t, acc in (("kbbot", ours_t, ours_acc), ("naive WRatio", naive_t, naive_acc)):
        q = p(t, n=20)
        print(
            f"| {name} | {q[9]:.0f} | {q[18]:.0f} | {statistics.fmean(t):.0f} | {acc[0]:.1f}% | {acc[1]:.1f}% |"
        )
    ratio = statistics.median(ours_t) / statistics.median(naive_t)
    print(f"kbbot / naive median latency: {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--synthetic", type=int, default=10_000)
    args = parser.parse_args()
    items = yaml.safe_load(args.set.read_text(encoding="utf-8"))
    kb = load_knowledge(SHIPPED_KNOWLEDGE)
    report("shipped knowledge base", kb, items, args.rounds)
    report(
        "synthetic knowledge base",
        synthetic_kb(kb, args.synthetic),
        items,
        max(1, args.rounds // 10),
    )


if __name__ == "__main__":
    main()
