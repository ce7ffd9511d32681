"""Quoting the report's own sentence: which sentence, when the entries point at one."""

from __future__ import annotations

from bot.answering.engine import Engine, Kind
from bot.answering.passages import passage_knowledge

# Two sentences score close for this question: the joint meetings (组织…执法部门…法律) and the
# departments' own study (执法部门…学法). The entries it comes near are the study's.
QUESTION = "执法部门怎么组织学习法律知识"
STUDY = "全区各执法部门建立每周或每月学法制度"
MEETINGS = "建立法制专题联席会议制度"


def test_the_closest_sentence_is_quoted_when_nothing_backs_another(
    shipped_engine: Engine,
) -> None:
    quote = shipped_engine.passages.quote(QUESTION)
    assert quote is not None and quote.sentence.text.startswith(MEETINGS)


def test_a_sentence_the_close_entries_rest_on_is_quoted_instead(shipped_engine: Engine) -> None:
    study = next(s.text for s in shipped_engine.kb.document.sentences if s.text.startswith(STUDY))
    quote = shipped_engine.passages.quote(QUESTION, [study])
    assert quote is not None and quote.sentence.text == study
    # The first backed sentence wins, in the order the entries were found.
    meetings = next(
        s.text for s in shipped_engine.kb.document.sentences if s.text.startswith(MEETINGS)
    )
    quote = shipped_engine.passages.quote(QUESTION, [study, meetings])
    assert quote is not None and quote.sentence.text == study


def test_a_backed_sentence_far_from_the_question_is_not_quoted(shipped_engine: Engine) -> None:
    far = next(s.text for s in shipped_engine.kb.document.sentences if "29件" in s.text)
    quote = shipped_engine.passages.quote(QUESTION, [far])
    assert quote is not None and quote.sentence.text.startswith(MEETINGS)


def test_the_engine_quotes_the_sentence_its_suggestions_rest_on(shipped_engine: Engine) -> None:
    reply = shipped_engine.respond(QUESTION)
    assert reply.kind is Kind.PASSAGE and reply.quote is not None
    assert reply.quote.text.startswith(STUDY)


def test_a_sentence_within_a_longer_passage_is_backed(shipped_engine: Engine) -> None:
    study = next(s.text for s in shipped_engine.kb.document.sentences if s.text.startswith(STUDY))
    quote = shipped_engine.passages.quote(QUESTION, [f"{study}另一句话。"])
    assert quote is not None and quote.sentence.text == study


def test_a_sentence_that_lists_nothing_is_not_quoted_for_a_list(shipped_engine: Engine) -> None:
    """具体负责打哪些官司 asks for the kinds of case: the court-appearance rate, which shares
    its 负责 and 诉讼, names none."""
    reply = shipped_engine.respond("给政府当顾问的律师具体负责打哪些官司")
    assert reply.kind is not Kind.PASSAGE
    sentences = passage_knowledge(shipped_engine.kb)
    assert sentences is not None and all(entry.draft for entry in sentences.entries)


def test_a_sentence_no_offered_entry_rests_on_is_not_quoted_over_them(
    shipped_engine: Engine,
) -> None:
    """When the entries found the question's topic and would be offered, a sentence none of
    them rests on disagrees with them: they are offered instead. Asked alone, with nothing
    offered, the closest sentence is still quoted."""
    far = next(s.text for s in shipped_engine.kb.document.sentences if "29件" in s.text)
    assert shipped_engine.passages.quote(QUESTION, [far], only_backed=True) is None
    study = next(s.text for s in shipped_engine.kb.document.sentences if s.text.startswith(STUDY))
    quote = shipped_engine.passages.quote(QUESTION, [study], only_backed=True)
    assert quote is not None and quote.sentence.text == study
    reply = shipped_engine.respond("区里的单位是不是都请了律师当顾问")
    assert reply.kind is Kind.SUGGEST
    assert "legal-adviser-coverage" in {entry.id for entry in reply.suggestions}
