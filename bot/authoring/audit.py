"""Knowledge-base checks that need the matcher: phrasings that lead to the wrong entry.

A question stored under entry A that, left out of the index, matches entry B better than A is a
sign the two entries overlap or the phrasing is too vague; `kbbot kb check` warns about it.

Every stored question is asked once, so the check costs one matcher call per phrasing: on a
large base that is most of `kb check`'s time, and `progress` lets the command line show it. To
keep that linear in the size of the base, ask the matcher `audit_matcher` builds (see there).
The call is `Matcher.rival`, which says what `Matcher.rank` would of the leading entry and the
question's own, without scoring in full the entries that can be neither first nor second.
The questions are independent of each other, so with `jobs` they are shared out among forked
processes, which start with the index the parent built already in memory: it is neither built
again nor sent to them (see `_ask_in_processes`).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from bot.answering.knowledge import Entry, KnowledgeBase, Problem
from bot.answering.matcher import Matcher, Thresholds

# How often (in questions checked) `progress` is called; also how many questions a worker
# process is given at a time.
PROGRESS_EVERY = 200
# Below this many questions the check stays in one process: the shipped base checks in well
# under a second, less than starting the workers would cost.
PARALLEL_FROM = 2000
# The most worker processes `default_jobs` suggests: each copies the pages of the index it
# writes to (reference counts; about 200 MB at 10,000 entries), so memory, not only CPUs, sets
# the useful number.
MAX_JOBS = 8

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
    of 3,000 entries the questions warned about differed by about 1%. It is built with the
    collector paused (`collector_paused`).
    """
    limits = thresholds or Thresholds()
    with collector_paused():
        return Matcher(kb, replace(limits, stop_gram_share=0.0))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block without Python's cyclic garbage collector.

    Loading a large base and building its index make millions of objects that all live on;
    the collector would walk them again and again for garbage there is not (a tenth of the
    index build at 10,000 entries). Reference counting still frees everything as usual, and
    the collector comes back, if it was on, when the block ends. What the block made is then
    moved straight to the collector's oldest generation (frozen and thawed at once, which
    costs nothing): left young, all of it would be walked by the very next collection (most of
    a second at 10,000 entries), to be found alive.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def default_jobs() -> int:
    """How many processes `kb check` uses unless told: one per CPU this process may run on, at
    most `MAX_JOBS`."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_JOBS))


def confusable_questions(
    matcher: Matcher, progress: Progress | None = None, jobs: int = 1
) -> list[Problem]:
    """Warnings for stored questions whose closest other entry outscores their own entry.

    Args:
        progress: called with (questions checked, questions in all) as the check goes.
        jobs: how many processes may ask the questions. The warnings, and their order, are
            the same whatever the number; the check stays in this process when the base is
            small (`PARALLEL_FROM`) or the system cannot fork.
    """
    asked = [(entry, question) for entry in matcher.kb.entries for question in entry.questions]
    if jobs > 1 and len(asked) >= PARALLEL_FROM and _can_fork():
        return _ask_in_processes(matcher, asked, jobs, progress)
    problems: list[Problem] = []
    floor = matcher.model.suggest_at
    for done, (entry, question) in enumerate(asked):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(asked))
        problem = _confusable(matcher, entry, question, floor)
        if problem is not None:
            problems.append(problem)
    if progress is not None:
        progress(len(asked), len(asked))
    return problems


def _can_fork() -> bool:
    """Whether workers can start as copies of this process: POSIX, and no other thread running
    (a thread holding a lock at the fork would leave the copy's lock held for ever)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _ask_in_processes(
    matcher: Matcher,
    asked: list[tuple[Entry, str]],
    jobs: int,
    progress: Progress | None,
) -> list[Problem]:
    """`confusable_questions` in `jobs` forked processes, `PROGRESS_EVERY` questions at a time.

    The workers are forked once the index is built, so they start with it in memory and only
    the bounds of each slice of `asked` and the warnings found travel between processes. The
    slices come back in order, so the warnings are listed as one process would list them.
    Freezing the collector first keeps it from writing to every object the parent made (which
    would make each worker copy the whole index). Ctrl-C and SIGTERM are left to this process,
    which stops the workers as it leaves the pool and exits as the signal would have made it
    (SIGTERM: status 143), rather than leave them to die writing to a parent that is gone.
    """
    slices = [
        (start, min(start + PROGRESS_EVERY, len(asked)))
        for start in range(0, len(asked), PROGRESS_EVERY)
    ]
    problems: list[Problem] = []
    if progress is not None:
        progress(0, len(asked))
    # Whatever is waiting in a buffer at the fork would be written once by every worker.
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()
    terminate = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(
            min(jobs, len(slices)), initializer=_start_worker, initargs=(matcher, asked)
        ) as pool:
            for (_, stop), found in zip(slices, pool.imap(_ask_slice, slices), strict=True):
                problems.extend(found)
                if progress is not None:
                    progress(stop, len(asked))
    finally:
        signal.signal(signal.SIGTERM, terminate)
        gc.unfreeze()
    return problems


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


# In a worker process: the matcher and questions it inherited from the parent at the fork.
_worker: tuple[Matcher, Sequence[tuple[Entry, str]]] | None = None


def _start_worker(matcher: Matcher, asked: Sequence[tuple[Entry, str]]) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # how the pool stops its workers
    _worker = (matcher, asked)


def _ask_slice(bounds: tuple[int, int]) -> list[Problem]:
    assert _worker is not None, "only called in a worker process"
    matcher, asked = _worker
    floor = matcher.model.suggest_at
    found = (_confusable(matcher, entry, q, floor) for entry, q in asked[bounds[0] : bounds[1]])
    return [problem for problem in found if problem is not None]


def _confusable(matcher: Matcher, entry: Entry, question: str, floor: float) -> Problem | None:
    rival = matcher.rival(question, entry.id, floor=floor, exclude=(question,))
    if rival is None:
        return None
    scores = (
        f"{rival.score:.2f} > {rival.own:.2f}"
        if rival.own is not None
        else f"{rival.score:.2f}，本条目不在候选之列"
    )
    return Problem(
        entry.file,
        entry.line,
        f"条目 `{entry.id}` 的问法 `{question}` 更像条目 `{rival.entry.id}` 的"
        f" `{rival.phrase}`（{scores}），请把问法写得更具体，或检查两个条目是否重复",
        "warning",
    )
