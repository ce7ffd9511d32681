"""Knowledge bases of several reports side by side, built for the tests from report texts.

Two layouts, both as an admin would make them with `kbbot kb draft`:
- `drafted`: the shared files at the top (replies, channels, synonyms, glossary, schema) and a
  folder per report, each drafted from its text: 2019/ from the shipped 2019 report, 2020/
  from the synthetic 2020 report written for these tests (tests/fixtures/reports/).
- `beside`: the shipped, hand-written knowledge base as it is (its report at the top), with
  2020/ drafted beside it: how a deployment adds next year's report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.authoring.draft import TEMPLATE_FILES, template_text, write_draft
from bot.config import SHIPPED_KNOWLEDGE

REPORT_2019 = SHIPPED_KNOWLEDGE / "report.txt"
REPORT_2020 = Path(__file__).parent / "fixtures" / "reports" / "report-2020.txt"


def drafted(target: Path) -> Path:
    """`target` holding the shared files and 2019/ and 2020/, each drafted from its report."""
    target.mkdir(parents=True)
    for name in TEMPLATE_FILES:
        text = (SHIPPED_KNOWLEDGE / name).read_text(encoding="utf-8")
        (target / name).write_text(template_text(name, text), encoding="utf-8")
    write_draft(REPORT_2019, target / "2019", SHIPPED_KNOWLEDGE)
    write_draft(REPORT_2020, target / "2020", SHIPPED_KNOWLEDGE)
    return target


def beside(target: Path) -> Path:
    """`target` holding the shipped knowledge base, with 2020/ drafted beside its report."""
    shutil.copytree(SHIPPED_KNOWLEDGE, target)
    write_draft(REPORT_2020, target / "2020", SHIPPED_KNOWLEDGE)
    return target
