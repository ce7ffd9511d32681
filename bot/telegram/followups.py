"""What each conversation remembers for follow-up questions (那2018年呢, 受理了几件).

`Engine.respond` reads a short or elliptical message together with the chat's last answered
question (`bot.answering.followup.Context`). Telegram keeps that per chat and, inside a group, per person:
two people asking in one group must not finish each other's questions, and a question asked in
a group must not colour the same person's private chat. So the memory lives in the chat's
`chat_data`, keyed by user id, with the monotonic time it was answered; a context older than
FOLLOW_UP_SECONDS is forgotten.
"""

from __future__ import annotations

from typing import Any

from bot.answering.followup import Context

FOLLOW_UP_KEY = "followup"


def _memory(chat_data: dict[Any, Any] | None) -> dict[int, Context]:
    if chat_data is None:
        return {}
    memory = chat_data.get(FOLLOW_UP_KEY)
    if not isinstance(memory, dict):
        memory = chat_data[FOLLOW_UP_KEY] = {}
    return memory


def recall(chat_data: dict[Any, Any] | None, user_id: int | None, now: float) -> Context | None:
    """The last question `user_id` had answered in this chat, if still current at `now`."""
    context = _memory(chat_data).get(user_id or 0)
    return context.current(now) if context is not None else None


def remember(
    chat_data: dict[Any, Any] | None, user_id: int | None, context: Context | None, now: float
) -> None:
    """Keep `context` as `user_id`'s last answered question in this chat (None keeps the one
    there: small talk or a suggestion list does not end a line of questions), and forget the
    contexts of others that have gone stale, so a busy group's memory stays small."""
    if chat_data is None or context is None:
        return
    memory = _memory(chat_data)
    for key in [k for k, c in memory.items() if c.current(now) is None]:
        del memory[key]
    memory[user_id or 0] = context
