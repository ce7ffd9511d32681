"""Browsing the report without typing: /topics -> section -> entry -> answer, and back.

Also the rules every button lives by: callback data within Telegram's 64 bytes, and presses
whose data the bot never offered (forged by a modified client, or stale after a reload) are
turned away politely instead of acting on them.
"""

from __future__ import annotations

from pathlib import Path

from bot.store import new_ref
from bot.telegram import keyboards
from tests.e2e.conftest import RunningBot, StartBot, buttons, callback_data, wait_calls
from tests.e2e.fake_bot_api import ApiCall


def _write_big_section(kb_dir: Path, sections: int, entries: int) -> None:
    """`sections` one-entry sections, and a section "大部分" with `entries` entries."""
    lines = ["entries:"]
    for n in range(sections):
        lines += [
            f"  - id: extra-section-{n}",
            f"    topic: 附加条目{n}",
            f"    questions: [附加部分问题{n}号]",
            f"    answer: 附加部分答案{n}。",
            f"    source: 附加部分{n}",
        ]
    for n in range(entries):
        lines += [
            f"  - id: big-entry-{n}",
            f"    topic: 大部分第{n}条",
            f"    questions: [大部分第{n}个问题]",
            f"    answer: 大部分第{n}个答案。",
            "    source: 大部分",
        ]
    (kb_dir / "40-browse.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _button(call: ApiCall, text: str) -> str:
    return next(str(b["callback_data"]) for b in buttons(call) if b["text"] == text)


async def _press_and_wait_edit(bot: RunningBot, message: ApiCall, data: str) -> ApiCall:
    mark = bot.api.mark()
    await bot.press(message, data)
    edit = await bot.api.wait_for_call("editMessageText", after=mark)
    assert edit.ok, edit
    await bot.api.wait_for_call("answerCallbackQuery", after=mark)
    return edit


async def test_a_section_with_one_entry_opens_its_answer_and_back_returns(
    kbbot: RunningBot,
) -> None:
    menu = await kbbot.ask("/topics")
    assert menu.result["text"] == "请选择想了解的主题："
    assert [b["text"] for b in buttons(menu)] == [
        "一、工作情况（二）加强复议机关监督职能",
        "一、工作情况（九）提升法律顾问效能",
        "一、工作情况（三）严格执行出庭应诉规定",
    ]
    answer = await _press_and_wait_edit(
        kbbot, menu, _button(menu, "一、工作情况（三）严格执行出庭应诉规定")
    )
    assert answer.result["text"].startswith("2019年区政府领导及部门负责人出庭应诉率达92.3%")
    assert answer.result["text"].endswith("来源：一、工作情况（三）严格执行出庭应诉规定")
    assert callback_data(answer) == ["T:0"]

    # The edited message carries the new keyboard: the fake attaches it to the next press.
    back = await _press_and_wait_edit(kbbot, answer, "T:0")
    assert back.result["text"] == "请选择想了解的主题："
    assert [b["text"] for b in buttons(back)] == [b["text"] for b in buttons(menu)]
    assert await kbbot.rows() == []  # browsing is not asking


async def test_section_entry_answer_and_back(kbbot: RunningBot) -> None:
    menu = await kbbot.ask("/topics")
    section = await _press_and_wait_edit(
        kbbot, menu, _button(menu, "一、工作情况（二）加强复议机关监督职能")
    )
    assert section.result["text"] == "一、工作情况（二）加强复议机关监督职能"
    assert [b["text"] for b in buttons(section)] == ["行政复议申请数量", "行政复议受案率", "« 返回"]
    entry = await _press_and_wait_edit(kbbot, section, _button(section, "行政复议受案率"))
    assert entry.result["text"].startswith("2019年行政复议案件受理22件")
    labels = [b["text"] for b in buttons(entry)]
    assert labels == ["相关：2019年收到多少行政复议申请", "« 返回"]
    related = await _press_and_wait_edit(kbbot, entry, _button(entry, labels[0]))
    assert related.result["text"].startswith("2019年共收到行政复议申请29件")
    back = await _press_and_wait_edit(kbbot, related, _button(related, "« 返回"))
    assert back.result["text"] == "一、工作情况（二）加强复议机关监督职能"


async def test_long_menus_have_pages(start_bot: StartBot, kb_dir: Path) -> None:
    _write_big_section(kb_dir, sections=7, entries=10)  # 3 + 7 + 1 = 11 sections: two pages
    bot = await start_bot()
    menu = await bot.ask("/topics")
    assert len(buttons(menu)) == keyboards.PAGE_SIZE + 1
    assert buttons(menu)[-1] == {"text": "下一页 ›", "callback_data": "T:1"}

    page2 = await _press_and_wait_edit(bot, menu, "T:1")
    labels = [b["text"] for b in buttons(page2)]
    assert labels == ["附加部分5", "附加部分6", "大部分", "‹ 上一页"]

    section = await _press_and_wait_edit(bot, page2, _button(page2, "大部分"))
    labels = [b["text"] for b in buttons(section)]
    assert labels[:2] == ["大部分第0条", "大部分第1条"]
    assert labels[-2:] == ["下一页 ›", "« 返回"]
    assert _button(section, "« 返回") == "T:1"  # back to the page the section was on

    more = await _press_and_wait_edit(bot, section, _button(section, "下一页 ›"))
    assert [b["text"] for b in buttons(more)][:2] == ["大部分第8条", "大部分第9条"]

    entry = await _press_and_wait_edit(bot, more, _button(more, "大部分第9条"))
    assert entry.result["text"] == "大部分第9个答案。\n\n来源：大部分"
    back = await _press_and_wait_edit(bot, entry, _button(entry, "« 返回"))
    assert back.result["text"] == "大部分"


async def test_a_double_tap_is_harmless(kbbot: RunningBot) -> None:
    menu = await kbbot.ask("/topics")
    data = _button(menu, "一、工作情况（三）严格执行出庭应诉规定")
    mark = kbbot.api.mark()
    # Both presses carry the menu as it was: the second edit changes nothing, which
    # Telegram answers with 400 "message is not modified". Not an error worth a word.
    await kbbot.press(menu, data)
    await kbbot.press(menu, data)
    await wait_calls(kbbot.api, "answerCallbackQuery", 2, after=mark)
    edits = await wait_calls(kbbot.api, "editMessageText", 2, after=mark)
    assert sorted(e.status or 0 for e in edits) == [200, 400]
    reply = await kbbot.ask("法律顾问覆盖情况")  # updates are handled; no apology was sent
    assert [c.index for c in kbbot.api.calls_of("sendMessage") if c.index > mark] == [reply.index]


async def test_forged_callback_data_is_rejected(kbbot: RunningBot) -> None:
    reply = await kbbot.ask("法律顾问覆盖情况")
    mark = kbbot.api.mark()
    # Well formed, but not a button of that message: a modified client made it up.
    kbbot.api.send_callback(
        "F:AAAAAAAAAAA:0",
        chat_id=reply.result["chat"]["id"],
        message_id=reply.result["message_id"],
    )
    answered = await kbbot.api.wait_for_call("answerCallbackQuery", after=mark)
    assert answered.params["text"] == "这个按钮已失效，请发送 /topics 重新浏览。"
    # Nonsense data on a message that (somehow) carries it: no handler accepts the format.
    kbbot.api.send_callback(
        "DROP TABLE questions",
        message_text="…",
        reply_markup={
            "inline_keyboard": [[{"text": "x", "callback_data": "DROP TABLE questions"}]]
        },
    )
    answered = await kbbot.api.wait_for_call("answerCallbackQuery", after=answered.index)
    assert answered.params["text"] == "这个按钮已失效，请发送 /topics 重新浏览。"
    [row] = await kbbot.rows()
    assert row["feedback"] is None
    assert not kbbot.api.calls_of("editMessageText")


async def test_a_button_for_an_entry_removed_by_reload_says_it_expired(
    start_bot: StartBot, kb_dir: Path
) -> None:
    _write_big_section(kb_dir, sections=1, entries=0)
    bot = await start_bot()
    menu = await bot.ask("/topics")
    data = _button(menu, "附加部分0")
    (kb_dir / "40-browse.yaml").unlink()
    assert not [p for p in bot.state.engine.reload() if p.severity == "error"]

    mark = bot.api.mark()
    await bot.press(menu, data)
    answered = await bot.api.wait_for_call("answerCallbackQuery", after=mark)
    assert answered.params["text"] == "这个按钮已失效，请发送 /topics 重新浏览。"


def test_callback_data_fits_in_64_bytes_at_the_longest() -> None:
    longest_id = "a" * 48  # bot.knowledge allows ids up to 48 characters
    ref = new_ref()
    for data in (
        keyboards.suggestion_data(ref, longest_id),
        keyboards.entry_data(longest_id),
        keyboards.related_data(longest_id),
        keyboards.feedback_data(ref, helpful=False),
        keyboards.section_data("很长的部分标题" * 20, page=999),
        keyboards.topics_data(9999),
    ):
        assert len(data.encode()) <= 64, data
    assert keyboards.SUGGESTION_RE.match(keyboards.suggestion_data(ref, longest_id))
