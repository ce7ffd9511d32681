"""Browsing the report without typing: /topics -> section -> entry -> answer, and back.

Also the rules every button lives by: callback data within Telegram's 64 bytes, and presses
whose data the bot never offered (forged by a modified client, or stale after a reload) are
turned away politely instead of acting on them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SHIPPED_KNOWLEDGE
from bot.questionlog.records import new_ref
from bot.telegram import keyboards
from tests.e2e.conftest import RunningBot, StartBot, buttons, callback_data, wait_calls
from tests.e2e.fake_bot_api import ApiCall


def _write_big_section(kb_dir: Path, sections: int, entries: int) -> None:
    """`sections` one-entry sections of a chapter "四、附加部分", and a section "五、大部分"
    (a chapter of its own) with `entries` entries."""
    lines = ["entries:"]
    for n in range(sections):
        lines += [
            f"  - id: extra-section-{n}",
            f"    topic: 附加条目{n}",
            f"    questions: [附加部分问题{n}号]",
            f"    answer: 附加部分答案{n}。",
            f"    source: 四、附加部分（{n}）附加小节{n}",
        ]
    for n in range(entries):
        lines += [
            f"  - id: big-entry-{n}",
            f"    topic: 大部分第{n}条",
            f"    questions: [大部分第{n}个问题]",
            f"    answer: 大部分第{n}个答案。",
            "    source: 五、大部分",
        ]
    (kb_dir / "40-browse.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _button(call: ApiCall, text: str) -> str:
    return next(str(b["callback_data"]) for b in buttons(call) if b["text"] == text)


def _labels(call: ApiCall) -> list[str]:
    return [b["text"] for b in buttons(call)]


async def _press_and_wait_edit(bot: RunningBot, message: ApiCall, data: str) -> ApiCall:
    mark = bot.api.mark()
    await bot.press(message, data)
    edit = await bot.api.wait_for_call("editMessageText", after=mark)
    assert edit.ok, edit
    await bot.api.wait_for_call("answerCallbackQuery", after=mark)
    return edit


@pytest.fixture
async def shipped_bot(start_bot: StartBot) -> RunningBot:
    """The bot serving the shipped knowledge base (read only: nothing here edits it)."""
    return await start_bot(knowledge_dir=SHIPPED_KNOWLEDGE)


async def test_the_menu_lists_the_reports_chapters_with_the_document_information_last(
    shipped_bot: RunningBot,
) -> None:
    menu = await shipped_bot.ask("/topics")
    assert menu.result["text"] == "请选择想了解的主题："
    assert _labels(menu) == ["工作情况", "存在问题", "下步工作打算", "文件信息与导语"]
    assert [d[:2] for d in callback_data(menu)] == ["C:", "P:", "C:", "C:"]


async def test_browsing_goes_chapter_then_section_then_entry_and_back_the_same_way(
    shipped_bot: RunningBot,
) -> None:
    menu = await shipped_bot.ask("/topics")
    chapter = await _press_and_wait_edit(shipped_bot, menu, _button(menu, "工作情况"))
    assert chapter.result["text"] == "一、工作情况"
    labels = _labels(chapter)
    # The sections by their own headings, without the repeated 一、工作情况（N）; the
    # chapter's own overview entry first, as 总览; eight a page.
    assert labels[:3] == ["总览", "强化各级干部法治思维", "加强复议机关监督职能"]
    assert labels[-2:] == ["下一页 ›", "« 返回"] and len(labels) == keyboards.PAGE_SIZE + 2
    assert not any(label.startswith("一、") for label in labels)

    section = await _press_and_wait_edit(
        shipped_bot, chapter, _button(chapter, "加强复议机关监督职能")
    )
    assert section.result["text"] == "一、工作情况（二）加强复议机关监督职能"
    topic = _labels(section)[0]
    entry = await _press_and_wait_edit(shipped_bot, section, _button(section, topic))
    assert (
        "来源：一、工作情况（二）加强复议机关监督职能；《江汉区2019年法治政府建设工作报告》"
        in (entry.result["text"])
    )
    assert len([label for label in _labels(entry) if label != "« 返回"]) <= 3

    back = await _press_and_wait_edit(shipped_bot, entry, _button(entry, "« 返回"))
    assert back.result["text"] == section.result["text"]
    back = await _press_and_wait_edit(shipped_bot, back, _button(back, "« 返回"))
    assert back.result["text"] == "一、工作情况"
    back = await _press_and_wait_edit(shipped_bot, back, _button(back, "« 返回"))
    assert _labels(back) == _labels(menu)
    assert await shipped_bot.rows() == []  # browsing is not asking


async def test_a_chapter_of_one_section_opens_that_section_directly(
    shipped_bot: RunningBot,
) -> None:
    menu = await shipped_bot.ask("/topics")
    problems = await _press_and_wait_edit(shipped_bot, menu, _button(menu, "存在问题"))
    assert problems.result["text"] == "二、存在问题"
    assert _labels(problems)[-1] == "« 返回"
    assert _button(problems, "« 返回") == "T:0"


async def test_a_report_of_one_chapter_lists_its_sections_first(kbbot: RunningBot) -> None:
    menu = await kbbot.ask("/topics")
    assert _labels(menu) == ["加强复议机关监督职能", "提升法律顾问效能", "严格执行出庭应诉规定"]


async def test_a_section_with_one_entry_opens_its_answer_and_back_returns(
    kbbot: RunningBot,
) -> None:
    menu = await kbbot.ask("/topics")
    answer = await _press_and_wait_edit(kbbot, menu, _button(menu, "严格执行出庭应诉规定"))
    assert answer.result["text"].startswith("2019年区政府领导及部门负责人出庭应诉率达92.3%")
    assert answer.result["text"].endswith("来源：一、工作情况（三）严格执行出庭应诉规定")
    assert callback_data(answer) == ["T:0"]

    # The edited message carries the new keyboard: the fake attaches it to the next press.
    back = await _press_and_wait_edit(kbbot, answer, "T:0")
    assert back.result["text"] == "请选择想了解的主题："
    assert _labels(back) == _labels(menu)
    assert await kbbot.rows() == []  # browsing is not asking


async def test_section_entry_answer_and_back(kbbot: RunningBot) -> None:
    menu = await kbbot.ask("/topics")
    section = await _press_and_wait_edit(kbbot, menu, _button(menu, "加强复议机关监督职能"))
    assert section.result["text"] == "一、工作情况（二）加强复议机关监督职能"
    assert _labels(section) == ["行政复议申请数量", "行政复议受案率", "« 返回"]
    entry = await _press_and_wait_edit(kbbot, section, _button(section, "行政复议受案率"))
    assert entry.result["text"].startswith("2019年行政复议案件受理22件")
    labels = _labels(entry)
    assert labels == ["相关：行政复议申请数量", "« 返回"]  # the related entry, by its topic
    related = await _press_and_wait_edit(kbbot, entry, _button(entry, labels[0]))
    assert related.result["text"].startswith("2019年共收到行政复议申请29件")
    back = await _press_and_wait_edit(kbbot, related, _button(related, "« 返回"))
    assert back.result["text"] == "一、工作情况（二）加强复议机关监督职能"


async def test_long_menus_have_pages(start_bot: StartBot, kb_dir: Path) -> None:
    _write_big_section(kb_dir, sections=10, entries=10)
    bot = await start_bot()
    menu = await bot.ask("/topics")
    assert _labels(menu) == ["工作情况", "附加部分", "大部分"]

    chapter = await _press_and_wait_edit(bot, menu, _button(menu, "附加部分"))
    labels = _labels(chapter)
    assert labels[: keyboards.PAGE_SIZE] == [f"附加小节{n}" for n in range(keyboards.PAGE_SIZE)]
    assert labels[-2:] == ["下一页 ›", "« 返回"]
    page2 = await _press_and_wait_edit(bot, chapter, _button(chapter, "下一页 ›"))
    assert _labels(page2) == ["附加小节8", "附加小节9", "‹ 上一页", "« 返回"]
    answer = await _press_and_wait_edit(bot, page2, _button(page2, "附加小节9"))
    assert answer.result["text"] == "附加部分答案9。\n\n来源：四、附加部分（9）附加小节9"
    back = await _press_and_wait_edit(bot, answer, _button(answer, "« 返回"))
    assert _labels(back) == _labels(page2)  # back to the page the section was on

    big = await _press_and_wait_edit(bot, back, _button(back, "« 返回"))
    big = await _press_and_wait_edit(bot, big, _button(big, "大部分"))
    labels = _labels(big)
    assert labels[:2] == ["大部分第0条", "大部分第1条"]
    assert labels[-2:] == ["下一页 ›", "« 返回"]
    more = await _press_and_wait_edit(bot, big, _button(big, "下一页 ›"))
    assert _labels(more)[:2] == ["大部分第8条", "大部分第9条"]
    entry = await _press_and_wait_edit(bot, more, _button(more, "大部分第9条"))
    assert entry.result["text"] == "大部分第9个答案。\n\n来源：五、大部分"
    back = await _press_and_wait_edit(bot, entry, _button(entry, "« 返回"))
    assert _labels(back) == _labels(more)  # the page that lists the entry


async def test_the_first_level_pages_at_five_so_start_never_shows_more_than_six_buttons(
    start_bot: StartBot, kb_dir: Path
) -> None:
    lines = ["entries:"]
    for n in range(7):
        lines += [
            f"  - id: chapter-{n}",
            f"    topic: 第{n}部分",
            f"    questions: [第{n}部分问题]",
            f"    answer: 第{n}部分答案。",
            f"    source: {'四五六七八九十'[n]}、第{n}部分",
        ]
    (kb_dir / "40-chapters.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bot = await start_bot()
    start = await bot.ask("/start")
    assert len(buttons(start)) == keyboards.MENU_PAGE_SIZE + 1 <= 6
    assert buttons(start)[-1] == {"text": "下一页 ›", "callback_data": "T:1"}
    page2 = await _press_and_wait_edit(bot, start, "T:1")
    assert _labels(page2) == ["第4部分", "第5部分", "第6部分", "‹ 上一页"]


async def test_a_double_tap_is_harmless(kbbot: RunningBot) -> None:
    menu = await kbbot.ask("/topics")
    data = _button(menu, "严格执行出庭应诉规定")
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
    data = _button(menu, "附加部分")
    (kb_dir / "40-browse.yaml").unlink()
    assert not [p for p in bot.state.engine.reload() if p.severity == "error"]

    mark = bot.api.mark()
    await bot.press(menu, data)
    answered = await bot.api.wait_for_call("answerCallbackQuery", after=mark)
    assert answered.params["text"] == "这个按钮已失效，请发送 /topics 重新浏览。"


def test_callback_data_fits_in_64_bytes_at_the_longest() -> None:
    longest_id = "a" * 48  # bot.answering.knowledge allows ids up to 48 characters
    ref = new_ref()
    for data in (
        keyboards.suggestion_data(ref, longest_id),
        keyboards.entry_data(longest_id),
        keyboards.related_data(longest_id),
        keyboards.feedback_data(ref, helpful=False),
        keyboards.section_data("很长的部分标题" * 20, page=999),
        keyboards.chapter_data("很长的章标题" * 20, page=999),
        keyboards.next_step_data(ref, "channel"),
        keyboards.topics_data(9999),
    ):
        assert len(data.encode()) <= 64, data
    assert keyboards.SUGGESTION_RE.match(keyboards.suggestion_data(ref, longest_id))
