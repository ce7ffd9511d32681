"""Review at a year of traffic: report, HTML, suggest, /stats and /unanswered over a big log.

Run from the repository root:  python tests/bench/bench_review.py [--questions 1000000]
[--days 365] [--db /tmp/review-1m.sqlite3]

Not collected by pytest. Writes a synthetic question log (tests/review_log.py: most answered,
the rest wording families asked in several ways and with typos, plus wordings asked once) of
`--questions` rows spread over `--days` days ending now, through a database the real
`QuestionLog` created, so its indexes are the bot's own. With `--db`, a log already there with
as many rows is reused (generating a million rows takes about a minute).

Then it times, with the shipped knowledge base and the same window (the whole span):

- the floor: one `SELECT count(*)` over the window's rows, the least any report must read;
- `kbbot report` (the table), `kbbot report --html`, `kbbot suggest`, as the commands run them
  (`bot.cli.review`, output discarded);
- /stats (`format_stats(build_report(...))`, what the bot runs) over the span and over 7 days,
  /unanswered (`latest_unanswered`) and the weekly digest.

Each time is in seconds and as a ratio to the floor, so a figure stays comparable across
machines and load. Then the process's peak memory (resident set), against the size of the log:
no query hands a window's rows to Python, so it stays that of the bot's code and knowledge base
plus a few thousand wordings. Last, how SQLite runs each review query (EXPLAIN QUERY PLAN).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.answering.engine import Engine  # noqa: E402
from bot.cli import review as review_cli  # noqa: E402
from bot.config import SHIPPED_KNOWLEDGE, Config  # noqa: E402
from bot.logurl import LogURL  # noqa: E402
from bot.questionlog.opening import open_log  # noqa: E402
from bot.questionlog.protocol import QuestionLog  # noqa: E402
from bot.review import report  # noqa: E402
from tests.review_log import fill_log, generate_rows  # noqa: E402


def _rows(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM questions").fetchone()[0])


def prepare(path: Path, questions: int, days: int) -> float:
    """The log at `path` with `questions` rows (reused when it has them); seconds spent."""
    if _rows(path) == questions:
        return 0.0
    path.unlink(missing_ok=True)
    start = time.perf_counter()
    fill_log(path, generate_rows(questions, datetime.now(UTC), days))
    return time.perf_counter() - start


def floor(path: Path, window: report.Window) -> float:
    """One count over the window's rows (the asked_at index), best of three."""
    bounds = tuple(
        moment.isoformat(timespec="milliseconds") for moment in (window.start, window.end)
    )
    best = float("inf")
    with sqlite3.connect(path) as db:
        for _ in range(3):
            start = time.perf_counter()
            db.execute(
                "SELECT count(*) FROM questions WHERE asked_at >= ? AND asked_at < ?", bounds
            ).fetchone()
            best = min(best, time.perf_counter() - start)
    return best


async def _with_log(path: Path, work: Callable[[QuestionLog], Awaitable[object]]) -> None:
    log = await open_log(path, create=False)
    try:
        await work(log)
    finally:
        await log.close()


def steps(
    path: Path, days: int, scratch: Path, engine: Engine
) -> list[tuple[str, Callable[[], object]]]:
    """(name, call) for each thing timed, as a reviewer or the bot runs it."""
    config = Config(knowledge_dir=SHIPPED_KNOWLEDGE, db=LogURL.file(path))
    since = f"{days}d"
    window = report.parse_window(since=since)
    page = scratch / "report.html"
    matcher = engine.matcher

    async def stats(log: QuestionLog, span: str) -> None:
        built = await report.build_report(log, report.parse_window(since=span), matcher)
        report.format_stats(built)

    async def unanswered(log: QuestionLog) -> None:
        report.format_unanswered(await report.latest_unanswered(log, 10, matcher))

    async def digest(log: QuestionLog) -> None:
        await report.weekly_digest(log, matcher)

    out = io.StringIO
    return [
        (
            f"kbbot report --since {since}",
            lambda: asyncio.run(review_cli.report(config, window, out=out())),
        ),
        (
            f"kbbot report --since {since} --html",
            lambda: asyncio.run(review_cli.report(config, window, html=page, out=out())),
        ),
        (
            f"kbbot suggest --since {since}",
            lambda: asyncio.run(review_cli.suggestions(config, window, out=out())),
        ),
        (f"/stats {since}", lambda: asyncio.run(_with_log(path, lambda log: stats(log, since)))),
        ("/stats (7 days)", lambda: asyncio.run(_with_log(path, lambda log: stats(log, "7d")))),
        ("/unanswered", lambda: asyncio.run(_with_log(path, unanswered))),
        ("weekly digest", lambda: asyncio.run(_with_log(path, digest))),
    ]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _plans(path: Path) -> dict[str, list[str]]:
    log = await open_log(path, create=False)
    try:
        return await log.query_plans()
    finally:
        await log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", type=Path, help="keep (and reuse) the log here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kbbot-bench-review-") as scratch:
        path = args.db or Path(scratch) / "log.sqlite3"
        generated = prepare(path, args.questions, args.days)
        engine = Engine.from_directory(SHIPPED_KNOWLEDGE)
        window = report.parse_window(since=f"{args.days}d")
        base = floor(path, window)
        size = path.stat().st_size / 2**20
        note = f", generated in {generated:.0f} s" if generated else ", reused"
        print(f"{args.questions:,} questions over {args.days} days ({size:.0f} MB{note})\n")
        print("| step | time | time / floor |")
        print("| --- | --- | --- |")
        print(f"| floor: SELECT count(*) over the window | {base:.2f} s | 1× |", flush=True)
        before = _peak_mb()
        for name, call in steps(path, args.days, Path(scratch), engine):
            start = time.perf_counter()
            call()
            took = time.perf_counter() - start
            print(f"| {name} | {took:.2f} s | {took / base:.0f}× |", flush=True)
        print(
            f"\npeak memory (resident): {_peak_mb():.0f} MB "
            f"({before:.0f} MB before the first step; the log is {size:.0f} MB)"
        )
        print("\nquery plans (EXPLAIN QUERY PLAN):")
        for name, plan in asyncio.run(_plans(path)).items():
            print(f"  {name}: " + " / ".join(plan))


if __name__ == "__main__":
    main()
