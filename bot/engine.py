"""The answering core shared by every front end (console, Telegram, inline mode).

It turns one question into a `Reply`: input checks, referrals to official channels, and the
matcher's answer / suggestions / no answer, all worded from knowledge/replies.yaml. It also owns
reloading: a knowledge base that fails validation never replaces the one being served.
Pure: no Telegram, no database.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.knowledge import Entry, KnowledgeBase, KnowledgeError, Problem, Referral, fingerprint
from bot.knowledge import load_knowledge as _load
from bot.matcher import Matcher, MatchResult, Outcome, Thresholds
from bot.text import clean

log = logging.getLogger(__name__)

# A question longer than this is almost always pasted text, not a question about the report.
MAX_QUESTION_CHARS = 300


class Kind(StrEnum):
    ANSWER = "answer"
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

    @property
    def answered(self) -> bool:
        """True only when a knowledge-base answer is given."""
        return self.kind is Kind.ANSWER

    @property
    def score(self) -> float | None:
        best = self.match.best if self.match else None
        return best.score if best else None

    @property
    def normalised(self) -> str:
        return self.match.normalised if self.match else ""


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
        # The matcher carries its knowledge base, so swapping this one attribute switches both
        # at once: a question being answered during a reload sees the old or the new, never a mix.
        self.matcher = Matcher(kb, self.thresholds)

    @property
    def kb(self) -> KnowledgeBase:
        return self.matcher.kb

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
        log.info("knowledge base reloaded: %d entries", len(kb.entries))
        return list(kb.warnings)

    # --- answering ---------------------------------------------------------------------------

    def respond(self, question: str) -> Reply:
        """The reply to one question. Never raises for any input string."""
        matcher = self.matcher
        kb = matcher.kb
        messages = kb.replies
        stripped = _strip_invisible(question)
        if not stripped:
            return Reply(question, Kind.EMPTY, messages["empty"])
        if len(stripped) > MAX_QUESTION_CHARS:
            text = messages["too_long"].format(limit=MAX_QUESTION_CHARS)
            return Reply(question, Kind.TOO_LONG, text)
        result = matcher.match(stripped)
        if not result.normalised and not _has_words(stripped):
            return Reply(question, Kind.NO_WORDS, messages["no_words"], match=result)
        best = result.best
        # A complaint or a personal matter is referred to the official channels, unless the
        # question is unmistakably about a fact of the report ("投诉渠道" is not in it, but
        # "信访答复被撤销" is).
        referral = _referral_for(stripped, kb.replies.referrals)
        sure = (
            result.outcome is Outcome.ANSWER
            and best is not None
            and best.score >= matcher.thresholds.sure
        )
        if referral is not None and not sure:
            return Reply(question, Kind.REFERRAL, referral.reply, match=result, referral=referral)
        if result.outcome is Outcome.ANSWER and best is not None:
            return Reply(question, Kind.ANSWER, best.entry.answer, entry=best.entry, match=result)
        if result.outcome is Outcome.SUGGEST:
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
        return Reply(question or entry.questions[0], Kind.ANSWER, entry.answer, entry=entry)


def _strip_invisible(text: str) -> str:
    """Drop control and format characters (zero-width, bidi marks) and outer whitespace."""
    return "".join(
        ch for ch in text if ch in "\n\t " or unicodedata.category(ch) not in ("Cc", "Cf")
    ).strip()


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def _referral_for(question: str, referrals: tuple[Referral, ...]) -> Referral | None:
    folded = clean(question).replace(" ", "")
    for referral in referrals:
        for trigger in referral.triggers:
            if clean(trigger).replace(" ", "") in folded:
                return referral
    return None


def format_plain(reply: Reply, source_label: str = "来源") -> str:
    """The reply as plain text, for the console."""
    if reply.kind is Kind.ANSWER and reply.entry is not None:
        return f"{reply.text}\n{source_label}：{reply.entry.source}"
    if reply.kind is Kind.SUGGEST:
        lines = [reply.text]
        lines += [f"  {n}. {entry.questions[0]}" for n, entry in enumerate(reply.suggestions, 1)]
        return "\n".join(lines)
    return reply.text
