"""Whether one entry's answer also answers what another entry is asked: a section's summary
states the figures and document titles of each of its details.

Two places need the same judgement: the decision model's training labels (a question about a
detail is answered right by its section's summary) and the engine, which answers a question
torn between two entries of one section with the entry that states both. Pure: no Telegram,
no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.answering.knowledge import Entry

_FACT_RE = re.compile(r"\d+(?:\.\d+)?%?|《[^》]+》")
# With no figure or title to compare, an answer covers another that shares this much of its
# character bigrams.
_SHARED_WORDING = 0.8
# An entry that covers a detail for the engine (`covering`) also says most of what it says.
_COVERED_WORDING = 0.5


def answers_for(given: Entry, own: Entry) -> bool:
    """Whether `given`'s answer would answer a question asked of `own`: it is `own`, or it
    states every figure and document title of `own`'s answer (nearly all of its wording when
    it has none)."""
    if given.id == own.id:
        return True
    if _FACT_RE.search(own.answer):
        return _states_facts(given, own)
    return _shares_wording(given, own, _SHARED_WORDING)


def covering(entries: Iterable[Entry], details: Iterable[Entry]) -> Entry | None:
    """The entry with the shortest answer among `entries` that states all of each of
    `details`: its figures and titles, and most of its wording too (two facts of one
    section share their figures: the 19家 and the dates of the case files sampled say
    nothing of who reviewed them). None when no entry does."""
    wanted = tuple(details)
    fitting = [
        e
        for e in entries
        if not e.draft
        and all(_states_facts(e, d) and _shares_wording(e, d, _COVERED_WORDING) for d in wanted)
    ]
    return min(fitting, key=lambda e: len(e.answer), default=None)


def _states_facts(given: Entry, own: Entry) -> bool:
    """Whether `given`'s answer states every figure and document title of `own`'s."""
    return set(_FACT_RE.findall(own.answer)) <= set(_FACT_RE.findall(given.answer))


def _shares_wording(given: Entry, own: Entry, share: float) -> bool:
    own_grams = _bigrams(own.answer)
    return len(own_grams & _bigrams(given.answer)) >= share * len(own_grams)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}
