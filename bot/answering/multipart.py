"""Splitting a message that asks two or three things into its questions.

People ask `复议申请有多少件？出庭应诉率呢？` or `马上办和网上办各有多少项` in one message. Matched
whole, such a message gets suggestions or one half. This module finds the question clauses
(a clause with a question word; clauses without one are context for the next question), and
the coordinated subjects of 各/分别 questions. A later part that only names a new detail
(`一共多少卷`) is offered with the first part's subject as well, and the caller keeps whichever
reading the matcher is surer of. Pure: no Telegram, no database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.answering.text import several, to_simplified

MAX_PARTS = 3

# Words that make a clause a question. 呢/吗 at a clause end count; 有没有 and 是不是 too.
# Requests (请概括…, 介绍一下…) ask as questions do.
_QUESTION_MARK_RE = re.compile(
    r"多少|(?<!好)几(?!乎)|什么|啥|咋|哪|谁|怎么|怎样|如何|为什么|为何|何时|多久|是否|有没有|是不是|"
    r"能不能|会不会|吗|呢|\?|概括|介绍|说说|讲讲|谈谈|how|what|which|who|when|why|where"
)
# A clause opening with 以及/还有 after a question asks one more thing of the same kind
# (请概括存在的问题，以及下一步的工作打算).
_ALSO_RE = re.compile(r"^(?:以及|还有|另外|同时还有)")
# Clause boundaries: sentence ends always; commas and 、 only between two question clauses.
# Sentence ends, and the numbers of an enumerated list (1. … 2. …, （1）… ①…).
_SENTENCE_END_RE = re.compile(
    r"[?？!！。;；\n]+|(?:^|(?<=\s))(?:\d{1,2}[.、)）]|[(（]\d{1,2}[)）])\s*|[①②③④⑤⑥⑦⑧⑨]"
)
_CLAUSE_RE = re.compile(r"[,，、]+")
# A clause that sets a condition is context, whatever it holds: its 哪/谁 are indefinite
# (要是哪个部门一把手不出庭，会有什么后果: one question).
_CONDITION_RE = re.compile(r"^(?:要是|如果|假如|假设|万一|若是|倘若|一旦)")
# "X和Y(现在)各有多少" / "X、Y分别是多少": coordinated subjects sharing one question.
_EACH_RE = re.compile(
    r"^(?P<subjects>.+?)(?P<adverb>现在|目前|如今|都)?(?:各自|各|分别)(?P<rest>.+)$"
)
# "请分别说明X和Y的降幅": 分别 first, then the subjects and what is asked of each.
_EACH_FIRST_RE = re.compile(
    r"^(?:请|麻烦|帮我)?(?:各自|分别)(?:说明|介绍|讲讲|说说|讲一下|说一下|谈谈|列出|给出|是)?"
    r"(?P<subjects>.+)$"
)
_AND_RE = re.compile(r"和|与|跟|及|以及|、|还有")
# What is left of a clause's start once its question words and verbs of asking are gone: the
# subject a follow-up clause leaves out.
_SUBJECT_END_RE = re.compile(
    r"(?:是|有|又|还|都|一共|总共|共|抽了|抽取了|办了|收到了|收到|达到|实现了|开展了|聘了|"
    r"涉及|包括|包含|覆盖|共计|总计|"
    r"多少|几|什么|啥|哪|谁|怎么|如何|为什么|是否|有没有)"
)


@dataclass(frozen=True)
class Part:
    """One question of a message, and the same question with the subject it leaves out."""

    text: str
    with_subject: str | None = None


def split_question(message: str) -> list[Part]:
    """The questions a message asks, in order; one part when it asks one thing.

    Never more than MAX_PARTS: a message with more clauses than that is treated as one
    question rather than answered piecemeal.
    """
    text = to_simplified(unicodedata.normalize("NFKC", message)).strip()
    questions: list[str] = []
    for sentence in _SENTENCE_END_RE.split(text):
        questions.extend(_question_clauses(sentence.strip()))
    questions = [q for q in questions if q]
    if len(questions) == 1:
        each = _each(questions[0])
        return [Part(q) for q in each] if each else [Part(text)]
    if not 2 <= len(questions) <= MAX_PARTS:
        return [Part(text)]
    parts = [Part(questions[0])]
    subject = _subject(questions[0])
    for question in questions[1:]:
        needs = subject and subject not in question
        parts.append(Part(question, f"{subject}{question}" if needs else None))
    return parts


def _question_clauses(sentence: str) -> list[str]:
    """Comma-separated clauses regrouped: a clause without a question word is context and
    joins the question clause after it (or before it, at the end of the sentence)."""
    clauses = [c.strip() for c in _CLAUSE_RE.split(sentence) if c.strip()]
    # The same clauses with each 几 that means "several" in the sentence marked (a text of the
    # same length): 几个部门职责分不清，区里是怎么处理的 asks one thing.
    marked = [c.strip() for c in _CLAUSE_RE.split(several(sentence, "若")) if c.strip()]
    grouped: list[str] = []
    pending = ""
    for clause, asks in zip(clauses, marked, strict=True):
        also = bool(grouped) and not pending and bool(_ALSO_RE.match(clause))
        if (_QUESTION_MARK_RE.search(asks) or also) and not _CONDITION_RE.match(clause):
            grouped.append(f"{pending}{clause}")
            pending = ""
        else:
            pending += clause
    if pending:
        if grouped:
            grouped[-1] += pending
        else:
            grouped.append(pending)
    return grouped


def _each(question: str) -> list[str]:
    """`马上办和网上办各有多少项` -> [`马上办有多少项`, `网上办有多少项`]; what the last
    subject is followed by with 的 belongs to each (`复议申请和行政诉讼的降幅分别是多少`),
    also when 分别 comes first (`请分别说明复议申请和被诉案件的同比降幅`)."""
    match = _EACH_RE.match(question)
    if match:
        subjects = _subjects(match.group("subjects"))
        if subjects:
            return [f"{subject}{match.group('rest')}" for subject in subjects]
    match = _EACH_FIRST_RE.match(question)
    if match:
        subjects = _subjects(match.group("subjects"))
        # Only with what is asked of each (的…): 分别讲讲X和Y is one request.
        if subjects and "的" in subjects[-1]:
            return subjects
    return []


def _subjects(coordinated: str) -> list[str]:
    """The 2-3 coordinated subjects of `coordinated`, each with the attribute the last one
    carries (`A和B的降幅` -> `A的降幅`, `B的降幅`); empty when there are not 2-3."""
    subjects = [s.strip() for s in _AND_RE.split(coordinated) if s.strip()]
    if not 2 <= len(subjects) <= MAX_PARTS:
        return []
    *first, last = subjects
    if "的" in last and not any("的" in subject for subject in first):
        head, attribute = last.rsplit("的", 1)
        if head and attribute:
            return [f"{subject}的{attribute}" for subject in [*first, head]]
    return subjects


def _subject(question: str) -> str:
    """The start of a question up to its first verb of asking or question word."""
    match = _SUBJECT_END_RE.search(question)
    subject = question[: match.start()] if match else ""
    return subject.strip() if len(subject.strip()) >= 2 else ""
