"""Retrieval and scoring of questions against the knowledge base.

Chinese has no spaces, so rapidfuzz's token scorers would see a whole sentence as one token.
Instead, text is split into characters (latin words and numbers stay whole) and compared by
*coverage*: a character of the question counts as covered by a stored phrasing when a bigram
containing it appears there too, exactly or as the same (folded) pinyin, which is how homophone
typos from pinyin input are forgiven. Each character weighs its inverse document frequency in
the knowledge base, so covering 复议 matters far more than covering 的/有, and characters the
knowledge base has never seen (汉阳, 护照, 天气) weigh the most: a question about something the
report does not mention cannot reach the answer threshold. rapidfuzz's `ratio` adds a bonus
for phrasings that also agree in order.

Pure: no Telegram, no database. Built once per knowledge base; a query touches only the
phrasings that share a bigram with it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise

from rapidfuzz import fuzz

from bot.knowledge import Entry, KnowledgeBase
from bot.text import Normaliser, fuzzy_pinyin, is_cjk, tokens


@dataclass(frozen=True)
class Thresholds:
    """Every number that decides an outcome, in one place.

    A wrong confident answer is worse than a suggestion, so `answer` also needs a `margin` over
    the runner-up entry unless the match is `sure`.
    """

    answer: float = 0.66
    sure: float = 0.85
    margin: float = 0.05
    suggest: float = 0.42
    suggest_window: float = 0.25
    max_suggestions: int = 3
    pinyin_credit: float = 0.8
    answer_text_credit: float = 0.85
    candidate_phrases: int = 48


class Outcome(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    NONE = "none"


@dataclass(frozen=True)
class Candidate:
    """One entry's best showing for a query, with what produced the score (for /why)."""

    entry: Entry
    score: float
    phrase: str
    query_coverage: float
    phrase_coverage: float
    similarity: float


@dataclass(frozen=True)
class MatchResult:
    question: str
    normalised: str
    outcome: Outcome
    candidates: tuple[Candidate, ...]
    reason: str

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        return self.candidates if self.outcome is Outcome.SUGGEST else ()


@dataclass(frozen=True)
class _Text:
    """A normalised text cut into what the scorer compares."""

    norm: str
    toks: tuple[str, ...]
    bigrams: frozenset[str]
    pinyin_bigrams: frozenset[str]

    @classmethod
    def of(cls, norm: str) -> _Text:
        toks = tuple(tokens(norm))
        grams, pinyin_grams = _grams(toks)
        return cls(norm, toks, frozenset(grams), frozenset(pinyin_grams))


@dataclass(frozen=True)
class _Phrase:
    entry_index: int
    raw: str
    text: _Text


@dataclass
class _EntryIndex:
    text: _Text  # questions, keywords and topic together
    answer: _Text


def _pinyin(toks: Sequence[str]) -> tuple[str, ...]:
    return tuple(fuzzy_pinyin(t) for t in toks)


def _grams(toks: Sequence[str]) -> tuple[list[str], list[str]]:
    """Bigrams of `toks` and the same bigrams in folded pinyin, position for position."""
    pinyin = _pinyin(toks)
    if len(toks) == 1:
        return [toks[0]], [pinyin[0]]
    grams = [f"{a}\x1f{b}" for a, b in pairwise(toks)]
    pinyin_grams = [f"{a}\x1f{b}" for a, b in pairwise(pinyin)]
    # Numbers and latin words also stand alone: "92.3%" is meaningful without its neighbours.
    singles = [t for t in toks if not is_cjk(t)]
    return grams + singles, pinyin_grams + singles


@dataclass
class Matcher:
    """Answers "which entry is this question asking for, and how sure are we?"."""

    kb: KnowledgeBase
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        self.normalise = Normaliser(self.kb.synonyms)
        self._phrases: list[_Phrase] = []
        self._entries: list[_EntryIndex] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._pinyin_postings: dict[str, list[int]] = defaultdict(list)
        char_df: dict[str, int] = defaultdict(int)
        pinyin_df: dict[str, int] = defaultdict(int)
        for index, entry in enumerate(self.kb.entries):
            texts = [*entry.questions, *entry.keywords, entry.topic]
            normalised = [self.normalise(t) for t in texts]
            for raw, norm in zip(texts, normalised, strict=True):
                if norm:
                    self._add_phrase(_Phrase(index, raw, _Text.of(norm)))
            entry_text = _Text.of(" ".join(n for n in normalised if n))
            answer = _Text.of(self.normalise(entry.answer))
            self._entries.append(_EntryIndex(entry_text, answer))
            for tok in {*entry_text.toks, *answer.toks}:
                char_df[tok] += 1
            for syllable in {*_pinyin(entry_text.toks), *_pinyin(answer.toks)}:
                pinyin_df[syllable] += 1
        total = max(len(self.kb.entries), 1)
        self._char_idf = {t: math.log(1 + total / df) for t, df in char_df.items()}
        self._pinyin_idf = {t: math.log(1 + total / df) for t, df in pinyin_df.items()}
        self._unknown_idf = math.log(1 + 2 * total)
        self._cached_match = lru_cache(maxsize=4096)(self._match)

    def _add_phrase(self, phrase: _Phrase) -> None:
        number = len(self._phrases)
        self._phrases.append(phrase)
        for gram in phrase.text.bigrams:
            self._postings[gram].append(number)
        for gram in phrase.text.pinyin_bigrams:
            self._pinyin_postings[gram].append(number)

    # --- public API --------------------------------------------------------------------------

    def match(self, question: str) -> MatchResult:
        """Score `question` against every entry and decide answer / suggest / none."""
        return self._cached_match(question)

    def rank(self, question: str, *, exclude_phrase: str | None = None) -> list[Candidate]:
        """All entries that share anything with `question`, best first.

        `exclude_phrase` leaves one stored phrasing out: `kb check` uses it to ask whether a
        question would still find its own entry if it were not stored verbatim.
        """
        query = _Text.of(self.normalise(question))
        return self._rank(query, exclude_phrase)

    # --- scoring -----------------------------------------------------------------------------

    def _match(self, question: str) -> MatchResult:
        norm = self.normalise(question)
        if not norm:
            return MatchResult(question, norm, Outcome.NONE, (), "问题里没有可以匹配的文字")
        ranked = self._rank(_Text.of(norm), None)
        return self._decide(question, norm, ranked)

    def _weight(self, tok: str) -> float:
        weight = self._char_idf.get(tok)
        if weight is None:
            weight = (
                self._pinyin_idf.get(fuzzy_pinyin(tok), self._unknown_idf) if is_cjk(tok) else None
            )
        return self._unknown_idf if weight is None else weight

    def _coverage(self, query: _Text, target: _Text, weights: Sequence[float]) -> float:
        """Share of `query`'s weight whose characters `target` covers (exactly or by pinyin)."""
        toks = query.toks
        if not toks:
            return 0.0
        total = sum(weights)
        if total <= 0:
            return 0.0
        if len(toks) == 1:
            tok = toks[0]
            if tok in target.toks:
                return 1.0
            if fuzzy_pinyin(tok) in _pinyin(target.toks):
                return self.thresholds.pinyin_credit
            return 0.0
        pinyin = _pinyin(toks)
        credit = [0.0] * len(toks)
        for i in range(len(toks) - 1):
            gram = f"{toks[i]}\x1f{toks[i + 1]}"
            if gram in target.bigrams:
                value = 1.0
            elif f"{pinyin[i]}\x1f{pinyin[i + 1]}" in target.pinyin_bigrams:
                value = self.thresholds.pinyin_credit
            else:
                continue
            credit[i] = max(credit[i], value)
            credit[i + 1] = max(credit[i + 1], value)
        for i, tok in enumerate(toks):
            if not is_cjk(tok) and tok in target.bigrams:
                credit[i] = 1.0
        return sum(c * w for c, w in zip(credit, weights, strict=True)) / total

    def _rank(self, query: _Text, exclude_phrase: str | None) -> list[Candidate]:
        if not query.toks:
            return []
        limits = self.thresholds
        grams, pinyin_grams = _grams(query.toks)
        hits: dict[int, float] = defaultdict(float)
        for gram, pinyin_gram in zip(grams, pinyin_grams, strict=True):
            exact = self._postings.get(gram, ())
            for number in exact:
                hits[number] += 1.0
            for number in self._pinyin_postings.get(pinyin_gram, ()):
                hits[number] += limits.pinyin_credit * 0.5
        if not hits:
            return []
        shortlist = sorted(hits, key=hits.__getitem__, reverse=True)[: limits.candidate_phrases]
        weights = [self._weight(t) for t in query.toks]
        best: dict[int, Candidate] = {}
        for number in shortlist:
            phrase = self._phrases[number]
            if exclude_phrase is not None and phrase.raw == exclude_phrase:
                continue
            candidate = self._score(query, weights, phrase)
            current = best.get(phrase.entry_index)
            if current is None or candidate.score > current.score:
                best[phrase.entry_index] = candidate
        return sorted(best.values(), key=lambda c: c.score, reverse=True)

    def _score(self, query: _Text, weights: Sequence[float], phrase: _Phrase) -> Candidate:
        limits = self.thresholds
        entry_index = self._entries[phrase.entry_index]
        covered_by_phrase = self._coverage(query, phrase.text, weights)
        # Words of the question may be spread over several phrasings, or appear only in the answer
        # (a law firm's name, say); the entry as a whole can cover what one phrasing does not.
        covered_by_entry = max(
            self._coverage(query, entry_index.text, weights),
            limits.answer_text_credit * self._coverage(query, entry_index.answer, weights),
        )
        query_coverage = max(covered_by_phrase, 0.9 * covered_by_entry)
        phrase_weights = [self._weight(t) for t in phrase.text.toks]
        phrase_coverage = self._coverage(phrase.text, query, phrase_weights)
        similarity = fuzz.ratio(query.norm, phrase.text.norm) / 100.0
        score = query_coverage**1.5 * (0.55 + 0.3 * phrase_coverage + 0.15 * similarity)
        return Candidate(
            entry=self.kb.entries[phrase.entry_index],
            score=round(min(score, 1.0), 4),
            phrase=phrase.raw,
            query_coverage=round(query_coverage, 4),
            phrase_coverage=round(phrase_coverage, 4),
            similarity=round(similarity, 4),
        )

    def _decide(self, question: str, norm: str, ranked: list[Candidate]) -> MatchResult:
        limits = self.thresholds
        if not ranked:
            return MatchResult(question, norm, Outcome.NONE, (), "没有任何条目与问题有共同的词")
        best = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        if best.score >= limits.answer and (
            best.score >= limits.sure or best.score - runner_up >= limits.margin
        ):
            reason = (
                f"最高分 {best.score:.2f} ≥ 回答阈值 {limits.answer:.2f}，"
                f"领先第二名 {best.score - runner_up:.2f}"
            )
            return MatchResult(question, norm, Outcome.ANSWER, (best,), reason)
        if best.score >= limits.suggest:
            floor = max(limits.suggest, best.score - limits.suggest_window)
            picks = tuple(c for c in ranked if c.score >= floor)[: limits.max_suggestions]
            if best.score >= limits.answer:
                reason = (
                    f"最高分 {best.score:.2f} 达到回答阈值，但与第二名只差 "
                    f"{best.score - runner_up:.2f}（< {limits.margin:.2f}），改为给出建议"
                )
            else:
                reason = (
                    f"最高分 {best.score:.2f} 低于回答阈值 {limits.answer:.2f}，"
                    f"但高于建议阈值 {limits.suggest:.2f}"
                )
            return MatchResult(question, norm, Outcome.SUGGEST, picks, reason)
        reason = f"最高分 {best.score:.2f} 低于建议阈值 {limits.suggest:.2f}"
        return MatchResult(question, norm, Outcome.NONE, tuple(ranked[:3]), reason)
