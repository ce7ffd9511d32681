"""The durable inbox (bot/telegram/inbox.py), and how the bot starts and stops around it.

Issue 11, row 1: `kill -9` of `kbbot run` mid-burst lost every update it had fetched but not yet
answered (Telegram considered them delivered), and half the questions it had answered were not
in the log. Row 21: SIGTERM during start-up hung (tests/e2e/test_faults.py). Row 18: start-up
without network was ~40 traceback lines and an exit, not one line and a retry.

Process tests run `kbbot run` for real (tests/e2e/botproc.py); the rest drive the production
Application in this process against the fake Bot API, or the Inbox directly on a real file.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import socket
import sqlite3
import stat
from collections import Counter
from collections.abc import AsyncIterator, Collection
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from telegram import Bot, Update

from bot.answering.engine import Engine
from bot.config import Config
from bot.questionlog.writer import LogQueue
from bot.telegram import app as bot_app
from bot.telegram.app import DRAIN_SECONDS, build_application, serve, webhook_options
from bot.telegram.inbox import (
    INBOX_FILE,
    KEEP_DONE,
    MAX_REPLAYS,
    Inbox,
    InboxQueue,
    Ticket,
    update_ref,
)
from bot.telegram.state import BotState
from tests.e2e.botproc import PROCESS_TOKEN, BotProcess, bot_env, logged_questions
from tests.e2e.conftest import (
    CLIENT_TIMEOUT,
    RunningBot,
    StartBot,
    start_bot_app,
    stop_bot_app,
)
from tests.e2e.fake_bot_api import ApiCall, FakeBotApi, JSONDict
from tests.e2e.test_faults import ADVISERS, QUESTIONS

REPO = Path(__file__).resolve().parents[2]
FIRST_USER = 800_000
WAIT = 30.0  # a bound on every wait: only a bug takes longer than a fraction of it


def replies(api: FakeBotApi, after: int) -> list[ApiCall]:
    return [c for c in api.calls_of("sendMessage") if c.index > after and c.ok]


async def answered(api: FakeBotApi, users: range, after: int) -> None:
    for user in users:
        await api.wait_for_call(
            "sendMessage",
            predicate=lambda c, u=user: c.ok and c.params.get("chat_id") == u,
            after=after,
            timeout=WAIT,
        )


def journal(data_dir: Path) -> list[tuple[int, str | None]]:
    """(update_id, payload) of every row of the inbox in `data_dir`, read on the side."""
    path = data_dir / INBOX_FILE
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        return list(db.execute("SELECT update_id, payload FROM updates ORDER BY update_id"))


# --- row 1: kill -9 mid-burst, then a restart ---------------------------------------------------


async def test_sigkill_mid_burst_then_a_restart_answers_everyone_and_logs_each_question_once(
    tmp_path: Path, kb_dir: Path
) -> None:
    """300 people ask at once; the bot is killed (SIGKILL) a third of the way through, at a
    moment when Telegram has been told of more updates than were answered, and started again.
    Everyone is answered, at most 1% twice (replies that left just before the kill), and every
    question is in the log exactly once."""
    users = 300
    questions = [f"{QUESTIONS[n % len(QUESTIONS)]}（第{n}问）" for n in range(users)]
    data = tmp_path / "data"
    at_kill: list[tuple[int, int]] = []

    def acknowledged_beyond_answered() -> bool:
        """(acknowledged, answered) now, kept for the kill when the first is the larger."""
        answered_now = sum(api.sent_per_chat.values())
        acknowledged = users - len(api.pending_updates)
        at_kill[:] = [(acknowledged, answered_now)]
        return answered_now >= users // 3 and acknowledged > answered_now

    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        env = bot_env(api, kb_dir, data, KBBOT_LOG_LEVEL="INFO")
        first = await BotProcess.start(env)
        try:
            await first.wait_for_line("bot @kbbot_test_bot started")
            mark = api.mark()
            for n, question in enumerate(questions):
                api.send_text(question, user_id=FIRST_USER + n)
            # No await between the check and the kill: `at_kill` is the moment of the kill.
            await api.wait_until(acknowledged_beyond_answered, timeout=WAIT)
            first.process.kill()
            await first.process.wait()
        finally:
            await first.kill()
        [(acknowledged, answered_by_first)] = at_kill
        second = await BotProcess.start(env)
        try:
            await second.wait_for_line("bot @kbbot_test_bot started")
            await answered(api, range(FIRST_USER, FIRST_USER + users), mark)
            assert await second.stop() == 0, second.output
        finally:
            await second.kill()
    # What row 1 measured: Telegram had been told of more updates than were answered.
    assert acknowledged > answered_by_first, (acknowledged, answered_by_first)
    assert "replaying" in second.output
    per_user = Counter(call.params["chat_id"] for call in replies(api, mark))
    assert set(per_user) == set(range(FIRST_USER, FIRST_USER + users))
    twice = sorted(user for user, count in per_user.items() if count > 1)
    assert len(twice) <= users // 100, twice
    assert Counter(logged_questions(data / "questions.sqlite3")) == Counter(questions)
    assert journal(data) and all(payload is None for _, payload in journal(data))


# --- journaled before Telegram is told ----------------------------------------------------------


async def test_an_update_is_journaled_before_the_poll_that_acknowledges_it(
    fake_api: FakeBotApi, start_bot: StartBot, bot_config: Config
) -> None:
    """Every getUpdates whose offset confirms updates finds them on disk already."""
    unjournaled: list[int] = []
    confirming: list[int] = []
    real_get_updates = fake_api._get_updates  # the fake's own implementation, wrapped

    async def get_updates(params: JSONDict) -> Any:
        offset = int(params.get("offset") or 0)
        confirmed = {u for u in fake_api.delivery_log if u < offset}
        if confirmed:
            confirming.append(offset)
            known = {update_id for update_id, _ in journal(bot_config.data_dir)}
            unjournaled.extend(sorted(confirmed - known))
        return await real_get_updates(params)

    fake_api.set_handler("getUpdates", get_updates)
    bot = await start_bot()
    mark = fake_api.mark()
    for n, question in enumerate(QUESTIONS):
        fake_api.send_text(question, user_id=FIRST_USER + n)
    await answered(fake_api, range(FIRST_USER, FIRST_USER + len(QUESTIONS)), mark)
    await bot.rows()
    assert confirming, "the bot confirmed what it fetched"
    assert unjournaled == []


async def test_a_webhook_update_is_journaled_before_telegram_gets_its_200(
    webhook_app: WebhookApp,
) -> None:
    update_id = 4321
    status = await webhook_app.post(update_id, QUESTIONS[0])
    assert status == 200
    assert update_id in [row for row, _ in journal(webhook_app.config.data_dir)]


async def test_a_webhook_update_delivered_twice_is_answered_once(
    webhook_app: WebhookApp, fake_api: FakeBotApi
) -> None:
    """Telegram sends an update again when our 200 was lost: the update id says it is known."""
    assert await webhook_app.post(77, QUESTIONS[0]) == 200
    first = await fake_api.wait_for_call("sendMessage", timeout=WAIT)
    assert await webhook_app.post(77, QUESTIONS[0]) == 200
    assert await webhook_app.post(78, QUESTIONS[1]) == 200  # handled in order after the repeat
    await fake_api.wait_for_call("sendMessage", after=first.index, timeout=WAIT)
    await webhook_app.app.update_queue.join()
    assert [c.params["chat_id"] for c in replies(fake_api, -1)].count(webhook_app.user) == 2


# --- done means answered and logged; replays log nothing twice ----------------------------------


async def test_once_answered_and_logged_an_update_keeps_only_its_id(
    kbbot: RunningBot,
) -> None:
    """The journal holds a raw user id and message only while the update is in flight."""
    await kbbot.ask("我的手机号是13812345678，法律顾问覆盖情况", user_id=FIRST_USER)
    await kbbot.rows()
    inbox = kbbot.state.inbox
    assert inbox is not None and inbox.in_hand == 0
    await inbox.close()  # writes the last done marks
    rows = journal(kbbot.config.data_dir)
    assert rows and all(payload is None for _, payload in rows)
    raw = b"".join(p.read_bytes() for p in kbbot.config.data_dir.glob(INBOX_FILE + "*"))
    assert b"13812345678" not in raw and str(FIRST_USER).encode() not in raw


async def test_the_journal_is_private_and_lives_beside_the_question_log(kbbot: RunningBot) -> None:
    await kbbot.ask(QUESTIONS[0], user_id=FIRST_USER)
    path = kbbot.config.data_dir / INBOX_FILE
    assert path.parent == kbbot.config.db.path.parent
    for file in path.parent.glob(INBOX_FILE + "*"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


async def _lose_done_marks_and_answer(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch, *, log_it: bool
) -> ApiCall:
    """A bot answers one question, its update's done mark never reaching the disk (and, unless
    `log_it`, its question never reaching the log), and stops: the window a kill can hit."""

    async def disk_error(self: Inbox, ids: list[int]) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    def killed_before_logging(self: BotState, *args: object, **kwargs: object) -> None:
        return None

    with monkeypatch.context() as patched:
        patched.setattr(Inbox, "_mark_done", disk_error)
        if not log_it:
            patched.setattr(BotState, "log_question", killed_before_logging)
        first = await start_bot()
        reply = await first.ask(QUESTIONS[0], user_id=FIRST_USER)
        if log_it:
            await first.rows()
        await stop_bot_app(first.app)
    return reply


async def test_an_update_answered_and_logged_but_not_marked_done_is_not_answered_again(
    fake_api: FakeBotApi,
    start_bot: StartBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The answer sent and the question logged, the done mark lost: the next start finds the
    update's ref in the question log and marks it done instead of answering it again."""
    caplog.set_level(logging.WARNING, logger="bot.telegram.inbox")
    reply = await _lose_done_marks_and_answer(start_bot, monkeypatch, log_it=True)
    second = await start_bot()
    await second.app.update_queue.join()
    assert second.state.inbox is not None
    await second.state.inbox.close()
    assert [c for c in replies(fake_api, reply.index) if c.params["chat_id"] == FIRST_USER] == []
    assert journal(second.config.data_dir) == [(1, None)]
    assert "replaying 0 update(s) left unfinished by the last run (1 more were answered" in (
        caplog.text
    )
    assert logged_questions(second.config.db.path) == [QUESTIONS[0]]


async def test_an_update_answered_but_neither_logged_nor_marked_done_is_answered_again(
    fake_api: FakeBotApi, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply left, the process died before its question was logged: the next start
    cannot know the reply left, so it answers again, logging the question once."""
    reply = await _lose_done_marks_and_answer(start_bot, monkeypatch, log_it=False)
    second = await start_bot()
    again = await fake_api.wait_for_call(
        "sendMessage", predicate=lambda c: c.params["chat_id"] == FIRST_USER, after=reply.index
    )
    # The same answer with the same buttons: their ref names the one row in the log.
    assert again.params["text"] == reply.params["text"]
    assert again.params["reply_markup"] == reply.params["reply_markup"]
    await second.app.update_queue.join()
    assert second.state.questions is not None
    await second.state.questions.flush()
    assert logged_questions(second.config.db.path) == [QUESTIONS[0]]


# --- the Inbox itself, on a real file -----------------------------------------------------------


def _update(update_id: int, text: str = "你好", user: int = FIRST_USER) -> Update:
    chat = {"id": user, "type": "private", "first_name": "T"}
    message = {"message_id": update_id, "date": 1_700_000_000, "chat": chat, "text": text}
    message["from"] = {"id": user, "is_bot": False, "first_name": "T"}
    return Update.de_json({"update_id": update_id, "message": message}, BOT)


BOT = Bot(PROCESS_TOKEN)


@pytest.fixture
async def inboxes(tmp_path: Path) -> AsyncIterator[list[Inbox]]:
    """Open Inboxes on one file, like successive runs of the bot (closed at the end)."""
    opened: list[Inbox] = []
    yield opened
    for inbox in opened:
        if inbox.is_open:
            await inbox.close()


async def _open(inboxes: list[Inbox], path: Path) -> Inbox:
    inbox = Inbox(path)
    await inbox.open()
    inboxes.append(inbox)
    return inbox


async def test_an_update_is_done_once_handled_and_its_log_jobs_are_written(
    tmp_path: Path, inboxes: list[Inbox]
) -> None:
    inbox = await _open(inboxes, tmp_path / INBOX_FILE)
    assert await inbox.receive(_update(1))
    ticket = inbox.ticket_for(_update(1))
    assert isinstance(ticket, Ticket)
    job: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
    inbox.attach(ticket, job)
    inbox.handled(ticket)
    assert not ticket.finished and inbox.in_hand == 1, "the log row is not written yet"
    job.set_result(7)
    await asyncio.sleep(0)  # the future's callbacks run on the next turn of the loop
    assert ticket.finished and inbox.in_hand == 0


async def test_an_update_is_on_disk_when_received_even_while_done_marks_are_being_written(
    tmp_path: Path, inboxes: list[Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One connection journals updates and writes done marks in batches: an update journaled
    while a batch's transaction is open would be committed only with the batch, after the
    update was acknowledged (a kill in between lost it; tests/e2e/test_workers.py found it)."""
    inbox = await _open(inboxes, tmp_path / INBOX_FILE)
    assert await inbox.receive(_update(1))
    ticket = inbox.ticket_for(_update(1))
    assert ticket is not None
    in_batch, release = asyncio.Event(), asyncio.Event()
    clear = Inbox._clear

    async def held_open(self: Inbox, ids: list[int]) -> None:
        await clear(self, ids)
        in_batch.set()
        await release.wait()

    monkeypatch.setattr(Inbox, "_clear", held_open)
    inbox.handled(ticket)  # its done mark is written in a transaction, held open here
    await in_batch.wait()
    receiving = asyncio.create_task(inbox.receive(_update(2)))
    try:
        # A check that something does not happen needs a bound: the insert takes milliseconds.
        done, _ = await asyncio.wait({receiving}, timeout=0.3)
        if done:
            assert 2 in [row for row, _ in journal(tmp_path)], "acknowledged but not on disk"
    finally:
        release.set()
    assert await receiving
    assert [row for row, _ in journal(tmp_path)] == [1, 2]


async def test_the_same_update_id_is_skipped_in_hand_and_after_a_restart(
    tmp_path: Path, inboxes: list[Inbox]
) -> None:
    path = tmp_path / INBOX_FILE
    first = await _open(inboxes, path)
    assert await first.receive(_update(5))
    assert not await first.receive(_update(5)), "in hand"
    ticket = first.ticket_for(_update(5))
    assert ticket is not None
    first.handled(ticket)
    assert not await first.receive(_update(5)), "done"
    await first.close()
    second = await _open(inboxes, path)
    assert not await second.receive(_update(5)), "done, in an earlier run"
    assert await second.receive(_update(6))


async def test_an_unfinished_update_is_replayed_with_its_ref_until_it_seems_to_kill_the_bot(
    tmp_path: Path, inboxes: list[Inbox]
) -> None:
    """Each run that ends without a clean close (a kill) counts; after MAX_REPLAYS the update is
    dropped rather than bringing the bot down for ever."""
    path = tmp_path / INBOX_FILE
    crashed = await _open(inboxes, path)
    assert await crashed.receive(_update(9, "复议"))
    ticket = crashed.ticket_for(_update(9))
    assert ticket is not None
    for _ in range(MAX_REPLAYS):
        run = await _open(inboxes, path)  # the previous run never closed: it was killed
        [replayed] = await run.unfinished(BOT)
        assert replayed.update_id == 9 and replayed.message is not None
        assert replayed.message.text == "复议"
        again = run.ticket_for(replayed)
        assert again is not None and again.next_ref() == ticket.ref
    last = await _open(inboxes, path)
    assert await last.unfinished(BOT) == []
    assert journal(tmp_path) == [(9, None)]


async def test_workers_sharing_a_key_give_an_update_the_same_ref_and_no_one_else_does(
    tmp_path: Path, inboxes: list[Inbox]
) -> None:
    """Two workers (two inboxes) that both take an update log its question under one ref."""
    first = await _open_keyed(inboxes, tmp_path / "a" / INBOX_FILE, b"shared")
    second = await _open_keyed(inboxes, tmp_path / "b" / INBOX_FILE, b"shared")
    other = await _open_keyed(inboxes, tmp_path / "c" / INBOX_FILE, b"another bot")
    refs = []
    for inbox in (first, second, other):
        assert await inbox.receive(_update(11))
        ticket = inbox.ticket_for(_update(11))
        assert ticket is not None
        refs.append((ticket.next_ref(), ticket.next_ref()))
    assert refs[0] == refs[1] != refs[2]
    assert refs[0][0] == update_ref(b"shared", 11) and refs[0][0] != refs[0][1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{11}", refs[0][0])


async def _open_keyed(inboxes: list[Inbox], path: Path, key: bytes) -> Inbox:
    inbox = Inbox(path, ref_key=key)
    await inbox.open()
    inboxes.append(inbox)
    return inbox


async def test_a_replay_skips_the_updates_whose_questions_are_logged_already(
    tmp_path: Path, inboxes: list[Inbox]
) -> None:
    path = tmp_path / INBOX_FILE
    crashed = await _open_keyed(inboxes, path, b"k")
    for update_id in (1, 2):
        assert await crashed.receive(_update(update_id))
    run = await _open_keyed(inboxes, path, b"k")
    queue = InboxQueue(run)
    asked: list[list[str]] = []

    async def logged(refs: Collection[str]) -> set[str]:
        asked.append(sorted(refs))
        return {update_ref(b"k", 1)}

    assert await queue.replay(BOT, logged) == 1
    assert asked == [sorted(update_ref(b"k", n) for n in (1, 2))]
    queued = queue.get_nowait()
    assert isinstance(queued, Update) and queued.update_id == 2 and queue.empty()
    assert run.in_hand == 1
    await run.close()
    assert journal(tmp_path) == [(1, None), (2, journal(tmp_path)[1][1])]
    assert journal(tmp_path)[1][1] is not None


async def test_a_clean_stop_leaves_unfinished_updates_for_the_next_start(
    tmp_path: Path, inboxes: list[Inbox]
) -> None:
    """Stopped before it was handled, an update waits for the next start; clean stops do not
    count towards MAX_REPLAYS, so however often that happens it is never dropped."""
    path = tmp_path / INBOX_FILE
    run = await _open(inboxes, path)
    assert await run.receive(_update(3))
    assert await run.close() == 1
    for _ in range(MAX_REPLAYS + 1):
        run = await _open(inboxes, path)
        assert [update.update_id for update in await run.unfinished(BOT)] == [3]
        assert await run.close() == 1


async def test_done_ids_are_forgotten_after_telegram_could_redeliver_them(
    tmp_path: Path, inboxes: list[Inbox]
) -> None:
    path = tmp_path / INBOX_FILE
    run = await _open(inboxes, path)
    for update_id in (1, 2):
        await run.receive(_update(update_id))
        ticket = run.ticket_for(_update(update_id))
        assert ticket is not None
        run.handled(ticket)
    await run.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE updates SET done_at = done_at - ? WHERE update_id = 1", (KEEP_DONE + 1,))
    await _open(inboxes, path)
    assert [row for row, _ in journal(tmp_path)] == [2]


async def test_an_unusable_journal_does_not_stop_the_bot_answering(
    start_bot: StartBot, bot_config: Config
) -> None:
    bot_config.data_dir.mkdir(parents=True, exist_ok=True)
    (bot_config.data_dir / INBOX_FILE).write_bytes(b"not a database\n" * 100)
    bot = await start_bot()
    assert bot.state.inbox is not None and not bot.state.inbox.is_open
    reply = await bot.ask(QUESTIONS[0], user_id=FIRST_USER)
    assert reply.result["text"].startswith(ADVISERS)


# --- stopping within the deploy files' timeout ---------------------------------------------------


async def test_a_stop_while_telegram_stalls_ends_in_time_and_keeps_the_update(
    fake_api: FakeBotApi, bot_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply hangs (Telegram slow to answer): the stop does not wait past DRAIN_SECONDS; the
    update stays in the inbox and is answered at the next start, its question logged once."""
    monkeypatch.setattr(bot_app, "DRAIN_SECONDS", 0.5)
    config = dataclasses.replace(bot_config, flood_limit=1000)
    app = build_application(config, Engine.from_directory(config.knowledge_dir), timeout=WAIT)
    stopping = asyncio.Event()
    served = asyncio.create_task(serve(app, stopping))
    try:
        await fake_api.wait_polling(timeout=WAIT)
        fake_api.delay_next("sendMessage", WAIT)  # sent at once, answered only much later
        update = fake_api.send_text(QUESTIONS[0], user_id=FIRST_USER)
        stuck = await fake_api.wait_for_call("sendMessage", timeout=WAIT)
        stopping.set()
        async with asyncio.timeout(5):
            await served
    finally:
        stopping.set()
        with contextlib.suppress(Exception):
            await served
    kept = [update_id for update_id, payload in journal(config.data_dir) if payload is not None]
    assert kept == [update["update_id"]]
    second = build_application(config, Engine.from_directory(config.knowledge_dir), timeout=WAIT)
    await start_bot_app(second)
    try:
        again = await fake_api.wait_for_call("sendMessage", after=stuck.index, timeout=WAIT)
        assert again.params["chat_id"] == FIRST_USER and again.fault is None
        await second.update_queue.join()
    finally:
        await stop_bot_app(second)
    assert logged_questions(config.db.path) == [QUESTIONS[0]]


def test_the_deploy_files_stop_timeouts_cover_the_whole_shutdown() -> None:
    """After SIGTERM: DRAIN_SECONDS for the updates in hand, then up to LogQueue.close's drain
    for the question log; systemd and Docker must wait for both before they SIGKILL."""
    log_drain = LogQueue.close.__defaults__[0]  # type: ignore[index]
    needed = DRAIN_SECONDS + log_drain + 3  # and a little for the interpreter to exit
    unit = (REPO / "deploy" / "kbbot.service").read_text(encoding="utf-8")
    [timeout] = re.findall(r"^TimeoutStopSec=(\d+)s$", unit, flags=re.MULTILINE)
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    grace = compose["services"]["kbbot"]["stop_grace_period"]
    assert int(timeout) >= needed and int(grace.removesuffix("s")) >= needed


# --- start-up without network (row 18) -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_startup_without_network_is_one_line_a_retry_and_a_prompt_stop(
    tmp_path: Path, kb_dir: Path
) -> None:
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        env = bot_env(api, kb_dir, tmp_path / "data", KBBOT_LOG_LEVEL="INFO")
    env["KBBOT_API_URL"] = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    bot = await BotProcess.start(env)
    try:
        first = await bot.wait_for_line("cannot reach the Bot API")
        await bot.wait_for_line("cannot reach the Bot API", after=first + 1)
        status = await bot.stop(timeout=5)
    finally:
        await bot.kill()
    assert status == 0, bot.output
    assert "Traceback" not in bot.output
    failures = [line for line in bot.lines if "cannot reach the Bot API" in line]
    assert "retrying in 1s" in failures[0] and "retrying in 2s" in failures[1]
    assert all(env["KBBOT_API_URL"] in line for line in failures)
    assert PROCESS_TOKEN.split(":")[1] not in bot.output


async def test_startup_retries_until_the_bot_api_answers(tmp_path: Path, kb_dir: Path) -> None:
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        api.fail_next("getMe", status=502)
        api.fail_next("deleteWebhook", status=502)
        bot = await BotProcess.start(bot_env(api, kb_dir, tmp_path / "data"))
        try:
            await bot.wait_for_line("bot @kbbot_test_bot started")
            reply = await api.ask(QUESTIONS[0], user_id=FIRST_USER, timeout=WAIT)
            assert await bot.stop() == 0
        finally:
            await bot.kill()
    assert reply.result["text"].startswith(ADVISERS)
    assert [c.status for c in api.calls_of("getMe")] == [502, 200]
    assert [c.status for c in api.calls_of("deleteWebhook")] == [502, 200]
    failures = [line for line in bot.lines if "cannot reach the Bot API" in line]
    assert len(failures) == 2 and "Traceback" not in bot.output


# --- a webhook bot in this process ---------------------------------------------------------------

SECRET = "inbox-test-secret"


@dataclasses.dataclass
class WebhookApp:
    app: Any
    config: Config
    api: FakeBotApi
    session: aiohttp.ClientSession
    user: int = FIRST_USER

    async def post(self, update_id: int, text: str) -> int:
        user = self.api.add_user(self.user)
        chat = self.api.add_chat({"id": self.user, "type": "private", "first_name": "T"})
        message = {"message_id": update_id, "date": 1_700_000_000, "from": user, "chat": chat}
        update = {"update_id": update_id, "message": {**message, "text": text}}
        url = f"http://127.0.0.1:{self.config.webhook_port}/kbbot/hook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self.session.post(url, json=update, headers=headers) as response:
            return response.status


@pytest.fixture
async def webhook_app(fake_api: FakeBotApi, bot_config: Config) -> AsyncIterator[WebhookApp]:
    config = dataclasses.replace(
        bot_config,
        webhook_url="https://bot.example.org/kbbot/hook",
        webhook_port=_free_port(),
        webhook_secret=SECRET,
    )
    app = build_application(
        config, Engine.from_directory(config.knowledge_dir), timeout=CLIENT_TIMEOUT
    )
    await app.initialize()
    assert app.post_init is not None and app.updater is not None
    await app.post_init(app)
    try:
        await app.updater.start_webhook(**webhook_options(config))
        await app.start()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as session:
            yield WebhookApp(app, config, fake_api, session)
    finally:
        await stop_bot_app(app)
