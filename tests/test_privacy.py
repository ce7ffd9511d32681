from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.privacy import hash_user_id, mask_personal_data


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的手机13812345678请回电", "我的手机[手机号]请回电"),
        ("+86 138 1234 5678", "[手机号]"),
        ("身份证42010619900101123X", "身份证[身份证号]"),
        ("电话027-85123456", "电话[电话]"),
        ("邮箱 a.b@example.com 谢谢", "邮箱 [邮箱] 谢谢"),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize(
    "text",
    ["2019年共收到29件", "1300余名执法人员", "2020-01-25 17:00", "受案率75.86%", "马上办195项"],
)
def test_report_figures_are_not_mistaken_for_personal_data(text: str) -> None:
    assert mask_personal_data(text) == text


def test_user_hash_is_keyed_and_stable() -> None:
    assert hash_user_id(42, b"k1") == hash_user_id("42", b"k1")
    assert hash_user_id(42, b"k1") != hash_user_id(42, b"k2")
    digest = hash_user_id(42, b"k1")
    assert len(digest) == 32 and int(digest, 16) >= 0


@given(st.text(max_size=2000))
def test_masking_never_crashes(text: str) -> None:
    assert isinstance(mask_personal_data(text), str)


# --- every form a number or address is written in (issue 11, row 4) -----------------------------

_FULL_WIDTH = {ord(c): chr(ord(c) + 0xFEE0) for c in "0123456789Xx@.-+"}
_CONTEXT = st.sampled_from(["", "我的", "请问", "号码是", "：", " ", "，谢谢", "怎么申请复议"])


def _full_width(text: str) -> str:
    return text.translate(_FULL_WIDTH)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """An 18-digit ID number: region, birth date, sequence, check character (digit or X)."""
    region = draw(st.integers(110000, 659999))
    year = draw(st.integers(1900, 2029))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    sequence = draw(st.integers(0, 999))
    check = draw(st.sampled_from([*"0123456789", "X", "x"]))
    return f"{region}{year}{month:02d}{day:02d}{sequence:03d}{check}"


@st.composite
def spaced(draw: st.DrawFn, digits: str) -> str:
    """`digits` with a single space or dash between some of them, as people group numbers."""
    out = [digits[0]]
    for ch in digits[1:]:
        out.append(draw(st.sampled_from(["", "", "", " ", "-"])) + ch)
    return "".join(out)


mobiles = st.builds(
    lambda second, rest: f"1{second}{rest:09d}",
    st.sampled_from("3456789"),
    st.integers(0, 10**9 - 1),
)
cards = st.builds(
    lambda prefix, rest, length: (prefix + f"{rest:019d}")[:length],
    st.sampled_from(["62", "4", "5", "35", "60"]),
    st.integers(0, 10**19 - 1),
    st.integers(16, 19),
)
emails = st.builds(
    lambda user, domain, tld: f"{user}@{domain}.{tld}",
    st.from_regex(r"[a-z][a-z0-9._]{0,15}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
    st.sampled_from(["com", "cn", "net", "org", "com.cn", "gov.cn"]),
)


def _digits(text: str) -> str:
    return "".join(ch for ch in _full_width(text) if ch.isdigit())


def _assert_masked(secret: str, before: str, after: str, placeholder: str) -> None:
    masked = mask_personal_data(before + secret + after)
    assert masked == before + placeholder + after
    assert mask_personal_data(masked) == masked  # idempotent


@given(id_numbers(), _CONTEXT, _CONTEXT)
def test_id_numbers_are_masked_whatever_their_check_character(
    number: str, before: str, after: str
) -> None:
    _assert_masked(number, before, after, "[身份证号]")


@given(id_numbers().flatmap(lambda n: spaced(n)), _CONTEXT, _CONTEXT)
def test_id_numbers_written_with_spaces_or_dashes_are_masked(
    number: str, before: str, after: str
) -> None:
    _assert_masked(number, before, after, "[身份证号]")


@given(id_numbers(), _CONTEXT, _CONTEXT)
def test_full_width_id_numbers_are_masked(number: str, before: str, after: str) -> None:
    _assert_masked(_full_width(number), before, after, "[身份证号]")


@given(mobiles.flatmap(lambda n: spaced(n)), st.booleans(), _CONTEXT, _CONTEXT)
def test_mobile_numbers_are_masked_in_any_grouping_and_width(
    number: str, wide: bool, before: str, after: str
) -> None:
    _assert_masked(_full_width(number) if wide else number, before, after, "[手机号]")


@given(mobiles)
def test_mobile_numbers_in_chinese_digits_are_masked(number: str) -> None:
    chinese = number.translate(str.maketrans("0123456789", "零一二三四五六七八九"))
    _assert_masked(chinese, "电话", "", "[手机号]")


@given(cards, st.booleans(), _CONTEXT, _CONTEXT)
def test_bank_card_numbers_are_masked(number: str, wide: bool, before: str, after: str) -> None:
    _assert_masked(_full_width(number) if wide else number, before, after, "[银行卡号]")


@given(cards.map(lambda n: " ".join(n[i : i + 4] for i in range(0, len(n), 4))), _CONTEXT)
def test_bank_card_numbers_in_groups_of_four_are_masked(number: str, before: str) -> None:
    _assert_masked(number, before, "", "[银行卡号]")


@given(emails, st.booleans(), _CONTEXT, _CONTEXT)
def test_email_addresses_are_masked_in_any_width(
    address: str, wide: bool, before: str, after: str
) -> None:
    _assert_masked(_full_width(address) if wide else address, before, after, "[邮箱]")


@given(emails.filter(lambda address: not address.endswith(".org")))
def test_email_addresses_as_normalisation_wrote_them_are_masked(address: str) -> None:
    """zhang.san@example.com became "zhang san example com" in the normalised column. (A
    lone "org" is not taken for one: "which org" is English.)"""
    spelled = " ".join(address.replace("@", " ").replace(".", " ").replace("_", " ").split())
    masked = mask_personal_data(f"邮箱 {spelled} 怎么回复")
    assert masked == "邮箱 [邮箱] 怎么回复"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("42010619900101123 x", "[身份证号]"),  # the old normalised column
        ("zhang san example com", "[邮箱]"),
        ("１３８１２３４５６７８", "[手机号]"),
        ("４２０１０６１９９００１０１１２３Ｘ", "[身份证号]"),
        ("420106 19900101 123X", "[身份证号]"),
        ("6222 0212 3456 7890 123", "[银行卡号]"),
        ("(027)85123456", "[电话]"),
        ("zhang．san＠example．com", "[邮箱]"),
        ("420106900101123", "[身份证号]"),  # 15 digits, before 1999
    ],
)
def test_the_forms_the_old_masking_let_through(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2017 2018 2019 2020年的数据",
        "二〇一九年",
        "一二三四五六七八九十",
        "which org handles it",
        "行政复议 12345 件",
    ],
)
def test_years_figures_and_english_are_left_alone(text: str) -> None:
    assert mask_personal_data(text) == text
