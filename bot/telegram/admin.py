"""What admins do from Telegram: read the statistics, ask why a question matched as it did,
reload the knowledge base and get the weekly digest (unanswered questions are handled in
bot/telegram/review.py).

Only user ids in KBBOT_ADMINS reach these callbacks (the handlers are registered with a user
filter, in private chats); everyone else falls through to the unknown-command reply, so the
commands do not even reveal that they exist. The reports come from `bot.review.report`, the same code
behind `kbbot report`, so Telegram and the command line never disagree.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot.answering.engine import Reply
from bot.answering.knowledge import Problem, describe_reload, fill, fingerprint
from bot.authoring import history
from bot.questionlog.opening import LOG_ERRORS
from bot.questionlog.protocol import QuestionLog, StoreError
from bot.review import report
from bot.telegram import review_keyboards
from bot.telegram.formatting import esc, problems_html, why_html
from bot.telegram.handlers import LAST_REPLY
from bot.telegram.state import BotState, Context, state_of

log = logging.getLogger(__name__)

DEFAULT_WINDOW = "7d"
WHY_CANDIDATES = 5
# Scheduled work every worker on one log does, claimed so that one of them does it
# (`QuestionLog.claim_run`): the weekly digest, once a week; the notice of broken knowledge
# files, once per state of the files.
DIGEST_JOB = "weekly_digest"
BROKEN_NOTICE_JOB = "knowledge_broken"


async def _reply_from_log(
    message: Message,
    state: BotState,
    command: str,
    build: Callable[[QuestionLog], Awaitable[str]],
) -> None:
    """Reply with text built from the question log, or say the log cannot be read right now."""
    try:
        async with state.reading() as reader:
            text = await build(reader)
    except (StoreError, OSError) as exc:
        log.warning("%s: the question log cannot be read: %s", command, exc)
        await message.reply_text(esc(state.messages["log_unavailable"]))
        return
    await message.reply_text(esc(text))


async def show_stats(update: Update, context: Context) -> None:
    """/stats [7d] [2019]: questions and answered rate, top entries, top unanswered; with
    several reports side by side, a year counts only the questions answered from its report."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    kb = state.engine.kb
    args = list(context.args or [])
    chosen = next((a for a in args if len(kb.reports) > 1 and kb.report(a)), None)
    rest = [a for a in args if a != chosen]
    since = rest[0] if rest else DEFAULT_WINDOW
    try:
        window = report.parse_window(since=since)
    except report.WindowError as exc:
        await message.reply_text(esc(exc))
        return

    async def stats(reader: QuestionLog) -> str:
        if chosen is not None:
            await reader.only_report(chosen)
            matcher = state.engine.matcher_for(chosen)
            built = await report.build_report(reader, window, matcher)
            return f"只统计按{chosen}年报告回答的问题。\n{report.format_stats(built)}"
        built = await report.build_report(reader, window, state.engine.review_matcher)
        text = report.format_stats(built)
        if len(kb.reports) > 1:
            years = "、".join(part.key for part in reversed(kb.reports))
            text += f"\n\n按报告分开统计：/stats {since} 加上报告年份（{years}）"
        return text

    await _reply_from_log(message, state, "/stats", stats)


async def explain_last(update: Update, context: Context) -> None:
    """/why: how the admin's own last question was matched, candidates and scores included."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    last = context.user_data.get(LAST_REPLY) if context.user_data is not None else None
    if not isinstance(last, Reply):
        await message.reply_text(esc(state.messages["why_none"]))
        return
    matcher = state.engine.matcher_for(last.report)  # the report it was answered from
    asked = last.understood or last.question  # a follow-up was matched as read with the last
    ranked = matcher.rank(asked)[:WHY_CANDIDATES] if last.match is not None else []
    model = matcher.model
    limits = f"置信度 ≥ {model.answer_at:.2f} 回答，≥ {model.suggest_at:.2f} 给出建议"
    await message.reply_text(why_html(last, ranked, limits))


# --- reloading ------------------------------------------------------------------------------


async def reload(state: BotState, *, only_if_changed: bool = False) -> list[Problem]:
    """Reload off the event loop: building the matcher takes long enough to stall answers.

    After a clean reload, files saved by hand since they were last recorded go into the
    knowledge history (bot/authoring/history.py). `only_if_changed` (the file watch) looks again once it
    holds the lock: a /reload it waited for may already have loaded what it saw change.
    """
    async with state.reload_lock:
        if only_if_changed and not state.engine.changed_on_disk():
            return []
        stamp = fingerprint(state.engine.directory) if state.engine.directory else None
        before = state.engine.kb
        problems = await asyncio.to_thread(state.engine.reload)
        if state.engine.kb is not before:
            # The one INFO line per reload (the engine's own is DEBUG), written here under the
            # lock: a /reload and a look of the file watch that overlap each report their own.
            log.info("%s", describe_reload(before, state.engine.kb))
        broken = any(p.severity == "error" for p in problems)
        state.broken_fingerprint = stamp if broken else None
        if not broken:
            await note_hand_edits(state)
        return problems


async def note_hand_edits(state: BotState) -> None:
    """Record knowledge files edited by hand; a log that cannot be written only warns."""
    directory = state.engine.directory
    if directory is None:
        return
    try:
        async with state.reading() as reader:
            noticed = await history.note_hand_edits(reader, directory)
    except LOG_ERRORS as exc:
        log.warning("knowledge history not updated: the question log cannot be written: %s", exc)
        return
    for change in noticed:  # at INFO, the reload line says what changed
        log.debug("knowledge file edited by hand: %s (history #%d)", change.file, change.id)


def _errors(problems: Sequence[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


async def reload_knowledge(update: Update, context: Context) -> None:
    """/reload: load the knowledge files again; errors keep the last good version serving."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    problems = await reload(state)
    errors = _errors(problems)
    messages = state.messages
    if errors:
        header = fill(messages["reload_failed"], errors=len(errors))
        await message.reply_text(problems_html(header, errors))
        return
    # Warnings are counted, not listed: they speak of entry ids and match scores, for whoever
    # edits the files (`kbbot kb check` lists them); the entries are live either way.
    text = fill(messages["reload_ok"], entries=len(state.engine.kb.entries), warnings=len(problems))
    await message.reply_text(esc(text))


async def watch_knowledge(context: Context) -> None:
    """JobQueue: reload when an admin saves a knowledge file; tell admins if it is broken.

    Broken means anything `kb check` calls an error, a file the bot may not read or a link
    that goes nowhere included (the fingerprint covers permissions): admins hear of it once
    per state of the files, and again if the files go back as they were and break anew.
    """
    state = state_of(context)
    engine = state.engine
    if engine.directory is None:
        return
    if not engine.changed_on_disk():
        if state.broken_fingerprint is not None:
            state.broken_fingerprint = None  # as served again: a later break is news
            state.recoveries += 1
        return
    if fingerprint(engine.directory) == state.broken_fingerprint:
        return  # already reported; wait for the next save
    problems = await reload(state, only_if_changed=True)
    errors = _errors(problems)
    if not errors:
        log.debug("knowledge files changed: reloaded %d entries", len(engine.kb.entries))
        return
    log.warning("knowledge files changed but are broken: %d error(s)", len(errors))
    period = f"{history.folder_key(engine.directory)}:{state.recoveries}:{state.broken_fingerprint}"
    if not await _first_to_claim(state, BROKEN_NOTICE_JOB, period):
        log.debug("the admins were told of these broken files by another worker")
        return
    header = fill(state.messages["reload_broken"], errors=len(errors))
    await notify_admins(context, problems_html(header, errors))


async def _first_to_claim(state: BotState, job: str, period: str) -> bool:
    """Whether this worker is the first on the log to claim `job` for `period`. When the log
    cannot be reached, every worker goes ahead: twice is better than never."""
    try:
        async with state.reading() as reader:
            return await reader.claim_run(job, period)
    except LOG_ERRORS as exc:
        log.warning("cannot ask the question log whether another worker did it: %s", exc)
        return True


async def notify_admins(
    context: Context, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Message every admin; one who never opened a chat with the bot cannot be reached."""
    for admin in sorted(state_of(context).config.admins):
        try:
            await context.bot.send_message(admin, text, reply_markup=markup)
        except TelegramError as exc:
            log.warning("could not notify admin %s: %s", admin, exc)


def digest_week(moment: datetime) -> str:
    """The week a digest sent at `moment` reports on, as its claim names it (ISO: 2024-W05)."""
    year, week, _ = moment.astimezone(report.REPORT_TZ).isocalendar()
    return f"{year}-W{week:02d}"


async def send_weekly_digest(context: Context) -> None:
    """JobQueue, Mondays: the week's questions compared with the week before, to each admin.

    Every worker on one log schedules it; the first to claim the week in the log sends it.
    """
    state = state_of(context)
    if not state.config.admins:
        return
    week = digest_week(datetime.now(report.REPORT_TZ))
    try:
        async with state.reading() as reader:
            skip = await reader.handled_forms()
            digest = await report.weekly_digest(reader, state.engine.review_matcher, skip=skip)
            if not await reader.claim_run(DIGEST_JOB, week):
                log.debug("weekly digest of %s: sent by another worker", week)
                return
    except (StoreError, OSError) as exc:
        log.warning("weekly digest skipped: the question log cannot be read: %s", exc)
        return
    text = digest.text
    markup = None
    if digest.open_clusters:
        text += f"\n\n本周有 {digest.open_clusters} 组未回答的问题，点下面的按钮处理。"
        markup = review_keyboards.list_button()
    await notify_admins(context, esc(text), markup)
