"""Matcher benchmark: kbbot beside two baselines, latency and accuracy, in one run.

Run from the repository root, with the `bench` extra installed (`pip install -e '.[bench]'`):

    python tests/bench/bench_matcher.py [--set QUESTIONS.yaml ...] [--rounds N] [--synthetic N]

`--set` may be given several times; by default ../shared/eval/questions.yaml and
tests/data/dev_questions.yaml. Not collected by pytest.

The machines are shared and noisy, so latency is reported as a ratio against the naive baseline
measured in the same run, and the matchers are timed interleaved, question by question (the
order rotating), so that a burst of load on the machine hits them all alike. The matchers:

kbbot
    Accuracy through the full engine, `Engine.respond` (it splits multi-part questions, quotes
    report sentences and checks constraints): `reply.answered` and `reply.text`. Latency of the
    bare matcher (`Matcher._match`, uncached) and of `Engine.respond` with the match caches of
    both its matchers (`engine.matcher`, `engine.passages.matcher`) cleared before each question.
naive WRatio
    rapidfuzz `process.extractOne(question, all_questions, scorer=WRatio)`, answering above 80.
jieba + BM25
    The usual baseline for Chinese retrieval. Each entry is one document: the words of its
    questions, keywords, topic, answer and passage, cut by `jieba.lcut` (default dictionary,
    punctuation dropped, latin lower-cased; no synonyms, no traditional -> simplified), indexed by
    `rank_bm25.BM25Okapi` (k1=1.5, b=0.75). It answers with the top entry when that entry's score
    reaches the cut-off.

    The cut-off is a leave-one-out percentile that never looks at the evaluation questions: each
    stored question of the shipped entries is asked with itself taken out of its entry's
    document, and the cut-off is the 10th percentile (`BM25_LOO_PERCENTILE`) of the scores they
    then reach for their own entry, i.e. the score that 90% of the stored questions still reach
    when they are not stored verbatim. It is computed afresh in each index (idf and lengths
    differ), but on the synthetic base still from the shipped entries' questions: a synthetic
    entry's questions are unrelated runs of text, most share no word with the rest of their
    entry, and would put the cut-off at 0. Taking a question out changes its entry's term counts
    and length and the corpus's average length, all accounted for; idf is kept, which is exact
    for every word that still scores (it is still in the document), except for the floor
    BM25Okapi gives words found in more than half of the documents.

    Questions are scored from postings built from the BM25Okapi's own statistics (the same
    scores as `get_scores`, checked on every question before timing), because `get_scores`
    visits every document in Python per query word; its latency is printed too, for reference.
    jieba's dictionary is loaded once before anything is built or timed.

The knowledge bases:
 1. the shipped one, and
 2. a synthetic one of 10,000 entries: the shipped entries and the report, plus entries whose
    questions are random runs of the report's own text and whose answer and passage are a longer
    run of it (each entry its own, so no text is repeated thousands of times), five entries to a
    section like the shipped base.

Accuracy follows ../shared/eval/grade.py: an answerable question (categories direct, para, typo,
trad, kw; `en` is left out) is right when answered and the answer contains every `must` string
and one `any` string, after traditional -> simplified conversion and whitespace removal; an
out-of-scope question (oos; hard_oos reported apart) is right when not answered; `multi` is
reported apart when a set has it; wrong answers are answered-but-not-right, of all questions.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import jieba
import numpy as np
import yaml
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process

from bot.answering.engine import Engine
from bot.answering.knowledge import Entry, KnowledgeBase, load_knowledge
from bot.answering.text import to_simplified
from bot.config import SHIPPED_KNOWLEDGE

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SETS = (
    ROOT.parent / "shared" / "eval" / "questions.yaml",
    ROOT / "tests" / "data" / "dev_questions.yaml",
)
REPORT = ROOT.parent / "shared" / "seed" / "report.txt"
NAIVE_CUTOFF = 80.0  # WRatio score above which the naive matcher answers
BM25_LOO_PERCENTILE = 10.0  # of the stored questions' leave-one-out scores for their own entry
ANSWERABLE = ("direct", "para", "typo", "trad", "kw")  # as ../shared/eval/grade.py

Item = dict[str, object]
Answerer = Callable[[str], tuple[bool, str]]  # question -> (answered, reply text)


# --- grading ------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", to_simplified(text))


def _strings(item: Item, key: str) -> list[str]:
    values = item.get(key) or []
    assert isinstance(values, list), f"{key} of {item['q']!r} is not a list"
    return [_norm(str(value)) for value in values]


def passes(item: Item, answered: bool, text: str) -> bool:
    """Whether one reply is right, by the rules of ../shared/eval/grade.py."""
    if item["expect"] == "none":
        return not answered
    body = _norm(text)
    anys = _strings(item, "any")
    return (
        answered
        and all(m in body for m in _strings(item, "must"))
        and (not anys or any(a in body for a in anys))
    )


@dataclass
class Tally:
    """Right / total per category, and the confident wrong answers among all questions."""

    by_cat: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    wrong: int = 0
    total: int = 0

    def add(self, item: Item, answered: bool, text: str) -> None:
        ok = passes(item, answered, text)
        cat = str(item.get("cat", "direct"))
        self.by_cat[cat][0] += ok
        self.by_cat[cat][1] += 1
        self.wrong += answered and not ok
        self.total += 1

    def rate(self, cats: Sequence[str]) -> str:
        right = sum(self.by_cat[c][0] for c in cats if c in self.by_cat)
        total = sum(self.by_cat[c][1] for c in cats if c in self.by_cat)
        return f"{100.0 * right / total:.1f}%" if total else "—"

    def wrong_rate(self) -> str:
        return f"{100.0 * self.wrong / self.total:.1f}%" if self.total else "—"


def tally(items: list[Item], replies: list[tuple[bool, str]]) -> Tally:
    result = Tally()
    for item, (answered, text) in zip(items, replies, strict=True):
        result.add(item, answered, text)
    return result


# --- the baselines ------------------------------------------------------------------------------


def naive_matcher(kb: KnowledgeBase) -> Callable[[str], Entry | None]:
    choices = [q for e in kb.entries for q in e.questions]
    owners = [e for e in kb.entries for _ in e.questions]

    def answer(question: str) -> Entry | None:
        hit = process.extractOne(question, choices, scorer=fuzz.WRatio, score_cutoff=NAIVE_CUTOFF)
        return owners[hit[2]] if hit else None

    return answer


def words(text: str) -> list[str]:
    """jieba's words of `text`, punctuation and spaces dropped, latin lower-cased."""
    return [w.lower() for w in jieba.lcut(text) if any(ch.isalnum() for ch in w)]


class BM25Baseline:
    """jieba + BM25Okapi over whole entries, answering above a leave-one-out cut-off."""

    def __init__(
        self,
        kb: KnowledgeBase,
        calibrate_on: Collection[str] | None = None,
        percentile: float = BM25_LOO_PERCENTILE,
    ) -> None:
        """Index `kb`; the cut-off is calibrated on the stored questions of the entries whose
        ids are in `calibrate_on` (all entries when None)."""
        self.entries = kb.entries
        documents: list[list[str]] = []
        held_out: list[tuple[int, list[str]]] = []
        for index, entry in enumerate(kb.entries):
            asked = [words(q) for q in entry.questions]
            rest = [words(t) for t in (*entry.keywords, entry.topic, entry.answer, *entry.passage)]
            documents.append([w for ws in (*asked, *rest) for w in ws])
            if calibrate_on is None or entry.id in calibrate_on:
                held_out += [(index, ws) for ws in asked if ws]
        self.bm25 = bm25 = BM25Okapi(documents)
        k1, b = bm25.k1, bm25.b
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc, (freqs, length) in enumerate(zip(bm25.doc_freqs, bm25.doc_len, strict=True)):
            damping = k1 * (1 - b + b * length / bm25.avgdl)
            for word, freq in freqs.items():
                docs, weights = postings.setdefault(word, ([], []))
                docs.append(doc)
                weights.append(bm25.idf[word] * freq * (k1 + 1) / (freq + damping))
        self._postings = {
            word: (np.array(docs, dtype=np.intp), np.array(weights))
            for word, (docs, weights) in postings.items()
        }
        self.held_out_scores = [self._held_out_score(i, ws) for i, ws in held_out]
        self.cutoff = float(np.percentile(self.held_out_scores, percentile))

    def _held_out_score(self, doc: int, asked: list[str]) -> float:
        """The score `asked` reaches for document `doc` once `asked` is taken out of it."""
        bm25 = self.bm25
        k1, b = bm25.k1, bm25.b
        removed = Counter(asked)
        avgdl = bm25.avgdl - len(asked) / bm25.corpus_size
        damping = k1 * (1 - b + b * (bm25.doc_len[doc] - len(asked)) / avgdl)
        score = 0.0
        for word in asked:
            freq = bm25.doc_freqs[doc].get(word, 0) - removed[word]
            if freq:
                score += bm25.idf[word] * freq * (k1 + 1) / (freq + damping)
        return score

    def scores(self, question: str) -> np.ndarray:
        result = np.zeros(len(self.entries))
        for word in words(question):
            hit = self._postings.get(word)
            if hit is not None:
                result[hit[0]] += hit[1]
        return result

    def _decide(self, scores: np.ndarray) -> Entry | None:
        best = int(scores.argmax()) if len(scores) else 0
        if len(scores) and scores[best] > 0 and scores[best] >= self.cutoff:
            return self.entries[best]
        return None

    def answer(self, question: str) -> Entry | None:
        return self._decide(self.scores(question))

    def answer_reference(self, question: str) -> Entry | None:
        """The same answer, scored by rank_bm25's own `get_scores` (every document visited)."""
        return self._decide(self.bm25.get_scores(words(question)))

    def check(self, questions: Sequence[str]) -> None:
        for question in questions:
            ours, theirs = self.scores(question), self.bm25.get_scores(words(question))
            assert np.allclose(ours, theirs), f"BM25 postings disagree with get_scores: {question}"


def entry_answerer(find: Callable[[str], Entry | None]) -> Answerer:
    def answer(question: str) -> tuple[bool, str]:
        entry = find(question)
        return (entry is not None, entry.answer if entry is not None else "")

    return answer


# --- the synthetic knowledge base ---------------------------------------------------------------


def synthetic_kb(base: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    """`size` entries: `base`'s own, then entries whose phrasings are random runs of the report's
    text and whose answer and passage are a longer run of it, in sections as large as `base`'s
    on average (a section shared by thousands of entries is no knowledge base anyone writes, and
    the matcher's build time grows with entries × section size)."""
    per_section = max(1, round(len(base.entries) / max(len(base.sections()), 1)))
    rng = random.Random(seed)
    texts = random.Random(seed + 1)  # apart, so the questions stay those of earlier runs
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
        start = texts.randrange(len(text) - 60)
        passage = text[start : start + texts.randint(20, 60)]
        entries.append(
            replace(
                template,
                id=f"synthetic-{n}",
                topic=f"合成{n}",
                source=f"合成章节{(n - len(base.entries)) // per_section}",
                questions=tuple(questions),
                answer=passage,
                passage=(passage,),
                keywords=(),
                related=(),
            )
        )
    return KnowledgeBase(
        entries=tuple(entries),
        synonyms=base.synonyms,
        replies=base.replies,
        fingerprint="synthetic",
        document=base.document,
    )


# --- timing and the report ----------------------------------------------------------------------


@dataclass(frozen=True)
class Timed:
    name: str
    call: Callable[[str], object]
    reset: Callable[[], None] | None = None  # run before each call, outside the timing


def time_interleaved(
    contenders: list[Timed], questions: list[str], rounds: int
) -> dict[str, list[float]]:
    """Microseconds per call for each contender, question by question in rotating order."""
    samples: dict[str, list[float]] = {c.name: [] for c in contenders}
    order = list(contenders)
    for _ in range(rounds):
        for question in questions:
            for contender in order:
                if contender.reset is not None:
                    contender.reset()
                start = time.perf_counter()
                contender.call(question)
                samples[contender.name].append((time.perf_counter() - start) * 1e6)
            order = order[1:] + order[:1]
    return samples


def fmt_us(us: float) -> str:
    return f"{us:.0f} µs" if us < 1000 else f"{us / 1000:.1f} ms"


def quantiles(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=20)
    return q[9], q[18]


def label(path: Path) -> str:
    return os.path.relpath(path, ROOT)


@dataclass
class KbResult:
    """What one knowledge base's run found, for the summary table."""

    label: str
    times: dict[str, list[float]]
    tallies: dict[str, Tally]  # per matcher, all sets together


KBBOT_ENGINE = "kbbot `Engine.respond`"
KBBOT_MATCHER = "kbbot `Matcher._match`"
BM25 = "jieba + BM25"
BM25_REFERENCE = "jieba + BM25 via rank_bm25 `get_scores`"
NAIVE = "naive WRatio"


def run_kb(
    title: str,
    kb: KnowledgeBase,
    sets: dict[str, list[Item]],
    rounds: int,
    multi: bool,
    calibrate_on: Collection[str],
) -> KbResult:
    items = [item for set_items in sets.values() for item in set_items]
    questions = [str(item["q"]) for item in items]

    start = time.perf_counter()
    engine = Engine(kb)
    engine_s = time.perf_counter() - start
    start = time.perf_counter()
    bm25 = BM25Baseline(kb, calibrate_on)
    bm25_s = time.perf_counter() - start
    bm25.check(questions)
    naive = naive_matcher(kb)

    def clear_caches() -> None:
        engine.matcher._cached_match.cache_clear()
        if engine.passages.matcher is not None:
            engine.passages.matcher._cached_match.cache_clear()

    contenders = [
        Timed(KBBOT_MATCHER, engine.matcher._match),
        Timed(KBBOT_ENGINE, engine.respond, clear_caches),
        Timed(BM25, bm25.answer),
        Timed(BM25_REFERENCE, bm25.answer_reference),
        Timed(NAIVE, naive),
    ]
    for contender in contenders:  # warm caches (pinyin, OpenCC) before timing
        for question in questions:
            contender.call(question)
    times = time_interleaved(contenders, questions, rounds)

    def kbbot(question: str) -> tuple[bool, str]:
        reply = engine.respond(question)
        return reply.answered, reply.text

    answerers: dict[str, Answerer] = {
        KBBOT_ENGINE: kbbot,
        BM25: entry_answerer(bm25.answer),
        NAIVE: entry_answerer(naive),
    }
    replies = {
        name: [answer(question) for question in questions] for name, answer in answerers.items()
    }
    per_set: dict[str, dict[str, Tally]] = defaultdict(dict)
    offset = 0
    for path, set_items in sets.items():
        for name in answerers:
            per_set[name][path] = tally(set_items, replies[name][offset : offset + len(set_items)])
        offset += len(set_items)
    pooled = {name: tally(items, replies[name]) for name in answerers}

    stored = sum(len(e.questions) for e in kb.entries)
    print(f"\n## {title}: {len(kb.entries)} entries, {stored} phrasings")
    print(
        f"build: kbbot engine {engine_s:.2f} s; jieba + BM25 index and cut-off {bm25_s:.2f} s. "
        f"BM25 cut-off {bm25.cutoff:.2f}: the {BM25_LOO_PERCENTILE:g}th percentile of "
        f"{len(bm25.held_out_scores)} shipped entries' stored questions' leave-one-out scores "
        "for their own entry."
    )
    print(
        f"\nLatency per question, uncached: {len(questions)} questions × {rounds} rounds, "
        "timed interleaved; ratios against the naive baseline in this run."
    )
    print("| matcher | p50 | p95 | mean | p50 / naive p50 | p95 / naive p95 |")
    print("| --- | --- | --- | --- | --- | --- |")
    naive_p50, naive_p95 = quantiles(times[NAIVE])
    for contender in contenders:
        t = times[contender.name]
        p50, p95 = quantiles(t)
        print(
            f"| {contender.name} | {fmt_us(p50)} | {fmt_us(p95)} | {fmt_us(statistics.fmean(t))} "
            f"| {p50 / naive_p50:.2f}× | {p95 / naive_p95:.2f}× |"
        )
    for path, set_items in sets.items():
        print(f"\nAccuracy on {path} ({len(set_items)} questions):")
        print(accuracy_header(multi, first="matcher"))
        for name in answerers:
            print(f"| {name} | {accuracy_cells(per_set[name][path], multi)} |")
    return KbResult(
        f"{title.split()[0]} ({len(kb.entries):,} entries, {stored:,} phrasings)", times, pooled
    )


def accuracy_header(multi: bool, first: str) -> str:
    columns = [first, "answerable right", "out-of-scope rejected", "hard out-of-scope rejected"]
    columns += ["multi right"] if multi else []
    columns += ["wrong answers (of all)"]
    return "| " + " | ".join(columns) + " |\n|" + " --- |" * len(columns)


def accuracy_cells(result: Tally | None, multi: bool) -> str:
    if result is None:
        return " | ".join(["—"] * (5 if multi else 4))
    cells = [result.rate(ANSWERABLE), result.rate(["oos"]), result.rate(["hard_oos"])]
    cells += [result.rate(["multi"])] if multi else []
    cells += [result.wrong_rate()]
    return " | ".join(cells)


def summary(results: list[KbResult], set_names: list[str], multi: bool) -> None:
    print(f"\n## Summary (accuracy on all sets together: {', '.join(set_names)})")
    header = accuracy_header(multi, first="knowledge base").split("\n")
    columns = header[0].removeprefix("| knowledge base | ")
    print(f"| knowledge base | matcher | p50 | p95 | p50 / naive p50 | {columns}")
    print("|" + " --- |" * (header[1].count("---") + 4))
    for result in results:
        naive_p50, _ = quantiles(result.times[NAIVE])
        for name in (KBBOT_ENGINE, KBBOT_MATCHER, BM25, NAIVE):
            p50, p95 = quantiles(result.times[name])
            print(
                f"| {result.label} | {name} | {fmt_us(p50)} | {fmt_us(p95)} "
                f"| {p50 / naive_p50:.2f}× | {accuracy_cells(result.tallies.get(name), multi)} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", type=Path, action="append", help="a question set (repeatable); default: both"
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--synthetic", type=int, default=10_000)
    args = parser.parse_args()
    paths: list[Path] = args.set or list(DEFAULT_SETS)
    sets = {label(path): yaml.safe_load(path.read_text(encoding="utf-8")) for path in paths}
    multi = any(item.get("cat") == "multi" for items in sets.values() for item in items)

    jieba.setLogLevel(logging.WARNING)
    start = time.perf_counter()
    jieba.initialize()  # the dictionary load, once: not part of any question's latency
    print(f"jieba dictionary loaded in {time.perf_counter() - start:.2f} s (once, before timing)")

    kb = load_knowledge(SHIPPED_KNOWLEDGE)
    synthetic = synthetic_kb(kb, args.synthetic)
    shipped = frozenset(entry.id for entry in kb.entries)
    results = [
        run_kb("shipped knowledge base", kb, sets, args.rounds, multi, shipped),
        run_kb(
            "synthetic knowledge base", synthetic, sets, max(1, args.rounds // 10), multi, shipped
        ),
    ]
    summary(results, list(sets), multi)


if __name__ == "__main__":
    main()
