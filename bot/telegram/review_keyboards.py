"""Keyboards and callback data of the admin loop (bot/telegram/review.py).

The same rules as bot/telegram/keyboards.py, where the people's buttons are: one short ASCII
format per button with a strict pattern, built and parsed only here, checked against the
message it came from; and, since these change the knowledge base, checked against the admin
list on every press. `<key>` is a cluster's stable key (bot.authoring.teaching.cluster_key), `<token>` a
previewed edit's (bot.questionlog.records.new_ref).

Formats:
    UL                    the unanswered clusters (the weekly digest's button): a new message
    U:<key>               one cluster's card, as a new message (from the list)
    UV:<key>              the card again, in place (back from picking an entry)
    UA:<key>              attach the cluster to its nearest entry: preview
    UO:<key>              pick another entry: the closest entries, and 按章节找
    UC:<key>:<page>       pick another entry: the report's sections
    UB:<key>:<section>    pick another entry: one section's entries (<section>: keyboards.section_key)
    UP:<key>:<entry>      attach the cluster to <entry>: preview
    US:<key>              add the synonym the cluster suggests: preview
    UI:<key>              ignore the cluster
    KY:<token>            确认 a previewed edit
    KN:<token>            取消 it
    KU                    /undo from the /history message: preview
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.answering.document import short_section
from bot.answering.knowledge import Entry, KnowledgeBase, Section
from bot.authoring.teaching import ReviewItem
from bot.review.report import Cluster
from bot.telegram.keyboards import PAGE_SIZE, checked, clamp_page, label, section_key

_KEY = r"[0-9a-f]{12}"
_ENTRY = r"[a-z0-9][a-z0-9-]{0,47}"
_TOKEN = r"[A-Za-z0-9_-]{6,13}"

LIST_RE = re.compile(r"^UL$")
CARD_RE = re.compile(rf"^U:({_KEY})$")
CARD_AGAIN_RE = re.compile(rf"^UV:({_KEY})$")
ATTACH_RE = re.compile(rf"^UA:({_KEY})$")
OTHER_RE = re.compile(rf"^UO:({_KEY})$")
SECTIONS_RE = re.compile(rf"^UC:({_KEY}):(0|[1-9][0-9]{{0,3}})$")
SECTION_RE = re.compile(rf"^UB:({_KEY}):([0-9a-f]{{8}})$")
PICK_RE = re.compile(rf"^UP:({_KEY}):({_ENTRY})$")
SYNONYM_RE = re.compile(rf"^US:({_KEY})$")
IGNORE_RE = re.compile(rf"^UI:({_KEY})$")
CONFIRM_RE = re.compile(rf"^KY:({_TOKEN})$")
CANCEL_RE = re.compile(rf"^KN:({_TOKEN})$")
UNDO_RE = re.compile(r"^KU$")
PATTERNS = (
    LIST_RE,
    CARD_RE,
    CARD_AGAIN_RE,
    ATTACH_RE,
    OTHER_RE,
    SECTIONS_RE,
    SECTION_RE,
    PICK_RE,
    SYNONYM_RE,
    IGNORE_RE,
    CONFIRM_RE,
    CANCEL_RE,
    UNDO_RE,
)


def _row(text: str, data: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(label(text), callback_data=checked(data))]


def list_button() -> InlineKeyboardMarkup:
    """Under the weekly digest."""
    return InlineKeyboardMarkup([_row("处理未回答的问题", "UL")])


def clusters_keyboard(
    clusters: Sequence[Cluster], items: Sequence[ReviewItem]
) -> InlineKeyboardMarkup:
    """Under the /unanswered list: one button per cluster, opening its card."""
    return InlineKeyboardMarkup(
        [
            _row(f"{cluster.number}. {cluster.examples[0]}（{cluster.count}次）", f"U:{item.key}")
            for cluster, item in zip(clusters, items, strict=True)
        ]
    )


def card_keyboard(
    item: ReviewItem, nearest: Entry | None, synonym: tuple[str, str] | None
) -> InlineKeyboardMarkup:
    rows = []
    if nearest is not None:
        rows.append(_row(f"归入「{nearest.topic}」", f"UA:{item.key}"))
    rows.append(_row("选其他条目…", f"UO:{item.key}"))
    if synonym is not None:
        canonical, variant = synonym
        rows.append(_row(f"同义词…（{variant}＝{canonical}）", f"US:{item.key}"))
    rows.append(_row("忽略", f"UI:{item.key}"))
    return InlineKeyboardMarkup(rows)


def candidates_keyboard(item: ReviewItem, entries: Sequence[Entry]) -> InlineKeyboardMarkup:
    rows = [_row(entry.topic, f"UP:{item.key}:{entry.id}") for entry in entries]
    rows.append(_row("按章节找…", f"UC:{item.key}:0"))
    rows.append(_row("« 返回", f"UV:{item.key}"))
    return InlineKeyboardMarkup(rows)


def sections_keyboard(item: ReviewItem, kb: KnowledgeBase, page: int) -> InlineKeyboardMarkup:
    sections = kb.sections()
    page = clamp_page(page, len(sections))
    shown = sections[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [
        _row(_section_label(s), f"UB:{item.key}:{section_key(s.title, s.report)}") for s in shown
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("‹ 上一页", callback_data=f"UC:{item.key}:{page - 1}"))
    if (page + 1) * PAGE_SIZE < len(sections):
        nav.append(InlineKeyboardButton("下一页 ›", callback_data=f"UC:{item.key}:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append(_row("« 返回", f"UO:{item.key}"))
    return InlineKeyboardMarkup(rows)


def _section_label(section: Section) -> str:
    """A section's own heading; with several reports, after its report's year."""
    heading = short_section(section.title)
    return f"{section.report}年·{heading}" if section.report else heading


def section_entries_keyboard(item: ReviewItem, section: Section) -> InlineKeyboardMarkup:
    rows = [_row(entry.topic, f"UP:{item.key}:{entry.id}") for entry in section.entries]
    rows.append(_row("« 返回", f"UC:{item.key}:0"))
    return InlineKeyboardMarkup(rows)


def confirm_keyboard(token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("确认", callback_data=checked(f"KY:{token}")),
                InlineKeyboardButton("取消", callback_data=checked(f"KN:{token}")),
            ]
        ]
    )


def undo_button() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([_row("撤销最近一次修改…", "KU")])
