"""Knowledge edits: planned without touching the disk, checked like `kbbot kb check`, written
only over the text they were planned on, and reverted byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering.knowledge import KnowledgeError, load_knowledge
from bot.authoring.kbedit import (
    EditError,
    StaleEdit,
    plan_questions,
    plan_synonym,
    tracked_files,
    validate,
    write,
)

WORK = "10-work.yaml"


def test_a_planned_edit_changes_nothing_until_written(kb_dir: Path) -> None:
    before = (kb_dir / WORK).read_bytes()
    change = plan_questions(
        kb_dir,
        load_knowledge(kb_dir),
        "law-firms",
        ["签约律所名单"],
        "在「合作律师事务所」加入 1 个问法",
    )
    assert (kb_dir / WORK).read_bytes() == before
    assert change.file == WORK and change.before == before.decode()
    assert change.after is not None and "      - 签约律所名单\n" in change.after
    kb = validate(kb_dir, [change])
    assert "签约律所名单" in kb.by_id["law-firms"].questions
    assert kb.by_id["law-firms"].file == str(kb_dir / WORK)  # entries point at the real folder
    write(kb_dir, change)
    assert (kb_dir / WORK).read_text(encoding="utf-8") == change.after
    write(kb_dir, change.reverted("撤销"))
    assert (kb_dir / WORK).read_bytes() == before


def test_an_edit_that_breaks_the_base_is_refused_before_writing(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir)
    # The same wording already belongs to another entry: kb check refuses duplicates.
    change = plan_questions(kb_dir, kb, "law-firms", ["复议申请数量"], "x")
    with pytest.raises(KnowledgeError):
        validate(kb_dir, [change])
    assert tracked_files(kb_dir)[WORK] == change.before


def test_a_file_saved_after_planning_is_not_overwritten(kb_dir: Path) -> None:
    change = plan_questions(kb_dir, load_knowledge(kb_dir), "law-firms", ["律所有哪些"], "x")
    (kb_dir / WORK).write_text(change.before + "# 另一位管理员的修改\n", encoding="utf-8")
    with pytest.raises(StaleEdit):
        write(kb_dir, change)
    assert (kb_dir / WORK).read_text(encoding="utf-8").endswith("# 另一位管理员的修改\n")


def test_a_synonym_joins_its_group_in_flow_style(kb_dir: Path) -> None:
    change = plan_synonym(kb_dir, "律师事务所", "律师楼", "同义词")
    assert change.after is not None and "  律师事务所: [律所, 律师楼]\n" in change.after
    new_group = plan_synonym(kb_dir, "出庭应诉", "出庭", "同义词")
    assert new_group.after is not None and new_group.after.endswith("  出庭应诉: [出庭]\n")
    assert validate(kb_dir, [change]).synonyms["律师楼"] == "律师事务所"
    with pytest.raises(EditError, match="已经是"):
        plan_synonym(kb_dir, "律师事务所", "律所", "同义词")


def test_an_entry_that_is_gone_cannot_be_edited(kb_dir: Path) -> None:
    with pytest.raises(EditError, match="没有这个条目"):
        plan_questions(kb_dir, load_knowledge(kb_dir), "no-such-entry", ["问题"], "x")
