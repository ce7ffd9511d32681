"""Loading and validating the hand-edited YAML knowledge base.

Admins edit these files by hand, so every problem is reported as ``file:line: what to fix``
and all problems are collected in one pass instead of stopping at the first. The loader is
deliberately strict about YAML features an attacker or a slip could abuse: anchors/aliases
(billion-laughs), deep nesting and huge files are rejected before anything is built.
Pure: no Telegram, no database.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import yaml

from bot.answering.constraints import report_years
from bot.answering.document import REPORT_FILE, SourceDocument, parse_document
from bot.answering.text import ENGLISH_STOPWORDS, is_cjk

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 8
# Telegram's limit for one message. The bot splits a longer reply over several messages, but an
# answer or message that long cannot be sent as one: `kb check` refuses it.
MAX_MESSAGE_CHARS = 4096
KNOWLEDGE_SUFFIXES = (".yaml", ".yml")
# libyaml's parser when PyYAML was built with it (the binary wheels are): the same events and
# nodes, marks included, fifteen times faster than the pure-Python one on a large base.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENTRY_KEYS_REQUIRED = ("id", "topic", "questions", "answer", "source")
ENTRY_KEYS_OPTIONAL = ("passage", "keywords", "related", "draft")
ENTRY_KEYS = ENTRY_KEYS_REQUIRED + ENTRY_KEYS_OPTIONAL
MAX_ANSWER_CHARS = 300
MAX_TOPIC_CHARS = 24
SYNONYMS_FILE = "synonyms.yaml"
GLOSSARY_FILE = "glossary.yaml"
REPLIES_FILE = "replies.yaml"
CHANNELS_FILE = "channels.yaml"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the knowledge base, located for the admin who has to fix it."""

    file: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        label = "错误" if self.severity == "error" else "警告"
        return f"{self.file}:{self.line}: {label}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base cannot be loaded; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors) or "knowledge base is invalid")


@dataclass(frozen=True)
class Entry:
    """One fact (or section summary) of the report, with the ways people ask for it."""

    id: str
    topic: str
    questions: tuple[str, ...]
    answer: str
    source: str
    keywords: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    passage: tuple[str, ...] = ()
    file: str = ""
    line: int = 0
    passage_line: int = 0
    # Written by `kbbot kb draft` and not yet reviewed: answered by quoting its passage.
    draft: bool = False
    # A draft's own `answer`, the one fact it was drafted for, which its quoted sentence may
    # share with others: what the near-miss checks (bot/answering/constraints.py) read of a
    # draft, as they will read its answer once it is reviewed. "" for a reviewed entry.
    claim: str = ""
    # The report it belongs to, in a knowledge base of several (its key, "2020"); "" in a base
    # of one report. There `id` is qualified with the key ("2020-law-firms"): two reports'
    # drafts, or a report copied from last year's, may use the same ids.
    report: str = ""

    @property
    def local_id(self) -> str:
        """The id as written in its file (without the report's key)."""
        return self.id.removeprefix(f"{self.report}-") if self.report else self.id


@dataclass(frozen=True)
class Referral:
    """An official channel for matters the bot must not handle itself (knowledge/channels.yaml):
    a complaint, legal advice, wages, an emergency, an appeal against a decision.

    Attributes:
        triggers: words that name the matter outright (投诉, 报警); any one refers the question.
        examples: ways people bring the matter up, matched with the same scorer as entries so
            that new wordings generalise.
        first: checked before anything else (emergencies).
        about: an entry whose answer says what the report itself says of the matter.
    """

    id: str
    triggers: tuple[str, ...]
    reply: str
    name: str = ""
    handles: str = ""
    examples: tuple[str, ...] = ()
    first: bool = False
    about: str | None = None


_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")


def fill(template: str, **values: object) -> str:
    """Substitute `{name}` placeholders an admin may have moved, kept or dropped.

    Unlike `str.format`, an unknown `{placeholder}` or a stray brace in replies.yaml is left as
    written instead of raising in the middle of a reply.
    """
    return _PLACEHOLDER_RE.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], template)


@dataclass(frozen=True)
class Replies:
    """The bot's fixed wording, kept in knowledge/replies.yaml so admins can change it."""

    messages: Mapping[str, str]
    referrals: tuple[Referral, ...] = ()
    # Small talk: kind (greeting, thanks, ...) -> the phrases that are nothing but that.
    smalltalk: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.messages[key]


# Every reply the code uses; replies.yaml must define each one.
# Messages added after knowledge folders were already in use: a folder without them gets
# these words, so that an upgrade never breaks a running bot's replies.yaml.
DEFAULT_MESSAGES: Mapping[str, str] = {
    "missing_rank": "没有给出排名或名次",
    "missing_duration": "没有写具体的期限或频次",
    "missing_standard": "没有给出要达到的标准或要求",
    "missing_nearby": "没有介绍任何地方周边的场所",
    "missing_named": "没有列出具体的{detail}",
    "missing_term": "在这一点上没有讲到“{detail}”",
    "missing_dated": "没有提到“{detail}”的时间",
    "missing_means": "没有说明具体通过什么形式或方式",
    "smalltalk_writing": (
        "写文章、作诗、翻译这类事我帮不上忙，我只回答报告里的问题，"
        "比如其中的数字、措施和下步打算。可以直接提问，也可以发送 /topics 按主题浏览。"
    ),
}
REQUIRED_MESSAGES: tuple[str, ...] = (
    "welcome",
    "help",
    "no_answer",
    "suggest_intro",
    "source_label",
    "empty",
    "too_long",
    "no_words",
    "non_text",
    "slow_down",
    "error",
    "feedback_thanks",
    "feedback_ask",
    "feedback_ask_again",
    "feedback_channel",
    "tap_slow_down",
    "referral_about",
    "other_year",
    "passage",
    "overview",
    "partial",
    "missing_year",
    "missing_place",
    "missing_counted",
    "missing_count",
    "missing_percent",
    "missing_date",
    "missing_document",
    "missing_organisation",
    "missing_person",
    "missing_money",
    "missing_contact",
    "missing_reason",
    "missing_list",
    "missing_breakdown",
    "missing_figure",
    "missing_procedure",
    "topics_intro",
    "also_intro",
    "unknown_command",
    # The Telegram front end: buttons, groups, inline mode, admin replies, the command menu.
    "group_hint",
    "button_helpful",
    "button_not_helpful",
    "button_related",
    "button_also",
    "button_overview",
    "button_topics",
    "button_ask_again",
    "button_channel",
    "browse_document",
    "browse_summary",
    "button_back",
    "button_prev",
    "button_next",
    "button_expired",
    "inline_hint",
    "inline_no_result",
    "reload_ok",
    "reload_failed",
    "reload_broken",
    "why_none",
    "log_unavailable",
)

# The placeholders the code fills into each message: every `fill(messages[...], name=...)` call
# (bot/answering/engine.py, bot/answering/knowledge.py, bot/telegram/handlers.py, admin.py and keyboards.py). A message
# not named here gets none. `kb check` refuses any other `{...}` or a stray brace in replies.yaml,
# which would otherwise reach people as written; tests/test_knowledge_checks.py reads every
# fill() call in bot/ and checks it against this table, so the two cannot drift apart.
MESSAGE_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "too_long": frozenset({"limit"}),
    "passage": frozenset({"sentence"}),
    "overview": frozenset({"topic", "sections"}),
    "partial": frozenset({"missing", "answer"}),
    "other_year": frozenset({"year", "answer"}),
    "report_latest": frozenset({"title", "others"}),
    "report_chosen": frozenset({"title"}),
    "report_fallback": frozenset({"latest", "title"}),
    "button_report": frozenset({"year"}),
    "referral_about": frozenset({"answer"}),
    "group_hint": frozenset({"bot"}),
    "feedback_channel": frozenset({"channel"}),
    "button_related": frozenset({"topic", "question"}),
    "button_also": frozenset({"topic", "question"}),
    "button_overview": frozenset({"section", "topic"}),
    "reload_ok": frozenset({"entries", "warnings"}),
    "reload_failed": frozenset({"errors"}),
    "reload_broken": frozenset({"errors"}),
}
# Families of messages filled alike: missing_year, missing_place... (what the report lacks).
PLACEHOLDER_FAMILIES: Mapping[str, frozenset[str]] = {"missing_": frozenset({"detail"})}


def placeholders_for(key: str) -> frozenset[str]:
    """The placeholders the code fills into message `key` (none for most messages)."""
    if key in MESSAGE_PLACEHOLDERS:
        return MESSAGE_PLACEHOLDERS[key]
    for prefix, names in PLACEHOLDER_FAMILIES.items():
        if key.startswith(prefix):
            return names
    return frozenset()


@dataclass(frozen=True)
class Section:
    """One part of the report, as the browse menu shows it."""

    title: str
    entries: tuple[Entry, ...]
    report: str = ""  # the report's key in a base of several (`Entry.report`)


@dataclass(frozen=True)
class ReportPart:
    """One report of a knowledge base that holds several side by side (knowledge/2020/...).

    Attributes:
        key: the year its title names, as text ("2020"): how questions, entry ids, buttons
            and the question log name the report.
        year: that year.
        folder: its folder's name inside the knowledge base; "" for the report at the top.
        kb: its own entries and document, with the base's shared synonyms and replies: what
            its matcher is built on, so one report's phrasings never compete with another's.
    """

    key: str
    year: int
    folder: str
    kb: KnowledgeBase


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    synonyms: Mapping[str, str]
    replies: Replies
    fingerprint: str
    warnings: tuple[Problem, ...] = ()
    # The report; in a base of several, the one at the top of the folder (None if all are in
    # folders of their own): each report's own is `reports[n].kb.document`.
    document: SourceDocument | None = None
    # English words that only glue a question together (knowledge/glossary.yaml).
    stopwords: frozenset[str] = ENGLISH_STOPWORDS
    # Several reports side by side, oldest first; () for a base of one report.
    reports: tuple[ReportPart, ...] = ()
    # Groups of terms that name different things though worded alike (行政复议, 行政诉讼):
    # an answer that names only another term of a question's group speaks of something else
    # (knowledge/synonyms.yaml, `distinct:`).
    distinct: tuple[tuple[str, ...], ...] = ()
    by_id: Mapping[str, Entry] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {entry.id: entry for entry in self.entries})

    def topics(self) -> list[str]:
        """Topics in knowledge-base order, each once."""
        return list(dict.fromkeys(entry.topic for entry in self.entries))

    def sections(self) -> list[Section]:
        """The report's sections (entries grouped by `source`) in knowledge-base order; with
        several reports, each report's own (their section titles are mostly the same).

        This is the browse menu: section -> entry -> answer, in the report's own structure.
        """
        grouped: dict[tuple[str, str], list[Entry]] = {}
        for entry in self.entries:
            grouped.setdefault((entry.report, entry.source), []).append(entry)
        return [
            Section(title, tuple(entries), report) for (report, title), entries in grouped.items()
        ]

    def report(self, key: str) -> ReportPart | None:
        """The report named `key` ("2020"), or None (always, in a base of one report)."""
        return next((part for part in self.reports if part.key == key), None)

    @property
    def documents(self) -> dict[str, SourceDocument | None]:
        """Each report's document by key, in a base of several reports (else empty)."""
        return {part.key: part.kb.document for part in self.reports}

    def document_of(self, key: str) -> SourceDocument | None:
        """The document of report `key`; the base's own for "" or a key it does not have."""
        part = self.report(key) if key else None
        return part.kb.document if part is not None else self.document


# Entry ids a reload line names before it only counts the rest.
NAMED_IN_RELOAD_LINE = 5


def describe_reload(before: KnowledgeBase, after: KnowledgeBase) -> str:
    """The one line an operator reads about a reload: the entries added, changed and removed
    (ids, and the files they are in), then whatever else changed (synonyms, replies, glossary,
    the report).

    An entry that only moved (an edit above it) is not changed. For example
    `knowledge reloaded: 6 entries; 1 added (fees), 1 changed (hours) in 10-work.yaml;
    synonyms changed`.
    """

    def comparable(entry: Entry) -> Entry:
        return replace(entry, file=Path(entry.file).name, line=0, passage_line=0)

    old, new = before.by_id, after.by_id
    added = [i for i in new if i not in old]
    removed = [i for i in old if i not in new]
    changed = [i for i in new if i in old and comparable(new[i]) != comparable(old[i])]
    counted = [
        f"{len(ids)} {what} ({_first_named(ids)})"
        for what, ids in (("added", added), ("changed", changed), ("removed", removed))
        if ids
    ]
    paths = {new[i].file for i in added + changed} | {old[i].file for i in removed}
    files = sorted({Path(p).name for p in paths if p})
    parts = [", ".join(counted) + (f" in {', '.join(files)}" if files else "")] if counted else []
    others = [
        name
        for name, differs in (
            ("synonyms", (before.synonyms, before.distinct) != (after.synonyms, after.distinct)),
            ("replies", before.replies != after.replies),
            ("glossary", before.stopwords != after.stopwords),
            ("report", before.document != after.document),
        )
        if differs
    ]
    if others:
        parts.append(f"{', '.join(others)} changed")
    what = "; ".join(parts) if parts else "nothing changed"
    return f"knowledge reloaded: {len(after.entries)} entries; {what}"


def _first_named(ids: list[str]) -> str:
    shown = ", ".join(ids[:NAMED_IN_RELOAD_LINE])
    more = len(ids) - NAMED_IN_RELOAD_LINE
    return f"{shown} and {more} more" if more > 0 else shown


def knowledge_files(directory: Path) -> list[Path]:
    """The regular *.yaml / *.yml files in `directory`, by name (raises OSError if unreadable)."""
    return sorted(p for p in directory.iterdir() if p.suffix in KNOWLEDGE_SUFFIXES and p.is_file())


def _loaded_name(name: str) -> bool:
    """Whether the loader looks at a directory entry of this name (what `fingerprint` covers)."""
    return Path(name).suffix in KNOWLEDGE_SUFFIXES or name == REPORT_FILE


def not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as a knowledge file (in words for the admin), or None when it
    is a regular file. Only looks (stat): never opens it, so a FIFO cannot hang the loader."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        try:
            target = os.readlink(path)
        except OSError:
            return "文件在检查时消失了，请重新运行检查"
        return f"是指向不存在的文件（{target}）的符号链接：请改正链接或删掉它"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "是循环的符号链接（链接最终指回自己）：请改正链接或删掉它"
        return _unreadable(exc, "文件")
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "是一个目录，不是文件：知识库不读子目录，请移走它或去掉名字里的扩展名"
    if stat.S_ISFIFO(mode):
        return "是命名管道（FIFO），不是普通文件：请删掉它，换成真正的文件"
    return "不是普通文件（设备或套接字）：请删掉它，换成真正的文件"


def _unreadable(exc: OSError, what: str) -> str:
    if isinstance(exc, PermissionError):
        fix = "chmod a+rx" if what == "目录" else "chmod a+r"
        return f"没有读取权限：请让运行机器人的用户能读这个{what}（例如 {fix}）"
    return f"无法读取这个{what}：{exc.strerror or exc}"


def _listing(directory: Path, problems: list[Problem]) -> list[str] | None:
    """The names in `directory`, sorted; None (and a problem) when it cannot be listed."""
    try:
        return sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        problems.append(Problem(str(directory), 0, "知识库目录不存在"))
    except OSError as exc:
        problems.append(Problem(str(directory), 0, _unreadable(exc, "目录")))
    return None


def fingerprint(directory: Path) -> str:
    """A cheap digest (stat only) of everything the loader reads: changes whenever an admin
    saves a file, fixes its permissions, a link or the folder's own, or adds a report's folder.
    Never raises: what keeps a file or the folder from being read is part of the digest."""
    digest = hashlib.sha256()
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return digest.hexdigest()
    except OSError as exc:
        digest.update(f"\0{exc.errno}\n".encode())
        return digest.hexdigest()
    for line in _stat_lines(directory, names, ""):
        digest.update(line)
    for name in names:  # the folders of a base of several reports, one level down
        if name.startswith(".") or _loaded_name(name) or not (directory / name).is_dir():
            continue
        try:
            inner = sorted(os.listdir(directory / name))
        except OSError as exc:
            digest.update(f"{name}/\0!{exc.errno}\n".encode())
            continue
        for line in _stat_lines(directory / name, inner, f"{name}/"):
            digest.update(line)
    return digest.hexdigest()


def _stat_lines(directory: Path, names: list[str], prefix: str) -> Iterator[bytes]:
    """What the fingerprint digests of the loaded files among `names` in `directory`."""
    for name in filter(_loaded_name, names):
        try:
            info = os.stat(directory / name)
        except OSError as exc:
            if not name.startswith("."):
                yield f"{prefix}{name}\0!{exc.errno}\n".encode()
            continue
        if name.startswith(".") and not stat.S_ISREG(info.st_mode):
            continue  # an editor's lock (.#file.yaml), ignored by the loader as well
        yield (
            f"{prefix}{name}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_mode}\0"
            f"{info.st_uid}\0{info.st_gid}\n"
        ).encode()


def _scan(directory: Path, names: list[str], problems: list[Problem]) -> list[Path]:
    """The knowledge files to load, and a file error for every other *.yaml / *.yml entry: a
    dangling or looping link, a FIFO, a folder. Hidden entries that are not files (an editor's
    lock, .#file.yaml) are left alone."""
    files = []
    for name in names:
        if Path(name).suffix not in KNOWLEDGE_SUFFIXES:
            continue
        path = directory / name
        reason = not_a_file(path)
        if reason is None:
            files.append(path)
        elif not name.startswith("."):
            problems.append(Problem(str(path), 0, reason))
    return files


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Load and validate every file in `directory`; raise KnowledgeError listing all errors.

    A folder inside `directory` that holds a report.txt is another report (`ReportPart`): the
    entries and report.txt at the top, if any, are one report and each such folder another,
    sharing the synonyms, glossary, replies and channels at the top.

    Never raises anything else for what is on disk: an unreadable file or folder, a link that
    goes nowhere or a FIFO named like a knowledge file are errors naming the file, like a typo.
    """
    stamp = fingerprint(directory)
    problems: list[Problem] = []
    names = _listing(directory, problems)
    if names is None:
        raise KnowledgeError(problems)
    entries: list[Entry] = []
    synonyms: dict[str, str] = {}
    distinct: tuple[tuple[str, ...], ...] = ()
    replies = Replies(messages={})
    channels: list[Referral] = []
    glossary: dict[str, str] = {}
    stopwords: frozenset[str] | None = None
    for path in _scan(directory, names, problems):
        root = _parse(path, problems)
        if root is None:
            continue
        if path.name == SYNONYMS_FILE:
            synonyms, distinct = _read_synonyms(path, root, problems)
        elif path.name == GLOSSARY_FILE:
            glossary, stopwords = _read_glossary(path, root, problems)
        elif path.name == REPLIES_FILE:
            replies = _read_replies(path, root, problems)
        elif path.name == CHANNELS_FILE:
            channels = _read_channels(path, root, problems)
        else:
            entries.extend(_read_entries(path, root, problems))
    if channels:
        replies = replace(replies, referrals=tuple(channels))
    for variant, canonical in glossary.items():
        if synonyms.get(variant, canonical) != canonical:
            problems.append(
                Problem(
                    str(directory / GLOSSARY_FILE),
                    0,
                    f"`{variant}` 在 {GLOSSARY_FILE} 对应 `{canonical}`，在 {SYNONYMS_FILE} 对应 "
                    f"`{synonyms[variant]}`，只能保留一个",
                )
            )
    synonyms = {**glossary, **synonyms}
    if REPLIES_FILE not in names:
        problems.append(Problem(str(directory / REPLIES_FILE), 0, "缺少回复文案文件"))
    shared = KnowledgeBase(
        entries=(),
        synonyms=synonyms,
        replies=replies,
        fingerprint=stamp,
        stopwords=ENGLISH_STOPWORDS if stopwords is None else stopwords,
        distinct=distinct,
    )
    _check_distinct(distinct, synonyms, entries, str(directory / SYNONYMS_FILE), problems)
    folders = _report_folders(directory, names, problems)
    if folders:
        return _load_several(directory, names, entries, folders, shared, problems)
    if not entries and not any(p.severity == "error" for p in problems):
        problems.append(Problem(str(directory), 0, "知识库里没有任何条目"))
    _cross_check(entries, synonyms, problems)
    _check_channels(replies.referrals, entries, problems)
    document = _read_document(directory, names, problems)
    if document is not None:
        _check_passages(entries, document, problems)
    if any(p.severity == "error" for p in problems):
        raise KnowledgeError(problems)
    return replace(
        shared,
        entries=tuple(_served(entry, replies) for entry in entries),
        warnings=tuple(problems),
        document=document,
    )


def load_synonyms(directory: Path) -> dict[str, str]:
    """The synonyms (with the English glossary) of the knowledge base in `directory`, read
    alone: a base whose reports are still to be written has them before any entry.

    Raises:
        KnowledgeError: either file is broken.
    """
    problems: list[Problem] = []
    synonyms: dict[str, str] = {}
    glossary: dict[str, str] = {}
    for name in (SYNONYMS_FILE, GLOSSARY_FILE):
        path = directory / name
        root = _parse(path, problems) if path.is_file() else None
        if root is None:
            continue
        if name == SYNONYMS_FILE:
            synonyms, _ = _read_synonyms(path, root, problems)
        else:
            glossary, _ = _read_glossary(path, root, problems)
    if any(p.severity == "error" for p in problems):
        raise KnowledgeError(problems)
    return {**glossary, **synonyms}


# --- several reports side by side --------------------------------------------------------------

SHARED_FILES = (SYNONYMS_FILE, GLOSSARY_FILE, REPLIES_FILE, CHANNELS_FILE)
# What a base of several reports needs besides REQUIRED_MESSAGES: which report an answer comes
# from, and the report buttons of the browse menu.
SEVERAL_REPORTS_MESSAGES = ("report_latest", "report_chosen", "report_fallback", "button_report")
# A qualified id (`<year>-<id>`) must still fit the id rule, which the buttons' data relies on.
MAX_ID_CHARS = 48


def _report_folders(directory: Path, names: list[str], problems: list[Problem]) -> list[str]:
    """The folders in `directory` that hold a report of their own (a report.txt), by name; a
    folder with knowledge files but no report.txt is an error, any other folder is ignored."""
    folders = []
    for name in names:
        path = directory / name
        if name.startswith(".") or _loaded_name(name) or not path.is_dir():
            continue
        try:
            inner = os.listdir(path)
        except OSError as exc:
            problems.append(Problem(str(path), 0, _unreadable(exc, "目录")))
            continue
        if REPORT_FILE in inner:
            folders.append(name)
        elif any(Path(n).suffix in KNOWLEDGE_SUFFIXES for n in inner):
            problems.append(
                Problem(
                    str(path / REPORT_FILE),
                    0,
                    f"文件夹 {name} 里有条目文件，但没有报告原文 {REPORT_FILE}："
                    "每份报告的文件夹都要放它的原文",
                )
            )
    return folders


def _load_several(
    directory: Path,
    names: list[str],
    top_entries: list[Entry],
    folders: list[str],
    shared: KnowledgeBase,
    problems: list[Problem],
) -> KnowledgeBase:
    """The base of several reports: each checked on its own (ids, phrasings, related and
    passages are per report), keyed by the year its title names, oldest first."""
    found: list[tuple[str, list[Entry], SourceDocument | None]] = []
    top_document = _read_document(directory, names, problems)
    if top_entries or top_document is not None:
        found.append(("", top_entries, top_document))
    for folder in folders:
        found.append((folder, *_read_report_folder(directory / folder, problems)))
    messages = shared.replies.messages
    for key in SEVERAL_REPORTS_MESSAGES:
        if messages and key not in messages:
            problems.append(
                Problem(
                    str(directory / REPLIES_FILE),
                    0,
                    f"messages 缺少 `{key}`（知识库里有多份报告时需要）",
                )
            )
    parts: list[tuple[int, str, list[Entry], SourceDocument]] = []
    years: dict[int, str] = {}
    for folder, entries, document in found:
        where = directory / folder if folder else directory
        year = _report_year(where, entries, document, problems)
        _cross_check(entries, shared.synonyms, problems)
        if document is None or year is None:
            continue
        _check_passages(entries, document, problems)
        if year in years:
            problems.append(
                Problem(
                    str(where / REPORT_FILE),
                    0,
                    f"这份报告和 {years[year] or '顶层'} 的报告都是{year}年的："
                    "每一年只能有一份报告",
                )
            )
        years[year] = folder
        parts.append((year, folder, entries, document))
    if any(p.severity == "error" for p in problems):
        raise KnowledgeError(problems)
    parts.sort(key=lambda part: part[0])
    qualified = {
        folder: [_qualified(entry, str(year), problems) for entry in entries]
        for year, folder, entries, _ in parts
    }
    every = [entry for entries in qualified.values() for entry in entries]
    replies = _about_newest(shared.replies, every, [str(year) for year, *_ in parts])
    _check_channels(replies.referrals, every, problems)
    if any(p.severity == "error" for p in problems):
        raise KnowledgeError(problems)
    reports = tuple(
        ReportPart(
            str(year),
            year,
            folder,
            replace(
                shared,
                entries=tuple(_served(e, replies) for e in qualified[folder]),
                replies=replies,
                document=document,
            ),
        )
        for year, folder, _, document in parts
    )
    return replace(
        shared,
        entries=tuple(entry for part in reports for entry in part.kb.entries),
        replies=replies,
        warnings=tuple(problems),
        document=top_document,
        reports=reports,
    )


def _read_report_folder(
    folder: Path, problems: list[Problem]
) -> tuple[list[Entry], SourceDocument | None]:
    """One report's folder: its entry files and its report.txt. The shared files belong at the
    top of the knowledge base, where every report reads them."""
    names = _listing(folder, problems) or []
    entries: list[Entry] = []
    for path in _scan(folder, names, problems):
        if path.name in SHARED_FILES:
            problems.append(
                Problem(
                    str(path),
                    0,
                    f"{path.name} 是各份报告共用的，只能放在知识库顶层：请把要保留的内容并入"
                    f"顶层的 {path.name}，再删掉这个文件",
                )
            )
            continue
        root = _parse(path, problems)
        if root is not None:
            entries.extend(_read_entries(path, root, problems))
    return entries, _read_document(folder, names, problems)


def _report_year(
    where: Path, entries: list[Entry], document: SourceDocument | None, problems: list[Problem]
) -> int | None:
    """The year a report's title names (what questions and the log call it), or None with a
    problem saying why there is none."""
    if document is None:
        problems.append(
            Problem(
                str(where / REPORT_FILE),
                0,
                f"知识库里有多份报告时，顶层的条目也要有报告原文 {REPORT_FILE}"
                "（或者把它们和原文一起移进一个文件夹）",
            )
        )
        return None
    if not entries:
        problems.append(
            Problem(str(where), 0, "这份报告没有任何条目（可以用 kbbot kb draft 生成草稿）")
        )
    found = report_years(document.title)
    if len(found) != 1:
        problems.append(
            Problem(
                document.path or str(where / REPORT_FILE),
                0,
                f"报告标题“{document.title}”里应该正好有一个年份（例如“2020年”），"
                "机器人靠它区分各份报告",
            )
        )
        return None
    return next(iter(found))


def _qualified(entry: Entry, key: str, problems: list[Problem]) -> Entry:
    """`entry` as one report of several: its id and related ids prefixed with the report's
    key, so that ids stay unique across reports."""
    qualified = f"{key}-{entry.id}"
    if len(qualified) > MAX_ID_CHARS:
        problems.append(
            Problem(
                entry.file,
                entry.line,
                f"条目 id `{entry.id}` 太长：知识库里有多份报告时 id 最多 "
                f"{MAX_ID_CHARS - len(key) - 1} 个字符",
            )
        )
    return replace(
        entry,
        id=qualified,
        related=tuple(f"{key}-{other}" for other in entry.related),
        report=key,
    )


def _about_newest(replies: Replies, entries: list[Entry], keys: list[str]) -> Replies:
    """Channels name the entry their reply adds by its id as written: in a base of several
    reports, that entry of the newest report that has it (an id qualified with a report's key,
    `2019-law-firms`, names that report's)."""
    ids = {entry.id for entry in entries}

    def resolved(channel: Referral) -> Referral:
        about = channel.about
        if about is None or about in ids:
            return channel
        found = next((f"{key}-{about}" for key in reversed(keys) if f"{key}-{about}" in ids), None)
        return channel if found is None else replace(channel, about=found)

    return replace(replies, referrals=tuple(resolved(c) for c in replies.referrals))


# --- parsing -------------------------------------------------------------------------------


def _read_text(path: Path, problems: list[Problem]) -> str | None:
    """The UTF-8 text of the file at `path`, or None with a problem saying why not.

    Opened without blocking and checked once open (fstat), so a file swapped for a FIFO after
    the directory was scanned cannot hang the loader, and read no further than the size limit.
    """
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        problems.append(Problem(name, 0, _unreadable(exc, "文件")))
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            problems.append(Problem(name, 0, "不是普通文件：请换成真正的文件"))
            return None
        try:
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            problems.append(Problem(name, 0, _unreadable(exc, "文件")))
            return None
    size = max(info.st_size, len(data))
    if size > MAX_FILE_BYTES:
        problems.append(Problem(name, 0, f"文件过大（{size} 字节，上限 {MAX_FILE_BYTES}）"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, 0, f"不是 UTF-8 编码：{exc.reason}"))
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as Path.read_text reads it


def _parse(path: Path, problems: list[Problem]) -> yaml.Node | None:
    name = str(path)
    text = _read_text(path, problems)
    if text is None:
        return None
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_LOADER):
            line = event.start_mark.line + 1 if event.start_mark else 0
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                problems.append(
                    Problem(name, line, "不支持 YAML 锚点/别名（& 和 *），请直接写出内容")
                )
                return None
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    problems.append(Problem(name, line, f"嵌套层级过深（上限 {MAX_DEPTH} 层）"))
                    return None
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problems.append(
            Problem(name, line, f"YAML 格式错误：{exc.problem or exc}（检查缩进和冒号）")
        )
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(name, 0, f"YAML 格式错误：{exc}"))
        return None
    if node is None:
        problems.append(Problem(name, 1, "文件是空的", "warning"))
    return node


# YAML's folded blocks (>-) join wrapped lines with a space: right for English, wrong between two
# Chinese characters ("报告里的内容： 行政复议"). Spaces next to latin text and newlines stay.
_CJK_TEXT = (
    "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u201c\u201d\u2018\u2019"
)
_FOLDED_SPACE_RE = re.compile(f"(?<=[{_CJK_TEXT}]) +(?=[{_CJK_TEXT}])")


def _unfold(text: str) -> str:
    return _FOLDED_SPACE_RE.sub("", text)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _pairs(node: yaml.MappingNode) -> Iterator[tuple[str, yaml.Node, int]]:
    for key, value in node.value:
        yield str(key.value), value, _line(key)


def _text(
    node: yaml.Node, name: str, what: str, problems: list[Problem], *, allow_empty: bool = False
) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        problems.append(Problem(name, _line(node), f"{what} 应该是一段文字"))
        return None
    value = _unfold(str(node.value)).strip()
    if not value and not allow_empty:
        problems.append(Problem(name, _line(node), f"{what} 不能为空"))
        return None
    return value


def _text_list(node: yaml.Node, name: str, what: str, problems: list[Problem]) -> list[str]:
    if not isinstance(node, yaml.SequenceNode):
        problems.append(Problem(name, _line(node), f"{what} 应该是列表（每行以 - 开头）"))
        return []
    items = [_text(item, name, f"{what} 中的一项", problems) for item in node.value]
    return [item for item in items if item is not None]


def _top_mapping(
    path: Path, root: yaml.Node, key: str, problems: list[Problem]
) -> yaml.Node | None:
    name = str(path)
    if not isinstance(root, yaml.MappingNode):
        problems.append(Problem(name, _line(root), f"文件顶层应该是 `{key}:`"))
        return None
    found: yaml.Node | None = None
    for k, value, line in _pairs(root):
        if k == key:
            found = value
        else:
            problems.append(Problem(name, line, f"未知的顶层字段 `{k}`（只允许 `{key}`）"))
    if found is None:
        problems.append(Problem(name, _line(root), f"缺少顶层字段 `{key}:`"))
    return found


def _read_entries(path: Path, root: yaml.Node, problems: list[Problem]) -> list[Entry]:
    name = str(path)
    items = _top_mapping(path, root, "entries", problems)
    if items is None:
        return []
    if not isinstance(items, yaml.SequenceNode):
        problems.append(Problem(name, _line(items), "`entries` 应该是条目列表（每条以 - 开头）"))
        return []
    entries = []
    for item in items.value:
        entry = _read_entry(name, item, problems)
        if entry is not None:
            entries.append(entry)
    return entries


def _read_entry(name: str, node: yaml.Node, problems: list[Problem]) -> Entry | None:
    line = _line(node)
    if not isinstance(node, yaml.MappingNode):
        problems.append(Problem(name, line, "每个条目应该是 `字段: 值` 的形式"))
        return None
    fields: dict[str, yaml.Node] = {}
    for key, value, key_line in _pairs(node):
        if key not in ENTRY_KEYS:
            allowed = "、".join(ENTRY_KEYS)
            problems.append(Problem(name, key_line, f"未知字段 `{key}`（允许的字段：{allowed}）"))
        elif key in fields:
            problems.append(Problem(name, key_line, f"字段 `{key}` 写了两次"))
        else:
            fields[key] = value
    missing = [key for key in ENTRY_KEYS_REQUIRED if key not in fields]
    if missing:
        label = fields.get("id")
        where = f"条目 {label.value} " if isinstance(label, yaml.ScalarNode) else "条目"
        problems.append(Problem(name, line, f"{where}缺少必填字段：{'、'.join(missing)}"))
        return None
    before = len(problems)
    entry_id = _text(fields["id"], name, "id", problems)
    if entry_id is not None and not _ID_RE.match(entry_id):
        problems.append(
            Problem(
                name,
                _line(fields["id"]),
                f"id `{entry_id}` 只能用小写字母、数字和连字符（例如 reconsideration-cases）",
            )
        )
    topic = _text(fields["topic"], name, "topic", problems)
    answer = _text(fields["answer"], name, "answer", problems)
    source = _text(fields["source"], name, "source", problems)
    questions = _text_list(fields["questions"], name, "questions", problems)
    if not questions and len(problems) == before:
        problems.append(Problem(name, _line(fields["questions"]), "questions 至少要有一个问法"))
    keywords = (
        _text_list(fields["keywords"], name, "keywords", problems) if "keywords" in fields else []
    )
    related = (
        _text_list(fields["related"], name, "related", problems) if "related" in fields else []
    )
    passage = _passage(fields["passage"], name, problems) if "passage" in fields else []
    draft = _flag(fields["draft"], name, "draft", problems) if "draft" in fields else False
    if draft and not passage:
        problems.append(
            Problem(
                name,
                _line(fields["draft"]),
                "草稿条目（draft: true）必须有 passage：机器人引用它回答",
            )
        )
    if len(problems) > before or None in (entry_id, topic, answer, source):
        return None
    assert entry_id and topic and answer and source
    if len(answer) > MAX_MESSAGE_CHARS:
        problems.append(Problem(name, _line(fields["answer"]), _too_long_to_send("答案", answer)))
    elif len(answer) > MAX_ANSWER_CHARS:
        problems.append(
            Problem(
                name, _line(fields["answer"]), f"答案较长（{len(answer)} 字），建议精简", "warning"
            )
        )
    if len(topic) > MAX_TOPIC_CHARS:
        problems.append(
            Problem(
                name,
                _line(fields["topic"]),
                f"topic 较长（{len(topic)} 字），菜单里会被截断",
                "warning",
            )
        )
    return Entry(
        id=entry_id,
        topic=topic,
        questions=tuple(questions),
        answer=answer,
        source=source,
        keywords=tuple(keywords),
        related=tuple(related),
        passage=tuple(passage),
        file=name,
        line=line,
        passage_line=_line(fields["passage"]) if "passage" in fields else line,
        draft=draft,
    )


def _served(entry: Entry, replies: Replies) -> Entry:
    """A draft entry answers with its passage, quoted as the report's own words (the
    `passage` message): its `answer` was written by a program and nobody has checked it yet."""
    template = replies.messages.get("passage")
    if not entry.draft or not template:
        return entry
    return replace(
        entry, answer=fill(template, sentence="".join(entry.passage)), claim=entry.answer
    )


def _flag(node: yaml.Node, name: str, what: str, problems: list[Problem]) -> bool:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
        return node.value.lower() in ("true", "yes", "on")
    problems.append(Problem(name, _line(node), f"`{what}` 只能是 true 或 false"))
    return False


def _passage(node: yaml.Node, name: str, problems: list[Problem]) -> list[str]:
    """`passage:` is one quoted sentence, or a list of them (one per line)."""
    if isinstance(node, yaml.SequenceNode):
        return _text_list(node, name, "passage", problems)
    text = _text(node, name, "passage", problems)
    return [text] if text is not None else []


def _read_synonyms(
    path: Path, root: yaml.Node, problems: list[Problem]
) -> tuple[dict[str, str], tuple[tuple[str, ...], ...]]:
    """knowledge/synonyms.yaml: `synonyms:` groups, and the optional `distinct:` groups of
    terms that must not stand in for each other."""
    name = str(path)
    if not isinstance(root, yaml.MappingNode):
        problems.append(
            Problem(name, _line(root), "文件顶层应该是 `synonyms:`（可选 `distinct:`）")
        )
        return {}, ()
    groups: yaml.Node | None = None
    distinct: tuple[tuple[str, ...], ...] = ()
    for key, value, line in _pairs(root):
        if key == "synonyms":
            groups = value
        elif key == "distinct":
            distinct = _read_distinct(name, value, problems)
        else:
            problems.append(
                Problem(name, line, f"未知的顶层字段 `{key}`（允许：synonyms、distinct）")
            )
    if groups is None:
        problems.append(Problem(name, _line(root), "缺少顶层字段 `synonyms:`"))
        return {}, distinct
    return _read_groups(name, "synonyms", groups, problems), distinct


def _read_distinct(
    name: str, node: yaml.Node, problems: list[Problem]
) -> tuple[tuple[str, ...], ...]:
    """`distinct: [[行政复议, 行政诉讼], ...]`: each group two or more different terms, no term
    in two groups."""
    if not isinstance(node, yaml.SequenceNode):
        problems.append(
            Problem(name, _line(node), "`distinct` 应该是词组的列表，例如 `- [行政复议, 行政诉讼]`")
        )
        return ()
    groups: list[tuple[str, ...]] = []
    seen: dict[str, int] = {}
    for item in node.value:
        line = _line(item)
        terms = tuple(dict.fromkeys(_text_list(item, name, "distinct 的一组", problems)))
        if len(terms) < 2:
            problems.append(Problem(name, line, "`distinct` 的每一组至少要有两个不同的词"))
            continue
        for term in terms:
            if term in seen:
                problems.append(
                    Problem(
                        name, line, f"`{term}` 已在第 {seen[term]} 行的一组里，一个词只能在一组"
                    )
                )
            seen.setdefault(term, line)
        groups.append(terms)
    return tuple(groups)


def _check_distinct(
    distinct: tuple[tuple[str, ...], ...],
    synonyms: Mapping[str, str],
    entries: list[Entry],
    name: str,
    problems: list[Problem],
) -> None:
    """Each distinct term is compared as the question is, normalised: it must be written in
    the report's own words (not a variant the synonyms rewrite), and some entry should use it."""
    if not distinct:
        return
    from bot.answering.text import Normaliser  # as in `_cross_check`: one-way dependency

    normalise = Normaliser(synonyms)
    unseen: dict[str, str] = {}  # canonical term -> as normalised, until some entry uses it
    for group in distinct:
        for term in group:
            if synonyms.get(term, term) != term:
                problems.append(
                    Problem(
                        name,
                        0,
                        f"distinct 里的 `{term}` 是 `{synonyms[term]}` 的同义说法，请写规范词",
                    )
                )
            elif entries:
                unseen[term] = normalise(term)
    # Texts are normalised only until every term has been seen (in a large base, at once).
    texts = (
        text
        for entry in entries
        for text in (*entry.questions, *entry.keywords, entry.topic, entry.answer)
    )
    for text in texts:
        if not unseen:
            break
        said = normalise(text)
        for term in [term for term, norm in unseen.items() if norm in said]:
            del unseen[term]
    problems.extend(
        Problem(name, 0, f"distinct 里的 `{term}` 没有出现在任何条目里", "warning")
        for term in unseen
    )


def _read_glossary(
    path: Path, root: yaml.Node, problems: list[Problem]
) -> tuple[dict[str, str], frozenset[str] | None]:
    """knowledge/glossary.yaml: English words for the report's terms, and English stop words."""
    name = str(path)
    if not isinstance(root, yaml.MappingNode):
        problems.append(Problem(name, _line(root), "文件顶层应该有 `glossary:` 和 `stopwords:`"))
        return {}, None
    mapping: dict[str, str] = {}
    stopwords: frozenset[str] | None = None
    for key, value, line in _pairs(root):
        if key == "glossary":
            mapping = _read_groups(name, "glossary", value, problems)
        elif key == "stopwords":
            words = _text_list(value, name, "stopwords", problems)
            stopwords = frozenset(word.casefold() for word in words)
        else:
            problems.append(
                Problem(name, line, f"未知的顶层字段 `{key}`（允许：glossary、stopwords）")
            )
    return mapping, stopwords


def _read_groups(
    name: str, what: str, groups: yaml.Node, problems: list[Problem]
) -> dict[str, str]:
    """`规范词: [同义说法, ...]` groups, as {variant: canonical}."""
    if not isinstance(groups, yaml.MappingNode):
        problems.append(Problem(name, _line(groups), f"`{what}` 应该是 `规范词: [同义说法, ...]`"))
        return {}
    mapping: dict[str, str] = {}
    where: dict[str, int] = {}
    for canonical, value, line in _pairs(groups):
        variants = _text_list(value, name, f"同义词 `{canonical}`", problems)
        for variant in variants:
            if variant == canonical:
                problems.append(
                    Problem(name, line, f"`{variant}` 和规范词相同，可以删掉", "warning")
                )
                continue
            if canonical.startswith(variant) and all(is_cjk(ch) for ch in variant):
                problems.append(
                    Problem(
                        name,
                        line,
                        f"`{variant}` 是规范词 `{canonical}` 的开头，不用列为同义说法（问题里写 `{variant}`"
                        "本来就能匹配；后面跟着错别字时反而会重复），请删掉",
                        "warning",
                    )
                )
                continue
            if variant in mapping and mapping[variant] != canonical:
                problems.append(
                    Problem(
                        name,
                        line,
                        f"同义说法 `{variant}` 同时对应 `{mapping[variant]}`（第 {where[variant]} 行）"
                        f"和 `{canonical}`，只能保留一个",
                    )
                )
                continue
            mapping[variant] = canonical
            where[variant] = line
    return mapping


def _read_replies(path: Path, root: yaml.Node, problems: list[Problem]) -> Replies:
    name = str(path)
    if not isinstance(root, yaml.MappingNode):
        problems.append(Problem(name, _line(root), "文件顶层应该有 `messages:` 和 `smalltalk:`"))
        return Replies(messages={})
    messages: dict[str, str] = {}
    smalltalk: dict[str, tuple[str, ...]] = {}
    seen_messages = False
    for key, value, line in _pairs(root):
        if key == "messages":
            seen_messages = True
            if not isinstance(value, yaml.MappingNode):
                problems.append(Problem(name, line, "`messages` 应该是 `名称: 文案`"))
                continue
            for msg_key, msg_value, msg_line in _pairs(value):
                text = _text(msg_value, name, f"messages.{msg_key}", problems)
                if text is not None:
                    messages[msg_key] = text
                    _check_message(name, msg_line, msg_key, text, problems)
            for required in REQUIRED_MESSAGES:
                if required not in messages:
                    problems.append(Problem(name, line, f"messages 缺少 `{required}`"))
            for added, default in DEFAULT_MESSAGES.items():
                messages.setdefault(added, default)
        elif key == "smalltalk":
            if not isinstance(value, yaml.MappingNode):
                problems.append(Problem(name, line, "`smalltalk` 应该是 `类别: [说法, ...]`"))
                continue
            for kind, phrases, kind_line in _pairs(value):
                if f"smalltalk_{kind}" not in messages and seen_messages:
                    problems.append(
                        Problem(
                            name, kind_line, f"闲聊类别 `{kind}` 缺少回复 messages.smalltalk_{kind}"
                        )
                    )
                smalltalk[kind] = tuple(_text_list(phrases, name, f"smalltalk.{kind}", problems))
        elif key == "referrals":
            problems.append(
                Problem(
                    name,
                    line,
                    f"转介渠道已移到 {CHANNELS_FILE}：请把 `referrals:` 下的内容搬过去（见知识库维护指南）",
                )
            )
        else:
            problems.append(
                Problem(name, line, f"未知的顶层字段 `{key}`（允许：messages、smalltalk）")
            )
    if not seen_messages:
        problems.append(Problem(name, _line(root), "缺少 `messages:`"))
    return Replies(messages=messages, smalltalk=smalltalk)


# Anything in braces (a `{placeholder}` as fill() reads it, or `{ limit }`, `{Limit}`), or a
# brace on its own.
_BRACES_RE = re.compile(r"\{([^{}\n]*)\}|[{}]")


def _too_long_to_send(what: str, text: str) -> str:
    return (
        f"{what}太长（{len(text)} 字）：Telegram 一条消息最多 {MAX_MESSAGE_CHARS} 字，"
        "请精简，或拆成几个条目"
    )


def _check_message(name: str, line: int, key: str, text: str, problems: list[Problem]) -> None:
    """A message must fit in one Telegram message, and every brace in it must be a placeholder
    the code fills into this message (`placeholders_for`): anything else would reach people as
    written, `{limit}` and all."""
    if len(text) > MAX_MESSAGE_CHARS:
        problems.append(Problem(name, line, _too_long_to_send(f"messages.{key}", text)))
    allowed = placeholders_for(key)
    offered = "、".join(f"{{{p}}}" for p in sorted(allowed)) or "没有占位符"
    for match in _BRACES_RE.finditer(text):
        inside = match[1]
        if inside in allowed:
            continue
        if inside is not None and _PLACEHOLDER_RE.fullmatch(match[0]):
            message = (
                f"messages.{key} 里的占位符 `{match[0]}` 不会被替换（这条文案可用：{offered}）："
                "请改正拼写或删掉它"
            )
        elif inside is not None:
            message = (
                f"messages.{key} 里的 `{match[0]}` 不会被替换：占位符是花括号里紧挨着的小写名字"
                f"（这条文案可用：{offered}），要显示括号请用全角的｛｝"
            )
        else:
            message = (
                f"messages.{key} 里有单独的花括号 `{match[0]}`（第 {match.start() + 1} 个字）："
                f"花括号只用于占位符（这条文案可用：{offered}），要显示括号请用全角的｛｝"
            )
        problems.append(Problem(name, line, message))


_CHANNEL_KEYS = ("id", "name", "handles", "triggers", "examples", "reply", "first", "about")


def _read_channels(path: Path, root: yaml.Node, problems: list[Problem]) -> list[Referral]:
    """knowledge/channels.yaml: the official channels personal matters are referred to."""
    name = str(path)
    node = _top_mapping(path, root, "channels", problems)
    if node is None:
        return []
    if not isinstance(node, yaml.SequenceNode):
        problems.append(Problem(name, _line(node), "`channels` 应该是渠道列表（每项以 - 开头）"))
        return []
    channels = []
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            problems.append(Problem(name, _line(item), "每个渠道应该是 `字段: 值` 的形式"))
            continue
        fields = {key: (value, line) for key, value, line in _pairs(item)}
        for key in sorted(set(fields) - set(_CHANNEL_KEYS)):
            allowed = "、".join(_CHANNEL_KEYS)
            problems.append(
                Problem(name, fields[key][1], f"渠道的未知字段 `{key}`（允许：{allowed}）")
            )
        missing = [key for key in ("id", "name", "reply") if key not in fields]
        if missing or not ({"triggers", "examples"} & fields.keys()):
            problems.append(
                Problem(name, _line(item), "渠道需要 id、name、reply，以及 triggers 或 examples")
            )
            continue
        before = len(problems)
        ref_id = _text(fields["id"][0], name, "id", problems)
        title = _text(fields["name"][0], name, "name", problems)
        reply = _text(fields["reply"][0], name, "reply", problems)
        if reply is not None and len(reply) > MAX_MESSAGE_CHARS:
            problems.append(Problem(name, fields["reply"][1], _too_long_to_send("reply", reply)))
        handles = (
            _text(fields["handles"][0], name, "handles", problems) if "handles" in fields else ""
        )
        triggers = (
            _text_list(fields["triggers"][0], name, "triggers", problems)
            if "triggers" in fields
            else []
        )
        examples = (
            _text_list(fields["examples"][0], name, "examples", problems)
            if "examples" in fields
            else []
        )
        first = False
        if "first" in fields:
            flag = fields["first"][0]
            if not isinstance(flag, yaml.ScalarNode) or flag.value not in ("true", "false"):
                problems.append(Problem(name, fields["first"][1], "first 只能是 true 或 false"))
            first = isinstance(flag, yaml.ScalarNode) and flag.value == "true"
        about = _text(fields["about"][0], name, "about", problems) if "about" in fields else None
        if len(problems) > before or not (ref_id and title and reply):
            continue
        channels.append(
            Referral(
                id=ref_id,
                triggers=tuple(triggers),
                reply=reply,
                name=title,
                handles=handles or "",
                examples=tuple(examples),
                first=first,
                about=about,
            )
        )
    return channels


def _check_channels(
    channels: tuple[Referral, ...], entries: list[Entry], problems: list[Problem]
) -> None:
    ids = {entry.id for entry in entries}
    seen: set[str] = set()
    for channel in channels:
        if channel.id in seen:
            problems.append(Problem(CHANNELS_FILE, 0, f"渠道 id `{channel.id}` 重复"))
        seen.add(channel.id)
        if channel.about is not None and channel.about not in ids:
            problems.append(
                Problem(
                    CHANNELS_FILE,
                    0,
                    f"渠道 `{channel.id}` 的 about 指向不存在的条目 `{channel.about}`",
                )
            )


def _read_document(
    directory: Path, names: list[str], problems: list[Problem]
) -> SourceDocument | None:
    """The report (report.txt), None when the knowledge base has none or it cannot be read."""
    if REPORT_FILE not in names:
        return None
    path = directory / REPORT_FILE
    reason = not_a_file(path)
    if reason is not None:
        problems.append(Problem(str(path), 0, reason))
        return None
    text = _read_text(path, problems)
    return None if text is None else parse_document(text, str(path))


def _check_passages(
    entries: list[Entry], document: SourceDocument, problems: list[Problem]
) -> None:
    """Every passage must be the report's own words: a misquote is an error, none a warning."""
    for entry in entries:
        if not entry.passage:
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    f"条目 `{entry.id}` 没有 passage（报告原文），回答无法核对出处",
                    "warning",
                )
            )
        for passage in entry.passage:
            if not document.contains(passage):
                problems.append(
                    Problem(
                        entry.file,
                        entry.passage_line,
                        f"条目 `{entry.id}` 的 passage 在报告原文（{REPORT_FILE}）里找不到："
                        f"“{passage[:30]}”。请从报告里原样复制（标点全角半角、空格不影响）",
                    )
                )


# --- cross-file checks -------------------------------------------------------------------------


def _cross_check(
    entries: list[Entry], synonyms: Mapping[str, str], problems: list[Problem]
) -> None:
    # Imported here to keep the dependency one-way and obvious: validation uses the same
    # normalisation the matcher does, so "the same question" means what matching sees.
    from bot.answering.text import Normaliser

    normalise = Normaliser(synonyms)
    first_seen: dict[str, Entry] = {}
    question_owner: dict[str, tuple[Entry, str]] = {}
    for entry in entries:
        if entry.id in first_seen:
            other = first_seen[entry.id]
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    f"id `{entry.id}` 重复：已在 {other.file}:{other.line} 使用，请换一个",
                )
            )
            continue
        first_seen[entry.id] = entry
        for question in entry.questions:
            key = normalise(question)
            if not key:
                problems.append(
                    Problem(
                        entry.file, entry.line, f"问法 `{question}` 去掉语气词后是空的", "warning"
                    )
                )
                continue
            owner = question_owner.get(key)
            if owner is None:
                question_owner[key] = (entry, question)
            elif owner[0].id != entry.id:
                problems.append(
                    Problem(
                        entry.file,
                        entry.line,
                        f"问法 `{question}` 与条目 `{owner[0].id}`（{owner[0].file}:{owner[0].line}）"
                        f"的 `{owner[1]}` 相同，同一个问法只能属于一个条目",
                    )
                )
            else:
                problems.append(
                    Problem(
                        entry.file,
                        entry.line,
                        f"条目 `{entry.id}` 里问法 `{question}` 重复",
                        "warning",
                    )
                )
    for entry in entries:
        for related_id in entry.related:
            if related_id not in first_seen:
                problems.append(
                    Problem(
                        entry.file,
                        entry.line,
                        f"条目 `{entry.id}` 的 related 里 `{related_id}` 不存在",
                    )
                )
            elif related_id == entry.id:
                problems.append(
                    Problem(
                        entry.file,
                        entry.line,
                        f"条目 `{entry.id}` 的 related 指向了自己",
                        "warning",
                    )
                )
