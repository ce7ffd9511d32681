"""bot.review.suggest and `kbbot suggest`: from unanswered clusters to knowledge-base edits."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
import yaml

from bot.answering.engine import Engine
from bot.cli.main import run
from bot.config import SHIPPED_KNOWLEDGE
from bot.review.report import Cluster, Nearest
from bot.review.suggest import SuggestError, add_questions, new_wordings, round_trip_yaml, suggest
from tests.conftest import FIXTURE_KNOWLEDGE
from tests.review_helpers import NOW, asked, seeded_log

WINDOW = ["--from", "2024-05-01", "--to", "2024-05-15"]


def cluster(
    *examples: str, nearest: Nearest | None = None, taken: tuple[tuple[str, int], ...] = ()
) -> Cluster:
    return Cluster(
        number=1,
        key=examples[0],
        count=len(examples),
        users=1,
        first_asked=NOW,
        last_asked=NOW,
        examples=examples,
        nearest=nearest,
        taken=taken,
    )


@pytest.mark.parametrize(
    "path",
    sorted([*SHIPPED_KNOWLEDGE.glob("*.yaml"), *FIXTURE_KNOWLEDGE.glob("*.yaml")]),
    ids=lambda p: p.name,
)
def test_every_knowledge_file_round_trips_byte_for_byte(path: Path) -> None:
    """What makes an --apply diff only the added lines: the editor rewrites nothing else."""
    rt = round_trip_yaml()
    text = path.read_text(encoding="utf-8")
    out = io.StringIO()
    rt.dump(rt.load(text), out)
    assert out.getvalue() == text


ENTRY_FILE = """\
# yaml-language-server: $schema=./schema.json
# 行政复议的数字。
entries:
  - id: reconsideration-applications
    topic: 行政复议申请数量
    questions:
      - 2019年收到多少行政复议申请  # 最常见的问法
      - 复议申请数量
    # 答案里的数字以报告原文为准
    answer: >-
      2019年共收到行政复议申请29件。
    source: 一、工作情况（二）加强复议机关监督职能
    keywords: [29件]

  - id: court-appearance-rate
    topic: 出庭应诉率
    questions: [负责人出庭应诉率]
    answer: 出庭应诉率达92.3%。
    source: 一、工作情况（三）严格执行出庭应诉规定
"""


def test_adding_questions_keeps_comments_order_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "10-work.yaml"
    path.write_text(ENTRY_FILE, encoding="utf-8")
    text = add_questions(path, "reconsideration-applications", ["复议申请一共几件", "问: 有冒号"])
    expected = ENTRY_FILE.replace(
        "      - 复议申请数量\n",
        "      - 复议申请数量\n      - 复议申请一共几件\n      - '问: 有冒号'\n",
    )
    assert text == expected
    flow = add_questions(path, "court-appearance-rate", ["领导出庭的比例"])
    assert "questions: [负责人出庭应诉率, 领导出庭的比例]" in flow
    assert yaml.safe_load(text)["entries"][0]["questions"][-1] == "问: 有冒号"


def test_adding_to_a_missing_entry_says_so(tmp_path: Path) -> None:
    path = tmp_path / "10-work.yaml"
    path.write_text(ENTRY_FILE, encoding="utf-8")
    with pytest.raises(SuggestError, match="no-such-entry"):
        add_questions(path, "no-such-entry", ["问题"])


def test_new_wordings_skip_known_questions_and_personal_data(engine: Engine) -> None:
    found = new_wordings(
        cluster(
            "复议申请一共几件",
            "复议申请数量",  # already stored in the entry
            "2019年收到多少行政复议申请？",  # the same question once normalised
            "我电话[手机号]，复议申请几件",
            "复议申请一共几件",
        ).examples,
        engine.matcher,
    )
    assert found == ["复议申请一共几件"]


def test_a_cluster_close_to_an_entry_becomes_extra_questions(engine: Engine) -> None:
    near = Nearest("reconsideration-applications", "行政复议申请数量", 0.6, "复议申请数量")
    advice = suggest(cluster("行政复议情况", "复议的情况怎么样", nearest=near), engine.matcher)
    assert advice.action == "add_questions" and advice.entry_id == "reconsideration-applications"
    assert "10-work.yaml" in advice.snippet
    pasted = yaml.safe_load(advice.snippet)
    assert pasted == {"questions": ["行政复议情况", "复议的情况怎么样"]}


def test_the_suggestion_people_picked_wins_over_the_nearest(engine: Engine) -> None:
    near = Nearest("reconsideration-applications", "行政复议申请数量", 0.6, "复议申请数量")
    advice = suggest(
        cluster("复议受理情况", nearest=near, taken=(("reconsideration-acceptance", 3),)),
        engine.matcher,
    )
    assert advice.entry_id == "reconsideration-acceptance" and "3 次" in advice.reason


def test_a_cluster_far_from_everything_becomes_a_new_entry_skeleton(engine: Engine) -> None:
    near = Nearest("law-firms", "合作律师事务所", 0.05, "合作的律师事务所")
    advice = suggest(cluster("护照怎么办理", "怎么办护照", nearest=near), engine.matcher)
    assert advice.action == "new_entry" and advice.entry_id is None and "0.05" in advice.reason
    [entry] = yaml.safe_load(advice.snippet)
    assert entry["questions"] == ["护照怎么办理", "怎么办护照"]
    assert set(entry) == {"id", "topic", "questions", "answer", "source"}


# --- the command -------------------------------------------------------------------------------


async def _seed(db: Path, engine: Engine) -> None:
    log = await seeded_log(
        db,
        [
            asked(engine, "行政复议情况", hours_ago=3),
            asked(engine, "复议的情况怎么样", hours_ago=4),
            asked(engine, "行政复议情况", hours_ago=5),
            asked(engine, "护照怎么办理", hours_ago=6),
        ],
    )
    await log.close()


def call(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return run(argv, out=out), out.getvalue()


def test_suggest_prints_a_snippet_per_cluster_and_the_apply_command(
    kb_dir: Path, tmp_path: Path, engine: Engine
) -> None:
    db = tmp_path / "log.sqlite3"
    asyncio.run(_seed(db, engine))
    status, out = call(["suggest", "--knowledge", str(kb_dir), "--db", str(db), *WINDOW])
    assert status == 0
    assert "=== 第 1 组：3 次" in out and "=== 第 2 组：1 次" in out
    assert (
        "questions:\n      # ……原有的问法……\n      - 行政复议情况\n      - 复议的情况怎么样" in out
    )
    assert (
        "kbbot suggest --apply reconsideration-" in out and "--cluster 1 --from 2024-05-01" in out
    )
    assert "建议：新增条目" in out and "- 护照怎么办理" in out


def test_apply_adds_the_wordings_validates_and_the_bot_then_answers(
    kb_dir: Path, tmp_path: Path, engine: Engine
) -> None:
    db = tmp_path / "log.sqlite3"
    asyncio.run(_seed(db, engine))
    entry_file = kb_dir / "10-work.yaml"
    before = entry_file.read_text(encoding="utf-8")
    assert engine.respond("行政复议情况").kind.value == "suggest"

    status, out = call(
        [
            "suggest",
            "--knowledge",
            str(kb_dir),
            "--db",
            str(db),
            *WINDOW,
            "--apply",
            "reconsideration-applications",
            "--cluster",
            "1",
        ]
    )
    assert status == 0, out
    assert "知识库检查通过" in out and "加入 2 个问法" in out
    after = entry_file.read_text(encoding="utf-8")
    assert after.startswith("# A small knowledge base for tests")  # the comment is still there
    added = "".join(set(after.splitlines(keepends=True)) - set(before.splitlines(keepends=True)))
    assert sorted(added.splitlines()) == ["      - 复议的情况怎么样", "      - 行政复议情况"]
    assert len(after.splitlines()) == len(before.splitlines()) + 2
    reloaded = Engine.from_directory(kb_dir)
    reply = reloaded.respond("行政复议情况")
    assert reply.answered and reply.entry is not None
    assert reply.entry.id == "reconsideration-applications"


def test_apply_refuses_unknown_entries_and_clusters(
    kb_dir: Path, tmp_path: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "log.sqlite3"
    asyncio.run(_seed(db, engine))
    base = ["suggest", "--knowledge", str(kb_dir), "--db", str(db), *WINDOW]
    assert call([*base, "--apply", "law-firm", "--cluster", "1"])[0] == 1
    assert "did you mean law-firms" in capsys.readouterr().err
    assert call([*base, "--apply", "law-firms", "--cluster", "9"])[0] == 1
    assert "no cluster 9" in capsys.readouterr().err
    assert call([*base, "--apply", "law-firms"])[0] == 1
    assert "go together" in capsys.readouterr().err
