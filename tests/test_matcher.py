from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.decision import shipped_model
from bot.engine import Engine
from bot.knowledge import load_knowledge
from bot.matcher import Matcher, Outcome
from tests.conftest import FIXTURE_KNOWLEDGE


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_knowledge(FIXTURE_KNOWLEDGE))


def test_exact_question_is_a_sure_answer(matcher: Matcher) -> None:
    result = matcher.match("区政府和哪些律师事务所签了协议")
    assert result.outcome is Outcome.ANSWER
    assert result.best is not None and result.best.entry.id == "law-firms"
    assert result.best.confidence >= matcher.model.answer_at


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("去年复议申请收到几件？", "reconsideration-applications"),  # synonyms + numerals
        ("區政府和哪些律所合作", "law-firms"),  # traditional + colloquial
        ("法律顾文覆盖情况", "legal-adviser-coverage"),  # homophone typo
        ("出庭硬诉率", "court-appearance-rate"),  # homophone typo
        ("行政复议受案率", "reconsideration-acceptance"),  # keywords only
        ("how many legal advisers", "legal-adviser-coverage"),  # English glossary
    ],
)
def test_variants_find_their_entry(matcher: Matcher, question: str, entry_id: str) -> None:
    result = matcher.match(question)
    assert result.outcome is Outcome.ANSWER, result.reason
    assert result.best is not None and result.best.entry.id == entry_id


@pytest.mark.parametrize("question", ["明天会下雨吗", "怎么办护照", "qwerty", "你好"])
def test_unrelated_questions_get_no_answer(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).outcome is not Outcome.ANSWER


def test_another_districts_figure_is_no_answer(engine: Engine) -> None:
    """The matcher finds the entry; the engine's constraint check says it is Jianghan's."""
    reply = engine.respond("汉阳区法律顾问有多少")
    assert not reply.answered and reply.kind.value == "partial"


def test_ambiguous_question_suggests_the_close_entries(matcher: Matcher) -> None:
    result = matcher.match("行政复议")
    assert result.outcome is Outcome.SUGGEST
    assert {c.entry.id for c in result.suggestions} == {
        "reconsideration-applications",
        "reconsideration-acceptance",
    }
    assert "建议" in result.reason


def test_candidates_explain_their_scores(matcher: Matcher) -> None:
    best = matcher.match("法律顾问覆盖情况").best
    assert best is not None
    assert best.phrase == "法律顾问覆盖情况"
    assert (
        0 <= best.query_coverage <= 1
        and 0 <= best.phrase_coverage <= 1
        and 0 <= best.similarity <= 1
    )


def test_unknown_words_cost_more_than_question_words(matcher: Matcher) -> None:
    plain = matcher.match("出庭应诉率").best
    wordy = matcher.match("请问一共是多少出庭应诉率呢").best
    foreign = matcher.match("武昌区出庭应诉率").best
    assert plain and wordy and foreign
    assert wordy.score > foreign.score
    assert plain.score >= wordy.score


def test_the_decision_models_cut_offs_decide_the_outcome() -> None:
    kb = load_knowledge(FIXTURE_KNOWLEDGE)
    model = shipped_model()
    strict = Matcher(kb, model=replace(model, answer_at=1.01, suggest_at=1.01))
    assert strict.match("去年复议申请收到几件").outcome is Outcome.NONE
    lenient = Matcher(kb, model=replace(model, answer_at=0.0, suggest_at=0.0))
    assert lenient.match("复议申请").outcome is Outcome.ANSWER


def test_rank_can_leave_a_stored_phrasing_out(matcher: Matcher) -> None:
    question = "合作的律师事务所"
    with_it = matcher.rank(question)[0]
    without = matcher.rank(question, exclude=(question,))[0]
    assert with_it.phrase == question and without.phrase != question


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3000))
def test_matching_never_crashes_and_scores_stay_in_range(text: str) -> None:
    result = _MATCHER.match(text)
    assert result.outcome in Outcome
    assert all(0.0 <= c.score <= 1.0 and 0.0 <= c.confidence <= 1.0 for c in result.candidates)
    if result.outcome is Outcome.ANSWER:
        best, *also = result.candidates
        assert len(also) <= 2 and all(c.score <= best.score for c in also)


_MATCHER = Matcher(load_knowledge(FIXTURE_KNOWLEDGE))


def test_leaving_out_a_phrasing_shared_by_topic_and_keyword_still_finds_the_entry(
    kb_dir: Path,
) -> None:
    """A topic, a keyword and a question with the same text are one phrasing, not three.

    Otherwise they fill the entry's shortlist places, and leaving that text out (as `kb check`
    does) hides the entry's other phrasings.
    """
    path = kb_dir / "10-work.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "    topic: 出庭应诉率\n    questions:\n",
        "    topic: 出庭应诉率\n    keywords: [出庭应诉率]\n    questions:\n      - 出庭应诉率\n",
    )
    path.write_text(text, encoding="utf-8")
    matcher = Matcher(load_knowledge(kb_dir))
    ranked = matcher.rank("出庭应诉率", exclude=("出庭应诉率",))
    assert ranked and ranked[0].entry.id == "court-appearance-rate"
    assert ranked[0].phrase != "出庭应诉率"


def test_a_bare_number_is_answered_only_when_stored_word_for_word(matcher: Matcher) -> None:
    assert matcher.match("29件").outcome is Outcome.ANSWER  # a keyword of its entry
    assert matcher.match("2").outcome is not Outcome.ANSWER
    assert matcher.match("22").outcome is not Outcome.ANSWER
