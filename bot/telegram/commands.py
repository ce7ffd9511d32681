"""Every Telegram command, declared once: its handler, its menu entry and its help line.

`COMMANDS` is the only list of commands. `add_command_handlers` registers their handlers,
`publish_commands` builds the menu Telegram shows next to the text box from it (everyone sees
the public commands; each admin additionally sees the admin commands, in their own private chat
only, through `BotCommandScopeChat`), and `/help` lists the same commands with the same words.
A command's words are its `description` unless replies.yaml has `command_<name>` for it: the
admins' wording wins, like every other text the bot sends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, filters

from bot.answering.knowledge import fill
from bot.telegram import admin, handlers, review
from bot.telegram.formatting import esc
from bot.telegram.state import BotState, Context, state_of

log = logging.getLogger(__name__)

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]
# Telegram's limit on a command's description in the menu.
DESCRIPTION_LIMIT = 256


@dataclass(frozen=True)
class Command:
    """A command: `/name` runs `callback`; admin commands answer admins in private chats only
    (everyone else gets the unknown-command reply, so they are not even advertised)."""

    name: str
    callback: Callback
    description: str
    admin: bool = False

    def words(self, messages: Mapping[str, str]) -> str:
        """What the menu and /help say about this command (replies.yaml may reword it)."""
        return messages.get(f"command_{self.name}") or self.description


async def _help(update: Update, context: Context) -> None:
    """/help: example questions, then the commands this person can use."""
    message = update.effective_message
    if message is None:
        return
    state = state_of(context)
    text = esc(state.messages["help"])
    private = not handlers.is_group(message)
    if not private:
        text += "\n\n" + esc(fill(state.messages["group_hint"], bot=context.bot.username))
    user = update.effective_user
    shown = for_user(state, user.id if user else None, private=private)
    text += "\n\n" + "\n".join(f"/{c.name} {esc(c.words(state.messages))}" for c in shown)
    await message.reply_text(text)


async def _reload(update: Update, context: Context) -> None:
    """/reload, then the menu published again when the reload changed a command's words."""
    state = state_of(context)
    before = menu_words(state)
    await admin.reload_knowledge(update, context)
    if menu_words(state) != before:
        await publish_commands(context.bot, state)


COMMANDS: tuple[Command, ...] = (
    Command("start", handlers.start, "开始使用，按主题浏览"),
    Command("help", _help, "提问示例和命令"),
    Command("topics", handlers.topics, "按主题浏览报告内容"),
    Command("stats", admin.show_stats, "近7天的提问统计（管理员）", admin=True),
    Command("unanswered", review.show_unanswered, "最近没有回答上的问题（管理员）", admin=True),
    Command("history", review.show_history, "知识库修改记录（管理员）", admin=True),
    Command("undo", review.undo_last, "撤销最近一次知识库修改（管理员）", admin=True),
    Command("why", admin.explain_last, "解释我上一个问题是怎么匹配的（管理员）", admin=True),
    Command("reload", _reload, "重新加载知识库（管理员）", admin=True),
)


def add_command_handlers(
    app: Application[Any, Any, Any, Any, Any, Any], admins: frozenset[int]
) -> None:
    """A CommandHandler per command; admin ones only for admins in their private chats."""
    new = filters.UpdateType.MESSAGE  # edits of old messages are not new commands
    is_admin = filters.User(user_id=admins) & filters.ChatType.PRIVATE
    for command in COMMANDS:
        allowed = new & is_admin if command.admin else new
        app.add_handler(CommandHandler(command.name, command.callback, filters=allowed))


def for_user(state: BotState, user_id: int | None, *, private: bool) -> tuple[Command, ...]:
    """The commands this person can use here: admin ones only for an admin in a private chat."""
    show_admin = private and state.is_admin(user_id)
    return tuple(c for c in COMMANDS if show_admin or not c.admin)


def menu_words(state: BotState) -> tuple[str, ...]:
    return tuple(c.words(state.messages) for c in COMMANDS)


def _menu(commands: Sequence[Command], messages: Mapping[str, str]) -> list[BotCommand]:
    return [BotCommand(c.name, c.words(messages)[:DESCRIPTION_LIMIT]) for c in commands]


async def publish_commands(bot: Bot, state: BotState) -> None:
    """setMyCommands for everyone, then for each admin's chat; failures only log a warning."""
    public = _menu([c for c in COMMANDS if not c.admin], state.messages)
    every = _menu(COMMANDS, state.messages)
    try:
        await bot.set_my_commands(public, scope=BotCommandScopeDefault())
    except TelegramError as exc:
        log.warning("could not publish the command menu: %s", exc)
        return
    for user_id in sorted(state.config.admins):
        try:
            await bot.set_my_commands(every, scope=BotCommandScopeChat(user_id))
        except TelegramError as exc:  # e.g. the admin has never opened a chat with the bot
            log.warning("could not publish the admin commands for admin %s: %s", user_id, exc)
