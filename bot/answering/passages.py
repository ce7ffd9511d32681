"""Answering from the report's own sentences when no entry fits.

Someone reading the report asks about a detail in its wording that no entry was written for.
The report ships with the knowledge base (bot/answering/document.py), so its sentences can be searched
with the same matcher: each sentence becomes a pseudo-entry whose only phrasing and answer is
the sentence itself, and a decision model of its own (fitted beside the entry model) says when
the best sentence is worth quoting (`报告原文：……`). Pure: no Telegram, no database.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.answering.decision import DecisionModel
from bot.answering.document import Sentence
from bot.answering.knowledge import Entry, KnowledgeBase
from bot.answering.matcher import CONFIDENT_CANDIDATES, Candidate, Matcher, Outcome

ID_PREFIX = "report-sentence-"


@dataclass(frozen=True)
class Quote:
    """A sentence of the report that answers a question, and how sure the matcher is."""

    sentence: Sentence
    candidate: Candidate


def passage_knowledge(kb: KnowledgeBase) -> KnowledgeBase | None:
    """The report's sentences as pseudo-entries sharing `kb`'s synonyms, or None without a
    report."""
    if kb.document is None or not kb.document.sentences:
        return None
    entries = tuple(
        Entry(
            id=f"{ID_PREFIX}{number}",
            topic=sentence.section[-24:],
            questions=(sentence.text,),
            answer=sentence.text,
            source=sentence.section,
            passage=(sentence.text,),
            # A sentence is read as a draft is: it gives the items of a list only where it
            # lists some (`constraints.drafted`), as it cannot say what the report leaves out.
            draft=True,
        )
        for number, sentence in enumerate(kb.document.sentences)
    )
    return KnowledgeBase(
        entries=entries,
        synonyms=kb.synonyms,
        replies=kb.replies,
        fingerprint=kb.fingerprint,
        document=kb.document,
        distinct=kb.distinct,
    )


class PassageFinder:
    """Finds the sentence of the report a question asks about, when one clearly does."""

    def __init__(self, kb: KnowledgeBase, model: DecisionModel) -> None:
        sentences = passage_knowledge(kb)
        self.matcher = Matcher(sentences, model=model) if sentences is not None else None
        self._sentences = kb.document.sentences if kb.document is not None else ()

    def quote(
        self, question: str, backed_by: Collection[str] = (), *, only_backed: bool = False
    ) -> Quote | None:
        """The sentence to quote for `question`, or None when none is a confident match.

        `backed_by`: passages of the entries the question was found close to (the ones it
        would be offered), closest first. A sentence holding one of them, or part of one, as
        sure and nearly as close as the best sentence, is quoted instead (the one of the first
        such passage): the entries and the sentences then agree on it. With `only_backed`
        (the entries found the question's topic and would be offered), no other sentence is:
        the sentences and the entries then disagree, and the entries are offered.
        """
        matcher = self.matcher
        if matcher is None:
            return None
        result = matcher.match(question)
        best = result.best
        if result.outcome is not Outcome.ANSWER or best is None:
            return None
        model = matcher.model
        close = [
            c
            for c in result.ranked[:CONFIDENT_CANDIDATES]
            if c.score >= best.score - model.also_within and c.confidence >= model.answer_at
        ]
        # A passage may be one sentence, part of one, or several (a sentence within it).
        backed = next(
            (
                c
                for passage in backed_by
                for c in close
                if passage in c.entry.answer or c.entry.answer in passage
            ),
            None,
        )
        if backed is None and only_backed:
            return None
        chosen = best if backed is None else backed
        if matcher.conflicts(result.frame, chosen.entry) if result.frame else False:
            return None
        number = int(chosen.entry.id.removeprefix(ID_PREFIX))
        return Quote(self._sentences[number], chosen)
