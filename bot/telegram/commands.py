"""The command menu Telegram shows next to the text box, published per scope.

Everyone sees the public commands; each admin additionally sees the admin commands, in their own
private chat only (`BotCommandScopeChat`), so the menu never advertises them to anyone else.
The descriptions come from replies.yaml, like every other text the bot sends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.telegram.state import BotState

log = logging.getLogger(__name__)

PUBLIC_COMMANDS = ("start", "help", "topics")
ADMIN_COMMANDS = ("stats", "unanswered", "history", "undo", "why", "reload")
# Descriptions for commands newer than a deployment's replies.yaml (a knowledge folder is the
# admins' copy, and is not replaced on upgrade); replies.yaml's `command_<name>` wins.
DEFAULT_DESCRIPTIONS = {
    "history": "知识库修改记录（管理员）",
    "undo": "撤销最近一次知识库修改（管理员）",
}


def _commands(names: tuple[str, ...], messages: Mapping[str, str]) -> list[BotCommand]:
    return [BotCommand(name, _description(name, messages)[:256]) for name in names]


def _description(name: str, messages: Mapping[str, str]) -> str:
    return messages.get(f"command_{name}") or DEFAULT_DESCRIPTIONS[name]


async def publish_commands(bot: Bot, state: BotState) -> None:
    """setMyCommands for everyone, then for each admin's chat; failures only log a warning."""
    public = _commands(PUBLIC_COMMANDS, state.messages)
    admin = public + _commands(ADMIN_COMMANDS, state.messages)
    try:
        await bot.set_my_commands(public, scope=BotCommandScopeDefault())
    except TelegramError as exc:
        log.warning("could not publish the command menu: %s", exc)
        return
    for user_id in sorted(state.config.admins):
        try:
            await bot.set_my_commands(admin, scope=BotCommandScopeChat(user_id))
        except TelegramError as exc:  # e.g. the admin has never opened a chat with the bot
            log.warning("could not publish the admin commands for admin %s: %s", user_id, exc)
