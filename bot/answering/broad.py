"""Broad questions: one word that many parts of the report speak of.

`执法` or `改革` alone is not a question about one fact: a dozen entries across several sections
cover it completely. Answering with whichever of them scores highest gives one narrow fact as
if it were the answer. Instead the reply names the sections that speak of the word and offers
the best entry of each. Pure: no Telegram, no database.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.answering.knowledge import Entry
from bot.answering.matcher import MatchResult
from bot.answering.text import is_cjk, tokens

# A broad question is short: at most this many characters once normalised...
MAX_BROAD_CHARS = 4
# ...covered completely by entries in at least this many sections...
MIN_SECTIONS = 3
# ...where "completely" means at least this share of the question.
FULL_COVERAGE = 0.95
MAX_SECTIONS_SHOWN = 6


def broad_sections(result: MatchResult, order: Sequence[str]) -> list[tuple[str, Entry]]:
    """The sections that speak of a one-word question, with the best entry of each, in the
    report's `order` of sections; empty when the question is not broad (or names a stored
    phrasing word for word)."""
    toks = tokens(result.normalised)
    if not toks or len(toks) > MAX_BROAD_CHARS or not all(is_cjk(t) for t in toks):
        return []
    best = result.best
    if best is None or best.similarity >= 1.0:
        return []
    per_section: dict[str, Entry] = {}
    for candidate in result.ranked:
        if candidate.query_coverage >= FULL_COVERAGE:
            per_section.setdefault(candidate.entry.source, candidate.entry)
    if len(per_section) < MIN_SECTIONS:
        return []
    rank = {section: index for index, section in enumerate(order)}
    found = sorted(per_section.items(), key=lambda item: rank.get(item[0], len(rank)))
    return found[:MAX_SECTIONS_SHOWN]
