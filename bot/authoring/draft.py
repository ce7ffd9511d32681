"""A draft knowledge base from a report's text: next year's report answered the same day.

`draft_report` reads a report in the layout government portals publish (bot/answering/document.py: a
metadata table, the title, chapters 一、 holding sections （一）) and writes an entry for each fact
people ask about: every clause with a figure (a count, a percentage, a change), a named document
(《…》), and every sentence of the problems and plans chapters, plus a summary entry per section
and the document's own metadata. Each entry quotes its sentence verbatim (`passage`), names its
section (`source`), states the clause with its subject (`answer`), and gets keywords and question
phrasings built from the fact's structure: what is counted and by which verb, which rate, which
document, which problem or plan. Every entry is marked `draft: true` until an admin reviews it.

No language model and nothing from the network: the report's own outline, patterns for numbers,
units and titles, and the segmenter's part-of-speech tags. Pure: text in, entries out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import rjieba
import yaml

from bot.answering.document import (
    PREAMBLE_SECTION,
    REPORT_FILE,
    Sentence,
    SourceDocument,
    parse_document,
)
from bot.answering.knowledge import REPLIES_FILE, KnowledgeError, load_knowledge, load_synonyms
from bot.answering.text import Normaliser

MAX_TOPIC = 16
MAX_SUBJECT = 12
MAX_ANSWER = 160
SHORT_CHAPTER = 4  # sentences

# A figure: a number (Arabic or Chinese) with a unit, or a percentage.
_NUMBER = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千万]+)"
_UNIT = r"(?:余)?(?:人次|件|个|家|名|人|次|项|卷|条|所|位|场|期|批|户|万元|元)"
_FIGURE_RE = re.compile(rf"{_NUMBER}(?:%|{_UNIT}(?:余)?)")
_DATE_RE = re.compile(r"\d{4}年(?:\d{1,2}月)?")
_TITLE_RE = re.compile(r"《([^》]{2,60})》")
_CLAUSE_RE = re.compile(r"[^,，;；:：]+")
_CLASSIFIERS = frozenset("个家名项所位户批条")
# Words before a figure that say how, not what: dropped from the subject.
_LEADING = (
    "其中",
    "全年",
    "累计",
    "共计",
    "共",
    "合计",
    "总计",
    "全区",
    "我区",
    "江汉区",
    "本年度",
    "同时",
    "并",
    "已",
    "达到",
    "达",
    "为",
    "有",
    "由过去的",
    "由",
    "从",
    "比",
    "较",
    "同比",
)
# Verbs that say what was done to what is counted (收到 29 件 …申请).
_VERBS = (
    "不予受理",
    "受理",
    "收到",
    "办理",
    "审核",
    "换发",
    "制发",
    "印发",
    "抽取",
    "聘任",
    "聘请",
    "签署",
    "交流",
    "举办",
    "举行",
    "召开",
    "开展",
    "组织",
    "培训",
    "处理",
    "办结",
    "化解",
    "调解",
    "审查",
    "评查",
    "清理",
    "取消",
    "增加到",
    "提高到",
    "减少",
    "增加",
    "下降",
    "上升",
    "提高",
    "实现",
    "完成",
)
_SHARES = ("占比", "比例", "比重", "增幅", "降幅")
_CHANGE_WORDS = ("减少", "下降", "增加", "上升", "提高", "增长", "降低")
_PROBLEMS_RE = re.compile(r"问题|不足|短板")
_PLANS_RE = re.compile(r"打算|计划|下步|下一步|明年|思路")


@dataclass
class DraftEntry:
    id: str
    topic: str
    questions: list[str]
    answer: str
    source: str
    passage: list[str]
    keywords: list[str] = field(default_factory=list)


@dataclass
class DraftFile:
    """One YAML file of the draft: a section of the report's outline, in order."""

    name: str
    heading: str
    entries: list[DraftEntry]


@dataclass(frozen=True)
class _Figure:
    text: str  # as written: 29件, 75.86%, 300余人次
    unit: str  # 件, %, 人次 ...
    subject: str  # what is counted or measured: 行政复议申请
    verb: str  # what was done to it: 收到
    change: str  # 减少 / 下降 ... when the figure is a change


def draft_report(text: str, normalise: Callable[[str], str] | None = None) -> list[DraftFile]:
    """The draft knowledge base for a report's plain text (see the module docstring).

    Args:
        normalise: how the knowledge base will normalise questions (its synonyms), so that no
            two questions that read the same are kept (`kb check` allows one owner each).
    """
    document = parse_document(text)
    files = [_document_file(document)]
    by_section: dict[str, list[Sentence]] = {}
    for sentence in document.sentences:
        by_section.setdefault(sentence.section, []).append(sentence)
    chapters: dict[str, list[Sentence]] = {}
    for number, (section, sentences) in enumerate(by_section.items(), start=1):
        if section == PREAMBLE_SECTION:
            files[0].entries.append(_preamble_entry(sentences))
            continue
        chapter = _chapter_of(section)
        if chapter != section:
            chapters.setdefault(chapter, []).append(sentences[0])
        files.append(_section_file(number, section, sentences))
    for number, (chapter, sections) in enumerate(chapters.items(), start=1):
        files[0].entries.append(_chapter_entry(number, chapter, sections))
    _keep_questions_unique(files, normalise or _plain)
    return files


def _plain(question: str) -> str:
    return re.sub(r"\W", "", question)


def _chapter_of(section: str) -> str:
    """一、工作情况（二）加强复议机关监督职能 -> 一、工作情况."""
    return section.split("（", 1)[0]


def _chapter_entry(number: int, chapter: str, openings: Sequence[Sentence]) -> DraftEntry:
    """A chapter of several sections, for broad questions: each section's opening sentence.

    The headings are left out of the answer and keywords: they would pull every question about
    one section to the chapter."""
    heading = _heading(chapter)
    kind = _kind(chapter)
    questions = [heading, f"{heading}有哪些方面", f"{heading}包括什么"]
    if kind == "plan":
        questions += ["下一步有什么打算", "今后有哪些工作打算", "下一步怎么做"]
    elif kind == "problem":
        questions += ["存在哪些问题", "还有什么不足"]
    else:
        questions += [f"{heading}主要有哪些", "做了哪些工作"]
    return DraftEntry(
        id=f"chapter-{number}",
        topic=_clip(heading, MAX_TOPIC),
        questions=questions,
        answer=f"报告“{chapter}”分{len(openings)}个方面。",
        source=chapter,
        passage=[sentence.text for sentence in openings],
        keywords=[heading],
    )


def _kind(section: str) -> str:
    if _PROBLEMS_RE.search(section):
        return "problem"
    return "plan" if _PLANS_RE.search(section) else ""


# --- the document's own information -----------------------------------------------------------


def _document_file(document: SourceDocument) -> DraftFile:
    title = document.title
    entries = [
        DraftEntry(
            id="document-title",
            topic="报告标题",
            questions=["这份报告叫什么", "报告的标题是什么", "这是什么文件", title],
            answer=f"这份报告是《{title}》。",
            source="文件信息",
            passage=[p for p in [document.metadata_passage("标题")] if p] or [title],
            keywords=[title],
        )
    ]
    facts = (
        (
            "发布机构",
            "document-issuer",
            "发布机构",
            ["这份报告是谁发布的", "发文单位是哪个", "哪个部门发的"],
        ),
        (
            "发文日期",
            "document-date",
            "发文日期",
            ["这份报告什么时候发布的", "发文日期是哪天", "什么时候印发的"],
        ),
        ("文号", "document-number", "文号", ["这份文件的文号是多少", "发文字号是什么"]),
        ("有效性", "document-validity", "文件有效性", ["这份文件现在还有效吗", "文件是否有效"]),
    )
    for key, entry_id, topic, questions in facts:
        passage = document.metadata_passage(key)
        if passage is None:
            continue
        value = document.metadata[key]
        entries.append(
            DraftEntry(
                id=entry_id,
                topic=topic,
                questions=questions,
                answer=f"《{title}》的{key}：{value}。",
                source="文件信息",
                passage=[passage],
                keywords=[key],
            )
        )
    return DraftFile("00-document.yaml", "文件信息与报告导语", entries)


def _preamble_entry(sentences: Sequence[Sentence]) -> DraftEntry:
    first = sentences[0].text
    return DraftEntry(
        id="preamble",
        topic="报告导语",
        questions=["报告开头说了什么", "报告的导语", "这份报告的总体情况"],
        answer=_clip(first),
        source=PREAMBLE_SECTION,
        passage=[first],
        keywords=["导语"],
    )


# --- sections ----------------------------------------------------------------------------------


def _section_file(number: int, section: str, sentences: Sequence[Sentence]) -> DraftFile:
    heading = _heading(section)
    prefix = f"s{number:02d}"
    kind = _kind(section)
    entries = [_summary_entry(prefix, section, heading, sentences, kind)]
    # A short chapter of its own (二、存在问题) is one list people ask for whole: its summary
    # quotes it all, and only its figures get entries of their own.
    whole = _chapter_of(section) == section and len(sentences) <= SHORT_CHAPTER
    for index, sentence in enumerate(sentences, start=1):
        found = _sentence_entries(f"{prefix}-{index:02d}", sentence, heading, "" if whole else kind)
        entries.extend(e for e in found if not (whole and e.id.endswith("-t")))
    return DraftFile(f"{number + 10:02d}-draft.yaml", section, entries)


def _heading(section: str) -> str:
    """A section's own words: 一、工作情况（二）加强复议机关监督职能 -> 加强复议机关监督职能."""
    tail = re.split(r"[）)]", section, maxsplit=1)[-1] if "（" in section else section
    return re.sub(r"^[一二三四五六七八九十]+、", "", tail).strip()


def _summary_entry(
    prefix: str, section: str, heading: str, sentences: Sequence[Sentence], kind: str
) -> DraftEntry:
    questions = [heading, f"{heading}做了哪些工作", f"{heading}方面的情况"]
    if kind == "problem":
        questions = [heading, "存在哪些问题", "还有什么不足", "工作中有什么问题"]
    elif kind == "plan":
        questions = [heading, f"下一步{heading}有什么打算", f"{heading}怎么做"]
    text = "".join(s.text for s in sentences)
    return DraftEntry(
        id=f"{prefix}-summary",
        topic=_clip(heading, MAX_TOPIC),
        questions=questions,
        answer=_clip(text),
        source=section,
        passage=[s.text for s in sentences],
        keywords=[heading],
    )


def _sentence_entries(
    prefix: str, sentence: Sentence, heading: str, kind: str
) -> Iterator[DraftEntry]:
    """One entry per figure clause, one per named document, and for problems and plans (and
    sentences with neither) one for the sentence itself."""
    text = sentence.text
    clauses = [c.strip() for c in _CLAUSE_RE.findall(text) if c.strip()]
    subject = ""
    made = 0
    for clause in clauses:
        for figure in _figures(clause, subject):
            subject = figure.subject or subject
            made += 1
            yield _figure_entry(f"{prefix}-f{made}", sentence, clause, figure, heading)
    for title in dict.fromkeys(_TITLE_RE.findall(text)):
        made += 1
        yield _title_entry(f"{prefix}-d{made}", sentence, title, heading)
    if made == 0 or kind:
        yield _statement_entry(f"{prefix}-t", sentence, heading, kind)


def _figures(clause: str, inherited: str) -> Iterator[_Figure]:
    for match in _FIGURE_RE.finditer(clause):
        figure = match.group(0)
        if _DATE_RE.match(clause, match.start()) or clause[match.end() : match.end() + 1] in (
            "年",
            "月",
            "日",
        ):
            continue
        unit = "%" if figure.endswith("%") else re.sub(rf"^{_NUMBER}", "", figure).strip("余")
        before, after = clause[: match.start()], clause[match.end() :]
        verb, subject = _split_verb(_strip_leading(_drop_dates(before)))
        if unit and unit[0] in _CLASSIFIERS and (following := _noun_after(after)):
            subject = following  # 19家执法部门, 62个部门及街道
        change = next((w for w in _CHANGE_WORDS if w in before[-6:]), "")
        subject = _FIGURE_RE.sub("", subject).strip("从由到为达至的和及、 ")
        if not subject or subject in _LEADING:
            subject = inherited
        elif subject in _SHARES and inherited and not inherited.endswith(subject):
            subject = f"{inherited}{subject}"  # 马上办事项 + 占比
        yield _Figure(figure, unit, _clip(subject, MAX_SUBJECT, mark=""), verb, change)


def _drop_dates(text: str) -> str:
    return _DATE_RE.sub("", re.sub(r"\d{1,2}月(?:至|到)?\d{0,2}月?(?:底|初)?(?:期间)?", "", text))


def _strip_leading(text: str) -> str:
    text = text.strip(" ,，、的")
    changed = True
    while changed:
        changed = False
        for word in _LEADING:
            if text.startswith(word) and len(text) > len(word):
                text = text[len(word) :]
                changed = True
    return text


def _split_verb(text: str) -> tuple[str, str]:
    """(verb, what) of the words before a figure: 收到行政复议申请 -> (收到, 行政复议申请);
    行政复议案件受理 -> (受理, 行政复议案件)."""
    for verb in _VERBS:
        if text.endswith(verb):
            return verb, _strip_leading(text[: -len(verb)])
        if text.startswith(verb):
            return verb, text[len(verb) :]
    for word in _CHANGE_WORDS:
        if word in text:
            head = text.split(word)[0]
            return word, _strip_leading(head)
    return "", text


def _noun_after(text: str) -> str:
    """The noun phrase right after a counted figure (19家|执法部门|2019年…)."""
    words: list[str] = []
    for word, tag in rjieba.tag(text, True):
        if not re.fullmatch(r"[\u4e00-\u9fff]+", word):
            break
        if tag.startswith(("n", "vn", "j")) or (tag == "v" and len(word) == 2 and not words):
            words.append(word)
            if sum(map(len, words)) >= MAX_SUBJECT:
                break
            continue
        if tag == "c" and words:  # 部门及街道
            words.append(word)
            continue
        break
    while words and rjieba.tag(words[-1], True)[0][1] == "c":
        words.pop()
    return "".join(words)


def _figure_entry(
    entry_id: str, sentence: Sentence, clause: str, figure: _Figure, heading: str
) -> DraftEntry:
    subject, verb, unit = figure.subject or heading, figure.verb, figure.unit
    if unit == "%":
        what = f"{subject}{figure.change}" if figure.change else subject
        questions = [f"{what}是多少", f"{what}多少", f"{what}百分之多少"]
        if figure.change:
            questions.append(f"{subject}比上年{figure.change}了多少")
    else:
        questions = [f"{subject}有多少{unit}", f"{subject}数量", f"多少{unit}{subject}"]
        if verb and verb not in _CHANGE_WORDS:
            questions.insert(0, f"{verb}{subject}多少{unit}")
            questions.append(f"{verb}了多少{unit}{subject}")
        if figure.change:
            questions.append(f"{subject}比上年{figure.change}了多少{unit}")
    answer = clause if subject in clause else f"{subject}：{clause}"
    return DraftEntry(
        id=entry_id,
        topic=_clip(f"{subject}{'变化' if figure.change else ''}", MAX_TOPIC, mark=""),
        questions=_unique(q for q in questions if len(q) >= 4),
        answer=_clip(f"{answer}。" if not answer.endswith("。") else answer),
        source=sentence.section,
        passage=[sentence.text],
        keywords=_unique([subject, figure.text, *_terms(clause)]),
    )


def _title_entry(entry_id: str, sentence: Sentence, title: str, heading: str) -> DraftEntry:
    return DraftEntry(
        id=entry_id,
        topic=_clip(f"《{title}》", MAX_TOPIC),
        questions=_unique([f"《{title}》", f"{heading}依据的是什么文件", f"{title}讲了什么"]),
        answer=_clip(sentence.text),
        source=sentence.section,
        passage=[sentence.text],
        keywords=_unique([title, *_terms(sentence.text)[:4]]),
    )


def _statement_entry(entry_id: str, sentence: Sentence, heading: str, kind: str) -> DraftEntry:
    terms = _terms(sentence.text)
    focus = terms[0] if terms else heading
    if kind == "problem":
        questions = [f"{focus}有什么问题", f"{focus}方面存在什么不足", f"{focus}"]
    elif kind == "plan":
        questions = [f"下一步{focus}怎么做", f"{focus}有什么打算", f"{focus}"]
    else:
        questions = [f"{focus}", f"{focus}是怎么做的", f"有没有{focus}"]
    return DraftEntry(
        id=entry_id,
        topic=_clip(focus, MAX_TOPIC, mark=""),
        questions=_unique(questions),
        answer=_clip(sentence.text),
        source=sentence.section,
        passage=[sentence.text],
        keywords=_unique(terms[:6]),
    )


def _terms(text: str) -> list[str]:
    """The content words of a clause, longest first: what a keyword question would name."""
    words = [
        word
        for word, tag in rjieba.tag(text, True)
        if len(word) >= 2 and tag.startswith(("n", "vn", "nz", "j", "l", "i"))
    ]
    return sorted(_unique(words), key=lambda w: (-len(w), words.index(w)))


def _unique(items: Iterable[str]) -> list[str]:
    return [item for item in dict.fromkeys(i.strip() for i in items) if item]


def _clip(text: str, limit: int = MAX_ANSWER, mark: str = "……") -> str:
    return text if len(text) <= limit else text[:limit] + mark


def _keep_questions_unique(files: Sequence[DraftFile], normalise: Callable[[str], str]) -> None:
    """A question may belong to one entry only (`kb check`), once: the first keeps it."""
    seen: set[str] = set()
    for file in files:
        for entry in file.entries:
            kept = []
            for question in entry.questions:
                key = normalise(question)
                if key and key not in seen:
                    seen.add(key)
                    kept.append(question)
            entry.questions = kept or [f"{entry.topic}（{entry.id}）"]


# --- writing the files -------------------------------------------------------------------------

# What a draft copies from an existing knowledge base: the bot's wording, the official channels,
# the synonyms and the English glossary are not part of a report.
TEMPLATE_FILES = ("replies.yaml", "channels.yaml", "synonyms.yaml", "glossary.yaml", "schema.json")


def entry_mapping(entry: DraftEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "draft": True,
        "topic": entry.topic,
        "questions": entry.questions,
        "answer": entry.answer,
        "source": entry.source,
        "passage": entry.passage,
        "keywords": entry.keywords,
    }


class DraftError(Exception):
    """A draft that cannot be written; the message says what to do."""


def beside_reports(out: Path) -> bool:
    """Whether a draft written to `out` is one report among others: a folder inside a
    knowledge base (knowledge/2020), which keeps the shared files at its top."""
    return (out.parent / REPLIES_FILE).is_file()


def write_draft(report: Path, out: Path, template: Path) -> list[Path]:
    """Write the draft knowledge base for the report file `report` into the new folder `out`:
    the report itself, the draft files and `TEMPLATE_FILES` from the knowledge base `template`.

    An `out` inside a knowledge base (its parent holds replies.yaml) is another report beside
    the ones there (knowledge/2020): it gets only the report and the draft files, and the
    knowledge base it is in is its template, whose shared files it reads.

    Raises:
        DraftError: `out` already holds files, the report has no outline, or a template file
            is missing.
    """
    beside = beside_reports(out)
    if beside:
        template = out.parent
    if out.exists() and any(out.iterdir()):
        raise DraftError(f"{out} is not empty: draft into a new folder")
    try:
        text = report.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DraftError(f"cannot read the report {report}: {exc}") from exc
    missing = [name for name in TEMPLATE_FILES if not (template / name).is_file()]
    if missing:
        raise DraftError(f"the template knowledge base {template} lacks {', '.join(missing)}")
    try:
        # Beside other reports the shared synonyms are all it needs (there may be no entry yet).
        synonyms = load_synonyms(template) if beside else load_knowledge(template).synonyms
    except KnowledgeError as exc:
        raise DraftError(f"the template knowledge base {template} is invalid: {exc}") from exc
    files = draft_report(text, Normaliser(synonyms))
    if len(files) < 2:
        raise DraftError(
            f"{report} has no chapters (一、…) or sections (（一）…) to draft from: is it the "
            "report's plain text?"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = [out / REPORT_FILE]
    written[0].write_text(text, encoding="utf-8")
    for name in () if beside else TEMPLATE_FILES:
        target = out / name
        target.write_text(template_text(name, (template / name).read_text("utf-8")), "utf-8")
        written.append(target)
    schema = "../schema.json" if beside else "./schema.json"
    for file in files:
        target = out / file.name
        target.write_text(render(file, schema), encoding="utf-8")
        written.append(target)
    return written


def render(file: DraftFile, schema: str = "./schema.json") -> str:
    """A draft file's YAML: a comment naming its section, then the entries, all marked draft."""
    body = yaml.safe_dump(
        {"entries": [entry_mapping(e) for e in file.entries]},
        allow_unicode=True,
        sort_keys=False,
        width=10_000,
    )
    header = (
        f"# yaml-language-server: $schema={schema}\n"
        f"# {file.heading}（草稿：由 kbbot kb draft 根据报告原文生成，审核后删去 draft: true）\n"
    )
    return header + body


def template_text(name: str, text: str) -> str:
    """A template file as the draft needs it: channels lose their `about:` links, which name
    entries of the knowledge base they came from (an admin links them again after review)."""
    if name != "channels.yaml":
        return text
    return "".join(line for line in text.splitlines(keepends=True) if not _ABOUT_RE.match(line))


_ABOUT_RE = re.compile(r"^\s+about:\s")
