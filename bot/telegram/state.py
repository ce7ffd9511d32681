"""What every handler shares: the engine, the question log, the settings and the flood guard.

One `BotState` lives in `application.bot_data` for the life of the Application; `state_of`
fetches it with its type, so handlers never juggle untyped dictionary keys.

Answer first, log after: a reply goes out before its question is handed to the background
`LogQueue`, which returns at once and writes in order, retrying while the database is away, so
logging can neither delay nor break an answer. Buttons that must find the question later
(有帮助/没帮助, the suggestion taken) carry a `ref` chosen before the reply is sent, not a row id
that does not exist yet. Every log job is also attached to the update being handled
(bot/telegram/inbox.py), which stays in the inbox until the job is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from telegram.ext import ContextTypes

from bot.answering.engine import Engine, Reply
from bot.answering.knowledge import Referral
from bot.config import Config
from bot.privacy import hash_user_id
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import QuestionLog
from bot.questionlog.records import record_for
from bot.questionlog.writer import LogQueue
from bot.telegram.flood import FloodGuard
from bot.telegram.formatting import Citing
from bot.telegram.inbox import Inbox, track_log_job

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
STATE_KEY = "kbbot"
# How long a report waits for questions still being written before reading without them.
FLUSH_SECONDS = 2.0
# Inline queries remembered for the chosen result that may follow (it does not say in what
# kind of chat the person was typing; the query did).
INLINE_MEMORY = 1000


@dataclass
class BotState:
    config: Config
    engine: Engine
    user_secret: bytes = field(repr=False)
    flood: FloodGuard  # messages
    taps: FloodGuard  # button presses, counted apart from messages
    questions: LogQueue | None = None  # opened in post_init, closed in post_shutdown
    inbox: Inbox | None = None  # the journal of updates in hand (build_application makes it)
    # The knowledge files' fingerprint last found broken, so admins hear about it once.
    broken_fingerprint: str | None = None
    # How many times the files went back to the version served after a break: part of the
    # name under which workers on one log claim the notice of a break (a break that repeats
    # an earlier one is news again; every worker watching the files counts the same).
    recoveries: int = 0
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # (user id, query) -> the chat type of the latest inline queries, oldest first.
    inline_chat_types: OrderedDict[tuple[int, str], str | None] = field(
        default_factory=OrderedDict, repr=False
    )

    @property
    def messages(self) -> Mapping[str, str]:
        """The wording being served (it changes on reload, so never keep a copy)."""
        return self.engine.kb.replies.messages

    @property
    def citing(self) -> Citing:
        """What source lines cite besides the section: the report being served, and where it
        is published (KBBOT_REPORT_URL)."""
        kb = self.engine.kb
        return Citing(kb.document, self.config.report_url, kb.documents)

    @property
    def human_channel(self) -> Referral | None:
        """The official channel offered after 没帮助: the first in channels.yaml that is not for
        emergencies (12345), or None when there is none."""
        return next((c for c in self.engine.kb.replies.referrals if not c.first), None)

    def note_inline_query(self, user_id: int, query: str, chat_type: str | None) -> None:
        """Remember where an inline query was typed, for the chosen result that may follow."""
        key = (user_id, query)
        self.inline_chat_types[key] = chat_type
        self.inline_chat_types.move_to_end(key)
        while len(self.inline_chat_types) > INLINE_MEMORY:
            self.inline_chat_types.popitem(last=False)

    def inline_chat_type(self, user_id: int, query: str) -> str | None:
        return self.inline_chat_types.get((user_id, query))

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.admins

    def log_question(
        self,
        reply: Reply,
        *,
        channel: str,
        chat_type: str | None,
        user_id: int | None,
        ref: str | None = None,
    ) -> None:
        """Hand `reply`'s question to the background writer (returns at once, never raises)."""
        if self.questions is None:
            log.warning("question not logged: the question log is not open")
            return
        user_hash = hash_user_id(user_id, self.user_secret) if user_id is not None else None
        track_log_job(
            self.questions.submit(
                record_for(reply, channel, chat_type=chat_type, user_hash=user_hash, ref=ref)
            )
        )

    def log_feedback(self, ref: str, helpful: bool) -> None:
        if self.questions is not None:
            track_log_job(self.questions.submit_feedback(ref, helpful))

    def log_feedback_choice(self, ref: str, choice: str) -> None:
        """What the person chose after 没帮助 (bot.questionlog.protocol.FEEDBACK_CHOICES)."""
        if self.questions is not None:
            track_log_job(self.questions.submit_feedback_choice(ref, choice))

    def log_suggestion_taken(self, ref: str, entry_id: str) -> None:
        if self.questions is not None:
            track_log_job(self.questions.submit_suggestion_taken(ref, entry_id))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[QuestionLog]:
        """A read connection for the admins' reports, after everything submitted is written.

        Separate from the writer's connection (WAL lets both work at once) and opened per
        command, so a report never waits behind, or holds up, the questions being logged.
        """
        if self.questions is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.questions.flush(), FLUSH_SECONDS)
        async with open_log(self.config) as qlog:
            yield qlog


def state_of(context: Context) -> BotState:
    state = context.bot_data.get(STATE_KEY)
    if not isinstance(state, BotState):
        raise RuntimeError("the Application was not built by bot.telegram.app.build_application")
    return state
