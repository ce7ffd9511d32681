"""The shared grader's rules (../shared/eval/grade.py), for tests and benchmarks in-process.

A reply to an answerable question is right when it is answered and holds every `must` string
and one `any` string (traditional folded to simplified, whitespace removed); a question that
expects none is right when it is not answered. "Wrong" counts confident answers that are wrong.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.answering.text import to_simplified

ANSWERABLE = ("direct", "para", "typo", "trad", "kw")


def load_set(path: Path) -> list[dict[str, Any]]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(items, list)
    return items


def _flat(text: object) -> str:
    return re.sub(r"\s+", "", to_simplified(str(text)))


def is_right(item: Mapping[str, Any], answered: bool, answer: str) -> bool:
    if item["expect"] == "none":
        return not answered
    text = _flat(answer)
    must = [_flat(m) for m in item.get("must", [])]
    anys = [_flat(a) for a in item.get("any", [])]
    return answered and all(m in text for m in must) and (not anys or any(a in text for a in anys))


@dataclass
class Grades:
    right: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    wrong: int = 0
    failures: list[str] = field(default_factory=list)

    def rate(self, *cats: str) -> float:
        total = sum(self.total[c] for c in cats)
        return sum(self.right[c] for c in cats) / total if total else 1.0

    @property
    def answerable(self) -> float:
        return self.rate(*ANSWERABLE)

    @property
    def wrong_share(self) -> float:
        return self.wrong / max(sum(self.total.values()), 1)


def grade(items: Iterable[Mapping[str, Any]], answer: Callable[[str], tuple[bool, str]]) -> Grades:
    """Grade `answer` (question -> (answered, reply text)) on `items`."""
    grades = Grades()
    for item in items:
        answered, text = answer(str(item["q"]))
        ok = is_right(item, answered, text)
        cat = str(item.get("cat", "direct"))
        grades.total[cat] += 1
        grades.right[cat] += ok
        grades.wrong += answered and not ok
        if not ok:
            grades.failures.append(f"[{cat}] {item['q']} -> {text[:60]}")
    return grades
