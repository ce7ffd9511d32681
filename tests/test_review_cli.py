"""`kbbot report` and `kbbot log ...` through the real command line (bot.cli.main.run)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.cli.main import run
from bot.review.output import CSV_COLUMNS
from tests.review_helpers import asked, seeded_log

WINDOW = ["--from", "2024-05-01", "--to", "2024-05-15"]


def call(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return run(argv, out=out), out.getvalue()


@pytest.fixture
def db(tmp_path: Path, engine: Engine) -> Path:
    path = tmp_path / "log.sqlite3"
    records = [
        asked(engine, "2019年收到多少行政复议申请", hours_ago=2, user="a"),
        asked(engine, "合作的律所有哪些", hours_ago=30, user="b"),
        asked(engine, "护照怎么办理", hours_ago=3, user="c"),
        asked(engine, "怎么办护照", hours_ago=27, user="d"),
        asked(engine, "我的手机13812345678，明天天气怎么样", hours_ago=5, user="e"),
        asked(engine, "行政复议情况", hours_ago=6, user="f"),
    ]

    async def seed() -> None:
        log = await seeded_log(path, records)
        await log.record_feedback(1, helpful=False)
        await log.close()

    asyncio.run(seed())
    return path


def args(kb_dir: Path, db: Path) -> list[str]:
    return ["--knowledge", str(kb_dir), "--db", str(db)]


def test_report_prints_tables_by_default(kb_dir: Path, db: Path) -> None:
    status, out = call(["report", *args(kb_dir, db), *WINDOW])
    assert status == 0
    assert out.startswith("问答报告：2024-05-01 至 2024-05-15")
    assert "提问 6 条，已回答 2 条" in out
    for heading in ("每天提问", "最常用到的条目", "“没帮助”最多的条目", "未回答问题的聚类"):
        assert heading in out
    assert "护照怎么办理 / 怎么办护照" in out
    assert "每周  趋势" in out and re.search(r"2 +▁▁█ +新出现", out)  # asked in the last week
    assert "每周一栏：05-01 起，每格 1 周，最右一格是最近 7 天；最左一格只有 1 天" in out
    assert "日志从 2024-05-14 才开始" in out  # so every cluster is new
    assert "13812345678" not in out and "[手机号]" in out


def test_report_json_has_a_stable_shape(kb_dir: Path, db: Path) -> None:
    status, out = call(["report", *args(kb_dir, db), *WINDOW, "--format", "json"])
    assert status == 0
    data = json.loads(out)
    assert set(data) == {
        "window",
        "generated_at",
        "totals",
        "days",
        "top_entries",
        "unhelpful_entries",
        "unanswered_clusters",
    }
    assert data["window"]["start"] == "2024-05-01T00:00:00+08:00"
    assert data["totals"]["questions"] == 6 and data["totals"]["answered_rate"] == 0.3333
    assert data["totals"]["outcomes"] == {"none": 3, "answer": 2, "suggest": 1}
    assert len(data["days"]) == 15 and set(data["days"][0]) == {"day", "answered", "unanswered"}
    [disliked] = data["unhelpful_entries"]
    assert disliked == {
        "entry_id": "reconsideration-applications",
        "topic": "行政复议申请数量",
        "served": 1,
        "helpful": 0,
        "unhelpful": 1,
    }
    first = data["unanswered_clusters"][0]
    assert first["number"] == 1 and first["count"] == 2
    assert first["examples"] == ["护照怎么办理", "怎么办护照"]
    assert first["nearest"] is None  # nothing in the knowledge base shares a word with 护照
    assert first["first_asked"].endswith("+08:00")
    [near] = [c["nearest"] for c in data["unanswered_clusters"] if c["nearest"]]
    assert set(near) == {"entry_id", "topic", "score", "phrase"} and near["score"] > 0.4
    # 15 days in weeks back from the end: 1 day, then two whole weeks.
    assert [w["week"] for w in first["weekly"]] == ["2024-05-01", "2024-05-02", "2024-05-09"]
    assert sum(w["count"] for w in first["weekly"]) == first["count"]
    # Nothing was logged in the 15 days before: every cluster is new, and the page says why.
    assert (first["trend"], first["previous_count"]) == ("new", 0)
    assert data["window"]["previous_start"] == "2024-04-16T00:00:00+08:00"
    assert data["window"]["previous_in_log"] is False
    assert data["totals"]["unanswered_clustered"] == data["totals"]["unanswered_for_review"]


def test_report_csv_is_one_long_table(kb_dir: Path, db: Path) -> None:
    status, out = call(["report", *args(kb_dir, db), *WINDOW, "--format", "csv"])
    assert status == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert all(len(row) == 4 for row in rows)
    by_key = {(s, k, m): v for s, k, m, v in rows[1:]}
    assert by_key[("summary", "", "questions")] == "6"
    assert by_key[("day", "2024-05-15", "answered")] == "1"
    assert by_key[("cluster", "1", "examples")] == "护照怎么办理 | 怎么办护照"
    assert by_key[("top_entries", "law-firms", "served")] == "1"
    assert by_key[("outcomes", "none", "questions")] == "3"
    assert by_key[("cluster", "1", "trend")] == "new"
    assert by_key[("cluster", "1", "previous_count")] == "0"
    weeks = {m: int(v) for s, k, m, v in rows[1:] if (s, k) == ("cluster_week", "1")}
    assert list(weeks) == ["2024-05-01", "2024-05-02", "2024-05-09"] and sum(weeks.values()) == 2


def test_report_html_writes_the_page(kb_dir: Path, db: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"  # in an existing folder: a missing one is an error
    status, out = call(["report", *args(kb_dir, db), *WINDOW, "--html", str(page)])
    assert status == 0 and out == ""  # only the page, unless --format asks for more too
    assert "<!doctype html>" in page.read_text(encoding="utf-8")


def test_report_errors_are_one_line(
    kb_dir: Path, tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(["report", *args(kb_dir, tmp_path / "missing.sqlite3")])[0] == 1
    assert "no question log" in capsys.readouterr().err
    assert not (tmp_path / "missing.sqlite3").exists()
    assert call(["report", *args(kb_dir, db), "--since", "a week"])[0] == 1
    assert "7d" in capsys.readouterr().err


def test_export_csv_has_every_column(kb_dir: Path, db: Path) -> None:
    status, out = call(["log", "export", *args(kb_dir, db)])
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    with sqlite3.connect(db) as raw:
        columns = [row[1] for row in raw.execute("PRAGMA table_info(questions)")]
    assert len(rows) == 6 and list(rows[0]) == columns
    assert rows[0]["question"] == "2019年收到多少行政复议申请" and rows[0]["feedback"] == "-1"
    assert "13812345678" not in out


def test_export_json_decodes_booleans_and_lists(kb_dir: Path, db: Path, tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    status, _ = call(["log", "export", *args(kb_dir, db), "--format", "json", "-o", str(target)])
    assert status == 0
    rows = json.loads(target.read_text(encoding="utf-8"))
    assert len(rows) == 6 and rows[0]["answered"] is True and rows[0]["suggestions"] == []
    assert rows[0]["user_hash"] == "a" and "secret" not in json.dumps(rows)
    status, out = call(["log", "export", *args(kb_dir, db), "--format", "json", "--since", "1h"])
    assert status == 0 and json.loads(out) == []


def test_prune_keeps_recent_questions(kb_dir: Path, db: Path, tmp_path: Path) -> None:
    recent = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="milliseconds")
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE questions SET asked_at = ?", (recent,))
    status, out = call(["log", "prune", *args(kb_dir, db), "--older-than", "180d", "--dry-run"])
    assert status == 0 and out.startswith("会删除 0 条")
    with sqlite3.connect(db) as raw:  # move two questions far into the past
        raw.execute("UPDATE questions SET asked_at = '2001-01-01T00:00:00.000+00:00' WHERE id <= 2")
    status, out = call(["log", "prune", *args(kb_dir, db), "--older-than", "180d"])
    assert status == 0 and out.startswith("已删除 2 条")
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM questions").fetchone()[0] == 4


def test_prune_refuses_a_span_that_would_empty_the_log(
    kb_dir: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(["log", "prune", *args(kb_dir, db), "--older-than", "2h"])[0] == 1
    assert "at least 1d" in capsys.readouterr().err


def test_backup_copies_every_row(kb_dir: Path, db: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup.sqlite3"
    status, out = call(["log", "backup", *args(kb_dir, db), str(target)])
    assert status == 0 and "6 条" in out
    with sqlite3.connect(target) as raw:
        assert raw.execute("SELECT count(*) FROM questions").fetchone()[0] == 6


def test_the_default_window_is_relative_to_now(
    kb_dir: Path, tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "now.sqlite3"
    record = asked(engine, "护照怎么办理")
    recent = type(record)(**{**record.__dict__, "asked_at": datetime.now(UTC) - timedelta(hours=1)})

    async def seed() -> None:
        log = await seeded_log(path, [record, recent])
        await log.close()

    asyncio.run(seed())
    status, out = call(["report", *args(kb_dir, path), "--format", "json"])
    assert status == 0 and json.loads(out)["totals"]["questions"] == 1  # NOW (2024) is too old
