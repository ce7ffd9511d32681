"""Building the question log's records from the engine's replies.

The one bridge between answering (`bot.answering.engine.Reply`) and the log (`bot.questionlog.protocol`): the log
never imports the engine, and every front end (console, Telegram, inline) builds its row here.
"""

from __future__ import annotations

import secrets

from bot.answering.engine import Kind, Reply
from bot.questionlog.protocol import QuestionRecord


def new_ref() -> str:
    """A short random reference for `QuestionRecord.ref` (11 URL-safe characters)."""
    return secrets.token_urlsafe(8)


def record_for(
    reply: Reply,
    channel: str,
    *,
    chat_type: str | None = None,
    user_hash: str | None = None,
    ref: str | None = None,
) -> QuestionRecord:
    """The log row for one reply, as every front end (console, Telegram, inline) writes it.

    The outcome is the reply's kind. A partial answer ("partial") names the entry it gave but
    is not answered; a quote of the report ("passage") is answered without an entry; a
    several-question message ("multi") is one row, answered only when every part was, naming
    no entry and no suggestions (its parts' are not offered as buttons).
    """
    several = reply.kind is Kind.MULTI
    return QuestionRecord(
        channel=channel,
        question=reply.question,
        normalised=reply.normalised,
        answered=reply.answered,
        outcome=reply.kind.value,
        entry_id=reply.entry.id if reply.entry and not several else None,
        score=reply.score,
        chat_type=chat_type,
        user_hash=user_hash,
        suggestions=() if several else tuple(entry.id for entry in reply.suggestions),
        ref=ref,
        report=reply.report or None,
    )
