"""Soak benchmark: the real `kbbot run` at Telegram's rate ceiling for minutes, with faults.

Run from the repository root (not collected by pytest; loopback only):

    python tests/bench/soak.py                  # 5 minutes at 30 questions a second
    python tests/bench/soak.py --minutes 1      # a shorter soak
    python tests/bench/soak.py --json soak.json # also write the figures as JSON

The bot runs exactly as in production (`python -m bot run`, long polling, the production rate
limiter at 30 messages a second, flood guard and question log on) in its own process, against
the fake Bot API from tests/e2e running here. Questions arrive open-loop at `--rate` per second
(Telegram's ceiling by default) from enough simulated users that none trips the flood guard.
Every `--fault-every` seconds one fault from the list below starts, lasts a few seconds and
clears; the last stretch of the run is fault-free so everything can drain:

    429 retry_after   the Bot API rate-limits sendMessage (RetryAfter, 1 s) three times
    5xx               sendMessage answers 502 twice and getUpdates 500 once
    dropped           connections to sendMessage and getUpdates are closed without an answer
    slow API          sendMessage answers take 2 s for a while
    db locked         another process holds the question log's write lock for 3 s
    broken kb         an entry file is replaced by broken YAML for 5 s, then restored
    sigkill           the bot is killed (SIGKILL) and started again at once, as systemd's
                      Restart= would; what it had fetched waits in its inbox for the new one

`--faults` picks kinds (comma-separated) for a shorter run that still meets each of them.

Reported: questions sent, replies sent, apologies (the error reply), questions never
answered, answered twice, questions in the log after SIGTERM (missing / duplicated), failed
Bot API calls by kind, reply latency percentiles, the bot's CPU use (over every process a
SIGKILL left behind), and its memory (resident set) at start, at end and its trend over the
second half since the last restart, which is what "no growth" means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.answering.knowledge import load_knowledge  # noqa: E402
from bot.config import SHIPPED_KNOWLEDGE  # noqa: E402
from tests.e2e.fake_bot_api import FakeBotApi  # noqa: E402

TOKEN = "7712345678:AAF3kq9Zx_pQ-soaksoaksoaksoak12345"
FIRST_USER = 2_000_000
FLOOD_LIMIT_PER_MINUTE = 20  # bot.config default; users are spread so nobody reaches it
ERROR_REPLY = "error"
FAULTS = ("429", "5xx", "dropped", "slow api", "db locked", "broken kb", "sigkill")
# After a SIGKILL, people answered this recently may get their reply again from the new
# process (the reply left, the update was not yet marked done); they ask nothing new until
# QUARANTINE seconds after the kill, so a repeated reply is counted as one, not mistaken for
# the answer to their next question.
RECENT_REPLY = 2.0
QUARANTINE = 20.0


def question_pool(knowledge: Path) -> list[str]:
    kb = load_knowledge(knowledge)
    extra = ["明天天气怎么样", "我要投诉", "复议", "法律顾问", "汉阳区的情况", "😀", "？？？"]
    return [q for entry in kb.entries for q in entry.questions] + extra


def rss_mb(pid: int) -> float:
    """Resident set size of a live process in MB, from /proc (Linux)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    if len(samples) < 3:
        return float("nan")
    xs, ys = zip(*samples, strict=True)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in samples) / den if den else float("nan")


@dataclass
class Result:
    minutes: float
    rate: float
    users: int
    sent: int = 0
    replies: int = 0
    apologies: int = 0
    unanswered: int = 0
    answered_twice: int = 0
    logged: int = 0
    missing_from_log: int = 0
    duplicated_in_log: int = 0
    exit_status: int | None = None
    restarts: int = 0
    faults: list[str] = field(default_factory=list)
    failed_calls: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    bot_cpu_percent: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_max_mb: float = 0.0
    rss_trend_mb_per_min: float = 0.0
    rss_samples: list[tuple[float, float, int]] = field(default_factory=list)  # t, MB, restarts


class BotRun:
    """`python -m bot run` in its own process; started again after a SIGKILL."""

    def __init__(self, env: dict[str, str], verbose: bool) -> None:
        self.env, self.verbose = env, verbose
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.cpu_of_killed = 0.0  # CPU seconds of the processes killed so far

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=self.env,
            cwd=ROOT,
            stderr=asyncio.subprocess.DEVNULL if not self.verbose else None,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return self.cpu_of_killed + cpu_seconds(self.pid)

    async def kill_and_restart(self) -> None:
        assert self.process is not None
        cpu = cpu_seconds(self.pid)
        self.process.kill()
        await self.process.wait()
        self.cpu_of_killed += cpu
        self.restarts += 1
        await self.start()

    async def stop(self) -> int | None:
        """SIGTERM, as systemd and Docker stop it; returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 60)
        return self.process.returncode

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


class Faults:
    """Starts one fault at a time, in rotation; each clears by itself."""

    def __init__(
        self,
        api: FakeBotApi,
        knowledge: Path,
        db: Path,
        log: list[str],
        bot: BotRun,
        tracker: Tracker,
        kinds: list[str],
    ) -> None:
        self.api, self.knowledge, self.db, self.log = api, knowledge, db, log
        self.bot, self.tracker, self.kinds = bot, tracker, kinds

    async def run(self, index: int, started: float) -> None:
        kind = self.kinds[index % len(self.kinds)]
        self.log.append(f"{time.monotonic() - started:6.1f}s {kind}")
        api = self.api
        if kind == "429":
            api.fail_next("sendMessage", count=3, status=429, retry_after=1)
        elif kind == "5xx":
            api.fail_next("sendMessage", count=2, status=502)
            api.fail_next("getUpdates", status=500)
        elif kind == "dropped":
            api.drop_next("sendMessage", count=2)
            api.drop_next("getUpdates")
        elif kind == "slow api":
            api.delay_next("sendMessage", 2.0, count=20)
        elif kind == "db locked":
            await self._hold_lock(3.0)
        elif kind == "broken kb":
            await self._break_knowledge(5.0)
        elif kind == "sigkill":
            now = time.monotonic()
            self.tracker.quarantine(since=now - RECENT_REPLY, until=now + QUARANTINE)
            await self.bot.kill_and_restart()

    async def _hold_lock(self, seconds: float) -> None:
        holder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(self.db)!r}, isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            f"time.sleep({seconds})\n",
        )
        await holder.wait()

    async def _break_knowledge(self, seconds: float) -> None:
        target = sorted(self.knowledge.glob("0*.yaml"))[-1]
        good = target.read_bytes()
        target.write_text("entries:\n  - id: [unclosed\n", encoding="utf-8")
        await asyncio.sleep(seconds)
        target.write_bytes(good)


async def soak(args: argparse.Namespace) -> Result:
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="kbbot-soak-"))
    knowledge = work / "knowledge"
    shutil.copytree(args.knowledge, knowledge)
    data = work / "data"
    db = data / "questions.sqlite3"
    pool = question_pool(knowledge)
    total = int(args.minutes * 60 * args.rate)
    # Enough people that each asks at most half the flood guard's allowance a minute.
    users = max(args.users, int(args.rate * 60 / (FLOOD_LIMIT_PER_MINUTE / 2)) + 1)
    result = Result(minutes=args.minutes, rate=args.rate, users=users)
    async with FakeBotApi(token=TOKEN) as api:
        tracker = Tracker(api, users, FIRST_USER, spacing=2 * 60 / FLOOD_LIMIT_PER_MINUTE)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env = {k: v for k, v in env.items() if not k.startswith("KBBOT_")}
        env.update(
            KBBOT_TOKEN=TOKEN,
            KBBOT_API_URL=api.base_url.removesuffix("/bot"),
            KBBOT_KNOWLEDGE=str(knowledge),
            KBBOT_DATA_DIR=str(data),
            KBBOT_LOG_LEVEL="WARNING",
            NO_PROXY="127.0.0.1,localhost",
            PYTHONPATH=str(ROOT),
        )
        bot = BotRun(env, args.verbose)
        await bot.start()
        faults = Faults(api, knowledge, db, result.faults, bot, tracker, args.faults)
        fault_tasks: list[asyncio.Task[None]] = []
        try:
            await api.wait_for_call("deleteWebhook", timeout=60)
            await api.ask(pool[0], user_id=FIRST_USER - 1, timeout=60)  # warm up
            tracker.skip_to(len(api.calls))
            started = time.monotonic()
            cpu_start = bot.cpu_seconds()
            fault_free_from = started + max(0.0, args.minutes * 60 - args.quiet_tail)
            next_fault = started + args.fault_every
            next_sample = started
            for n in range(total):
                due = started + n / args.rate
                now = time.monotonic()
                if due > now:
                    await asyncio.sleep(due - now)
                now = time.monotonic()
                if now >= next_sample:
                    sample = (round(now - started, 1), round(rss_mb(bot.pid), 2), bot.restarts)
                    result.rss_samples.append(sample)
                    next_sample += args.sample_every
                if args.fault_every and next_fault <= now < fault_free_from:
                    index = len(fault_tasks)
                    fault_tasks.append(asyncio.create_task(faults.run(index, started)))
                    next_fault += args.fault_every
                user = tracker.user(now)
                question = f"{rng.choice(pool)} （{n}）"
                api.send_text(question, user_id=user)
                tracker.ask(user, question, now)
            injected = time.monotonic() - started
            result.rss_samples.append((round(injected, 1), round(rss_mb(bot.pid), 2), bot.restarts))
            result.sent = total
            await asyncio.gather(*fault_tasks)
            # Drain: wait (bounded) until every question has its reply.
            deadline = time.monotonic() + args.drain
            while time.monotonic() < deadline and tracker.answered < total:
                await asyncio.sleep(0.2)
                tracker.scan()
            elapsed = time.monotonic() - started
            result.bot_cpu_percent = round(100 * (bot.cpu_seconds() - cpu_start) / elapsed, 1)
            result.rss_end_mb = round(rss_mb(bot.pid), 2)
            result.exit_status = await bot.stop()
        finally:
            for task in fault_tasks:
                task.cancel()
            await bot.kill()
        result.restarts = bot.restarts
        tracker.scan()
        result.users = tracker.next_user - FIRST_USER
        replies = tracker.replies
        result.replies = sum(len(r) for r in replies.values()) + tracker.extra
        result.apologies = sum(1 for r in replies.values() for _, apology in r if apology)
        result.unanswered = total - len(replies)
        result.answered_twice = sum(1 for r in replies.values() if len(r) > 1) + tracker.extra
        latencies = [r[0][0] - tracker.asked[i][2] for i, r in replies.items()]
        result.latency_ms = {
            f"p{int(p * 100)}": round(1000 * percentile(latencies, p), 1) for p in (0.5, 0.95, 0.99)
        } | {"max": round(1000 * max(latencies, default=float("nan")), 1)}
        failed = Counter(
            f"{c.method} {c.fault or c.status}" for c in api.calls if c.done and not c.ok
        )
        result.failed_calls = dict(sorted(failed.items()))
    with contextlib.closing(sqlite3.connect(db)) as conn:
        logged = Counter(q for (q,) in conn.execute("SELECT question FROM questions"))
    questions = Counter(q for _, q, _ in tracker.asked)
    result.logged = sum(logged[q] for q in questions)
    result.missing_from_log = sum(1 for q in questions if logged[q] == 0)
    result.duplicated_in_log = sum(1 for q in questions if logged[q] > 1)
    samples = [s for s in result.rss_samples if s[1] == s[1]]  # NaN: the process was gone
    if samples:
        # "Start" is after the first sample period: imports and caches settle in seconds.
        result.rss_start_mb = samples[min(1, len(samples) - 1)][1]
        result.rss_max_mb = max(mb for _, mb, _ in samples)
        last_run = [(t, mb) for t, mb, run in samples if run == samples[-1][2]]
        second_half = [s for s in last_run if s[0] >= samples[-1][0] / 2]
        result.rss_trend_mb_per_min = round(slope_per_minute(second_half), 3)
    shutil.rmtree(work, ignore_errors=True)
    return result


class Tracker:
    """Which question each reply answers, from the fake's record of calls.

    In private chats the bot does not quote the question, so a user only asks again once the
    previous question has its reply (and after a pause that keeps them far below the flood
    guard): every reply to a chat then belongs to that chat's one open question.
    """

    def __init__(self, api: FakeBotApi, users: int, first_user: int, spacing: float) -> None:
        self.api = api
        self.spacing = spacing
        self.next_user = first_user + users
        self.free: list[tuple[float, int]] = [(0.0, first_user + n) for n in range(users)]
        self.open: dict[int, int] = {}  # user -> index of their unanswered question
        self.asked: list[tuple[int, str, float]] = []  # user, question, time
        self.replies: dict[int, list[tuple[float, bool]]] = {}  # question -> (time, apology)
        self.extra = 0  # replies to a chat with no open question
        self._seen = 0
        self._answered_at: dict[int, float] = {}  # user -> when their last reply came
        self._held: dict[int, float] = {}  # user -> asks nothing new before this time

    def skip_to(self, index: int) -> None:
        """Ignore the calls before `index` (the warm-up)."""
        self._seen = index

    def quarantine(self, since: float, until: float) -> None:
        """Users answered since `since` ask nothing new before `until` (see QUARANTINE)."""
        self.scan()
        for user, at in self._answered_at.items():
            if at >= since:
                self._held[user] = until

    def user(self, now: float) -> int:
        """A user free to ask: their last question answered, and `spacing` seconds ago."""
        self.scan()
        for position, (last, user) in enumerate(self.free):
            if now - last >= self.spacing and self._held.get(user, 0.0) <= now:
                del self.free[position]
                return user
        self.next_user += 1  # everyone is waiting for an answer: a new person asks
        return self.next_user

    def ask(self, user: int, question: str, now: float) -> None:
        self.open[user] = len(self.asked)
        self.asked.append((user, question, now))

    def scan(self) -> None:
        calls = self.api.calls
        while self._seen < len(calls) and calls[self._seen].done:
            call = calls[self._seen]
            self._seen += 1
            if call.method != "sendMessage" or not call.ok:
                continue
            user = int(call.params["chat_id"])
            apology = str(call.params.get("text", "")).startswith("抱歉，处理您的问题时")
            index = self.open.pop(user, None)
            if index is None:
                self.extra += 1
                continue
            self.replies.setdefault(index, []).append((call.time, apology))
            self.free.append((self.asked[index][2], user))
            self._answered_at[user] = call.time

    @property
    def answered(self) -> int:
        return len(self.replies)


def report(result: Result) -> str:
    lost = result.missing_from_log
    lines = [
        f"soak: {result.minutes:g} min at {result.rate:g} questions/s from {result.users} users",
        f"  questions sent        {result.sent}",
        f"  replies sent          {result.replies}  (apologies {result.apologies})",
        f"  never answered        {result.unanswered}",
        f"  answered twice        {result.answered_twice}",
        f"  in the log            {result.logged}  (missing {lost}, "
        f"duplicated {result.duplicated_in_log})",
        f"  exit status           {result.exit_status}  (restarts after SIGKILL: "
        f"{result.restarts})",
        f"  reply latency (ms)    {result.latency_ms}",
        f"  bot CPU               {result.bot_cpu_percent}% of one core",
        f"  memory (RSS, MB)      start {result.rss_start_mb}, end {result.rss_end_mb}, "
        f"max {result.rss_max_mb}, trend {result.rss_trend_mb_per_min} MB/min (2nd half)",
        f"  failed Bot API calls  {result.failed_calls}",
        "  faults:",
        *(f"    {fault}" for fault in result.faults),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the soak (5)")
    parser.add_argument("--rate", type=float, default=30.0, help="questions a second (30)")
    parser.add_argument("--users", type=int, default=200, help="at least this many users")
    parser.add_argument("--fault-every", type=float, default=20.0, help="seconds (20; 0: none)")
    parser.add_argument(
        "--faults",
        type=lambda text: [kind.strip() for kind in text.split(",") if kind.strip()],
        default=list(FAULTS),
        help="fault kinds, comma-separated, in rotation (default: all: " + ", ".join(FAULTS) + ")",
    )
    parser.add_argument("--quiet-tail", type=float, default=30.0, help="fault-free end (30 s)")
    parser.add_argument("--sample-every", type=float, default=10.0, help="memory sampling (s)")
    parser.add_argument("--drain", type=float, default=120.0, help="most seconds to drain")
    parser.add_argument("--knowledge", type=Path, default=SHIPPED_KNOWLEDGE)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--verbose", action="store_true", help="show the bot's own log")
    args = parser.parse_args()
    if not 0 < args.minutes <= 60 or not 0 < args.rate <= 200:
        parser.error("--minutes must be in (0, 60] and --rate in (0, 200]")
    unknown = sorted(set(args.faults) - set(FAULTS))
    if unknown or not args.faults:
        parser.error(f"--faults takes some of {', '.join(FAULTS)}, not {', '.join(unknown)}")
    result = asyncio.run(asyncio.wait_for(soak(args), args.minutes * 60 + args.drain + 180))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
    healthy = (
        result.exit_status == 0
        and result.unanswered == 0
        and result.missing_from_log == 0
        and result.duplicated_in_log == 0
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
