"""Answering from several reports side by side (Engine.respond, bot/answering/report_choice.py).

A question that names a year goes to that year's report; one that names none goes to the
latest and says so; a follow-up stays with its report unless it names another year. The
reports are drafted for the tests: the shipped 2019 report and a small synthetic 2020 report
with changed figures (tests/several_reports.py). Both layouts are asked: every report in a
folder of its own, and next year's folder beside the shipped, hand-written base.
"""

from __future__ import annotations

import time

import pytest

from bot.answering.engine import Engine, Kind, Reply, format_plain
from bot.answering.report_choice import Candidate, Choice, How, choose
from bot.questionlog.records import record_for
from tests.several_reports import beside, drafted

TITLE_2019 = "《江汉区2019年法治政府建设工作报告》"
TITLE_2020 = "《江汉区2020年法治政府建设工作报告（测试用虚构文本）》"
LATEST = f"以下按最新的{TITLE_2020}回答；要问2019年的情况，请在问题里写明年份。"


@pytest.fixture(scope="module", params=["drafted", "beside"])
def several(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    build = drafted if request.param == "drafted" else beside
    return Engine.from_directory(build(tmp_path_factory.mktemp(request.param) / "knowledge"))


def _plain(engine: Engine, reply: Reply) -> str:
    return format_plain(reply, "来源", engine.kb.document, engine.kb.documents)


def _follow(engine: Engine, first: str, then: str) -> Reply:
    previous = engine.respond(first)
    return engine.respond(then, previous.context(time.monotonic()))


@pytest.mark.parametrize(
    ("question", "year", "figure"),
    [
        ("2019年收到多少行政复议申请", "2019", "29件"),
        ("2020年收到多少行政复议申请", "2020", "35件"),
        ("2019年出庭应诉率是多少", "2019", "92.3%"),
        ("2020年负责人出庭应诉率是多少", "2020", "96.5%"),
        ("2019年以区政府为被告的行政诉讼案件有多少件", "2019", "33件"),
        ("2020年以区政府为被告的行政诉讼案件有多少件", "2020", "27件"),
        ("二〇二〇年的报告文号是什么", "2020", "江政〔2021〕3号"),
    ],
)
def test_a_question_naming_a_year_is_answered_from_that_years_report(
    several: Engine, question: str, year: str, figure: str
) -> None:
    reply = several.respond(question)
    assert reply.kind is Kind.ANSWER and reply.report == year
    assert figure in reply.text
    assert reply.note == ""  # the question named its report
    title = TITLE_2019 if year == "2019" else TITLE_2020
    assert title in _plain(several, reply).splitlines()[-1]  # cited with its own report


def test_a_question_naming_no_year_is_answered_from_the_latest_and_says_so(
    several: Engine,
) -> None:
    reply = several.respond("收到多少行政复议申请")
    assert (reply.kind, reply.report, reply.note) == (Kind.ANSWER, "2020", LATEST)
    assert "35件" in reply.text
    lines = _plain(several, reply).splitlines()
    assert lines[0] == LATEST and TITLE_2020 in lines[-1]


def test_a_follow_up_naming_another_year_goes_to_that_years_report(several: Engine) -> None:
    back = _follow(several, "2020年收到多少行政复议申请", "那2019年呢")
    assert (back.kind, back.report, back.note) == (Kind.ANSWER, "2019", "")
    assert "29件" in back.text and back.understood == "2019年收到多少行政复议申请"
    forth = _follow(several, "2019年出庭应诉率是多少", "那2020年呢")
    assert (forth.report, forth.note) == ("2020", "") and "96.5%" in forth.text


def test_a_year_with_no_report_goes_to_the_report_that_compares_with_it(
    several: Engine,
) -> None:
    """那2018年呢: no 2018 report, and the 2019 report gives 2018 only as a change, as it does
    when it is the only report."""
    reply = _follow(several, "2020年收到多少行政复议申请", "那2018年呢")
    assert reply.report == "2019"
    assert reply.text.startswith("报告没有直接给出2018年的数字，只给出了与2018年相比的变化")
    assert reply.note == f"以下按{TITLE_2019}回答。"


def test_a_follow_up_naming_no_year_stays_with_its_report(several: Engine) -> None:
    read_with = _follow(several, "2019年收到多少行政复议申请", "那受理了几件呢")
    # From the previous one's report, whether read with it (no note) or, where the message is
    # answered on its own (a drafted base has an entry for 受理 alone), saying which report.
    assert read_with.report == "2019"
    assert read_with.note in ("", f"以下按{TITLE_2019}回答。")
    assert (read_with.note == "") == (read_with.understood != "")
    alone = _follow(several, "2019年收到多少行政复议申请", "出庭应诉率是多少")
    assert alone.report == "2019" and "92.3%" in alone.text
    assert alone.note == f"以下按{TITLE_2019}回答。"  # a question of its own: say which report


def test_a_question_naming_a_year_only_an_older_report_speaks_of_says_which(
    several: Engine,
) -> None:
    reply = several.respond("2018年收到多少行政复议申请")
    assert reply.report == "2019" and "较2018年减少10件" in reply.text
    assert reply.note == f"以下按{TITLE_2019}回答。"


def test_what_only_an_older_report_says_is_answered_from_it_and_says_why(
    several: Engine,
) -> None:
    reply = several.respond("执法证件换发了多少")
    assert (reply.kind, reply.report) == (Kind.ANSWER, "2019")
    assert "181人次" in reply.text
    assert reply.note == f"最新的{TITLE_2020}没有谈到这一点，以下按{TITLE_2019}回答。"


def test_a_comparison_with_a_year_that_has_its_own_report_is_answered_plainly(
    several: Engine,
) -> None:
    reply = several.respond("2020年行政复议申请比2019年增加了多少")
    assert reply.report == "2020" and "增加6件" in reply.text
    assert "报告没有直接给出" not in reply.text


def test_each_part_of_a_message_is_answered_from_its_own_years_report(several: Engine) -> None:
    reply = several.respond("2019年收到多少行政复议申请？2020年呢？")
    assert reply.kind is Kind.MULTI
    assert [part.report for part in reply.parts] == ["2019", "2020"]
    assert "29件" in reply.parts[0].text and "35件" in reply.parts[1].text
    text = _plain(several, reply)
    assert text.index(TITLE_2019) < text.index("35件") < text.index(TITLE_2020)


def test_the_log_row_names_the_report(several: Engine) -> None:
    assert record_for(several.respond("2019年出庭应诉率是多少"), "console").report == "2019"
    assert record_for(several.respond("你好"), "console").report is None


def test_an_entry_picked_from_a_button_names_its_report(several: Engine) -> None:
    entry = several.respond("2019年出庭应诉率是多少").entry
    assert entry is not None
    reply = several.answer_entry(entry.id)
    assert reply is not None and reply.report == "2019"
    assert several.matcher_for("2019").kb.by_id[entry.id] == entry
    assert several.review_matcher.kb is several.kb  # the review tools see every report


def test_a_base_of_one_report_says_nothing_about_reports(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("收到多少行政复议申请")
    assert (reply.report, reply.note) == ("", "")
    assert record_for(reply, "console").report is None
    previous = shipped_engine.respond("2019年收到多少行政复议申请")
    follow = shipped_engine.respond("那2018年呢", previous.context(time.monotonic()))
    assert follow.text.startswith("报告没有直接给出2018年的数字")


# --- choosing a report (pure) -------------------------------------------------------------------

REPORTS = [
    Candidate("2019", 2019, frozenset({2018, 2019, 2020})),
    Candidate("2020", 2020, frozenset({2019, 2020, 2021})),
]


@pytest.mark.parametrize(
    ("asked", "context", "expected"),
    [
        (frozenset({2019}), None, Choice(0, How.NAMED)),
        (frozenset({2019, 2020}), None, Choice(1, How.NAMED)),  # a comparison: the later one
        (frozenset({2018}), "2020", Choice(0, How.MENTIONED)),
        (frozenset({2021}), None, Choice(1, How.MENTIONED)),
        (frozenset(), "2019", Choice(0, How.CONTEXT)),
        (frozenset({2015}), "2019", Choice(0, How.CONTEXT)),
        (frozenset(), None, Choice(1, How.LATEST)),
        (frozenset(), "gone", Choice(1, How.LATEST)),  # a report a reload removed
    ],
)
def test_the_report_chosen_for_the_years_a_question_names(
    asked: frozenset[int], context: str | None, expected: Choice
) -> None:
    assert choose(REPORTS, asked, context) == expected
