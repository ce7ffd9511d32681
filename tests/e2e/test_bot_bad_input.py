"""Issue 11, row 5 (and 4 and 6 as the bot sees them): text no client should send, sent anyway.

A lone surrogate reaches the bot as a "\\ud800" escape in the update's JSON (valid JSON; Python
decodes it to a string that OpenCC, SQLite and every encoder refuse). The bot used to answer
"出了点问题" and log nothing. Here the fake Bot API escapes all non-ASCII text in its answers, as
a JSON encoder may, so such a string can be delivered at all.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from bot.answering.engine import MAX_INPUT_CHARS
from bot.answering.text import TRUNCATION_MARK
from tests.e2e import fake_bot_api
from tests.e2e.conftest import RunningBot

ERROR_TEXT = "抱歉，处理您的问题时出了点问题，请稍后再试。"


def _ascii_json_response(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=True), status=status, content_type="application/json"
    )


@pytest.fixture(autouse=True)
def _escaping_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_bot_api, "_json_response", _ascii_json_response)


async def test_a_lone_surrogate_is_answered_and_logged(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("法律顾问\ud800覆盖情况", entities=[])
    assert reply.result["text"] != ERROR_TEXT
    assert "法律顾问全覆盖" in reply.result["text"]
    [row] = await kbbot.rows(1)
    assert row["question"] == "法律顾问\ufffd覆盖情况" and row["outcome"] == "answer"


async def test_only_surrogates_are_a_question_with_nothing_in_it(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("\udc80\udcff", entities=[])
    assert reply.result["text"] != ERROR_TEXT
    [row] = await kbbot.rows(1)
    assert row["question"] == "\ufffd\ufffd"


async def test_personal_data_in_any_width_is_masked_in_both_columns(kbbot: RunningBot) -> None:
    await kbbot.ask("我的手机１３８１２３４５６７８，身份证 420106 19900101 123x，怎么申请复议")
    [row] = await kbbot.rows(1)
    stored = f"{row['question']} {row['normalised']}"
    assert "[手机号]" in row["question"] and "[身份证号]" in row["question"]
    for secret in ("１３８", "13812345678", "420106", "19900101"):
        assert secret not in stored


async def test_a_huge_message_is_stored_cut_with_a_note_of_its_length(kbbot: RunningBot) -> None:
    text = "法律顾问" * 1024  # Telegram's own limit is 4096 characters
    reply = await kbbot.ask(text)
    assert reply.result["text"] == "问题太长了，请精简到 300 字以内，一次问一个问题。"
    [row] = await kbbot.rows(1)
    assert row["outcome"] == "too_long"
    assert row["question"] == text[:MAX_INPUT_CHARS] + TRUNCATION_MARK.format(length=len(text))
