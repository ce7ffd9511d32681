"""Everyday words bridged to the knowledge base's words through CC-CEDICT senses (bot/answering/lexicon.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answering import lexicon
from bot.answering.engine import Engine
from bot.answering.lexicon import Bridges, dictionary, senses_of


def test_a_gloss_gives_its_short_senses_without_classifiers_or_pointers() -> None:
    assert senses_of("(a person's) age/CL:把[ba3],個|个[ge4]") == ["age"]
    assert senses_of("to guard a pass/to check on sth") == ["guard a pass", "check on"]
    assert senses_of("variant of 管[guan3]/surname Guan") == []
    assert senses_of("shortcoming; weak point") == ["shortcoming", "weak point"]
    # A description is no meaning two words could share.
    assert senses_of("used in the names of many ancient states in the central plain") == []


@given(st.text(max_size=200))
def test_any_gloss_parses_to_short_lowercase_senses(gloss: str) -> None:
    for sense in senses_of(gloss):
        assert sense and sense == sense.lower() and len(sense.split()) <= 3


SENSES = {
    "年龄": frozenset({"age"}),
    "岁数": frozenset({"age"}),
    "截止": frozenset({"close", "deadline", "stop", "end", "cut-off point"}),
    "关门": frozenset({"close", "close a door", "lock a door"}),
    "酒店": frozenset({"hotel", "restaurant"}),
}


def test_a_word_meaning_only_what_a_known_word_means_stands_for_it() -> None:
    bridges = Bridges(["年龄", "截止"], SENSES)
    assert bridges("岁数") == "年龄"
    assert bridges("年龄") is None  # the knowledge base's own word
    assert bridges("酒店") is None  # nothing of the knowledge base means "hotel"
    assert bridges("关门") is None  # one shared sense among many is no synonym
    assert bridges("x") is None and bridges("ab") is None


def test_the_packaged_dictionary_bridges_everyday_words_and_not_other_matters(
    shipped_engine: Engine,
) -> None:
    assert len(dictionary()) > 50_000
    bridges = shipped_engine.matcher.bridges
    assert bridges("年纪") == "年龄"
    assert bridges("纠纷") == "争议"
    for elsewhere in ("酒店", "护照", "天气", "门票", "地铁"):
        assert bridges(elsewhere) is None, elsewhere


def test_a_question_in_everyday_words_is_matched_as_the_reports_words(
    shipped_engine: Engine,
) -> None:
    result = shipped_engine.matcher.match("执法人员年纪普遍怎么样")
    assert "年龄" in result.normalised
    assert result.best is not None and result.best.entry.id == "problem-enforcement-team"
    # Adverbs and measures only shape a question: 到底 is not bridged to 结果 ("in the end").
    assert "结果" not in shipped_engine.matcher.match("到底有多少复议申请").normalised


def test_the_parsed_dictionary_is_kept_in_the_cache_folder_and_a_broken_one_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []

    def parse(data: object) -> dict[str, frozenset[str]]:
        parsed.append(1)
        return {"岁数": frozenset({"age"})}

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(lexicon, "_parse", parse)
    try:
        lexicon.dictionary.cache_clear()
        assert lexicon.dictionary() == {"岁数": frozenset({"age"})}
        [kept] = (tmp_path / "kbbot").iterdir()
        lexicon.dictionary.cache_clear()
        assert lexicon.dictionary() == {"岁数": frozenset({"age"})} and len(parsed) == 1
        kept.write_bytes(b"not marshal data")
        lexicon.dictionary.cache_clear()
        assert lexicon.dictionary() == {"岁数": frozenset({"age"})} and len(parsed) == 2
    finally:
        lexicon.dictionary.cache_clear()  # the real dictionary for the tests that follow
