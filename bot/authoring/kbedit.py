"""Edits of the knowledge files that admins make from Telegram or the shell, made safely.

A `FileChange` is the whole text of one file before and after, planned without touching the
disk. `validate` loads the knowledge folder as it would be (a scratch copy with the change in
it) exactly as `kbbot kb check` does, so a change that would break the base is refused before
anything is written. `write` replaces the file in one step, and only if it still holds the text
the change was planned on: an admin who previewed an edit never overwrites someone else's save.
Pure file work: no Telegram, no database.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.answering.document import REPORT_FILE
from bot.answering.knowledge import (
    SYNONYMS_FILE,
    Entry,
    KnowledgeBase,
    KnowledgeError,
    Problem,
    knowledge_files,
    load_knowledge,
)
from bot.review.suggest import add_questions, round_trip_yaml, write_atomically


class EditError(Exception):
    """An edit that cannot be made; the message (Chinese, for admins) says why."""


class StaleEdit(EditError):
    """The file changed after the edit was planned."""


@dataclass(frozen=True)
class FileChange:
    """One knowledge file's text before and after an edit (None: the file does not exist)."""

    file: str  # the file's name inside the knowledge folder
    action: str  # add_questions | add_synonym | hand_edit | undo
    summary: str  # one line for people, in Chinese
    before: str | None
    after: str | None
    entry_id: str | None = None

    def reverted(self, summary: str) -> FileChange:
        """The change that puts the file back as it was before this one."""
        return replace(self, action="undo", summary=summary, before=self.after, after=self.before)


def tracked_files(folder: Path) -> dict[str, str]:
    """The text of every file the knowledge base is loaded from, by its name inside `folder`
    (`2020/10-work.yaml` for a file of a report in a folder of its own)."""
    if not folder.is_dir():
        return {}
    texts = _folder_texts(folder, "")
    for inner in sorted(folder.iterdir()):
        if not inner.name.startswith(".") and (inner / REPORT_FILE).is_file():
            texts.update(_folder_texts(inner, f"{inner.name}/"))
    return texts


def _folder_texts(folder: Path, prefix: str) -> dict[str, str]:
    paths = [*knowledge_files(folder)]
    report = folder / REPORT_FILE
    if report.is_file():
        paths.append(report)
    return {f"{prefix}{path.name}": path.read_text(encoding="utf-8") for path in paths}


def entry_file(kb: KnowledgeBase, entry: Entry) -> str:
    """The name of the file holding `entry`, inside the knowledge folder."""
    part = kb.report(entry.report) if entry.report else None
    name = Path(entry.file).name
    return f"{part.folder}/{name}" if part is not None and part.folder else name


def read_file(folder: Path, name: str) -> str | None:
    try:
        return (folder / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def plan_questions(
    folder: Path, kb: KnowledgeBase, entry_id: str, wordings: Sequence[str], summary: str
) -> FileChange:
    """Add `wordings` to entry `entry_id`'s questions, comments and layout kept."""
    entry = kb.by_id.get(entry_id)
    if entry is None:
        raise EditError(f"知识库里已经没有这个条目（{entry_id}），请重新打开列表")
    name = entry_file(kb, entry)
    before = read_file(folder, name)
    if before is None:
        raise EditError(f"找不到条目所在的文件 {name}")
    after = add_questions(folder / name, entry.local_id, wordings)
    return FileChange(name, "add_questions", summary, before, after, entry_id)


def plan_synonym(folder: Path, canonical: str, variant: str, summary: str) -> FileChange:
    """Add `variant` as another way of saying `canonical` in synonyms.yaml."""
    before = read_file(folder, SYNONYMS_FILE)
    if before is None:
        raise EditError(f"知识库里没有 {SYNONYMS_FILE}")
    rt = round_trip_yaml()
    data: Any = rt.load(before)
    groups = data.get("synonyms") if isinstance(data, CommentedMap) else None
    if not isinstance(groups, CommentedMap):
        raise EditError(f"{SYNONYMS_FILE} 的格式不对，请先用 kbbot kb check 修好")
    variants = groups.get(canonical)
    if variants is None:
        added = CommentedSeq([variant])
        added.fa.set_flow_style()
        groups[canonical] = added
    elif isinstance(variants, CommentedSeq):
        if variant in variants:
            raise EditError(f"`{variant}` 已经是 `{canonical}` 的同义说法")
        variants.append(variant)
    else:
        raise EditError(f"{SYNONYMS_FILE} 里 `{canonical}` 的同义说法不是列表")
    out = io.StringIO()
    rt.dump(data, out)
    return FileChange(SYNONYMS_FILE, "add_synonym", summary, before, out.getvalue())


def validate(folder: Path, changes: Sequence[FileChange]) -> KnowledgeBase:
    """The knowledge base as it would be with `changes`, checked as `kbbot kb check` checks.

    Raises:
        KnowledgeError: the changed base has errors (nothing was written).
    """
    with tempfile.TemporaryDirectory(prefix="kbbot-edit-") as scratch:
        copy = Path(scratch) / "knowledge"
        copy.mkdir()
        for name, text in _with_changes(tracked_files(folder), changes).items():
            (copy / name).parent.mkdir(exist_ok=True)
            (copy / name).write_text(text, encoding="utf-8")
        kb = load_knowledge(copy)
    # Entries name the file they came from: point them back at the real folder.
    return _relocated(kb, copy, folder)


def _with_changes(texts: Mapping[str, str], changes: Sequence[FileChange]) -> dict[str, str]:
    result = dict(texts)
    for change in changes:
        if change.after is None:
            result.pop(change.file, None)
        else:
            result[change.file] = change.after
    return result


def _relocated(kb: KnowledgeBase, scratch: Path, folder: Path) -> KnowledgeBase:
    def moved(file: str) -> str:
        path = Path(file)
        if path.parent == scratch:
            return str(folder / path.name)
        if path.parent.parent == scratch:  # a report's folder
            return str(folder / path.parent.name / path.name)
        return file

    def relocated(part_kb: KnowledgeBase) -> KnowledgeBase:
        entries = tuple(replace(entry, file=moved(entry.file)) for entry in part_kb.entries)
        warnings = tuple(replace(p, file=moved(p.file)) for p in part_kb.warnings)
        return replace(part_kb, entries=entries, warnings=warnings)

    reports = tuple(replace(part, kb=relocated(part.kb)) for part in kb.reports)
    return replace(relocated(kb), reports=reports)


def write(folder: Path, change: FileChange) -> None:
    """Put `change` on disk, if the file still holds the text it was planned on.

    Raises:
        StaleEdit: the file was saved by someone else since (nothing written).
    """
    current = read_file(folder, change.file)
    if current != change.before:
        raise StaleEdit(f"{change.file} 在预览之后被改过了（可能是另一位管理员），请重新预览")
    path = folder / change.file
    if change.after is None:
        path.unlink(missing_ok=True)
    else:
        write_atomically(path, change.after)


def errors_of(exc: KnowledgeError) -> list[Problem]:
    return [p for p in exc.problems if p.severity == "error"]
