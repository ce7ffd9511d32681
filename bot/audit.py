"""Knowledge-base checks that need the matcher: phrasings that lead to the wrong entry.

A question stored under entry A that, left out of the index, matches entry B better than A is a
sign the two entries overlap or the phrasing is too vague; `kbbot kb check` warns about it.

Every stored question is asked once, so the check costs one matcher call per phrasing: on a
large base that is most of `kb check`'s time, and `progress` lets the command line show it. To
keep that linear in the size of the base, ask the matcher `audit_matcher` builds (see there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.knowledge import Entry, KnowledgeBase, Problem
from bot.matcher import Matcher, Thresholds

# How often (in questions checked) `progress` is called.
PROGRESS_EVERY = 200

Progress = Callable[[int, int], None]
"""Called with (questions checked, questions in all) while the check runs, and at the end."""


def audit_matcher(kb: KnowledgeBase, thresholds: Thresholds | None = None) -> Matcher:
    """The matcher the check asks: the bot's, except in which grams it walks first.

    The bot's matcher leaves out of its first pass the grams found in more than a share of all
    phrasings (`stop_gram_share`, at least `stop_gram_floor`), so one question costs time in
    proportion to the size of the base, and asking every stored question costs its square.
    Here the cut is the floor whatever the size, as it is for any base of up to a few hundred
    entries (the shipped one included), and a question whose every word is in more phrasings
    than that walks at most `walk_limit` postings (`Matcher._walks`), as in the bot: a
    question costs about the same in a base of 1,000 entries as in one of 10,000
    (tests/bench/bench_kb_check.py). The ranking can differ from the bot's only in a base of
    more than 4,000 phrasings (where the bot's share exceeds the floor); on a generated base
    of 3,000 entries the questions warned about differed by about 1%.
    """
    limits = thresholds or Thresholds()
    return Matcher(kb, replace(limits, stop_gram_share=0.0))


def confusable_questions(matcher: Matcher, progress: Progress | None = None) -> list[Problem]:
    """Warnings for stored questions whose closest other entry outscores their own entry."""
    problems: list[Problem] = []
    floor = matcher.model.suggest_at
    asked = [(entry, question) for entry in matcher.kb.entries for question in entry.questions]
    for done, (entry, question) in enumerate(asked):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(asked))
        problem = _confusable(matcher, entry, question, floor)
        if problem is not None:
            problems.append(problem)
    if progress is not None:
        progress(len(asked), len(asked))
    return problems


def _confusable(matcher: Matcher, entry: Entry, question: str, floor: float) -> Problem | None:
    ranked = matcher.rank(question, exclude=(question,))
    if not ranked or ranked[0].entry.id == entry.id or ranked[0].confidence < floor:
        return None
    rival = ranked[0]
    own = next((c.score for c in ranked if c.entry.id == entry.id), None)
    scores = (
        f"{rival.score:.2f} > {own:.2f}"
        if own is not None
        else f"{rival.score:.2f}，本条目不在候选之列"
    )
    return Problem(
        entry.file,
        entry.line,
        f"条目 `{entry.id}` 的问法 `{question}` 更像条目 `{rival.entry.id}` 的"
        f" `{rival.phrase}`（{scores}），请把问法写得更具体，或检查两个条目是否重复",
        "warning",
    )
