"""The report itself, as the knowledge base's source document.

The knowledge base ships the report's text (`knowledge/report.txt`) beside the entries, so that
each entry can name the passage it rests on and `kbbot kb check` can prove the passage is really
in the report, and so that a question no entry fits can still be answered with the report's own
sentence. This module cuts the text into its metadata table, its outline (一、 / （一）) and its
sentences, each sentence labelled with its section the way entries write `source`.
Pure: no Telegram, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPORT_FILE = "report.txt"
METADATA_SECTION = "文件信息"
PREAMBLE_SECTION = "报告导语"
# A chapter's heading at the start of a section's: 一、工作情况 of 一、工作情况（二）加强….
_CHAPTER_HEAD_RE = re.compile(r"^[一二三四五六七八九十]+、[^（(]+")


def chapter_of(section: str) -> str:
    """The chapter a section belongs to: 一、工作情况（二）加强… -> 一、工作情况; a chapter's
    own heading (二、存在问题), or any other, is its own chapter."""
    match = _CHAPTER_HEAD_RE.match(section)
    return match[0].strip() if match else section


def short_section(section: str) -> str:
    """A section's own heading, without the chapter before it: 一、工作情况（二）加强复议机关监督职能
    -> 加强复议机关监督职能; 二、存在问题 -> 存在问题."""
    heading = re.split(r"[）)]", section, maxsplit=1)[-1] if "（" in section else section
    return re.sub(r"^[一二三四五六七八九十]+、", "", heading)


_CHAPTER_RE = re.compile(r"^([一二三四五六七八九十]+)、\s*(.+?)\s*$")
_SECTION_RE = re.compile(r"^[(（]([一二三四五六七八九十]+)[)）]\s*(.+)$")
# A sentence ends at 。！？ or at a semicolon that separates list items.
_SENTENCE_RE = re.compile(r"[^。！？!?；;]+[。！？!?；;]?")


def fold(text: str) -> str:
    """The form passages are compared in: width-folded (NFKC), without whitespace.

    The report mixes ASCII and full-width punctuation ("(一)", "2019年以来,区政府"); an admin
    who types the same sentence with Chinese punctuation is still quoting it verbatim.
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class Sentence:
    """One sentence (or semicolon-separated item) of the report, verbatim, with its section."""

    text: str
    section: str


@dataclass(frozen=True)
class SourceDocument:
    """The report: its metadata table, its sections in order and its sentences."""

    title: str
    metadata: dict[str, str]
    sentences: tuple[Sentence, ...]
    text: str = ""
    path: str = ""
    _flat: str = field(init=False, repr=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "_flat", fold(self.text))

    @property
    def sections(self) -> list[str]:
        """Section labels in report order, each once."""
        return list(dict.fromkeys(sentence.section for sentence in self.sentences))

    def contains(self, passage: str) -> bool:
        """Whether `passage` occurs in the report (whitespace and width folded)."""
        folded = fold(passage)
        return bool(folded) and folded in self._flat

    def metadata_passage(self, key: str) -> str | None:
        """The metadata cell as a passage (`发文日期|2020-01-25 17:00`), if the table has it."""
        value = self.metadata.get(key)
        return f"{key}|{value}" if value is not None else None


def parse_document(text: str, path: str = "") -> SourceDocument:
    """Cut the report's plain text into metadata, title and sectioned sentences.

    The layout is the one government portals publish: a `key | value |` table, the title on a
    line of its own, a preamble, then chapters (一、) holding numbered sections ((一)); a section
    heading may stand alone on its line or open a paragraph and end at the first 。.
    """
    metadata: dict[str, str] = {}
    title = ""
    chapter = ""
    section = PREAMBLE_SECTION
    sentences: list[Sentence] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or set(line) <= set("-|: "):
            continue
        if "|" in line:
            metadata.update(_table_cells(line))
            continue
        if not title and not sentences and "。" not in line:
            title = line  # the heading line above the preamble
            continue
        if line.rstrip(":：") == "附件":  # the attachment list ends the body
            break
        if chapter_match := _CHAPTER_RE.match(line):
            chapter = f"{chapter_match.group(1)}、{chapter_match.group(2)}"
            section = chapter
            continue
        if chapter and (section_match := _SECTION_RE.match(line)):
            number, rest = section_match.groups()
            heading, stop, body = rest.partition("。")
            section = f"{chapter}（{number}）{heading.strip()}"
            if not stop:
                continue
            line = body
        sentences.extend(Sentence(s, section) for s in _split_sentences(line))
    title = metadata.get("标题", title)
    return SourceDocument(title, metadata, tuple(sentences), text, path)


def load_document(directory: Path) -> SourceDocument | None:
    """The report shipped in `directory`, or None when the knowledge base has none."""
    path = directory / REPORT_FILE
    if not path.is_file():
        return None
    return parse_document(path.read_text(encoding="utf-8"), str(path))


def _table_cells(line: str) -> Iterator[tuple[str, str]]:
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    for key, value in zip(cells[::2], cells[1::2], strict=False):
        if key:
            yield re.sub(r"\s+", "", key), value


def _split_sentences(paragraph: str) -> Iterator[str]:
    for match in _SENTENCE_RE.finditer(paragraph):
        sentence = match.group(0).strip()
        if sentence.strip("。！？!?；;,，:："):
            yield sentence
