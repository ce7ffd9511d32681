from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answering.engine import MAX_QUESTION_CHARS, Engine, Kind, format_plain


def test_a_known_question_is_answered_with_its_source(engine: Engine) -> None:
    reply = engine.respond("请问二〇一九年收到了几件行政復議申請？")
    assert reply.kind is Kind.ANSWER and reply.answered
    assert reply.entry is not None and reply.entry.id == "reconsideration-applications"
    assert "29件" in reply.text
    text = format_plain(reply)
    assert text.endswith("来源：一、工作情况（二）加强复议机关监督职能")


def test_an_unrelated_question_gets_the_honest_no_answer(engine: Engine) -> None:
    reply = engine.respond("明天会下雨吗")
    assert reply.kind is Kind.NONE and not reply.answered
    assert reply.text == engine.message("no_answer")


def test_a_vague_question_gets_suggestions_not_a_guess(engine: Engine) -> None:
    reply = engine.respond("行政复议")
    assert reply.kind is Kind.SUGGEST and not reply.answered
    ids = {entry.id for entry in reply.suggestions}
    assert ids == {"reconsideration-applications", "reconsideration-acceptance"}
    assert "您是不是想问" in format_plain(reply)


def test_input_problems_get_their_own_messages(engine: Engine) -> None:
    assert engine.respond("").kind is Kind.EMPTY
    assert engine.respond(" \u200b\u202e\t").kind is Kind.EMPTY
    assert engine.respond("😀🎉👍🏽").kind is Kind.SMALL_TALK  # answered warmly, not refused
    assert engine.respond("？？！！").kind is Kind.NO_WORDS
    long = engine.respond("法律顾问" * MAX_QUESTION_CHARS)
    assert long.kind is Kind.TOO_LONG and str(MAX_QUESTION_CHARS) in long.text


def test_markup_is_just_text(engine: Engine) -> None:
    reply = engine.respond("<b>法律顾问</b>覆盖情况 <script>")
    assert reply.kind is Kind.ANSWER
    assert reply.entry is not None and reply.entry.id == "legal-adviser-coverage"


def test_complaints_and_legal_advice_are_referred(engine: Engine) -> None:
    complaint = engine.respond("我要投诉执法人员态度差")
    assert complaint.kind is Kind.REFERRAL and "12345" in complaint.text
    advice = engine.respond("我的官司能赢吗")
    assert advice.kind is Kind.REFERRAL and "12348" in advice.text


def test_answer_entry_answers_a_chosen_suggestion(engine: Engine) -> None:
    reply = engine.answer_entry("law-firms")
    assert reply is not None and reply.answered and "得伟君尚" in reply.text
    assert engine.answer_entry("no-such-entry") is None


def test_reload_swaps_in_a_valid_edit(engine: Engine, kb_dir: Path) -> None:
    path = kb_dir / "10-work.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("62个部门", "63个部门"), encoding="utf-8"
    )
    assert engine.changed_on_disk()
    problems = engine.reload()
    assert not [p for p in problems if p.severity == "error"]
    assert "63个部门" in engine.respond("法律顾问覆盖情况").text
    assert not engine.changed_on_disk()


def test_a_broken_reload_keeps_serving_the_last_good_version(engine: Engine, kb_dir: Path) -> None:
    (kb_dir / "10-work.yaml").write_text("entries: [\n  - id: oops\n", encoding="utf-8")
    problems = engine.reload()
    assert any(p.severity == "error" and p.file.endswith("10-work.yaml") for p in problems)
    reply = engine.respond("法律顾问覆盖情况")
    assert reply.answered and "62个部门" in reply.text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=5000))
def test_every_input_gets_a_reply(text: str) -> None:
    from tests.conftest import FIXTURE_KNOWLEDGE

    engine = _cached_engine(FIXTURE_KNOWLEDGE)
    reply = engine.respond(text)
    assert reply.text
    assert reply.kind in Kind
    assert reply.answered == (reply.kind is Kind.ANSWER)


_ENGINES: dict[Path, Engine] = {}


def _cached_engine(path: Path) -> Engine:
    if path not in _ENGINES:
        _ENGINES[path] = Engine.from_directory(path)
    return _ENGINES[path]


def test_what_happens_to_a_head_who_stays_away_names_both_consequences(
    shipped_engine: Engine,
) -> None:
    """The report gives two consequences in one sentence: the assessment and, under the mark,
    the warning talk. The entry asked about the assessment gives both."""
    reply = shipped_engine.respond("部门一把手不出庭会怎么样")
    assert reply.answered and "绩效考核" in reply.text and "警示约谈" in reply.text
