"""Large synthetic question logs for review at scale (tests and tests/bench/bench_review.py).

A log is written straight through sqlite3 (or PostgreSQL's COPY, for a `postgresql://` URL)
into a database the real `QuestionLog` created and migrated, so a million rows take seconds
rather than the minutes of one `record` each. The
questions look like a district bot's traffic: most answered (an entry id, sometimes feedback),
the rest unanswered wordings drawn from families of near-identical questions (one topic asked
in several ways and with typos) plus one-off questions nobody repeats.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.questionlog.opening import open_log

# Subjects a citizen asks a district bot about that the report does not cover; each becomes a
# family of wordings. Distinct enough from each other that they do not cluster together.
SUBJECTS: tuple[str, ...] = (
    "停车位",
    "医保卡",
    "公积金",
    "幼儿园",
    "结婚证",
    "护照",
    "居住证",
    "养老金",
    "驾驶证",
    "营业执照",
    "低保",
    "残疾证",
    "房产证",
    "出生证明",
    "社保卡",
    "老年卡",
    "电动车牌照",
    "垃圾分类",
    "租房补贴",
    "人才公寓",
)
FORMS: tuple[str, ...] = (
    "{s}怎么办理",
    "江汉区{s}在哪里办",
    "办{s}需要什么材料",
    "{s}如何申请",
    "我想办{s}去哪",
    "{s}办理流程",
)
FILLER = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"
ENDINGS: tuple[str, ...] = ("", "？", "呢", "啊", "吗")
ENTRY_IDS: tuple[str, ...] = tuple(f"entry-{n:02d}" for n in range(40))


@dataclass(frozen=True)
class Family:
    """A wording family planted in a log: how often and in which wordings it was asked."""

    subject: str
    wordings: tuple[str, ...]
    asked: int


def family_wordings(subject: str) -> tuple[str, ...]:
    """The ways one subject is asked: the forms, and a few with a character swapped out."""
    wordings = [form.format(s=subject) for form in FORMS]
    typo = subject[:-1] + ("证" if subject[-1] != "证" else "正")
    wordings += [f"{typo}怎么办理", f"{subject}怎么办里"]
    return tuple(wordings)


def one_off(rng: random.Random) -> str:
    """A question asked once: random characters, so it clusters with nothing."""
    return "".join(rng.choice(FILLER) for _ in range(rng.randint(6, 14))) + "？"


def create_log(path: Path | str) -> None:
    """An empty, migrated question log at `path` (the real schema, indexes included)."""

    async def create() -> None:
        log = await open_log(path)
        await log.close()

    asyncio.run(create())


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _user(number: int) -> str:
    return hashlib.sha256(f"user-{number}".encode()).hexdigest()[:32]


def generate_rows(
    total: int,
    end: datetime,
    days: int,
    *,
    planted: Sequence[Family] = (),
    unanswered_share: float = 0.6,
    one_off_share: float = 0.3,
    seed: int = 7,
) -> Iterator[tuple[object, ...]]:
    """`total` rows spread evenly at random over the `days` before `end`, oldest first (as the
    bot appends them, so rows lie in the table in time order), as insert parameters.

    `planted` families are asked exactly `asked` times each, among the `total` (spread over
    the whole window); the other unanswered questions come from `SUBJECTS` families not
    planted (Zipf-like: the first subjects far more often) or are one-off questions.
    """
    rng = random.Random(seed)
    span = days * 86400
    start = end - timedelta(days=days)
    planted_rows = [family.wordings for family in planted for _ in range(family.asked)]
    rng.shuffle(planted_rows)
    planted_slots = set(rng.sample(range(total), len(planted_rows)))
    taken = {family.subject for family in planted}
    others = [family_wordings(s) for s in SUBJECTS if s not in taken]
    weights = [1.0 / (rank + 1) for rank in range(len(others))]
    users = max(total // 4, 1)
    for number in range(total):
        moment = start + timedelta(seconds=(number + rng.random()) * span / total)
        user = _user(rng.randrange(users))
        if number in planted_slots:
            question = rng.choice(planted_rows.pop())
            answered, outcome, entry = 0, "none", None
        elif rng.random() < unanswered_share:
            if rng.random() < one_off_share:
                question = one_off(rng)
            else:
                question = rng.choice(rng.choices(others, weights)[0]) + rng.choice(ENDINGS)
            answered, outcome, entry = 0, rng.choice(("none", "none", "suggest")), None
        else:
            question = "复议案件有多少件"
            answered, outcome, entry = 1, "answer", rng.choice(ENTRY_IDS)
        feedback = rng.choice((None, None, None, 1, -1)) if answered else None
        yield (
            _timestamp(moment),
            "telegram",
            question,
            question,
            answered,
            outcome,
            entry,
            0.9 if answered else 0.2,
            "private",
            user,
            json.dumps([]),
            feedback,
        )


def fill_log(
    path: Path | str,
    rows: Iterator[tuple[object, ...]],
    batch: int = 50_000,
    *,
    analyse: bool = True,
) -> int:
    """Insert `rows` into the log at `path` (created if missing; a PostgreSQL URL too); returns
    how many. `analyse` gives the planner its statistics, as ANALYZE (or PRAGMA optimize)
    would on a log."""
    if isinstance(path, str):
        return _fill_postgres(path, rows, analyse=analyse)
    if not path.exists():
        create_log(path)
    written = 0
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA synchronous=OFF")
        chunk: list[tuple[object, ...]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                written += _insert(db, chunk)
                chunk = []
        written += _insert(db, chunk)
        if analyse:
            db.execute("ANALYZE")
    return written


def _fill_postgres(url: str, rows: Iterator[tuple[object, ...]], *, analyse: bool) -> int:
    import psycopg  # only for a PostgreSQL log

    create_log(url)
    written = 0
    with psycopg.connect(url, autocommit=True) as db:
        with db.cursor().copy(f"COPY questions ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        if analyse:
            db.execute("ANALYZE questions")
    return written


# The columns `generate_rows` fills, in its order.
COLUMNS = (
    "asked_at",
    "channel",
    "question",
    "normalised",
    "answered",
    "outcome",
    "entry_id",
    "score",
    "chat_type",
    "user_hash",
    "suggestions",
    "feedback",
)


def _insert(db: sqlite3.Connection, rows: list[tuple[object, ...]]) -> int:
    db.executemany(
        """
        INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome,
                               entry_id, score, chat_type, user_hash, suggestions, feedback)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        rows,
    )
    db.commit()
    return len(rows)
