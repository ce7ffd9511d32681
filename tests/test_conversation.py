"""Small talk, routing personal matters, follow-ups and citations, through the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering.citation import cite, document_line
from bot.answering.engine import Engine, Kind, format_plain
from bot.answering.followup import FOLLOW_UP_SECONDS, Context, combine, may_follow_up
from bot.answering.knowledge import KnowledgeError, load_knowledge
from bot.answering.routing import asks_procedure, is_personal
from bot.answering.smalltalk import small_talk
from bot.config import SHIPPED_KNOWLEDGE

TABLE = load_knowledge(SHIPPED_KNOWLEDGE).replies.smalltalk


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("你好", "greeting"),
        ("您好呀！", "greeting"),
        ("在吗", "greeting"),
        ("谢谢啦～", "thanks"),
        ("好的谢谢", "thanks"),
        ("你是谁？", "who"),
        ("你好，你是谁", "who"),
        ("再见", "goodbye"),
        ("thank you!", "thanks"),
        ("👍👍", "emoji"),
    ],
)
def test_small_talk_is_recognised_by_its_kind(message: str, kind: str) -> None:
    assert small_talk(message, TABLE) == kind


@pytest.mark.parametrize(
    "message", ["你好，请问复议申请有多少件", "复议", "？？？", "谢谢你们的法律顾问团队"]
)
def test_anything_more_than_small_talk_is_a_question(message: str) -> None:
    assert small_talk(message, TABLE) is None


@pytest.mark.parametrize(
    "message",
    [
        "帮我写一首关于春天的诗",
        "帮我写一份年终总结",
        "请帮我起草一份通知",
        "写首诗",
        "Write me a poem",
    ],
)
def test_a_request_to_write_something_is_told_what_the_bot_does(
    shipped_engine: Engine, message: str
) -> None:
    """Whatever it asks for: 年终总结 is near 年度述职 in the report, which is no reason to quote
    the report back at someone who asked for a year-end summary."""
    assert small_talk(message, TABLE) == "writing"
    reply = shipped_engine.respond(message)
    assert reply.kind is Kind.SMALL_TALK and not reply.answered
    assert "报告里的问题" in reply.text


@pytest.mark.parametrize(
    "message", ["报告写了几份文件", "2019年制发了几份规范性文件", "帮我查一下复议申请有多少件"]
)
def test_a_question_naming_a_piece_of_writing_is_still_a_question(message: str) -> None:
    assert small_talk(message, TABLE) is None


def test_small_talk_gets_a_warm_reply_not_not_in_the_report(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("你好")
    assert reply.kind is Kind.SMALL_TALK and not reply.answered
    assert "没有找到答案" not in reply.text and "2019年" in reply.text  # a hint of what to ask


def test_a_greeting_before_a_question_answers_the_question(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("你好，2019年收到多少行政复议申请？")
    assert reply.kind is Kind.ANSWER and "29件" in reply.text


@pytest.mark.parametrize(
    ("question", "channel"),
    [
        ("家里着火了", "emergency"),
        ("公司拖欠工资怎么办", "labour-12333"),
        ("老板不发工资", "labour-12333"),
        ("离婚财产怎么分", "legal-12348"),
        ("我想投诉窗口工作人员", "hotline-12345"),
        ("我要申请行政复议", "reconsideration"),
    ],
)
def test_personal_matters_go_to_their_official_channel(
    shipped_engine: Engine, question: str, channel: str
) -> None:
    reply = shipped_engine.respond(question)
    assert reply.kind is Kind.REFERRAL and reply.referral is not None
    assert reply.referral.id == channel


def test_an_appeal_is_routed_with_what_the_report_says_of_reconsideration(
    shipped_engine: Engine,
) -> None:
    reply = shipped_engine.respond("我要申请行政复议")
    assert reply.entry is not None and reply.entry.answer in reply.text
    assert "区司法局" in reply.text


@pytest.mark.parametrize(
    "question",
    [
        "复议申请有多少件",
        "我想知道复议申请有多少件",
        "复议申请里有多少被受理了",
        "信访答复被撤销了吗",
    ],
)
def test_questions_about_the_report_are_never_swallowed_by_routing(
    shipped_engine: Engine, question: str
) -> None:
    assert shipped_engine.respond(question).kind is Kind.ANSWER


@pytest.mark.parametrize("question", ["怎么申请行政复议", "对处罚决定不服去哪里申请复议"])
def test_asking_how_to_go_about_a_matter_is_routed(shipped_engine: Engine, question: str) -> None:
    reply = shipped_engine.respond(question)
    assert reply.kind is Kind.REFERRAL and reply.referral is not None
    assert reply.referral.id == "reconsideration"


@pytest.mark.parametrize("question", ["行政复议 2019", "复议申请里不予受理的有几件"])
def test_naming_a_matters_subject_is_a_question_about_the_report(
    shipped_engine: Engine, question: str
) -> None:
    assert shipped_engine.respond(question).kind is not Kind.REFERRAL


def test_a_procedure_is_how_to_go_about_a_matter_not_a_figure_of_it() -> None:
    assert asks_procedure("怎么申请行政复议") and asks_procedure("找谁投诉")
    assert not asks_procedure("怎么申请的复议有多少件")
    assert not asks_procedure("区政府怎么给各级机关讲案例")


def test_asking_for_information_is_not_a_personal_matter() -> None:
    assert is_personal("我要申请行政复议") and is_personal("我被公司辞退了")
    assert not is_personal("我想知道复议申请有多少件") and not is_personal("复议申请被受理了几件")


def test_a_follow_up_is_read_with_the_previous_question(shipped_engine: Engine) -> None:
    first = shipped_engine.respond("行政诉讼案件有多少")
    context = first.context(now=100.0)
    assert context is not None and context.entry_id == "administrative-lawsuits"
    follow = shipped_engine.respond("出庭应诉率呢", context)
    assert follow.kind is Kind.ANSWER and "92.3%" in follow.text
    changed = shipped_engine.respond("那2018年呢", context)
    assert changed.kind is Kind.ANSWER and changed.understood.startswith("2018年")


def test_another_year_given_only_as_a_change_is_said_so(shipped_engine: Engine) -> None:
    first = shipped_engine.respond("2019年复议申请有多少件")
    reply = shipped_engine.respond("那2018年呢", first.context(now=0.0))
    assert reply.text.startswith("报告没有直接给出2018年的数字，只给出了与2018年相比的变化")
    assert "减少10件" in reply.text


def test_a_full_question_after_an_answer_is_read_on_its_own(shipped_engine: Engine) -> None:
    first = shipped_engine.respond("2019年复议申请有多少件")
    reply = shipped_engine.respond("区政府和哪些律师事务所签了协议", first.context(now=0.0))
    assert reply.entry is not None and reply.entry.id == "law-firms" and not reply.understood


def test_the_context_expires_and_only_short_messages_lean_on_it() -> None:
    context = Context("2019年复议申请有多少件", "reconsideration-applications", asked_at=0.0)
    assert context.current(FOLLOW_UP_SECONDS) is context
    assert context.current(FOLLOW_UP_SECONDS + 1) is None
    assert may_follow_up("那2018年呢") and may_follow_up("受理了几件")
    assert not may_follow_up("区政府和哪些律师事务所签了法律服务协议并代理了重大复议诉讼案件")
    assert combine("2019年复议申请有多少件", "那2018年的呢") == "2018年复议申请有多少件"


def test_citations_name_the_section_and_the_document(shipped_engine: Engine) -> None:
    document = shipped_engine.kb.document
    line = document_line(document)
    assert line == "《江汉区2019年法治政府建设工作报告》（江汉区政府，2020-01-25，文号：江政）"
    assert cite("二、存在问题", document) == f"二、存在问题；{line}"
    assert cite("二、存在问题", None) == "二、存在问题"
    reply = shipped_engine.respond("出庭应诉率是多少")
    assert format_plain(reply, "来源", document).endswith(line)


def test_english_stop_words_and_glossary_come_from_the_knowledge_base(
    shipped_engine: Engine,
) -> None:
    kb = shipped_engine.kb
    assert "the" in kb.stopwords and kb.synonyms["law firms"] == "律师事务所"
    reply = shipped_engine.respond("which law firms work with the government")
    assert reply.kind is Kind.ANSWER and "得伟君尚" in reply.text


def test_an_english_phrase_is_read_before_its_words(shipped_engine: Engine) -> None:
    """ "Credentials reviewed" is the 审核 of the officers, not their 证件; a pronoun says
    nothing of what is asked."""
    normalise = shipped_engine.matcher.normalise
    assert normalise("their credentials reviewed") == normalise("审核")
    assert normalise("credentials") == normalise("行政执法证件")
    reply = shipped_engine.respond(
        "How many law enforcement officers had their credentials reviewed?"
    )
    assert reply.kind is Kind.ANSWER and "1300" in reply.text


def test_a_channel_without_triggers_or_examples_is_refused(kb_dir: Path) -> None:
    (kb_dir / "channels.yaml").write_text(
        "channels:\n  - id: x\n    name: 热线\n    reply: 请拨打热线\n", encoding="utf-8"
    )
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(kb_dir)
    assert any("triggers 或 examples" in p.message for p in raised.value.problems)


def test_referrals_left_in_replies_yaml_are_pointed_to_channels_yaml(kb_dir: Path) -> None:
    path = kb_dir / "replies.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "referrals:\n  - id: x\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(kb_dir)
    assert any("channels.yaml" in p.message for p in raised.value.problems)


@pytest.mark.parametrize("question", ["明天天气怎么样", "公积金怎么提取", "复议"])
def test_a_new_subject_after_an_answer_is_not_read_as_a_follow_up(
    engine: Engine, question: str
) -> None:
    """The previous question must not carry a message that points elsewhere or nowhere."""
    context = engine.respond("法律顾问覆盖情况").context(now=0.0)
    reply = engine.respond(question, context)
    assert not reply.understood
    assert reply.entry is None or reply.entry.id != "legal-adviser-coverage"


@pytest.mark.parametrize("question", ["附近有什么好酒店", "今天天气怎么样"])
def test_a_message_sharing_no_word_with_the_last_answer_does_not_follow_it(
    shipped_engine: Engine, question: str
) -> None:
    """Among a message's leading candidates only those it shares a word with count: any entry
    leads a message that matches nothing, and the previous figures are no answer to it."""
    context = shipped_engine.respond("2019年收到多少行政复议申请").context(now=0.0)
    reply = shipped_engine.respond(question, context)
    assert not reply.understood and "29件" not in reply.text
    follow = shipped_engine.respond("受理了几件", context)
    assert follow.understood and "22件" in follow.text


def test_a_count_the_report_lacks_is_not_a_personal_matter(shipped_engine: Engine) -> None:
    """被拒收的复议申请有几件 asks the report for a figure: it is answered (拒收 is 不予受理),
    not sent to the channel for filing an application."""
    reply = shipped_engine.respond("被直接拒收的复议申请有几件")
    assert reply.kind is not Kind.REFERRAL
    assert reply.answered and "4件" in reply.text
    assert shipped_engine.respond("我要申请行政复议").kind is Kind.REFERRAL


@pytest.mark.parametrize("question", ["2加2等于几", "what is 2 plus 2?", "3×5=?", "100减去7是多少"])
def test_a_sum_is_not_in_the_report(shipped_engine: Engine, question: str) -> None:
    """两次 is 2次 in the index: a sum's digits must not quote a sentence that has them."""
    reply = shipped_engine.respond(question)
    assert reply.kind is Kind.NONE and not reply.answered


@pytest.mark.parametrize("question", ["2019年比2018年少了多少", "29件复议申请里受理了多少"])
def test_figures_in_a_question_are_no_sum(shipped_engine: Engine, question: str) -> None:
    assert shipped_engine.respond(question).answered
