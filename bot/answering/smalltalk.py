"""Small talk: a message that is nothing but a greeting, thanks, goodbye or "who are you".

People open with 你好, close with 谢谢, and ask the bot what it is. Answering those with "not in
the report" is the first thing a person would hold against the bot. The phrases of each kind
live in knowledge/replies.yaml (`smalltalk:`), with the reply for each kind. A greeting followed
by a question is a question: the normaliser drops the greeting. Pure: no Telegram, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from bot.answering.text import clean

# Particles and interjections that colour small talk without changing it (你好呀, 谢谢啦～).
_PARTICLES_RE = re.compile(r"[呀啊哈啦嘛呢吧哦呗嗯噢哇喔咯了的]+")
# When a message mixes kinds (你好，你是谁), the one that asks most decides the reply.
_PRECEDENCE = ("who", "thanks", "goodbye", "praise", "greeting")
EMOJI = "emoji"


def small_talk(message: str, table: Mapping[str, tuple[str, ...]]) -> str | None:
    """The kind of small talk `message` is, or None when it says anything else.

    The message must be made of the table's phrases alone (particles and punctuation aside),
    so 你好，请问复议申请有多少件 is a question, not a greeting. A message of emoji and symbols
    only is the kind "emoji" when the table has it.
    """
    if _only_symbols(message):
        return EMOJI if EMOJI in table else None
    rest = _PARTICLES_RE.sub("", clean(message).replace(" ", ""))
    phrases = _phrases(tuple((kind, tuple(ps)) for kind, ps in table.items()))
    if not rest or len(rest) > phrases.longest_message:
        return None
    kinds: set[str] = set()
    while rest:
        for phrase, kind in phrases.by_first.get(rest[0], ()):
            if rest.startswith(phrase):
                kinds.add(kind)
                rest = rest[len(phrase) :]
                break
        else:
            return None
    return next((kind for kind in _PRECEDENCE if kind in kinds), min(kinds))


@dataclass(frozen=True)
class _Phrases:
    by_first: dict[
        str, tuple[tuple[str, str], ...]
    ]  # first character -> (phrase, kind), longest first
    longest_message: int  # longer messages cannot be small talk alone


@lru_cache(maxsize=8)
def _phrases(table: tuple[tuple[str, tuple[str, ...]], ...]) -> _Phrases:
    """The table folded and indexed once (a knowledge base's table is reused for every message)."""
    folded = sorted(
        ((_folded(p), kind) for kind, ps in table for p in ps if _folded(p)),
        key=lambda item: -len(item[0]),
    )
    by_first: dict[str, list[tuple[str, str]]] = {}
    for phrase, kind in folded:
        by_first.setdefault(phrase[0], []).append((phrase, kind))
    # A few phrases in a row at most ("你好谢谢再见"); anything longer is a question.
    longest = 3 * max((len(p) for p, _ in folded), default=0)
    return _Phrases({k: tuple(v) for k, v in by_first.items()}, longest)


def _folded(phrase: str) -> str:
    return _PARTICLES_RE.sub("", clean(phrase).replace(" ", ""))


def _only_symbols(message: str) -> bool:
    """Emoji, symbols and punctuation, and at least one symbol (not an empty message)."""
    kept = [
        ch for ch in message if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")
    ]
    return (
        bool(kept)
        and all(unicodedata.category(ch)[0] in "SP" for ch in kept)
        and any(unicodedata.category(ch)[0] == "S" for ch in kept)
    )
