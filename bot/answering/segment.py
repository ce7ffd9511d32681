"""Chinese word segmentation for the word-level signals of matching.

Character bigrams (bot/answering/matcher.py) forgive typos and odd word boundaries; words say what a
question is *about*. The segmenter is jieba's dictionary and algorithm (jieba-rs through rjieba,
a binary wheel that loads in a tenth of a second), with the knowledge base's own terms added so
放管服 or 两法衔接 stay one word. Pure: no I/O beyond the library's built-in dictionary.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import rjieba

from bot.answering.text import is_cjk

# Enough to keep domain terms whole without outvoting jieba's general dictionary.
_TERM_FREQUENCY = 20_000


class Segmenter:
    """Cuts normalised text into words; one instance per set of added terms."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self._jieba = _jieba_with(frozenset(t for t in terms if _is_term(t)))

    def words(self, text: str) -> list[str]:
        """The words of `text`, spaces dropped (latin words and numbers stay whole)."""
        return [w for w in self._jieba.cut(text, True) if w.strip()]

    def search_words(self, text: str) -> list[str]:
        """Words plus the shorter words inside long ones (法律顾问团队 -> 法律, 顾问, 团队, ...),
        for indexing stored text so a question using part of a compound still meets it."""
        return [w for w in self._jieba.cut_for_search(text, True) if w.strip()]

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """Words with jieba's part-of-speech tags (ns: place name, nr: person name, ...)."""
        return [(w, tag) for w, tag in self._jieba.tag(text, True) if w.strip()]


def _is_term(text: str) -> bool:
    return 2 <= len(text) <= 12 and all(is_cjk(ch) for ch in text)


@lru_cache(maxsize=4)
def _jieba_with(terms: frozenset[str]) -> rjieba.Jieba:
    # Loading the dictionary is the expensive part (about 0.1 s); reloads of an unchanged
    # knowledge base share the instance.
    jieba = rjieba.Jieba()
    for term in sorted(terms):
        jieba.add_word(term, _TERM_FREQUENCY, None)
    return jieba
