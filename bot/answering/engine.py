"""The answering core shared by every front end (console, Telegram, inline mode).

It turns one question into a `Reply`: input checks, referrals to official channels, and the
matcher's answer / suggestions / no answer, all worded from knowledge/replies.yaml. It also owns
reloading: a knowledge base that fails validation never replaces the one being served.
Pure: no Telegram, no database.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from bot.answering.broad import broad_sections
from bot.answering.citation import cite
from bot.answering.constraints import LOOSE_MEASURES, Asked, Conflict, ConflictKind, years_in
from bot.answering.covering import covering
from bot.answering.decision import shipped_models
from bot.answering.document import Sentence, SourceDocument, short_section
from bot.answering.followup import Context, combine, is_marked, may_follow_up
from bot.answering.knowledge import (
    Entry,
    KnowledgeBase,
    KnowledgeError,
    Problem,
    Referral,
    fill,
    fingerprint,
)
from bot.answering.knowledge import load_knowledge as _load
from bot.answering.matcher import Candidate as Ranked
from bot.answering.matcher import Matcher, MatchResult, Outcome, Thresholds
from bot.answering.multipart import Part, split_question
from bot.answering.passages import PassageFinder
from bot.answering.report_choice import Candidate, How, choose
from bot.answering.routing import Router
from bot.answering.smalltalk import small_talk
from bot.answering.text import asks_arithmetic, clean
from bot.privacy import prepare_text

log = logging.getLogger(__name__)

# A question longer than this is almost always pasted text, not a question about the report.
MAX_QUESTION_CHARS = 300
# A message longer than this is not even read: it is cut here (`prepare_question`, with a note
# of its length) before any other step looks at it, and answered as too long. Enough is kept
# for a reviewer to see what was pasted; a 10 MB paste costs no more than a short question.
MAX_INPUT_CHARS = 1000
# How much surer the reading with the previous question must be to win when both answer.
FOLLOW_UP_MARGIN = 0.1
# A follow-up's combined answer must be among the message's own leading candidates.
FOLLOW_UP_CANDIDATES = 3
# How far down the ranking a count the best entry lacks is looked for (`_counting_neighbour`).
_COUNTING_DEPTH = 5


class Kind(StrEnum):
    ANSWER = "answer"
    SMALL_TALK = "smalltalk"  # a greeting, thanks, goodbye...: answered warmly, not a question
    PASSAGE = "passage"  # no entry fits, but a sentence of the report does: quoted
    OVERVIEW = "overview"  # a broad word (执法, 改革): the parts of the report that speak of it
    PARTIAL = "partial"  # the report speaks of it but not of what was asked (year, place...)
    MULTI = "multi"  # several questions in one message, each answered in `parts`
    SUGGEST = "suggest"
    NONE = "none"
    REFERRAL = "referral"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_WORDS = "no_words"


@dataclass(frozen=True)
class Reply:
    """What to tell the person, plus everything a front end or the log needs to know about it."""

    question: str
    kind: Kind
    text: str
    entry: Entry | None = None
    suggestions: tuple[Entry, ...] = ()
    match: MatchResult | None = None
    referral: Referral | None = None
    # Close runners-up offered beside an answer ("您可能还想了解").
    also: tuple[Entry, ...] = ()
    # What the report lacks of the question as asked (Kind.PARTIAL).
    conflicts: tuple[Conflict, ...] = ()
    # One reply per question of a several-question message (Kind.MULTI).
    parts: tuple[Reply, ...] = ()
    # The sentence of the report quoted (Kind.PASSAGE).
    quote: Sentence | None = None
    # The question as answered: for a follow-up, read together with the previous one.
    understood: str = ""
    # In a knowledge base of several reports: the key of the report answered from ("2020"),
    # and, when the question did not name it, the line saying which report that is (shown
    # before the reply). Both "" in a base of one report.
    report: str = ""
    note: str = ""

    def context(self, now: float) -> Context | None:
        """What the chat should remember after this reply, for a follow-up question."""
        if self.kind not in (Kind.ANSWER, Kind.PARTIAL, Kind.PASSAGE):
            return None
        entry_id = self.entry.id if self.entry is not None else None
        return Context(self.understood or self.question, entry_id, now, self.report)

    @property
    def answered(self) -> bool:
        """True only when the reply answers from the report: an entry's answer, or a quoted
        sentence of the report (for every part of a several-question message)."""
        if self.kind is Kind.MULTI:
            return all(part.answered for part in self.parts)
        return self.kind in (Kind.ANSWER, Kind.PASSAGE)

    @property
    def source(self) -> str | None:
        """The section of the report the reply rests on."""
        if self.quote is not None:
            return self.quote.section
        return self.entry.source if self.entry is not None else None

    @property
    def confidence(self) -> float:
        best = self.match.best if self.match else None
        return best.confidence if best else 0.0

    @property
    def score(self) -> float | None:
        best = self.match.best if self.match else None
        return best.score if best else None

    @property
    def normalised(self) -> str:
        return self.match.normalised if self.match else ""


@dataclass(frozen=True)
class Shelf:
    """One report's answering parts. A knowledge base of several reports has one per report,
    each matching only its own report's entries and sentences."""

    key: str  # the report's key ("2020"); "" in a base of one report
    year: int | None
    title: str
    mentions: frozenset[int]  # every year the report's text names
    matcher: Matcher
    passages: PassageFinder


@dataclass(frozen=True)
class Served:
    """Everything one version of the knowledge base answers with, swapped as one."""

    kb: KnowledgeBase
    shelves: tuple[Shelf, ...]  # oldest report first: the last is the latest
    router: Router
    review: Matcher  # over every entry of every report (`Engine.review_matcher`)


class Engine:
    """Holds the knowledge base being served and answers questions against it."""

    def __init__(
        self,
        kb: KnowledgeBase,
        directory: Path | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.directory = directory
        self.thresholds = thresholds or Thresholds()
        self._install(kb)

    @classmethod
    def from_directory(cls, directory: Path, thresholds: Thresholds | None = None) -> Engine:
        """Load and validate `directory`; raises KnowledgeError when it is broken."""
        return cls(_load(directory), directory, thresholds)

    def _install(self, kb: KnowledgeBase) -> None:
        # Everything is built first and swapped in as one attribute: a question being answered
        # during a reload sees the old or the new, never a mix.
        models = shipped_models()
        parts: list[tuple[str, int | None, KnowledgeBase]] = [
            (part.key, part.year, part.kb) for part in kb.reports
        ] or [("", None, kb)]
        shelves = tuple(
            Shelf(
                key,
                year,
                own.document.title if own.document is not None else "",
                years_in(own.document.text) if own.document is not None else frozenset(),
                Matcher(own, self.thresholds, models.entries),
                PassageFinder(own, models.passages),
            )
            for key, year, own in parts
        )
        # Built here, with the rest, so that no admin command builds it on the event loop.
        review = (
            shelves[0].matcher
            if len(shelves) == 1
            else Matcher(kb, self.thresholds, models.entries)
        )
        self._served = Served(kb, shelves, Router(kb, models.entries), review)

    @property
    def kb(self) -> KnowledgeBase:
        return self._served.kb

    @property
    def matcher(self) -> Matcher:
        """The latest report's matcher (the only one, in a base of one report)."""
        return self._served.shelves[-1].matcher

    @property
    def passages(self) -> PassageFinder:
        return self._served.shelves[-1].passages

    @property
    def router(self) -> Router:
        return self._served.router

    @property
    def review_matcher(self) -> Matcher:
        """A matcher over every entry of every report, for the review tools (/stats, the
        review report, /unanswered, teaching): they name the entries the log names, and find
        an unanswered question's nearest entry in whichever report has it. In a base of one
        report, the matcher itself."""
        return self._served.review

    def matcher_for(self, report: str) -> Matcher:
        """The matcher of report `report` (a `Reply.report`); the latest's for "" or a report
        a reload removed."""
        shelves = self._served.shelves
        return next((s.matcher for s in shelves if s.key == report), shelves[-1].matcher)

    @property
    def replies(self) -> dict[str, str]:
        return dict(self.kb.replies.messages)

    def message(self, key: str) -> str:
        return self.kb.replies[key]

    # --- reloading ---------------------------------------------------------------------------

    def changed_on_disk(self) -> bool:
        """Whether files were saved since the served version was loaded (cheap: stat only)."""
        return self.directory is not None and fingerprint(self.directory) != self.kb.fingerprint

    def reload(self) -> list[Problem]:
        """Load the directory again; on errors keep serving the current version.

        Returns the problems found (errors and warnings); the new version is live only when
        none of them is an error.
        """
        if self.directory is None:
            return [Problem("", 0, "没有知识库目录可以重新加载")]
        try:
            kb = _load(self.directory)
        except KnowledgeError as exc:
            log.warning("knowledge base reload failed; still serving the last good version")
            return exc.problems
        self._install(kb)
        log.debug("knowledge base reloaded: %d entries", len(kb.entries))
        return list(kb.warnings)

    # --- answering ---------------------------------------------------------------------------

    def respond(self, question: str, context: Context | None = None) -> Reply:
        """The reply to one message. Never raises for any input string.

        `context` is the chat's last answered question (bot/answering/followup.py), if still current: a
        short or elliptical message is also read together with it, and the surer reading wins.
        In a knowledge base of several reports the message is answered from the report it is
        about (bot/answering/report_choice.py).
        """
        served = self._served
        messages = served.kb.replies
        unread = len(question) > MAX_INPUT_CHARS
        # From here on only the prepared text exists: the normalised form, the log's columns,
        # the review clusters and a follow-up's context are all built from it.
        question = prepare_question(question)
        if unread:
            return Reply(
                question, Kind.TOO_LONG, fill(messages["too_long"], limit=MAX_QUESTION_CHARS)
            )
        stripped = _strip_invisible(question)
        if not stripped:
            return Reply(question, Kind.EMPTY, messages["empty"])
        talk = small_talk(stripped, messages.smalltalk)
        if talk is not None and f"smalltalk_{talk}" in messages.messages:
            return Reply(question, Kind.SMALL_TALK, messages[f"smalltalk_{talk}"])
        if len(stripped) > MAX_QUESTION_CHARS:
            text = fill(messages["too_long"], limit=MAX_QUESTION_CHARS)
            return Reply(question, Kind.TOO_LONG, text)
        if len(served.shelves) == 1:
            return self._respond_in(served, served.shelves[0], question, stripped, context)
        return self._respond_choosing(served, question, stripped, context)

    def _respond_choosing(
        self, served: Served, question: str, stripped: str, context: Context | None
    ) -> Reply:
        """A question in a knowledge base of several reports: answered from the report it is
        about, or the latest; when the latest has no answer and an older report has, from that
        one. The reply says which report unless the question named it."""
        shelves = served.shelves
        asked = _years_asked(shelves[-1], stripped)
        follows = context is not None and may_follow_up(stripped)
        candidates = [Candidate(s.key, s.year or 0, s.mentions) for s in shelves]
        choice = choose(candidates, asked, context.report if context and follows else None)
        shelf = shelves[choice.index]
        # The message itself moved the line of questions to another report (那2018年呢).
        switched = (
            context is not None
            and context.report != shelf.key
            and choice.how in (How.NAMED, How.MENTIONED)
        )
        reply = self._respond_in(served, shelf, question, stripped, context, switched)
        how = choice.how
        if how in (How.MENTIONED, How.CONTEXT) and reply.understood and not switched:
            how = How.NAMED  # read with the previous question, from the report it was from
        if how is How.LATEST and reply.kind in (Kind.NONE, Kind.SUGGEST):
            for older in reversed(shelves[:-1]):
                other = self._respond_in(served, older, question, stripped, None)
                if other.kind in (Kind.ANSWER, Kind.PASSAGE):
                    reply, shelf, how = other, older, How.FALLBACK
                    break
        return self._noted(served, reply, shelf, how)

    def _noted(self, served: Served, reply: Reply, shelf: Shelf, how: How) -> Reply:
        """`reply` with the line saying which report it answers from, when the question did
        not name the report and the reply answers from one."""
        if how is How.NAMED or reply.kind not in (
            Kind.ANSWER,
            Kind.PARTIAL,
            Kind.PASSAGE,
            Kind.MULTI,
        ):
            return reply
        messages = served.kb.replies
        latest = served.shelves[-1]
        if how is How.LATEST:
            others = "、".join(f"{s.year}年" for s in served.shelves if s is not shelf)
            note = fill(messages["report_latest"], title=shelf.title, others=others)
        elif how is How.FALLBACK:
            note = fill(messages["report_fallback"], latest=latest.title, title=shelf.title)
        else:
            note = fill(messages["report_chosen"], title=shelf.title)
        return replace(reply, note=note)

    def _respond_in(
        self,
        served: Served,
        shelf: Shelf,
        question: str,
        stripped: str,
        context: Context | None,
        switched: bool = False,
    ) -> Reply:
        """A question answered from one report, read with the previous question when it is a
        follow-up. `switched`: the message named another report than the previous question's.
        """
        reply = self._respond_message(served, shelf, question, stripped)
        if context is None or not may_follow_up(stripped):
            return reply
        marked = is_marked(stripped)
        if reply.kind is Kind.ANSWER and not marked:
            return reply  # a short question that stands on its own
        # Two readings: with the previous question as asked, and with just what it was about
        # (its entry's topic), so the previous question's own ask (收到多少) does not outvote
        # the new detail (受理了几件).
        previous = served.kb.by_id.get(context.entry_id) if context.entry_id else None
        bases = [context.question, *([previous.topic] if previous is not None else [])]
        for base in dict.fromkeys(bases):
            understood = combine(base, stripped)
            fuller = self._respond_message(served, shelf, question, understood)
            if _reads_better(fuller, reply) and _builds_on(
                fuller, reply, context, marked, switched
            ):
                return replace(fuller, understood=understood)
        return reply

    def _respond_message(self, served: Served, shelf: Shelf, question: str, stripped: str) -> Reply:
        """A message that may ask several things (bot/answering/multipart.py)."""
        whole = self._respond_one(served, shelf, question, stripped)
        if whole.kind is Kind.OVERVIEW:
            return whole
        parts = split_question(stripped)
        if len(parts) == 1:
            return whole
        replies: list[Reply] = []
        for part in parts:
            # A part that names a report's year is answered from that report; what it leaves
            # out is read from the first part as a follow-up is, its year replaced
            # (2019年收到多少复议申请？2020年呢？).
            own = _named_shelf(served.shelves, part.text)
            if own is not None and part.with_subject is not None:
                part = Part(part.text, combine(parts[0].text, part.text))
            reply = self._respond_part(served, own or shelf, part)
            if not any(_same_answer(reply, earlier) for earlier in replies):
                replies.append(reply)
        # Answer piecemeal when that finds two different facts, or finds one more surely than
        # the message as a whole does where the whole found no answer or a part asks what the
        # report does not say; a message that merely has two clauses ("有没有固定安排，是怎么
        # 学的") and reads best whole is one question.
        found = [reply for reply in replies if reply.kind in (Kind.ANSWER, Kind.PARTIAL)]
        surer = bool(found) and found[0].confidence > whole.confidence
        telling = whole.kind is not Kind.ANSWER or any(r.kind is Kind.PARTIAL for r in found)
        # The whole answered with what one part finds, while another part, asked with its own
        # sentence, only gets suggestions: answering the whole would drop that question.
        dropped = (
            whole.kind is Kind.ANSWER
            and len(found) == 1
            and _same_answer(whole, found[0])
            and any(r.kind is Kind.SUGGEST for r in replies)
            and _own_sentences(stripped, len(parts))
        )
        if len(found) < 2 and not (surer and telling) and not dropped:
            return whole
        if len(replies) == 1:  # every part came back to the same entry: one question after all
            return replace(replies[0], question=question)
        text = "\n".join(f"{n}. {reply.text}" for n, reply in enumerate(replies, 1))
        return Reply(
            question,
            Kind.MULTI,
            text,
            parts=tuple(replies),
            match=whole.match,
            report=shelf.key,
        )

    def _respond_part(self, served: Served, shelf: Shelf, part: Part) -> Reply:
        """One question of a several-question message; a part that cannot be answered alone
        because it leaves out its subject (一共多少卷) is read with the first part's."""
        reply = self._respond_one(served, shelf, part.text, part.text)
        if part.with_subject is None or reply.answered:
            return reply
        # Read alone, it may find nothing, or only what the report lacks of another subject.
        fuller = self._respond_one(served, shelf, part.text, part.with_subject)
        if fuller.answered:
            return fuller
        if reply.kind is not Kind.PARTIAL and fuller.kind is Kind.PARTIAL:
            return fuller
        return reply

    def _respond_one(self, served: Served, shelf: Shelf, question: str, stripped: str) -> Reply:
        reply = self._reply_one(served, shelf, question, stripped)
        return replace(reply, report=shelf.key) if shelf.key else reply

    def _reply_one(self, served: Served, shelf: Shelf, question: str, stripped: str) -> Reply:
        matcher = shelf.matcher
        kb = served.kb
        messages = kb.replies
        result = matcher.match(stripped)
        if not result.normalised and not _has_words(stripped):
            return Reply(question, Kind.NO_WORDS, messages["no_words"], match=result)
        if asks_arithmetic(stripped):
            return Reply(question, Kind.NONE, messages["no_answer"], match=result)
        best = result.best
        # A personal matter goes to the official channel that handles it (bot/answering/routing.py),
        # with what the report says of the matter where the channel names an entry.
        referral = served.router.route(stripped, result)
        if referral is not None:
            text = referral.reply
            about = kb.by_id.get(referral.about) if referral.about else None
            if about is not None:
                text += "\n" + fill(messages["referral_about"], answer=about.answer)
            return Reply(
                question, Kind.REFERRAL, text, entry=about, match=result, referral=referral
            )
        overview = broad_sections(result, matcher.section_order)
        if overview:
            names = "、".join(f"“{short_section(section)}”" for section, _ in overview)
            text = fill(messages["overview"], topic=result.normalised, sections=names)
            entries = tuple(entry for _, entry in overview)
            return Reply(question, Kind.OVERVIEW, text, suggestions=entries, match=result)
        # What the question pins down that the best entry does not state. A close runner-up
        # that does state it is the answer (how many case *files*: 165卷, not 19家); otherwise
        # say plainly what the report lacks, and what it does say.
        conflicts = (
            tuple(matcher.conflicts(result.frame, best.entry))
            if result.frame is not None
            and best is not None
            and result.outcome in (Outcome.ANSWER, Outcome.SUGGEST)
            else ()
        )
        if conflicts and result.frame is not None and best and _may_stand_in(result, conflicts):
            # The best only suggested (a typo'd 评茶 for 评查): a runner-up sure enough to be
            # answered on its own still is.
            floor = (
                matcher.model.suggest_at
                if result.outcome is Outcome.ANSWER
                else matcher.model.answer_at
            )
            fitting = next(
                (
                    c
                    for c in result.ranked[1:3]
                    if c.score >= best.score - matcher.model.also_within
                    and c.confidence >= floor
                    and (
                        c.entry.source == best.entry.source or c.word_coverage >= best.word_coverage
                    )
                    and not matcher.conflicts(result.frame, c.entry)
                ),
                None,
            )
            if fitting is None and result.outcome is Outcome.ANSWER:
                fitting = _counting_neighbour(
                    result, best, conflicts, matcher
                ) or _naming_neighbour(result, best, conflicts, matcher)
            if fitting is not None:
                because = _because(
                    result, f"{best.entry.id} 没有给出所问的内容，{fitting.entry.id} 给出了"
                )
                return Reply(
                    question, Kind.ANSWER, fitting.entry.answer, entry=fitting.entry, match=because
                )
        if conflicts and best is not None:
            text = fill(
                messages["partial"],
                missing="；".join(_missing(conflict, kb) for conflict in conflicts),
                answer=best.entry.answer,
            )
            return Reply(
                question, Kind.PARTIAL, text, entry=best.entry, match=result, conflicts=conflicts
            )
        if result.outcome is Outcome.ANSWER and best is not None:
            detail = _detail_under(result, best, matcher)
            if detail is not None:
                because = _because(
                    result, f"{detail.entry.id} 是 {best.entry.id} 所总述一节中的具体内容"
                )
                return Reply(
                    question,
                    Kind.ANSWER,
                    detail.entry.answer,
                    entry=detail.entry,
                    match=because,
                    also=(best.entry,),
                )
            also = tuple(c.entry for c in result.also)
            text = best.entry.answer
            compared = _compared_year(result, best.entry, matcher, _own_years(served))
            if compared is not None:  # 那2018年呢: the report gives 2018 only as a change
                text = fill(messages["other_year"], year=compared, answer=text)
            return Reply(question, Kind.ANSWER, text, entry=best.entry, match=result, also=also)
        offered = result.suggestions if result.outcome is Outcome.SUGGEST else ()
        backing = [passage for c in offered for passage in c.entry.passage]
        quote = shelf.passages.quote(
            stripped, backing, only_backed=result.outcome is Outcome.SUGGEST
        )
        if quote is not None:
            text = fill(messages["passage"], sentence=quote.sentence.text)
            return Reply(question, Kind.PASSAGE, text, match=result, quote=quote.sentence)
        if result.outcome is Outcome.SUGGEST:
            both = _covering_both(result, matcher)
            if both is not None:
                also = tuple(c.entry for c in result.suggestions[:2] if c.entry is not both)
                leading = "、".join(c.entry.id for c in result.suggestions[:2])
                because = _because(result, f"{leading} 同属一节，{both.id} 同时说明了两者")
                return Reply(
                    question, Kind.ANSWER, both.answer, entry=both, match=because, also=also
                )
            entries = tuple(c.entry for c in result.suggestions)
            return Reply(
                question, Kind.SUGGEST, messages["suggest_intro"], suggestions=entries, match=result
            )
        return Reply(question, Kind.NONE, messages["no_answer"], match=result)

    def answer_entry(self, entry_id: str, question: str = "") -> Reply | None:
        """The reply for a chosen entry (a suggestion or menu button), or None if it is gone."""
        entry = self.kb.by_id.get(entry_id)
        if entry is None:
            return None
        return Reply(
            question or entry.questions[0],
            Kind.ANSWER,
            entry.answer,
            entry=entry,
            report=entry.report,
        )


def _because(result: MatchResult, why: str) -> MatchResult:
    """`result` with `why` the engine answered with an entry other than the best-ranked one
    (shown by /why)."""
    return replace(result, reason=f"{result.reason}；{why}")


def _detail_under(result: MatchResult, best: Ranked, matcher: Matcher) -> Ranked | None:
    """A runner-up from a subsection of the best entry's section, when the best sums that
    section up: 共性问题下一步怎么处理 names one of the plans, and the summary of all the plans
    found it only through its 下一步 and a mention in passing. The detail must be as sure an
    answer on its own, hold more of the question's words (a question of plans in general holds
    no more of them in any one plan), and state what the question pins down."""
    section = best.entry.source
    for candidate in result.ranked[1:3]:
        source = candidate.entry.source
        if (
            source != section
            and source.startswith(section)
            and candidate.confidence >= matcher.model.answer_at
            and candidate.word_coverage > best.word_coverage
            and (result.frame is None or not matcher.conflicts(result.frame, candidate.entry))
        ):
            return candidate
    return None


def _counting_neighbour(
    result: MatchResult, best: Ranked, conflicts: tuple[Conflict, ...], matcher: Matcher
) -> Ranked | None:
    """An entry of the best entry's section that gives the number the best one lacks.

    The question found its topic but asked to count a thing (多少执法案卷) of which the best
    entry gives no number (19家执法部门). A lower-ranked entry of the same section that
    counts exactly that thing (共计165卷), and is otherwise free of conflicts, is the answer.
    A count asked only by its measure (有几个) is not enough: a section gives many numbers in
    the common measures, and the one that happens to be there is not the one asked for. A
    measure that names what it counts (多少卷, 几人次) is, from a neighbour nearly as close to
    the question (within the suggestion window): the best entry gives no number in that
    measure, and the neighbour, free of conflicts, does."""
    assert result.frame is not None
    measured = bool(result.frame.measures - LOOSE_MEASURES)
    if not conflicts or any(
        c.kind is not ConflictKind.COUNTED
        and not (measured and c.kind is ConflictKind.ASKED and c.detail == Asked.COUNT.value)
        for c in conflicts
    ):
        return None
    counted = [c for c in conflicts if c.kind is ConflictKind.COUNTED]
    # Without a counted word, only the measure says what the neighbour's number is of.
    floor = best.score - matcher.thresholds.suggest_window if not counted else 0.0
    return next(
        (
            c
            for c in result.ranked[1:_COUNTING_DEPTH]
            if c.entry.source == best.entry.source
            and c.confidence >= matcher.model.suggest_at
            and c.score >= floor
            and all(matcher.gives_count_of(conflict.detail, c.entry) for conflict in counted)
            and not matcher.conflicts(result.frame, c.entry)
        ),
        None,
    )


def _may_stand_in(result: MatchResult, conflicts: tuple[Conflict, ...]) -> bool:
    """Whether another entry may answer for a best entry with these conflicts: always when
    the best was sure enough to answer; when it was only suggested, for a count it does not
    give (多少卷 of the departments' 19家), the one kind of answer whose absence an entry's
    statement shows for certain."""
    return result.outcome is Outcome.ANSWER or all(
        c.kind is ConflictKind.COUNTED
        or (c.kind is ConflictKind.ASKED and c.detail == Asked.COUNT.value)
        for c in conflicts
    )


def _naming_neighbour(
    result: MatchResult, best: Ranked, conflicts: tuple[Conflict, ...], matcher: Matcher
) -> Ranked | None:
    """An entry of the best entry's section, or of a subsection of it, that gives what the
    best one lacks of a kind only a few entries of a section give: the names asked for
    (跟哪些律师事务所合作: the firms, where the best speaks of the team) or the form something
    is done through (三项制度以后靠什么形式督促: 借助联席会…等形式, where the best defines them)."""
    assert result.frame is not None
    if any(
        c.kind is not ConflictKind.NAMED
        and not (c.kind is ConflictKind.ASKED and c.detail == Asked.MEANS.value)
        for c in conflicts
    ):
        return None
    return next(
        (
            c
            for c in result.ranked[1:_COUNTING_DEPTH]
            if c.entry.source.startswith(best.entry.source)
            and c.confidence >= matcher.model.suggest_at
            and not matcher.conflicts(result.frame, c.entry)
        ),
        None,
    )


def _covering_both(result: MatchResult, matcher: Matcher) -> Entry | None:
    """The entry that answers for both leading suggestions when they are of one section.

    A question torn between two facts of one section (区里领导干部平时是咋学法的: the
    常务会前专题学法 twice a year, or the quarterly 以案释法) is about that part of the
    report; the entry that states both (its summary) answers it, and the two stay on offer.
    Not when the question pins down something that entry does not state."""
    if len(result.suggestions) < 2 or result.frame is None:
        return None
    first, second = result.suggestions[0].entry, result.suggestions[1].entry
    if first.source != second.source:
        return None
    overview = covering(matcher.section_entries(first.source), (first, second))
    if overview is None or matcher.conflicts(result.frame, overview):
        return None
    return overview


_COMPARED_RE = r"(?:较|比|与|和|同){year}年"


def _compared_year(
    result: MatchResult, entry: Entry, matcher: Matcher, reported: frozenset[int] = frozenset()
) -> int | None:
    """The other year a question asks about, when the entry gives it only as a comparison
    (较2018年减少10件) rather than as a figure of its own, and no report of the knowledge base
    is that year's (`reported`: 2020年比2019年增加多少 is answered by the change itself)."""
    if result.frame is None:
        return None
    for year in sorted(result.frame.years - matcher.report_years - reported):
        if re.search(_COMPARED_RE.format(year=year), entry.answer):
            return year
    return None


def _own_years(served: Served) -> frozenset[int]:
    """The years that have a report of their own, in a base of several reports."""
    if len(served.shelves) < 2:
        return frozenset()
    return frozenset(shelf.year for shelf in served.shelves if shelf.year is not None)


def _years_asked(shelf: Shelf, text: str) -> frozenset[int]:
    """The years a message names, as written or once normalised (去年 -> 2019年)."""
    return years_in(f"{clean(text)} {shelf.matcher.normalise(text)}")


def _named_shelf(shelves: tuple[Shelf, ...], text: str) -> Shelf | None:
    """The report whose year `text` names (the latest of them), among several; else None."""
    if len(shelves) < 2:
        return None
    asked = _years_asked(shelves[-1], text)
    named = [shelf for shelf in shelves if shelf.year in asked]
    return named[-1] if named else None


_READING_RANK = {Kind.ANSWER: 3, Kind.PASSAGE: 2, Kind.PARTIAL: 2, Kind.MULTI: 2}


def _reads_better(fuller: Reply, alone: Reply) -> bool:
    """Whether a follow-up read with the previous question beats the message read alone: it
    answers where the message alone does not, or as surely and more than a little surer."""
    if alone.kind in (Kind.REFERRAL, Kind.OVERVIEW):
        return False
    rank_fuller, rank_alone = _READING_RANK.get(fuller.kind, 0), _READING_RANK.get(alone.kind, 0)
    if rank_fuller != rank_alone:
        return rank_fuller > rank_alone
    return rank_fuller > 0 and fuller.confidence > alone.confidence + FOLLOW_UP_MARGIN


def _builds_on(
    fuller: Reply, alone: Reply, context: Context, marked: bool, switched: bool = False
) -> bool:
    """Whether the combined reading answers the message, not just the previous question again.

    "明天天气怎么样" after an answer would otherwise come back as that answer: the previous
    question carries the whole match. The combined answer's entry must be one the message alone
    already points at (among its leading candidates, by at least one word of the message: a
    leading candidate of "附近有什么好酒店" shares nothing with it); or the message says it follows
    on (那…呢, another year) and either points nowhere by itself or asks the previous entry again
    (那2018年呢).
    """
    entry = fuller.entry
    if entry is None:
        return marked
    leading = alone.match.ranked[:FOLLOW_UP_CANDIDATES] if alone.match is not None else ()
    alone_ids = {c.entry.id for c in leading if c.word_coverage > 0}
    if entry.id in alone_ids:
        return True
    return marked and (not alone_ids or entry.id == context.entry_id or switched)


def _own_sentences(message: str, parts: int) -> bool:
    """Whether each of a message's `parts` questions ends with its own question mark."""
    return len(re.findall(r"[?？]", message)) >= parts


def _same_answer(reply: Reply, other: Reply) -> bool:
    return reply.entry is not None and reply.entry == other.entry


def _missing(conflict: Conflict, kb: KnowledgeBase) -> str:
    """What the report lacks, in the words of replies.yaml (missing_year, missing_count...)."""
    key = (
        f"missing_{conflict.detail}"
        if conflict.kind is ConflictKind.ASKED
        else f"missing_{conflict.kind.value}"
    )
    return fill(kb.replies[key], detail=conflict.detail)


def prepare_question(question: str, limit: int = MAX_INPUT_CHARS) -> str:
    """A message as every later step sees it (`bot.privacy.prepare_text`): repaired, personal
    data masked, and cut after `limit` characters with a note of its length. Never raises."""
    return prepare_text(question, limit)


def _strip_invisible(text: str) -> str:
    """Drop control and format characters (zero-width, bidi marks) and outer whitespace."""
    return "".join(
        ch for ch in text if ch in "\n\t " or unicodedata.category(ch) not in ("Cc", "Cf")
    ).strip()


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def format_plain(
    reply: Reply,
    source_label: str = "来源",
    document: SourceDocument | None = None,
    documents: Mapping[str, SourceDocument | None] | None = None,
) -> str:
    """The reply as plain text, for the console; `document` adds the report's title, issuer,
    date and number to each source line; `documents` (`KnowledgeBase.documents`) are the
    reports of a base of several, by key, each cited for the replies answered from it."""
    lines = [reply.note] if reply.note else []
    return "\n".join([*lines, _plain(reply, source_label, document, documents or {})])


def _plain(
    reply: Reply,
    source_label: str,
    document: SourceDocument | None,
    documents: Mapping[str, SourceDocument | None],
) -> str:
    if reply.kind is Kind.MULTI:
        return "\n".join(
            f"{n}. {_plain(part, source_label, document, documents)}"
            for n, part in enumerate(reply.parts, 1)
        )
    if reply.kind in (Kind.ANSWER, Kind.PARTIAL, Kind.PASSAGE) and reply.source is not None:
        report = reply.entry.report if reply.entry is not None else reply.report
        cited = documents.get(report, document)
        return f"{reply.text}\n{source_label}：{cite(reply.source, cited)}"
    if reply.kind is Kind.OVERVIEW:
        lines = [reply.text]
        lines += [f"  {n}. {entry.topic}" for n, entry in enumerate(reply.suggestions, 1)]
        return "\n".join(lines)
    if reply.kind is Kind.SUGGEST:
        lines = [reply.text]
        lines += [f"  {n}. {entry.questions[0]}" for n, entry in enumerate(reply.suggestions, 1)]
        return "\n".join(lines)
    return reply.text
