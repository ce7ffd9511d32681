from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answering.text import (
    _KEPT,
    MEASURE_WEIGHT,
    QUESTION_WEIGHT,
    Normaliser,
    _is_kept,
    asks_problem,
    chinese_to_number,
    clean,
    compact,
    fuzzy_pinyin,
    invert_synonyms,
    is_cjk,
    is_future,
    is_negated,
    is_problem_section,
    question_word_mask,
    set_aside,
    several,
    tokens,
)
from bot.answering.text import _whole_word as whole_word


@pytest.mark.parametrize(
    ("numeral", "digits"),
    [
        ("二十九", "29"),
        ("十", "10"),
        ("一千三百", "1300"),
        ("一百八十一", "181"),
        ("三百零二", "302"),
        ("二〇一九", "2019"),
        ("九十二点三", "92.3"),
        ("七十五点八六", "75.86"),
        ("两万", "20000"),
    ],
)
def test_chinese_numerals_become_digits(numeral: str, digits: str) -> None:
    assert chinese_to_number(numeral) == digits


@pytest.mark.parametrize("text", ["", "点", "十十", "百千", "abc", "一点x"])
def test_non_numbers_are_left_alone(text: str) -> None:
    assert chinese_to_number(text) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("百分之九十二点三", "92.3%"),
        ("百分之二十五点六", "25.6%"),
        ("二〇一九年", "2019年"),
        ("二零二零年一月二十五日", "2020年1月25日"),
        ("一千三百余名", "1300余名"),
        ("三十三件", "33件"),
        ("2020-01-25", "2020年1月25日"),
        ("2020-01-25 17:00", "2020年1月25日17 00"),
        ("ＡＢＣ１２３％", "abc 123%"),
        ("區政府被告的行政訴訟案件數量", "区政府被告的行政诉讼案件数量"),
        ("網上辦佔比", "网上办占比"),
        ("「马上办」？！", "马上办"),
    ],
)
def test_clean_folds_width_script_numerals_and_punctuation(raw: str, expected: str) -> None:
    assert clean(raw) == expected


@pytest.mark.parametrize("word", ["两法衔接", "统一", "一律", "两减一增"])
def test_numeral_characters_inside_words_stay_words(word: str) -> None:
    assert clean(word) == word


def test_control_format_and_emoji_characters_vanish() -> None:
    assert clean("\u200b\u202e\x00😀👍🏽\u200d") == ""
    assert clean("法律\u200b顾问\u202e") == "法律顾问"


def test_fillers_are_dropped() -> None:
    normalise = Normaliser()
    assert normalise("请问一下法律顾问的情况呢？") == "法律顾问情况"
    assert normalise("宪法宣誓吗") == "宪法宣誓"


def test_synonyms_map_to_the_report_wording_without_double_expansion() -> None:
    normalise = Normaliser(invert_synonyms({"行政复议": ["复议"], "律师事务所": ["律所"]}))
    assert normalise("复议申请") == "行政复议申请"
    assert normalise("行政复议申请") == "行政复议申请"
    assert normalise("和哪些律所合作") == "和哪些律师事务所合作"


def test_a_variant_does_not_take_the_first_character_of_the_next_word() -> None:
    """什么时候发(的) is a variant of 发文日期, but 什么时候发布 reads 什么时候 + 发布: a variant
    ending in the first character of a word that runs on past it, where the variant without
    that character is a word of its own, is not matched there."""
    normalise = Normaliser(
        invert_synonyms({"发文日期": ["什么时候发的"], "发布": ["公布"], "什么时候": ["啥时候"]})
    )
    assert normalise("分数线什么时候公布") == "分数线什么时候发布"
    assert normalise("报告什么时候发的") == "报告发文日期"
    # A variant whose shorter form is no word of its own still matches (被人告 + 的官司).
    cases = Normaliser(invert_synonyms({"被告": ["被人告"], "行政诉讼": ["告官"]}))
    assert cases("被人告官") == "被告官"


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("有专门负责法制工作的人吗", "有专门负责法制工作人员"),
        ("执法的那些人，审了多少", "执法人员审了多少"),
        ("群众的人身安全", "群众人身安全"),  # 人身 is a word of its own
        ("有多少人", "有多少人"),
    ],
)
def test_the_people_who_do_something_are_its_staff(said: str, read: str) -> None:
    """负责法制工作的人 is what the report calls 法制工作人员, closing a phrase."""
    assert Normaliser()(said) == read


def test_people_named_twice_over_are_named_once() -> None:
    """搞执法 is 行政执法人员 already: the people who do it add no second 人员."""
    normalise = Normaliser(invert_synonyms({"行政执法人员": ["搞执法"]}))
    assert normalise("搞执法的那些人") == "行政执法人员"


def test_english_synonyms_match_whole_words_only() -> None:
    normalise = Normaliser(invert_synonyms({"案卷": ["case file"], "多少": ["how many"]}))
    assert normalise("How many case files?") == "多少案卷"
    assert normalise("showcase file") == "showcase file"
    assert normalise("the cases") == "case"


def test_year_synonym_is_applied_after_numeral_folding() -> None:
    normalise = Normaliser(invert_synonyms({"2019年": ["去年"]}))
    assert normalise("去年收到几件") == normalise("二〇一九年收到几件") == "2019年收到几件"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("顾文", "顾问"), ("硬诉", "应诉"), ("固问", "顾问"), ("诚明", "成名"), ("南", "兰")],
)
def test_homophones_share_fuzzy_pinyin(typed: str, meant: str) -> None:
    assert [fuzzy_pinyin(c) for c in typed] == [fuzzy_pinyin(c) for c in meant]


def test_tokens_keep_numbers_and_words_whole() -> None:
    assert tokens("出庭应诉率92.3% rate") == ["出", "庭", "应", "诉", "率", "92.3%", "rate"]


_ANY_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=5000
)


@settings(max_examples=300, deadline=None)
@given(_ANY_TEXT)
def test_normalise_never_crashes_and_returns_clean_tokens(text: str) -> None:
    normalise = Normaliser(invert_synonyms({"行政复议": ["复议"], "案卷": ["case file"]}))
    result = normalise(text)
    assert result == result.strip()
    assert "  " not in result
    assert all(ch.isalnum() or ch in " %." for ch in result)


@settings(max_examples=300, deadline=None)
@given(_ANY_TEXT)
def test_clean_is_idempotent(text: str) -> None:
    once = clean(text)
    assert clean(once) == once


def _compact_token_by_token(text: str) -> str:
    """`compact` as its docstring states it, one token at a time."""
    out: list[str] = []
    prev_cjk = True
    for tok in tokens(text):
        cjk = is_cjk(tok)
        if out and not cjk and not prev_cjk:
            out.append(" ")
        out.append(tok)
        prev_cjk = cjk
    return "".join(out)


# Han characters, latin letters, digits of two scripts, spaces and a little punctuation.
_MIXED_TEXT = st.text(alphabet="行政复议案卷律所 abcsz019٣.%、\t", max_size=40)


@settings(max_examples=500, deadline=None)
@given(_MIXED_TEXT)
def test_compact_keeps_one_space_only_between_latin_words_and_numbers(text: str) -> None:
    assert compact(text) == _compact_token_by_token(text)


def _synonyms_key_by_key(normaliser: Normaliser, text: str) -> str:
    """Leftmost-longest replacement trying every variant in turn (what the index speeds up)."""
    mapping = normaliser._synonym_map
    keys = sorted(mapping, key=len, reverse=True)
    out: list[str] = []
    last = ""
    i = 0
    while i < len(text):
        for key in keys:
            if text.startswith(key, i) and whole_word(text, i, i + len(key)):
                if mapping[key] != last:
                    out.append(mapping[key])
                last = mapping[key]
                i += len(key)
                break
        else:
            out.append(text[i])
            last = "" if text[i] != " " else last
            i += 1
    return "".join(out)


_VARIANTS = st.text(alphabet="行政复议案卷律所 abcs19", min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_VARIANTS, _VARIANTS, max_size=8), _MIXED_TEXT)
def test_synonyms_replace_the_longest_whole_word_variant_first(
    synonyms: dict[str, str], text: str
) -> None:
    normaliser = Normaliser(synonyms)
    text = compact(text)
    assert normaliser._apply_synonyms(text) == _synonyms_key_by_key(normaliser, text)


@pytest.mark.parametrize(
    ("text", "light", "measure"),
    [
        ("行政诉讼有多少起", "有多少", "起"),
        ("评查了几家部门", "了几", "家"),
        ("一共是多少", "一共是多少", ""),
        ("不予受理", "", ""),
    ],
)
def test_question_words_are_marked_light(text: str, light: str, measure: str) -> None:
    toks = tokens(text)
    mask = question_word_mask(toks)
    assert "".join(t for t, m in zip(toks, mask, strict=True) if m == QUESTION_WEIGHT) == light
    assert "".join(t for t, m in zip(toks, mask, strict=True) if m == MEASURE_WEIGHT) == measure


@settings(max_examples=300, deadline=None)
@given(_ANY_TEXT)
def test_the_kept_characters_table_folds_as_the_rule_says(text: str) -> None:
    assert text.translate(_KEPT) == "".join(ch if _is_kept(ch) else " " for ch in text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="行政诉讼有多少起几家一共是什么情况哪些了的", max_size=30))
def test_a_text_of_cjk_characters_only_is_masked_as_one_run(text: str) -> None:
    toks = tokens(text)
    # A latin token ends the run without changing it, and takes the general path.
    assert question_word_mask(toks) == question_word_mask([*toks, "x"])[:-1]


@pytest.mark.parametrize(
    ("question", "expected"),
    [("审一审合同", "审合同"), ("查一查一查", "查"), ("统一", "统一"), ("逐一核对", "逐一核对")],
)
def test_a_verb_said_twice_around_yi_is_the_verb(question: str, expected: str) -> None:
    assert Normaliser()(question) == expected


def test_a_synonym_may_name_the_doubled_form_itself() -> None:
    """The doubled verb folds after the synonyms: 理一理 is 梳理, not the 理 of 管理."""
    normalise = Normaliser(invert_synonyms({"梳理": ["理一理"]}))
    assert normalise("理一理") == "梳理"
    assert normalise("法律顾问管理") == "法律顾问管理"


def test_variants_side_by_side_may_together_be_another_variant() -> None:
    """收下 is 受理 and 比例 is 占比; together they are 受理占比, which is 受案率."""
    normalise = Normaliser(
        invert_synonyms({"受理": ["收下"], "占比": ["比例"], "受案率": ["受理占比"]})
    )
    assert normalise("收下比例") == "受案率"
    assert normalise("受案率") == "受案率"


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("除了代理官司，律师团队还帮区里干了哪些事", "律师团队还帮区里干了哪些事"),
        ("除了代理官司以外律师还做了什么", "律师还做了什么"),
        ("律师除了代理案件还参与了哪些工作", "律师还参与了哪些工作"),
    ],
)
def test_what_is_set_aside_with_chule_is_left_out_and_nothing_more(
    question: str, kept: str
) -> None:
    """A comma ends what 除了 sets aside, as written: the subject after it stays."""
    assert Normaliser()(question) == Normaliser()(kept)


def test_several_is_not_how_many() -> None:
    """好几次 is "several times"; 几次 alone asks how many."""
    normalise = Normaliser(invert_synonyms({"多少": ["几次"]}))
    assert "多少" not in normalise("好几次要求公开信息")
    assert "多少" in normalise("要求了几次")


def test_what_to_prepare_is_not_a_plan() -> None:
    assert is_future("下一步准备怎么做")
    assert not is_future("办护照需要准备什么")


def test_shortcomings_are_asked_in_the_reports_own_heading() -> None:
    normalise = Normaliser(invert_synonyms({"存在问题": ["欠缺", "什么问题", "短板"]}))
    assert asks_problem(normalise("管理上还有什么欠缺"))
    assert asks_problem(normalise("执法队伍有什么问题"))
    assert not asks_problem(normalise("执法队伍年龄结构怎么样"))
    assert is_problem_section("二、存在问题")
    assert not is_problem_section("一、工作情况（九）提升法律顾问效能")


@pytest.mark.parametrize(
    ("question", "known"),
    [
        ("律师们除了打官司还帮政府干了哪些大事", "律师们打官司"),
        ("除了代理官司，还参与了哪些工作", "代理官司"),
        ("除了复议以外还有什么", "复议"),
        ("律师干了什么", ""),
    ],
)
def test_what_a_question_sets_aside_is_read_with_its_subject(question: str, known: str) -> None:
    assert set_aside(question) == known


def test_the_public_and_the_district_as_askers_weigh_little() -> None:
    """老百姓找区里申请复议: who asks (人民群众, after the synonyms) and whom (区里) say nothing
    about which fact is meant."""
    mask = question_word_mask(tokens("人民群众找区里申请复议"))
    assert mask[:4] == [QUESTION_WEIGHT] * 4
    assert mask[5:7] == [QUESTION_WEIGHT] * 2
    assert mask[4] == mask[7] == mask[-1] == 1.0


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("好几次申请", "若干次申请"),
        ("几个部门职责分不清 区里是怎么处理的", "若干个部门职责分不清 区里是怎么处理的"),
        ("区里几家单位为什么没有达标", "区里若干家单位为什么没有达标"),
        # Asked of, or with nothing asked how: a count.
        ("区里有几个部门 怎么协调的", "区里有几个部门 怎么协调的"),
        ("几个部门参加了", "几个部门参加了"),
        ("收到几件申请 怎么处理的", "收到几件申请 怎么处理的"),
    ],
)
def test_several_is_told_from_how_many(text: str, marked: str) -> None:
    assert several(text) == marked


@given(st.text(alphabet="几个家好次有是怎么为什么部门 ，", max_size=40))
def test_several_with_a_one_character_mark_keeps_the_length(text: str) -> None:
    assert len(several(text, "若")) == len(text)


def test_chat_urgings_are_fillers() -> None:
    """急急急, 在线等: how the asker feels, not what is asked."""
    normalise = Normaliser({})
    assert normalise("网上办占比多少呀 急急急") == normalise("网上办占比多少")
    assert normalise("复议申请有几件 在线等 多谢") == normalise("复议申请有几件")


def test_how_much_of_a_thing_said_in_passing_is_a_filler() -> None:
    """开一大堆证明 is 开证明, which a synonym then reads as 证明事项."""
    normalise = Normaliser({"开证明": "证明事项"})
    assert normalise("现在去办事还要开一大堆证明吗") == normalise("现在去办事还要开证明吗")
    assert "证明事项" in normalise("以后办事还要开那么多证明吗")


def test_how_the_asker_feels_is_a_filler() -> None:
    """烦死了, 乱七八糟的: a feeling about the matter, not the matter."""
    normalise = Normaliser({"开证明": "证明事项"})
    assert normalise("办事还要开证明吗？烦死了") == normalise("办事还要开证明吗")
    assert "证明事项" in normalise("办事要开的乱七八糟的证明")


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("不予受理", True),
        ("未达标", True),
        ("对区里不服申请行政复议", False),
        ("群众不满意见", False),
    ],
)
def test_being_dissatisfied_negates_nothing(text: str, negated: bool) -> None:
    """不服 is why people apply for a review; it does not make 受理 into 不予受理."""
    assert is_negated(text) is negated
