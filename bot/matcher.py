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

import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise

from rapidfuzz import fuzz

from bot.knowledge import Entry, KnowledgeBase
from bot.text import Normaliser, fuzzy_pinyin, is_cjk, question_word_mask, tokens


@dataclass(frozen=True)
class Thresholds:
    """Every number that decides an outcome, in one place.

    A wrong confident answer is worse than a suggestion, so `answer` also needs a `margin` over
    the runner-up entry unless the match is `sure`. A somewhat weaker match still answers when
    it stands far clear of every other entry (`clear_answer` with `clear_margin`): one stray
    word the knowledge base lacks should not hide an otherwise unambiguous answer, while
    questions about things the report does not cover stay below `clear_answer`.
    """

    answer: float = 0.66
    sure: float = 0.85
    margin: float = 0.05
    clear_answer: float = 0.55
    clear_margin: float = 0.2
    suggest: float = 0.42
    suggest_window: float = 0.25
    max_suggestions: int = 3
    pinyin_credit: float = 0.8
    answer_text_credit: float = 0.5
    entry_credit: float = 0.9
    candidate_phrases: int = 20
    phrases_per_entry: int = 3
    stop_gram_share: float = 0.05
    stop_gram_floor: int = 200


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
    """A normalised text cut, once, into everything the scorer compares."""

    norm: str
    toks: tuple[str, ...]
    grams: tuple[str, ...]  # positional bigrams; the lone token for a one-token text
    pinyin_grams: tuple[str, ...]  # the same bigrams in folded pinyin
    singles: tuple[int, ...]  # positions of numbers and latin words, which also stand alone
    bigrams: frozenset[str]
    pinyin_bigrams: frozenset[str]

    @classmethod
    def of(cls, norm: str) -> _Text:
        toks = tuple(tokens(norm))
        pinyin = tuple(fuzzy_pinyin(t) for t in toks)
        grams: tuple[str, ...]
        pinyin_grams: tuple[str, ...]
        if len(toks) == 1:
            grams, pinyin_grams = toks, pinyin
        else:
            grams = tuple(f"{a}\x1f{b}" for a, b in pairwise(toks))
            pinyin_grams = tuple(f"{a}\x1f{b}" for a, b in pairwise(pinyin))
        singles = tuple(i for i, t in enumerate(toks) if not is_cjk(t))
        alone = {toks[i] for i in singles}
        return cls(
            norm,
            toks,
            grams,
            pinyin_grams,
            singles,
            frozenset(grams) | alone,
            frozenset(pinyin_grams) | alone,
        )


@dataclass(frozen=True)
class _Weighted:
    """A text with its per-token weights under one knowledge base's IDF."""

    text: _Text
    weights: tuple[float, ...]
    total: float


@dataclass(frozen=True)
class _Phrase:
    entry_index: int
    raw: str
    body: _Weighted


@dataclass(frozen=True)
class _EntryTexts:
    combined: _Text  # questions, keywords and topic together
    answer: _Text


@dataclass
class Matcher:
    """Answers "which entry is this question asking for, and how sure are we?"."""

    kb: KnowledgeBase
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        self.normalise = Normaliser(self.kb.synonyms)
        texts_by_entry: list[list[tuple[str, _Text]]] = []
        self._entries: list[_EntryTexts] = []
        char_df: dict[str, int] = defaultdict(int)
        pinyin_df: dict[str, int] = defaultdict(int)
        for entry in self.kb.entries:
            raws = [*entry.questions, *entry.keywords, entry.topic]
            normalised = [(raw, self.normalise(raw)) for raw in raws]
            # One phrasing per distinct normalised text: a topic that repeats a keyword or a
            # question would otherwise count three times and use up the entry's shortlist places.
            distinct = {norm: raw for raw, norm in reversed(normalised) if norm}
            texts_by_entry.append(
                [(raw, _Text.of(norm)) for norm, raw in reversed(distinct.items())]
            )
            combined = _Text.of(" ".join(norm for _, norm in normalised if norm))
            answer = _Text.of(self.normalise(entry.answer))
            self._entries.append(_EntryTexts(combined, answer))
            for tok in {*combined.toks, *answer.toks}:
                char_df[tok] += 1
                pinyin_df[fuzzy_pinyin(tok)] += 1
        total = max(len(self.kb.entries), 1)
        self._char_idf = {t: math.log(1 + total / df) for t, df in char_df.items()}
        self._pinyin_idf = {t: math.log(1 + total / df) for t, df in pinyin_df.items()}
        self._unknown_idf = math.log(1 + 2 * total)
        self._phrases: list[_Phrase] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._pinyin_postings: dict[str, list[int]] = defaultdict(list)
        for index, texts in enumerate(texts_by_entry):
            for raw, text in texts:
                number = len(self._phrases)
                self._phrases.append(_Phrase(index, raw, self._weigh(text)))
                for gram in text.bigrams:
                    self._postings[gram].append(number)
                for gram in text.pinyin_bigrams:
                    self._pinyin_postings[gram].append(number)
        self._cached_match = lru_cache(maxsize=4096)(self._match)

    # --- public API --------------------------------------------------------------------------

    def match(self, question: str) -> MatchResult:
        """Score `question` against every entry and decide answer / suggest / none."""
        return self._cached_match(question)

    def rank(self, question: str, *, exclude_phrase: str | None = None) -> list[Candidate]:
        """All entries that share anything with `question`, best first.

        `exclude_phrase` leaves one stored phrasing out: `kb check` uses it to ask whether a
        question would still find its own entry if it were not stored verbatim.
        """
        return self._rank(_Text.of(self.normalise(question)), exclude_phrase)

    # --- scoring -----------------------------------------------------------------------------

    def _match(self, question: str) -> MatchResult:
        norm = self.normalise(question)
        if not norm:
            return MatchResult(question, norm, Outcome.NONE, (), "问题里没有可以匹配的文字")
        ranked = self._rank(_Text.of(norm), None)
        return self._decide(question, norm, ranked)

    def _weigh(self, text: _Text) -> _Weighted:
        """IDF per token, with question and function words damped."""
        mask = question_word_mask(text.toks)
        weights = tuple(self._idf(tok) * keep for tok, keep in zip(text.toks, mask, strict=True))
        return _Weighted(text, weights, sum(weights))

    def _idf(self, tok: str) -> float:
        weight = self._char_idf.get(tok)
        if weight is None and is_cjk(tok):
            # A typo'd character weighs as much as the character it sounds like.
            weight = self._pinyin_idf.get(fuzzy_pinyin(tok))
        return self._unknown_idf if weight is None else weight

    def _credits(self, source: _Text, target: _Text) -> list[float]:
        """Per token of `source`: 1.0 if `target` covers it exactly, `pinyin_credit` if only by
        sound, 0.0 if not at all. A token is covered when a bigram containing it is."""
        pinyin_credit = self.thresholds.pinyin_credit
        credit = [0.0] * len(source.toks)
        if len(source.toks) == 1:
            if source.grams[0] in target.toks:
                credit[0] = 1.0
            elif source.pinyin_grams[0] in target.pinyin_bigrams:
                credit[0] = pinyin_credit
            return credit
        exact, sounds = target.bigrams, target.pinyin_bigrams
        for i, (gram, pinyin_gram) in enumerate(
            zip(source.grams, source.pinyin_grams, strict=True)
        ):
            if gram in exact:
                credit[i] = credit[i + 1] = 1.0
            elif pinyin_gram in sounds:
                if credit[i] < pinyin_credit:
                    credit[i] = pinyin_credit
                credit[i + 1] = pinyin_credit
        for i in source.singles:
            if source.toks[i] in exact:
                credit[i] = 1.0
        return credit

    @staticmethod
    def _share(credit: Sequence[float], source: _Weighted) -> float:
        """The weighted share of `source` that `credit` says is covered."""
        if source.total <= 0:
            return 0.0
        covered = 0.0
        for value, weight in zip(credit, source.weights, strict=True):
            if value:
                covered += value * weight
        return covered / source.total

    def _coverage(self, source: _Weighted, target: _Text) -> float:
        """Share of `source`'s weight whose tokens `target` covers (exactly or by pinyin)."""
        return self._share(self._credits(source.text, target), source)

    def _entry_coverage(self, query: _Weighted, texts: _EntryTexts) -> float:
        """Coverage by the entry as a whole: all its phrasings, plus its answer at a discount.

        A question may take one word from one phrasing and another from the answer
        ("执法案卷评查抽取了多少卷": 案卷评查 from a phrasing, 抽取 and 执法 from the answer).
        """
        discount = self.thresholds.answer_text_credit
        phrased = self._credits(query.text, texts.combined)
        answered = self._credits(query.text, texts.answer)
        union = [max(p, discount * a) for p, a in zip(phrased, answered, strict=True)]
        return self._share(union, query)

    def _rank(self, query_text: _Text, exclude_phrase: str | None) -> list[Candidate]:
        if not query_text.toks:
            return []
        limits = self.thresholds
        query = self._weigh(query_text)
        # First pass: weighted bigram hits per phrase, from the postings only. Grams found in a
        # large share of all phrasings (stop-grams, like 行政 in a big knowledge base) say little
        # about which phrasing is meant and cost the most to walk, so they are left to the
        # second pass, unless the question has nothing rarer to go on.
        hits: dict[int, float] = defaultdict(float)
        weights = query.weights
        common = max(limits.stop_gram_floor, int(limits.stop_gram_share * len(self._phrases)))
        lookups: list[tuple[Sequence[int], float]] = []
        for i, (gram, pinyin_gram) in enumerate(
            zip(query_text.grams, query_text.pinyin_grams, strict=True)
        ):
            pair_weight = weights[i] + (weights[i + 1] if i + 1 < len(weights) else 0.0)
            lookups.append((self._postings.get(gram, ()), pair_weight))
            lookups.append(
                (
                    self._pinyin_postings.get(pinyin_gram, ()),
                    limits.pinyin_credit * pair_weight * 0.5,
                )
            )
        for i in query_text.singles:
            lookups.append((self._postings.get(query_text.toks[i], ()), weights[i]))
        informative = [(p, w) for p, w in lookups if len(p) <= common]
        for postings, weight in informative or lookups:
            for number in postings:
                hits[number] += weight
        if not hits:
            return []
        if exclude_phrase is not None:
            for number, phrase in enumerate(self._phrases):
                if phrase.raw == exclude_phrase:
                    hits.pop(number, None)
        shortlist = self._shortlist(hits)
        # Second pass: full coverage scoring of the shortlist; entry-level coverage once per entry.
        entry_coverage: dict[int, float] = {}
        best: dict[int, Candidate] = {}
        for number in shortlist:
            phrase = self._phrases[number]
            index = phrase.entry_index
            if index not in entry_coverage:
                entry_coverage[index] = self._entry_coverage(query, self._entries[index])
            candidate = self._score(query, phrase, entry_coverage[index])
            current = best.get(index)
            if current is None or candidate.score > current.score:
                best[index] = candidate
        return sorted(best.values(), key=lambda c: c.score, reverse=True)

    def _shortlist(self, hits: dict[int, float]) -> list[int]:
        """The best-hit phrasings, at most `phrases_per_entry` from any one entry.

        Without the cap, an entry with many similar phrasings (or a common word shared by a
        whole section) could fill the shortlist and crowd the right entry out.
        """
        limits = self.thresholds
        per_entry: dict[int, int] = defaultdict(int)
        picked: list[int] = []

        def promise(number: int) -> float:
            # Hits approximate how much of the question a phrasing covers; dividing by the
            # phrasing's own weight also favours phrasings the question covers completely, so a
            # short exact keyword is not lost behind long sentences that share the same words.
            total = self._phrases[number].body.total or 1.0
            return hits[number] * (1.0 + min(1.0, hits[number] / (2.0 * total)))

        pool = heapq.nlargest(limits.candidate_phrases * 4, hits, key=hits.__getitem__)
        for number in sorted(pool, key=promise, reverse=True):
            index = self._phrases[number].entry_index
            if per_entry[index] < limits.phrases_per_entry:
                per_entry[index] += 1
                picked.append(number)
                if len(picked) == limits.candidate_phrases:
                    break
        return picked

    def _score(self, query: _Weighted, phrase: _Phrase, covered_by_entry: float) -> Candidate:
        limits = self.thresholds
        covered_by_phrase = self._coverage(query, phrase.body.text)
        # Words of the question may be spread over several phrasings, or appear only in the answer
        # (a law firm's name, say); the entry as a whole can cover what one phrasing does not.
        query_coverage = max(covered_by_phrase, limits.entry_credit * covered_by_entry)
        phrase_coverage = self._coverage(phrase.body, query.text)
        similarity = fuzz.ratio(query.text.norm, phrase.body.text.norm) / 100.0
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
        lead = best.score - runner_up
        confident = best.score >= limits.answer and (
            best.score >= limits.sure or lead >= limits.margin
        )
        # A bare number ("2", "300") names no subject: answer it only when it is a stored
        # phrasing word for word ("92.3%"), otherwise offer what it might refer to.
        numbers_only = all(tok[0].isdigit() for tok in tokens(norm))
        exact = best.similarity >= 1.0
        if (not numbers_only or exact) and (
            confident or (best.score >= limits.clear_answer and lead >= limits.clear_margin)
        ):
            threshold = limits.answer if confident else limits.clear_answer
            reason = f"最高分 {best.score:.2f} ≥ 回答阈值 {threshold:.2f}，领先第二名 {lead:.2f}"
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
