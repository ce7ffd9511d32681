"""Inline mode: `@bot 问题` in any chat offers the best answers as articles to share.

The results are the engine's reply to the query (the answer and its related entries, or the
suggestions), each sharing the same HTML text a private chat would get. Clients send a query
per pause in typing, so empty queries are not logged; every other one is, after answering, with
channel "inline" so reviews can tell these possibly half-typed queries apart.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from bot.engine import Kind, Reply
from bot.knowledge import Entry, KnowledgeBase
from bot.telegram.formatting import entry_html, esc
from bot.telegram.state import Context, state_of

log = logging.getLogger(__name__)

MAX_RESULTS = 5
# Answers change on reload, so clients should not cache them for long.
CACHE_SECONDS = 60
DESCRIPTION_CHARS = 80
# Opens a private chat with the bot as `/start inline`.
START_PARAMETER = "inline"


def _entries(reply: Reply, kb: KnowledgeBase) -> list[Entry]:
    if reply.kind is Kind.ANSWER and reply.entry is not None:
        related = [kb.by_id[i] for i in reply.entry.related if i in kb.by_id]
        found = [reply.entry, *related]
    elif reply.kind is Kind.SUGGEST:
        found = list(reply.suggestions)
    else:
        return []
    unique = {entry.id: entry for entry in found}  # ids must be unique among results
    return list(unique.values())[:MAX_RESULTS]


def _article(entry: Entry, messages: Mapping[str, str]) -> InlineQueryResultArticle:
    description = entry.answer
    if len(description) > DESCRIPTION_CHARS:
        description = description[: DESCRIPTION_CHARS - 1] + "…"
    return InlineQueryResultArticle(
        id=entry.id,
        title=entry.questions[0],
        description=description,
        input_message_content=InputTextMessageContent(
            entry_html(entry, messages), parse_mode=ParseMode.HTML
        ),
    )


def _referral(reply: Reply) -> InlineQueryResultArticle | None:
    if reply.kind is not Kind.REFERRAL or reply.referral is None:
        return None
    return InlineQueryResultArticle(
        id=f"referral-{reply.referral.id}"[:64],
        title=reply.text[:60],
        description=reply.text,
        input_message_content=InputTextMessageContent(esc(reply.text), parse_mode=ParseMode.HTML),
    )


async def answer_inline_query(update: Update, context: Context) -> None:
    """Offer the top answers for what the person typed after the bot's name."""
    inline = update.inline_query
    if inline is None:
        return
    state = state_of(context)
    messages = state.messages
    text = inline.query.strip()
    if not text:
        hint = InlineQueryResultsButton(
            text=messages["inline_hint"], start_parameter=START_PARAMETER
        )
        await inline.answer([], cache_time=CACHE_SECONDS, button=hint)
        return
    kb = state.engine.kb
    reply = state.engine.respond(text)
    results: list[InlineQueryResultArticle] = [_article(e, messages) for e in _entries(reply, kb)]
    referral = _referral(reply)
    if referral is not None:
        results.append(referral)
    button = None
    if not results:
        button = InlineQueryResultsButton(
            text=messages["inline_no_result"], start_parameter=START_PARAMETER
        )
    try:
        await inline.answer(results, cache_time=CACHE_SECONDS, button=button)
    finally:
        state.log_question(
            reply, channel="inline", chat_type=inline.chat_type, user_id=inline.from_user.id
        )
