"""Inline mode: `@bot 问题` in any chat offers the best answers as articles to share.

The results are the engine's reply to the query: the answer with its close runners-up and
related entries, the suggestions, or the sections a broad word leads to, one article each; a
quote of the report, a partial answer, several answers or a referral as one article of the whole
reply. Each shares the same HTML text a private chat would get, source line and citation
included.

Clients send a query per pause in typing, so queries are not logged: half-typed ones would
swell the statistics and the unanswered clusters. What is logged is the result the person
chose (a `chosen_inline_result` update, sent only once inline feedback is enabled with
@BotFather's /setinlinefeedback), with channel "inline": the question as finally typed, and
the article picked when it was not the answer itself (a runner-up or a suggestion).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from bot.answering.engine import Kind, Reply
from bot.answering.knowledge import Entry, KnowledgeBase
from bot.telegram.formatting import Citing, clip, entry_html, reply_html
from bot.telegram.inbox import question_ref
from bot.telegram.state import Context, state_of

log = logging.getLogger(__name__)

MAX_RESULTS = 5
# Answers change on reload, so clients should not cache them for long.
CACHE_SECONDS = 60
DESCRIPTION_CHARS = 80
TITLE_CHARS = 60
# Opens a private chat with the bot as `/start inline`.
START_PARAMETER = "inline"


def _entries(reply: Reply, kb: KnowledgeBase) -> list[Entry]:
    """The entries to offer as articles: the answer, its runners-up and related entries; or
    the suggestions; or the sections of a broad word."""
    if reply.kind is Kind.ANSWER and reply.entry is not None:
        related = [kb.by_id[i] for i in reply.entry.related if i in kb.by_id]
        found = [reply.entry, *reply.also, *related]
    elif reply.kind in (Kind.SUGGEST, Kind.OVERVIEW):
        found = list(reply.suggestions)
    else:
        return []
    unique = {entry.id: entry for entry in found}  # ids must be unique among results
    return list(unique.values())[:MAX_RESULTS]


def _article(
    entry: Entry, messages: Mapping[str, str], citing: Citing, reply: Reply | None = None
) -> InlineQueryResultArticle:
    """One entry as an article; `reply` when the entry is the reply's own answer, whose text
    may say more than the entry (another year given only as a change)."""
    html = reply_html(reply, messages, citing) if reply else entry_html(entry, messages, citing)
    return InlineQueryResultArticle(
        id=entry.id,
        title=entry.questions[0],
        description=clip(reply.text if reply else entry.answer, DESCRIPTION_CHARS),
        input_message_content=InputTextMessageContent(html, parse_mode=ParseMode.HTML),
    )


def _whole_reply(
    reply: Reply, messages: Mapping[str, str], citing: Citing
) -> InlineQueryResultArticle | None:
    """The reply itself as one article, for the kinds that are not one entry's answer: a
    quote of the report, a partial answer, several answers in one, a referral."""
    if reply.kind is Kind.REFERRAL and reply.referral is not None:
        result_id = f"referral-{reply.referral.id}"
    elif reply.kind in (Kind.PASSAGE, Kind.PARTIAL, Kind.MULTI):
        # Any id unique among the results would do; this one is the same for the same reply.
        digest = hashlib.blake2s(reply.text.encode(), digest_size=8).hexdigest()
        result_id = f"{reply.kind.value}-{digest}"
    else:
        return None
    one_line = " ".join(reply.text.split())
    return InlineQueryResultArticle(
        id=result_id[:64],
        title=clip(one_line, TITLE_CHARS),
        description=clip(reply.source or one_line, DESCRIPTION_CHARS),
        input_message_content=InputTextMessageContent(
            reply_html(reply, messages, citing), parse_mode=ParseMode.HTML
        ),
    )


async def answer_inline_query(update: Update, context: Context) -> None:
    """Offer the top answers for what the person typed after the bot's name (not logged: see
    `log_chosen_result`)."""
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
    state.note_inline_query(inline.from_user.id, text, inline.chat_type)
    kb = state.engine.kb
    citing = state.citing
    reply = state.engine.respond(text)
    results: list[InlineQueryResultArticle] = [
        _article(e, messages, citing, reply if e == reply.entry else None)
        for e in _entries(reply, kb)
    ]
    whole = _whole_reply(reply, messages, citing)
    if whole is not None:
        results.append(whole)
    button = None
    if not results:
        button = InlineQueryResultsButton(
            text=messages["inline_no_result"], start_parameter=START_PARAMETER
        )
    await inline.answer(results, cache_time=CACHE_SECONDS, button=button)


async def log_chosen_result(update: Update, context: Context) -> None:
    """The person picked one of the articles: log the question as finally typed, and the
    article when it was not the answer itself (a runner-up or a suggestion), like a
    suggestion taken in a private chat."""
    chosen = update.chosen_inline_result
    if chosen is None or not chosen.query.strip():
        return
    state = state_of(context)
    text = chosen.query.strip()
    reply = state.engine.respond(text)
    user_id = chosen.from_user.id
    ref = question_ref()  # the same when the update is replayed: logged once
    state.log_question(
        reply,
        channel="inline",
        chat_type=state.inline_chat_type(user_id, text),
        user_id=user_id,
        ref=ref,
    )
    picked = state.engine.kb.by_id.get(chosen.result_id)
    if picked is not None and picked != reply.entry:
        state.log_suggestion_taken(ref, picked.id)
