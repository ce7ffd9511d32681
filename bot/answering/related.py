"""Which other entries to offer under an answer: a few, and none the answer already gives.

An answer used to carry every close runner-up and every related entry, up to six buttons, some
asking for figures the answer had just stated ("受理了多少件" under an answer that says 受理22件).
A person reads a button as "there is more to know here", so a button that repeats the answer
wastes their tap and their trust. Pure: no Telegram, no database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.answering.document import fold
from bot.answering.knowledge import Entry, KnowledgeBase

# At most this many entries are offered under one answer.
MAX_OFFERED = 3

# A figure with its unit (29件, 92.3%, 181人), so that 1月 and 1件 are different facts.
_FIGURE_RE = re.compile(r"\d+(?:\.\d+)?(?:%|[\u4e00-\u9fff])?")
_YEAR_RE = re.compile(r"(?:19|20)\d\d(?=年)")

OfferKind = Literal["also", "related"]


@dataclass(frozen=True)
class Offer:
    """One entry offered under an answer: a close runner-up (`also`) or a related entry."""

    entry: Entry
    kind: OfferKind


def figures(text: str) -> frozenset[str]:
    """The figures `text` states, each with its unit (29件, 92.3%, 62个), years aside."""
    return _figures(text)


@lru_cache(maxsize=4096)
def _figures(text: str) -> frozenset[str]:
    return frozenset(_FIGURE_RE.findall(_YEAR_RE.sub(" ", text)))


@lru_cache(maxsize=4096)
def _folded(text: str) -> str:
    return fold(text)


@lru_cache(maxsize=4096)
def _telling(answer: str) -> bool:
    """Whether an answer's figures say enough to recognise it: at least one has two digits or
    more, for many different facts share a single-digit count (告知1件, 撤回1件, 中止1件)."""
    return any(sum(ch.isdigit() for ch in figure) > 1 for figure in _figures(answer))


def already_stated(shown: str, other: Entry) -> bool:
    """Whether `shown` (an answer as sent) already gives what `other` answers: its whole answer,
    or every figure of it (when those figures are telling; see `_telling`)."""
    if _folded(other.answer) in _folded(shown):
        return True
    return _telling(other.answer) and _figures(other.answer) <= _figures(shown)


def offers(
    kb: KnowledgeBase,
    entry: Entry,
    shown: str,
    also: Sequence[Entry] = (),
    limit: int = MAX_OFFERED,
) -> list[Offer]:
    """The entries to offer under `entry`'s answer (sent as `shown`): its close runners-up
    first, then its related entries; each once, none that `shown` already states, at most
    `limit`.

    Args:
        also: the close runners-up of the question (`Reply.also`); empty when browsing.
    """
    chosen: list[Offer] = []
    seen = {entry.id}
    related = [kb.by_id[i] for i in entry.related if i in kb.by_id]
    candidates: list[tuple[Entry, OfferKind]] = [(e, "also") for e in also]
    candidates += [(e, "related") for e in related]
    for other, kind in candidates:
        if len(chosen) >= limit:
            break
        if other.id in seen or already_stated(shown, other):
            continue
        seen.add(other.id)
        chosen.append(Offer(other, kind))
    return chosen
