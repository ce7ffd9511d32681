"""What a knowledge edit would change, shown before it goes live.

A regression set (the questions the log shows were answered lately, plus a question file with
known answers such as tests/data/dev_questions.yaml) is answered twice: by the engine being
served and by one built on the knowledge base as it would be. Every question whose answer moves
to another entry, or stops being answered, is listed; questions newly answered are counted. So an
admin who adds a wording to an entry sees the three other questions it would steal before
pressing 确认. Pure: engines and question lists in, a `Preview` out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.answering.engine import Engine, Kind, Reply

# Questions replayed at most (the most asked first): about 5 ms each for the two engines.
MAX_REPLAYED = 1500
MAX_LISTED = 25  # moved questions listed by name; the rest are counted
PASSAGE_LABEL = "报告原文"


@dataclass(frozen=True)
class Outcome:
    """How one reply answered: the entries (or report passages) it answered from."""

    answered: bool
    targets: tuple[str, ...]  # entry ids, or "passage:<section>"; empty when not answered
    label: str  # for people: the topics, or why it was not answered

    @classmethod
    def of(cls, reply: Reply) -> Outcome:
        if not reply.answered:
            return cls(False, (), "未回答")
        parts = reply.parts if reply.kind is Kind.MULTI else (reply,)
        targets = tuple(_target(part) for part in parts)
        return cls(True, targets, "、".join(_label(part) for part in parts))


def _target(reply: Reply) -> str:
    if reply.entry is not None:
        return reply.entry.id
    return f"passage:{reply.quote.section if reply.quote else ''}"


def _label(reply: Reply) -> str:
    if reply.entry is not None:
        return f"「{reply.entry.topic}」"
    return PASSAGE_LABEL


@dataclass(frozen=True)
class Change:
    question: str
    before: Outcome
    after: Outcome


@dataclass(frozen=True)
class Preview:
    replayed: int
    newly_answered: tuple[Change, ...]  # of the regression set, not the focus
    moved: tuple[Change, ...]  # answered before, now from another entry or not at all
    focus: tuple[Change, ...]  # the wordings the edit is for (a cluster's), in order

    @property
    def harmless(self) -> bool:
        return not self.moved


def regression_questions(
    logged: Iterable[str], question_file: Path | None, limit: int = MAX_REPLAYED
) -> list[str]:
    """The log's answered questions (most asked first), then the question file's, deduplicated."""
    questions = dict.fromkeys(q.strip() for q in logged if q.strip())
    if question_file is not None:
        questions.update(dict.fromkeys(_file_questions(question_file)))
    return list(questions)[:limit]


def _file_questions(path: Path) -> list[str]:
    """The `q` of each item of a question file in the shared format; unreadable files count as
    empty (the preview says how many questions it replayed)."""
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(items, list):
        return []
    return [str(i["q"]).strip() for i in items if isinstance(i, dict) and str(i.get("q", ""))]


def compare(
    current: Engine, candidate: Engine, questions: Sequence[str], focus: Sequence[str] = ()
) -> Preview:
    """Answer `questions` (and the `focus` wordings) with both engines and sort the differences.

    CPU-bound (a few seconds for a full regression set): async callers run it in a thread.
    """
    seen: set[str] = set()
    newly: list[Change] = []
    moved: list[Change] = []
    focused: list[Change] = []
    for question in [*focus, *questions]:
        if question in seen:
            continue
        seen.add(question)
        change = Change(
            question,
            Outcome.of(current.respond(question)),
            Outcome.of(candidate.respond(question)),
        )
        if question in focus:  # shown on their own, not among the side effects
            focused.append(change)
            continue
        if change.before.targets == change.after.targets:
            continue
        if not change.before.answered:
            newly.append(change)
        else:
            moved.append(change)
    return Preview(len(seen), tuple(newly), tuple(moved), tuple(focused))


def format_preview(preview: Preview, what: str, *, listed: int = MAX_LISTED) -> str:
    """The preview for an admin: what the edit is, then what it would change. Plain text."""
    lines = [what, ""]
    if preview.focus:
        answered = sum(1 for c in preview.focus if c.after.answered)
        lines.append(f"这组问法里，改后有 {answered}/{len(preview.focus)} 个会直接得到回答：")
        lines.extend(f"· {c.question} → {c.after.label}" for c in preview.focus[:listed])
        lines.append("")
    lines.append(
        f"用 {preview.replayed} 个问题回放检验（最近 90 天答过的问题和开发问题集）："
        f"新增回答 {len(preview.newly_answered)} 个，答案会变的 {len(preview.moved)} 个。"
    )
    if preview.moved:
        lines.append("答案会变的问题（请逐条确认是不是想要的）：")
        for change in preview.moved[:listed]:
            lines.append(f"· {change.question}：{change.before.label} → {change.after.label}")
        if len(preview.moved) > listed:
            lines.append(f"……另有 {len(preview.moved) - listed} 个")
    else:
        lines.append("没有哪个已经答对的问题会改变答案。")
    return "\n".join(lines)
