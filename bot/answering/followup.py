"""Follow-up questions: a message that names only the new detail of the previous question.

After "2019年复议申请有多少件", people ask "那2018年呢", "受理了几件", "比上年少了多少". Read
alone, these find nothing or something unrelated. The front end keeps, per chat, what the last
answered question was (`Context`, for a few minutes); the engine reads a short or elliptical
message together with it and keeps whichever reading the matcher is surer of. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answering.text import clean

# How long a chat's last question stays the context of the next message.
FOLLOW_UP_SECONDS = 600.0
# A message this short (characters, once folded) may lean on the previous question.
MAX_FOLLOW_UP_CHARS = 16

_OPENING_RE = re.compile(r"^(?:那么?|那个|还有|另外|再问一?下|再问|然后|那要是|要是|如果是)\s*")
_CLOSING_RE = re.compile(r"(?:的呢|呢|的情况|的|呀|啊|吗)\s*$")
_MARKED_RE = re.compile(r"^(?:那|还有|另外|再问)|呢\s*$")
# A year the message names instead of the previous one (not 上年, which compares).
_YEAR_RE = re.compile(r"(?:19|20)\d\d年|去年|今年|前年|明年")


@dataclass(frozen=True)
class Context:
    """What a chat remembers of its last answered question."""

    question: str  # as the engine understood it (a follow-up's combined reading)
    entry_id: str | None
    asked_at: float  # time.monotonic() when it was answered
    report: str = ""  # the report it was answered from, among several (`Reply.report`)

    def current(self, now: float) -> Context | None:
        """This context, or None once it is too old to lean on."""
        return self if now - self.asked_at <= FOLLOW_UP_SECONDS else None


def is_marked(message: str) -> bool:
    """Whether a message says itself that it goes on from the last one (那…, …呢, 还有…) or
    names another year for the same question."""
    folded = clean(message).replace(" ", "")
    return bool(_MARKED_RE.search(folded) or _YEAR_RE.search(folded))


def may_follow_up(message: str) -> bool:
    """Whether a message is short or elliptical enough to lean on the previous question."""
    folded = clean(message).replace(" ", "")
    return bool(folded) and (len(folded) <= MAX_FOLLOW_UP_CHARS or bool(_MARKED_RE.search(folded)))


def combine(previous: str, message: str) -> str:
    """`message` read with `previous`: a new year replaces the old one (那2018年呢), and any
    other detail is added to the previous question (受理了几件)."""
    detail = _CLOSING_RE.sub("", _OPENING_RE.sub("", clean(message).strip())).strip()
    years = _YEAR_RE.findall(detail)
    base = clean(previous)
    if years and _YEAR_RE.search(base):
        base = _YEAR_RE.sub(years[0], base, count=1)
        detail = _YEAR_RE.sub("", detail).strip()
    elif years:
        base = f"{years[0]}{base}"
        detail = _YEAR_RE.sub("", detail).strip()
    return f"{base} {detail}".strip()
