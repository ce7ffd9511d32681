"""The running bot and the knowledge checks: long answers reach people whole, split over several
messages that Telegram accepts, and a knowledge file that cannot be read is told to the admins
once, like any broken file, instead of a traceback at every look.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.telegram.formatting import MAX_TEXT
from tests.e2e.botproc import PROCESS_TOKEN, BotProcess, bot_env
from tests.e2e.conftest import ADMIN_ID, RunningBot, StartBot, buttons, callback_data, wait_calls
from tests.e2e.fake_bot_api import DEFAULT_USER_ID, ApiCall, FakeBotApi, JSONDict
from tests.unprivileged import unprivileged_prefix

WORK_FILE = "10-work.yaml"
ACCEPTANCE = "answer: 2019年行政复议案件受理22件，受案率75.86%。"


def long_answer(chars: int) -> str:
    """About `chars` characters in numbered sentences, with markup characters to escape."""
    sentences = [f"第{n}项：受理22件，受案率75.86%，<复议> & 应诉。" for n in range(1, 400)]
    text = ""
    for sentence in sentences:
        if len(text) + len(sentence) > chars:
            break
        text += sentence
    return text


def give_acceptance(kb_dir: Path, answer: str) -> None:
    path = kb_dir / WORK_FILE
    text = path.read_text(encoding="utf-8")
    assert ACCEPTANCE in text
    path.write_text(text.replace(ACCEPTANCE, f'answer: "{answer}"'), encoding="utf-8")


def shown(call: ApiCall) -> str:
    """What the person sees: the text Telegram (here the fake) parsed out of the HTML."""
    assert call.error is None, call.error
    result = call.result
    assert isinstance(result, dict)
    return str(result["text"])


async def messages_after(bot: RunningBot, first: ApiCall, count: int) -> list[ApiCall]:
    rest = await wait_calls(bot.api, "sendMessage", count - 1, after=first.index)
    return [first, *rest]


async def test_an_answer_longer_than_a_message_arrives_whole_in_valid_parts(
    start_bot: StartBot, kb_dir: Path
) -> None:
    answer = long_answer(4080)
    assert MAX_TEXT < len(answer) <= 4096
    give_acceptance(kb_dir, answer)
    bot = await start_bot()
    first = await bot.ask("行政复议受案率是多少")
    parts = await messages_after(bot, first, 2)
    texts = [shown(part) for part in parts]
    assert all(len(text) <= MAX_TEXT for text in texts)
    assert "".join(texts).startswith(answer)  # nothing cut, the markup characters literal
    assert texts[0].endswith("。")  # split between sentences
    assert texts[1].endswith("来源：一、工作情况（二）加强复议机关监督职能")
    assert buttons(parts[0]) == [] and buttons(parts[1])  # the buttons under the last part
    assert [row["question"] for row in await bot.rows()] == ["行政复议受案率是多少"]


async def test_a_related_answer_too_long_for_one_message_is_sent_in_parts(
    start_bot: StartBot, kb_dir: Path
) -> None:
    answer = long_answer(4080)
    give_acceptance(kb_dir, answer)
    bot = await start_bot()
    reply = await bot.ask("2019年收到多少行政复议申请")
    [related] = [d for d in callback_data(reply) if "reconsideration-acceptance" in d]
    mark = bot.api.mark()
    await bot.press(reply, related)
    parts = await wait_calls(bot.api, "sendMessage", 2, after=mark)
    assert "".join(shown(part) for part in parts).startswith(answer)


# --- a knowledge file the bot cannot read ------------------------------------------------------


def _notices(api: FakeBotApi, after: int) -> list[JSONDict]:
    return [
        call.params
        for call in api.calls_of("sendMessage")
        if call.index > after and call.params.get("chat_id") == ADMIN_ID
    ]


async def test_a_knowledge_file_made_unreadable_is_told_to_admins_once(
    kb_dir: Path, tmp_path: Path
) -> None:
    prefix = unprivileged_prefix()  # root would read it anyway
    path = kb_dir / WORK_FILE
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        env = bot_env(
            api,
            kb_dir,
            tmp_path / "data",
            KBBOT_ADMINS=str(ADMIN_ID),
            KBBOT_RELOAD_SECONDS="0.05",
            KBBOT_LOG_LEVEL="DEBUG",  # apscheduler's line per look at the files shows at DEBUG
        )
        bot = await BotProcess.start(env, prefix=prefix)
        try:
            await bot.wait_for_line("bot @kbbot_test_bot started")
            await api.ask("/start", user_id=ADMIN_ID, timeout=30)
            mark = api.mark()
            seen = len(bot.lines)
            path.chmod(0o000)
            notice = await api.wait_for_call(
                "sendMessage",
                predicate=lambda c: c.params.get("chat_id") == ADMIN_ID,
                after=mark,
                timeout=30,
            )
            assert shown(notice).startswith("检测到知识库文件被修改，但新文件有 1 个错误")
            assert f"{path}:0: 错误: 没有读取权限" in shown(notice)
            # Several more looks at the files (each a job run the scheduler logs): no second
            # message, no traceback, and questions still answered from the last good version.
            at = await bot.wait_for_line("knowledge files changed but are broken", after=seen)
            for _ in range(3):
                at = await bot.wait_for_line('Running job "watch_knowledge', after=at + 1)
                at = await bot.wait_for_line("executed successfully", after=at + 1)
            reply = await api.ask("法律顾问覆盖情况", user_id=DEFAULT_USER_ID, timeout=30)
            assert "62个部门" in shown(reply)
            assert [n["text"] for n in _notices(api, mark)] == [notice.params["text"]]
            assert "Traceback" not in "\n".join(bot.lines[seen:])
            # Readable again, the files are the ones served: unreadable once more is news.
            path.chmod(0o644)
            at = len(bot.lines)
            for _ in range(2):  # two whole looks at the files since
                at = await bot.wait_for_line('Running job "watch_knowledge', after=at)
                at = await bot.wait_for_line("executed successfully", after=at + 1)
            mark = api.mark()
            path.chmod(0o000)
            again = await api.wait_for_call(
                "sendMessage",
                predicate=lambda c: c.params.get("chat_id") == ADMIN_ID,
                after=mark,
                timeout=30,
            )
            assert f"{path}:0: 错误: 没有读取权限" in shown(again)
        finally:
            path.chmod(0o644)
            await bot.stop()


@pytest.mark.parametrize("kind", ["dangling-link", "fifo"])
async def test_a_knowledge_file_that_is_no_file_is_told_to_admins(
    start_bot: StartBot, kb_dir: Path, kind: str
) -> None:
    bot = await start_bot(reload_interval=0.05)
    await bot.ask("/start", user_id=ADMIN_ID)
    mark = bot.api.mark()
    added = kb_dir / "40-new.yaml"
    if kind == "fifo":
        os.mkfifo(added)
    else:
        added.symlink_to(kb_dir / "not-there.yaml")
    notice = await bot.api.wait_for_call(
        "sendMessage", predicate=lambda c: c.params["chat_id"] == ADMIN_ID, after=mark
    )
    assert f"{added}:0: 错误:" in shown(notice)
