"""The history of the knowledge files: who changed what, when, and the text before and after.

Edits made through the admin loop (Telegram or `kbbot suggest --apply`) are recorded as they
are written; an admin's hand edit of a file is noticed the next time the knowledge base is
loaded (`note_hand_edits`) and recorded as such, so `/undo` and `kbbot kb undo` can revert any
of them, newest first. The records live in the question log's database (bot.questionlog.protocol).
"""

from __future__ import annotations

import asyncio
import difflib
import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.authoring import kbedit
from bot.authoring.kbedit import FileChange, tracked_files
from bot.questionlog.protocol import KnowledgeChange, QuestionLog
from bot.review.report import REPORT_TZ

HAND_EDIT = "手工编辑"
MAX_HISTORY = 50


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an admin in Telegram (with the keyed hash of their id) or the shell."""

    name: str
    hash: str | None = None

    @classmethod
    def shell(cls) -> Actor:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
            user = "?"
        return cls(f"命令行（{user}）")


def folder_key(folder: Path) -> str:
    """How the log names a knowledge folder: several bots (or reports) may share one log."""
    return str(folder.resolve())


async def commit(
    qlog: QuestionLog,
    folder: Path,
    change: FileChange,
    actor: Actor,
    *,
    undoes: int | None = None,
) -> KnowledgeChange:
    """Check the knowledge base as `change` would leave it, then write and record the change
    together (`QuestionLog.record_change`). On any error nothing is written or recorded.

    Raises:
        KnowledgeError: the changed base would not pass `kbbot kb check`.
        StaleEdit: the file was saved by someone else after the change was planned.
        OSError: the file could not be written.
    """
    await asyncio.to_thread(kbedit.validate, folder, [change])
    # Hand edits since the files were last seen come first, so undo reverts in the right order
    # (and a folder's first recorded change finds its other files already known).
    await note_hand_edits(qlog, folder)

    async def write() -> None:
        await asyncio.to_thread(kbedit.write, folder, change)

    draft = KnowledgeChange(
        id=0,
        changed_at=datetime.now(UTC),
        folder=folder_key(folder),
        file=change.file,
        action=change.action,
        summary=change.summary,
        entry_id=change.entry_id,
        actor_hash=actor.hash,
        actor_name=actor.name,
        before=change.before,
        after=change.after,
        undoes=undoes,
    )
    return await qlog.record_change(draft, write)


async def note_hand_edits(qlog: QuestionLog, folder: Path) -> list[KnowledgeChange]:
    """Record every knowledge file that differs from its last recorded text as a hand edit.

    Call after the knowledge base loaded cleanly (start, reload): a broken save is not live, and
    is recorded once it is fixed. The first call for a folder only remembers its files.
    """
    current = tracked_files(folder)
    return await qlog.note_files(folder_key(folder), current, HAND_EDIT, describe_edit)


def describe_edit(before: str | None, after: str | None) -> str:
    """A hand edit in a few words: added, deleted, or how many lines changed."""
    if before is None:
        return "新增了这个文件"
    if after is None:
        return "删除了这个文件"
    added = removed = 0
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        added += line.startswith("+ ")
        removed += line.startswith("- ")
    return f"直接修改了文件（增加 {added} 行，删除 {removed} 行）"


def revert_of(change: KnowledgeChange) -> FileChange:
    """The edit that undoes `change`: its file put back byte for byte."""
    return FileChange(
        file=change.file,
        action="undo",
        summary=f"撤销 #{change.id}（{change.summary}）",
        before=change.after,
        after=change.before,
        entry_id=change.entry_id,
    )


def format_history(changes: Sequence[KnowledgeChange], undo_hint: str) -> str:
    """/history and `kbbot kb history`: the latest changes, newest first. Plain text."""
    if not changes:
        return "知识库还没有修改记录。"
    lines = ["知识库最近的修改（最新在前）："]
    for change in changes:
        when = change.changed_at.astimezone(REPORT_TZ).strftime("%m-%d %H:%M")
        done = "（已撤销）" if change.undone_by is not None else ""
        lines.append(
            f"#{change.id} {when} {change.actor_name}：{change.summary}（{change.file}）{done}"
        )
    lines.append(undo_hint)
    return "\n".join(lines)
