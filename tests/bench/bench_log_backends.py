"""The question log on SQLite and on PostgreSQL, side by side in one run.

Run from the repository root:  python tests/bench/bench_log_backends.py [--postgres URL]
[--records 20000] [--rounds 3] [--users 400] [--messages 10] [--no-bot]

Not collected by pytest. Without --postgres (or KBBOT_TEST_POSTGRES) it starts a throwaway
PostgreSQL server the way .ci/postgres.sh does, but with the server's default settings (fsync
on, as an operator's server has it), and stops it at the end. The log's own sessions commit
with synchronous_commit=off (bot/questionlog/postgres.py), the durability of SQLite's log.
Every PostgreSQL log is a fresh schema of that server; every SQLite log a fresh file in a
temporary folder (WAL, synchronous=NORMAL: what the bot uses).

Measured for each backend, each figure as records (or updates) a second and as a ratio to
SQLite's in the same run, so the figures stay comparable across machines and load:

- direct: `record` one question at a time (one transaction each), and `record_many` in batches
  of 100 and of 500 (the background writer's largest batch);
- through the background writer (`LogQueue`, as the bot and the console use it): questions
  submitted as fast as they come, then feedback by `ref` for a third of them (each update its
  own transaction, as the writer runs them);
- the bot: `kbbot run` against the fake Bot API of tests/e2e, as tests/bench/bench_bot.py runs
  it (outgoing rate limit lifted), saturated by `--users` simulated users asking `--messages`
  questions each; answered messages a second, reply latency, and whether every question was in
  the log after SIGTERM. The backends alternate (SQLite, PostgreSQL, PostgreSQL, SQLite, ...)
  for `--rounds` pairs, and the ratio is the median of the pairs', which discounts the drift of
  a shared machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from bot.config import SHIPPED_KNOWLEDGE  # noqa: E402
from bot.questionlog.opening import open_log  # noqa: E402
from bot.questionlog.protocol import QuestionRecord  # noqa: E402
from bot.questionlog.writer import LogQueue  # noqa: E402
from tests.bench.bench_bot import (  # noqa: E402
    FIRST_USER,
    TOKEN,
    Phase,
    Replies,
    percentile,
    question_pool,
    run_phase,
    run_user,
)
from tests.e2e.fake_bot_api import FakeBotApi  # noqa: E402

BACKENDS = ("sqlite", "postgresql")


# --- where the logs live -----------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """A PostgreSQL server of Debian's package in a temporary folder, on 127.0.0.1 and a free
    port, with its default durability; stopped and removed on the way out."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not bins:
        sys.exit("no PostgreSQL server: apt-get install postgresql, or pass --postgres URL")
    bindir = bins[-1]
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="kbbot-bench-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(
        [*as_owner, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
         "--encoding=UTF8", "--locale=C.UTF-8"],
        check=True,
        **quiet,
    )  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {folder}"
    subprocess.run(
        [*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w",
         "-o", options, "start"],
        check=True,
        **quiet,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], **quiet
        )
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Places:
    """Fresh logs on demand: SQLite files in one folder, schemas on one server."""

    server: str
    folder: Path
    schemas: list[str] = field(default_factory=list)

    def fresh(self, backend: str) -> str:
        """A log location nobody has used yet, as KBBOT_DB takes it."""
        name = f"kbbot_bench_{secrets.token_hex(5)}"
        if backend == "sqlite":
            return str(self.folder / f"{name}.sqlite3")
        with psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        self.schemas.append(name)
        separator = "&" if "?" in self.server else "?"
        return f"{self.server}{separator}options={quote(f'-csearch_path={name}')}"

    def clean(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as admin:
            for name in self.schemas:
                admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
        shutil.rmtree(self.folder, ignore_errors=True)


# --- logging throughput ------------------------------------------------------------------------


def records(total: int) -> list[QuestionRecord]:
    """`total` questions as the bot logs them (each with its ref, most unanswered)."""
    return [
        QuestionRecord(
            channel="telegram",
            question=f"第{n}个问题：护照怎么办理",
            normalised=f"第{n}个问题 护照怎么办理",
            answered=n % 3 == 0,
            outcome="answer" if n % 3 == 0 else "none",
            entry_id="law-firms" if n % 3 == 0 else None,
            score=0.5,
            chat_type="private",
            user_hash=f"{n % 997:032x}",
            suggestions=("law-firms", "legal-adviser-coverage"),
            ref=f"r{n:010d}",
        )
        for n in range(total)
    ]


async def one_by_one(target: str, items: list[QuestionRecord]) -> float:
    async with open_log(target) as log:
        started = time.perf_counter()
        for item in items:
            await log.record(item)
        return len(items) / (time.perf_counter() - started)


def in_batches(size: int) -> Callable[[str, list[QuestionRecord]], Awaitable[float]]:
    async def run(target: str, items: list[QuestionRecord]) -> float:
        async with open_log(target) as log:
            started = time.perf_counter()
            for start in range(0, len(items), size):
                await log.record_many(items[start : start + size])
            return len(items) / (time.perf_counter() - started)

    return run


async def through_the_writer(target: str, items: list[QuestionRecord]) -> float:
    queue = LogQueue(target)
    await queue.start()
    await queue.submit(items[0])  # connected and migrated before the clock starts
    started = time.perf_counter()
    futures = [queue.submit(item) for item in items[1:]]
    await queue.flush()
    elapsed = time.perf_counter() - started
    await queue.close()
    assert all(isinstance(f.result(), int) for f in futures)
    return (len(items) - 1) / elapsed


async def feedback_through_the_writer(target: str, items: list[QuestionRecord]) -> float:
    async with LogQueue(target) as queue:
        for item in items:
            queue.submit(item)
        await queue.flush()
        refs = [item.ref for item in items[::3] if item.ref is not None]
        started = time.perf_counter()
        futures = [queue.submit_feedback(ref, helpful=True) for ref in refs]
        await queue.flush()
        elapsed = time.perf_counter() - started
    assert all(f.result() is True for f in futures)
    return len(refs) / elapsed


MEASURES: dict[str, tuple[Callable[[str, list[QuestionRecord]], Awaitable[float]], float]] = {
    # name: (how, share of --records it writes: one transaction a record is slow on any disk)
    "record, one at a time": (one_by_one, 0.1),
    "record_many, 100 a batch": (in_batches(100), 1.0),
    "record_many, 500 a batch": (in_batches(500), 1.0),
    "background writer, questions": (through_the_writer, 1.0),
    "background writer, feedback by ref": (feedback_through_the_writer, 0.3),
}


async def logging_figures(places: Places, total: int) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for name, (measure, share) in MEASURES.items():
        items = records(max(int(total * share), 100))
        figures[name] = dict.fromkeys(BACKENDS, 0.0)
        for run in range(3):  # the backends alternate; the best of three runs each
            for backend in BACKENDS if run % 2 == 0 else tuple(reversed(BACKENDS)):
                rate = await measure(places.fresh(backend), items)
                figures[name][backend] = max(figures[name][backend], rate)
    return figures


# --- the bot -----------------------------------------------------------------------------------


@dataclass
class BotRun:
    backend: str
    rate: float
    p50: float
    p95: float
    cpu_ms: float
    logged: int
    asked: int


async def bot_run(
    backend: str, places: Places, args: argparse.Namespace, pool: list[str], seed: int
) -> BotRun:
    """One `kbbot run` on a fresh log of `backend`, saturated; then SIGTERM and a count."""
    import random

    target = places.fresh(backend)
    work = Path(tempfile.mkdtemp(prefix="kbbot-bench-bot-", dir=places.folder))
    replies = Replies()
    phase = Phase("saturated", args.users, args.messages)
    async with FakeBotApi(token=TOKEN) as api:
        api.set_handler("sendMessage", replies.send_message)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(
            KBBOT_TOKEN=TOKEN,
            KBBOT_API_URL=api.base_url.removesuffix("/bot"),
            KBBOT_KNOWLEDGE=str(args.knowledge),
            KBBOT_DB=target,
            KBBOT_DATA_DIR=str(work / "data"),
            KBBOT_LOG_LEVEL="WARNING",
            KBBOT_RATE_LIMIT="0",
            NO_PROXY="127.0.0.1,localhost",
            PYTHONPATH=str(ROOT),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE
        )
        try:
            await api.wait_for_call("deleteWebhook", timeout=60)
            await run_user(api, replies, FIRST_USER - 1, [pool[0]], [])  # warm up
            await run_phase(phase, api, replies, process.pid, FIRST_USER, pool, random.Random(seed))
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    if process.returncode != 0 or replies.bad:
        sys.exit(f"the bot failed on {backend}: {stderr.decode()[-2000:]}")
    async with open_log(target, create=False) as log:
        logged = await log.count()
    lat = phase.latencies
    return BotRun(
        backend,
        phase.total / phase.elapsed,
        statistics.median(lat),
        percentile(lat, 0.95),
        phase.bot_cpu / phase.total * 1000,
        logged,
        1 + phase.total,
    )


async def bot_figures(places: Places, args: argparse.Namespace) -> list[BotRun]:
    pool = question_pool(args.knowledge)
    runs: list[BotRun] = []
    for round_ in range(args.rounds):
        order = BACKENDS if round_ % 2 == 0 else tuple(reversed(BACKENDS))
        for backend in order:
            # The same questions for both backends of a round.
            runs.append(await bot_run(backend, places, args, pool, seed=2019 + round_))
            print(
                f"    round {round_ + 1} {backend:10} {runs[-1].rate:6.0f} messages/s, "
                f"{runs[-1].logged}/{runs[-1].asked} logged",
                flush=True,
            )
    return runs


# --- the report --------------------------------------------------------------------------------


def print_logging(figures: dict[str, dict[str, float]]) -> None:
    print("  logging throughput (the best of three runs each, the backends alternating)")
    print(f"    {'':36} {'SQLite':>12} {'PostgreSQL':>12} {'PG / SQLite':>12}")
    for name, by_backend in figures.items():
        lite, pg = by_backend["sqlite"], by_backend["postgresql"]
        print(f"    {name:36} {lite:10,.0f}/s {pg:10,.0f}/s {pg / lite:11.2f}x")


def print_bot(runs: list[BotRun]) -> None:
    print("  the bot, saturated (kbbot run against the fake Bot API)")
    for backend in BACKENDS:
        mine = [r for r in runs if r.backend == backend]
        print(
            f"    {backend:10} median {statistics.median(r.rate for r in mine):6.0f} messages/s, "
            f"p50 {statistics.median(r.p50 for r in mine) * 1000:6.0f} ms, "
            f"p95 {statistics.median(r.p95 for r in mine) * 1000:6.0f} ms, "
            f"{statistics.median(r.cpu_ms for r in mine):.2f} ms CPU/message, "
            f"logged {sum(r.logged for r in mine)}/{sum(r.asked for r in mine)}"
        )
    pairs = [
        pg.rate / lite.rate
        for lite, pg in zip(
            [r for r in runs if r.backend == "sqlite"],
            [r for r in runs if r.backend == "postgresql"],
            strict=True,
        )
    ]
    ratios = ", ".join(f"{p:.2f}" for p in pairs)
    print(f"    PostgreSQL / SQLite, messages/s: median {statistics.median(pairs):.2f}x ({ratios})")


@contextlib.asynccontextmanager
async def places_on(server: str) -> AsyncIterator[Places]:
    places = Places(server, Path(tempfile.mkdtemp(prefix="kbbot-bench-logs-")))
    try:
        yield places
    finally:
        places.clean()


async def bench(args: argparse.Namespace, server: str) -> int:
    async with places_on(server) as places:
        with psycopg.connect(server) as probe:
            version = probe.execute("SHOW server_version").fetchone()
        print(
            f"kbbot question log backends ({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
            f"PostgreSQL {version[0] if version else '?'} on loopback; the log's sessions commit "
            "with synchronous_commit=off, as SQLite's WAL with synchronous=NORMAL)"
        )
        figures = await logging_figures(places, args.records)
        print_logging(figures)
        if not args.no_bot:
            runs = await bot_figures(places, args)
            print_bot(runs)
            if any(r.logged != r.asked for r in runs):
                print("  FAILED: a question is missing from a log")
                return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get("KBBOT_TEST_POSTGRES"),
        help="a server to use (default: KBBOT_TEST_POSTGRES, else a throwaway one)",
    )
    parser.add_argument("--records", type=int, default=20_000, help="questions per figure")
    parser.add_argument("--rounds", type=int, default=3, help="bot runs per backend")
    parser.add_argument("--users", type=int, default=400, help="simulated users in the bot runs")
    parser.add_argument("--messages", type=int, default=10, help="questions per user")
    parser.add_argument("--knowledge", type=Path, default=SHIPPED_KNOWLEDGE)
    parser.add_argument("--no-bot", action="store_true", help="logging throughput only")
    args = parser.parse_args()
    if args.postgres:
        sys.exit(asyncio.run(bench(args, args.postgres)))
    with throwaway_server() as server:
        status = asyncio.run(bench(args, server))
    sys.exit(status)


if __name__ == "__main__":
    main()
