"""Several workers on one question log (issue 12, item 3): two `kbbot run` webhook workers
behind a proxy, one of them killed mid-burst, and what they share through the log.

The test plays the reverse proxy: it posts Telegram's updates to the workers in turn, and an
update whose request got no 200 goes to the other worker, as Telegram posts an undelivered
update again. What the workers share is in the log's database (questions, knowledge history,
review state, the claims of scheduled jobs); what each keeps in memory (the flood guard, the
follow-up context, an admin's /why) is measured here under round robin, the figures the
README and deploy/README.md quote.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram.ext import CallbackContext

from bot.answering.engine import Engine
from bot.authoring import history
from bot.cli import main as cli
from bot.config import Config
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import LogURL, parse_log_url
from bot.telegram import admin
from bot.telegram.app import (
    RUN_LOCK,
    BotStartError,
    build_application,
    holding_data_dir,
    webhook_options,
)
from bot.telegram.state import BotState
from tests import pglog
from tests.e2e.botproc import PROCESS_TOKEN, BotProcess, bot_env
from tests.e2e.conftest import ADMIN_ID, CLIENT_TIMEOUT, AnyApplication, stop_bot_app
from tests.e2e.fake_bot_api import FakeBotApi, JSONDict, auto_entities
from tests.e2e.test_bot_followups import FIRST, FOLLOW_UP, NOT_FOUND, OTHER_YEAR
from tests.e2e.test_faults import QUESTIONS

WEBHOOK_URL = "https://bot.example.org/kbbot/webhook"
WEBHOOK_PATH = "/kbbot/webhook"
SECRET = "workers-test-webhook-secret"
FIRST_USER = 900_000
WAIT = 60.0  # a bound on every wait: only a bug takes longer than a fraction of it
# Requests in flight to one worker at a time, as Telegram's default webhook max_connections.
CONNECTIONS = 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def message_update(api: FakeBotApi, update_id: int, user_id: int, text: str) -> JSONDict:
    """A private text message as Telegram posts it to a webhook (the chat known to the fake)."""
    user = api.add_user(user_id)
    chat = api.add_chat({"id": user_id, "type": "private", "first_name": user["first_name"]})
    message = {"message_id": update_id, "date": int(time.time()), "from": user, "chat": chat}
    entities = auto_entities(text)  # /why is a bot_command, as the client marks it
    if entities:
        message["entities"] = entities
    return {"update_id": update_id, "message": {**message, "text": text}}


@dataclasses.dataclass
class Proxy:
    """The reverse proxy in front of the workers, as the test plays it."""

    session: aiohttp.ClientSession
    ports: Sequence[int]
    # update id -> the worker that answered its request 200 (the first one to).
    accepted: dict[int, int] = dataclasses.field(default_factory=dict)
    # Called with the worker each time one answers 200.
    on_accepted: Callable[[int], None] = lambda worker: None

    async def post(self, worker: int, update: JSONDict) -> bool:
        """Post `update` to one worker; whether it answered 200."""
        url = f"http://127.0.0.1:{self.ports[worker]}{WEBHOOK_PATH}"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        try:
            async with self.session.post(url, json=update, headers=headers) as response:
                accepted = response.status == 200
        except aiohttp.ClientError:
            return False
        if accepted:
            self.accepted.setdefault(update["update_id"], worker)
            self.on_accepted(worker)
        return accepted

    async def deliver(self, update: JSONDict, worker: int, survivor: int) -> None:
        """To `worker`; when that gives no 200, again to `survivor` (Telegram's retry)."""
        if not await self.post(worker, update) and not await self.post(survivor, update):
            raise AssertionError(f"update {update['update_id']} was refused by both workers")


@contextlib.asynccontextmanager
async def proxy_to(ports: Sequence[int]) -> AsyncIterator[Proxy]:
    connector = aiohttp.TCPConnector(limit_per_host=CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=WAIT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield Proxy(session, ports)


def logged_questions(url: str) -> list[str]:
    with contextlib.closing(pglog.connect(url)) as db:
        return [str(q) for (q,) in db.execute("SELECT question FROM questions ORDER BY id")]


def hand_edits(url: str) -> list[str]:
    with contextlib.closing(pglog.connect(url)) as db:
        rows = db.execute("SELECT file FROM knowledge_changes WHERE action = 'hand_edit'")
        return [str(file) for (file,) in rows]


# --- two `kbbot run` workers on one PostgreSQL log, one killed mid-burst ------------------------


async def test_two_workers_answer_a_thousand_people_through_a_kill_and_log_each_question_once(
    tmp_path: Path, kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 people ask at once through a proxy alternating between two workers; one worker
    is killed (SIGKILL) a third of the way through its share, what it did not take is posted
    to the other, and it is started again. Everyone is answered, at most 1% twice (replies that
    left just before the kill, before their questions were logged), every question is in the
    log exactly once, and `kbbot report` counts both workers' questions and one person per
    user."""
    users = 1000
    questions = [f"{QUESTIONS[n % len(QUESTIONS)]}（第{n}问）" for n in range(users)]
    ports = [_free_port(), _free_port()]
    survivor, killed = 0, 1
    with pglog.fresh_schema() as url:
        async with FakeBotApi(token=PROCESS_TOKEN) as api:
            envs = [
                bot_env(
                    api,
                    kb_dir,
                    tmp_path / f"data-{n}",
                    KBBOT_DB=url,
                    KBBOT_WEBHOOK_URL=WEBHOOK_URL,
                    KBBOT_WEBHOOK_PORT=str(port),
                    KBBOT_WEBHOOK_SECRET=SECRET,
                    KBBOT_RATE_LIMIT="0",  # the fake is not Telegram: no 30/s to keep to
                    KBBOT_LOG_LEVEL="INFO",
                )
                for n, port in enumerate(ports)
            ]
            updates = [
                message_update(api, n + 1, FIRST_USER + n, question)
                for n, question in enumerate(questions)
            ]
            workers = list(await asyncio.gather(*(BotProcess.start(env) for env in envs)))
            restarted: BotProcess | None = None
            try:
                await asyncio.gather(*(w.wait_for_line("started", timeout=WAIT) for w in workers))
                answered = api.sent_per_chat
                taken = Counter[int]()

                def kill_a_third_of_the_way(worker: int) -> None:
                    taken[worker] += 1
                    if worker == killed and taken[worker] == users // 6:
                        workers[killed].process.kill()

                async with proxy_to(ports) as proxy:
                    proxy.on_accepted = kill_a_third_of_the_way
                    await asyncio.gather(
                        *(
                            proxy.deliver(update, n % 2, survivor)
                            for n, update in enumerate(updates)
                        )
                    )
                await workers[killed].process.wait()
                # Telegram posts again what the killed worker did not take, and the survivor
                # answers it; only what the killed worker took (its inbox) waits for it.
                stranded = {
                    FIRST_USER + update_id - 1
                    for update_id, worker in proxy.accepted.items()
                    if worker == killed
                }
                others = set(range(FIRST_USER, FIRST_USER + users)) - stranded
                await api.wait_until(lambda: others <= answered.keys(), timeout=WAIT)
                # A hand edit while one worker is down: the other's file watch and the
                # restarted worker's start both notice it, and the log records it once.
                edited = kb_dir / "10-work.yaml"
                edited.write_text(edited.read_text("utf-8") + "# 管理员手改\n", "utf-8")
                restarted = await BotProcess.start(envs[killed])
                await restarted.wait_for_line("started", timeout=WAIT)
                await api.wait_until(lambda: len(answered) == users, timeout=WAIT)
                statuses = await asyncio.gather(workers[survivor].stop(), restarted.stop())
            finally:
                for worker in (*workers, restarted):
                    if worker is not None:
                        await worker.kill()
            assert statuses == [0, 0], (workers[survivor].output, restarted.output)
            assert "replaying" in restarted.output
        taken_by = Counter(proxy.accepted.values())
        assert users // 6 <= taken_by[killed] < users // 3 < users // 2 < taken_by[survivor]
        assert set(answered) == set(range(FIRST_USER, FIRST_USER + users))
        twice = sorted(user for user, count in answered.items() if count > 1)
        assert len(twice) <= users // 100, twice
        assert Counter(logged_questions(url)) == Counter(questions)
        assert hand_edits(url) == ["10-work.yaml"]
        for name, value in (("KBBOT_DB", url), ("KBBOT_KNOWLEDGE", str(kb_dir))):
            monkeypatch.setenv(name, value)
        out = io.StringIO()
        status = await asyncio.to_thread(
            cli.run, ["report", "--format", "json", "--since", "1d"], out=out
        )
    assert status == 0
    totals = json.loads(out.getvalue())["totals"]
    assert (totals["questions"], totals["users"]) == (users, users)


# --- what the workers share through the log, and what each keeps to itself ---------------------


@dataclasses.dataclass
class Worker:
    """The production Application serving a webhook in this process."""

    app: AnyApplication
    port: int

    @property
    def state(self) -> BotState:
        state = self.app.bot_data["kbbot"]
        assert isinstance(state, BotState)
        return state

    def context(self) -> CallbackContext[Any, Any, Any, Any]:
        """What the JobQueue hands a scheduled job of this worker."""
        return CallbackContext(self.app)

    async def settle(self) -> None:
        """Every update received handled, every question handed to the log written."""
        await self.app.update_queue.join()
        assert self.state.questions is not None
        await self.state.questions.flush()


@pytest.fixture
async def two_workers(
    fake_api: FakeBotApi, bot_config: Config, log_db: Path | str, tmp_path: Path
) -> AsyncIterator[list[Worker]]:
    """Two workers on one log (each backend), each with a data directory of its own."""
    db = LogURL.file(log_db) if isinstance(log_db, Path) else parse_log_url(log_db)
    started: list[Worker] = []
    try:
        for n in range(2):
            config = dataclasses.replace(
                bot_config,
                db=db,
                data_dir=tmp_path / f"worker-{n}",
                webhook_url=WEBHOOK_URL,
                webhook_port=_free_port(),
                webhook_secret=SECRET,
                flood_limit=FLOOD_LIMIT,
                rate_limit=0,
            )
            app = build_application(
                config, Engine.from_directory(config.knowledge_dir), timeout=CLIENT_TIMEOUT
            )
            await app.initialize()
            assert app.post_init is not None and app.updater is not None
            started.append(Worker(app, config.webhook_port))
            await app.post_init(app)
            await app.updater.start_webhook(**webhook_options(config))
            await app.start()
        yield started
    finally:
        for worker in reversed(started):
            await stop_bot_app(worker.app)


FLOOD_LIMIT = 5
FOLLOW_UP_PAIRS = 40


class Conversation:
    """Messages through a proxy that picks the worker for each, and the replies they got."""

    def __init__(self, api: FakeBotApi, workers: list[Worker], proxy: Proxy) -> None:
        self.api = api
        self.workers = workers
        self.proxy = proxy
        self._next_id = 1

    async def send(self, user: int, text: str, worker: int) -> str:
        """Post one message to `worker`, wait until it is handled; the reply's text (the
        first, if several; "" when the message was dropped)."""
        mark = self.api.mark()
        update = message_update(self.api, self._next_id, user, text)
        self._next_id += 1
        assert await self.proxy.post(worker, update)
        await self.workers[worker].app.update_queue.join()
        replies = [
            c
            for c in self.api.calls_of("sendMessage")
            if c.index > mark and c.ok and c.params["chat_id"] == user
        ]
        return str(replies[0].result["text"]) if replies else ""


@pytest.fixture
async def conversation(
    fake_api: FakeBotApi, two_workers: list[Worker]
) -> AsyncIterator[Conversation]:
    async with proxy_to([w.port for w in two_workers]) as proxy:
        yield Conversation(fake_api, two_workers, proxy)


async def test_with_round_robin_a_person_gets_twice_the_flood_allowance(
    conversation: Conversation,
) -> None:
    """The flood guard counts per worker: 15 quick messages from one person get 5 answers
    from one worker, and 10 when they alternate between two."""
    slow_down = conversation.workers[0].state.messages["slow_down"]
    got: dict[str, list[str]] = {"one worker": [], "round robin": []}
    for user, (policy, texts) in enumerate(got.items(), start=FIRST_USER):
        for n in range(3 * FLOOD_LIMIT):
            worker = n % 2 if policy == "round robin" else 0
            texts.append(await conversation.send(user, QUESTIONS[n % len(QUESTIONS)], worker))
    answers = {
        policy: sum(t not in ("", slow_down) for t in texts) for policy, texts in got.items()
    }
    assert answers == {"one worker": FLOOD_LIMIT, "round robin": 2 * FLOOD_LIMIT}
    assert got["one worker"].count(slow_down) == 1 and got["round robin"].count(slow_down) == 2


async def test_a_follow_up_or_why_on_the_other_worker_has_no_memory_of_the_question(
    conversation: Conversation,
) -> None:
    """The follow-up context and /why are each worker's: a follow-up is read as one only on
    the worker that answered the question, and with workers picked at random that is about
    half the time."""
    one, other = FIRST_USER, FIRST_USER + 1
    await conversation.send(one, FIRST, 0)
    assert (await conversation.send(one, FOLLOW_UP, 0)).startswith(OTHER_YEAR)
    await conversation.send(other, FIRST, 0)
    assert NOT_FOUND in await conversation.send(other, FOLLOW_UP, 1)

    why_none = conversation.workers[0].state.messages["why_none"]
    await conversation.send(ADMIN_ID, FIRST, 0)
    assert await conversation.send(ADMIN_ID, "/why", 1) == why_none
    assert await conversation.send(ADMIN_ID, "/why", 0) != why_none

    # A proxy picking workers at random (or round robin over many people's interleaved
    # messages): a follow-up is read as one exactly when it lands where its question did.
    pick = random.Random(12)
    read_along = same_worker = 0
    for user in range(FIRST_USER + 10, FIRST_USER + 10 + FOLLOW_UP_PAIRS):
        asked, followed = pick.randrange(2), pick.randrange(2)
        await conversation.send(user, FIRST, asked)
        reply = await conversation.send(user, FOLLOW_UP, followed)
        read_along += reply.startswith(OTHER_YEAR)
        same_worker += asked == followed
    assert read_along == same_worker == 21  # of 40: the figure the README quotes


async def test_one_person_is_one_user_whichever_worker_answers(
    conversation: Conversation,
) -> None:
    """Both workers hash user ids with the one KBBOT_SECRET: the report counts one person."""
    for n in range(4):
        await conversation.send(FIRST_USER, QUESTIONS[n], n % 2)
    for worker in conversation.workers:
        await worker.settle()
    async with open_log(conversation.workers[0].state.config) as qlog:
        totals, _ = await qlog.overview(None, None)
    assert (totals.questions, totals.users) == (4, 1)


async def test_the_weekly_digest_and_a_broken_file_notice_reach_the_admins_once(
    two_workers: list[Worker], fake_api: FakeBotApi, kb_dir: Path
) -> None:
    """Both workers schedule the digest and watch the files; the log lets one of them speak."""

    def to_admin(after: int) -> list[str]:
        return [
            str(c.result["text"])
            for c in fake_api.calls_of("sendMessage")
            if c.index > after and c.ok and c.params["chat_id"] == ADMIN_ID
        ]

    fake_api.add_chat({"id": ADMIN_ID, "type": "private", "first_name": "Admin"})
    mark = fake_api.mark()
    await asyncio.gather(*(admin.send_weekly_digest(w.context()) for w in two_workers))
    [digest] = to_admin(mark)
    assert digest.startswith("每周问答摘要")

    mark = fake_api.mark()
    (kb_dir / "50-broken.yaml").write_text("entries:\n  - id: [unclosed\n", "utf-8")
    await asyncio.gather(*(admin.watch_knowledge(w.context()) for w in two_workers))
    [notice] = to_admin(mark)
    assert "50-broken.yaml:" in notice


async def test_a_hand_edit_is_recorded_once_by_workers_noticing_it_together(
    two_workers: list[Worker], kb_dir: Path
) -> None:
    edited = kb_dir / "10-work.yaml"
    edited.write_text(edited.read_text("utf-8") + "# 管理员手改\n", "utf-8")
    await asyncio.gather(*(admin.note_hand_edits(w.state) for w in two_workers))
    async with open_log(two_workers[0].state.config) as qlog:
        changes = await qlog.changes(history.folder_key(kb_dir))
    assert [(c.action, c.file) for c in changes] == [("hand_edit", "10-work.yaml")]


# --- settings every worker on a server log must share -------------------------------------------


def _run_cli(
    argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    for name in ("KBBOT_TOKEN", "KBBOT_CONFIG", "KBBOT_SECRET", "KBBOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    return cli.run(argv, stdin=io.StringIO(""), out=io.StringIO()), stderr.getvalue()


SERVER_LOG = "postgresql://kbbot:pw@db.example:5432/kbbot"


def test_kbbot_run_on_a_server_log_without_kbbot_secret_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {"KBBOT_TOKEN": PROCESS_TOKEN, "KBBOT_DATA_DIR": str(tmp_path), "KBBOT_DB": SERVER_LOG}
    status, stderr = _run_cli(["run"], env, monkeypatch)
    assert status == 1 and stderr.count("\n") == 1
    assert stderr.startswith("kbbot: error: KBBOT_SECRET is not set: every worker on the ")
    assert "postgresql://kbbot:****@db.example:5432/kbbot" in stderr and ":pw@" not in stderr
    assert not (tmp_path / "secret.key").exists()


def test_kbbot_run_as_a_webhook_on_a_server_log_needs_a_fixed_webhook_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        "KBBOT_TOKEN": PROCESS_TOKEN,
        "KBBOT_DATA_DIR": str(tmp_path),
        "KBBOT_DB": SERVER_LOG,
        "KBBOT_SECRET": "shared",
        "KBBOT_WEBHOOK_URL": WEBHOOK_URL,
    }
    status, stderr = _run_cli(["run"], env, monkeypatch)
    assert status == 1 and stderr.count("\n") == 1
    assert stderr.startswith("kbbot: error: KBBOT_WEBHOOK_SECRET is not set: every worker ")


def test_two_processes_cannot_serve_one_data_directory(tmp_path: Path) -> None:
    with (
        holding_data_dir(tmp_path / "data"),
        pytest.raises(BotStartError, match="another kbbot is running with the data dir"),
        holding_data_dir(tmp_path / "data"),
    ):
        pass
    with holding_data_dir(tmp_path / "data"):  # released when the first stopped
        assert (tmp_path / "data" / RUN_LOCK).exists()
