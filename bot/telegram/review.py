"""The admin loop in Telegram: /unanswered with actions, previews with 确认/取消, /history, /undo.

An admin opens a cluster of unanswered questions from /unanswered (or the weekly digest), then
attaches it to its nearest entry, picks another entry, adds the synonym it suggests or ignores
it. Every edit is previewed first (bot/authoring/teaching.py replays a regression set on the knowledge
base as it would be) and written only on 确认; then the bot reloads, so the next identical
question is answered. Each press is checked against the admin list and against the message it
came from: a forged press from anyone else is refused and logged, and learns nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from re import Match

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.authoring import history
from bot.authoring.history import Actor
from bot.authoring.kbedit import EditError
from bot.authoring.teaching import Planned, ReviewItem, Teacher
from bot.privacy import hash_user_id
from bot.questionlog.opening import LOG_ERRORS
from bot.questionlog.protocol import QuestionLog
from bot.review import report
from bot.telegram import admin, keyboards
from bot.telegram import review_keyboards as rk
from bot.telegram.formatting import MAX_TEXT, clip, esc
from bot.telegram.state import BotState, Context, state_of

log = logging.getLogger(__name__)

DEFAULT_UNANSWERED = 10
MAX_UNANSWERED = 50
HISTORY_SHOWN = 10


def actor_of(user: User, state: BotState) -> Actor:
    """The admin as the history records them: display name and keyed id hash, never the id."""
    name = " ".join(user.full_name.split()) or "管理员"
    return Actor(name, hash_user_id(user.id, state.user_secret))


def _teacher(state: BotState) -> Teacher:
    return Teacher(state.engine, state.config.regression_set)


def _text(text: str) -> str:
    return esc(clip(text, MAX_TEXT))


# --- commands ---------------------------------------------------------------------------------


async def show_unanswered(update: Update, context: Context) -> None:
    """/unanswered [N]: the latest N unanswered clusters, a button to handle each."""
    message = update.effective_message
    if message is None:
        return
    limit = DEFAULT_UNANSWERED
    if context.args:
        arg = context.args[0]
        if not arg.isascii() or not arg.isdigit() or not 1 <= int(arg) <= MAX_UNANSWERED:
            await message.reply_text(
                esc(f"用法：/unanswered [1-{MAX_UNANSWERED}]，例如 /unanswered 20")
            )
            return
        limit = int(arg)
    await _send_clusters(message, state_of(context), limit)


async def _send_clusters(message: Message, state: BotState, limit: int) -> None:
    try:
        async with state.reading() as log_:
            clusters, items = await _teacher(state).list_clusters(log_, limit)
    except LOG_ERRORS as exc:
        log.warning("/unanswered: the question log cannot be read: %s", exc)
        await message.reply_text(esc(state.messages["log_unavailable"]))
        return
    text = report.format_unanswered(clusters)
    if clusters:
        text += "\n\n点下面的按钮处理一组问题。"
    markup = rk.clusters_keyboard(clusters, items) if clusters else None
    await message.reply_text(_text(text), reply_markup=markup)


async def show_history(update: Update, context: Context) -> None:
    """/history: the latest knowledge changes (hand edits noticed first), with an undo button."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    directory = state.engine.directory
    if directory is None:
        await message.reply_text(esc("没有知识库目录，没有修改记录。"))
        return
    try:
        async with state.reading() as log_:
            await history.note_hand_edits(log_, directory)
            changes = await log_.changes(history.folder_key(directory), HISTORY_SHOWN)
    except LOG_ERRORS as exc:
        log.warning("/history: the question log cannot be read: %s", exc)
        await message.reply_text(esc(state.messages["log_unavailable"]))
        return
    text = history.format_history(
        changes, "点下面的按钮或发送 /undo 撤销最近一次修改（会先预览）。"
    )
    undoable = any(c.undone_by is None and c.undoes is None for c in changes)
    await message.reply_text(_text(text), reply_markup=rk.undo_button() if undoable else None)


async def undo_last(update: Update, context: Context) -> None:
    """/undo: preview reverting the latest change, with 确认/取消."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    state = state_of(context)
    await _plan_and_send(message, state, lambda t, lg: t.plan_undo(lg, actor_of(user, state)))


async def _plan_and_send(
    message: Message,
    state: BotState,
    plan: Callable[[Teacher, QuestionLog], Awaitable[Planned]],
) -> None:
    waiting = await message.reply_text(esc("正在预览，请稍候……"))
    text, markup = await _planned(state, plan)
    await waiting.edit_text(text, reply_markup=markup)


async def _planned(
    state: BotState, plan: Callable[[Teacher, QuestionLog], Awaitable[Planned]]
) -> tuple[str, InlineKeyboardMarkup | None]:
    try:
        async with state.reading() as log_:
            planned = await plan(_teacher(state), log_)
    except LOG_ERRORS as exc:
        log.warning("admin preview: the question log cannot be used: %s", exc)
        return esc(state.messages["log_unavailable"]), None
    except EditError as exc:
        return esc(str(exc)), None
    if planned.token is None:
        return _text(planned.text), None
    return _text(planned.text), rk.confirm_keyboard(planned.token)


# --- buttons ----------------------------------------------------------------------------------


async def _admin_press(update: Update, context: Context) -> tuple[CallbackQuery, Actor] | None:
    """The press, if an admin made it in their private chat on a button really offered."""
    query = update.callback_query
    if query is None:
        return None
    state = state_of(context)
    user = update.effective_user
    chat = update.effective_chat
    if user is None or not state.is_admin(user.id) or chat is None or chat.type != ChatType.PRIVATE:
        log.warning("refused an admin button pressed by a non-admin (forged callback data)")
        await query.answer(state.messages["button_expired"])
        return None
    if not keyboards.offered(query):
        log.warning("rejected admin callback data that was not offered on its message")
        await query.answer(state.messages["button_expired"])
        return None
    return query, actor_of(user, state)


def _match(context: Context) -> Match[str]:
    match = context.match
    if match is None:  # only registered with a pattern
        raise RuntimeError("callback handler called without a pattern match")
    return match


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def _with_item(
    update: Update,
    context: Context,
    act: Callable[[CallbackQuery, Actor, BotState, ReviewItem], Awaitable[None]],
) -> None:
    """Run `act` on the cluster the pressed button names, as it was shown."""
    pressed = await _admin_press(update, context)
    if pressed is None:
        return
    query, actor = pressed
    state = state_of(context)
    key = _match(context)[1]
    try:
        async with state.reading() as log_:
            item = await _teacher(state).item(log_, key)
    except LOG_ERRORS as exc:
        log.warning("admin button: the question log cannot be read: %s", exc)
        await query.answer(state.messages["log_unavailable"], show_alert=True)
        return
    if item is None:
        await query.answer("这组问题已经找不到了，请重新发送 /unanswered。", show_alert=True)
        return
    await act(query, actor, state, item)


def _card(state: BotState, item: ReviewItem) -> tuple[str, InlineKeyboardMarkup]:
    teacher = _teacher(state)
    nearest = teacher.entry(item.nearest)
    lines = [f"未回答的问题：共 {item.count} 次，{item.users} 人", "问法："]
    lines += [f"· {w}" for w in item.examples[:6]]
    if len(item.examples) > 6:
        lines.append(f"……共 {len(item.examples)} 种问法")
    lines.append(f"最接近的条目：「{nearest.topic}」" if nearest else "知识库里没有相近的条目。")
    synonym = teacher.synonym_for(item) if nearest else None
    if synonym is not None:
        lines.append(f"和条目的问法只差一个词：“{synonym[1]}” / “{synonym[0]}”")
    return _text("\n".join(lines)), rk.card_keyboard(item, nearest, synonym)


async def list_clusters(update: Update, context: Context) -> None:
    """UL (the weekly digest's button): the unanswered clusters, as /unanswered lists them."""
    pressed = await _admin_press(update, context)
    if pressed is None:
        return
    query, _ = pressed
    await query.answer()
    if isinstance(query.message, Message):
        await _send_clusters(query.message, state_of(context), DEFAULT_UNANSWERED)


async def open_card(update: Update, context: Context) -> None:
    """U: one cluster's card, as a new message under the list."""

    async def act(query: CallbackQuery, _: Actor, state: BotState, item: ReviewItem) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            text, markup = _card(state, item)
            await query.message.reply_text(text, reply_markup=markup)

    await _with_item(update, context, act)


async def show_card_again(update: Update, context: Context) -> None:
    """UV: back to the card, in place."""

    async def act(query: CallbackQuery, _: Actor, state: BotState, item: ReviewItem) -> None:
        await query.answer()
        text, markup = _card(state, item)
        await _edit(query, text, markup)

    await _with_item(update, context, act)


async def _preview_in_place(
    query: CallbackQuery,
    state: BotState,
    plan: Callable[[Teacher, QuestionLog], Awaitable[Planned]],
) -> None:
    await query.answer("正在预览，请稍候……")
    text, markup = await _planned(state, plan)
    await _edit(query, text, markup)


async def attach_nearest(update: Update, context: Context) -> None:
    """UA: preview attaching the cluster to its nearest entry."""

    async def act(query: CallbackQuery, actor: Actor, state: BotState, item: ReviewItem) -> None:
        if item.nearest is None:
            await query.answer("这组问题没有相近的条目，请选其他条目。", show_alert=True)
            return
        nearest = item.nearest
        await _preview_in_place(query, state, lambda t, lg: t.plan_attach(lg, item, nearest, actor))

    await _with_item(update, context, act)


async def attach_picked(update: Update, context: Context) -> None:
    """UP: preview attaching the cluster to the entry the admin picked."""
    entry_id = _match(context)[2]

    async def act(query: CallbackQuery, actor: Actor, state: BotState, item: ReviewItem) -> None:
        await _preview_in_place(
            query, state, lambda t, lg: t.plan_attach(lg, item, entry_id, actor)
        )

    await _with_item(update, context, act)


async def pick_other(update: Update, context: Context) -> None:
    """UO: the entries closest to the cluster, and the way into the report's sections."""

    async def act(query: CallbackQuery, _: Actor, state: BotState, item: ReviewItem) -> None:
        await query.answer()
        entries = _teacher(state).candidates(item)
        text = f"为“{clip(item.examples[0], 40)}”这组问题选一个条目："
        await _edit(query, esc(text), rk.candidates_keyboard(item, entries))

    await _with_item(update, context, act)


async def pick_section(update: Update, context: Context) -> None:
    """UC: the report's sections, one page."""
    page = int(_match(context)[2])

    async def act(query: CallbackQuery, _: Actor, state: BotState, item: ReviewItem) -> None:
        await query.answer()
        markup = rk.sections_keyboard(item, state.engine.kb, page)
        await _edit(query, esc("选择条目所在的章节："), markup)

    await _with_item(update, context, act)


async def pick_in_section(update: Update, context: Context) -> None:
    """UB: one section's entries."""
    section_key = _match(context)[2]

    async def act(query: CallbackQuery, _: Actor, state: BotState, item: ReviewItem) -> None:
        section = keyboards.find_section(state.engine.kb, section_key)
        if section is None:
            await query.answer(state.messages["button_expired"])
            return
        await query.answer()
        markup = rk.section_entries_keyboard(item, section)
        await _edit(query, esc(f"{section.title}：选择条目"), markup)

    await _with_item(update, context, act)


async def add_synonym(update: Update, context: Context) -> None:
    """US: preview the synonym the cluster suggests."""

    async def act(query: CallbackQuery, actor: Actor, state: BotState, item: ReviewItem) -> None:
        await _preview_in_place(query, state, lambda t, lg: t.plan_synonym(lg, item, actor))

    await _with_item(update, context, act)


async def ignore_cluster(update: Update, context: Context) -> None:
    """UI: mark the cluster handled; the knowledge base does not change."""

    async def act(query: CallbackQuery, actor: Actor, state: BotState, item: ReviewItem) -> None:
        try:
            async with state.reading() as log_:
                outcome = await _teacher(state).ignore(log_, item, actor)
        except LOG_ERRORS as exc:
            log.warning("ignore: the question log cannot be written: %s", exc)
            await query.answer(state.messages["log_unavailable"], show_alert=True)
            return
        await query.answer()
        await _edit(query, esc(outcome.text), None)

    await _with_item(update, context, act)


async def confirm_edit(update: Update, context: Context) -> None:
    """KY: write the previewed edit, then reload so it is live at once."""
    pressed = await _admin_press(update, context)
    if pressed is None:
        return
    query, actor = pressed
    state = state_of(context)
    token = _match(context)[1]
    await query.answer()
    try:
        async with state.reading() as log_:
            outcome = await _teacher(state).confirm(log_, token, actor)
    except LOG_ERRORS as exc:
        log.warning("confirm: the question log cannot be written: %s", exc)
        await _edit(query, esc(state.messages["log_unavailable"]), None)
        return
    except EditError as exc:
        await _edit(query, esc(str(exc)), None)
        return
    text = outcome.text
    if outcome.done:
        log.debug("knowledge edited from Telegram: %s", text)  # the reload line follows
        problems = await admin.reload(state)
        if any(p.severity == "error" for p in problems):
            text += "\n但重新加载失败，机器人仍在使用修改前的知识库；请发送 /reload 查看原因。"
        else:
            text += f"\n机器人已重新加载知识库（{len(state.engine.kb.entries)} 个条目），现在生效。"
            text += "\n发送 /history 查看修改记录，/undo 撤销。"
    await _edit(query, _text(text), None)


async def cancel_edit(update: Update, context: Context) -> None:
    """KN: drop the previewed edit; nothing was written."""
    pressed = await _admin_press(update, context)
    if pressed is None:
        return
    query, _ = pressed
    state = state_of(context)
    try:
        async with state.reading() as log_:
            await log_.take_pending(_match(context)[1])
    except LOG_ERRORS as exc:  # the preview expires by itself
        log.warning("cancel: the question log cannot be written: %s", exc)
    await query.answer()
    await _edit(query, esc("已取消，知识库没有修改。"), None)


async def undo_pressed(update: Update, context: Context) -> None:
    """KU (under /history): preview reverting the latest change, as /undo does."""
    pressed = await _admin_press(update, context)
    if pressed is None:
        return
    query, actor = pressed
    await query.answer()
    if isinstance(query.message, Message):
        state = state_of(context)
        await _plan_and_send(query.message, state, lambda t, lg: t.plan_undo(lg, actor))
