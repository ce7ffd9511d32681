"""Admins run the bot from Telegram: statistics, unanswered questions, /why, reloading.

Each admin command is checked both ways: the admin gets it, anyone else gets exactly the reply
an unknown command gets. Reload covers the good case, broken YAML (errors as file:line, the last
good version keeps serving) and the JobQueue watcher noticing saved files on its own.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.telegram import admin
from tests.e2e.conftest import ADMIN_ID, LogLines, RunningBot, StartBot, callback_data
from tests.e2e.fake_bot_api import DEFAULT_USER_ID

UNKNOWN = "没有这个命令。发送 /help 查看用法。"
WORK_FILE = "10-work.yaml"
# Entry ids, outcome codes and scores: what an admin who only knows Telegram cannot read.
JARGON = re.compile(
    r"[a-z]+-[a-z-]+|\b(?:answer|suggest|none|partial|multi|smalltalk)\b|\d\.\d\d\b"
)


def assert_plain_chinese(text: str) -> None:
    found = JARGON.findall(text)
    assert not found, f"internal names in an admin text: {found}"


async def _admin(bot: RunningBot, text: str) -> str:
    reply = await bot.ask(text, user_id=ADMIN_ID)
    assert reply.ok, reply
    return str(reply.result["text"])


@pytest.mark.parametrize(
    "command", ["/stats", "/unanswered 3", "/history", "/undo", "/why", "/reload"]
)
async def test_admin_commands_are_unknown_to_everyone_else(kbbot: RunningBot, command: str) -> None:
    reply = await kbbot.ask(command, user_id=DEFAULT_USER_ID)
    assert reply.result["text"] == UNKNOWN
    # Not even an admin can use them in a group, where everyone would read the answer.
    mark = kbbot.api.mark()
    kbbot.api.send_group_text(f"{command.split()[0]}@kbbot_test_bot", user_id=ADMIN_ID)
    reply = await kbbot.api.wait_for_call("sendMessage", after=mark)
    assert reply.result["text"] == UNKNOWN


async def test_the_command_menu_is_published_per_scope(kbbot: RunningBot) -> None:
    commands = kbbot.api.commands
    public = commands[(json.dumps({"type": "default"}), "")]
    assert [c["command"] for c in public] == ["start", "help", "topics"]
    scope = json.dumps({"chat_id": ADMIN_ID, "type": "chat"}, sort_keys=True)
    admin_menu = commands[(scope, "")]
    assert [c["command"] for c in admin_menu] == [
        *["start", "help", "topics"],
        *["stats", "unanswered", "history", "undo", "why", "reload"],
    ]
    assert len(commands) == 2  # nobody else sees the admin commands


async def test_help_lists_the_commands_each_person_can_use(kbbot: RunningBot) -> None:
    citizen = str((await kbbot.ask("/help", user_id=DEFAULT_USER_ID)).result["text"])
    admin_help = await _admin(kbbot, "/help")
    public = ["/start", "/help", "/topics"]
    admin_only = ["/stats", "/unanswered", "/history", "/undo", "/why", "/reload"]
    assert all(name in citizen for name in public)
    assert not any(name in citizen for name in admin_only)
    assert all(f"{name} " in admin_help for name in public + admin_only)


async def test_a_reworded_command_changes_its_menu_entry_and_help_line(
    kbbot: RunningBot, kb_dir: Path
) -> None:
    replies = kb_dir / "replies.yaml"
    text = replies.read_text(encoding="utf-8")
    assert "command_topics:" in text
    replies.write_text(
        re.sub(r"command_topics: .*", "command_topics: 看看报告都写了什么", text), encoding="utf-8"
    )
    mark = kbbot.api.mark()
    await _admin(kbbot, "/reload")
    await kbbot.api.wait_for_call("setMyCommands", after=mark)
    public = kbbot.api.commands[(json.dumps({"type": "default"}), "")]
    assert {"command": "topics", "description": "看看报告都写了什么"} in public
    assert "/topics 看看报告都写了什么" in await _admin(kbbot, "/help")


async def test_stats_counts_the_last_seven_days_in_plain_chinese(kbbot: RunningBot) -> None:
    # Unanswered first: after an answer, a short message may be read as a follow-up to it.
    for question in ("明天天气怎么样", "复议", "你好", "法律顾问覆盖情况", "法律顾问覆盖情况"):
        await kbbot.ask(question)
    # The reply is sent before the question is handed to the log: wait for all five rows.
    await kbbot.logged(5)
    text = await _admin(kbbot, "/stats")
    assert text.startswith("问答统计：最近7天")
    assert "提问 5 条，已回答 2 条（回答率 40.0%），提问用户 1 人" in text
    assert "法律顾问覆盖 —— 2 次" in text
    assert "明天天气怎么样" in text  # among the unanswered
    assert "闲聊 1" in text  # small talk has its own outcome, not an unanswered one
    assert "未回答的问题（2 条" in text
    assert_plain_chinese(text)

    assert (await _admin(kbbot, "/stats 30d")).startswith("问答统计：最近30天")
    assert "无法识别的时间范围" in await _admin(kbbot, "/stats soon")


async def test_unanswered_lists_the_latest_with_counts(kbbot: RunningBot) -> None:
    for question in ("明天天气怎么样", "明天天气怎么样？", "公积金怎么提取"):
        await kbbot.ask(question)
    await kbbot.logged(3)
    text = await _admin(kbbot, "/unanswered 5")
    assert text.startswith("最近未回答的问题")
    assert "公积金怎么提取" in text and "明天天气怎么样" in text
    assert "2 次" in text  # the two weather questions are one cluster
    assert "kbbot" not in text  # nothing to run on a server
    assert_plain_chinese(text)
    assert (await _admin(kbbot, "/unanswered lots")).startswith("用法：/unanswered")


async def test_why_explains_the_admins_own_last_question(kbbot: RunningBot) -> None:
    assert (await _admin(kbbot, "/why")).startswith("还没有您最近的提问记录")
    await kbbot.ask("<b>复议</b>申请有几件", user_id=ADMIN_ID)
    await kbbot.ask("法律顾问覆盖情况")  # someone else's question does not count
    reply = await kbbot.ask("/why", user_id=ADMIN_ID)
    text = reply.result["text"]
    assert "问题：<b>复议</b>申请有几件" in text  # escaped, so shown as typed
    assert "结果：answer" in text
    assert "匹配：条目 reconsideration-applications 的问法「行政复议申请有几件」" in text
    assert (
        "1. reconsideration-applications 1.00" in text or "1. reconsideration-applications" in text
    )
    assert "2. reconsideration-acceptance" in text  # the runner-up and its score
    assert "阈值：置信度 ≥" in text  # the decision model's cut-offs


async def test_why_explains_a_suggestion_and_a_referral(kbbot: RunningBot) -> None:
    await kbbot.ask("复议", user_id=ADMIN_ID)
    text = await _admin(kbbot, "/why")
    assert "结果：suggest" in text and "原因：置信度" in text
    await kbbot.ask("我要投诉", user_id=ADMIN_ID)
    assert "命中转介规则 complaint" in await _admin(kbbot, "/why")


async def test_reload_applies_edits(kbbot: RunningBot, kb_dir: Path) -> None:
    path = kb_dir / WORK_FILE
    path.write_text(
        path.read_text(encoding="utf-8").replace("62个部门", "63个部门"), encoding="utf-8"
    )
    assert await _admin(kbbot, "/reload") == "知识库已重新加载：5 个条目，0 个警告。"
    reply = await kbbot.ask("法律顾问覆盖情况")
    assert "63个部门" in reply.result["text"]


async def test_a_reload_is_one_line_at_info_saying_what_changed(
    kbbot: RunningBot, kb_dir: Path, bot_log: LogLines
) -> None:
    path = kb_dir / WORK_FILE
    path.write_text(
        "# a hand edit\n" + path.read_text(encoding="utf-8").replace("62个部门", "63个部门"),
        encoding="utf-8",
    )
    seen = len(bot_log.records)
    await _admin(kbbot, "/reload")
    await bot_log.wait_for("knowledge reloaded", after=seen)  # written once the reply is sent
    assert [(r.levelname, r.getMessage()) for r in bot_log.records[seen:]] == [
        (
            "INFO",
            "knowledge reloaded: 5 entries; 1 changed (legal-adviser-coverage) in 10-work.yaml",
        )
    ]


async def test_reload_counts_warnings_without_listing_ids_or_scores(
    kbbot: RunningBot, kb_dir: Path
) -> None:
    (kb_dir / "30-more.yaml").write_text(
        """entries:
  - id: adviser-count-again
    topic: 法律顾问部门数
    questions: [法律顾问覆盖情况如何]
    answer: 全区62个部门有法律顾问。
    source: 一、工作情况（九）提升法律顾问效能
""",
        encoding="utf-8",
    )
    text = await _admin(kbbot, "/reload")
    assert re.fullmatch(r"知识库已重新加载：6 个条目，\d+ 个警告。", text), text
    assert_plain_chinese(text)


async def test_reload_with_broken_yaml_reports_file_and_line_and_keeps_serving(
    kbbot: RunningBot, kb_dir: Path
) -> None:
    path = kb_dir / WORK_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = "    topic 行政复议申请数量"  # the colon is missing
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = await _admin(kbbot, "/reload")
    assert text.startswith("知识库有 1 个错误，仍在使用上一个正确的版本。")
    assert f"{path}:" in text and "YAML 格式错误" in text
    reply = await kbbot.ask("法律顾问覆盖情况")
    assert "62个部门" in reply.result["text"]


def _spy(bot: RunningBot, name: str) -> Callable[[], asyncio.Event]:
    """Wrap engine.`name` (called from a thread or the loop) to signal each call."""
    loop = asyncio.get_running_loop()
    engine = bot.state.engine
    original = getattr(engine, name)
    events: list[asyncio.Event] = [asyncio.Event()]

    def spy(*args: object) -> object:
        result = original(*args)
        loop.call_soon_threadsafe(events[-1].set)
        return result

    setattr(engine, name, spy)

    def next_call() -> asyncio.Event:
        events.append(asyncio.Event())
        return events[-1]

    return next_call


async def test_the_watcher_reloads_saved_files_by_itself(start_bot: StartBot, kb_dir: Path) -> None:
    bot = await start_bot(reload_interval=0.05)
    reloaded = _spy(bot, "reload")()
    path = kb_dir / WORK_FILE
    path.write_text(
        path.read_text(encoding="utf-8").replace("62个部门", "64个部门"), encoding="utf-8"
    )
    await asyncio.wait_for(reloaded.wait(), 5)
    reply = await bot.ask("法律顾问覆盖情况")
    assert "64个部门" in reply.result["text"]


async def test_the_watcher_tells_admins_once_when_saved_files_are_broken(
    start_bot: StartBot, kb_dir: Path
) -> None:
    bot = await start_bot(reload_interval=0.05)
    await bot.ask("/start", user_id=ADMIN_ID)  # an admin who has opened a chat with the bot
    mark = bot.api.mark()
    (kb_dir / "50-broken.yaml").write_text("entries:\n  - id: [oops\n", encoding="utf-8")
    notice = await bot.api.wait_for_call(
        "sendMessage", predicate=lambda c: c.params["chat_id"] == ADMIN_ID, after=mark
    )
    assert notice.result["text"].startswith("检测到知识库文件被修改，但新文件有 1 个错误")
    assert "50-broken.yaml:" in notice.result["text"]

    next_check = _spy(bot, "changed_on_disk")
    for _ in range(3):  # three more looks at the files: no second message
        await asyncio.wait_for(next_check().wait(), 5)
    assert [c for c in bot.api.calls_of("sendMessage") if c.index > mark] == [notice]
    reply = await bot.ask("法律顾问覆盖情况")  # still serving the last good version
    assert "62个部门" in reply.result["text"]


async def test_the_weekly_digest_goes_to_admins(kbbot: RunningBot) -> None:
    await kbbot.ask("/start", user_id=ADMIN_ID)
    await kbbot.ask("公积金怎么提取")
    answer = await kbbot.ask("法律顾问覆盖情况")
    await kbbot.press(answer, next(d for d in callback_data(answer) if d.endswith(":0")))
    await kbbot.logged(3)
    assert kbbot.app.job_queue is not None
    mark = kbbot.api.mark()
    kbbot.app.job_queue.run_once(admin.send_weekly_digest, 0)
    digest = await kbbot.api.wait_for_call(
        "sendMessage", predicate=lambda c: c.params["chat_id"] == ADMIN_ID, after=mark
    )
    text = digest.result["text"]
    assert text.startswith("每周问答摘要")
    assert "“没帮助”最多：法律顾问覆盖 1 次" in text
    assert "新出现或增多的未回答问题" in text and "公积金怎么提取 —— 1 次（新出现）" in text
    assert "kbbot" not in text
    assert_plain_chinese(text)
