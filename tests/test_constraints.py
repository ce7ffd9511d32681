from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering.constraints import (
    Asked,
    Conflict,
    ConflictKind,
    QuestionFrame,
    Statement,
    asking,
    conflicts,
    drafted,
    gives_count_of,
    speaking_of,
    state,
    vocabulary_of,
)
from bot.answering.engine import Engine, Kind
from bot.answering.text import clean
from tests.grading import load_set

# Questions that share nearly every word with an entry but ask what the report does not say.
NEAR_MISSES = [
    ("2020年收到多少件行政复议申请", ConflictKind.YEAR, "2020"),
    ("2018年区政府领导出庭应诉率是多少", ConflictKind.YEAR, "2018"),
    ("洪山区的出庭应诉率是多少", ConflictKind.PLACE, "洪山区"),
    ("武汉市全市2019年行政诉讼出庭应诉率是多少", ConflictKind.PLACE, "全市"),
    ("区政府给四家律师事务所付了多少法律服务费", ConflictKind.ASKED, Asked.MONEY.value),
    ("区政府法律顾问团队里的专家叫什么名字", ConflictKind.ASKED, Asked.PERSON.value),
    ("区政府请法律顾问团队一年要付多少律师费", ConflictKind.ASKED, Asked.MONEY.value),
    ("得伟君尚律师事务所的电话是多少", ConflictKind.ASKED, Asked.CONTACT.value),
    ("网上办的事项在哪个网站或者APP上办理", ConflictKind.ASKED, Asked.CONTACT.value),
    ("宪法宣誓仪式是哪天举行的", ConflictKind.ASKED, Asked.DATE.value),
    ("2019年区政府行政诉讼败诉了几件", ConflictKind.COUNTED, "败诉"),
    ("用信访答复方式回复信息公开申请的是哪几个单位", ConflictKind.ASKED, "organisation"),
    ("怎么报名参加宪法宣誓", ConflictKind.ASKED, Asked.PROCEDURE.value),
    ("165卷案卷里行政处罚案卷有多少卷", ConflictKind.ASKED, "breakdown"),
    ("62个部门及街道中街道有几个", ConflictKind.ASKED, "breakdown"),
    ("全区行政执法人员的平均年龄是多少", ConflictKind.COUNTED, "平均年龄"),
    ("2019年行政处罚的罚款总额是多少", ConflictKind.ASKED, Asked.MONEY.value),
    ("行政执法证丢了去哪里补办", ConflictKind.ASKED, Asked.PROCEDURE.value),
    ("行政执法证怎么考", ConflictKind.ASKED, Asked.PROCEDURE.value),
    ("江汉区的出庭应诉率在武汉各区排第几", ConflictKind.ASKED, Asked.RANK.value),
    ("申请行政复议需要准备什么", ConflictKind.ASKED, Asked.PROCEDURE.value),
]


@pytest.mark.parametrize(("question", "kind", "detail"), NEAR_MISSES)
def test_a_near_miss_gets_what_the_report_does_say_not_an_answer(
    shipped_engine: Engine, question: str, kind: ConflictKind, detail: str
) -> None:
    reply = shipped_engine.respond(question)
    assert reply.kind is Kind.PARTIAL and not reply.answered
    assert any(c.kind is kind and c.detail == detail for c in reply.conflicts), reply.conflicts
    assert reply.text.startswith("报告") and reply.entry is not None
    assert reply.entry.answer in reply.text  # says what the report does say


@pytest.mark.parametrize(
    "question",
    [
        "2019年收到多少件行政复议申请",  # the report's own year
        "2018年行政复议申请有多少件",  # given as a change from 2018
        "江汉区法律顾问覆盖了多少个部门",  # the report's own district
        "规范性文件发了几个",  # 几个 counts anything (1件)
        "区政府聘了几名法学专家",  # the count and the counted thing in one clause
        "江汉区2019年法治政府建设工作报告的发文日期是哪天",  # the title's year is no constraint
        "报告的标题是什么",  # a document name the answer holds
        "29件复议申请中受理了多少件",  # a part the answer does give (22件)
        "区政府和哪些律师事务所签署了法律服务协议",  # firms are organisations, not people
    ],
)
def test_questions_the_report_answers_raise_no_conflict(
    shipped_engine: Engine, question: str
) -> None:
    reply = shipped_engine.respond(question)
    assert reply.kind is Kind.ANSWER, (reply.kind, reply.conflicts)


def test_the_frame_reads_measures_years_and_kinds(shipped_engine: Engine) -> None:
    frame = shipped_engine.matcher.frame("去年执法案卷评查一共抽取了多少卷")
    assert Asked.COUNT in frame.asked and frame.measures == {"卷"}
    assert frame.years == {2019}  # 去年 is the report's year
    rate = shipped_engine.matcher.frame("受案率是多少")
    assert rate.asked == {Asked.PERCENT}  # a rate, not a count
    several = shipped_engine.matcher.frame("几个执法部门之间互相推诿扯皮怎么办")
    assert Asked.COUNT not in several.asked  # 几个 opening a clause means "several"


def test_a_close_runner_up_that_states_what_is_asked_is_the_answer(
    shipped_engine: Engine,
) -> None:
    """Constraints also choose between close siblings: the entry that holds the asked figure."""
    matcher = shipped_engine.matcher
    question = "执法案卷评查一共抽取了多少卷案卷"
    frame = matcher.frame(question)
    ranked = matcher.rank(question)
    holding = [c.entry.id for c in ranked[:3] if not matcher.conflicts(frame, c.entry)]
    reply = shipped_engine.respond(question)
    assert reply.kind is Kind.ANSWER and reply.entry is not None
    assert reply.entry.id in holding and "165卷" in reply.text


def test_a_generic_thing_counted_is_no_constraint(shipped_engine: Engine) -> None:
    matcher = shipped_engine.matcher
    frame = matcher.frame("跑一趟就能办完的事情现在有多少项")  # 事情, not a new subject
    assert not matcher.conflicts(frame, matcher.kb.by_id["one-visit-service"])


def test_a_place_the_segmenter_joins_onto_the_reports_words_is_no_place(
    shipped_engine: Engine,
) -> None:
    # 改革中 + 原区法制办 (the former district office), not 中原区 (a district of Zhengzhou).
    joined = shipped_engine.matcher.frame("这次改革中原区法制办并到了哪里")
    assert "中原区" not in joined.places
    named = shipped_engine.matcher.frame("郑州市中原区的出庭应诉率是多少")
    assert "中原区" in named.places


def test_a_count_of_a_self_counting_noun_needs_that_measure(shipped_engine: Engine) -> None:
    """案卷 is counted in 卷: the 19家 of the departments in the same sentence is not a count
    of case files, so that entry cannot answer 多少执法案卷 with its figure; an entry of the
    same section that counts the case files does."""
    reply = shipped_engine.respond("随机抽查了多少执法案卷")
    assert reply.answered
    assert "165卷" in reply.text


def test_an_action_done_to_all_its_things_answers_how_many(shipped_engine: Engine) -> None:
    """取消了多少 is answered by 全部取消 without a number; a count in a measure (取消了几项:
    the number of items) or of something the answer does not say was done in full still
    needs one."""
    matcher = shipped_engine.matcher
    in_full = _told(["对省、市要求取消的证明事项，江汉区已全部取消。"])
    assert not conflicts(matcher.frame("要求取消的证明事项取消了多少"), in_full)
    assert conflicts(matcher.frame("证明事项一共取消了几项"), in_full)
    asked = Conflict(ConflictKind.ASKED, Asked.COUNT.value)
    assert asked in conflicts(matcher.frame("证明事项清理了多少"), in_full)
    reply = shipped_engine.respond("省、市要求取消的证明事项取消了多少")
    assert reply.answered and "全部取消" in reply.text


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("随机抽取19家执法部门的各类案卷共计165卷。", True),
        # Neither the 19家 nor the bare 9 of 9月底 counts case files.
        ("抽取的是19家执法部门2019年1月至9月底期间办结的案卷。", False),
        ("案卷评查随机抽取了19家执法部门。", False),
    ],
)
def test_a_noun_ending_in_its_measure_is_counted_only_in_it(text: str, counts: bool) -> None:
    assert gives_count_of("执法案卷", state([text])) is counts


def test_what_sets_a_counted_thing_apart_must_be_stated_too(shipped_engine: Engine) -> None:
    """不合格案卷 (counted in 本) are not the 165卷 sampled; 执法案卷 are."""
    assert not gives_count_of("不合格案卷", state(["随机抽取的各类案卷共计165卷。"]))
    assert gives_count_of("执法案卷", state(["随机抽取19家执法部门的各类案卷共计165卷。"]))
    reply = shipped_engine.respond("案卷评查中发现了多少本不合格案卷")
    assert not reply.answered


def test_a_count_is_taken_only_from_a_noun_that_names_its_measure() -> None:
    # 19家 follows 案卷评查 in the sentence, but it counts departments, not reviews.
    assert not gives_count_of("案卷评查", state(["案卷评查随机抽取了19家执法部门。"]))


def test_a_clause_saying_what_a_measure_raises_is_its_reason(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("为什么要给行政机关开行政诉讼和复议的讲座")
    assert reply.kind is Kind.ANSWER
    assert "依法履职" in reply.text
    assert Asked.REASON in asking("为什么开展讲座").asked
    said = state(["区政府组织以案释法讲座，提高区级行政机关依法行政和依法履职水平。"])
    assert not conflicts(asking("为什么开展讲座"), said)
    assert conflicts(asking("为什么开展讲座"), state(["区政府组织了以案释法讲座。"]))


def test_several_as_an_object_is_not_how_many(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond(
        "有单位把几次信息公开申请用信访答复一起打发了，复议机关怎么处理的"
    )
    assert reply.answered and "撤销" in reply.text


def test_a_draft_gives_the_items_of_a_list_only_where_its_fact_lists_some() -> None:
    """A draft cannot say "the report does not list them", so its fact must list something."""
    asks_list = QuestionFrame(frozenset({Asked.LIST}), frozenset(), frozenset(), ())
    listed = drafted(state(["与甲、乙、丙三家律师事务所签约"]))
    named = drafted(state(["拟定重大事项目录"]))
    assert not conflicts(asks_list, listed)
    assert conflicts(asks_list, named) == [Conflict(ConflictKind.ASKED, Asked.LIST.value)]
    assert not conflicts(asks_list, state(["拟定重大事项目录"]))  # a reviewed answer is trusted


def test_the_home_district_mistyped_by_pinyin_is_not_another_district(
    shipped_engine: Engine,
) -> None:
    reply = shipped_engine.respond("江汗区被告的行政诉讼案件有几个")
    assert reply.kind is Kind.ANSWER and "33件" in reply.text


def test_documents_counted_in_fen_are_answered_by_jian(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("区里去年出台了几份规范性文件")
    assert reply.kind is Kind.ANSWER and "1件" in reply.text


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("抽查执法档案一共查了多少份", "165卷"),  # 份 counts case files as well as documents
        ("机构改革以后新发了多少张执法证", "181人次"),  # 张 counts a card in any measure
        ("执法证换新的换了多少张旧的？", "300余人次"),  # 张旧 as the segmenter glues it
    ],
)
def test_case_files_and_certificates_are_counted_in_the_measures_people_use(
    shipped_engine: Engine, question: str, figure: str
) -> None:
    reply = shipped_engine.respond(question)
    assert reply.answered and figure in reply.text


def test_a_count_in_person_times_typed_by_its_sound_is_read_as_person_times(
    shipped_engine: Engine,
) -> None:
    reply = shipped_engine.respond("执法人员换证 新证办了多少人此")
    assert reply.kind is Kind.ANSWER and "181人次" in reply.text
    frame = shipped_engine.matcher.match("执法人员换证 新证办了多少人此").frame
    assert frame is not None and frame.measures == {"人次"}


def test_which_days_asks_for_dates_not_a_list(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("法制专题联席会议具体是哪几天开的")
    assert not reply.answered
    assert Conflict(ConflictKind.ASKED, Asked.DATE.value) in reply.conflicts


def test_a_term_asked_to_be_named_must_be_named_by_the_answer(shipped_engine: Engine) -> None:
    """哪些律师事务所 asks for the firms: the team their lawyers sit on does not name them."""
    reply = shipped_engine.respond("区里的法律顾问团队跟哪些律所有合作")
    assert reply.answered and "得伟君尚" in reply.text
    # A common noun after 哪个 is answered by a name alone (区司法局), not by the word 部门.
    moved = shipped_engine.respond("原区法治办、法制办的职能整合到了哪个部门")
    assert moved.answered and "区司法局" in moved.text


@pytest.mark.parametrize(
    "question",
    ["铁路沿线附近哪家酒店最好", "What's the best hotel near Wuhan railway station?"],
)
def test_what_is_near_a_place_the_report_names_is_not_answered(
    shipped_engine: Engine, question: str
) -> None:
    reply = shipped_engine.respond(question)
    assert not reply.answered
    assert Conflict(ConflictKind.ASKED, Asked.NEARBY.value) in reply.conflicts
    assert "周边" in reply.text


def test_a_one_character_verb_glued_to_its_le_picks_out_what_is_counted(
    shipped_engine: Engine,
) -> None:
    """审了多少个: the officers reviewed (1300余名), not the certificates issued (181人次),
    whose answer tells of no review though its section does."""
    reply = shipped_engine.respond("持证执法的人员这次一共审了多少个")
    assert not (reply.answered and "181人次" in reply.text)
    assert Conflict(ConflictKind.COUNTED, "审") in reply.conflicts
    # 查了多少份 of the case files is still their count (165卷).
    files = shipped_engine.respond("抽查执法档案一共查了多少份")
    assert files.answered and "165卷" in files.text


def test_an_entry_naming_only_the_other_of_two_distinct_terms_does_not_answer(
    shipped_engine: Engine,
) -> None:
    """复议的案子 shares 行政…案件 and 比2018年减少 with the lawsuits' fall (减少89件), but
    行政复议 and 行政诉讼 are a distinct group: the reconsideration cases' fall answers."""
    reply = shipped_engine.respond("去年区里复议的案子比前年少了多少")
    assert reply.answered and "减少10件" in reply.text and "89件" not in reply.text
    frame = shipped_engine.matcher.match("去年区里复议的案子比前年少了多少").frame
    assert frame is not None and frame.distinct == (("行政复议", ("行政诉讼",)),)
    lawsuits = shipped_engine.kb.by_id["administrative-lawsuits"]
    assert Conflict(ConflictKind.TERM, "行政复议") in shipped_engine.matcher.conflicts(
        frame, lawsuits
    )
    # Naming both pins neither down.
    both = shipped_engine.matcher.match("行政复议和行政诉讼分别有多少件").frame
    assert both is not None and both.distinct == ()


def test_the_form_something_is_done_through_is_a_kind_of_answer(shipped_engine: Engine) -> None:
    """靠什么形式督促: the plan (借助联席会、交流会等形式), not the definition of the three
    systems, which gives no form and which the words of the question lead to."""
    reply = shipped_engine.respond("三项制度以后靠什么形式来督促指导")
    assert reply.answered and "法制工作联席会" in reply.text
    frame = shipped_engine.matcher.match("三项制度以后靠什么形式来督促指导").frame
    assert frame is not None and Asked.MEANS in frame.asked
    defined = shipped_engine.kb.by_id["three-systems-definition"]
    assert shipped_engine.matcher.conflicts(frame, defined) == [
        Conflict(ConflictKind.ASKED, Asked.MEANS.value)
    ]


def test_a_share_asked_before_its_word_is_a_percentage_and_counts_nothing(
    shipped_engine: Engine,
) -> None:
    """占多大比例, 占多少: the share asked the other way round; the segmenter's 占多大 is no
    thing counted."""
    frame = shipped_engine.matcher.match("当场就能办的事项有多少个，占多大比例").frame
    assert frame is not None and Asked.PERCENT in frame.asked and "占多大" not in frame.counted
    reply = shipped_engine.respond("当场就能办的事项有多少个，占多大比例")
    assert reply.answered and "55.08%" in reply.text


def test_a_sure_runner_up_answers_a_count_the_suggested_best_does_not_give(
    shipped_engine: Engine,
) -> None:
    """评茶 for 评查 leaves the best (the 19家 departments) only suggested; the runner-up that
    gives the count (165卷) is sure enough on its own, and answers."""
    reply = shipped_engine.respond("执法案卷评茶抽了多少卷")
    assert reply.answered and "165卷" in reply.text
    # A list of kinds the suggested best does not give is handed only to an entry that names
    # several (see test_kinds_are_given_only_by_an_answer_naming_several).
    kinds = shipped_engine.respond("执法卷宗抽查都抽了哪些种类的卷")
    assert not kinds.answered or "行政许可" in kinds.text


def test_every_one_of_a_kind_of_body_names_bodies() -> None:
    """全区各行政执法部门 answers 哪些单位 as 各部门 does: all of them, by what they are."""
    frame = QuestionFrame(frozenset({Asked.ORGANISATION}), frozenset(), frozenset(), ())
    assert not conflicts(frame, state(["下步将全区各行政执法部门纳入“两法衔接”工作平台。"]))
    assert conflicts(frame, state(["下步将推进“两法衔接”工作制度化、常态化。"]))


def test_cases_and_case_files_do_not_count_each_other() -> None:
    """几份 may count either, but a count of case files (卷) is no count of cases (件)."""
    frame = QuestionFrame(frozenset({Asked.COUNT}), frozenset({"卷"}), frozenset(), ())
    assert conflicts(frame, state(["不符合要求的一律不发，共制发规范性文件1件。"]))
    assert not conflicts(frame, state(["抽取案卷共计165卷。"]))
    in_fen = QuestionFrame(frozenset({Asked.COUNT}), frozenset({"份"}), frozenset(), ())
    assert not conflicts(in_fen, state(["共制发规范性文件1件。"]))


def test_a_certificate_is_not_counted_by_the_jian_it_ends_in() -> None:
    """证件 ends in 件 but is counted in 张 or 人次, as the report counts it."""
    statement = state(["开展行政执法证件换发工作，办理新证181人次。"])
    frame = QuestionFrame(
        frozenset({Asked.COUNT}),
        frozenset({"张"}),
        frozenset(),
        (),
        counted_after=("行政执法证件",),
    )
    assert not conflicts(frame, statement)


@pytest.mark.parametrize(
    ("question", "answered"),
    [("区政府行政诉讼的败诉率是多少", False), ("行政复议受按率多少", True)],
)
def test_a_named_rate_is_answered_only_by_that_rate(
    shipped_engine: Engine, question: str, answered: bool
) -> None:
    reply = shipped_engine.respond(question)
    assert reply.answered is answered
    if not answered:
        assert Conflict(ConflictKind.COUNTED, "败诉率") in reply.conflicts


def test_asking_reads_what_the_full_frame_reads_of_the_kind_of_answer(
    shipped_engine: Engine,
) -> None:
    """`asking` is the part of `read_question` that ranking (`fit`) needs, and no other."""
    matcher = shipped_engine.matcher
    data = Path(__file__).parent / "data"
    sets = [data / "dev_questions.yaml", *sorted((data / "blind").glob("*.yaml"))]
    questions = [str(item["q"]) for path in sets for item in load_set(path)]
    questions += [q for entry in matcher.kb.entries for q in entry.questions]
    for question in questions:
        full, light = matcher.frame(question), asking(clean(question))
        assert (light.asked, light.measures, light.year_only) == (
            full.asked,
            full.measures,
            full.year_only,
        ), question


def test_the_members_of_a_body_are_counted_by_any_count_of_people(
    shipped_engine: Engine,
) -> None:
    team = state(["区政府聘任10名法学专家、知名律师组成区政府法律顾问团队。"])
    assert not conflicts(asking("法律顾问团队有几名成员"), team)
    assert not gives_count_of("成员", team)  # 10名 counts experts and lawyers, not "members"
    assert conflicts(asking("法律顾问团队有几名成员"), state(["区里组建了法律顾问团队。"]))
    # 多少成员 asks for a number of people, not a share (几成).
    assert Asked.PERCENT not in asking("法律顾问团队有多少成员").asked
    assert Asked.PERCENT in asking("受案率有几成").asked
    reply = shipped_engine.respond("區政府法律顧問團隊有幾名成員")
    assert reply.kind is Kind.ANSWER and "10名" in reply.text


@pytest.mark.parametrize(
    ("question", "kind", "asked"),
    [
        ("检查结果将作为什么的依据", Asked.REASON, False),
        ("为什么行政诉讼下降了", Asked.REASON, True),
        ("要是哪个部门一把手不出庭会怎样", Asked.ORGANISATION, False),
        ("哪个部门负责行政复议", Asked.ORGANISATION, True),
    ],
)
def test_words_of_asking_inside_other_words_ask_nothing(
    question: str, kind: Asked, asked: bool
) -> None:
    """作为什么 holds 为什么 and 要是哪个部门 holds 哪个部门, but neither asks that."""
    assert (kind in asking(question).asked) is asked


def test_how_long_asks_for_a_span_or_how_often() -> None:
    """多久 asks how long or how often: an answer that gives neither cannot answer it."""
    limit = asking("复议申请的期限是多长")
    assert Asked.DURATION in limit.asked
    assert Conflict(ConflictKind.ASKED, "duration") in conflicts(
        limit, state(["对错误行政行为予以撤销，并责令限期重新答复。"])
    )
    often = asking("以案释法讲座多久开一次")
    assert Asked.DURATION in often.asked
    assert not conflicts(often, state(["区政府每季度开展一次以案释法活动。"]))


def _told(texts: list[str]) -> Statement:
    """The statement of an answer whose section is the answer itself."""
    return speaking_of(state(texts), vocabulary_of(texts))


def test_a_change_from_another_year_is_no_part_of_a_figure(shipped_engine: Engine) -> None:
    """33件 and a fall of 89件 from 2018 give no part of the 33: asking how many of them were
    won asks a breakdown the answer does not have."""
    matcher = shipped_engine.matcher
    lawsuits = _told(["2019年以区政府为被告的行政诉讼案件33件，比2018年减少89件，同比下降73%。"])
    frame = matcher.frame("这33件被诉案件里区政府赢了几件")
    assert Conflict(ConflictKind.ASKED, "breakdown") in conflicts(frame, lawsuits)
    parts = _told(["2019年共收到行政复议申请29件，其中受理22件，不予受理4件。"])
    assert not conflicts(matcher.frame("这29件申请里受理了几件"), parts)


def test_an_action_counted_must_be_counted_by_an_answer_that_tells_of_it(
    shipped_engine: Engine,
) -> None:
    """撤销了多少件 of an answer that tells of 撤销 but counts the applications; a verb the
    answer does not use (共有) is only the question's way of asking."""
    matcher = shipped_engine.matcher
    told = _told(["加强复议案件审查并撤销错误行政行为。2019年共收到行政复议申请29件。"])
    frame = matcher.frame("复议机关撤销了多少件")
    assert Conflict(ConflictKind.COUNTED, "撤销") in conflicts(frame, told)
    counted = _told(["2019年行政复议案件受理22件，不予受理4件。"])
    assert not conflicts(matcher.frame("复议机关受理了多少件"), counted)
    # (Its section says 共有 somewhere, so the word itself is no new subject.)
    section = speaking_of(told, vocabulary_of([told.text, "共有"]))
    assert not conflicts(matcher.frame("复议申请共有多少件"), section)


def test_an_action_the_section_tells_of_elsewhere_is_not_counted_by_other_figures(
    shipped_engine: Engine,
) -> None:
    """撤销了几件 (几件 is merged into 多少 by normalising) of an answer that counts the
    applications but says nothing of 撤销, while its section tells of 撤销 elsewhere: the
    answer counts other things. An action its section never tells of is left to what the
    answer counts (共有 is only the question's way of asking)."""
    matcher = shipped_engine.matcher
    counts = state(["2019年收到的29件行政复议申请中：受理22件，不予受理4件。"])
    said = ["对错误行政行为予以撤销", "共有"]
    elsewhere = speaking_of(counts, vocabulary_of([counts.text, *said], says=said[:1]))
    frame = matcher.frame("受理的22件复议案件最后撤销了几件")
    assert frame.acted == ("撤销",)
    assert Conflict(ConflictKind.COUNTED, "撤销") in conflicts(frame, elsewhere)
    assert not conflicts(matcher.frame("复议申请共有多少件"), elsewhere)
    reply = shipped_engine.respond("受理的22件复议案件最后撤销了几件、维持了几件？")
    assert not reply.answered


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("随机抽取19家执法部门的各类案卷共计165卷。", True),
        ("案卷评查随机抽取了19家执法部门。", False),
    ],
)
def test_a_self_counting_noun_before_what_is_done_to_it_is_what_is_counted(
    text: str, counts: bool
) -> None:
    """执法案卷评查 (how many case files were reviewed, in English word order) counts 案卷."""
    assert gives_count_of("执法案卷评查", _told([text])) is counts


def test_the_rule_of_law_government_is_no_body() -> None:
    """法治政府 is what the report is about, not who issued it."""
    asked = asking("这份报告是哪个单位发的")
    title = _told(["报告标题为《江汉区2019年法治政府建设工作报告》。"])
    assert conflicts(asked, title) == [Conflict(ConflictKind.ASKED, "organisation")]
    assert not conflicts(asked, _told(["本报告的发布机构是江汉区政府。"]))


def test_a_close_neighbour_gives_a_count_in_the_measure_asked(shipped_engine: Engine) -> None:
    """多少卷 of an entry that counts departments (19家): a neighbour of its section, nearly
    as close and free of conflicts, counts the case files (165卷)."""
    reply = shipped_engine.respond("执法按卷一共抽查了多少卷")
    assert reply.kind is Kind.ANSWER and "165卷" in reply.text


def test_a_far_neighbour_with_only_the_measure_in_common_is_no_count(
    shipped_engine: Engine,
) -> None:
    """几件 of the cases revoked: the section's summary counts applications in 件 too, but it
    is far from the question, and 件 alone does not say what its numbers are of."""
    reply = shipped_engine.respond("因信访答复方式错误被撤销的信息公开案件有几件")
    assert not reply.answered


def test_a_runner_up_from_elsewhere_stands_in_only_if_as_much_about_the_question(
    shipped_engine: Engine,
) -> None:
    """The title of the normative document: the report's own title (another section, fewer of
    the question's words) holds a 《title》, but it is not the document asked about. Within
    a section the close runner-up that holds what is asked still answers (165卷)."""
    reply = shipped_engine.respond("2019年制发的那件规范性文件标题叫什么")
    assert reply.kind is Kind.PARTIAL and reply.entry is not None
    assert reply.entry.id == "normative-documents-count"
    counted = shipped_engine.respond("执法案卷评差一共抽了多少卷")
    assert counted.answered and "165卷" in counted.text


def test_a_list_asked_of_a_figure_counted_in_another_measure_is_a_breakdown(
    shipped_engine: Engine,
) -> None:
    """195个事项 is the answer's 195项 (个 counts anything): asking which they are asks for
    items the answer does not list."""
    frame = shipped_engine.matcher.frame("马上办那195个事项包括哪些")
    immediate = _told(["江汉区“马上办”事项由过去的28项增加到195项，占比从7.9%提高到55.08%。"])
    assert Conflict(ConflictKind.ASKED, "breakdown") in conflicts(frame, immediate)


@pytest.mark.parametrize(
    ("question", "person"),
    [
        ("律所 名单", False),
        ("合作律师事务所名单", False),
        ("联席会议成员单位名单", False),
        ("法律顾问团队专家名单", True),
        ("签协议的四家律师事务所叫什么名字", False),
        ("那几个部门的名字", False),
        ("法律顾问团队的专家叫什么名字", True),
    ],
)
def test_a_list_of_bodies_is_no_list_of_people(question: str, person: bool) -> None:
    """名单 or 名字 after a firm, unit or department names bodies; after experts, people."""
    assert (Asked.PERSON in asking(question).asked) is person


def test_a_rough_figure_is_the_answers_figure_near_above_it(shipped_engine: Engine) -> None:
    """一千多人 is the asker's rounding of 1300余名, not another figure; 五千多人 is not it."""
    reviewed = _told(["对全区1300余名行政执法人员进行了审核。"])
    rough = shipped_engine.matcher.frame("审核的执法人员有一千多人吧，到底多少")
    assert not any(c.kind is ConflictKind.FIGURE for c in conflicts(rough, reviewed))
    far = shipped_engine.matcher.frame("审核的执法人员有五千多人吧，到底多少")
    assert Conflict(ConflictKind.FIGURE, "5000人") in conflicts(far, reviewed)
    exact = shipped_engine.matcher.frame("审核的执法人员是1000人吗")
    assert Conflict(ConflictKind.FIGURE, "1000人") in conflicts(exact, reviewed)


@pytest.mark.parametrize(
    "question", ["被抽查的执法案卷都是哪些类型的", "案卷分哪几类", "有什么种类"]
)
def test_kinds_asked_for_are_a_list(question: str) -> None:
    """哪些类型 asks for the kinds, which an answer that says its list is not given cannot
    name."""
    frame = asking(question)
    assert Asked.LIST in frame.asked
    gap = _told(["案卷评查随机抽取了19家执法部门（报告未列出部门名单）。"])
    assert Conflict(ConflictKind.ASKED, Asked.LIST.value) in conflicts(frame, gap)
    assert not conflicts(frame, _told(["评查案卷包括行政许可、处罚、强制和其他类型案卷。"]))


def test_a_count_of_one_kind_asks_for_that_kind(shipped_engine: Engine) -> None:
    """信息公开类的有多少件 counts applications of one kind; the total of all kinds is no
    answer."""
    frame = shipped_engine.matcher.frame("2019年行政复议申请中信息公开类的有多少件")
    assert "信息公开" in frame.counted_after
    total = _told(["2019年江汉区共收到行政复议申请29件。", "对多次信息公开申请一并回复"])
    assert Conflict(ConflictKind.COUNTED, "信息公开") in conflicts(frame, total)
    assert not shipped_engine.respond("2019年行政复议申请中信息公开类的有多少件").answered


@pytest.mark.parametrize(
    ("question", "acted"),
    [
        ("受理的22件复议案件里，有几件撤销了原行政行为", ("撤销",)),  # the count, then the action
        ("复议案件里有几件最后被撤销了", ("撤销",)),
        ("2019年复议机关撤销的错误行政行为具体有几件", ("撤销",)),  # the action qualifies them
        ("复议机关撤销了几件", ("撤销",)),
        # A clause of its own after the count, or a count of no things.
        ("行政诉讼案件比2018年少了多少件？降幅是多少？", ("减少",)),
        ("执法案卷评查工作随机抽取了多少家执法部门", ()),
        ("复议申请一共多少", ()),
    ],
)
def test_the_action_that_picks_out_the_things_counted(
    shipped_engine: Engine, question: str, acted: tuple[str, ...]
) -> None:
    assert shipped_engine.matcher.frame(question).acted == acted


def test_a_level_required_is_given_only_by_a_stated_minimum(shipped_engine: Engine) -> None:
    """达标线 and 要达到多少才算 ask for a standard: a rate reached (92.3%) is none; a stated
    minimum (每年至少两次) is."""
    frame = asking("出庭应诉率要达到多少才算达标")
    assert frame.asked == {Asked.STANDARD}
    reached = _told(["2019年负责人出庭应诉率达92.3%。"])
    assert conflicts(frame, reached) == [Conflict(ConflictKind.ASKED, Asked.STANDARD.value)]
    assert not conflicts(asking("学法的最低要求是什么"), _told(["每年至少开展两次专题学法。"]))
    reply = shipped_engine.respond("出庭应诉率的达标线具体是多少")
    assert reply.kind is Kind.PARTIAL and "标准" in reply.text


def test_a_position_word_after_a_count_is_not_what_is_counted(shipped_engine: Engine) -> None:
    """几位外部法学专家 counts experts; 外部 says where they come from."""
    frame = shipped_engine.matcher.frame("区里请了几位外部法学专家")
    assert "外部" not in frame.counted and "法学专家" in frame.counted_after


@pytest.mark.parametrize(
    "question",
    ["What is the population of Wuhan?", "武汉小汽车限行规定是怎样的"],
)
def test_a_place_or_a_year_alone_makes_no_answer(shipped_engine: Engine, question: str) -> None:
    """Place names weigh as little as years (constraints check them): the city's name in a
    document's title does not make that document the answer about the city's population."""
    assert not shipped_engine.respond(question).answered


def test_how_big_a_value_is_asks_for_a_figure(shipped_engine: Engine) -> None:
    """平均年龄多大 asks for a number as 平均年龄是多少 does: an ageing team is no average age."""
    reply = shipped_engine.respond("全区行政执法人员平均年龄多大")
    assert not reply.answered
    assert Conflict(ConflictKind.COUNTED, "平均年龄") in reply.conflicts


@pytest.mark.parametrize(
    ("question", "asked", "not_asked"),
    [
        # 用什么办法 asks how (any measure answers); 依据什么办法 asks for a document.
        ("今后普法宣传准备用什么办法来搞", None, Asked.DOCUMENT),
        ("这项工作依据的是什么办法", Asked.DOCUMENT, None),
        # Who does something is answered by a body; who is on a team, by people.
        ("抽查的案卷是哪些人负责初审的", Asked.ORGANISATION, Asked.PERSON),
        ("法律顾问团队具体有哪些人", Asked.PERSON, None),
        # An English "when" opening a clause asks no date; one before a verb does.
        ("How many officers were reviewed when the certificates were renewed?", None, Asked.DATE),
        ("When was the report issued?", Asked.DATE, None),
    ],
)
def test_what_a_question_asks_is_read_from_its_grammar_not_a_word_alone(
    shipped_engine: Engine, question: str, asked: Asked | None, not_asked: Asked | None
) -> None:
    frame = shipped_engine.matcher.frame(question)
    assert asked is None or asked in frame.asked
    assert not_asked is None or not_asked not in frame.asked


def test_who_did_something_is_answered_by_the_body_that_did_it(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond("抽查执法卷宗的时候是哪些人负责初审的")
    assert reply.answered and "区司法局" in reply.text


def test_each_of_two_joined_actions_is_counted(shipped_engine: Engine) -> None:
    """被撤销或者纠错的有几件 counts what was revoked or corrected: a breakdown of applications
    by how they were received is no answer to it."""
    frame = shipped_engine.matcher.frame("2019年的行政复议案件里，被撤销或者纠错的有多少件")
    assert {"撤销", "纠错"} <= set(frame.acted)
    assert not shipped_engine.respond("2019年行政复议案件里被撤销或者纠错的有几件").answered


@pytest.mark.parametrize(
    "question", ["2019年制发的那份规范性文件标题是什么", "那份规范性文件叫什么名字"]
)
def test_the_title_of_a_document_the_report_does_not_name_is_not_the_reports_own(
    shipped_engine: Engine, question: str
) -> None:
    """规范性文件标题 asks the title of the normative document, which the report never gives:
    the report's own title is no answer, while a title it does give still answers."""
    reply = shipped_engine.respond(question)
    assert not reply.answered and "法治政府建设工作报告》" not in reply.text.split("：")[0]
    assert shipped_engine.matcher.frame(question).titled == ("规范性文件",)
    named = shipped_engine.respond("两法衔接实施办法的全称是什么")
    assert named.answered and "刑事司法衔接工作的实施办法" in named.text


def test_the_name_of_a_document_is_no_persons_name(shipped_engine: Engine) -> None:
    frame = shipped_engine.matcher.frame("法律顾问规范化管理的那个文件叫什么名字")
    assert Asked.PERSON not in frame.asked and Asked.DOCUMENT in frame.asked
    reply = shipped_engine.respond("法律顾问规范化管理的那个文件叫什么名字")
    assert reply.answered and "规范化管理的意见" in reply.text


def test_an_adjective_before_the_kind_asked_for_is_skipped(shipped_engine: Engine) -> None:
    """哪些重大专项工作 asks for the projects: the team that the lawyers sit on names none."""
    frame = shipped_engine.matcher.frame("区政府法律顾问团队参与了哪些重大专项工作")
    assert "专项工作" in frame.named
    reply = shipped_engine.respond("区政府法律顾问团队参与了哪些重大专项工作")
    assert reply.answered and "铁路沿线" in reply.text


@pytest.mark.parametrize(
    "question", ["被抽查的执法案卷都有哪些种类", "执法卷宗抽查都抽了哪些种类的卷"]
)
def test_kinds_are_given_only_by_an_answer_naming_several(
    shipped_engine: Engine, question: str
) -> None:
    """哪些种类 asks for kinds: an answer naming the files' period names none; the one that lists
    行政许可、处罚、强制 answers (种类 is 类型)."""
    assert shipped_engine.matcher.frame(question).kinds
    reply = shipped_engine.respond(question)
    assert reply.answered and "行政许可" in reply.text


@pytest.mark.parametrize(
    ("question", "procedure"),
    [
        ("我怎么查自己的行政执法证是不是有效", True),
        ("怎么查我的复议申请办到哪了", True),
        ("执法案卷是怎么查的", False),  # how the district checked them: the report says
    ],
)
def test_checking_ones_own_affairs_is_a_procedure(
    shipped_engine: Engine, question: str, procedure: bool
) -> None:
    assert (Asked.PROCEDURE in shipped_engine.matcher.frame(question).asked) is procedure


def test_a_part_of_a_given_figure_is_smaller_than_it(shipped_engine: Engine) -> None:
    """受理的22件…有几件维持 asks for a part of the 22; the answer's other figure, the 29 received,
    is the whole they came from, not a part of them."""
    reply = shipped_engine.respond("受理的22件复议案件里有几件维持了原行政行为？")
    assert not reply.answered
    assert Conflict(ConflictKind.ASKED, "breakdown") in reply.conflicts


@pytest.mark.parametrize(
    ("question", "dated"),
    [
        ("今年高考分数线什么时候公布", "分数线"),
        ("江汉区的人口普查结果什么时候公布", "结果"),
        ("个税改革什么时候公布", "改革"),
    ],
)
def test_the_date_of_something_the_report_never_speaks_of_is_not_its_issue_date(
    shipped_engine: Engine, question: str, dated: str
) -> None:
    """什么时候公布 matches how the report's issue date is asked, but what the date is asked
    of must be something the entry's section speaks of: the issue date is not the date of
    the entrance exam's cut-off scores."""
    assert shipped_engine.matcher.frame(question).dated == (dated,)
    reply = shipped_engine.respond(question)
    assert not reply.answered
    assert "dated" in {conflict.kind.value for conflict in reply.conflicts}


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("这份报告什么时候发布的", "2020年1月25日"),
        ("报告哪天印发", "2020年1月25日"),
        ("评查的案卷截止到什么时候", "9月底"),
    ],
)
def test_the_date_of_what_an_entry_speaks_of_is_still_answered(
    shipped_engine: Engine, question: str, says: str
) -> None:
    reply = shipped_engine.respond(question)
    assert reply.answered and says in reply.text


@pytest.mark.parametrize(
    ("question", "asks_document"),
    [
        ("政府常务会前专题学法具体学了哪些法律", True),
        ("执法人员要学习什么法律法规", True),
        ("法律顾问提供了哪些法律服务", False),
        ("以什么法律理由驳回的", False),
    ],
)
def test_which_laws_asks_for_laws_by_name(question: str, asks_document: bool) -> None:
    """哪些法律 is answered by naming laws (《…法》), which a sentence about the study
    sessions does not; the law's services, questions or reasons are something else."""
    assert (Asked.DOCUMENT in asking(clean(question)).asked) is asks_document


@pytest.mark.parametrize(
    ("question", "asks_reason"),
    [
        ("为什么江汉区行政机关负责人出庭应诉率能达到这么高", False),
        ("出庭应诉率为什么能保持这么高", False),
        ("为什么复议申请比上一年少了", True),
        ("为什么要对部门负责人开展以案说法，想达到什么目的", True),
    ],
)
def test_why_a_result_could_be_reached_asks_how_not_why(question: str, asks_reason: bool) -> None:
    """为什么…能达到这么高 is answered by the measures that reached it (考核, 约谈), which
    state no cause in so many words; a plain 为什么 still asks for one."""
    assert (Asked.REASON in asking(clean(question)).asked) is asks_reason


def test_people_who_apply_are_counted_by_their_applications(shipped_engine: Engine) -> None:
    """多少人…去申请复议 counts the applications (29件): each applicant files one. People
    counted otherwise (审核了多少人) still want people."""
    reply = shipped_engine.respond("去年江汉区有多少人不服政府的决定去申请复议的啊")
    assert reply.answered and "29件" in reply.text
    assert "件" in asking(clean("有多少人去法院起诉政府")).measures
    assert "件" not in asking(clean("全区审核了多少人")).measures


@pytest.mark.parametrize(
    ("question", "asks_document"),
    [
        ("这份报告是按照哪些会议精神来推进工作的", False),
        ("根据什么要求开展的", False),
        ("重大行政决策是按照哪个规定执行的", True),
        ("依据的是什么", True),
    ],
)
def test_the_guidance_of_meetings_is_no_document(question: str, asks_document: bool) -> None:
    """按照哪些会议精神 is answered by the meetings named (十九大、十九届四中全会精神), which no
    《title》 gives; 按照哪个规定 still asks for a document."""
    assert (Asked.DOCUMENT in asking(clean(question)).asked) is asks_document


def test_what_follows_a_count_of_times_is_what_is_done_not_what_is_counted(
    shipped_engine: Engine,
) -> None:
    """学几回法律 counts study sessions: 法律 is what is studied, not a thing the answer
    must count (每年至少开展两次 answers it)."""
    frame = shipped_engine.matcher.frame("区领导一年专门学几回法律")
    assert "法律" not in frame.counted_after
    reply = shipped_engine.respond("区领导一年专门学几回法律")
    assert reply.answered and "两次" in reply.text
    # A count of things still names what it counts.
    assert "部门" in shipped_engine.matcher.frame("抽查了几个部门").counted_after


@pytest.mark.parametrize(
    ("question", "asks_person"),
    [
        ("宣传教育要提高的主要是哪些人的意识和能力", False),
        ("法律顾问团队里有哪些人", True),
        ("聘请的专家是哪些人", True),
    ],
)
def test_whose_asks_for_a_group_not_for_names(question: str, asks_person: bool) -> None:
    """是哪些人的意识 asks whose awareness (行政机关负责人, a group), which a report without
    names still answers; 团队里有哪些人 asks for the people themselves."""
    assert (Asked.PERSON in asking(clean(question)).asked) is asks_person


@pytest.mark.parametrize(
    ("question", "asks_body"),
    [
        ("复议机关有没有纠正过哪些单位的错误做法", False),
        ("是否对哪些部门开展了评查", False),
        ("哪些单位参加了联席会议", True),
        ("评查了哪些单位", True),
    ],
)
def test_which_unit_in_a_yes_or_no_question_means_any_unit(question: str, asks_body: bool) -> None:
    """有没有纠正过哪些单位的错误做法 asks whether wrong acts were corrected (哪些: "any"), which
    an answer naming no unit answers; a plain 哪些单位 still asks for the units."""
    assert (Asked.ORGANISATION in asking(clean(question)).asked) is asks_body
