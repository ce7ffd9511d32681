"""Inline keyboards and the callback data behind their buttons.

Callback data is at most 64 bytes and comes back from the client, which a modified client can
forge. So every kind of button has one short ASCII format with a strict pattern, built and
parsed only here, and handlers also check (`offered`) that the data really was on the message
the press came from: Telegram attaches its own copy of that message, keyboard included, so a
forged press is caught even when it is well formed.

Formats (`ref` is the logged question's reference, `bot.questionlog.records.new_ref`, chosen before the
reply is sent so the answer never waits for the log):
    T:<page>              the browse menu: the report's chapters (bot/answering/browse.py), one page of
                          them; for a report of one chapter, that chapter's sections; with
                          several reports side by side, the reports (latest first)
    D:<year>:<page>       with several reports: report <year>'s chapters, as T: for one report
    C:<chapter>:<page>    one chapter's sections; <chapter> is a short hash of its title (and
                          its report's key, with several reports)
    P:<section>:<page>    one section's entries; <section> is a short hash of its title (and
                          its report's key)
    E:<entry>             browse one entry (edits the menu in place, with a back button)
    R:<entry>             a related entry or a close runner-up under an answer (sent as a new
                          message)
    F:<ref>:<1|0>         有帮助 / 没帮助 for the logged question <ref>
    N:<ref>:<a|b|c>       after 没帮助, what the person does next: a = ask again in other words,
                          b = browse the report, c = the official channel (bot.questionlog.protocol's
                          FEEDBACK_CHOICES, in that order)
    S:<ref>:<entry>       the person picked suggestion <entry> for the logged question <ref>
                          (a "您是不是想问" suggestion, or a section of a broad word's overview)

Labels stay within MAX_LABEL_WIDTH (`label`): a button Telegram has to cut on a phone hides
the words that tell two buttons apart.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.answering.browse import Chapter, chapter_label, chapters, reports, section_label, several
from bot.answering.document import short_section
from bot.answering.engine import Kind, Reply
from bot.answering.knowledge import Entry, KnowledgeBase, Section, fill
from bot.answering.related import offers
from bot.questionlog.protocol import FEEDBACK_CHOICES

MAX_CALLBACK_BYTES = 64
# Sections or entries per page of a chapter or section.
PAGE_SIZE = 8
# Chapters per page of the first level, which /start shows: with a page button, at most six.
MENU_PAGE_SIZE = 5
# A label's width in half-width cells (a Chinese character takes two): 16 Chinese characters,
# what a one-button row shows uncut on a 390 px wide phone screen.
MAX_LABEL_WIDTH = 32
_ENTRY = r"[a-z0-9][a-z0-9-]{0,47}"  # bot.answering.knowledge's id rule
_REF = r"[A-Za-z0-9_-]{6,13}"  # new_ref() makes 11 characters
_PAGE = r"(0|[1-9][0-9]{0,3})"
# The letters of the N: buttons, one per bot.questionlog.protocol.FEEDBACK_CHOICES, in the same order.
_CHOICE_LETTERS = "abc"
NEXT_STEPS: Mapping[str, str] = dict(zip(_CHOICE_LETTERS, FEEDBACK_CHOICES, strict=True))

TOPICS_RE = re.compile(rf"^T:{_PAGE}$")
REPORT_RE = re.compile(rf"^D:([0-9]{{4}}):{_PAGE}$")
CHAPTER_RE = re.compile(rf"^C:([0-9a-f]{{8}}):{_PAGE}$")
SECTION_RE = re.compile(rf"^P:([0-9a-f]{{8}}):{_PAGE}$")
ENTRY_RE = re.compile(rf"^E:({_ENTRY})$")
RELATED_RE = re.compile(rf"^R:({_ENTRY})$")
FEEDBACK_RE = re.compile(rf"^F:({_REF}):([01])$")
NEXT_STEP_RE = re.compile(rf"^N:({_REF}):([{_CHOICE_LETTERS}])$")
SUGGESTION_RE = re.compile(rf"^S:({_REF}):({_ENTRY})$")


def checked(data: str) -> str:
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def topics_data(page: int) -> str:
    return checked(f"T:{page}")


def report_data(report: str, page: int = 0) -> str:
    return checked(f"D:{report}:{page}")


def chapter_data(title: str, page: int = 0, report: str = "") -> str:
    return checked(f"C:{section_key(title, report)}:{page}")


def section_data(title: str, page: int = 0, report: str = "") -> str:
    return checked(f"P:{section_key(title, report)}:{page}")


def entry_data(entry_id: str) -> str:
    return checked(f"E:{entry_id}")


def related_data(entry_id: str) -> str:
    return checked(f"R:{entry_id}")


def feedback_data(ref: str, helpful: bool) -> str:
    return checked(f"F:{ref}:{int(helpful)}")


def next_step_data(ref: str, choice: str) -> str:
    """`choice` is one of bot.questionlog.protocol.FEEDBACK_CHOICES."""
    letter = _CHOICE_LETTERS[FEEDBACK_CHOICES.index(choice)]
    return checked(f"N:{ref}:{letter}")


def suggestion_data(ref: str, entry_id: str) -> str:
    # The longest id (48) with the longest ref (13) still fits: 2 + 13 + 1 + 48 = 64 bytes.
    return checked(f"S:{ref}:{entry_id}")


def section_key(title: str, report: str = "") -> str:
    """A stable 8-character handle for a section title (Chinese titles pass 64 bytes quickly);
    with several reports, for the title in report `report` (their titles are mostly alike)."""
    text = f"{report}\0{title}" if report else title
    return hashlib.blake2s(text.encode(), digest_size=4).hexdigest()


def offered(query: CallbackQuery) -> bool:
    """Whether the pressed data is really one of the buttons of the message it came from."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None or not query.data:
        return False
    return any(
        button.callback_data == query.data
        for row in message.reply_markup.inline_keyboard
        for button in row
    )


def width(text: str) -> int:
    """How wide `text` shows, in half-width cells: Chinese characters and emoji count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fits(text: str) -> bool:
    return width(text) <= MAX_LABEL_WIDTH


def label(text: str) -> str:
    """`text` as a button label: whole when it fits MAX_LABEL_WIDTH, else cut with "…"."""
    if fits(text):
        return text
    kept, used = [], 2  # room for the ellipsis
    for ch in text:
        used += width(ch)
        if used > MAX_LABEL_WIDTH:
            break
        kept.append(ch)
    return "".join(kept) + "…"


def entry_label(entry: Entry) -> str:
    """An entry as a suggestion: its first phrasing when that fits a button, else its topic."""
    question = entry.questions[0]
    return question if fits(question) else label(entry.topic)


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label(text), callback_data=data)


# --- the browse menu: chapter -> section -> entry ---------------------------------------------


def _pages(count: int, size: int) -> int:
    return max(1, -(-count // size))


def clamp_page(page: int, count: int, size: int = PAGE_SIZE) -> int:
    return min(max(page, 0), _pages(count, size) - 1)


def _paged(
    items: Sequence[tuple[str, str]],
    page: int,
    size: int,
    messages: Mapping[str, str],
    data: Callable[[int], str],
) -> list[list[InlineKeyboardButton]]:
    """One page of (label, data) buttons, one per row, then previous/next when there are more."""
    page = clamp_page(page, len(items), size)
    rows = [[_button(text, item)] for text, item in items[page * size : (page + 1) * size]]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(messages["button_prev"], callback_data=data(page - 1)))
    if page + 1 < _pages(len(items), size):
        nav.append(InlineKeyboardButton(messages["button_next"], callback_data=data(page + 1)))
    if nav:
        rows.append(nav)
    return rows


def _back(data: str, messages: Mapping[str, str]) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(messages["button_back"], callback_data=data)]


def find_chapter(kb: KnowledgeBase, key: str) -> Chapter | None:
    """The chapter whose key is `key`, in any report; None after a reload removed it."""
    outline = [c for report in reports(kb) for c in chapters(kb, report)]
    return next((c for c in outline if section_key(c.title, c.report) == key), None)


def find_section(kb: KnowledgeBase, key: str) -> Section | None:
    """The section whose key is `key`; None after a reload removed it."""
    return next((s for s in kb.sections() if section_key(s.title, s.report) == key), None)


def _first_level(kb: KnowledgeBase, report: str, page: int) -> str:
    """The data of a report's first level: the menu itself, or with several reports that
    report's page (`D:`)."""
    return report_data(report, page) if several(kb) else topics_data(page)


def _section_target(section: Section) -> str:
    return section_data(section.title, 0, section.report)


def _chapter_target(chapter: Chapter) -> str:
    """A chapter of one section opens that section; the others list their sections."""
    if len(chapter.sections) == 1:
        return _section_target(chapter.sections[0])
    return chapter_data(chapter.title, 0, chapter.report)


def _section_items(chapter: Chapter, messages: Mapping[str, str]) -> list[tuple[str, str]]:
    summary = messages["browse_summary"]
    return [(section_label(s, chapter, summary), _section_target(s)) for s in chapter.sections]


def menu_keyboard(
    kb: KnowledgeBase, page: int, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """The first level of the browse menu (what /start and /topics show): the chapters, the
    document's own information last; a report of one chapter lists its sections instead. With
    several reports side by side, the reports, latest first."""
    if several(kb):
        items = [
            (fill(messages["button_report"], year=part.year), report_data(part.key))
            for part in reversed(kb.reports)
        ]
        return InlineKeyboardMarkup(_paged(items, page, MENU_PAGE_SIZE, messages, topics_data))
    return report_keyboard(kb, reports(kb)[0], page, messages)


def report_keyboard(
    kb: KnowledgeBase, report: str, page: int, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """A report's chapters (its sections, for a report of one chapter); with several reports,
    and a button back to the choice of report."""
    outline = chapters(kb, report)
    if len(outline) == 1:
        items = _section_items(outline[0], messages)
    else:
        document = messages["browse_document"]
        items = [(chapter_label(c, document), _chapter_target(c)) for c in outline]
    rows = _paged(items, page, MENU_PAGE_SIZE, messages, lambda p: _first_level(kb, report, p))
    if several(kb):
        position = reports(kb).index(report) if report in reports(kb) else 0
        rows.append(_back(topics_data(position // MENU_PAGE_SIZE), messages))
    return InlineKeyboardMarkup(rows)


def chapter_title_text(chapter: Chapter, messages: Mapping[str, str]) -> str:
    """The heading shown above a chapter's sections (plain text)."""
    return messages["browse_document"] if chapter.is_document else chapter.title


def chapter_keyboard(
    kb: KnowledgeBase, chapter: Chapter, page: int, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """One page of a chapter's sections, by their own headings, and back to the chapters."""
    rows = _paged(
        _section_items(chapter, messages),
        page,
        PAGE_SIZE,
        messages,
        lambda p: chapter_data(chapter.title, p, chapter.report),
    )
    outline = chapters(kb, chapter.report)
    index = next((n for n, c in enumerate(outline) if c.title == chapter.title), 0)
    rows.append(_back(_first_level(kb, chapter.report, index // MENU_PAGE_SIZE), messages))
    return InlineKeyboardMarkup(rows)


def _section_parent(kb: KnowledgeBase, section: Section) -> str:
    """Where back leads from a section: its chapter's page that lists it, or the first level
    when that level lists the section itself (one chapter, or a chapter of one section)."""
    outline = chapters(kb, section.report)
    for chapter_index, chapter in enumerate(outline):
        titles = [s.title for s in chapter.sections]
        if section.title not in titles:
            continue
        position = titles.index(section.title)
        if len(outline) == 1:
            return _first_level(kb, section.report, position // MENU_PAGE_SIZE)
        if len(titles) == 1:
            return _first_level(kb, section.report, chapter_index // MENU_PAGE_SIZE)
        return chapter_data(chapter.title, position // PAGE_SIZE, chapter.report)
    return topics_data(0)


def section_keyboard(
    kb: KnowledgeBase, section: Section, page: int, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """One page of a section's entries (by topic), with navigation and back."""
    items = [(entry.topic, entry_data(entry.id)) for entry in section.entries]
    rows = _paged(
        items, page, PAGE_SIZE, messages, lambda p: section_data(section.title, p, section.report)
    )
    rows.append(_back(_section_parent(kb, section), messages))
    return InlineKeyboardMarkup(rows)


def browse_entry_keyboard(
    kb: KnowledgeBase, entry: Entry, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """Under an entry opened from the menu: a few related entries it does not already answer,
    then back to where it came from (a section of one entry is skipped on the way in, so back
    skips it too)."""
    rows = [
        [_button(_offer_text(offer.entry, "related", messages), entry_data(offer.entry.id))]
        for offer in offers(kb, entry, entry.answer)
    ]
    section = find_section(kb, section_key(entry.source, entry.report))
    if section is None:
        back = topics_data(0)
    elif len(section.entries) == 1:
        back = _section_parent(kb, section)
    else:
        position = [e.id for e in section.entries].index(entry.id)
        back = section_data(section.title, position // PAGE_SIZE, section.report)
    rows.append(_back(back, messages))
    return InlineKeyboardMarkup(rows)


# --- under answers --------------------------------------------------------------------------


def _offer_text(other: Entry, kind: str, messages: Mapping[str, str]) -> str:
    template = messages["button_also" if kind == "also" else "button_related"]
    return fill(template, topic=other.topic, question=other.questions[0])


def answer_keyboard(
    kb: KnowledgeBase,
    entry: Entry,
    ref: str | None,
    messages: Mapping[str, str],
    also: Sequence[Entry] = (),
    shown: str | None = None,
) -> InlineKeyboardMarkup | None:
    """Under an answer: at most three other entries (close runners-up first, then related;
    none whose facts the answer already states, `bot.answering.related.offers`), then 有帮助 / 没帮助 for
    the question logged as `ref` (if any).

    Args:
        shown: the answer as sent, when it is not just the entry's answer.
    """
    rows = [
        [_button(_offer_text(offer.entry, offer.kind, messages), related_data(offer.entry.id))]
        for offer in offers(kb, entry, shown or entry.answer, also)
    ]
    if ref is not None:
        rows.append(_feedback_row(ref, messages))
    return InlineKeyboardMarkup(rows) if rows else None


def _feedback_row(ref: str, messages: Mapping[str, str]) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(messages["button_helpful"], callback_data=feedback_data(ref, True)),
        InlineKeyboardButton(
            messages["button_not_helpful"], callback_data=feedback_data(ref, False)
        ),
    ]


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard minus its feedback row, once the person has rated the answer."""
    if markup is None:
        return None
    rows = [
        list(row)
        for row in markup.inline_keyboard
        if not any(FEEDBACK_RE.match(str(b.callback_data or "")) for b in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def next_step_keyboard(
    ref: str, messages: Mapping[str, str], *, channel: bool = True
) -> InlineKeyboardMarkup:
    """After 没帮助: ask again, browse, or (when there is one) the official channel."""
    texts = {
        "ask_again": messages["button_ask_again"],
        "browse": messages["button_topics"],
        "channel": messages["button_channel"],
    }
    choices = [c for c in FEEDBACK_CHOICES if channel or c != "channel"]
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts[c], callback_data=next_step_data(ref, c)) for c in choices]]
    )


def reply_keyboard(
    kb: KnowledgeBase, reply: Reply, ref: str, messages: Mapping[str, str]
) -> InlineKeyboardMarkup | None:
    """The buttons under the bot's reply to a question logged as `ref`, by kind of reply."""
    topics = [InlineKeyboardButton(messages["button_topics"], callback_data=topics_data(0))]
    if reply.kind is Kind.ANSWER and reply.entry is not None:
        return answer_keyboard(kb, reply.entry, ref, messages, also=reply.also, shown=reply.text)
    if reply.kind is Kind.SUGGEST:
        return suggestions_keyboard(reply.suggestions, ref)
    if reply.kind is Kind.OVERVIEW:
        return overview_keyboard(reply.suggestions, ref, messages)
    if reply.kind is Kind.PARTIAL:
        return InlineKeyboardMarkup([topics, _feedback_row(ref, messages)])
    if reply.kind in (Kind.PASSAGE, Kind.MULTI):
        return InlineKeyboardMarkup([_feedback_row(ref, messages)])
    if reply.kind in (Kind.NONE, Kind.SMALL_TALK):
        return InlineKeyboardMarkup([topics])
    return None


def suggestions_keyboard(entries: Sequence[Entry], ref: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_button(entry_label(entry), suggestion_data(ref, entry.id))] for entry in entries]
    )


def overview_keyboard(
    entries: Sequence[Entry], ref: str, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """One button per section a broad word leads to, each opening that section's entry; the
    label names the section and the entry's topic, or the section alone when both do not fit.

    A press is a suggestion taken (`S:`), so the log shows which part of the report people
    chose after a one-word question.
    """
    rows = []
    for entry in entries:
        section = short_section(entry.source)
        text = fill(messages["button_overview"], section=section, topic=entry.topic)
        rows.append([_button(text if fits(text) else section, suggestion_data(ref, entry.id))])
    return InlineKeyboardMarkup(rows)
