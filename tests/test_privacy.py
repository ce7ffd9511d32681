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
