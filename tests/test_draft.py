"""`kbbot kb draft`'s core (bot/authoring/draft.py): a knowledge base from a report's text alone.

The 2019 report and a small synthetic 2020 report written for these tests (a second year with
changed figures, tests/fixtures/reports/report-2020.txt) are drafted, loaded exactly as the bot
loads a knowledge base, and asked questions.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.answering.constraints import Asked, Conflict, ConflictKind
from bot.answering.engine import Engine, Kind
from bot.answering.knowledge import KnowledgeError, load_knowledge
from bot.answering.text import Normaliser
from bot.authoring.draft import DraftEntry, DraftError, draft_report, write_draft
from bot.config import SHIPPED_KNOWLEDGE
from tests.grading import ANSWERABLE, grade, load_set

REPORT_2019 = SHIPPED_KNOWLEDGE / "report.txt"
REPORT_2020 = Path(__file__).parent / "fixtures" / "reports" / "report-2020.txt"
BLIND = sorted((Path(__file__).parent / "data" / "blind").glob("batch-*.yaml"))

# A made-up report in the portals' layout, small enough to draft in a test.
SMALL_REPORT = """\
文 号 | 测政〔2021〕1号 | 发文日期 | 2021-02-01 09:00 |
---|---|---|---|
发布机构 | 测试区政府 | 有 效 性 | 有效 |
标 题 | 测试区2020年档案工作报告 |
测试区2020年档案工作报告
2020年,区政府推进档案工作,现将工作情况报告如下:
一、工作情况
(一)规范档案管理
对照《某省档案管理办法》,加强全区档案管理,严格审核程序,2020年共销毁过期档案12卷,较2019年减少3卷,同比下降20%。建立档案查阅登记制度,并建立档案安全约谈机制,对档案管理不达标的单位实行约谈。
(二)推进“一窗办”
成立工作专班,测试区“一次办”事项由100项增加到120项,占比从50%提高到60%。
二、存在问题
档案管理人员不足。
三、下步工作打算
(一)完善档案制度
每年随机抽查档案,提升档案管理水平。
(二)加强培训
组织档案人员培训。
"""


# The most wrong answers issue 8 allows any base: 2% of all questions asked.
WRONG_BAR = 0.02


@pytest.fixture(scope="module")
def drafted_2019(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    out = tmp_path_factory.mktemp("draft") / "knowledge-2019"
    write_draft(REPORT_2019, out, SHIPPED_KNOWLEDGE)
    return Engine.from_directory(out)


def test_the_draft_follows_the_reports_outline_and_quotes_it(drafted_2019: Engine) -> None:
    kb = drafted_2019.kb
    assert kb.entries and all(entry.draft for entry in kb.entries)
    assert kb.document is not None
    assert all(kb.document.contains(p) for entry in kb.entries for p in entry.passage)
    sections = {s.section for s in kb.document.sentences}
    assert sections <= {entry.source for entry in kb.entries}  # every section has entries
    normalise = Normaliser(kb.synonyms)
    owners = Counter(normalise(q) for entry in kb.entries for q in entry.questions)
    assert max(owners.values()) == 1  # one entry per question, as kb check requires


def test_a_draft_answers_with_the_reports_own_sentence(drafted_2019: Engine) -> None:
    reply = drafted_2019.respond("2019年收到多少行政复议申请")
    assert reply.kind is Kind.ANSWER and reply.entry is not None
    assert reply.text == "报告原文：“2019年共收到行政复议申请29件,较2018年减少10件,同比下降25.6%。”"
    assert reply.source == "一、工作情况（二）加强复议机关监督职能"
    rate = drafted_2019.respond("出庭应诉率是多少")
    assert "92.3%" in rate.text
    issuer = drafted_2019.respond("这份报告是谁发布的")
    assert "江汉区政府" in issuer.text


def test_a_draft_answers_as_many_blind_questions_as_the_goal_asks(
    drafted_2019: Engine, shipped_engine: Engine
) -> None:
    """Issue 14's goal, kept from slipping: the untouched draft answers at least 80% as many
    questions of the blind batches right as the hand-written base, and wrongly no more often
    than the bar allows any base (2% of all questions; README has the figures). Until batch 27
    it also answered no more of them wrongly than the hand-written base; since the round of
    work after batch 26 the hand-written base answers fewer wrongly (82 against 86 of 4,765)."""

    def graded(engine: Engine) -> tuple[int, int, int]:
        grades = [
            grade(load_set(path), lambda q: (lambda r: (r.answered, r.text))(engine.respond(q)))
            for path in BLIND
        ]
        right = sum(g.right[c] for g in grades for c in ANSWERABLE)
        return right, sum(g.wrong for g in grades), sum(sum(g.total.values()) for g in grades)

    draft, draft_wrong, asked = graded(drafted_2019)
    hand, _, _ = graded(shipped_engine)
    assert draft >= 0.8 * hand, f"draft {draft} right, hand-written {hand}"
    assert draft_wrong <= WRONG_BAR * asked, f"draft {draft_wrong} wrong of {asked}"


@pytest.fixture(scope="module")
def drafted_2020(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    out = tmp_path_factory.mktemp("draft") / "knowledge-2020"
    write_draft(REPORT_2020, out, SHIPPED_KNOWLEDGE)
    return Engine.from_directory(out)


def test_another_years_report_is_drafted_with_its_own_figures(drafted_2020: Engine) -> None:
    engine = drafted_2020
    assert engine.kb.document is not None
    assert engine.kb.document.title.startswith("江汉区2020年法治政府建设工作报告")
    assert "35件" in engine.respond("2020年收到多少行政复议申请").text
    assert "96.5%" in engine.respond("负责人出庭应诉率是多少").text
    assert "12名" in engine.respond("聘任了多少名法学专家").text
    assert "江政〔2021〕3号" in engine.respond("文号是多少").text


def test_drafting_refuses_what_it_cannot_do_well(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DraftError, match="not empty"):
        write_draft(REPORT_2019, taken, SHIPPED_KNOWLEDGE)
    flat = tmp_path / "flat.txt"
    flat.write_text("一段没有章节的文字。又一句话。\n", encoding="utf-8")
    with pytest.raises(DraftError, match="no chapters"):
        write_draft(flat, tmp_path / "out", SHIPPED_KNOWLEDGE)
    with pytest.raises(DraftError, match="lacks"):
        write_draft(REPORT_2019, tmp_path / "out2", tmp_path)
    assert len(draft_report(REPORT_2020.read_text(encoding="utf-8"))) == 6


def test_a_draft_entry_needs_a_passage_and_a_real_flag(kb_dir: Path) -> None:
    path = kb_dir / "10-work.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("  - id: law-firms\n", "  - id: law-firms\n    draft: true\n"), "utf-8"
    )
    with pytest.raises(KnowledgeError, match="必须有 passage"):
        load_knowledge(kb_dir)
    path.write_text(
        text.replace("  - id: law-firms\n", "  - id: law-firms\n    draft: 是\n"), "utf-8"
    )
    with pytest.raises(KnowledgeError, match="只能是 true 或 false"):
        load_knowledge(kb_dir)


def _small() -> list[DraftEntry]:
    return [entry for file in draft_report(SMALL_REPORT) for entry in file.entries]


def _fact(entries: list[DraftEntry], kind: str, words: str) -> DraftEntry:
    """The entry of a fact (kind f: figures, d: a document, t: a measure) stating `words`."""
    return next(e for e in entries if re.search(rf"-{kind}\d+$", e.id) and words in e.answer)


def test_each_fact_of_a_sentence_states_only_itself_and_quotes_the_sentence() -> None:
    entries = _small()
    count = _fact(entries, "f", "12卷")
    rules = _fact(entries, "d", "《某省档案管理办法》")
    talks = _fact(entries, "t", "实行约谈")
    assert "《" not in count.answer and "12卷" not in rules.answer  # one sentence, two facts
    assert count.passage == rules.passage and "12卷" in count.passage[0]
    assert "登记制度" not in talks.answer  # a measure of its own
    assert "严格审核程序" in rules.answer  # too short to be a fact alone
    served = _fact(entries, "f", "120项")
    assert served.answer.startswith("成立工作专班")  # the measure right before the figure


def test_a_figure_its_change_and_its_share_are_one_fact() -> None:
    entries = _small()
    count = _fact(entries, "f", "12卷")
    assert "减少3卷" in count.answer and "20%" in count.answer
    assert any("下降" in question for question in count.questions)
    served = _fact(entries, "f", "120项")
    assert "50%" in served.answer and "60%" in served.answer
    # A number inside a quoted name is part of the name; the report's own place is no subject.
    assert served.topic == "“一次办”事项"
    assert [e.id for e in entries if "-f" in e.id and "100项" in e.answer] == [served.id]


def test_a_plan_is_phrased_as_one_and_a_chapter_lists_its_sections() -> None:
    entries = _small()
    plans = [
        e for e in entries if e.source.startswith("三、下步工作打算（") and "summary" not in e.id
    ]
    assert plans and all(e.questions[0].startswith("下一步") for e in plans)
    chapter = next(e for e in entries if e.source == "一、工作情况")
    assert chapter.answer == "报告“一、工作情况”分2个方面：规范档案管理、推进“一窗办”。"
    assert "（一）规范档案管理" in chapter.passage


def test_a_draft_is_checked_against_its_own_fact_not_its_whole_sentence(
    drafted_2020: Engine,
) -> None:
    """The 2020 report names a document and gives a rate in one sentence: the rate's entry
    does not state the document, and a count's entry lists no items, so neither answers a
    question for them (the near-miss checks read a draft's `claim`)."""
    kb, matcher = drafted_2020.kb, drafted_2020.matcher
    rate = next(e for e in kb.entries if "96.5%" in e.claim and "-f" in e.id)
    rules = next(e for e in kb.entries if "《" in e.claim and "-d" in e.id)
    assert rate.passage == rules.passage and rate.answer == rules.answer  # both quote it whole
    asks_document = matcher.frame("负责人出庭应诉依据的是哪份文件")
    assert Conflict(ConflictKind.ASKED, Asked.DOCUMENT.value) in matcher.conflicts(
        asks_document, rate
    )
    assert not matcher.conflicts(asks_document, rules)
    accepted = next(e for e in kb.entries if "受理30件" in e.claim and "-f" in e.id)
    asks_list = matcher.frame("受理的复议案件具体有哪些")
    assert Conflict(ConflictKind.ASKED, Asked.LIST.value) in matcher.conflicts(asks_list, accepted)
