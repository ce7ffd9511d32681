"""Several reports side by side, through the real bot on the fake Bot API.

The knowledge folders are drafted for the tests from the shipped 2019 report and a small
synthetic 2020 report with changed figures (tests/several_reports.py). A question naming a year
is answered, and cited, from that year's report; one naming none from the latest, saying so; a
follow-up naming another year moves to that year's report; /topics starts with the choice of
report; the question log names each answer's report, and /stats splits by it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_ID, RunningBot, StartBot, buttons, callback_data
from tests.e2e.fake_bot_api import ApiCall
from tests.several_reports import beside, drafted

DOCUMENT_2019 = "《江汉区2019年法治政府建设工作报告》（江汉区政府，2020-01-25，文号：江政）"
DOCUMENT_2020 = (
    "《江汉区2020年法治政府建设工作报告（测试用虚构文本）》"
    "（江汉区政府，2021-01-20，文号：江政〔2021〕3号）"
)
LATEST = (
    "以下按最新的《江汉区2020年法治政府建设工作报告（测试用虚构文本）》回答；"
    "要问2019年的情况，请在问题里写明年份。"
)
URL = "https://www.jianghan.gov.cn/report-2019"


@pytest.fixture(scope="module")
def drafted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every report in a folder of its own, all drafted (read only here)."""
    return drafted(tmp_path_factory.mktemp("drafted") / "knowledge")


@pytest.fixture(scope="module")
def beside_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped knowledge base with 2020/ drafted beside its report (read only here)."""
    return beside(tmp_path_factory.mktemp("beside") / "knowledge")


@pytest.fixture
async def reports_bot(start_bot: StartBot, drafted_dir: Path) -> RunningBot:
    return await start_bot(knowledge_dir=drafted_dir)


def _text(call: ApiCall) -> str:
    return str(call.result["text"])


def _labels(call: ApiCall) -> list[str]:
    return [b["text"] for b in buttons(call)]


def _button(call: ApiCall, text: str) -> str:
    return next(str(b["callback_data"]) for b in buttons(call) if b["text"] == text)


async def _press_and_wait_edit(bot: RunningBot, message: ApiCall, data: str) -> ApiCall:
    mark = bot.api.mark()
    await bot.press(message, data)
    edit = await bot.api.wait_for_call("editMessageText", after=mark)
    assert edit.ok, edit
    return edit


async def test_a_question_naming_a_year_is_answered_and_cited_from_that_years_report(
    reports_bot: RunningBot,
) -> None:
    earlier = await reports_bot.ask("2019年收到多少行政复议申请")
    assert "29件" in _text(earlier) and "35件" not in _text(earlier)
    assert _text(earlier).endswith(f"；{DOCUMENT_2019}")
    later = await reports_bot.ask("2020年收到多少行政复议申请")
    assert "35件" in _text(later) and _text(later).endswith(f"；{DOCUMENT_2020}")
    rate = await reports_bot.ask("2019年出庭应诉率是多少")
    assert "92.3%" in _text(rate) and "以下按" not in _text(rate)
    rows = await reports_bot.rows(3)
    assert [(row["report"], row["outcome"]) for row in rows] == [
        ("2019", "answer"),
        ("2020", "answer"),
        ("2019", "answer"),
    ]
    assert str(rows[0]["entry_id"]).startswith("2019-")


async def test_a_question_naming_no_year_is_answered_from_the_latest_report_and_says_so(
    reports_bot: RunningBot,
) -> None:
    reply = await reports_bot.ask("出庭应诉率是多少")
    lines = _text(reply).splitlines()
    assert lines[0] == LATEST
    assert "96.5%" in _text(reply) and lines[-1].endswith(f"；{DOCUMENT_2020}")


async def test_a_follow_up_naming_another_year_moves_to_that_years_report(
    reports_bot: RunningBot,
) -> None:
    await reports_bot.ask("2020年以区政府为被告的行政诉讼案件有多少件")
    reply = await reports_bot.ask("那2019年呢")
    assert "33件" in _text(reply) and _text(reply).endswith(f"；{DOCUMENT_2019}")
    again = await reports_bot.ask("那2020年呢")
    assert "27件" in _text(again) and _text(again).endswith(f"；{DOCUMENT_2020}")


async def test_what_only_an_older_report_says_is_answered_from_it_saying_why(
    reports_bot: RunningBot,
) -> None:
    reply = await reports_bot.ask("执法证件换发了多少")
    assert _text(reply).startswith(
        "最新的《江汉区2020年法治政府建设工作报告（测试用虚构文本）》没有谈到"
    )
    assert "181人次" in _text(reply) and _text(reply).endswith(f"；{DOCUMENT_2019}")


async def test_browsing_starts_with_the_choice_of_report(reports_bot: RunningBot) -> None:
    menu = await reports_bot.ask("/topics")
    assert _labels(menu) == ["📄 2020年报告", "📄 2019年报告"]
    assert callback_data(menu) == ["D:2020:0", "D:2019:0"]
    report = await _press_and_wait_edit(reports_bot, menu, "D:2019:0")
    assert _text(report) == "《江汉区2019年法治政府建设工作报告》"
    labels = _labels(report)
    assert {"工作情况", "存在问题", "下步工作打算"} <= set(labels) and labels[-1] == "« 返回"
    problems = await _press_and_wait_edit(reports_bot, report, _button(report, "存在问题"))
    assert "执法队伍素质能力水平参差不齐" in _text(problems)
    assert _text(problems).endswith(f"；{DOCUMENT_2019}")
    # Back from the one-section chapter's answer leads to the 2019 report's chapters.
    back = await _press_and_wait_edit(reports_bot, problems, _button(problems, "« 返回"))
    assert _button(back, "存在问题") == _button(report, "存在问题")
    top = await _press_and_wait_edit(reports_bot, back, _button(back, "« 返回"))
    assert callback_data(top) == ["D:2020:0", "D:2019:0"]
    # The same chapter of the other report is another button, to that report's section.
    other = await _press_and_wait_edit(reports_bot, top, "D:2020:0")
    assert _button(other, "存在问题") != _button(report, "存在问题")


async def test_stats_can_be_split_by_report(reports_bot: RunningBot) -> None:
    for question in ("2019年收到多少行政复议申请", "2019年出庭应诉率是多少", "2020年文号是什么"):
        await reports_bot.ask(question)
    await reports_bot.logged(3)
    everything = _text(await reports_bot.ask("/stats 30d", user_id=ADMIN_ID))
    assert (
        "提问 3 条" in everything
        and "按报告分开统计：/stats 30d 加上报告年份（2020、2019）" in (everything)
    )
    split = _text(await reports_bot.ask("/stats 30d 2019", user_id=ADMIN_ID))
    assert split.startswith("只统计按2019年报告回答的问题。")
    assert "提问 2 条，已回答 2 条" in split


async def test_next_years_report_beside_the_hand_written_base(
    start_bot: StartBot, beside_dir: Path
) -> None:
    """The deployment's way to add a report: 2020/ beside the shipped base. The hand-written
    2019 answers stay as they were, the title of the report at the top keeps its link, and
    "那2018年呢" still gets the 2019 report's comparison."""
    bot = await start_bot(knowledge_dir=beside_dir, report_url=URL)
    first = await bot.ask("2019年收到多少行政复议申请")
    assert _text(first).startswith("2019年江汉区共收到行政复议申请29件")
    assert any(e.get("url") == URL for e in first.result.get("entities", []))
    reply = await bot.ask("那2018年呢")
    assert _text(reply).startswith(
        "报告没有直接给出2018年的数字，只给出了与2018年相比的变化：2019年江汉区共收到"
    )
    latest = await bot.ask("2020年收到多少行政复议申请")
    assert "35件" in _text(latest) and _text(latest).endswith(f"；{DOCUMENT_2020}")
    assert not any(e.get("url") for e in latest.result.get("entities", []))
