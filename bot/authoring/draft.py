"""A draft knowledge base from a report's text: next year's report answered the same day.

`draft_report` reads a report in the layout government portals publish
(bot/answering/document.py: a metadata table, the title, chapters 一、 holding sections （一）) and
cuts each sentence into the facts it states (`_Fact`): a figure with its changes and shares (收到…29件，较2018年减少10件，
同比下降25.6%), a named document (《…》) with what is done under it, or one measure taken (并建立…
约谈机制，对…实行警示约谈). Each fact becomes an entry, beside a summary per section and per
chapter and the document's own metadata. An entry quotes its whole sentence verbatim
(`passage`, what the bot answers with), names its section (`source`), and states only its own
fact, with what it counts (`answer`): that is what the near-miss checks read of a draft (its
`claim`, bot/answering/knowledge.py), so a question for a document's title, an organisation or a list is
not answered by a fact whose sentence merely mentions one. Keywords are the fact's names and the
words of it that few other sentences of the report use; phrasings are built from the fact's
structure (what is counted and by which verb, which rate, which document, which plan) and its
own words. Every entry is marked `draft: true` until an admin reviews it.

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
SHORT_CLAUSE = 8  # characters: a clause this short (严格审核程序) is part of the fact before it
# A word in at most this many sentences of the report is specific enough to ask a fact by.
SPECIFIC_SPREAD = 2
MAX_CORE = 24  # characters of a fact's own words kept as a phrasing
KEYWORDS = 4  # specific words of an entry's text kept as keywords, beside its names

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
    "本年度",
    "每年",
    "每季度",
    "每月",
    "每周",
    "至少",
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
# Words between what is counted and its figure (事项由过去的28项, 出庭应诉率达92.3%).
_TRAILING = (
    "由过去的",
    "由原来的",
    "由过去",
    "由原来",
    "过去的",
    "原来的",
    "过去",
    "原来",
    "由",
    "从",
    "共计",
    "累计",
    "合计",
    "共",
    "达到",
    "达",
    "为",
    "是",
)
# Units that count events: what they count is often written after them (开展两次专题学法).
_EVENTS = frozenset({"次", "场", "期", "批"})
# Words that join two noun phrases: a subject's head ends before them.
_JOINING = frozenset({"及", "和", "与", "、", "的", "或"})
# A clause that only leads into the next one: 其中, 在加强宣传的同时, 根据《…》, 结合…工作.
_LEAD_RE = re.compile(
    r"^(?:其中|同时|此外|另外|在此基础上|据统计)$|的同时$|"
    r"^(?:根据|按照|对照|依据|依照|结合|通过|围绕|针对|对于)"
)
# Words that only join a clause to the one before it: 并建立…, 同时将…, 还….
_JOINERS_RE = re.compile(r"^(?:并|同时|此外|另外|还|且|再|在此基础上)")
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
    # What it counts is read from the clauses before it (较2018年减少10件, 占比从…).
    inherited: bool = False


def draft_report(text: str, normalise: Callable[[str], str] | None = None) -> list[DraftFile]:
    """The draft knowledge base for a report's plain text (see the module docstring).

    Args:
        normalise: how the knowledge base will normalise questions (its synonyms), so that no
            two questions that read the same are kept (`kb check` allows one owner each).
    """
    document = parse_document(text)
    context = _context(document)
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
        files.append(_section_file(number, section, sentences, context))
    for number, (chapter, sections) in enumerate(chapters.items(), start=1):
        files[0].entries.append(_chapter_entry(number, chapter, sections, document))
    _keep_questions_unique(files, normalise or _plain)
    return files


def _plain(question: str) -> str:
    return re.sub(r"\W", "", question)


def _chapter_of(section: str) -> str:
    """一、工作情况（二）加强复议机关监督职能 -> 一、工作情况."""
    return section.split("（", 1)[0]


def _chapter_entry(
    number: int, chapter: str, openings: Sequence[Sentence], document: SourceDocument
) -> DraftEntry:
    """A chapter of several sections, for broad questions: each section's heading, as the
    report numbers it, and its opening sentence. The headings are left out of the phrasings and
    keywords: they would pull every question about one section to the chapter."""
    heading = _heading(chapter)
    kind = _kind(chapter)
    questions = [heading, f"{heading}有哪些方面", f"{heading}包括什么"]
    if kind == "plan":
        questions += ["下一步有什么打算", "今后有哪些工作打算", "下一步怎么做"]
    elif kind == "problem":
        questions += ["存在哪些问题", "还有什么不足"]
    else:
        questions += [f"{heading}主要有哪些", "做了哪些工作"]
    passage: list[str] = []
    for sentence in openings:
        numbered = sentence.section.removeprefix(chapter)  # （一）强化各级干部法治思维
        if document.contains(numbered):
            passage.append(numbered)
        passage.append(sentence.text)
    return DraftEntry(
        id=f"chapter-{number}",
        topic=_clip(heading, MAX_TOPIC),
        questions=questions,
        answer=f"报告“{chapter}”分{len(openings)}个方面："
        + "、".join(_heading(sentence.section) for sentence in openings)
        + "。",
        source=chapter,
        passage=passage,
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
                answer=f"本报告的{key}：{value}。",
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


@dataclass(frozen=True)
class _Context:
    """What every entry of a report is drafted against: how often the report uses a word (a
    word in many sentences says little about which fact a question asks for) and the report's
    own place (江汉区), which is not part of what a figure counts."""

    sentences: tuple[str, ...]
    home: str = ""

    def spread(self, term: str) -> int:
        """In how many of the report's sentences `term` occurs."""
        return sum(term in sentence for sentence in self.sentences)

    def is_specific(self, term: str) -> bool:
        return self.spread(term) <= SPECIFIC_SPREAD


def _context(document: SourceDocument) -> _Context:
    place = re.match(r"^(\D{2,8}?[区市县省州])", document.title)
    return _Context(tuple(s.text for s in document.sentences), place.group(1) if place else "")


def _section_file(
    number: int, section: str, sentences: Sequence[Sentence], context: _Context
) -> DraftFile:
    heading = _heading(section)
    prefix = f"s{number:02d}"
    kind = _kind(section)
    entries = [_summary_entry(prefix, section, heading, sentences, kind)]
    # A short chapter of its own (二、存在问题) is one list people ask for whole: its summary
    # quotes it all, and only its figures get entries of their own.
    whole = _chapter_of(section) == section and len(sentences) <= SHORT_CHAPTER
    for index, sentence in enumerate(sentences, start=1):
        found = _sentence_entries(
            f"{prefix}-{index:02d}", sentence, heading, "" if whole else kind, context
        )
        entries.extend(e for e in found if not (whole and _STATEMENT_ID.search(e.id)))
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


# --- facts: the clauses of a sentence that state one thing ----------------------------------


@dataclass(frozen=True)
class _Clause:
    """A clause of a sentence (between commas, semicolons and colons), where it stands."""

    text: str
    start: int
    end: int
    figures: tuple[_Figure, ...] = ()
    titles: tuple[str, ...] = ()


@dataclass
class _Fact:
    """The run of a sentence's clauses that states one thing: a figure with its changes and
    shares, what is done under a named document, or one measure taken. Its entry's answer
    states only that run, so that what the entry states (the figures, documents and bodies the
    near-miss checks of bot/answering/constraints.py read) is what it stands for, not everything
    else the sentence it quotes says."""

    clauses: list[_Clause]
    sentence: str

    @property
    def figures(self) -> list[_Figure]:
        return [figure for clause in self.clauses for figure in clause.figures]

    @property
    def titles(self) -> list[str]:
        return list(dict.fromkeys(t for clause in self.clauses for t in clause.titles))

    @property
    def text(self) -> str:
        """The run verbatim; the sentence's closing mark kept when the run ends the sentence."""
        start, end = self.clauses[0].start, self.clauses[-1].end
        if end == len(self.sentence.rstrip("。！？!?；;")):
            end = len(self.sentence)
        return self.sentence[start:end]


def _clauses(text: str, context: _Context) -> list[_Clause]:
    """The clauses of a sentence with their figures, each figure's subject read with what the
    clauses before it counted (较2018年减少10件 counts what 收到…29件 counted)."""
    found: list[_Clause] = []
    subject = ""
    for match in _CLAUSE_RE.finditer(text):
        raw = match.group(0)
        body = raw.strip()
        if not body.strip("。！？!?"):
            continue
        start = match.start() + raw.index(body)
        body = body.rstrip("。！？!?")
        figures = tuple(_figures(body, subject, context.home))
        subject = next((f.subject for f in reversed(figures) if f.subject), subject)
        titles = tuple(dict.fromkeys(_TITLE_RE.findall(body)))
        found.append(_Clause(body, start, start + len(body), figures, titles))
    return found


def _facts(text: str, context: _Context) -> list[_Fact]:
    """A sentence cut into facts (see `_Fact`), a clause each unless it continues a figure
    (较…减少, 占比从…), is too short to stand alone (严格审核程序), or follows a clause that only
    leads into it (在…的同时, 根据《…》); the measures right before a figure join it."""
    facts: list[_Fact] = []
    leads = False
    for clause in _clauses(text, context):
        if facts and (leads or _continues(facts[-1], clause)):
            facts[-1].clauses.append(clause)
        else:
            facts.append(_Fact([clause], text))
        leads = bool(_LEAD_RE.search(clause.text)) and not clause.figures
    return _lead_ins_joined(facts)


def _lead_ins_joined(facts: list[_Fact]) -> list[_Fact]:
    """The measures stated right before a figure belong to it: they say what was counted
    (建立…联席会议制度，组织…交流…3次; 落实…持证上岗制度，…，对1300余名…进行审核)."""
    joined: list[_Fact] = []
    waiting: list[_Fact] = []
    for fact in facts:
        if fact.figures and waiting:
            fact.clauses[:0] = [clause for lead in waiting for clause in lead.clauses]
            waiting = []
        elif not fact.figures and not fact.titles:
            waiting.append(fact)
            continue
        joined += [*waiting, fact]
        waiting = []
    return joined + waiting


def _continues(fact: _Fact, clause: _Clause) -> bool:
    """Whether `clause` is part of `fact`: a figure that counts what the fact counts, or a
    clause too short to say anything alone."""
    if clause.figures:
        return bool(fact.figures) and all(figure.inherited for figure in clause.figures)
    return not clause.titles and len(clause.text) < SHORT_CLAUSE


def _sentence_entries(
    prefix: str, sentence: Sentence, heading: str, kind: str, context: _Context
) -> Iterator[DraftEntry]:
    """One entry per fact of the sentence: its figures, each document it names, or the
    measure it states."""
    made = 0
    facts = _facts(sentence.text, context)
    # What the sentence counts first: later figures often leave it out (其中…受理22件，…，
    # 因民事诉讼中止审理1件，受案率75.86%).
    topic = next((f.subject for fact in facts for f in fact.figures if not f.inherited), "")
    for fact in facts:
        if fact.figures:
            made += 1
            yield _figure_entry(f"{prefix}-f{made}", sentence, fact, topic or heading, context)
        for title in fact.titles:
            made += 1
            yield _title_entry(f"{prefix}-d{made}", sentence, fact, title, context)
        if not fact.figures and not fact.titles:
            made += 1
            yield _statement_entry(f"{prefix}-t{made}", sentence, fact, heading, kind, context)


_STATEMENT_ID = re.compile(r"-t\d+$")


# --- figures -----------------------------------------------------------------------------------


def _figures(clause: str, inherited: str, home: str = "") -> Iterator[_Figure]:
    """The figures of a clause, each with what it counts. A figure inside a quoted name
    (“一次办”) is part of the name; a date is no figure."""
    quoted = [m.span() for m in re.finditer(r"“[^”]*”", clause)]
    previous = 0
    for match in _FIGURE_RE.finditer(clause):
        figure = match.group(0)
        if any(a <= match.start() < b for a, b in quoted):
            continue
        if _DATE_RE.match(clause, match.start()) or clause[match.end() : match.end() + 1] in (
            "年",
            "月",
            "日",
        ):
            continue
        unit = "%" if figure.endswith("%") else re.sub(rf"^{_NUMBER}", "", figure).strip("余")
        before, after = clause[previous : match.start()], clause[match.end() :]
        previous = match.end()
        verb, subject = _split_verb(_strip_trailing(_strip_leading(_drop_dates(before), home)))
        if unit in _EVENTS:
            following = _phrase_after(after)  # 开展两次|政府常务会前专题学法
        else:
            following = _noun_after(after) if unit and unit[0] in _CLASSIFIERS else ""
        if following:
            subject = following  # 19家执法部门, 62个部门及街道
        change = next((w for w in _CHANGE_WORDS if w in before[-6:]), "")
        subject = _without_figures(subject).strip("从由到为达至的和及、 ")
        own = bool(subject) and subject not in _LEADING
        if not own:
            subject = inherited
        elif subject in _SHARES and inherited and not inherited.endswith(subject):
            subject, own = f"{inherited}{subject}", False  # 马上办事项 + 占比
        subject = _head(subject)
        inherited = subject or inherited
        yield _Figure(figure, unit, subject, verb, change, inherited=not own)


def _outermost(subjects: Sequence[str]) -> list[str]:
    """Subjects without those that only extend an earlier one (马上办事项占比 after 马上办事项)."""
    return [s for i, s in enumerate(subjects) if not any(s.startswith(t) for t in subjects[:i])]


def _without_figures(text: str) -> str:
    """`text` without its figures, except those inside a quoted name (“一次办”)."""
    return re.sub(
        rf"“[^”]*”|{_FIGURE_RE.pattern}",
        lambda m: m.group(0) if m.group(0).startswith("“") else "",
        text,
    )


def _drop_dates(text: str) -> str:
    return _DATE_RE.sub("", re.sub(r"\d{1,2}月(?:至|到)?\d{0,2}月?(?:底|初)?(?:期间)?", "", text))


def _strip_leading(text: str, home: str = "") -> str:
    text = text.strip(" ,，、的")
    words = (home, *_LEADING) if home else _LEADING
    changed = True
    while changed:
        changed = False
        for word in words:
            if text.startswith(word) and len(text) > len(word):
                text = text[len(word) :]
                changed = True
    return text


def _strip_trailing(text: str) -> str:
    """事项由过去的 -> 事项; 出庭应诉率达 -> 出庭应诉率: the words between what is counted and
    its figure."""
    changed = True
    while changed:
        changed = False
        for word in _TRAILING:
            if text.endswith(word) and len(text) > len(word):
                text = text[: -len(word)]
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


def _head(subject: str) -> str:
    """What a long subject counts: its last words up to `MAX_SUBJECT` characters, stopping at
    a joining word (及, 和, 的, 、), since a Chinese noun phrase ends in its head
    (行政诉讼案件区政府领导及部门负责人出庭应诉率 -> 部门负责人出庭应诉率)."""
    if len(subject) <= MAX_TOPIC:
        return subject
    kept: list[str] = []
    size = 0
    for word in reversed(rjieba.cut(subject, False)):
        if word in _JOINING or size + len(word) > MAX_SUBJECT:
            break
        kept.insert(0, word)
        size += len(word)
    return "".join(kept) or subject[-MAX_SUBJECT:]


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
    # A verb alone is what happens next (28项|增加到195项), not what is counted.
    if not any(tag.startswith(("n", "j")) for word in words for _, tag in rjieba.tag(word, True)):
        return ""
    return "".join(words)


def _phrase_after(text: str) -> str:
    """What a count of events counts, written after it (两次|政府常务会前专题学法|和…)."""
    match = re.match(r"[\u4e00-\u9fff]+?(?=和|及|与|、|$)", text)
    return match.group(0)[:MAX_SUBJECT] if match and len(match.group(0)) >= 2 else ""


def _figure_entry(
    entry_id: str, sentence: Sentence, fact: _Fact, heading: str, context: _Context
) -> DraftEntry:
    """One entry for a fact's figures: how many, how it changed, what share; phrased for each
    subject the fact counts. `heading`: what the sentence counts (or its section's heading)."""
    questions: list[str] = []
    subjects: list[str] = []
    for figure in fact.figures:
        subject, verb, unit = figure.subject or heading, figure.verb, figure.unit
        subjects.append(subject)
        if unit == "%":
            what = f"{subject}{figure.change}" if figure.change else subject
            questions += [f"{what}是多少", f"{what}多少", f"{what}百分之多少"]
            if figure.change:
                questions.append(f"{subject}比上年{figure.change}了多少")
            continue
        questions += [f"{subject}有多少{unit}", f"{subject}数量", f"多少{unit}{subject}"]
        if verb and verb not in _CHANGE_WORDS:
            questions.insert(0, f"{verb}{subject}多少{unit}")
            questions.append(f"{verb}了多少{unit}{subject}")
        if figure.change:
            questions.append(f"{subject}比上年{figure.change}了多少{unit}")
    subjects = _unique(subjects)
    text = fact.text
    questions.append(_core(text))
    # The answer names what is counted, as the sentence may say it only before the fact.
    named = next((s for s in (heading, subjects[0]) if s not in text), "")
    answer = f"{named}：{text}" if named else text
    return DraftEntry(
        id=entry_id,
        topic=_clip("、".join(_outermost(subjects)), MAX_TOPIC, mark=""),
        questions=_unique(q for q in questions if len(q) >= 4),
        answer=_clip(answer if answer.endswith("。") else f"{answer.rstrip('；;')}。"),
        source=sentence.section,
        passage=[sentence.text],
        keywords=_keywords([*subjects, *(f.text for f in fact.figures)], text, context),
    )


# --- documents and measures --------------------------------------------------------------------


def _title_entry(
    entry_id: str, sentence: Sentence, fact: _Fact, title: str, context: _Context
) -> DraftEntry:
    """A document the report names, with what it is followed for: asked for by its name, by
    what it governs (合同合法性审查依据什么文件) or by what the fact does under it."""
    core = _title_core(title)
    rest = re.sub(r"《[^》]*》", "", fact.text)
    focus = _focus(rest, context)
    questions = [f"《{title}》", f"{core}依据的是什么文件", f"{core}方面有什么文件"]
    if focus and focus not in core:
        questions.append(f"{focus}依据的是什么文件")
    return DraftEntry(
        id=entry_id,
        topic=_clip(f"《{title}》", MAX_TOPIC),
        questions=_unique(questions),
        answer=_clip(fact.text),
        source=sentence.section,
        passage=[sentence.text],
        keywords=_keywords([title, core], rest, context),
    )


def _title_core(title: str) -> str:
    """What a document is about, without who issued it and what kind of document it is:
    市人民政府办公厅关于加强政府合同合法性审查工作的意见 -> 政府合同合法性审查."""
    core = re.sub(r"[(（][^)）]*[)）]$", "", title)
    core = core.split("关于", 1)[1] if "关于" in core else core
    core = re.sub(r"的?(?:实施)?(?:意见|办法|规定|条例|细则|通知|决定|方案)$", "", core)
    core = re.sub(r"^[\u4e00-\u9fff]{1,6}?[省市区县](?:人民)?(?:政府)?(?:办公厅|办公室)?", "", core)
    core = re.sub(r"^(?:加强|进一步|推进|在全区|全区|在)+", "", core)
    core = re.sub(r"工作$", "", core)
    return core if len(core) >= 2 else title


def _statement_entry(
    entry_id: str, sentence: Sentence, fact: _Fact, heading: str, kind: str, context: _Context
) -> DraftEntry:
    """A measure taken, a problem or a plan, asked for in the report's own words (the fact
    without the words that only join it to the sentence) and by the word that sets it apart
    from the rest of the report (the one in fewest of its sentences), if it has one."""
    text = fact.text
    core = _core(text)
    focus = _focus(text, context)
    # A plan is asked about as one (下一步…, …有什么打算), not as what was done.
    questions = [f"下一步{core}" if kind == "plan" else core]
    if focus and kind == "problem":
        questions += [f"{focus}有什么问题", f"{focus}方面存在什么不足"]
    elif focus and kind == "plan":
        questions += [f"{focus}有什么打算"]
    elif focus:
        questions += [focus, f"{focus}是怎么做的"]
    return DraftEntry(
        id=entry_id,
        topic=_clip(focus or core, MAX_TOPIC, mark=""),
        questions=_unique(questions),
        answer=_clip(text),
        source=sentence.section,
        passage=[sentence.text],
        keywords=_keywords([focus] if focus else [], text, context),
    )


def _core(text: str) -> str:
    """A fact as a phrasing: its words without what joins it to the sentence (并, 同时, 在…的
    同时) and without its closing mark, up to `MAX_CORE` characters."""
    parts = [re.sub(_JOINERS_RE, "", part) for part in _CLAUSE_RE.findall(text)]
    parts = [p.strip("。！？!?；; ") for p in parts if not _LEAD_RE.search(p) or len(parts) == 1]
    core = "，".join(p for p in parts if p)
    if len(core) <= MAX_CORE:
        return core
    kept = ""
    for word in rjieba.cut(core, False):  # cut between words, not inside one
        if len(kept) + len(word) > MAX_CORE:
            break
        kept += word
    return kept.rstrip("，、") or core[:MAX_CORE]


def _terms(text: str) -> list[str]:
    """The content words of a clause, longest first: what a keyword question would name."""
    words = [
        word
        for word, tag in rjieba.tag(text, True)
        if len(word) >= 2 and tag.startswith(("n", "vn", "nz", "j"))
    ]
    quoted = [q for q in re.findall(r"“([^”]{2,12})”", text)]
    words = [*quoted, *words]
    return sorted(_unique(words), key=lambda w: (-len(w), words.index(w)))


def _ranked_terms(text: str, context: _Context) -> list[str]:
    """The content words of `text`, those in fewest sentences of the report first (then the
    longest): the words that say which fact this is."""
    terms = _terms(re.sub(r"《[^》]*》", "", text))
    return sorted(terms, key=lambda t: (context.spread(t), -len(t), terms.index(t)))


def _focus(text: str, context: _Context) -> str:
    """The word that names a fact best: its most specific one, if it is specific at all."""
    terms = _ranked_terms(text, context)
    return terms[0] if terms and context.is_specific(terms[0]) else ""


def _keywords(named: Sequence[str], text: str, context: _Context) -> list[str]:
    """The names an entry is asked by, and the words of its text that are specific to it (in
    few sentences of the report); a word inside a longer keyword adds nothing."""
    specific = [t for t in _ranked_terms(text, context) if context.is_specific(t)]
    words = _unique([*named, *specific[:KEYWORDS]])
    return [w for w in words if not any(w != other and w in other for other in words)]


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
