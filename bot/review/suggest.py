"""Closing the loop: turn unanswered clusters into knowledge-base edits.

For each cluster, either its wordings become extra `questions` of an existing entry (the report
answers it; people just asked in words the entry did not list) or they seed a new entry's
skeleton (nothing in the knowledge base is close). `add_questions` makes the first kind of edit
in place: a round-trip YAML edit (ruamel.yaml) that keeps the file's comments, order, quoting
and layout, so the diff an admin reviews is only the added lines.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from bot.answering.matcher import Matcher
from bot.privacy import PLACEHOLDERS
from bot.review.report import Cluster

MAX_WORDINGS = 8
MAX_WORDING_CHARS = 60

Action = Literal["add_questions", "new_entry"]


class SuggestError(Exception):
    """An edit that cannot be made; the message says what to do instead."""


@dataclass(frozen=True)
class Suggestion:
    """What to do about one cluster, with the YAML to paste."""

    cluster: Cluster
    action: Action
    entry_id: str | None  # the entry to extend (add_questions)
    score: float | None  # the nearest entry's score
    reason: str
    wordings: tuple[str, ...]  # wordings worth adding: new to the knowledge base, no personal data
    snippet: str


def new_wordings(examples: Sequence[str], matcher: Matcher, limit: int = MAX_WORDINGS) -> list[str]:
    """A cluster's wordings (`examples`) that would teach the knowledge base something.

    Left out: wordings with masked personal data, over-long ones, and any whose normalised form
    some entry already lists (`kb check` rejects the same question under two entries).
    """
    known = {matcher.normalise(q) for entry in matcher.kb.entries for q in entry.questions}
    picked: list[str] = []
    for wording in examples:
        text = " ".join(wording.split())
        norm = matcher.normalise(text)
        if (
            not norm
            or norm in known
            or len(text) > MAX_WORDING_CHARS
            or any(placeholder in text for placeholder in PLACEHOLDERS)
        ):
            continue
        known.add(norm)
        picked.append(text)
        if len(picked) >= limit:
            break
    return picked


def suggest(cluster: Cluster, matcher: Matcher) -> Suggestion:
    """Decide add-to-entry or new-entry for one cluster and write the snippet.

    The target entry is the suggestion people picked most often from this cluster (they told
    us what they meant), else the nearest entry when the matcher is at least confident enough
    to suggest it; otherwise nothing in the knowledge base is close: a new entry.
    """
    wordings = new_wordings(cluster.examples, matcher)
    nearest = cluster.nearest
    score = nearest.score if nearest else None
    target: str | None = None
    if cluster.taken and cluster.taken[0][0] in matcher.kb.by_id:
        target, times = cluster.taken[0]
        reason = f"有 {times} 次提问者从建议里选了这个条目"
    elif nearest is not None and nearest.score >= matcher.model.suggest_at:
        target = nearest.entry_id
        reason = (
            f"最接近的条目置信度 {nearest.score:.2f}（≥ 建议线 {matcher.model.suggest_at:.2f}）"
        )
    else:
        reason = (
            f"最接近的条目置信度只有 {score:.2f}（< 建议线 {matcher.model.suggest_at:.2f}）"
            if score is not None
            else "知识库里没有任何相近的条目"
        )
    if target is not None:
        entry = matcher.kb.by_id[target]
        snippet = _questions_snippet(target, f"{entry.file}:{entry.line}", wordings)
        return Suggestion(cluster, "add_questions", target, score, reason, tuple(wordings), snippet)
    snippet = _entry_snippet(cluster, wordings)
    return Suggestion(cluster, "new_entry", None, score, reason, tuple(wordings), snippet)


def _yaml_items(wordings: Sequence[str], indent: int) -> list[str]:
    """Each wording as a YAML list item, quoted only when YAML needs it."""
    lines = []
    for wording in wordings:
        item = yaml.safe_dump([wording], allow_unicode=True, width=10_000).rstrip("\n")
        lines.append(" " * indent + item)
    return lines


def _questions_snippet(entry_id: str, where: str, wordings: Sequence[str]) -> str:
    if not wordings:
        return f"# 这些问法在知识库里都已经有了（或含有已隐去的个人信息），条目 {entry_id} 不用改\n"
    lines = [
        f"# 条目 {entry_id}（{where}）：把下面几行加到它的 questions 列表末尾",
        "    questions:",
        "      # ……原有的问法……",
        *_yaml_items(wordings, 6),
    ]
    return "\n".join(lines) + "\n"


def _entry_snippet(cluster: Cluster, wordings: Sequence[str]) -> str:
    questions = wordings or [cluster.examples[0]]
    lines = [
        "# 新条目：补全 TODO 后放进合适的 knowledge/NN-*.yaml 的 entries 下面，再运行 kbbot kb check",
        "# 报告里确实没有这方面的内容时，不要新增条目（机器人会如实回答“报告里没有”）",
        "  - id: todo-new-entry  # 小写英文和连字符，例如 passport-application",
        "    topic: TODO",
        "    questions:",
        *_yaml_items(questions, 6),
        "    answer: TODO 报告原文的要点",
        "    source: TODO 报告章节，例如 一、工作情况（九）提升法律顾问效能",
    ]
    return "\n".join(lines) + "\n"


# --- editing an entry file in place ------------------------------------------------------------


def round_trip_yaml() -> YAML:
    """A ruamel.yaml set up to write our files back byte for byte (checked by the tests)."""
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap long answers
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def add_questions(path: Path, entry_id: str, wordings: Sequence[str]) -> str:
    """`path`'s text with `wordings` appended to entry `entry_id`'s questions (not written).

    Raises:
        SuggestError: the file does not hold that entry, or its questions are not a list.
    """
    rt = round_trip_yaml()
    data: Any = rt.load(path.read_text(encoding="utf-8"))
    entries = data.get("entries") if isinstance(data, CommentedMap) else None
    entry = next(
        (e for e in entries or () if isinstance(e, CommentedMap) and e.get("id") == entry_id),
        None,
    )
    if entry is None:
        raise SuggestError(f"{path} 里没有 id 为 {entry_id} 的条目")
    questions = entry.get("questions")
    if not isinstance(questions, CommentedSeq):
        raise SuggestError(
            f"{path}: 条目 {entry_id} 的 questions 不是列表，请先用 kbbot kb check 修好"
        )
    _append_keeping_comments(questions, wordings)
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _append_keeping_comments(seq: CommentedSeq, items: Sequence[str]) -> None:
    """Append to a block list without moving the comments that follow it.

    ruamel.yaml attaches the comment lines after a list (often about the next key: "# 答案要
    简短") to its last item; appended items would land below them. Keep the old last item's
    end-of-line comment where it is and move the lines after it to the new last item.
    """
    if not items:
        return
    last = len(seq) - 1
    tokens = seq.ca.items.get(last)
    following = ""
    if tokens and isinstance(tokens[0], CommentToken):
        value = str(tokens[0].value)
        cut = value.find("\n") + 1
        own, following = (value[:cut], value[cut:]) if cut else (value, "")
        if own.strip():
            tokens[0].value = own
        else:
            tokens[0] = None
            if not any(tokens):
                del seq.ca.items[last]
    for item in items:
        seq.append(item)
    if following:
        seq.ca.items[len(seq) - 1] = [
            CommentToken("\n" + following, CommentMark(0), None),
            None,
            None,
            None,
        ]


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step (keeping its mode): a bot reloading it never sees half a file."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(name, mode)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
