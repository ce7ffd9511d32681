"""Small talk: a message that is nothing but a greeting, thanks, goodbye or "who are you", or
that asks the bot to write something (帮我写一首诗, 写一份年终总结).

People open with 你好, close with 谢谢, and ask the bot what it is. Answering those with "not in
the report" is the first thing a person would hold against the bot. The phrases of each kind
live in knowledge/replies.yaml (`smalltalk:`), with the reply for each kind. A greeting followed
by a question is a question: the normaliser drops the greeting. A request to write, translate or
draw is recognised by its form, whatever it asks for: the bot answers questions about the report
and says so, rather than matching the request's words (年终总结 ~ 年度述职) against the report.
Pure: no Telegram, no database.
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
WRITING = "writing"
# A message that opens by asking for a piece of writing: (请/你能不能)(帮我/给我) + a verb of
# making + (一)份/篇/首...; or an English "write me a ...". Not a question that names such a thing
# (报告写了几份文件, 规范性文件制发了一份).
_WRITING_RE = re.compile(
    r"^(?:请|麻烦你?|你|您)?(?:能不能|能否|可以|可不可以|能|会不会)?(?:帮我|替我|给我|帮忙|帮)?"
    r"(?:写|起草|撰写|草拟|编写|编|翻译|生成|画|作)(?:一下|个)?(?:一|1|几)?"
    r"(?:份|篇|首|段|封|张|幅|页|则)|"
    r"^(?:please |can you |could you )?(?:write|draft|compose|translate|draw|generate) "
    r"(?:me )?(?:a|an|some)\b",
    re.IGNORECASE,
)


def small_talk(message: str, table: Mapping[str, tuple[str, ...]]) -> str | None:
    """The kind of small talk `message` is, or None when it says anything else.

    The message must be made of the table's phrases alone (particles and punctuation aside),
    so 你好，请问复议申请有多少件 is a question, not a greeting. A message of emoji and symbols
    only is the kind "emoji" when the table has it.
    """
    if _only_symbols(message):
        return EMOJI if EMOJI in table else None
    cleaned = clean(message)
    if _WRITING_RE.search(cleaned.strip()):
        return WRITING
    rest = _PARTICLES_RE.sub("", cleaned.replace(" ", ""))
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
