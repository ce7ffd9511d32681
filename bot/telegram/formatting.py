"""Turning replies into Telegram HTML.

Every message goes out with parse_mode=HTML (set once in `Defaults`), so every piece of text that
is not our own markup must be escaped: a user's question, an answer or source an admin typed with
`<` or `&` in it, an entry id. One unescaped `<` makes Telegram reject the whole message, and the
person gets nothing. These functions are the only place that builds message text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.answering.citation import cite
from bot.answering.document import SourceDocument
from bot.answering.engine import Kind, Reply
from bot.answering.knowledge import Entry, Problem
from bot.answering.matcher import Candidate

# Telegram's limit is 4096 characters after entity parsing; stay well inside it.
MAX_TEXT = 3800
# Replies whose source line cites a section of the report (a referral when the channel names
# what the report says of the matter).
_CITING_KINDS = (Kind.ANSWER, Kind.PARTIAL, Kind.PASSAGE, Kind.REFERRAL)


@dataclass(frozen=True)
class Citing:
    """What a source line names besides the section: the report (title, issuer, date, number)
    and, when KBBOT_REPORT_URL is set, where it is published (the title links there).

    With several reports side by side, `documents` holds each by key (`KnowledgeBase.documents`)
    and a reply cites the one it was answered from (`of`); the URL stays with `document`, the
    report at the top of the knowledge folder, for which it was set."""

    document: SourceDocument | None = None
    url: str | None = None
    documents: Mapping[str, SourceDocument | None] = field(default_factory=dict)

    def of(self, report: str) -> Citing:
        """What a reply or entry of report `report` cites ("" or unknown: this)."""
        if not report or report not in self.documents:
            return self
        document = self.documents[report]
        url = self.url if document is self.document else None
        return Citing(document, url, self.documents)


def esc(text: object) -> str:
    """Escape text for Telegram HTML (quotes need no escaping outside attributes)."""
    return html.escape(str(text), quote=False)


def _citation(section: str, citing: Citing | None) -> str:
    """The source line's text after the label, as plain text (`bot.answering.citation.cite`)."""
    return cite(section, citing.document if citing else None)


def source_html(
    source: str, messages: Mapping[str, str], citing: Citing | None = None, *, cut: int = 0
) -> str:
    """The italic line citing the section of the report a reply rests on, and the report.

    With a report URL the report's title is a link to it. `cut` shortens the line to that many
    characters (0: never), for the parts of a long several-question message; a cut line loses
    its link rather than risk cutting inside it.
    """
    line = _citation(source, citing)
    label = esc(messages["source_label"])
    document = citing.document if citing else None
    title = f"《{document.title}》" if document is not None and document.title else ""
    if cut and len(line) > cut:
        return f"<i>{label}：{esc(clip(line, cut))}</i>"
    at = line.rfind(title) if title and citing and citing.url else -1
    if at < 0:
        return f"<i>{label}：{esc(line)}</i>"
    assert citing is not None and citing.url is not None
    link = f'<a href="{html.escape(citing.url, quote=True)}">{esc(title)}</a>'
    return f"<i>{label}：{esc(line[:at])}{link}{esc(line[at + len(title) :])}</i>"


def entry_html(entry: Entry, messages: Mapping[str, str], citing: Citing | None = None) -> str:
    """An entry's answer and its source line."""
    cited = citing.of(entry.report) if citing else None
    return f"{esc(entry.answer)}\n\n{source_html(entry.source, messages, cited)}"


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, with an ellipsis when something was cut.

    Cut before escaping: Telegram counts the text it shows, not the markup around it.
    """
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


def reply_html(
    reply: Reply,
    messages: Mapping[str, str],
    citing: Citing | None = None,
    *,
    limit: int | None = MAX_TEXT,
) -> str:
    """The message text for any engine reply (the buttons carry the suggestions).

    An answer, a partial answer, a quote of the report and a referral that says what the report
    says of the matter cite their section and the report; a several-question message numbers
    each part, with its own source line.

    Args:
        limit: the most visible characters: the text is cut to fit in one message, as an
            inline result must. None: nothing is cut, for a chat, where the sender splits a
            longer text over several messages (`split_html`).
    """
    room = limit if limit is not None else _UNLIMITED
    # Which report it answers from, when the question did not say (several reports).
    shown = clip(reply.note, room // 4) + "\n" if reply.note else ""
    room -= len(shown)
    note = esc(shown)
    if reply.kind is not Kind.MULTI:
        return note + _single_html(reply, messages, citing, room, listed=False)
    # Each part gets an equal share of the room, less its number and the blank line between.
    share = room // max(len(reply.parts), 1) - 6
    return note + "\n\n".join(
        f"{number}. {_single_html(part, messages, citing, share, listed=True)}"
        for number, part in enumerate(reply.parts, 1)
    )


def _single_html(
    reply: Reply, messages: Mapping[str, str], citing: Citing | None, room: int, *, listed: bool
) -> str:
    """One reply in at most `room` visible characters.

    `listed`: the reply is a part of a several-question message, which has no buttons of its
    own, so the suggestions or sections a part offers are written out under its text.
    """
    source = reply.source
    if citing is not None:  # with several reports, the one it answers from
        citing = citing.of(reply.entry.report if reply.entry is not None else reply.report)
    if reply.kind not in _CITING_KINDS or source is None:
        lines = [reply.text]
        if listed and reply.kind is Kind.SUGGEST:
            lines += [f"· {entry.questions[0]}" for entry in reply.suggestions]
        elif listed and reply.kind is Kind.OVERVIEW:
            lines += [f"· {entry.topic}" for entry in reply.suggestions]
        return esc(clip("\n".join(lines), room))
    gap = "\n" if listed else "\n\n"
    line = _citation(source, citing)
    cut = room // 2 if len(line) > room // 2 else 0
    shown = clip(line, cut) if cut else line
    body_room = room - len(f"{gap}{messages['source_label']}：{shown}")
    body = esc(clip(reply.text, max(body_room, 1)))
    return f"{body}{gap}{source_html(source, messages, citing, cut=cut)}"


# Room for text that is not to be cut (`reply_html(limit=None)`): more than any reply holds.
_UNLIMITED = 1 << 30
# What Telegram HTML is made of: a tag, an entity (one visible character), or one character.
_HTML_ATOM_RE = re.compile(r"<[^>]*>|&#?\w+;|.", re.DOTALL)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z0-9-]+)")
# Where a long text is best split after paragraphs (a blank line): after a line, a sentence, a
# clause or a word, in that order of preference.
_BREAK_MARKS = ("\n", "。！？；!?;", " ，,、")


def split_html(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` (Telegram HTML) as messages of at most `limit` visible characters each.

    A text that fits is returned as it is. A longer one is split between paragraphs if it can,
    else between lines, sentences or words, and only as a last resort inside a word; never
    inside a tag or an entity (`&lt;`). Every part is valid HTML on its own: tags open at a
    split are closed at the end of one part and opened again at the start of the next, so a
    source line split in two stays italic in both.
    """
    atoms = _HTML_ATOM_RE.findall(text)
    if sum(1 for atom in atoms if not _is_tag(atom)) <= limit:
        return [text]
    parts: list[str] = []
    opened: list[tuple[str, str]] = []  # (name, opening tag) of the tags open where a part starts
    start = 0
    while start < len(atoms):
        cut = _cut(atoms, start, limit)
        body = "".join(tag for _, tag in opened) + "".join(atoms[start:cut])
        for atom in atoms[start:cut]:
            _track(atom, opened)
        closing = "".join(f"</{name}>" for name, _ in reversed(opened))
        if _visible(atoms[start:cut]).strip():
            parts.append(body + closing)
        start = cut
    return parts


def _is_tag(atom: str) -> bool:
    return atom.startswith("<") and atom.endswith(">") and len(atom) > 1


def _visible(atoms: Sequence[str]) -> str:
    return "".join(html.unescape(atom) for atom in atoms if not _is_tag(atom))


def _track(atom: str, opened: list[tuple[str, str]]) -> None:
    """Keep `opened` (the stack of open tags) up to date past `atom`."""
    match = _TAG_RE.match(atom) if _is_tag(atom) else None
    if match is None:
        return
    closing, name = match[1] == "/", match[2].lower()
    if not closing:
        opened.append((name, atom))
    elif opened and opened[-1][0] == name:
        opened.pop()


def _cut(atoms: Sequence[str], start: int, limit: int) -> int:
    """Where the part starting at `atoms[start]` ends: after the best break that leaves it at
    least half full (see _BREAK_MARKS), else after `limit` visible characters."""
    end, seen = start, 0
    while end < len(atoms):
        if not _is_tag(atoms[end]):
            if seen == limit:
                break
            seen += 1
        end += 1
    if end == len(atoms):
        return end
    for marks in ("\n\n", *_BREAK_MARKS):
        width = seen
        for index in range(end, start, -1):
            if width < limit // 2:
                break
            last = atoms[index - 1]
            if marks == "\n\n":
                found = last == "\n" and index - 2 >= start and atoms[index - 2] == "\n"
            else:
                found = last in marks
            if found:
                return index
            if not _is_tag(last):
                width -= 1
    return end


def problems_html(header: str, problems: Sequence[Problem]) -> str:
    """A header and as many `file:line: message` lines as fit in one message."""
    lines = [esc(header)]
    size = len(lines[0])
    for shown, problem in enumerate(problems):
        line = f"<code>{esc(problem)}</code>"
        if size + len(line) > MAX_TEXT:
            lines.append(f"…（还有 {len(problems) - shown} 条，改好上面这些后再发 /reload 查看）")
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def why_html(reply: Reply, ranked: Sequence[Candidate], thresholds: str) -> str:
    """The admin's /why: what the question became, who competed, and why this outcome won."""
    lines = [
        f"<b>问题</b>：{esc(reply.question)}",
        f"<b>规范化后</b>：{esc(reply.normalised or '（空）')}",
        f"<b>结果</b>：{esc(reply.kind.value)}",
    ]
    if reply.understood:
        lines.insert(1, f"<b>连同上一个问题理解为</b>：{esc(reply.understood)}")
    if reply.kind is Kind.REFERRAL and reply.referral is not None:
        lines.append(f"<b>原因</b>：命中转介规则 <code>{esc(reply.referral.id)}</code>")
    elif reply.match is not None:
        lines.append(f"<b>原因</b>：{esc(reply.match.reason)}")
    elif reply.kind is Kind.SMALL_TALK:
        lines.append("<b>原因</b>：闲聊（问候、感谢、道别等），不当作提问")
    elif reply.kind is Kind.EMPTY:
        lines.append("<b>原因</b>：问题是空的")
    elif reply.kind is Kind.TOO_LONG:
        lines.append("<b>原因</b>：问题超过长度上限，没有匹配")
    best = reply.match.best if reply.match else None
    if reply.kind is Kind.ANSWER and best is not None:
        if reply.entry is not None and reply.entry.id != best.entry.id:
            lines.append(f"<b>回答的条目</b>：<code>{esc(reply.entry.id)}</code>")
        else:
            lines.append(
                f"<b>匹配</b>：条目 <code>{esc(best.entry.id)}</code> 的问法「{esc(best.phrase)}」"
            )
    if ranked:
        lines.append("<b>候选</b>（置信度；分数 = 问题覆盖 × 问法覆盖 × 相似度的组合）：")
        for number, candidate in enumerate(ranked, 1):
            lines.append(
                f"{number}. <code>{esc(candidate.entry.id)}</code> 置信度 "
                f"{candidate.confidence:.2f}，分数 {candidate.score:.2f}"
                f"（问题覆盖 {candidate.query_coverage:.2f}，问法覆盖 "
                f"{candidate.phrase_coverage:.2f}，相似度 {candidate.similarity:.2f}）"
                f"「{esc(candidate.phrase)}」"
            )
    elif reply.match is not None:
        lines.append("<b>候选</b>：没有")
    lines.append(f"<b>阈值</b>：{esc(thresholds)}")
    return "\n".join(lines)
