"""Inline keyboards and the callback data behind their buttons.

Callback data is at most 64 bytes and comes back from the client, which a modified client can
forge. So every kind of button has one short ASCII format with a strict pattern, built and
parsed only here, and handlers also check (`offered`) that the data really was on the message
the press came from: Telegram attaches its own copy of that message, keyboard included, so a
forged press is caught even when it is well formed.

Formats (`ref` is the logged question's reference, `bot.store.new_ref`, chosen before the
reply is sent so the answer never waits for the log):
    T:<page>              the browse menu (the report's sections), one page of it
    P:<section>:<page>    one section's entries; <section> is a short hash of its title
    E:<entry>             browse one entry (edits the menu in place, with a back button)
    R:<entry>             a related entry or a close runner-up ("您可能还想了解") under an
                          answer (sent as a new message)
    F:<ref>:<1|0>         有帮助 / 没帮助 for the logged question <ref>
    S:<ref>:<entry>       the person picked suggestion <entry> for the logged question <ref>
                          (a "您是不是想问" suggestion, or a section of a broad word's overview)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.engine import Kind, Reply, short_section
from bot.knowledge import Entry, KnowledgeBase, Section, fill

MAX_CALLBACK_BYTES = 64
PAGE_SIZE = 8
# Button labels longer than this are cut: Telegram shows about this much on a phone anyway.
MAX_LABEL = 40
_ENTRY = r"[a-z0-9][a-z0-9-]{0,47}"  # bot.knowledge's id rule
_REF = r"[A-Za-z0-9_-]{6,13}"  # new_ref() makes 11 characters

TOPICS_RE = re.compile(r"^T:(0|[1-9][0-9]{0,3})$")
SECTION_RE = re.compile(r"^P:([0-9a-f]{8}):(0|[1-9][0-9]{0,3})$")
ENTRY_RE = re.compile(rf"^E:({_ENTRY})$")
RELATED_RE = re.compile(rf"^R:({_ENTRY})$")
FEEDBACK_RE = re.compile(rf"^F:({_REF}):([01])$")
SUGGESTION_RE = re.compile(rf"^S:({_REF}):({_ENTRY})$")


def _checked(data: str) -> str:
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def topics_data(page: int) -> str:
    return _checked(f"T:{page}")


def section_data(title: str, page: int = 0) -> str:
    return _checked(f"P:{section_key(title)}:{page}")


def entry_data(entry_id: str) -> str:
    return _checked(f"E:{entry_id}")


def related_data(entry_id: str) -> str:
    return _checked(f"R:{entry_id}")


def feedback_data(ref: str, helpful: bool) -> str:
    return _checked(f"F:{ref}:{int(helpful)}")


def suggestion_data(ref: str, entry_id: str) -> str:
    # The longest id (48) with the longest ref (13) still fits: 2 + 13 + 1 + 48 = 64 bytes.
    return _checked(f"S:{ref}:{entry_id}")


def section_key(title: str) -> str:
    """A stable 8-character handle for a section title (Chinese titles pass 64 bytes quickly)."""
    return hashlib.blake2s(title.encode(), digest_size=4).hexdigest()


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


def label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


# --- the browse menu: section -> entry -> answer -------------------------------------------


def find_section(kb: KnowledgeBase, key: str) -> tuple[int, Section] | None:
    """The section (and its position) whose key is `key`; None after a reload removed it."""
    for index, section in enumerate(kb.sections()):
        if section_key(section.title) == key:
            return index, section
    return None


def _pages(count: int) -> int:
    return max(1, -(-count // PAGE_SIZE))


def clamp_page(page: int, count: int) -> int:
    return min(max(page, 0), _pages(count) - 1)


def _nav(
    page: int, count: int, messages: Mapping[str, str], data: Callable[[int], str]
) -> list[InlineKeyboardButton]:
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(messages["button_prev"], callback_data=data(page - 1)))
    if page + 1 < _pages(count):
        row.append(InlineKeyboardButton(messages["button_next"], callback_data=data(page + 1)))
    return row


def sections_keyboard(
    kb: KnowledgeBase, page: int, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """One page of the report's sections, one per row, with previous/next buttons."""
    sections = kb.sections()
    page = clamp_page(page, len(sections))
    shown = sections[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [
        [InlineKeyboardButton(label(section.title), callback_data=section_data(section.title))]
        for section in shown
    ]
    nav = _nav(page, len(sections), messages, topics_data)
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows)


def section_keyboard(
    section: Section, index: int, page: int, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """One page of a section's entries (by topic), with navigation and back to the menu."""
    page = clamp_page(page, len(section.entries))
    shown = section.entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [
        [InlineKeyboardButton(label(entry.topic), callback_data=entry_data(entry.id))]
        for entry in shown
    ]
    nav = _nav(page, len(section.entries), messages, lambda p: section_data(section.title, p))
    if nav:
        rows.append(nav)
    back = topics_data(index // PAGE_SIZE)
    rows.append([InlineKeyboardButton(messages["button_back"], callback_data=back)])
    return InlineKeyboardMarkup(rows)


def browse_entry_keyboard(
    kb: KnowledgeBase, entry: Entry, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """Under an entry opened from the menu: its related entries, then back to where it came from.

    A section with a single entry is skipped on the way in, so back leads to the menu.
    """
    rows = [
        [
            InlineKeyboardButton(
                label(fill(messages["button_related"], question=other.questions[0])),
                callback_data=entry_data(other.id),
            )
        ]
        for other in _related(kb, entry)
    ]
    found = find_section(kb, section_key(entry.source))
    if found is None:
        back = topics_data(0)
    else:
        index, section = found
        single = len(section.entries) == 1
        back = topics_data(index // PAGE_SIZE) if single else section_data(section.title)
    rows.append([InlineKeyboardButton(messages["button_back"], callback_data=back)])
    return InlineKeyboardMarkup(rows)


# --- under answers --------------------------------------------------------------------------


def _related(kb: KnowledgeBase, entry: Entry) -> list[Entry]:
    return [kb.by_id[i] for i in entry.related if i in kb.by_id and i != entry.id]


def answer_keyboard(
    kb: KnowledgeBase,
    entry: Entry,
    ref: str | None,
    messages: Mapping[str, str],
    also: Sequence[Entry] = (),
) -> InlineKeyboardMarkup | None:
    """Under an answer: the close runners-up (`also`, "您可能还想了解"), the entry's related
    entries, then 有帮助 / 没帮助 for the question logged as `ref` (if any).

    A runner-up is offered like a related entry (a press sends its answer as a new message,
    keeping the first), and an entry offered as both shows once, as a runner-up.
    """
    offered: set[str] = {entry.id}
    rows: list[list[InlineKeyboardButton]] = []
    for template, others in (("button_also", also), ("button_related", _related(kb, entry))):
        for other in others:
            if other.id in offered:
                continue
            offered.add(other.id)
            text = label(fill(messages[template], question=other.questions[0]))
            rows.append([InlineKeyboardButton(text, callback_data=related_data(other.id))])
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


def reply_keyboard(
    kb: KnowledgeBase, reply: Reply, ref: str, messages: Mapping[str, str]
) -> InlineKeyboardMarkup | None:
    """The buttons under the bot's reply to a question logged as `ref`, by kind of reply."""
    topics = [InlineKeyboardButton(messages["button_topics"], callback_data=topics_data(0))]
    if reply.kind is Kind.ANSWER and reply.entry is not None:
        return answer_keyboard(kb, reply.entry, ref, messages, also=reply.also)
    if reply.kind is Kind.SUGGEST:
        return suggestions_keyboard(reply.suggestions, ref)
    if reply.kind is Kind.OVERVIEW:
        return overview_keyboard(reply.suggestions, ref, messages)
    if reply.kind is Kind.PARTIAL:
        return InlineKeyboardMarkup([topics, _feedback_row(ref, messages)])
    if reply.kind in (Kind.PASSAGE, Kind.MULTI):
        return InlineKeyboardMarkup([_feedback_row(ref, messages)])
    if reply.kind is Kind.NONE:
        return InlineKeyboardMarkup([topics])
    return None


def suggestions_keyboard(entries: Sequence[Entry], ref: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(entry.questions[0]), callback_data=suggestion_data(ref, entry.id)
                )
            ]
            for entry in entries
        ]
    )


def overview_keyboard(
    entries: Sequence[Entry], ref: str, messages: Mapping[str, str]
) -> InlineKeyboardMarkup:
    """One button per section a broad word leads to, each opening that section's entry.

    A press is a suggestion taken (`S:`), so the log shows which part of the report people
    chose after a one-word question.
    """
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(
                        fill(
                            messages["button_overview"],
                            section=short_section(entry.source),
                            topic=entry.topic,
                        )
                    ),
                    callback_data=suggestion_data(ref, entry.id),
                )
            ]
            for entry in entries
        ]
    )
