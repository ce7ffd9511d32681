"""The admin loop's core (bot/authoring/teaching.py, bot/authoring/preview.py, bot/authoring/history.py) on a real log file:
previews, confirmation, one winner per cluster, history, hand edits and undo, from the shell too.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.answering.segment import Segmenter
from bot.authoring import history
from bot.authoring.history import Actor
from bot.authoring.preview import compare, format_preview, regression_questions
from bot.authoring.teaching import ReviewItem, Teacher, _one_word_apart, cluster_key
from bot.cli.main import run
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import QuestionLog, QuestionRecord
from bot.review.report import Cluster

WORK = "10-work.yaml"
ADMIN = Actor("张科长", "hash-of-admin")
OTHER = Actor("李主任", "hash-of-other")


@pytest.fixture
async def log(log_db: Path | str) -> AsyncIterator[QuestionLog]:
    """The log of the tests below, on each backend: the admin loop's state is all in it."""
    opened = await open_log(log_db)
    yield opened
    await opened.close()


def cluster(*wordings: str) -> Cluster:
    now = datetime.now(UTC)
    return Cluster(
        number=1,
        key=wordings[0],
        count=len(wordings),
        users=1,
        first_asked=now,
        last_asked=now,
        examples=tuple(dict.fromkeys(wordings)),
        keys=tuple(dict.fromkeys(wordings)),
    )


def item(engine: Engine, *wordings: str, nearest: str | None = "law-firms") -> ReviewItem:
    return ReviewItem(
        key=cluster_key(cluster(*wordings)),
        count=len(wordings),
        users=1,
        examples=wordings,
        forms=wordings,
        nearest=nearest,
        last_asked=datetime.now(UTC).isoformat(),
    )


# --- pure parts -------------------------------------------------------------------------------


def test_the_cluster_key_depends_on_the_wordings_only() -> None:
    a = cluster("政府的律师楼", "律师楼有哪些")
    assert cluster_key(a) == cluster_key(cluster("律师楼有哪些", "政府的律师楼"))
    assert cluster_key(a) != cluster_key(cluster("政府的律师楼"))
    assert len(cluster_key(a)) == 12


def test_a_review_item_survives_its_stored_form(engine: Engine) -> None:
    shown = item(engine, "政府的律师楼", "律师楼")
    assert ReviewItem.from_body(shown.key, shown.body()) == shown
    assert ReviewItem.from_body(shown.key, {"count": "x"}) is None


@pytest.mark.parametrize(
    ("asked", "stored", "expected"),
    [
        ("合作律师楼", "合作律师事务所", ("律师事务所", "律师楼")),  # borrows 律师 before 楼
        ("法律顾问覆盖情况", "法律顾问覆盖情况", None),
        ("律师", "律师事务所", None),  # a prefix is not a synonym
        ("复议申请几件", "复议申请数量", None),  # how people ask, not what about
        ("执法证换了多少", "执法证发了多少", None),  # one verb, not a term of the base
        ("楼", "所", None),  # nothing shared
    ],
)
def test_a_synonym_is_proposed_only_for_one_real_word(
    asked: str, stored: str, expected: tuple[str, str] | None
) -> None:
    assert _one_word_apart(asked, stored, Segmenter().words, {"律师事务所"}) == expected


def test_the_preview_lists_moved_answers_and_counts_new_ones(engine: Engine, kb_dir: Path) -> None:
    path = kb_dir / WORK
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "      - 复议申请数量\n", "      - 复议申请数量\n      - 复议受理情况\n"
        ),
        encoding="utf-8",
    )
    candidate = Engine.from_directory(kb_dir)
    questions = regression_questions(["复议受理情况怎么样", "法律顾问覆盖情况"], None)
    preview = compare(engine, candidate, questions, focus=["复议受理情况"])
    assert [c.question for c in preview.moved] == ["复议受理情况怎么样"]
    moved = preview.moved[0]
    assert moved.before.targets == ("reconsideration-acceptance",)
    assert moved.after.targets == ("reconsideration-applications",)
    text = format_preview(preview, "预览：测试")
    assert "· 复议受理情况怎么样：「行政复议受案率」 → 「行政复议申请数量」" in text
    assert "用 3 个问题回放检验" in text


def test_the_regression_set_reads_a_question_file(tmp_path: Path) -> None:
    file = tmp_path / "set.yaml"
    file.write_text('- {q: "复议申请数量", expect: answer}\n- {q: "律所", expect: answer}\n')
    assert regression_questions(["律所", " 出庭率 "], file) == ["律所", "出庭率", "复议申请数量"]
    assert regression_questions(["律所"], tmp_path / "missing.yaml") == ["律所"]


# --- on a log --------------------------------------------------------------------------------


async def test_confirm_writes_exactly_the_preview_and_records_who(
    engine: Engine, kb_dir: Path, log: QuestionLog
) -> None:
    teacher = Teacher(engine, None)
    shown = item(engine, "政府的律师楼")
    planned = await teacher.plan_attach(log, shown, "law-firms", ADMIN)
    assert planned.token is not None
    assert planned.text.startswith("预览：把这组问题归入「合作律师事务所」")
    assert "政府的律师楼" not in (kb_dir / WORK).read_text(encoding="utf-8")

    refused = await teacher.confirm(log, planned.token, OTHER)
    assert not refused.done and "只有发起预览的管理员" in refused.text
    planned = await teacher.plan_attach(log, shown, "law-firms", ADMIN)
    assert planned.token is not None
    done = await teacher.confirm(log, planned.token, ADMIN)
    assert done.done and done.text.startswith("已修改（#1）")
    assert "      - 政府的律师楼\n" in (kb_dir / WORK).read_text(encoding="utf-8")
    again = await teacher.confirm(log, planned.token, ADMIN)  # 确认 pressed twice
    assert not again.done and "已经确认、取消或过期" in again.text

    [change] = await log.changes(history.folder_key(kb_dir))
    assert (change.actor_name, change.actor_hash, change.entry_id) == (
        "张科长",
        "hash-of-admin",
        "law-firms",
    )
    assert "政府的律师楼" in await log.handled_forms()


async def test_of_two_admins_on_one_cluster_the_second_is_told(
    engine: Engine, kb_dir: Path, log: QuestionLog
) -> None:
    teacher = Teacher(engine, None)
    shown = item(engine, "政府的律师楼")
    first = await teacher.plan_attach(log, shown, "law-firms", ADMIN)
    second = await teacher.plan_attach(log, shown, "legal-adviser-coverage", OTHER)
    assert first.token and second.token
    assert (await teacher.confirm(log, first.token, ADMIN)).done
    lost = await teacher.confirm(log, second.token, OTHER)
    assert not lost.done
    assert lost.text.startswith("这组问题已由 张科长 在 ") and "归入条目" in lost.text
    assert (kb_dir / WORK).read_text(encoding="utf-8").count("政府的律师楼") == 1
    later = await teacher.plan_attach(log, shown, "law-firms", OTHER)
    assert later.token is None and later.text.startswith("这组问题已由 张科长")
    assert not (await teacher.ignore(log, shown, OTHER)).done


async def test_a_failed_write_releases_the_cluster(
    engine: Engine, kb_dir: Path, log: QuestionLog
) -> None:
    teacher = Teacher(engine, None)
    shown = item(engine, "政府的律师楼")
    planned = await teacher.plan_attach(log, shown, "law-firms", ADMIN)
    assert planned.token is not None
    (kb_dir / WORK).write_text((kb_dir / WORK).read_text() + "# 手工改动\n", encoding="utf-8")
    outcome = await teacher.confirm(log, planned.token, ADMIN)
    assert not outcome.done and "请重新预览" in outcome.text
    assert await log.handled_forms() == frozenset()
    assert await log.changes(history.folder_key(kb_dir)) == []


async def test_hand_edits_are_recorded_after_the_first_look_and_undone_in_order(
    engine: Engine, kb_dir: Path, log: QuestionLog
) -> None:
    assert await history.note_hand_edits(log, kb_dir) == []  # the first look only remembers
    path = kb_dir / WORK
    original = path.read_bytes()
    path.write_text(path.read_text(encoding="utf-8").replace("62个部门", "64个部门"))
    (kb_dir / "20-extra.yaml").write_text("entries: []\n", encoding="utf-8")
    noticed = await history.note_hand_edits(log, kb_dir)
    assert [(c.file, c.summary) for c in noticed] == [
        (WORK, "直接修改了文件（增加 1 行，删除 1 行）"),
        ("20-extra.yaml", "新增了这个文件"),
    ]
    assert await history.note_hand_edits(log, kb_dir) == []  # recorded once

    teacher = Teacher(engine, None)
    for _ in range(2):
        planned = await teacher.plan_undo(log, ADMIN)
        assert planned.token is not None
        assert (await teacher.confirm(log, planned.token, ADMIN)).done
    assert not (kb_dir / "20-extra.yaml").exists()
    assert path.read_bytes() == original
    assert (await teacher.plan_undo(log, ADMIN)).text == "没有可以撤销的修改。"
    changes = await log.changes(history.folder_key(kb_dir))
    assert [(c.action, c.undoes, c.undone_by) for c in changes] == [
        ("undo", 1, None),
        ("undo", 2, None),
        ("hand_edit", None, 3),  # the newest hand edit was undone first
        ("hand_edit", None, 4),
    ]


async def test_ignore_hides_a_cluster_from_review(engine: Engine, log: QuestionLog) -> None:
    for question in ("明天天气怎么样", "明天天气怎么样？", "公积金怎么提取"):
        await log.record(QuestionRecord("telegram", question, question, False, "none"))
    teacher = Teacher(engine, None)
    clusters, items = await teacher.list_clusters(log, 10)
    weather = next(i for i in items if "明天天气怎么样" in i.examples)
    assert await teacher.item(log, weather.key) == weather
    assert (await teacher.ignore(log, weather, ADMIN)).done
    clusters, _ = await teacher.list_clusters(log, 10)
    assert [c.examples[0] for c in clusters] == ["公积金怎么提取"]


# --- from the shell ---------------------------------------------------------------------------


def _kbbot(kb_dir: Path, db: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = run(
        [*args, "--knowledge", str(kb_dir), "--db", str(db)], stdin=io.StringIO(stdin), out=out
    )
    return code, out.getvalue()


async def _log_one(db: Path, question: str) -> None:
    log = await open_log(db)
    await log.record(QuestionRecord("cli", question, question, False, "suggest"))
    await log.close()


def test_suggest_apply_is_recorded_and_kb_undo_reverts_it(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "log.sqlite3"
    asyncio.run(_log_one(db, "政府的律师楼"))
    original = (kb_dir / WORK).read_bytes()

    code, out = _kbbot(
        kb_dir, db, "suggest", "--since", "1d", "--apply", "law-firms", "--cluster", "1"
    )
    assert code == 0 and "修改记录 #1" in out
    code, out = _kbbot(kb_dir, db, "kb", "history")
    assert (
        code == 0
        and "#1 " in out
        and "命令行（" in out
        and "在「合作律师事务所」加入 1 个问法" in out
    )

    code, out = _kbbot(kb_dir, db, "kb", "undo", stdin="n\n")  # not a terminal: refused
    assert code == 1 and "kbbot kb undo --yes" in capsys.readouterr().err
    assert (kb_dir / WORK).read_bytes() != original
    code, out = _kbbot(kb_dir, db, "kb", "undo", "--yes")
    assert code == 0 and out.startswith("预览：撤销 #1") and "已修改（#2）" in out
    assert (kb_dir / WORK).read_bytes() == original
    code, out = _kbbot(kb_dir, db, "kb", "undo", "--yes")
    assert code == 0 and out.strip() == "没有可以撤销的修改。"
