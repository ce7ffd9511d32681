from __future__ import annotations

from dataclasses import fields, replace
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answering.decision import shipped_model
from bot.answering.engine import Engine
from bot.answering.knowledge import Entry, load_knowledge
from bot.answering.matcher import Candidate, Matcher, Outcome, Rival, Thresholds, _Shown, _Text
from bot.answering.text import compact
from bot.authoring.audit import audit_matcher
from bot.config import SHIPPED_KNOWLEDGE
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
    foreign = matcher.match("火锅店出庭应诉率").best
    assert plain and wordy and foreign
    assert wordy.score > foreign.score
    assert plain.score >= wordy.score
    # A place name says where, which the constraints check (as they check years): it weighs
    # like a question word, not like a word the knowledge base does not know.
    place = matcher.match("武昌区出庭应诉率").best
    assert place and place.score > foreign.score


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


# --- cost bounds -----------------------------------------------------------------------------

# Every question and answer of these bases says 行政机关…工作情况, so each bigram of a question
# made of those words is in more phrasings than the base has entries: the case where walking
# the postings would cost the size of the base.
_SMALL_LIMITS = Thresholds(stop_gram_floor=20, walk_limit=40)
_NAMES = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"


def _unit(n: int) -> Entry:
    name = _NAMES[n % 22] + _NAMES[n // 22 % 22]
    return Entry(
        id=f"unit-{n}",
        topic=f"{name}单位",
        questions=(f"行政机关{name}工作情况", f"{name}行政机关的工作情况怎么样"),
        answer=f"{name}行政机关工作情况良好",
        source="一、合成",
    )


@lru_cache(maxsize=2)
def _common_word_matcher(size: int) -> Matcher:
    # The exact phrasing comes last, so only postings walked best-first reach it in the limit.
    short = Entry("the-short-one", "行政机关", ("行政机关",), "行政机关共有十家", "一、合成")
    entries = (*map(_unit, range(size)), short)
    return Matcher(replace(load_knowledge(FIXTURE_KNOWLEDGE), entries=entries), _SMALL_LIMITS)


@pytest.mark.parametrize("question", ["行政机关", "行政机关工作情况", "行政机关工作情况怎么样"])
def test_a_question_of_common_words_walks_no_more_postings_as_the_base_grows(
    question: str,
) -> None:
    walked = []
    for size in (150, 300):
        matcher = _common_word_matcher(size)
        texts = [t for entry in matcher.kb.entries for t in (*entry.questions, entry.answer)]
        assert sum("行政机关" in text for text in texts) == len(texts) > 2 * size
        walked.append(matcher.postings_walked(question))
    assert 0 < walked[0] == walked[1] <= _SMALL_LIMITS.walk_limit


def test_walking_only_the_head_of_a_long_posting_list_still_finds_the_exact_phrasing() -> None:
    matcher = _common_word_matcher(300)
    ranked = matcher.rank("行政机关")
    assert ranked and ranked[0].entry.id == "the-short-one"


def test_a_question_with_rarer_words_walks_only_those() -> None:
    matcher = _common_word_matcher(300)
    question = "丙丁行政机关工作情况"
    # At most `stop_gram_floor` postings for each bigram and its pinyin: the bigrams found in
    # every phrasing (行政, 工作...) are left to the second pass.
    bigrams = len(question) - 1
    assert matcher.postings_walked(question) <= 2 * bigrams * _SMALL_LIMITS.stop_gram_floor
    assert matcher.rank(question)[0].entry.id == "unit-68"


# --- kb check's rival ------------------------------------------------------------------------


def _rival_by_rank(matcher: Matcher, question: str, entry_id: str, leave_out: bool) -> Rival | None:
    """`Matcher.rival` as `rank` says it, scoring every candidate in full."""
    ranked = matcher.rank(question, exclude=(question,) if leave_out else ())
    floor = matcher.model.suggest_at
    if not ranked or ranked[0].entry.id == entry_id or ranked[0].confidence < floor:
        return None
    own = next((c.score for c in ranked if c.entry.id == entry_id), None)
    return Rival(ranked[0].entry, ranked[0].phrase, ranked[0].score, own)


def _stored(matcher: Matcher) -> list[tuple[str, str]]:
    return [(entry.id, question) for entry in matcher.kb.entries for question in entry.questions]


@pytest.mark.parametrize(
    "matcher",
    [
        pytest.param(audit_matcher(load_knowledge(SHIPPED_KNOWLEDGE)), id="shipped"),
        # Near-identical phrasings: ties and close bounds everywhere.
        pytest.param(_common_word_matcher(150), id="common-words"),
    ],
)
def test_rival_says_what_rank_says_of_every_stored_phrasing(matcher: Matcher) -> None:
    floor = matcher.model.suggest_at
    for entry_id, question in _stored(matcher):
        for leave_out in (True, False):
            exclude = (question,) if leave_out else ()
            expected = _rival_by_rank(matcher, question, entry_id, leave_out)
            assert matcher.rival(question, entry_id, floor=floor, exclude=exclude) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="行政复议机关出庭应诉率律师法律顾问不受理案件几多少2019年的", max_size=20),
    st.sampled_from(_MATCHER.kb.entries),
)
def test_rival_says_what_rank_says_of_any_question(question: str, entry: Entry) -> None:
    expected = _rival_by_rank(_MATCHER, question, entry.id, leave_out=False)
    assert _MATCHER.rival(question, entry.id, floor=_MATCHER.model.suggest_at) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet="行政复议机关出庭应诉率律师法律顾问不受理案件几多少2019年的计划问题", max_size=20
    ),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_a_phrasing_is_passed_over_only_when_it_cannot_beat_its_entry(
    question: str, beat: float
) -> None:
    """`_scored` with `beat` (the entry's best so far) skips a phrasing only when its full
    score would not exceed it, and otherwise gives the full score."""
    matcher = _MATCHER
    query = matcher._query(matcher._normalised(question))
    for number in matcher._shortlisted(query, ()):
        phrase = matcher._phrases[number]
        texts = matcher._entries[phrase.entry_index]
        coverage = matcher._covered(query, texts) / query.total if query.total > 0 else 0.0
        for kind_fit in (1.0, 0.0):
            full = matcher._scored(query, phrase, coverage, kind_fit)
            assert full is not None
            beat = round(beat, 4)
            passed = matcher._scored(query, phrase, coverage, kind_fit, beat)
            if passed is None:
                assert full[0] <= beat
            else:
                assert passed == full


_NORM_PARTS = st.lists(
    st.text(alphabet="行政复议案卷律所abcs1٣9.%", min_size=1, max_size=8).map(compact).filter(bool),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(_NORM_PARTS)
def test_a_text_joined_from_its_parts_is_the_text_cut_whole(norms: list[str]) -> None:
    strings: dict[str, str] = {}
    parts = [_Text.of(norm, strings) for norm in norms]
    assert _Text.joined(parts, strings) == _Text.of(" ".join(norms))


def _credits_by_rule(source: _Text, target: _Text, pinyin_credit: float) -> list[float]:
    """`Matcher._credits` as its docstring states it, one token at a time."""
    if len(source.toks) == 1:
        if source.toks[0] in target.toks:
            return [1.0]
        return [pinyin_credit if source.pinyin_grams[0] in target.pinyin_bigrams else 0.0]
    credit = []
    for k, tok in enumerate(source.toks):
        around = [i for i in (k - 1, k) if 0 <= i < len(source.grams)]
        if any(source.grams[i] in target.bigrams for i in around) or (
            k in source.singles and tok in target.bigrams
        ):
            credit.append(1.0)
        elif any(source.pinyin_grams[i] in target.pinyin_bigrams for i in around):
            credit.append(pinyin_credit)
        else:
            credit.append(0.0)
    return credit


_TEXTS = st.text(alphabet="行政刑法复议律师事务所出庭应诉率a1 ", max_size=12).map(compact)


@settings(max_examples=500, deadline=None)
@given(_TEXTS, st.lists(_TEXTS, min_size=1, max_size=3))
def test_credits_cover_a_token_through_any_gram_holding_it(source: str, targets: list[str]) -> None:
    cut = _Text.of(source)
    target = _Text.of(" ".join(targets))
    pinyin_credit = _MATCHER.thresholds.pinyin_credit
    assert _MATCHER._credits(cut, target) == _credits_by_rule(cut, target, pinyin_credit)


def test_a_question_about_shortcomings_costs_entries_on_what_was_done() -> None:
    """Two entries on one subject, one on what was done and one on what falls short: a question
    about what falls short (in words the report does not use) costs the first its share, and
    a question that does not ask about shortcomings costs nothing."""
    done = Entry(
        "adviser-team",
        "法律顾问团队",
        ("法律顾问团队的管理", "聘请法律顾问"),
        "区里聘请法律顾问组成团队，加强管理。",
        "一、工作情况（九）提升法律顾问效能",
    )
    short = Entry(
        "adviser-problem",
        "法律顾问管理问题",
        ("法律顾问管理存在什么问题",),
        "还需进一步完善法律顾问的管理制度。",
        "二、存在问题",
    )
    kb = replace(
        load_knowledge(FIXTURE_KNOWLEDGE),
        entries=(done, short),
        synonyms={"欠缺": "存在问题", "什么问题": "存在问题"},
    )
    cost = 0.25
    costly = Matcher(kb, Thresholds(problem_mismatch_cost=cost))
    free = Matcher(kb, Thresholds(problem_mismatch_cost=0.0))

    def scores(matcher: Matcher, question: str) -> dict[str, float]:
        return {c.entry.id: c.score for c in matcher.rank(question)}

    asked = "法律顾问团队的管理还有什么欠缺"
    with_cost, without = scores(costly, asked), scores(free, asked)
    assert with_cost["adviser-problem"] == without["adviser-problem"]
    assert with_cost["adviser-team"] == pytest.approx(
        (1 - cost) * without["adviser-team"], abs=1e-3
    )
    plain = "法律顾问团队的管理"
    assert scores(costly, plain) == scores(free, plain)


def test_the_entry_of_what_a_question_sets_aside_is_left_out() -> None:
    """律师除了代理官司还做了什么 asks for the lawyers' other work: the entry on their lawsuits
    answers what is set aside and leaves the ranking, unless it leads (then it holds the rest
    too, as a breakdown does)."""
    lawsuits = Entry(
        "lawyers-cases",
        "律师代理案件",
        ("律师代理复议诉讼案件", "律师代理官司"),
        "区政府复议诉讼案件由专业律师代理。",
        "一、工作情况",
    )
    projects = Entry(
        "lawyers-projects",
        "律师参与专项工作",
        ("律师参与了哪些专项工作",),
        "律师团队参与民间融资清盘化解等专项工作。",
        "一、工作情况",
    )
    matcher = Matcher(replace(load_knowledge(FIXTURE_KNOWLEDGE), entries=(lawsuits, projects)))
    assert matcher.match("律师代理官司").best.entry.id == "lawyers-cases"  # type: ignore[union-attr]
    result = matcher.match("律师除了代理官司还参与了什么工作")
    assert [c.entry.id for c in result.ranked] == ["lawyers-projects"]
    kept = matcher.match("除了律师代理官司，剩下的代理案件呢")
    assert kept.ranked[0].entry.id == "lawyers-cases"


def test_a_candidate_is_made_positionally_from_what_it_shows() -> None:
    """`Candidate(*shown, confidence)`: the fields must stay in the same order."""
    assert (*_Shown._fields, "confidence") == tuple(f.name for f in fields(Candidate))


@pytest.mark.parametrize("question", ["两法衔接下一步咋搞", "两法鲜接下一步咋搞"])
def test_a_plan_named_with_next_steps_is_that_plan_not_the_summary_of_all(
    shipped_engine: Engine, question: str
) -> None:
    """The summary of the plans names 两法衔接 in passing; the plan's own entries speak for
    their chapter (下步工作打算) as well."""
    reply = shipped_engine.respond(question)
    assert reply.answered and reply.entry is not None
    assert reply.entry.id != "plans-summary" and "两法衔接" in reply.entry.topic
    summary = shipped_engine.respond("下一步打算是什么")
    assert summary.entry is not None and summary.entry.id == "plans-summary"


def test_the_year_and_the_whole_said_in_everyday_words(shipped_engine: Engine) -> None:
    """这一年 is the report's year; 整体来看 asks for the overall result (总体)."""
    overall = shipped_engine.respond("整体来看这一年法治政府建设干得怎么样")
    assert overall.answered and "圆满完成" in overall.text
    counted = shipped_engine.respond("这一年来区里复议申请收了多少件")
    assert counted.answered and "29件" in counted.text


def test_spoken_verbs_of_the_case_file_review(shipped_engine: Engine) -> None:
    """抽出来 is 抽取 and 先看一遍 is 初审, as people say them."""
    who = shipped_engine.respond("卷宗抽出来之后由谁先看一遍")
    assert who.answered and "区司法局" in who.text


def test_a_question_of_how_something_is_learnt_is_not_answered_with_a_shortcoming(
    shipped_engine: Engine,
) -> None:
    """怎么学习法律知识 asks what is done (每周或每月学法); the team's uneven quality is a
    shortcoming and tells nothing of that."""
    question = "执法队伍平时是怎么学习法律知识的"
    reply = shipped_engine.respond(question)
    assert reply.answered and reply.entry is not None
    assert "参差不齐" not in reply.entry.answer and "学法" in reply.entry.answer
    problem, done = (
        next(c for c in shipped_engine.matcher.rank(question) if c.entry.id == entry_id)
        for entry_id in ("problem-enforcement-team", "enforcement-study-system")
    )
    assert done.score > problem.score


def test_everyday_wordings_of_acceptance_and_online_service(shipped_engine: Engine) -> None:
    """被接下来 is 受理 (accepted) and 网上就能搞定 is 网上办."""
    accepted = shipped_engine.respond("交上去的复议申请有多少件被接下来了")
    assert accepted.answered and "22件" in accepted.text
    online = shipped_engine.respond("网上就能搞定的事项有多少项")
    assert online.answered and "226项" in online.text


def test_every_unit_having_one_is_full_coverage(shipped_engine: Engine) -> None:
    """都配了 (each has been given one) asks whether the coverage is full."""
    reply = shipped_engine.respond("各个部门是不是都配上律师顾问了")
    assert reply.answered and "全覆盖" in reply.text


def test_someone_whose_job_is_the_legal_work_is_full_time_staff(shipped_engine: Engine) -> None:
    """专门负责法制工作的人 is the report's 专职法制工作人员 (the shortage it names), not the
    reform that says which bureau is responsible for reconsideration."""
    ranked = shipped_engine.matcher.rank("各单位有专门负责法制工作的人吗")
    assert ranked[0].entry.id == "problem-legal-staff"
