"""Fault tolerance, proven against the real bot: the production Application on the fake Bot API
(or `kbbot run` as a process where only a process can show it).

Every test injects a fault for a while, then checks the same three promises once it clears:
the bot still answers, the last good knowledge base keeps serving, and every question the bot
received is in the log, exactly once. Waits are on recorded calls and log lines, never on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering.engine import Engine, prepare_question
from bot.config import Config
from bot.privacy import hash_user_id
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import QuestionRecord
from bot.telegram.app import build_application
from bot.telegram.handlers import without_mention
from tests.e2e.botproc import (
    PROCESS_TOKEN,
    BotProcess,
    bot_env,
    logged_questions,
    until_logged,
)
from tests.e2e.conftest import (
    ADMIN_ID,
    LogLines,
    RunningBot,
    StartBot,
    start_bot_app,
    stop_bot_app,
)
from tests.e2e.fake_bot_api import ApiCall, FakeBotApi
from tests.unprivileged import unprivileged_prefix

QUESTIONS = (
    "法律顾问覆盖情况",
    "2019年收到多少行政复议申请",
    "行政复议受案率是多少",
    "合作的律师事务所",
    "负责人出庭应诉率",
    "明天天气怎么样",
    "复议",
    "我要投诉",
)
ADVISERS = "全区政府系统62个部门及街道实现法律顾问全覆盖。"
FIRST_USER = 700_000
WAIT = 20.0  # a bound on every wait: only a bug takes longer than a fraction of it


def burst(api: FakeBotApi, questions: Iterable[str], first_user: int = FIRST_USER) -> list[int]:
    """Each question from its own user (the flood guard is per user); returns the user ids."""
    users = []
    for n, question in enumerate(questions):
        api.send_text(question, user_id=first_user + n)
        users.append(first_user + n)
    return users


def replies_to(api: FakeBotApi, chat_id: int, after: int) -> list[ApiCall]:
    return [
        call
        for call in api.calls_of("sendMessage")
        if call.index > after and call.ok and call.params.get("chat_id") == chat_id
    ]


async def answered(api: FakeBotApi, users: Iterable[int], after: int) -> list[ApiCall]:
    """Wait for a successful reply in each user's chat; returns them in user order."""
    return [
        await api.wait_for_call(
            "sendMessage",
            predicate=lambda c, u=user: c.ok and c.params.get("chat_id") == u,
            after=after,
            timeout=WAIT,
        )
        for user in users
    ]


async def all_logged(bot: RunningBot, jobs: int) -> list[str]:
    """The log's questions once `jobs` log jobs in all were handed over and written (bounded).

    A reply is recorded by the fake before the bot has read the answer and logged the
    question, so waiting for replies alone would race the last handlers.
    """
    async with asyncio.timeout(WAIT):
        rows = await bot.rows(jobs)
    return [str(row["question"]) for row in rows]


async def still_answers(bot: RunningBot) -> None:
    reply = await bot.ask("法律顾问覆盖情况", user_id=FIRST_USER - 1, timeout=WAIT)
    assert reply.result["text"].startswith(ADVISERS)


# --- the Bot API misbehaving for a while --------------------------------------------------------


# PTB's RetryAfter warns about its future timedelta type; nothing of ours to change.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_with_retry_after_for_a_while_delays_but_loses_nothing(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    api = bot.api
    api.fail_next("sendMessage", count=3, status=429, retry_after=1)
    mark = api.mark()
    users = burst(api, QUESTIONS)
    await answered(api, users, mark)
    assert [c.status for c in api.calls_of("sendMessage")].count(429) == 3
    assert all(len(replies_to(api, user, mark)) == 1 for user in users), "no duplicates"
    assert sorted(await all_logged(bot, len(QUESTIONS))) == sorted(QUESTIONS)
    await still_answers(bot)


async def test_5xx_and_dropped_connections_for_a_while(start_bot: StartBot) -> None:
    bot = await start_bot()
    api = bot.api
    # Sending fails twice (a 502, then a connection dropped before Telegram saw it) ...
    api.fail_next("sendMessage", status=502)
    api.drop_next("sendMessage")
    # ... and fetching updates fails twice after the poll now waiting returns.
    api.fail_next("getUpdates", status=500)
    api.drop_next("getUpdates")
    mark = api.mark()
    users = burst(api, QUESTIONS[:4])
    await answered(api, users, mark)
    later = burst(api, QUESTIONS[4:], first_user=FIRST_USER + 100)
    await answered(api, later, mark)
    faults = [c.fault for c in api.calls if c.index > mark and c.fault]
    assert sorted(faults) == ["drop", "drop", "fail", "fail"], "every fault was hit"
    assert all(len(replies_to(api, u, mark)) == 1 for u in users + later)
    assert sorted(await all_logged(bot, len(QUESTIONS))) == sorted(QUESTIONS)
    await still_answers(bot)


async def test_timeouts_for_a_while(fake_api: FakeBotApi, bot_config: Config) -> None:
    """A Bot API slower than the bot's request timeout (0.5 s here): for a long poll, and for a
    reply that did reach Telegram but whose answer came too late."""
    config = dataclasses.replace(bot_config, flood_limit=1000)
    app = build_application(config, Engine.from_directory(config.knowledge_dir), timeout=0.5)
    await start_bot_app(app)
    bot = RunningBot(fake_api, app, config)
    bot.watch_log()
    try:
        fake_api.delay_next("getUpdates", 2.5)  # past the read timeout: PTB polls again
        fake_api.delay_next("sendMessage", 1.0)
        mark = fake_api.mark()
        [user] = burst(fake_api, QUESTIONS[:1])
        [late] = await answered(fake_api, [user], mark)
        assert late.fault == "delay"
        await fake_api.wait_for_call(
            "getUpdates", predicate=lambda c: c.fault == "delay", after=mark, timeout=WAIT
        )
        # The bot cannot know the late reply arrived, so it apologises as for any failure
        # (resending could duplicate the answer); the question is logged either way.
        apology = await fake_api.wait_for_call(
            "sendMessage",
            predicate=lambda c: c.ok and c.params.get("chat_id") == user,
            after=late.index,
            timeout=WAIT,
        )
        assert apology.result["text"] == bot.state.messages["error"]
        [second] = burst(fake_api, QUESTIONS[1:2], first_user=FIRST_USER + 1)
        await answered(fake_api, [second], apology.index)
        assert sorted(await all_logged(bot, 2)) == sorted(QUESTIONS[:2])
        await still_answers(bot)
    finally:
        await stop_bot_app(app)


# --- the question log misbehaving ---------------------------------------------------------------


@contextlib.asynccontextmanager
async def locked_by_another_process(db: Path) -> AsyncIterator[None]:
    """Another process holds SQLite's write lock on `db` until the block ends."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sqlite3, sys\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert await asyncio.wait_for(holder.stdout.readline(), WAIT) == b"locked\n"
        yield
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        await asyncio.wait_for(holder.wait(), WAIT)


async def test_a_log_locked_by_another_process(start_bot: StartBot, bot_log: LogLines) -> None:
    bot = await start_bot()
    await bot.ask(QUESTIONS[0], user_id=FIRST_USER - 2)
    assert await all_logged(bot, 1) == [QUESTIONS[0]]
    db = bot.config.db.path
    async with locked_by_another_process(db):
        mark = bot.api.mark()
        users = burst(bot.api, QUESTIONS[1:])
        await answered(bot.api, users, mark)  # answers do not wait for the log
        await bot_log.wait_for("cannot write the question log")
        assert logged_questions(db) == [QUESTIONS[0]], "nothing got past the lock"
        assert bot.state.questions is not None and not bot.state.questions.available
    assert sorted(await all_logged(bot, len(QUESTIONS))) == sorted(QUESTIONS)
    assert bot.state.questions is not None and bot.state.questions.available
    await still_answers(bot)


async def test_a_log_deleted_under_the_running_bot(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.ask(QUESTIONS[0], user_id=FIRST_USER - 2)
    assert await all_logged(bot, 1) == [QUESTIONS[0]]
    db = bot.config.db.path
    for path in db.parent.glob(db.name + "*"):  # the -wal and -shm files too
        path.unlink()
    mark = bot.api.mark()
    users = burst(bot.api, QUESTIONS[1:])
    await answered(bot.api, users, mark)
    # A new log in the same place holds everything asked after the deletion, once.
    assert sorted(await all_logged(bot, len(QUESTIONS))) == sorted(QUESTIONS[1:])
    await still_answers(bot)


def read_only_copy(db: Path) -> None:
    """Replace `db` by a read-only copy of itself, as a restore done as the wrong user would."""
    copy = db.with_name("restored.sqlite3")
    with (
        contextlib.closing(sqlite3.connect(db)) as source,
        contextlib.closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
    copy.chmod(0o444)
    copy.replace(db)


async def test_a_log_made_read_only_under_the_running_bot(tmp_path: Path, kb_dir: Path) -> None:
    """In its own process: as root, only a process without CAP_DAC_OVERRIDE sees read-only."""
    prefix = unprivileged_prefix()
    data = tmp_path / "data"
    db = data / "questions.sqlite3"
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        env = bot_env(api, kb_dir, data, KBBOT_LOG_LEVEL="DEBUG")  # retries log at DEBUG
        bot = await BotProcess.start(env, prefix=prefix)
        try:
            await bot.wait_for_line("bot @kbbot_test_bot started")
            first = await api.ask(QUESTIONS[0], user_id=FIRST_USER - 1, timeout=WAIT)
            await until_logged(db, [QUESTIONS[0]])  # the writer is settled on the file
            read_only_copy(db)
            users = burst(api, QUESTIONS[1:])
            await answered(api, users, first.index)
            failed = await bot.wait_for_line("attempt to write a readonly database")
            for path in data.glob(db.name + "*"):
                path.chmod(0o644)
            await bot.wait_for_line("is writable again", after=failed)
            status = await bot.stop()
        finally:
            await bot.kill()
    assert status == 0, bot.output
    assert sorted(logged_questions(db)) == sorted(QUESTIONS)


async def test_a_log_replaced_while_being_opened_is_opened_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrow race behind the read-only test's first version: the writer connects, then the
    file is replaced (a restore). The log must end up writing to the file now at the path, not
    to the old, unlinked one whose rows would vanish on close."""
    from bot.questionlog import sqlite as store

    db = tmp_path / "questions.sqlite3"
    other = tmp_path / "restored.sqlite3"
    for path in (db, other):
        created = await open_log(path)
        await created.close()
    real_migrate = store.migrate
    replaced: list[bool] = []

    async def replaced_meanwhile(connection: object, upto: int | None = None) -> int:
        if not replaced:
            other.replace(db)
            replaced.append(True)
        return await real_migrate(connection, upto)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "migrate", replaced_meanwhile)
    log = await open_log(db)
    try:
        assert replaced and not log.moved()
        await log.record(
            QuestionRecord(
                channel="cli",
                question="恢复后",
                normalised="恢复后",
                answered=False,
                outcome="none",
            )
        )
    finally:
        await log.close()
    assert logged_questions(db) == ["恢复后"]


# --- the knowledge base replaced by something broken while the bot runs ---------------------

WORK_FILE = "10-work.yaml"
BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "entries: *i",
        "",
    ]
)
BROKEN = {
    "yaml": ("entries:\n  - id: legal-adviser-coverage\n    topic: [unclosed\n", "YAML 格式错误"),
    "huge": ("# padding\n" + "#" * 1_100_000 + "\nentries: []\n", "文件过大"),
    "anchors": (BILLION_LAUGHS, "锚点"),
    "nesting": ("entries:" + " [" * 30 + " ]" * 30 + "\n", "嵌套层级过深"),
    "not-utf8": ("entries: []\n# \udcff\n", "UTF-8"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
async def test_a_knowledge_file_replaced_by_something_broken_mid_run(
    start_bot: StartBot, kb_dir: Path, bot_log: LogLines, kind: str
) -> None:
    content, expected = BROKEN[kind]
    bot = await start_bot(reload_interval=0.05)
    await bot.ask("/start", user_id=ADMIN_ID)  # an admin the bot can write to
    first = await bot.ask(QUESTIONS[0])
    assert first.result["text"].startswith(ADVISERS)
    path = kb_dir / WORK_FILE
    good = path.read_bytes()
    replacement = kb_dir / ".10-work.yaml.tmp"
    replacement.write_bytes(content.encode("utf-8", "surrogateescape"))
    replacement.replace(path)  # how editors save: atomically
    # The watcher finds it broken and tells the admins, naming the file and the problem.
    notice = await bot.api.wait_for_call(
        "sendMessage",
        predicate=lambda c: c.params["chat_id"] == ADMIN_ID,
        after=first.index,
        timeout=WAIT,
    )
    assert str(path) in notice.result["text"] and expected in notice.result["text"]
    # The last good version keeps serving, for every question asked meanwhile.
    mark = bot.api.mark()
    users = burst(bot.api, QUESTIONS[:3])
    replies = await answered(bot.api, users, mark)
    assert replies[0].result["text"].startswith(ADVISERS)
    # Fixed again: the watcher reloads it by itself.
    seen = len(bot_log.messages)
    path.write_bytes(good)
    await bot_log.wait_for("knowledge reloaded: ", after=seen)
    await still_answers(bot)
    logged = await all_logged(bot, 5)
    assert sorted(logged) == sorted([QUESTIONS[0], *QUESTIONS[:3], "法律顾问覆盖情况"])


# --- SIGTERM in the middle of a burst -----------------------------------------------------------


async def test_sigterm_during_a_burst_loses_and_repeats_nothing(
    tmp_path: Path, kb_dir: Path
) -> None:
    """Stop the bot while replies are in flight and messages keep coming; start it again.

    Updates the first process fetched are answered and logged before it exits; those it never
    fetched wait at Telegram for the second. Across both: every question answered once and
    logged once.
    """
    wave1 = [f"{q}（第{n}问）" for n, q in enumerate(QUESTIONS * 3)]
    wave2 = [f"{q}（补{n}问）" for n, q in enumerate(QUESTIONS)]
    data = tmp_path / "data"
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        env = bot_env(api, kb_dir, data, KBBOT_LOG_LEVEL="INFO")
        first = await BotProcess.start(env)
        try:
            await first.wait_for_line("bot @kbbot_test_bot started")  # polling, past the startup
            mark = api.mark()
            # The first few replies reach Telegram but its answers take a second: those
            # handlers are provably mid-send when the signal arrives.
            api.delay_next("sendMessage", 1.0, count=4)
            users = burst(api, wave1)
            for _ in range(4):  # without `after`, each wait returns the next such call
                await api.wait_for_call(
                    "sendMessage", predicate=lambda c: c.fault == "delay", timeout=WAIT
                )
            assert first.process.returncode is None
            first.terminate()
            users += burst(api, wave2, first_user=FIRST_USER + len(wave1))
            assert await first.stop() == 0, first.output
        finally:
            await first.kill()
        second = await BotProcess.start(env)
        try:
            await second.wait_for_line("bot @kbbot_test_bot started")
            await answered(api, users, mark)
            assert await second.stop() == 0, second.output
        finally:
            await second.kill()
    for user in users:
        assert len(replies_to(api, user, mark)) == 1, f"user {user} answered twice"
    assert sorted(logged_questions(data / "questions.sqlite3")) == sorted(wave1 + wave2)
    assert "could not be written" not in first.output + second.output


async def test_sigterm_while_the_bot_starts_up_exits_promptly(tmp_path: Path, kb_dir: Path) -> None:
    """systemd or Docker stopping the bot while Telegram is slow to answer at startup.

    It used to hang: PTB's run_polling closed the start_polling coroutine mid-request, the
    resulting error skipped its whole shutdown, and the open question log's thread kept the
    process alive. bot.telegram.app.serve cancels the start-up instead and shuts down in order.
    """
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        api.delay_next("deleteWebhook", 1.0)
        bot = await BotProcess.start(bot_env(api, kb_dir, tmp_path / "data"))
        try:
            await api.wait_for_call("deleteWebhook", timeout=WAIT)  # the bot awaits its answer
            status = await bot.stop(timeout=5)
        finally:
            await bot.kill()
    assert status == 0 and "bot stopped" in bot.output


# --- any text at all ----------------------------------------------------------------------------

# Text people (and their clients) really send: control characters, bidi marks, zero-width
# joiners, emoji sequences, CJK, and lengths past Telegram's 4,096-character limit.
SPECIAL = "\x00\x07\t\n\r\x1b\x7f\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2066\u2069\ufeff"
EMOJI = ["👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇨🇳", "❤️", "🧑🏿‍⚖️"]
texts = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    st.lists(
        st.one_of(
            st.sampled_from([*SPECIAL, *EMOJI, "<b>", "&amp;", "</i>", "*_`[", "法律顾问"]),
            st.characters(exclude_categories=("Cs",)),
        ),
        max_size=40,
    ).map("".join),
    st.builds(
        lambda unit, n: (unit * n)[:5000],
        st.sampled_from(["法", "a", "👨‍👩‍👧", "\u200d", "<", " "]),
        st.integers(4000, 5000),
    ),
)
_next_users = iter(range(900_000, 10_000_000))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=texts, path=st.sampled_from(["private", "group", "inline"]))
async def test_any_text_gets_a_reply_and_a_log_row(kbbot: RunningBot, text: str, path: str) -> None:
    """Every path from message to reply completes: a reply Telegram accepts (valid HTML, within
    its length limit) and one log row. One bot serves all examples, each from a new user."""
    api = kbbot.api
    user = next(_next_users)
    jobs = kbbot.submitted
    mark = api.mark()
    if path == "inline":
        api.send_inline_query(text, user_id=user)
        call = await api.wait_for_call("answerInlineQuery", after=mark, timeout=WAIT)
        asked = text.strip()
        results = call.params.get("results") or []
        if asked and results:  # the person picks the first article: that is what is logged
            api.send_chosen_inline_result(str(results[0]["id"]), text, user_id=user)
        elif asked:  # nothing to pick, nothing logged
            assert call.ok, call
            assert kbbot.submitted == jobs
            return
    else:
        if path == "private":
            if text.startswith("/"):
                text = " " + text  # a command is not a question; keep this one a question
            update = api.send_text(text, user_id=user)
            asked = text
        else:
            update = api.send_group_text(f"@kbbot_test_bot {text}", user_id=user)
            asked = without_mention(f"@kbbot_test_bot {text}", "kbbot_test_bot")
        chat_id = update["message"]["chat"]["id"]
        call = await api.wait_for_call(
            "sendMessage",
            predicate=lambda c: c.params.get("chat_id") == chat_id,
            after=mark,
            timeout=WAIT,
        )
        assert call.ok and call.result["text"].strip(), call
    assert call.ok, call
    if path == "inline" and not asked:
        assert kbbot.submitted == jobs  # an empty inline query is the client asking for a hint
        return
    rows = await kbbot_rows(kbbot, jobs + 1)
    [row] = [r for r in rows if r["user_hash"] == user_hash(kbbot, user)]
    assert row["question"] == prepare_question(asked)


async def kbbot_rows(bot: RunningBot, jobs: int) -> list[dict[str, object]]:
    async with asyncio.timeout(WAIT):
        return await bot.rows(jobs)


def user_hash(bot: RunningBot, user: int) -> str:
    return hash_user_id(user, bot.state.user_secret)
