"""The Telegram side of several reports side by side: the browse menu's buttons, and citations
(bot/telegram/keyboards.py, bot/telegram/formatting.py). The end-to-end tests press them
(tests/e2e/test_bot_reports.py); these check every button of every report at once."""

from __future__ import annotations

import pytest

from bot.answering.browse import chapters
from bot.answering.engine import Engine
from bot.telegram import keyboards
from bot.telegram.formatting import Citing, entry_html, reply_html
from tests.several_reports import beside

URL = "https://www.jianghan.gov.cn/report-2019"


@pytest.fixture(scope="module")
def several(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine.from_directory(beside(tmp_path_factory.mktemp("beside") / "knowledge"))


def _data(markup: object) -> list[str]:
    rows = getattr(markup, "inline_keyboard", ())
    return [str(button.callback_data) for row in rows for button in row]


def test_every_menu_button_names_its_own_reports_part(several: Engine) -> None:
    kb, messages = several.kb, several.replies
    assert _data(keyboards.menu_keyboard(kb, 0, messages)) == ["D:2020:0", "D:2019:0"]
    seen: dict[str, str] = {}
    for report in ("2019", "2020"):
        first = _data(keyboards.report_keyboard(kb, report, 0, messages))
        assert first[-1] == "T:0"  # back to the choice of report
        for chapter in chapters(kb, report):
            markup = keyboards.chapter_keyboard(kb, chapter, 0, messages)
            assert _data(markup)[-1].startswith(f"D:{report}:")
            found = keyboards.find_chapter(kb, keyboards.section_key(chapter.title, report))
            assert found == chapter
        for section in (s for s in kb.sections() if s.report == report):
            key = keyboards.section_key(section.title, report)
            assert seen.setdefault(key, report) == report  # alike titles, distinct keys
            assert keyboards.find_section(kb, key) == section
            for entry in section.entries:
                data = _data(keyboards.browse_entry_keyboard(kb, entry, messages))
                assert all(len(d.encode()) <= keyboards.MAX_CALLBACK_BYTES for d in data)


def test_a_reply_cites_its_own_report_and_only_the_top_one_links(several: Engine) -> None:
    kb, messages = several.kb, several.replies
    citing = Citing(kb.document, URL, kb.documents)
    earlier = reply_html(several.respond("2019年收到多少行政复议申请"), messages, citing)
    assert URL in earlier and "江汉区2019年" in earlier
    latest = reply_html(several.respond("收到多少行政复议申请"), messages, citing)
    assert latest.startswith("以下按最新的《江汉区2020年")
    assert URL not in latest and "江政〔2021〕3号" in latest
    entry = kb.by_id["2020-document-title"]
    assert "江政〔2021〕3号" in entry_html(entry, messages, citing)


def test_the_one_report_menu_is_unchanged(shipped_engine: Engine) -> None:
    kb, messages = shipped_engine.kb, shipped_engine.replies
    assert not any(d.startswith("D:") for d in _data(keyboards.menu_keyboard(kb, 0, messages)))
