"""End-to-end benchmark of the Telegram bot: many simulated users against the real `kbbot run`.

Run from the repository root:  python tests/bench/bench_bot.py [--users 400] [--messages 10]

Not collected by pytest. The bot runs exactly as in production (`python -m bot run`, long
polling, question log on, default flood guard) in its own process, pointed by KBBOT_API_URL at
the fake Bot API from tests/e2e, which runs here. Each simulated user asks a question, waits for
the answer, then asks the next (a closed loop, like people), so the offered load rises with the
number of users. Questions are drawn from the knowledge base's own phrasings and, when it is
there, the independent question set in ../shared/eval (paraphrases, typos, traditional
characters, questions the report does not answer).

Three phases: one user asking 20 questions in turn (the latency of an idle bot); 40 users at
once (busy, already past Telegram's cap); 400 users at once (saturated: the bot's throughput,
and the latency that queueing adds). Reported per phase:
answered messages per second, p50/p95/p99 reply latency (update injected into the fake's
getUpdates -> the bot's sendMessage arriving), the ratio to Telegram's own cap of ~30 messages a
second and the bot's CPU per message; then whether every question reached the log after a
SIGTERM shutdown. PTB's rate
limiter is set to no overall limit here (KBBOT_RATE_LIMIT=0): with the production setting the
bot would simply be held at Telegram's 30/s, which measures nothing about the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.answering.knowledge import load_knowledge  # noqa: E402
from bot.config import SHIPPED_KNOWLEDGE  # noqa: E402
from tests.e2e.fake_bot_api import FakeBotApi, format_text  # noqa: E402

EVAL_SET = ROOT.parent / "shared" / "eval" / "questions.yaml"
TOKEN = "7712345678:AAF3kq9Zx_pQ-benchbenchbenchbench123"
TELEGRAM_CAP = 30.0  # messages a second Telegram allows one bot
FIRST_USER = 1_000_000


def question_pool(knowledge: Path) -> list[str]:
    """Every stored phrasing, plus the eval set's questions when it is available."""
    kb = load_knowledge(knowledge)
    pool = [question for entry in kb.entries for question in entry.questions]
    if EVAL_SET.is_file():
        items = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8")) or []
        pool += [str(item["q"]) for item in items if isinstance(item, dict) and "q" in item]
    return pool


class Replies:
    """Implements sendMessage for the fake (validating the HTML as Telegram does) and wakes
    the simulated user waiting for that chat."""

    def __init__(self) -> None:
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.bad = 0
        self._ids = 0

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        arrived = time.perf_counter()
        chat_id = int(params["chat_id"])
        text, entities = format_text(str(params["text"]), params.get("parse_mode"), None)
        if not text.strip():
            self.bad += 1
        future = self.waiting.pop(chat_id, None)
        if future is not None and not future.done():
            future.set_result(arrived)
        self._ids += 1
        return {
            "message_id": self._ids,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
            "from": {"id": 7712345678, "is_bot": True, "first_name": "KB Test Bot"},
            "text": text,
            **({"entities": entities} if entities else {}),
        }


async def run_user(
    api: FakeBotApi, replies: Replies, user_id: int, questions: list[str], latencies: list[float]
) -> None:
    loop = asyncio.get_running_loop()
    for question in questions:
        future: asyncio.Future[float] = loop.create_future()
        replies.waiting[user_id] = future
        sent = time.perf_counter()
        api.send_text(question, user_id=user_id)
        arrived = await asyncio.wait_for(future, 60)
        latencies.append(arrived - sent)


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Phase:
    name: str
    users: int
    messages: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    bot_cpu: float = 0.0
    fake_cpu: float = 0.0

    @property
    def total(self) -> int:
        return self.users * self.messages


async def run_phase(
    phase: Phase,
    api: FakeBotApi,
    replies: Replies,
    pid: int,
    first_user: int,
    pool: list[str],
    rng: random.Random,
) -> None:
    plans = {
        first_user + n: [rng.choice(pool) for _ in range(phase.messages)]
        for n in range(phase.users)
    }
    cpu = _cpu(pid), time.process_time()
    started = time.perf_counter()
    await asyncio.gather(
        *(run_user(api, replies, user, qs, phase.latencies) for user, qs in plans.items())
    )
    phase.elapsed = time.perf_counter() - started
    phase.bot_cpu = _cpu(pid) - cpu[0]
    phase.fake_cpu = time.process_time() - cpu[1]


async def bench(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    pool = question_pool(args.knowledge)
    work = Path(tempfile.mkdtemp(prefix="kbbot-bench-"))
    db = work / "questions.sqlite3"
    replies = Replies()
    phases = [
        Phase("idle (one user, one question at a time)", 1, 20),
        Phase("busy", args.busy_users, args.messages),
        Phase("saturated", args.users, args.messages),
    ]
    async with FakeBotApi(token=TOKEN) as api:
        api.set_handler("sendMessage", replies.send_message)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(
            KBBOT_TOKEN=TOKEN,
            KBBOT_API_URL=api.base_url.removesuffix("/bot"),
            KBBOT_KNOWLEDGE=str(args.knowledge),
            KBBOT_DB=str(db),
            KBBOT_DATA_DIR=str(work / "data"),
            KBBOT_LOG_LEVEL="WARNING",
            KBBOT_RATE_LIMIT="0",
            NO_PROXY="127.0.0.1,localhost",
            PYTHONPATH=str(ROOT),
        )
        profile = ["-m", "cProfile", "-o", str(args.profile)] if args.profile else []
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *profile,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await api.wait_for_call("deleteWebhook", timeout=60)  # polling starts next
            # Warm up the process (first connections) with one question.
            await run_user(api, replies, FIRST_USER - 1, [pool[0]], [])
            first_user = FIRST_USER
            for phase in phases:
                await run_phase(phase, api, replies, process.pid, first_user, pool, rng)
                first_user += phase.users
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    with sqlite3.connect(db) as conn:
        logged = conn.execute("SELECT count(*) FROM questions").fetchone()[0]
        answered = conn.execute("SELECT count(*) FROM questions WHERE answered = 1").fetchone()[0]
    shutil.rmtree(work, ignore_errors=True)

    asked = 1 + sum(phase.total for phase in phases)
    print(f"kbbot Telegram benchmark ({os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
    print(f"  knowledge base  {args.knowledge} ({len(set(pool))} distinct questions drawn from)")
    for phase in phases:
        rate = phase.total / phase.elapsed
        lat = phase.latencies
        print(f"  {phase.name}: {phase.users} x {phase.messages} questions")
        cap = f" = {rate / TELEGRAM_CAP:.1f} x Telegram's 30/s cap" if phase is phases[-1] else ""
        print(f"    answered        {rate:.0f} messages/s{cap}")
        print(
            f"    reply latency   p50 {statistics.median(lat) * 1000:.1f} ms, "
            f"p95 {percentile(lat, 0.95) * 1000:.1f} ms, p99 {percentile(lat, 0.99) * 1000:.1f} ms"
        )
        print(
            f"    CPU             bot {phase.bot_cpu / phase.elapsed:.0%} of a core "
            f"({phase.bot_cpu / phase.total * 1000:.2f} ms/message), "
            f"fake Bot API + users {phase.fake_cpu / phase.elapsed:.0%}"
        )
    print(
        f"  question log    {logged} of {asked} questions logged after SIGTERM ({answered} answered)"
    )
    ok = logged == asked and process.returncode == 0 and replies.bad == 0
    if not ok:
        print(f"  FAILED: exit {process.returncode}; bot stderr:\n{stderr.decode()[-2000:]}")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=400, help="users in the saturated phase")
    parser.add_argument("--busy-users", type=int, default=40, help="users in the busy phase")
    parser.add_argument("--messages", type=int, default=10, help="per user (flood guard: 20/min)")
    parser.add_argument("--knowledge", type=Path, default=SHIPPED_KNOWLEDGE)
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the bot process here")
    sys.exit(asyncio.run(bench(parser.parse_args())))


if __name__ == "__main__":
    main()
