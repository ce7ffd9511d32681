"""Issue 11: personal data masked wherever text is stored or shown, and every bad input handled.

Rows of the issue's table covered here: 4 (masking in every column, export, report and cluster
key), 5 (undecodable bytes and lone surrogates), 6 (huge lines), 9 (terminal control and bidi
characters), 10 (CSV formula injection), 11 (`report --html` onto links, FIFOs, devices and
missing folders), 17 (the log's file mode) and 19 (questions that normalise to nothing).
Through the real command line (`bot.cli.main.run`) and real SQLite files.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.privacy
from bot.answering.engine import MAX_INPUT_CHARS, Engine, Kind
from bot.answering.text import TRUNCATION_MARK
from bot.cli.main import run
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import STORED_LIMIT
from bot.questionlog.sqlite import MIGRATIONS, migrate
from bot.review.report import build_report, parse_window
from tests.review_helpers import asked, seeded_log

ROOT = Path(__file__).resolve().parent.parent
WINDOW = ["--from", "2024-05-01", "--to", "2024-05-15"]


def call(argv: list[str], stdin: str | io.TextIOBase = "") -> tuple[int, str]:
    out = io.StringIO()
    source = io.StringIO(stdin) if isinstance(stdin, str) else stdin
    status = run(argv, stdin=source, out=out)  # type: ignore[arg-type]
    return status, out.getvalue()


def paths(kb_dir: Path, db: Path) -> list[str]:
    return ["--knowledge", str(kb_dir), "--db", str(db)]


def stored(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as raw:
        return raw.execute(
            "SELECT question, normalised, outcome FROM questions ORDER BY id"
        ).fetchall()


# --- row 4: personal data masked in every column, export, report and cluster key -----------------

PERSONAL = [
    "我的手机１３８１２３４５６７８，怎么申请复议",  # full-width digits
    "身份证 420106 19900101 123x 怎么查",  # spaces, a lower-case x
    "邮箱 zhang.san@example.com 能回复吗",
    "卡号6222 0212 3456 7890 123退款",
]
SECRETS = [
    "13812345678",
    "１３８",
    "420106",
    "19900101",
    "zhang",
    "example.com",
    "example com",
    "6222",
    "0212 3456",
]


def test_personal_data_never_reaches_a_column_an_export_or_a_report(
    kb_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "log.sqlite3"
    status, _ = call(["ask", *paths(kb_dir, db)], "\n".join(PERSONAL) + "\n")
    assert status == 0
    rows = stored(db)
    assert len(rows) == len(PERSONAL)
    shown = [json.dumps(rows, ensure_ascii=False)]
    for argv in (
        ["log", "export"],
        ["log", "export", "--format", "json"],
        ["report", "--format", "json"],
        ["report", "--format", "csv"],
        ["report"],
        ["suggest"],
    ):
        status, out = call([*argv, *paths(kb_dir, db)])
        assert status == 0, argv
        shown.append(out)
    page = tmp_path / "report.html"
    assert call(["report", *paths(kb_dir, db), "--html", str(page)])[0] == 0
    shown.append(page.read_text(encoding="utf-8"))
    for text in shown:
        for secret in SECRETS:
            assert secret not in text
    assert {question.count("[") for question, _, _ in rows} == {1}  # one placeholder each


async def test_a_log_written_by_an_older_kbbot_is_masked_when_opened(tmp_path: Path) -> None:
    """What the old masking let through, already on disk, is masked by the upgrade."""
    path = tmp_path / "old.sqlite3"
    before = [name for name, _ in MIGRATIONS].index("m006_mask_again")
    async with aiosqlite.connect(path) as db:
        await migrate(db, upto=before)
        await db.executemany(
            "INSERT INTO questions (asked_at, channel, question, normalised, answered, outcome)"
            " VALUES ('2024-05-01T00:00:00.000+00:00', 'telegram', ?, ?, 0, 'none')",
            [
                ("身份证[身份证号]", "身份证 42010619900101123 x"),
                ("邮箱 [邮箱]", "邮箱 zhang san example com"),
                ("电话１３８１２３４５６７８", "电话13812345678"),
                ("法律顾问", "法律顾问"),
            ],
        )
        body = json.dumps({"examples": ["电话１３８１２３４５６７８"], "count": 12345678})
        await db.execute(
            "INSERT INTO review_clusters (key, shown_at, body) VALUES ('k', '2024-05-01', ?)",
            (body,),
        )
        await db.execute(
            "INSERT INTO review_handled (form, cluster, action, actor_name, handled_at)"
            " VALUES ('电话13812345678', 'k', 'ignore', 'admin', '2024-05-01')"
        )
        await db.commit()
    log = await open_log(path)
    try:
        rows = [(row["question"], row["normalised"]) for row in reversed(await log.rows())]
        assert rows == [
            ("身份证[身份证号]", "身份证 [身份证号]"),
            ("邮箱 [邮箱]", "邮箱 [邮箱]"),
            ("电话[手机号]", "电话[手机号]"),
            ("法律顾问", "法律顾问"),
        ]
        assert await log.review_cluster("k") == {"examples": ["电话[手机号]"], "count": 12345678}
        assert await log.handled_forms() == frozenset({"电话[手机号]"})
    finally:
        await log.close()


def test_the_engine_masks_before_it_normalises(engine: Engine) -> None:
    reply = engine.respond("身份证42010619900101123x能查到复议结果吗")
    assert "身份证号" in reply.question and "4201" not in reply.question
    assert "4201" not in reply.normalised and "x" not in reply.normalised


# --- row 17: the log is the owner's alone ---------------------------------------------------


async def test_the_log_and_its_wal_and_shm_files_are_created_for_the_owner_only(
    tmp_path: Path, engine: Engine
) -> None:
    data = tmp_path / "data"
    db = data / "questions.sqlite3"
    log = await open_log(db)
    try:
        await log.record(asked(engine, "你好"))
        files = sorted(data.iterdir())
        assert [f.name for f in files] == [
            "questions.sqlite3",
            "questions.sqlite3-shm",
            "questions.sqlite3-wal",
        ]
        assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        await log.backup(tmp_path / "copy.sqlite3")
        assert stat.S_IMODE((tmp_path / "copy.sqlite3").stat().st_mode) == 0o600
    finally:
        await log.close()


# --- row 5: undecodable bytes and lone surrogates ----------------------------------------------


def test_undecodable_bytes_on_stdin_cost_one_character_not_the_batch(
    kb_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "log.sqlite3"
    raw = "出庭应诉率\n".encode() + b"\xff\xfe\xc3(\xa0\xa1 \xe6\xb3\x95\n" + "法律顾问\n".encode()
    stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")  # strict, like sys.stdin
    status, out = call(["ask", "--json", *paths(kb_dir, db)], stdin)
    assert status == 0
    replies = [json.loads(line) for line in out.splitlines()]
    assert len(replies) == 3
    assert replies[0]["answered"] and replies[2]["answered"]
    assert "\ufffd" in replies[1]["question"]
    assert [row[0] for row in stored(db)][::2] == ["出庭应诉率", "法律顾问"]


def test_a_real_kbbot_ask_reads_bad_bytes_and_lone_surrogates(kb_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", *paths(kb_dir, db)],
        input=b"\xff\xfe\x80\n" + "出庭应诉率\n".encode() + b"\xed\xa0\x80\n",
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [line["answered"] for line in lines] == [False, True, False]
    assert len(stored(db)) == 3


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.characters(), st.integers(0xD800, 0xDFFF).map(chr), st.sampled_from("法律顾问")
        ),
        max_size=40,
    ).map("".join)
)
def test_the_engine_answers_any_string_even_with_lone_surrogates(
    shipped_engine: Engine, text: str
) -> None:
    reply = shipped_engine.respond(text)
    reply.question.encode("utf-8")  # storable and printable: no surrogate survives
    reply.normalised.encode("utf-8")


# --- row 6: huge lines -----------------------------------------------------------------------


def test_a_huge_line_is_cut_before_any_regex_and_stored_with_a_marker(
    kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    masking = bot.privacy.mask_personal_data

    def spy(text: str) -> str:
        seen.append(len(text))
        return masking(text)

    monkeypatch.setattr(bot.privacy, "mask_personal_data", spy)
    db = tmp_path / "log.sqlite3"
    line = "a" * 100_000 + "@example.com " + "法律顾问" * 200_000
    status, out = call(["ask", "--json", *paths(kb_dir, db)], line + "\n出庭应诉率\n")
    assert status == 0
    huge, normal = (json.loads(text) for text in out.splitlines())
    assert huge["kind"] == Kind.TOO_LONG.value and normal["answered"]
    assert max(seen) <= STORED_LIMIT  # never the whole line
    [(question, _, outcome), _] = stored(db)
    assert outcome == "too_long"
    assert question == "a" * MAX_INPUT_CHARS + TRUNCATION_MARK.format(length=len(line))


def test_a_number_cut_in_two_by_the_cap_is_dropped_whole(engine: Engine) -> None:
    question = "问" * (MAX_INPUT_CHARS - 6) + "13812345678" + "。" * 10
    reply = engine.respond(question)
    assert reply.kind is Kind.TOO_LONG
    assert reply.question == "问" * (MAX_INPUT_CHARS - 6) + TRUNCATION_MARK.format(
        length=len(question)
    )


# --- rows 9 and 10: terminal controls, bidi characters, spreadsheet formulas --------------------

HOSTILE = [
    "\x1b]0;owned\x07\x1b[2J护照怎么办理",
    "\u202e\u2066护照办理\u2069 在哪\x9b31m",
    '=HYPERLINK("http://evil.example","护照")',
    "@SUM(1+1)护照",
    "+1护照",
    "-1护照",
]
CONTROLS = ["\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u2069"]


@pytest.fixture
def hostile_db(tmp_path: Path, engine: Engine) -> Path:
    path = tmp_path / "log.sqlite3"
    records = [asked(engine, q, hours_ago=n + 1, user=f"u{n}") for n, q in enumerate(HOSTILE)]

    async def seed() -> None:
        await (await seeded_log(path, records)).close()

    asyncio.run(seed())
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["report", *WINDOW],
        ["report", *WINDOW, "--format", "csv"],
        ["report", *WINDOW, "--format", "json"],
        ["suggest", *WINDOW],
        ["log", "export"],
        ["log", "export", "--format", "json"],
    ],
    ids=["report", "report-csv", "report-json", "suggest", "export-csv", "export-json"],
)
def test_nothing_printed_can_drive_a_terminal(
    kb_dir: Path, hostile_db: Path, argv: list[str]
) -> None:
    status, out = call([*argv, *paths(kb_dir, hostile_db)])
    assert status == 0
    for control in CONTROLS:
        assert control not in out
    assert "护照" in out


def test_json_keeps_the_questions_exactly_as_escapes(kb_dir: Path, hostile_db: Path) -> None:
    status, out = call(["log", "export", "--format", "json", *paths(kb_dir, hostile_db)])
    assert status == 0
    assert [row["question"] for row in json.loads(out)] == HOSTILE


def test_csv_cells_a_spreadsheet_would_run_are_written_as_text(
    kb_dir: Path, hostile_db: Path
) -> None:
    status, out = call(["log", "export", *paths(kb_dir, hostile_db)])
    assert status == 0
    questions = [row["question"] for row in csv.DictReader(io.StringIO(out))]
    assert questions[2:] == ["'" + question for question in HOSTILE[2:]]


def test_the_report_csv_has_no_cell_a_spreadsheet_would_run(kb_dir: Path, hostile_db: Path) -> None:
    status, out = call(["report", *WINDOW, "--format", "csv", *paths(kb_dir, hostile_db)])
    assert status == 0
    cells = [cell for row in csv.reader(io.StringIO(out)) for cell in row]
    assert any("HYPERLINK" in cell for cell in cells)
    assert [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")] == []


# --- row 11: report --html onto what is not a regular file -----------------------------------


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_report_html_refuses_a_symbolic_link(
    kb_dir: Path, hostile_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "report.html"
    link.symlink_to(target)
    status, _ = call(["report", *paths(kb_dir, hostile_db), "--html", str(link)])
    assert status == 1
    assert "symbolic link" in _error_line(capsys)
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "keep me"


def test_report_html_refuses_a_fifo(
    kb_dir: Path, hostile_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "report.html"
    os.mkfifo(fifo)
    status, _ = call(["report", *paths(kb_dir, hostile_db), "--html", str(fifo)])
    assert status == 1
    assert "FIFO" in _error_line(capsys)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_report_html_refuses_a_device(
    kb_dir: Path, hostile_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = tmp_path / "null"
    try:  # a private copy of /dev/null: the old code replaced the device it was given
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot create a device node here")
    status, _ = call(["report", *paths(kb_dir, hostile_db), "--html", str(device)])
    assert status == 1
    assert "a device" in _error_line(capsys)
    assert stat.S_ISCHR(device.lstat().st_mode)


def test_report_html_refuses_a_missing_folder_and_creates_none(
    kb_dir: Path, hostile_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "typo" / "deeper" / "report.html"
    status, out = call(["report", *paths(kb_dir, hostile_db), "--html", str(page)])
    assert status == 1 and out == ""
    assert "does not exist" in _error_line(capsys)
    assert not (tmp_path / "typo").exists()


# --- row 19: questions that normalise to nothing are still reviewable ---------------------------


async def test_a_question_that_normalises_to_nothing_is_still_listed(
    engine: Engine, tmp_path: Path
) -> None:
    markup = "<img src=x onerror=alert(1)>"
    assert engine.matcher.normalise(markup) == ""
    records = [
        asked(engine, markup, hours_ago=1, user="a"),
        asked(engine, markup, hours_ago=2, user="b"),
        asked(engine, "护照怎么办理", hours_ago=3, user="c"),
    ]
    assert records[0].outcome in ("none", "suggest")
    log = await seeded_log(tmp_path / "log.sqlite3", records)
    try:
        window = parse_window(since="7d", now=datetime(2024, 5, 15, 12, tzinfo=UTC))
        report = await build_report(log, window, engine.matcher)
    finally:
        await log.close()
    assert report.unanswered == 3
    assert sum(cluster.count for cluster in report.clusters) == 3
    [listed] = [c for c in report.clusters if markup in c.examples]
    assert listed.count == 2 and listed.users == 2
