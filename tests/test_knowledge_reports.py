"""A knowledge base of several reports side by side (knowledge/2020/...): how it is laid out,
loaded and checked (bot/answering/knowledge.py), drafted into (bot/authoring/draft.py) and edited (bot/authoring/kbedit.py).

The reports are drafted for the tests (tests/several_reports.py): the shipped 2019 report and
a small synthetic 2020 report (tests/fixtures/reports/report-2020.txt).
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from bot.answering.document import REPORT_FILE
from bot.answering.knowledge import KnowledgeError, fingerprint, load_knowledge
from bot.authoring import kbedit
from bot.authoring.draft import DraftError, write_draft
from bot.cli.kb import kb_check, kb_init
from bot.config import SHIPPED_KNOWLEDGE, Config
from bot.logurl import LogURL
from tests.several_reports import REPORT_2020, beside, drafted


@pytest.fixture(scope="module")
def drafted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return drafted(tmp_path_factory.mktemp("reports") / "knowledge")


@pytest.fixture
def beside_dir(tmp_path: Path) -> Path:
    return beside(tmp_path / "knowledge")


def _errors(directory: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(directory)
    return [str(p) for p in caught.value.problems if p.severity == "error"]


def test_a_base_of_one_report_loads_as_it_always_has() -> None:
    kb = load_knowledge(SHIPPED_KNOWLEDGE)
    assert kb.reports == () and kb.documents == {}
    assert "reconsideration-applications" in kb.by_id
    assert all(entry.report == "" for entry in kb.entries)
    assert {section.report for section in kb.sections()} == {""}


def test_each_folder_with_a_report_is_a_report_keyed_by_its_year(drafted_dir: Path) -> None:
    kb = load_knowledge(drafted_dir)
    assert [(p.key, p.year, p.folder) for p in kb.reports] == [
        ("2019", 2019, "2019"),
        ("2020", 2020, "2020"),
    ]
    assert kb.document is None  # no report at the top
    assert kb.documents["2020"] is not None
    assert kb.documents["2020"].title.startswith("江汉区2020年")
    assert len(kb.entries) == sum(len(p.kb.entries) for p in kb.reports)
    # Both drafts use the same ids; qualified with their year they stay apart.
    assert {"2019-document-title", "2020-document-title"} <= set(kb.by_id)
    entry = kb.by_id["2020-document-title"]
    assert (entry.report, entry.local_id) == ("2020", "document-title")
    assert all(other.startswith("2020-") for e in kb.reports[1].kb.entries for other in e.related)
    # Each report's sections are its own, though their titles are alike.
    titles = [(s.report, s.title) for s in kb.sections()]
    assert ("2019", "二、存在问题") in titles and ("2020", "二、存在问题") in titles


def test_next_years_report_goes_in_a_folder_beside_the_one_at_the_top(beside_dir: Path) -> None:
    kb = load_knowledge(beside_dir)
    assert [(p.key, p.folder) for p in kb.reports] == [("2019", ""), ("2020", "2020")]
    assert kb.document is kb.reports[0].kb.document  # the one at the top
    assert "2019-reconsideration-applications" in kb.by_id
    # A channel's `about` names an entry as written: the newest report's that has it.
    about = {c.id: c.about for c in kb.replies.referrals}
    assert about["reconsideration"] == "2019-reconsideration-summary"
    # Drafting beside the others writes the report and its entries, not the shared files.
    written = sorted(p.name for p in (beside_dir / "2020").iterdir())
    assert "replies.yaml" not in written and REPORT_FILE in written
    first = next(p for p in (beside_dir / "2020").glob("*.yaml"))
    assert first.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=../")


def test_kb_check_checks_each_report_and_lists_them(beside_dir: Path) -> None:
    out = io.StringIO()
    config = Config(knowledge_dir=beside_dir, db=LogURL.file(beside_dir / "q.sqlite3"))
    assert kb_check(config, out) == 0
    text = out.getvalue()
    assert "共 2 份报告：2019年（104 个条目，顶层）、2020年（" in text
    # The confusable-phrasing check asks each report's phrasings of its own entries only.
    for line in text.splitlines():
        if "更像条目" in line:
            year = "2020" if line.startswith(str(beside_dir / "2020")) else "2019"
            assert line.count(f"`{year}-") == 2, line


def test_the_fingerprint_sees_a_file_saved_in_a_reports_folder(beside_dir: Path) -> None:
    before = fingerprint(beside_dir)
    (beside_dir / "2020" / REPORT_FILE).write_text(
        (beside_dir / "2020" / REPORT_FILE).read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )
    assert fingerprint(beside_dir) != before


def test_a_shared_file_inside_a_reports_folder_is_an_error(beside_dir: Path) -> None:
    shutil.copy(beside_dir / "synonyms.yaml", beside_dir / "2020" / "synonyms.yaml")
    [error] = _errors(beside_dir)
    assert "2020/synonyms.yaml" in error and "只能放在知识库顶层" in error


def test_two_reports_of_the_same_year_are_an_error(beside_dir: Path) -> None:
    shutil.copytree(beside_dir / "2020", beside_dir / "2020-copy")
    assert any("每一年只能有一份报告" in e for e in _errors(beside_dir))


def test_a_folder_of_entries_without_its_report_is_an_error(beside_dir: Path) -> None:
    (beside_dir / "2020" / REPORT_FILE).rename(beside_dir / "report-2020.txt")
    [error] = _errors(beside_dir)
    assert "没有报告原文 report.txt" in error


def test_a_report_whose_title_names_no_year_is_an_error(beside_dir: Path) -> None:
    path = beside_dir / "2020" / REPORT_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("2020年", "本年度"), "utf-8")
    assert any("正好有一个年份" in e for e in _errors(beside_dir))


def test_several_reports_need_the_messages_that_name_the_report(beside_dir: Path) -> None:
    path = beside_dir / "replies.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        "\n".join(line for line in text.splitlines() if "report_latest:" not in line) + "\n",
        encoding="utf-8",
    )
    [error] = _errors(beside_dir)
    assert "messages 缺少 `report_latest`" in error


def test_entries_at_the_top_need_their_report_beside_other_reports(beside_dir: Path) -> None:
    (beside_dir / REPORT_FILE).unlink()
    assert any("顶层的条目也要有报告原文" in e for e in _errors(beside_dir))


def test_drafting_into_a_taken_reports_folder_is_refused(beside_dir: Path) -> None:
    with pytest.raises(DraftError, match="not empty"):
        write_draft(REPORT_2020, beside_dir / "2020", SHIPPED_KNOWLEDGE)


def test_an_entry_in_a_reports_folder_is_edited_in_its_own_file(beside_dir: Path) -> None:
    kb = load_knowledge(beside_dir)
    entry = kb.by_id["2020-document-title"]
    name = Path(entry.file).name
    top = (beside_dir / name).read_text(encoding="utf-8")  # the 2019 report's file of that name
    change = kbedit.plan_questions(beside_dir, kb, entry.id, ["二〇二〇年报告叫什么"], "加问法")
    assert change.file == f"2020/{name}"
    checked = kbedit.validate(beside_dir, [change])
    assert "二〇二〇年报告叫什么" in checked.by_id[entry.id].questions
    assert checked.by_id[entry.id].file == entry.file  # pointed back at the real folder
    kbedit.write(beside_dir, change)
    assert "二〇二〇年报告叫什么" in load_knowledge(beside_dir).by_id[entry.id].questions
    assert (beside_dir / name).read_text(encoding="utf-8") == top


def test_kb_init_copies_every_reports_folder(beside_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "served"
    config = Config(knowledge_dir=target, db=LogURL.file(tmp_path / "q.sqlite3"))
    assert kb_init(config, beside_dir, io.StringIO()) == 0
    assert (target / "2020" / REPORT_FILE).is_file()
    assert [p.key for p in load_knowledge(target).reports] == ["2019", "2020"]
