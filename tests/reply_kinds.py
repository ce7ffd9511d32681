"""Real questions that get each kind of reply, for tests of the front ends.

Matching is tuned all the time, and a front-end test should not break because a question now
finds a slightly different reply. So a test that needs, say, a quote of the report takes the
first of a few questions that still gets one from its engine (`reply_of_kind`), and fails with
a clear message when none does any more: then add a question that does.
"""

from __future__ import annotations

from bot.answering.engine import Engine, Kind, Reply

# "also" stands for an answer with close runners-up ("您可能还想了解").
ALSO = "also"

QUESTIONS: dict[Kind | str, tuple[str, ...]] = {
    ALSO: ("执法案卷评查", "行政执法全过程记录", "執法案卷評查", "2019年法治政府建设稳步推进了吗"),
    Kind.PARTIAL: (
        "2020年收到多少行政复议申请",
        "2020年行政复议申请有多少",
        "洪山区出庭应诉率",
        "2021年马上办事项有多少",
    ),
    Kind.PASSAGE: (
        "立即督促相关行政单位规范改进到位",
        "2019年法治政府建设稳步推进了吗",
        "结合行政执法工作实际",
        "在加强宣传的同时",
        "组织区政府各部门",
    ),
    Kind.OVERVIEW: ("执法", "改革", "监督", "律师", "审查"),
    Kind.MULTI: (
        "2019年收到多少行政复议申请，负责人出庭应诉率是多少",
        "2019年复议申请有多少件？出庭应诉率又是多少？",
        "复议受案率和行政诉讼数量分别是多少",
        "马上办和网上办现在各有多少项",
    ),
}


def reply_of_kind(engine: Engine, kind: Kind | str) -> Reply:
    """The engine's reply to the first question of `QUESTIONS[kind]` that gets that kind.

    For `ALSO`, an answer with runners-up; for `Kind.MULTI`, one whose parts all cite a source.
    """
    for question in QUESTIONS[kind]:
        reply = engine.respond(question)
        if kind == ALSO:
            if reply.kind is Kind.ANSWER and reply.also:
                return reply
        elif kind is Kind.MULTI:
            if reply.kind is Kind.MULTI and all(part.source for part in reply.parts):
                return reply
        elif reply.kind is kind:
            return reply
    raise AssertionError(
        f"none of {QUESTIONS[kind]} gets a {kind} reply any more: add one that does to "
        "tests/reply_kinds.py"
    )
