"""The log of `kbbot run` as an operator reads it: the real bot in its own process against the
fake Bot API.

At INFO the bot writes one line per start, reload, error and stop, and nothing while idle,
even with the knowledge watch looking at the files twenty times a second (apscheduler used to
write two lines per look: some 57,000 a day at the default interval). A reload is one line
whichever way it comes (the watch, /reload), and saying what changed is that line's job alone.
With KBBOT_LOG_FORMAT=json every line is a JSON object, and the lines written while an update
is handled carry its id. The formatter and filters themselves are tested in
tests/test_logsetup.py, the reload line's wording in tests/test_knowledge.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.botproc import PROCESS_TOKEN, BotProcess, bot_env
from tests.e2e.fake_bot_api import DEFAULT_USER_ID, FakeBotApi

SECRET_PART = PROCESS_TOKEN.split(":", 1)[1]
WAIT = 20.0
# The knowledge watch's interval here (KBBOT_RELOAD_SECONDS), and how long the bot is left
# idle: some forty looks at the files.
WATCH_SECONDS = "0.05"
IDLE_SECONDS = 2.0
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>[\w.]+): (?P<message>.*)$"
)
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STARTED = "bot @kbbot_test_bot started: "
ADMIN_ID = 4242


@dataclass(frozen=True)
class Line:
    level: str
    logger: str
    message: str
    traceback: tuple[str, ...] = ()


def parsed_text(lines: list[str]) -> list[Line]:
    """Each record of text-format output: a log line, then its traceback if it has one.

    Nothing else may be written: a traceback that belongs to no record is a failure.
    """
    found: list[Line] = []
    for line in lines:
        match = TEXT_LINE.match(line.rstrip("\n"))
        if match is not None:
            found.append(Line(match["level"], match["logger"], match["message"]))
            continue
        last = found[-1] if found else None
        starts = line.startswith("Traceback (most recent call last):")
        assert last is not None and (last.traceback or starts), f"not a log line: {line!r}"
        found[-1] = dataclasses.replace(last, traceback=(*last.traceback, line))
    return found


def replace_text(path: Path, old: str, new: str, scratch: Path) -> None:
    """Edit `path` as an editor saving atomically does, so the watch never sees half a file."""
    edited = scratch / path.name
    edited.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    os.replace(edited, path)


async def test_at_info_an_idle_bot_is_silent_and_start_reload_error_and_stop_are_one_line_each(
    kb_dir: Path, tmp_path: Path
) -> None:
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        env = bot_env(
            api,
            kb_dir,
            tmp_path / "data",
            KBBOT_LOG_LEVEL="INFO",
            KBBOT_RELOAD_SECONDS=WATCH_SECONDS,
            KBBOT_ADMINS=str(ADMIN_ID),
        )
        bot = await BotProcess.start(env)
        try:
            started = await bot.wait_for_line(STARTED, timeout=WAIT)
            await asyncio.sleep(IDLE_SECONDS)
            idle = bot.lines[started + 1 :]
            replace_text(kb_dir / "10-work.yaml", "62个部门", "63个部门", tmp_path)
            watched = await bot.wait_for_line("knowledge reloaded", after=started + 1)
            await asyncio.sleep(0.5)  # ten more looks at the files: nothing more to say
            after_reload = bot.lines[watched + 1 :]
            # /reload, with nothing changed since (so the watch has nothing to do meanwhile).
            mark = api.mark()
            api.send_text("/reload", user_id=ADMIN_ID)
            await api.wait_for_call("sendMessage", after=mark, timeout=WAIT)
            commanded = await bot.wait_for_line("knowledge reloaded", after=watched + 1)
            api.fail_next("sendMessage", status=400, description="Bad Request: injected")
            failed = api.send_text("负责人出庭应诉率", user_id=DEFAULT_USER_ID)
            await bot.wait_for_line("error while handling", after=commanded + 1, timeout=WAIT)
            status = await bot.stop()
        finally:
            await bot.kill()
    assert status == 0, bot.output
    assert idle == [], "the bot wrote while idle"
    assert after_reload == [], "one reload, one line"
    lines = parsed_text(bot.lines)
    # A first start creates the question log: each migration is one line, once in its life.
    migrations = [line for line in lines if line.logger == "bot.questionlog.sqlite"]
    assert all(line.message.startswith("question log migrated to") for line in migrations)
    events = [line for line in lines if line not in migrations]
    assert [(line.level, line.logger) for line in events] == [
        ("INFO", "bot.telegram.app"),
        ("INFO", "bot.telegram.admin"),
        ("INFO", "bot.telegram.admin"),
        ("ERROR", "bot.telegram.errors"),
        ("INFO", "bot.telegram.app"),
    ], [line.message for line in events]
    start, watch_reload, command_reload, error, stop = events
    assert start.message == f"{STARTED}5 entries from {kb_dir}, long polling, 1 admin(s)"
    assert watch_reload.message == (
        "knowledge reloaded: 5 entries; 1 changed (legal-adviser-coverage) in 10-work.yaml"
    )
    assert command_reload.message == "knowledge reloaded: 5 entries; nothing changed"
    assert error.message.startswith(
        f"error while handling update {failed['update_id']}: BadRequest: "
    )
    assert error.traceback[0].startswith("Traceback (most recent call last):")
    assert stop.message == "bot stopped"


async def test_json_lines_throughout_with_the_update_id_of_each_question(
    kb_dir: Path, tmp_path: Path
) -> None:
    async with FakeBotApi(token=PROCESS_TOKEN) as api:
        env = bot_env(
            api,
            kb_dir,
            tmp_path / "data",
            KBBOT_LOG_LEVEL="DEBUG",  # the most lines, from every library, to check
            KBBOT_LOG_FORMAT="json",
            KBBOT_RELOAD_SECONDS=WATCH_SECONDS,
        )
        bot = await BotProcess.start(env)
        try:
            await bot.wait_for_line(STARTED, timeout=WAIT)
            mark = api.mark()
            answered = api.send_text("法律顾问覆盖情况", user_id=DEFAULT_USER_ID)
            await api.wait_for_call("sendMessage", after=mark, timeout=WAIT)
            api.fail_next("sendMessage", status=400, description="Bad Request: injected")
            failed = api.send_text("负责人出庭应诉率", user_id=DEFAULT_USER_ID + 1)
            await bot.wait_for_line('"level": "ERROR"', timeout=WAIT)
            status = await bot.stop()
        finally:
            await bot.kill()
    assert status == 0, bot.output
    assert SECRET_PART not in bot.output
    lines = [json.loads(line) for line in bot.lines]  # every line is one JSON object
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
        assert ISO_UTC.match(line["time"]), line
    assert any(line["message"].startswith(STARTED) for line in lines)

    def of(update: dict[str, object]) -> list[dict[str, object]]:
        return [line for line in lines if line.get("update_id") == update["update_id"]]

    # The answer's request to the Bot API is logged while its update is being handled.
    assert any("sendMessage" in str(line["message"]) for line in of(answered))
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["update_id"] == failed["update_id"] and error in of(failed)
    assert str(error["message"]).startswith(
        f"error while handling update {failed['update_id']}: BadRequest: "
    )
    assert "Traceback (most recent call last)" in str(error["exc_info"])
