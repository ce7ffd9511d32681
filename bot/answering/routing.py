"""Routing personal matters to the official channel that handles them.

A question about the report (复议申请有多少件) is answered from the report; a personal matter
(我要申请行政复议, 公司拖欠工资怎么办, 家里着火了) is not the report's business, and the kind
reply is the number to call. The channels, with the words that name each matter and the ways
people bring it up, live in knowledge/channels.yaml. Emergencies are checked first; a named
matter (投诉, 拖欠工资) refers unless the question is plainly about a fact of the report; a
matter described in other words is recognised by the same scorer as entries, and refers when
the question is personal, asks how to go about the matter, or finds nothing in the report (and
asks for no figure: 被拒收的有几件 asks the report, even when it has no answer). A
question that only names the matter's subject (行政复议 2019, 复议申请里不予受理的有几件) is about
the report: it gets the report's suggestions, not the channel. Pure: no Telegram, no database.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.answering.decision import DecisionModel
from bot.answering.knowledge import Entry, KnowledgeBase, Referral
from bot.answering.matcher import Matcher, MatchResult, Outcome
from bot.answering.text import clean

# A question is a fact of the report, not a complaint, when it all but repeats a stored
# phrasing: "信访答复被撤销" names 撤销 but asks about the report.
REPORT_SURE_SCORE = 0.85
# Asking for information is not a personal matter: 我想知道复议申请有多少件.
_ASKING_RE = re.compile(r"我想(?:知道|问问?|了解|请教)|请问|告诉我|我问一下|我问下|问一下")
# Someone speaking of their own affairs: 我, 我家, 我妈, 帮我, or harm done to them (被打了,
# 被拖欠); not a passive about the report (复议申请被受理了).
_PERSONAL_RE = re.compile(
    r"[我俺咱]|本人|家里|老公|老婆|孩子|父母|帮帮|"
    r"被(?:人)?(?:打|骗|欠|拖欠|辞退|开除|裁|偷|抢|罚款|占|拆|欺负|威胁|冤枉)"
)


# Asking how to go about something oneself: where, whom, how to apply, what to bring, whether
# one may. Not how the district did something (区里怎么给机关讲案例, 复议申请是怎么处理的,
# 怎么办的) nor how many.
_PROCEDURE_RE = re.compile(
    r"(?:怎么|怎样|如何)(?:去|才能|能)?(?:申请|办理?|提交?|提起|告|投诉|维权|起诉|复议)(?!的|了)"
    r"|怎么办|去哪|到哪|找谁|找哪|哪里(?:能|可以)?(?:申请|办|交|投诉|告)"
    r"|(?:什么|哪些)(?:材料|手续|证件)|能不能|可不可以|能(?:申请|复议|起诉|告)"
)
# Asking for a figure of the report: how many, what share.
_FIGURE_RE = re.compile(r"多少|几[件个起项家次人卷份条]|比例|占比|[比几]成|百分|\d")


def asks_procedure(question: str) -> bool:
    """Whether a question asks how to go about a matter, rather than for a figure of it."""
    text = clean(question)
    return bool(_PROCEDURE_RE.search(text)) and not _FIGURE_RE.search(text)


def is_personal(question: str) -> bool:
    """Whether a question speaks of the asker's own affairs (not just asks for information)."""
    return bool(_PERSONAL_RE.search(_ASKING_RE.sub(" ", clean(question))))


class Router:
    """Says which channel a question belongs to, if it is a matter for one."""

    def __init__(self, kb: KnowledgeBase, model: DecisionModel) -> None:
        self.channels = kb.replies.referrals
        entries = tuple(
            Entry(
                id=channel.id,
                topic=channel.name[:24],
                questions=channel.examples,
                answer=channel.handles or channel.name,
                source=channel.name,
                keywords=channel.triggers,
            )
            for channel in self.channels
            if channel.examples
        )
        self.matcher = (
            Matcher(KnowledgeBase(entries, kb.synonyms, kb.replies, kb.fingerprint), model=model)
            if entries
            else None
        )
        self._by_id = {channel.id: channel for channel in self.channels}

    def route(self, question: str, report: MatchResult) -> Referral | None:
        """The channel for `question`, given how the report's matcher read it (`report`)."""
        folded = _folded(question)
        named = [c for c in self.channels if any(_folded(t) in folded for t in c.triggers)]
        emergency = next((c for c in named if c.first), None)
        if emergency is not None:
            return emergency
        best = report.best
        report_sure = (
            report.outcome is Outcome.ANSWER
            and best is not None
            and best.score >= REPORT_SURE_SCORE
        )
        if named and not report_sure:
            return named[0]
        # Someone asking about their own affairs, or how to go about a matter, is looking for
        # the channel; anyone else is asking about the report, unless it has nothing at all.
        seeking = is_personal(question) or asks_procedure(question)
        if self.matcher is None or (report.outcome is not Outcome.NONE and not seeking):
            return None
        # How many of something there were (被直接拒收的有几件) is a fact asked of the report,
        # never a matter of one's own, even when the report has no answer to it.
        if not seeking and _FIGURE_RE.search(folded):
            return None
        described = self.matcher.match(question)
        if described.outcome is not Outcome.ANSWER or described.best is None:
            return None
        return self._by_id[described.best.entry.id]


@lru_cache(maxsize=4096)
def _folded(text: str) -> str:
    return clean(text).replace(" ", "")
