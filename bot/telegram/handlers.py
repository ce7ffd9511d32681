"""What citizens do: start, ask, browse the report, pick a suggestion, rate an answer.

One callback per user action, named for it. Every answer comes from `Engine.respond` (the same
core the console uses), read with the asker's previous question when it is a follow-up
(followups.py), and every question is logged through `BotState.log_question`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.answering.knowledge import Entry, fill
from bot.telegram import keyboards
from bot.telegram.flood import Verdict
from bot.telegram.followups import recall, remember
from bot.telegram.formatting import entry_html, esc, reply_html, split_html
from bot.telegram.inbox import question_ref
from bot.telegram.state import BotState, Context, state_of

log = logging.getLogger(__name__)

LAST_REPLY = "last_reply"  # user_data key: an admin's latest Reply, for /why


# --- who is talking to us -------------------------------------------------------------------


def is_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def mentions_bot(message: Message, username: str) -> bool:
    wanted = f"@{username}".lower()
    found = message.parse_entities([MessageEntity.MENTION]).values()
    return any(mention.lower() == wanted for mention in found)


def replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == bot_id


def command_for_bot(message: Message, username: str) -> bool:
    """A command written `/cmd@thisbot` (in groups, a bare `/cmd` may be for another bot)."""
    commands = message.parse_entities([MessageEntity.BOT_COMMAND]).values()
    return any(cmd.lower().endswith(f"@{username.lower()}") for cmd in commands)


def addressed_to_bot(message: Message, username: str, bot_id: int) -> bool:
    """Private chats always; in groups only mentions, replies to the bot and our commands."""
    if not is_group(message):
        return message.chat.type == ChatType.PRIVATE
    if message.text is not None and message.text.startswith("/"):
        return True  # CommandHandler decides whose command it is
    return mentions_bot(message, username) or replies_to_bot(message, bot_id)


def without_mention(text: str, username: str) -> str:
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


# --- the flood guard (handler group -1, before everything else) ------------------------------


async def guard_flood(update: Update, context: Context) -> None:
    """Let at most `flood_limit` messages per user through per period, and button presses
    within their own, larger allowance; a press over it still gets its answer (a toast)."""
    user = update.effective_user
    if user is None or update.inline_query is not None or update.chosen_inline_result is not None:
        return  # inline queries arrive per keystroke; Telegram throttles those itself
    state = state_of(context)
    query = update.callback_query
    if query is not None:
        verdict = state.taps.check(user.id)
        if verdict is Verdict.ALLOW:
            return
        # As for messages: one INFO line when a burst goes over, the presses after it at DEBUG.
        level = logging.INFO if verdict is Verdict.WARN else logging.DEBUG
        log.log(level, "flood guard: user is over %d button presses", state.taps.limit)
        try:  # an unanswered press spins until it times out on the person's screen
            await query.answer(state.messages["tap_slow_down"], show_alert=False)
        except TelegramError as exc:
            log.warning("could not answer a button press over the limit: %s", exc)
        raise ApplicationHandlerStop
    message = update.message
    if message is None:
        return
    if not addressed_to_bot(message, context.bot.username, context.bot.id):
        return  # group chatter we will not answer must not use up anyone's allowance
    verdict = state.flood.check(user.id)
    if verdict is Verdict.ALLOW:
        return
    if verdict is Verdict.WARN:
        log.info("flood guard: user is over %d messages", state.flood.limit)
        await message.reply_text(esc(state.messages["slow_down"]))
    raise ApplicationHandlerStop


# --- commands ---------------------------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    """/start: two sentences on what the bot knows and how to ask, with the browse menu's
    first level (at most six buttons)."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    messages = state.messages
    text = esc(messages["welcome"])
    if is_group(message):
        text += "\n\n" + esc(fill(messages["group_hint"], bot=context.bot.username))
    await message.reply_text(
        text, reply_markup=keyboards.menu_keyboard(state.engine.kb, 0, messages)
    )


async def topics(update: Update, context: Context) -> None:
    """/topics: the first page of the browse menu (the report's chapters)."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    await message.reply_text(
        esc(state.messages["topics_intro"]),
        reply_markup=keyboards.menu_keyboard(state.engine.kb, 0, state.messages),
    )


async def unknown_command(update: Update, context: Context) -> None:
    """Any other command (admin commands included, for everyone who is not an admin)."""
    message = update.effective_message
    if message is None:
        return
    if is_group(message) and not command_for_bot(message, context.bot.username):
        return  # a bare /cmd in a group may be meant for another bot
    await message.reply_text(esc(state_of(context).messages["unknown_command"]))


async def bot_added_to_group(update: Update, context: Context) -> None:
    """Explain how to ask in a group when someone adds the bot to one."""
    message = update.effective_message
    if message is None or not any(m.id == context.bot.id for m in message.new_chat_members):
        return
    state = state_of(context)
    await message.chat.send_message(
        esc(fill(state.messages["group_hint"], bot=context.bot.username))
    )


# --- questions --------------------------------------------------------------------------------


async def ask_question(update: Update, context: Context) -> None:
    """Text in a private chat: answer it."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    await _answer(update, context, message, message.text)


async def ask_in_group(update: Update, context: Context) -> None:
    """Text in a group: answer only when it mentions the bot or replies to it."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    username = context.bot.username
    if not (mentions_bot(message, username) or replies_to_bot(message, context.bot.id)):
        return
    await _answer(update, context, message, without_mention(message.text, username))


async def _answer(update: Update, context: Context, message: Message, text: str) -> None:
    """Answer `text`, read with the asker's previous question in this chat when it is a
    follow-up, and remember it for the next one."""
    state = state_of(context)
    user = update.effective_user
    user_id = user.id if user else None
    now = time.monotonic()
    reply = state.engine.respond(text, recall(context.chat_data, user_id, now))
    remember(context.chat_data, user_id, reply.context(now), now)
    if state.is_admin(user_id) and context.user_data is not None:
        context.user_data[LAST_REPLY] = reply
    ref = question_ref()  # the same when the update is replayed: logged once
    stopped = False
    try:
        messages = state.messages
        markup = keyboards.reply_keyboard(state.engine.kb, reply, ref, messages)
        text = reply_html(reply, messages, state.citing, limit=None)
        await reply_in_parts(message, text, markup)
    except asyncio.CancelledError:
        # A stop cut the reply short: the inbox keeps the update and its replay logs the
        # question. So a logged question is one whose reply was sent, or failed for good,
        # and a replay may skip it (bot/telegram/inbox.py).
        stopped = True
        raise
    finally:  # answer first, log after; a failed send is still a question asked
        if not stopped:
            state.log_question(
                reply, channel="telegram", chat_type=message.chat.type, user_id=user_id, ref=ref
            )


async def non_text(update: Update, context: Context) -> None:
    """Stickers, photos, voice...: say we read text only (in groups, only when replied to)."""
    message = update.effective_message
    if message is None:
        return
    if is_group(message) and not replies_to_bot(message, context.bot.id):
        return
    if message.text is not None and not is_group(message):
        # An empty text (filters.TEXT wants a non-empty one): a question with nothing in it.
        await _answer(update, context, message, message.text)
        return
    await message.reply_text(esc(state_of(context).messages["non_text"]))


# --- buttons ----------------------------------------------------------------------------------


async def _genuine(query: CallbackQuery, context: Context) -> bool:
    """Reject presses whose data is not on the message they came from (forged or stale)."""
    if keyboards.offered(query):
        return True
    log.warning("rejected callback data that was not offered on its message")
    await query.answer(state_of(context).messages["button_expired"])
    return False


async def reply_in_parts(
    message: Message, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    """Reply with `text`, split over several messages when it is longer than one may be
    (`split_html`), the buttons under the last part. Returns the last message sent."""
    *first, last = split_html(text)
    for part in first:
        await message.reply_text(part)
    return await message.reply_text(last, reply_markup=markup)


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show `text` in place of the pressed message; a text too long for one message fills it
    with its first part and follows with the rest, the buttons under the last part."""
    first, *rest = split_html(text)
    try:
        await query.edit_message_text(first, reply_markup=None if rest else markup)
    except BadRequest as exc:
        if "not modified" not in exc.message:  # pressed twice: nothing to change
            raise
        return
    if rest and isinstance(query.message, Message):
        *middle, last = rest
        for part in middle:
            await query.message.chat.send_message(part)
        await query.message.chat.send_message(last, reply_markup=markup)


async def _expired(query: CallbackQuery, context: Context) -> None:
    """The button points at something a reload removed."""
    await query.answer(state_of(context).messages["button_expired"])


def _answered_entry(update: Update, context: Context, state: BotState, entry: Entry) -> None:
    """An entry's answer was sent to the chat (a related entry, a suggestion taken): a
    follow-up question may lean on it as on a typed question's answer."""
    user = update.effective_user
    now = time.monotonic()
    reply = state.engine.answer_entry(entry.id)
    if reply is not None:
        remember(context.chat_data, user.id if user else None, reply.context(now), now)


async def open_topics(update: Update, context: Context) -> None:
    """A page of the browse menu's first level (from a back or previous/next button)."""
    query = update.callback_query
    if query is None or not await _genuine(query, context):
        return
    match = keyboards.TOPICS_RE.match(query.data or "")
    if match is None:
        return await _expired(query, context)
    state = state_of(context)
    await query.answer()
    await _edit(
        query,
        esc(state.messages["topics_intro"]),
        keyboards.menu_keyboard(state.engine.kb, int(match[1]), state.messages),
    )


async def open_report(update: Update, context: Context) -> None:
    """One report of several, chosen in the menu's first level: its chapters."""
    query = update.callback_query
    if query is None or not await _genuine(query, context):
        return
    match = keyboards.REPORT_RE.match(query.data or "")
    state = state_of(context)
    kb = state.engine.kb
    document = kb.document_of(match[1]) if match and kb.report(match[1]) else None
    if match is None or document is None:
        return await _expired(query, context)
    await query.answer()
    markup = keyboards.report_keyboard(kb, match[1], int(match[2]), state.messages)
    await _edit(query, f"<b>《{esc(document.title)}》</b>", markup)


async def open_chapter(update: Update, context: Context) -> None:
    """A chapter of the report: its sections, by their own headings."""
    query = update.callback_query
    if query is None or not await _genuine(query, context):
        return
    match = keyboards.CHAPTER_RE.match(query.data or "")
    state = state_of(context)
    kb = state.engine.kb
    chapter = keyboards.find_chapter(kb, match[1]) if match else None
    if match is None or chapter is None:
        return await _expired(query, context)
    await query.answer()
    heading = keyboards.chapter_title_text(chapter, state.messages)
    markup = keyboards.chapter_keyboard(kb, chapter, int(match[2]), state.messages)
    await _edit(query, f"<b>{esc(heading)}</b>", markup)


async def open_section(update: Update, context: Context) -> None:
    """A section of the report: its entries, or straight to the answer when it has only one."""
    query = update.callback_query
    if query is None or not await _genuine(query, context):
        return
    match = keyboards.SECTION_RE.match(query.data or "")
    state = state_of(context)
    kb = state.engine.kb
    section = keyboards.find_section(kb, match[1]) if match else None
    if match is None or section is None:
        return await _expired(query, context)
    await query.answer()
    if len(section.entries) == 1:
        entry = section.entries[0]
        markup = keyboards.browse_entry_keyboard(kb, entry, state.messages)
        await _edit(query, entry_html(entry, state.messages, state.citing), markup)
        return
    markup = keyboards.section_keyboard(kb, section, int(match[2]), state.messages)
    await _edit(query, f"<b>{esc(section.title)}</b>", markup)


async def open_entry(update: Update, context: Context) -> None:
    """An entry chosen in the menu: its answer in place, with a back button."""
    query = update.callback_query
    if query is None or not await _genuine(query, context):
        return
    match = keyboards.ENTRY_RE.match(query.data or "")
    state = state_of(context)
    kb = state.engine.kb
    entry = kb.by_id.get(match[1]) if match else None
    if entry is None:
        return await _expired(query, context)
    await query.answer()
    markup = keyboards.browse_entry_keyboard(kb, entry, state.messages)
    await _edit(query, entry_html(entry, state.messages, state.citing), markup)


async def open_related(update: Update, context: Context) -> None:
    """A related entry or close runner-up under an answer: sent as a new message, keeping the
    first answer."""
    query = update.callback_query
    if query is None or not await _genuine(query, context):
        return
    match = keyboards.RELATED_RE.match(query.data or "")
    state = state_of(context)
    kb = state.engine.kb
    entry = kb.by_id.get(match[1]) if match else None
    if entry is None or not isinstance(query.message, Message):
        return await _expired(query, context)
    await query.answer()
    markup = keyboards.answer_keyboard(kb, entry, None, state.messages)
    await reply_in_parts(query.message, entry_html(entry, state.messages, state.citing), markup)
    _answered_entry(update, context, state, entry)


async def take_suggestion(update: Update, context: Context) -> None:
    """A "您是不是想问" button, or a section under a broad word's overview: answer that entry and
    note which suggestion was taken."""
    query = update.callback_query
    if query is None or not await _genuine(query, context):
        return
    match = keyboards.SUGGESTION_RE.match(query.data or "")
    state = state_of(context)
    kb = state.engine.kb
    entry = kb.by_id.get(match[2]) if match else None
    if match is None or entry is None or not isinstance(query.message, Message):
        return await _expired(query, context)
    ref = match[1]
    await query.answer()
    # The feedback buttons rate this answer as the answer to the original question.
    markup = keyboards.answer_keyboard(kb, entry, ref, state.messages)
    try:
        await reply_in_parts(query.message, entry_html(entry, state.messages, state.citing), markup)
        _answered_entry(update, context, state, entry)
    finally:
        state.log_suggestion_taken(ref, entry.id)


async def rate_answer(update: Update, context: Context) -> None:
    """有帮助 / 没帮助: attach the rating to the logged question and drop the buttons; after 没帮助,
    ask what was missing and offer what to do next (ask again, browse, the official channel)."""
    query = update.callback_query
    if query is None or not await _genuine(query, context):
        return
    match = keyboards.FEEDBACK_RE.match(query.data or "")
    if match is None or not isinstance(query.message, Message):
        return await _expired(query, context)
    state = state_of(context)
    ref, helpful = match[1], match[2] == "1"
    state.log_feedback(ref, helpful=helpful)
    messages = state.messages
    await query.answer(messages["feedback_thanks"] if helpful else None)
    try:
        await query.edit_message_reply_markup(
            keyboards.without_feedback(query.message.reply_markup)
        )
    except BadRequest as exc:
        if "not modified" not in exc.message:  # pressed twice before the edit landed
            raise
        return  # the second press of a double tap: the question was already asked
    if not helpful:
        markup = keyboards.next_step_keyboard(
            ref, messages, channel=state.human_channel is not None
        )
        # Quoting the answer ties the question to it, however far up the chat it is.
        await query.message.reply_text(
            esc(messages["feedback_ask"]), reply_markup=markup, do_quote=True
        )


async def choose_next_step(update: Update, context: Context) -> None:
    """After 没帮助, the person chose: ask again (how to word it), browse (the menu, in place),
    or the official channel (its number). The choice is logged against the question."""
    query = update.callback_query
    if query is None or not await _genuine(query, context):
        return
    match = keyboards.NEXT_STEP_RE.match(query.data or "")
    state = state_of(context)
    channel = state.human_channel
    choice = keyboards.NEXT_STEPS[match[2]] if match else None
    if match is None or (choice == "channel" and channel is None):
        return await _expired(query, context)
    state.log_feedback_choice(match[1], str(choice))
    await query.answer()
    messages = state.messages
    if choice == "browse":
        markup = keyboards.menu_keyboard(state.engine.kb, 0, messages)
        await _edit(query, esc(messages["topics_intro"]), markup)
    elif choice == "channel" and channel is not None:
        await _edit(query, esc(fill(messages["feedback_channel"], channel=channel.name)), None)
    else:
        await _edit(query, esc(messages["feedback_ask_again"]), None)


async def expired_button(update: Update, context: Context) -> None:
    """Any press no other handler recognised: an old format, or forged data."""
    query = update.callback_query
    if query is not None:
        log.warning("rejected unrecognised callback data")
        await query.answer(state_of(context).messages["button_expired"])
