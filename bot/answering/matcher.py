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
phrasings that share a bigram with it, and at most `Thresholds.walk_limit` of them per bigram
however large the base (`Matcher._walks`).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from itertools import chain, pairwise, repeat
from operator import mul
from typing import NamedTuple

from rapidfuzz import fuzz

from bot.answering.constraints import (
    Conflict,
    QuestionFrame,
    Statement,
    Vocabulary,
    asking,
    conflicts,
    drafted,
    fit,
    gives_count_of,
    other_terms,
    read_question,
    report_years,
    speaking_of,
    state,
    vocabulary_of,
)
from bot.answering.decision import DecisionModel, features_against, shipped_model
from bot.answering.document import chapter_of, short_section
from bot.answering.knowledge import Entry, KnowledgeBase
from bot.answering.lexicon import Bridges
from bot.answering.segment import Segmenter
from bot.answering.text import (
    QUESTION_WEIGHT,
    Normaliser,
    asks_problem,
    asks_remedy,
    clean,
    fold_numerals,
    fuzzy_pinyin,
    is_cjk,
    is_future,
    is_negated,
    is_plan_section,
    is_problem_section,
    question_word_mask,
    set_aside,
    tokens,
)


@dataclass(frozen=True)
class Thresholds:
    """The scorer's hand-set numbers, in one place.

    These shape the *score* (how coverage is credited and candidates are gathered). Whether a
    score is an answer, a suggestion or nothing is the fitted decision model's call
    (bot/answering/decision.py), not a threshold here.
    """

    suggest_window: float = 0.25
    max_suggestions: int = 3
    pinyin_credit: float = 0.8
    answer_text_credit: float = 0.7
    # Like BM25's length normalisation: a long answer (a section summary) covers many words
    # of many questions, so its answer text is credited less, by sqrt(pivot / length).
    answer_length_pivot: int = 40
    passage_credit: float = 0.3
    entry_credit: float = 0.9
    candidate_phrases: int = 12
    phrases_per_entry: int = 3
    # Share of a candidate's score lost when its answer holds none of what the question asks
    # for (a count question against an entry that states no number).
    kind_mismatch_cost: float = 0.1
    # Share lost when the phrasing negates and the question does not, or the other way round
    # (不予受理 against 受理).
    negation_mismatch_cost: float = 0.2
    # Share lost when a question about plans meets what was done, or the other way round
    # (讲案例: the 2019 lectures, not next year's 以案说法).
    tense_mismatch_cost: float = 0.1
    # Share lost when a question about shortcomings (管理上还有什么欠缺) meets an entry on what
    # was done. The other way only for a question of how something is improved (怎么提高业务
    # 水平), which a shortcoming does not tell: a question need not say "problem" to be about
    # one (执法队伍老化吗).
    problem_mismatch_cost: float = 0.1
    stop_gram_share: float = 0.05
    stop_gram_floor: int = 200
    # The most postings the first pass walks for one gram, and in all when every gram of the
    # question is a stop-gram: what keeps a question's cost bounded however large the base.
    # A list longer than this is kept best-first (see `Matcher._order_postings`), so the part
    # walked is the part that counts.
    walk_limit: int = 1000


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
    # How much of the question the entry as a whole accounts for: IDF mass covered (evidence),
    # the covered share of the words the knowledge base knows at all (known_coverage), and the
    # share of the question's words (segmented) found in the entry (word_coverage).
    evidence: float = 0.0
    known_coverage: float = 0.0
    word_coverage: float = 0.0
    # Share of the kinds of answer the question asks for (a count, a date...) that the entry's
    # answer holds; 1.0 when the question's wording asks for no particular kind.
    kind_fit: float = 1.0
    # The decision model's probability that this is the entry the question asks for.
    confidence: float = 0.0


@dataclass(frozen=True)
class MatchResult:
    question: str
    normalised: str
    outcome: Outcome
    candidates: tuple[Candidate, ...]
    reason: str
    frame: QuestionFrame | None = None
    # Every entry that shares anything with the question, best first (at most a shortlist).
    ranked: tuple[Candidate, ...] = ()

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def also(self) -> tuple[Candidate, ...]:
        """Close runners-up offered beside an answer ("您可能还想了解")."""
        return self.candidates[1:] if self.outcome is Outcome.ANSWER else ()

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        return self.candidates if self.outcome is Outcome.SUGGEST else ()


@dataclass(frozen=True)
class Rival:
    """An entry a question is closer to than to its own (`Matcher.rival`)."""

    entry: Entry
    phrase: str  # its phrasing the question is closest to
    score: float
    own: float | None  # the question's own entry's score; None when it is not a candidate


# jieba's tags (first letter) of the words worth bridging to the knowledge base's own words:
# nouns, verbs, adjectives, idioms, set phrases and time words (jieba tags 年纪 as one).
_BRIDGED_TAGS = frozenset("nvailt")

# A positional bigram's key: its two tokens joined by a unit separator.
_GRAM_JOIN = "\x1f".join
# What any token that is not a CJK character starts with (see text.tokens).
_LATIN_OR_DIGIT_RE = re.compile(r"[a-z\d]")


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
    negated: bool  # 不予受理, 未达标: see text.is_negated
    future: bool  # asks about plans (今后, 明年打算): see text.is_future
    problem: bool  # asks about shortcomings (有什么问题, 短板): see text.asks_problem
    remedy: bool  # asks how something is improved (怎么提高业务水平): see text.asks_remedy

    @classmethod
    def of(cls, norm: str, shared: dict[str, str] | None = None) -> _Text:
        """Cut `norm`; with `shared`, every token and bigram is the one string object kept
        there for that text (the index holds each bigram once, not once per phrasing)."""
        toks = tuple(tokens(norm))
        pinyin = tuple(map(fuzzy_pinyin, toks))
        grams: tuple[str, ...]
        pinyin_grams: tuple[str, ...]
        if len(toks) == 1:
            grams, pinyin_grams = toks, pinyin
        else:
            grams = tuple(map(_GRAM_JOIN, pairwise(toks)))
            pinyin_grams = tuple(map(_GRAM_JOIN, pairwise(pinyin)))
        if shared is not None:
            one = shared.setdefault
            toks, grams = tuple(map(one, toks, toks)), tuple(map(one, grams, grams))
            pinyin_grams = tuple(map(one, pinyin_grams, pinyin_grams))
        singles: tuple[int, ...] = ()
        if _LATIN_OR_DIGIT_RE.search(norm):  # else every token is a CJK character
            singles = tuple(i for i, cjk in enumerate(map(is_cjk, toks)) if not cjk)
        alone = {toks[i] for i in singles}
        return cls(
            norm,
            toks,
            grams,
            pinyin_grams,
            singles,
            frozenset(grams) | alone,
            frozenset(pinyin_grams) | alone,
            is_negated(norm),
            is_future(norm),
            asks_problem(norm),
            asks_remedy(norm),
        )

    @classmethod
    def joined(cls, parts: Sequence[_Text], shared: dict[str, str]) -> _Text:
        """`of(" ".join(part.norm for part in parts), shared)`, put together from the parts.

        Tokens never span a space, so the joined text's tokens are the parts' in turn, and its
        bigrams theirs plus one across each join: only those are made here (an entry's
        phrasings together are its longest text, and every entry has one).
        """
        if len(parts) == 1:
            return parts[0]
        one = shared.setdefault
        toks: list[str] = []
        grams: list[str] = []
        pinyin_grams: list[str] = []
        singles: list[int] = []
        for part in parts:
            if toks:
                gram = _GRAM_JOIN((toks[-1], part.toks[0]))
                sound = _GRAM_JOIN((fuzzy_pinyin(toks[-1]), fuzzy_pinyin(part.toks[0])))
                grams.append(one(gram, gram))
                pinyin_grams.append(one(sound, sound))
            if len(part.toks) > 1:  # a one-token text's "gram" is its token
                grams += part.grams
                pinyin_grams += part.pinyin_grams
            singles += [len(toks) + i for i in part.singles]
            toks += part.toks
        alone = {toks[i] for i in singles}
        norm = " ".join(part.norm for part in parts)
        return cls(
            norm,
            tuple(toks),
            tuple(grams),
            tuple(pinyin_grams),
            tuple(singles),
            frozenset(grams) | alone,
            frozenset(pinyin_grams) | alone,
            is_negated(norm),
            is_future(norm),
            asks_problem(norm),
            asks_remedy(norm),
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
    # 1.0 for a stored phrasing; less for the entry's answer, which is indexed too so that a
    # question in the report's own words finds an entry none of whose phrasings it shares.
    credit: float = 1.0


class _Shown(NamedTuple):
    """A candidate's fields but its confidence (`Candidate`, in order), which the decision
    model reads to give it one."""

    entry: Entry
    score: float
    phrase: str
    query_coverage: float
    phrase_coverage: float
    similarity: float
    evidence: float
    known_coverage: float
    word_coverage: float
    kind_fit: float


class _EntryFacts(NamedTuple):
    """What one entry as a whole covers of one question (computed once per entry and query;
    a named tuple, being made a dozen times per question)."""

    coverage: float
    evidence: float
    known_coverage: float
    word_coverage: float
    kind_fit: float


@dataclass(frozen=True)
class _EntryTexts:
    combined: _Text  # questions, keywords and topic together
    answer: _Text
    passage: _Text  # the report's own sentences the entry rests on
    words: frozenset[str]  # every word of all of the above (and the parts of compounds)
    statement: Statement  # what the answer states (its section's vocabulary: `conflicts`)
    answer_credit: float  # the credit for covering a word through the answer text
    plan: bool  # the entry is in a section of plans (三、下步工作打算)
    problem: bool  # the entry is in the section of shortcomings (二、存在问题)


# How many of the best candidates get the decision model's confidence.
CONFIDENT_CANDIDATES = 6
_YEAR_TOKEN_RE = re.compile(r"(?:19[89]|20[0-4])\d")
_QUOTED_RE = re.compile(r"[“\"]([^”\"]{2,12})[”\"]")


def _post(postings: defaultdict[str, list[int]], grams: Iterable[str], number: int) -> None:
    """Add phrasing `number` to the posting list of each of its `grams` (a loop run in C: the
    index makes millions of these)."""
    deque(map(list.append, map(postings.__getitem__, grams), repeat(number)), maxlen=0)


def _statement(entry: Entry, default_years: frozenset[int]) -> Statement:
    """What an entry states: its answer, or for a draft the fact it was drafted for (its
    claim), not the whole sentence it quotes."""
    if not entry.draft:
        return state([fold_numerals(entry.answer)], default_years)
    return drafted(state([fold_numerals(entry.claim or entry.answer)], default_years))


def _stated(entry: Entry) -> tuple[bool, str]:
    """What `_statement` reads of an entry: entries alike in this state the same."""
    return entry.draft, (entry.claim or entry.answer) if entry.draft else entry.answer


def _top(hits: dict[int, float], n: int) -> list[int]:
    """The `n` keys of `hits` with the largest values, ties in insertion order.

    `sorted(...)[:n]` and `heapq.nlargest` give the same list; sorting in C is the quicker of
    the two for the few hundred hits of a typical question, the heap for many thousands.
    """
    if len(hits) > 20 * n:
        return heapq.nlargest(n, hits, key=hits.__getitem__)
    return sorted(hits, key=hits.__getitem__, reverse=True)[:n]


@dataclass
class Matcher:
    """Answers "which entry is this question asking for, and how sure are we?"."""

    kb: KnowledgeBase
    thresholds: Thresholds = field(default_factory=Thresholds)
    model: DecisionModel = field(default_factory=shipped_model)

    def __post_init__(self) -> None:
        self.normalise = Normaliser(self._synonyms(), stopwords=self.kb.stopwords)
        # Every text of the base is normalised and cut once, however often it recurs (a topic
        # is also a segmenter term; entries may share an answer). `rank` and `frame` look
        # stored phrasings up here too: `kb check` asks every one of them.
        self._norms: dict[str, str] = {}
        self._cleaned: dict[str, str] = {}
        cut: dict[str, _Text] = {}

        def normalise(raw: str) -> str:
            norm = self._norms.get(raw)
            if norm is None:
                norm = self._norms[raw] = self.normalise(raw)
            return norm

        strings: dict[str, str] = {}

        def text_of(norm: str) -> _Text:
            text = cut.get(norm)
            if text is None:
                text = cut[norm] = _Text.of(norm, strings)
            return text

        self.segmenter = Segmenter(self._terms(normalise))
        # The distinct groups as questions and answers are compared: 一次办 as 1次办.
        self._distinct = tuple(
            tuple(normalise(term) for term in group) for group in self.kb.distinct
        )
        # Segmented once too: entries may share an answer, and a passage is often the answer.
        segmented: dict[str, list[str]] = {}

        def words_of(norm: str) -> list[str]:
            words = segmented.get(norm)
            if words is None:
                words = segmented[norm] = self.segmenter.search_words(norm)
            return words

        texts_by_entry: list[list[tuple[str, _Text]]] = []
        self._entries: list[_EntryTexts] = []
        char_df: Counter[str] = Counter()
        pinyin_df: Counter[str] = Counter()
        word_df: Counter[str] = Counter()
        default_years = report_years(self.kb.document.title) if self.kb.document else frozenset()
        self.report_years = default_years
        answers_cleaned: list[str] = []
        stated: dict[tuple[bool, str], Statement] = {}
        for entry in self.kb.entries:
            raws = [*entry.questions, *entry.keywords, entry.topic]
            normalised = [(raw, normalise(raw)) for raw in raws]
            for raw in raws:
                self._cleaned[raw] = clean(raw)  # normalising has just cleaned it: a cache hit
            # One phrasing per distinct normalised text: a topic that repeats a keyword or a
            # question would otherwise count three times and use up the entry's shortlist places.
            distinct = {norm: raw for raw, norm in reversed(normalised) if norm}
            texts_by_entry.append(
                [(raw, text_of(norm)) for norm, raw in reversed(distinct.items())]
            )
            # The phrasings together, cut from the parts already cut (`_Text.joined`).
            phrased = [text_of(norm) for _, norm in normalised if norm]
            # An entry of the plans or the shortcomings speaks for its chapter too: 两法衔接
            # 下一步咋搞 is the 两法衔接 plan's, not the summary of all plans that names it in
            # passing and holds 下步工作打算 among its phrasings.
            chapter = chapter_of(entry.source)
            if chapter != entry.source and (
                is_plan_section(entry.source) or is_problem_section(entry.source)
            ):
                phrased.append(text_of(normalise(short_section(chapter))))
            combined_norm = " ".join(text.norm for text in phrased)
            combined = cut.get(combined_norm)
            if combined is None:
                combined = cut[combined_norm] = _Text.joined(phrased, strings)
            answer_norm = normalise(entry.answer)
            answers_cleaned.append(clean(entry.answer))  # just cleaned by normalising: cached
            passage_norm = normalise(" ".join(entry.passage))
            words = frozenset(
                chain.from_iterable(map(words_of, (combined_norm, answer_norm, passage_norm)))
            )
            answer_text = text_of(answer_norm)
            statement = stated.get(_stated(entry))  # entries may share an answer
            if statement is None:
                statement = stated[_stated(entry)] = _statement(entry, default_years)
            texts = _EntryTexts(
                combined,
                answer_text,
                text_of(passage_norm),
                words,
                statement,
                self._answer_credit(len(answer_text.toks)),
                is_plan_section(entry.source),
                is_problem_section(entry.source),
            )
            self._entries.append(texts)
            seen = {*texts.combined.toks, *texts.answer.toks, *texts.passage.toks}
            char_df.update(seen)
            pinyin_df.update(map(fuzzy_pinyin, seen))
            word_df.update(words)
        # What each section speaks of, for the counted-word check (`conflicts`): read when
        # the section's first conflict is looked for (ranking does not need it).
        self._vocabularies: dict[str, Vocabulary] = {}
        total = max(len(self.kb.entries), 1)
        self._char_idf = {t: math.log(1 + total / df) for t, df in char_df.items()}
        self._pinyin_idf = {t: math.log(1 + total / df) for t, df in pinyin_df.items()}
        self._word_idf = {w: math.log(1 + total / df) for w, df in word_df.items()}
        self._unknown_idf = math.log(1 + 2 * total)
        # Tokens the knowledge base or the report uses anywhere: a question word outside this
        # set is about something the report does not mention (or a colloquialism).
        document = self.kb.document
        report = clean(document.text) if document else ""
        self._known = frozenset(char_df) | frozenset(tokens(self.normalise(report)))
        # The places the report itself speaks of: naming one of them is not a near miss.
        self._home = report + "".join(answers_cleaned)
        self._phrases: list[_Phrase] = []
        self._postings: defaultdict[str, list[int]] = defaultdict(list)
        self._pinyin_postings: defaultdict[str, list[int]] = defaultdict(list)
        # Each stored text weighed once, by its normalised form: what `rank` asks with when the
        # question is a stored phrasing.
        self._bodies: dict[str, _Weighted] = {}
        for index, phrasings in enumerate(texts_by_entry):
            texts = self._entries[index]
            answer = (self.kb.entries[index].answer, texts.answer, texts.answer_credit)
            for raw, text, credit in [*((r, t, 1.0) for r, t in phrasings), answer]:
                number = len(self._phrases)
                body = self._bodies.get(text.norm)
                if body is None:
                    body = self._bodies[text.norm] = self._weigh(text)
                self._phrases.append(_Phrase(index, raw, body, credit))
                _post(self._postings, text.bigrams, number)
                _post(self._pinyin_postings, text.pinyin_bigrams, number)
        self._order_postings()
        self._index_of = {entry.id: i for i, entry in enumerate(self.kb.entries)}
        # Per phrasing, what the first pass and the shortlist read of it, as flat lists.
        self._credit_of = [phrase.credit for phrase in self._phrases]
        self._total_of = [phrase.body.total or 1.0 for phrase in self._phrases]
        self._entry_of = [phrase.entry_index for phrase in self._phrases]
        self._negated_of = [phrase.body.text.negated for phrase in self._phrases]
        # Phrasings by their raw text, so `rank(exclude=...)` drops them without a full scan.
        self._numbers_of: dict[str, list[int]] = defaultdict(list)
        for number, phrase in enumerate(self._phrases):
            self._numbers_of[phrase.raw].append(number)
        # The report's sections in knowledge-base order (the browse and overview order).
        self.section_order = tuple(dict.fromkeys(entry.source for entry in self.kb.entries))

        self.bridges = Bridges(self._word_idf)
        self._cached_match = lru_cache(maxsize=4096)(self._match)

    def _answer_credit(self, length: int) -> float:
        limits = self.thresholds
        shortening = min(1.0, math.sqrt(limits.answer_length_pivot / max(length, 1)))
        return limits.answer_text_credit * shortening

    def _synonyms(self) -> dict[str, str]:
        """The knowledge base's synonyms, plus the report's own title as a way of saying "the
        report": a question that names it in full (江汉区2019年法治政府建设工作报告的发文日期)
        asks about the report, not about every entry that shares the title's words."""
        synonyms = dict(self.kb.synonyms)
        document = self.kb.document
        if document is not None and document.title:
            synonyms.setdefault(document.title, synonyms.get("报告", "报告"))
        return synonyms

    def _terms(self, normalise: Callable[[str], str]) -> list[str]:
        """Words the segmenter should keep whole: the knowledge base's keywords and topics, the
        report's quoted terms (“马上办”) and the canonical side of the synonyms."""
        terms = [term for entry in self.kb.entries for term in (*entry.keywords, entry.topic)]
        terms += list(dict.fromkeys(self.kb.synonyms.values()))
        for entry in self.kb.entries:
            terms += _QUOTED_RE.findall(" ".join((entry.answer, *entry.passage)))
        return [normalise(term) for term in terms]

    # --- public API --------------------------------------------------------------------------

    def match(self, question: str) -> MatchResult:
        """Score `question` against every entry and decide answer / suggest / none."""
        return self._cached_match(question)

    def rank(self, question: str, *, exclude: Collection[str] = ()) -> list[Candidate]:
        """All entries that share anything with `question`, best first.

        `exclude` leaves stored phrasings out: `kb check` uses it to ask whether a question
        would still find its own entry if it were not stored verbatim.
        """
        norm = self._normalised(question)
        return self._rank(self._query(norm), self.frame(question, norm), exclude)

    def rival(
        self, question: str, entry_id: str, *, floor: float, exclude: Collection[str] = ()
    ) -> Rival | None:
        """The entry `rank(question, exclude=exclude)` puts first, when it is not `entry_id`
        and the decision model's confidence in it reaches `floor`; found without scoring in
        full the candidates that cannot come first or second.

        `kb check` asks this of every stored phrasing. Each shortlisted entry's coverage of
        the question bounds the score of any of its phrasings (`_bound`), so an entry whose
        bound is below the second-best score found so far can be neither the leader nor the
        runner-up the leader's confidence is judged against, and is not scored. The
        confidence is worked out only as far as `floor` needs: the content words behind its
        word-coverage feature are read only when the other features leave it undecided. The
        result is the one `rank` gives (tests/test_matcher.py holds them to it).
        """
        norm = self._normalised(question)
        query = self._query(norm)
        shortlist = self._shortlisted(query, exclude)
        if not shortlist:
            return None
        # Of the question's frame, ranking reads only what it asks for (`fit`).
        frame = asking(self._cleaned_question(question))
        # The shortlist by entry, entries in the order `_rank` first meets them (its order for
        # equal scores).
        by_entry: dict[int, list[int]] = {}
        for number in shortlist:
            by_entry.setdefault(self._entry_of[number], []).append(number)
        own = self._index_of.get(entry_id)
        covered: dict[int, float] = {}
        kind_fit: dict[int, float] = {}
        bound: dict[int, float] = {}
        for index, numbers in by_entry.items():
            texts = self._entries[index]
            covered[index] = self._covered(query, texts)
            kind_fit[index] = fit(frame, texts.statement)
            bound[index] = self._bound(query, index, numbers, covered[index], kind_fit[index])
        # The entry asked about first (its score is wanted whatever it is), then the others by
        # bound, until no bound reaches the second-best score.
        order = sorted(by_entry, key=bound.__getitem__, reverse=True)
        if own in by_entry:
            order.remove(own)
            order.insert(0, own)
        # Per entry scored: its best phrasing and what `_scored` made of it.
        best: dict[int, tuple[int, tuple[float, float, float, float]]] = {}
        first = second = -1.0
        for index in order:
            if bound[index] < second and index != own:
                break
            coverage = covered[index] / query.total if query.total > 0 else 0.0
            top: tuple[int, tuple[float, float, float, float]] | None = None
            for number in by_entry[index]:
                beat = -1.0 if top is None else top[1][0]
                phrase = self._phrases[number]
                scored = self._scored(query, phrase, coverage, kind_fit[index], beat)
                if scored is not None and (top is None or scored[0] > beat):
                    top = (number, scored)
            assert top is not None
            best[index] = top
            score = top[1][0]
            if score > first:
                first, second = score, first
            elif score > second:
                second = score
        # Ranked as `_rank` ranks them: by score, ties in the order the shortlist met them.
        ranked = sorted(
            (i for i in by_entry if i in best), key=lambda i: best[i][1][0], reverse=True
        )
        leader = ranked[0]
        if self.kb.entries[leader].id == entry_id:
            return None
        runner_up = best[ranked[1]][1][0] if len(ranked) > 1 else 0.0
        number, scored = best[leader]
        known_weight = self._known_weight(query)
        texts = self._entries[leader]

        def confidence(words: list[tuple[str, float, list[str]]], coverage: float | None) -> float:
            facts = self._facts(
                query, covered[leader], known_weight, words, texts, kind_fit[leader]
            )
            if coverage is not None:
                facts = facts._replace(word_coverage=coverage)
            shown = self._shown(self._phrases[number], facts, scored)
            return round(self.model.probability(features_against(shown, runner_up)), 4)

        # The model is monotonic in each feature: the word coverage at its ends bounds it.
        ends = [confidence([], end) for end in (0.0, 1.0)]
        if min(ends) >= floor:
            sure = True
        elif max(ends) < floor:
            sure = False
        else:
            sure = confidence(self._word_parts(self.content_words(norm)), None) >= floor
        if not sure:
            return None
        own_score = best[own][1][0] if own in best else None
        return Rival(self.kb.entries[leader], self._phrases[number].raw, scored[0], own_score)

    def _bound(
        self, query: _Weighted, index: int, numbers: list[int], covered: float, kind_fit: float
    ) -> float:
        """At least the score (`_scored`) of any of entry `index`'s phrasings `numbers`.

        A phrasing covers no more of a question than its entry as a whole: the entry's
        phrasings are all in `_EntryTexts.combined` and its answer is credited there at the
        same discount (the one exception, a one-token question, which may match a one-token
        phrasing by sound alone, is not bounded). So the query coverage is at most the
        entry's; phrase coverage and similarity at most 1; the costs are the entry's, the
        negation cost only when every phrasing pays it. A margin far above float error and
        far below the scores' rounding keeps it a bound after rounding.
        """
        if len(query.text.toks) < 2:
            return 1.0
        coverage = covered / query.total if query.total > 0 else 0.0
        score: float = coverage**1.5 * (0.55 + 0.3 + 0.15)
        negated = query.text.negated not in map(self._negated_of.__getitem__, numbers)
        for kept in self._kept(query.text, self._entries[index], kind_fit, negated):
            score *= kept
        return round(min(score * (1.0 + 1e-9), 1.0), 4)

    def frame(self, question: str, norm: str | None = None) -> QuestionFrame:
        """What the question pins down (years, places) and the kind of answer it asks for."""
        norm = self._normalised(question) if norm is None else norm
        tagged = self.segmenter.tagged(norm)
        frame = read_question(self._cleaned_question(question), norm, tagged, self._home, tagged)
        # A term of a distinct group the question names, and the group's terms it does not
        # (a question naming both, 复议和诉讼各有多少, pins neither down).
        distinct = tuple(
            (term, tuple(other for other in group if other not in norm))
            for group in self._distinct
            if any(term in norm for term in group) and not all(term in norm for term in group)
            for term in group
            if term in norm
        )
        return replace(frame, distinct=distinct) if distinct else frame

    def _cleaned_question(self, question: str) -> str:
        cleaned = self._cleaned.get(question)
        return clean(question) if cleaned is None else cleaned

    def conflicts(self, frame: QuestionFrame, entry: Entry) -> list[Conflict]:
        """What `entry`'s answer cannot give of a question with this frame."""
        index = self._index_of[entry.id]
        statement = speaking_of(self._entries[index].statement, self._vocabulary(index))
        return conflicts(frame, statement, self.report_years)

    def gives_count_of(self, word: str, entry: Entry) -> bool:
        """Whether `entry`'s answer gives a number of `word` (`constraints.gives_count_of`)."""
        return gives_count_of(word, self._entries[self._index_of[entry.id]].statement)

    def section_entries(self, source: str) -> tuple[Entry, ...]:
        """The entries of section `source`, in knowledge-base order."""
        return tuple(self.kb.entries[index] for index in self._section_indexes.get(source, ()))

    @cached_property
    def _section_indexes(self) -> dict[str, tuple[int, ...]]:
        """Section (`Entry.source`) -> the indexes of its entries, built at first use."""
        grouped: dict[str, list[int]] = {}
        for index, entry in enumerate(self.kb.entries):
            grouped.setdefault(entry.source, []).append(index)
        return {source: tuple(indexes) for source, indexes in grouped.items()}

    def _vocabulary(self, index: int) -> Vocabulary:
        """What the section of entry `index` speaks of (`constraints.vocabulary_of`)."""
        source = self.kb.entries[index].source
        vocabulary = self._vocabularies.get(source)
        if vocabulary is None:
            members = [self._entries[member] for member in self._section_indexes[source]]
            vocabulary = self._vocabularies[source] = vocabulary_of(
                (
                    text.norm
                    for texts in members
                    for text in (texts.combined, texts.answer, texts.passage)
                ),
                says=(text.norm for texts in members for text in (texts.answer, texts.passage)),
            )
        return vocabulary

    # --- scoring -----------------------------------------------------------------------------

    def _match(self, question: str) -> MatchResult:
        norm = self._normalised(question)
        if not norm:
            return MatchResult(question, norm, Outcome.NONE, (), "问题里没有可以匹配的文字")
        frame = self.frame(question, norm)
        query = self._query(norm)
        ranked = self._rank(query, frame, ())
        # The entry of what is set aside is left out when it competes with another; when it
        # leads, it holds what is asked as well (除了受理的那些，剩下的复议申请呢: the breakdown).
        known = self._known_entry(question)
        avoid: set[int] = set()
        if known is not None and any(c.entry.id == known for c in ranked[1:CONFIDENT_CANDIDATES]):
            avoid.add(self._index_of[known])
        # An entry about the other term of a distinct pair (行政诉讼 for 行政复议) is about
        # something else: it neither leads nor sets the bar the leader is judged against.
        if frame.distinct:
            leading = (self._index_of[c.entry.id] for c in ranked[:CONFIDENT_CANDIDATES])
            avoid.update(i for i in leading if other_terms(frame, self._entries[i].statement))
        if avoid:
            ranked = self._rank(query, frame, (), avoid=frozenset(avoid))
        return self._decide(question, norm, frame, ranked)

    def _known_entry(self, question: str) -> str | None:
        """The entry that answers what the question sets aside as known (除了打官司), when one
        answers it surely: it is not what the question asks for, nor a rival to what it
        does (律师们除了打官司还干了什么 asks for the lawyers' other work)."""
        known = set_aside(question)
        norm = self._normalised(known) if known else ""
        if not norm:
            return None
        # Ranking reads only what the frame asks for (`fit`), as in `rival`.
        frame = asking(self._cleaned_question(known))
        ranked = self._rank(self._query(norm), frame, ())
        if ranked and ranked[0].confidence >= self.model.answer_at:
            return ranked[0].entry.id
        return None

    def _normalised(self, question: str) -> str:
        norm = self._norms.get(question)
        return self._bridged(self.normalise(question)) if norm is None else norm

    def _bridged(self, norm: str) -> str:
        """`norm` with each word the knowledge base never uses, but which a dictionary sense
        ties to one of its words, replaced by that word (岁数 -> 年龄; bot/answering/lexicon.py)."""
        out: list[str] = []
        position = 0
        for word, tag in self.segmenter.tagged(norm):
            # Nouns, verbs and adjectives carry meaning; adverbs, conjunctions, measures and
            # pronouns (到底, 另外, 一块, 这块) only shape the question.
            if tag[:1] not in _BRIDGED_TAGS:
                continue
            target = self.bridges(word)
            if target is None:
                continue
            start = norm.find(word, position)
            if start < 0:
                continue
            out += [norm[position:start], target]
            position = start + len(word)
        return "".join(out) + norm[position:] if out else norm

    def _query(self, norm: str) -> _Weighted:
        """The question cut and weighed for scoring; a stored text is weighed already."""
        body = self._bodies.get(norm)
        return self._weigh(_Text.of(norm)) if body is None else body

    def _weigh(self, text: _Text) -> _Weighted:
        """IDF per token, with question and function words damped, and years too: which year
        a question pins down is checked against the entry (bot/answering/constraints.py), so a year the
        report has no figure for should not hide the entry it would otherwise find."""
        toks = text.toks
        keep = question_word_mask(toks)
        for i in text.singles:  # a year is a number, so one of the singles
            if _YEAR_TOKEN_RE.fullmatch(toks[i]):
                keep[i] = QUESTION_WEIGHT
        # Every token of a stored text has its own IDF: only a question's may need `_idf`.
        idf = list(map(self._char_idf.get, toks))
        if None in idf:
            idf = list(map(self._idf, toks))
        weights = tuple(map(mul, idf, keep))
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
        pinyin_grams = source.pinyin_grams
        # Set operations in C settle the common cases: every gram there, or none at all.
        if exact.issuperset(source.grams):
            return [1.0] * len(source.toks)
        if exact.isdisjoint(source.grams) and sounds.isdisjoint(pinyin_grams):
            for i in source.singles:
                if source.toks[i] in exact:
                    credit[i] = 1.0
            return credit
        # The exact look-ups in one pass (this is the scorer's innermost loop).
        for i, found in enumerate(map(exact.__contains__, source.grams)):
            if found:
                credit[i] = credit[i + 1] = 1.0
            elif pinyin_grams[i] in sounds:
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
        covered: float = sum(map(mul, credit, source.weights))
        return covered / source.total

    def _coverage(self, source: _Weighted, target: _Text) -> float:
        """Share of `source`'s weight whose tokens `target` covers (exactly or by pinyin)."""
        return self._share(self._credits(source.text, target), source)

    def _entry_credits(self, query: _Weighted, texts: _EntryTexts) -> list[float]:
        """Per token, its coverage by the entry as a whole: all its phrasings, and its answer
        and the report passage it rests on at a discount.

        A question may take one word from one phrasing and another from the answer
        ("执法案卷评查抽取了多少卷": 案卷评查 from a phrasing, 抽取 and 执法 from the answer), or
        ask about a detail only the report's own sentence mentions.
        """
        phrased = self._credits(query.text, texts.combined)
        answered = self._credits(query.text, texts.answer)
        # The passage is often the answer itself (one `_Text` then, see `__post_init__`).
        quoted = (
            answered if texts.passage is texts.answer else self._credits(query.text, texts.passage)
        )
        if not any(answered) and not any(quoted):  # often: the phrasings alone then
            return phrased
        answer_credit, passage_credit = texts.answer_credit, self.thresholds.passage_credit
        return [
            max(p, answer_credit * a, passage_credit * q) if a or q else p
            for p, a, q in zip(phrased, answered, quoted, strict=True)
        ]

    def content_words(self, norm: str) -> list[tuple[str, float]]:
        """The content words (segmented) of a normalised question, with their IDF; question
        and function words are left out."""
        # The mask is read over the whole question, so a question phrase that spans words
        # (工作报告中, 有哪些) is set aside as a whole.
        toks = tokens(norm)
        mask = question_word_mask(toks)
        words = []
        position = 0
        for word in self.segmenter.words(norm):
            size = len(tokens(word))
            kept = mask[position : position + size]
            position += size
            if not kept or max(kept) < 1.0:
                continue
            words.append((word, self._word_idf.get(word, self._unknown_idf)))
        return words

    def _word_parts(self, words: list[tuple[str, float]]) -> list[tuple[str, float, list[str]]]:
        """The content words with the parts of each (for a compound), cut once per question."""
        return [
            (word, weight, [p for p in self.segmenter.search_words(word) if p != word])
            for word, weight in words
        ]

    @staticmethod
    def _word_coverage(words: list[tuple[str, float, list[str]]], texts: _EntryTexts) -> float:
        """Share of the question's word weight found among the entry's words; a compound the
        entry lacks counts half when all of its parts are there."""
        total = sum(weight for _, weight, _ in words)
        if total <= 0:
            return 0.0
        found = 0.0
        known = texts.words
        for word, weight, parts in words:
            if word in known:
                found += weight
            elif parts and all(p in known for p in parts):
                found += 0.5 * weight
        return found / total

    def _rank(
        self,
        query: _Weighted,
        frame: QuestionFrame,
        exclude: Collection[str],
        avoid: frozenset[int] = frozenset(),
    ) -> list[Candidate]:
        """Entries best first; `exclude` leaves stored phrasings out, `avoid` whole entries
        (by index)."""
        shortlist = self._shortlisted(query, exclude, avoid)
        if not shortlist:
            return []
        # Second pass: full coverage scoring of the shortlist; entry-level coverage once per entry.
        known_weight = self._known_weight(query)
        words = self._word_parts(self.content_words(query.text.norm))
        entry_facts: dict[int, _EntryFacts] = {}
        # Per entry, its best phrasing and what `_scored` made of it; a candidate is made only
        # of that one.
        best: dict[int, tuple[_Phrase, tuple[float, float, float, float]]] = {}
        for number in shortlist:
            phrase = self._phrases[number]
            index = phrase.entry_index
            facts = entry_facts.get(index)
            if facts is None:
                texts = self._entries[index]
                covered = self._covered(query, texts)
                kind_fit = fit(frame, texts.statement)
                facts = entry_facts[index] = self._facts(
                    query, covered, known_weight, words, texts, kind_fit
                )
            current = best.get(index)
            beat = -1.0 if current is None else current[1][0]
            scored = self._scored(query, phrase, facts.coverage, facts.kind_fit, beat)
            if scored is not None and (current is None or scored[0] > beat):
                best[index] = (phrase, scored)
        order = sorted(best.items(), key=lambda item: item[1][1][0], reverse=True)
        ranked: list[Candidate] = []
        for place, (index, (phrase, scored)) in enumerate(order):
            shown = self._shown(phrase, entry_facts[index], scored)
            # Only the leading candidates are ever answered, suggested or offered; the rest
            # keep confidence 0 (the model's call is not needed to rank them).
            confidence = 0.0
            if place < CONFIDENT_CANDIDATES:
                runner_up = order[place + 1][1][1][0] if place + 1 < len(order) else 0.0
                confidence = round(self.model.probability(features_against(shown, runner_up)), 4)
            ranked.append(Candidate(*shown, confidence))
        return ranked

    def _shortlisted(
        self, query: _Weighted, exclude: Collection[str], avoid: frozenset[int] = frozenset()
    ) -> list[int]:
        """The phrasings the second pass scores: the first pass's best hits (`_shortlist`),
        those in `exclude` and those of the entries in `avoid` left out."""
        if not query.text.toks:
            return []
        # First pass: weighted bigram hits per phrase, from the postings only (`_walks` says
        # which and how much of each).
        hits: dict[int, float] = {}
        hit, credit_of = hits.get, self._credit_of
        for postings, weight in self._walks(query):
            for number in postings:
                hits[number] = hit(number, 0.0) + weight * credit_of[number]
        if not hits:
            return []
        for raw in exclude:
            for number in self._numbers_of.get(raw, ()):
                hits.pop(number, None)
        if avoid:
            entry_of = self._entry_of
            hits = {
                number: found for number, found in hits.items() if entry_of[number] not in avoid
            }
        return self._shortlist(hits)

    def _known_weight(self, query: _Weighted) -> float:
        known = self._known
        return sum(w for tok, w in zip(query.text.toks, query.weights, strict=True) if tok in known)

    def _covered(self, query: _Weighted, texts: _EntryTexts) -> float:
        """The query's IDF mass the entry as a whole covers (`_entry_credits`)."""
        covered: float = sum(map(mul, self._entry_credits(query, texts), query.weights))
        return covered

    def _facts(
        self,
        query: _Weighted,
        covered: float,
        known_weight: float,
        words: list[tuple[str, float, list[str]]],
        texts: _EntryTexts,
        kind_fit: float,
    ) -> _EntryFacts:
        return _EntryFacts(
            coverage=covered / query.total if query.total > 0 else 0.0,
            evidence=covered,
            known_coverage=covered / known_weight if known_weight > 0 else 0.0,
            word_coverage=self._word_coverage(words, texts),
            kind_fit=kind_fit,
        )

    def _walks(self, query: _Weighted) -> list[tuple[Sequence[int], float]]:
        """The postings the first pass walks for `query`, each with the weight of a hit.

        Grams found in a large share of all phrasings (stop-grams, like 行政 in a big knowledge
        base) say little about which phrasing is meant and cost the most to walk, so they are
        left to the second pass, unless the question has nothing rarer to go on: then only its
        rarest grams are walked, up to `walk_limit` postings in all (on a base generated from
        one text, every word of a question may be in hundreds of phrasings). No gram is walked
        past its first `walk_limit` postings, its best-placed phrasings (`_order_postings`), so
        a question costs at most `walk_limit` postings per gram whatever the size of the base.
        """
        limits = self.thresholds
        query_text, weights = query.text, query.weights
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
        walked = [(p, w) for p, w in lookups if len(p) <= common]
        if not walked:
            rarest_first = sorted(range(len(lookups)), key=lambda i: len(lookups[i][0]))
            chosen: set[int] = set()
            spent = 0
            for i in rarest_first:
                size = min(len(lookups[i][0]), limits.walk_limit)
                if chosen and spent + size > limits.walk_limit:
                    break
                chosen.add(i)
                spent += size
            walked = [lookups[i] for i in sorted(chosen)]
        return [
            (p if len(p) <= limits.walk_limit else p[: limits.walk_limit], w) for p, w in walked
        ]

    def postings_walked(self, question: str) -> int:
        """How many postings the first pass walks for `question`: the part of a question's
        cost that grows with the base, bounded by `walk_limit` (tests and benchmarks read it)."""
        query = self._query(self._normalised(question))
        return sum(len(postings) for postings, _ in self._walks(query)) if query.text.toks else 0

    def _order_postings(self) -> None:
        """Put every posting list longer than `walk_limit` best-first, since only its head is
        ever walked: stored phrasings before answers, then the shortest, in which the gram is
        the largest share (the "champion lists" of information retrieval). Shorter lists stay
        in phrasing order."""
        limit = self.thresholds.walk_limit
        long = [
            postings
            for table in (self._postings, self._pinyin_postings)
            for postings in table.values()
            if len(postings) > limit
        ]
        if not long:
            return
        # Every phrasing's place in that order, worked out once for all the lists.
        phrases = self._phrases
        best_first = sorted(
            range(len(phrases)), key=lambda n: (-phrases[n].credit, phrases[n].body.total)
        )
        place = [0] * len(phrases)
        for rank, number in enumerate(best_first):
            place[number] = rank
        for postings in long:
            postings.sort(key=place.__getitem__)

    def _shortlist(self, hits: dict[int, float]) -> list[int]:
        """The best-hit phrasings, at most `phrases_per_entry` from any one entry.

        Without the cap, an entry with many similar phrasings (or a common word shared by a
        whole section) could fill the shortlist and crowd the right entry out.
        """
        limits = self.thresholds
        per_entry: dict[int, int] = defaultdict(int)
        picked: list[int] = []
        totals, entry_of = self._total_of, self._entry_of
        pool = _top(hits, limits.candidate_phrases * 4)
        # Hits approximate how much of the question a phrasing covers; dividing by the
        # phrasing's own weight also favours phrasings the question covers completely, so a
        # short exact keyword is not lost behind long sentences that share the same words.
        promise = [
            found * (1.0 + min(1.0, found / (2.0 * totals[number])))
            for number, found in zip(pool, map(hits.__getitem__, pool), strict=True)
        ]
        for place in sorted(range(len(pool)), key=promise.__getitem__, reverse=True):
            number = pool[place]
            index = entry_of[number]
            if per_entry[index] < limits.phrases_per_entry:
                per_entry[index] += 1
                picked.append(number)
                if len(picked) == limits.candidate_phrases:
                    break
        return picked

    def _shown(
        self, phrase: _Phrase, facts: _EntryFacts, scored: tuple[float, float, float, float]
    ) -> _Shown:
        """What a candidate shows of `phrase` and its entry, rounded as candidates carry it."""
        score, query_coverage, phrase_coverage, similarity = scored
        return _Shown(
            self.kb.entries[phrase.entry_index],
            score,
            phrase.raw,
            round(query_coverage, 4),
            round(phrase_coverage, 4),
            round(similarity, 4),
            round(facts.evidence, 4),
            round(min(facts.known_coverage, 1.0), 4),
            round(facts.word_coverage, 4),
            round(facts.kind_fit, 4),
        )

    def _scored(
        self,
        query: _Weighted,
        phrase: _Phrase,
        coverage: float,
        kind_fit: float,
        beat: float = -1.0,
    ) -> tuple[float, float, float, float] | None:
        """A phrasing's score (rounded, as candidates carry it) and what it is made of: query
        coverage, phrase coverage and similarity (unrounded). `coverage` and `kind_fit` are
        its entry's (`_EntryFacts`); `_bound` must stay an upper bound of the score.

        None when the score cannot exceed `beat` (its entry's best so far: only an entry's
        best phrasing counts). The query coverage settles that most of the time, before the
        phrase coverage and the similarity are worked out: they can add at most their full
        share, as in `_bound`.
        """
        limits = self.thresholds
        covered_by_phrase = phrase.credit * self._coverage(query, phrase.body.text)
        # Words of the question may be spread over several phrasings, or appear only in the answer
        # (a law firm's name, say); the entry as a whole can cover what one phrasing does not.
        query_coverage = max(covered_by_phrase, limits.entry_credit * coverage)
        negated = phrase.body.text.negated != query.text.negated
        costs = self._kept(query.text, self._entries[phrase.entry_index], kind_fit, negated)
        if beat >= 0.0:
            most = query_coverage**1.5
            for kept in costs:
                most *= kept
            if most * (1.0 + 1e-9) <= beat:
                return None
        phrase_coverage = self._coverage(phrase.body, query.text)
        similarity = fuzz.ratio(query.text.norm, phrase.body.text.norm) / 100.0
        score = query_coverage**1.5 * (0.55 + 0.3 * phrase_coverage + 0.15 * similarity)
        for kept in costs:
            score *= kept
        return round(min(score, 1.0), 4), query_coverage, phrase_coverage, similarity

    def _kept(
        self, question: _Text, texts: _EntryTexts, kind_fit: float, negated: bool
    ) -> tuple[float, float, float]:
        """The shares of a score its costs leave, applied in turn by `_scored` and `_bound`:
        the kind of answer (`kind_fit`), negation (`negated`: the question and the phrasing
        disagree), and the mood, when the question asks about another part of the report
        than the entry's (plans against what was done, either way; shortcomings against what
        was done)."""
        limits = self.thresholds
        mood = 1.0
        if texts.plan != question.future:
            mood *= 1.0 - limits.tense_mismatch_cost
        # A question of shortcomings against what was done, or of remedies against a
        # shortcoming.
        if (question.problem and not texts.problem) or (question.remedy and texts.problem):
            mood *= 1.0 - limits.problem_mismatch_cost
        return (
            1.0 - limits.kind_mismatch_cost * (1.0 - kind_fit),
            1.0 - limits.negation_mismatch_cost if negated else 1.0,
            mood,
        )

    def _decide(
        self, question: str, norm: str, frame: QuestionFrame, ranked: list[Candidate]
    ) -> MatchResult:
        limits, model = self.thresholds, self.model
        if not ranked:
            return MatchResult(
                question, norm, Outcome.NONE, (), "没有任何条目与问题有共同的词", frame
            )
        best = ranked[0]
        # A bare number ("2", "300") names no subject: answer it only when it is a stored
        # phrasing word for word ("92.3%"), otherwise offer what it might refer to.
        numbers_only = all(tok[0].isdigit() for tok in tokens(norm))
        if best.confidence >= model.answer_at and (not numbers_only or best.similarity >= 1.0):
            also = tuple(
                c
                for c in ranked[1:3]
                if c.score >= best.score - model.also_within and c.confidence >= model.suggest_at
            )
            reason = f"置信度 {best.confidence:.2f} ≥ 回答线 {model.answer_at:.2f}"
            return MatchResult(
                question, norm, Outcome.ANSWER, (best, *also), reason, frame, tuple(ranked)
            )
        if best.confidence >= model.suggest_at or (numbers_only and best.confidence > 0):
            floor = best.score - limits.suggest_window
            picks = tuple(c for c in ranked if c.score >= floor)[: limits.max_suggestions]
            reason = (
                f"置信度 {best.confidence:.2f} 低于回答线 {model.answer_at:.2f}，"
                f"但达到建议线 {model.suggest_at:.2f}"
            )
            return MatchResult(question, norm, Outcome.SUGGEST, picks, reason, frame, tuple(ranked))
        reason = f"置信度 {best.confidence:.2f} 低于建议线 {model.suggest_at:.2f}"
        return MatchResult(
            question, norm, Outcome.NONE, tuple(ranked[:3]), reason, frame, tuple(ranked)
        )
