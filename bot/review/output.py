"""A `Report` as a terminal table, CSV or JSON (`kbbot report --format ...`).

JSON mirrors the report's structure for programs. CSV is one long ("tidy") table with the
columns section, key, metric, value, so a spreadsheet or pandas can pivot any part of it
without knowing the others: e.g. `day,2024-05-01,answered,15` or `cluster,1,count,5`.
Pure: the caller opens files and writes.

The questions in a report were typed by the public, so every output is safe to show: the table
and CSV carry no terminal control or bidi characters, JSON has them as \\uXXXX escapes, and a
CSV cell that a spreadsheet would run as a formula is written as text (`csv_cell`).
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from bot.answering.text import escape_terminal_controls, strip_terminal_controls
from bot.review.report import (
    TREND_NAMES,
    Cluster,
    EntryStat,
    Report,
    comparison_text,
    coverage_text,
    sparkline,
    summary_lines,
    weeks_text,
)

CSV_COLUMNS = ("section", "key", "metric", "value")
EXAMPLE_SEPARATOR = " | "


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def week_labels(report: Report) -> list[str]:
    """Each of the report's weeks by the day it starts (in the report's time zone)."""
    tz = report.window.tz
    return [begin.astimezone(tz).date().isoformat() for begin, _ in report.weeks]


def _entry_json(stat: EntryStat) -> dict[str, Any]:
    return {
        "entry_id": stat.entry_id,
        "topic": stat.topic,
        "served": stat.served,
        "helpful": stat.helpful,
        "unhelpful": stat.unhelpful,
    }


def _cluster_json(cluster: Cluster, report: Report) -> dict[str, Any]:
    tz = report.window.tz
    nearest = cluster.nearest
    return {
        "number": cluster.number,
        "key": cluster.key,
        "count": cluster.count,
        "users": cluster.users,
        "first_asked": _iso(cluster.first_asked.astimezone(tz)),
        "last_asked": _iso(cluster.last_asked.astimezone(tz)),
        "examples": list(cluster.examples),
        "nearest": None
        if nearest is None
        else {
            "entry_id": nearest.entry_id,
            "topic": nearest.topic,
            "score": nearest.score,
            "phrase": nearest.phrase,
        },
        "suggestions_taken": dict(cluster.taken),
        "weekly": [
            {"week": week, "count": count}
            for week, count in zip(week_labels(report), cluster.weekly, strict=False)
        ],
        "previous_count": cluster.previous,
        "trend": cluster.trend or None,
    }


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON types; times are ISO 8601 in the report's time zone."""
    window, totals = report.window, report.totals
    tz = window.tz
    before = window.previous()
    return {
        "window": {
            "start": _iso(window.start.astimezone(tz)),
            "end": _iso(window.end.astimezone(tz)),
            "label": window.label,
            "timezone": tz.tzname(None),
            # The window the trends compare with, and whether the log covers all of it.
            "previous_start": _iso(before.start.astimezone(tz)),
            "previous_end": _iso(before.end.astimezone(tz)),
            "previous_in_log": report.compared_in_full,
        },
        "generated_at": _iso(report.generated_at.astimezone(tz)),
        "totals": {
            "questions": totals.questions,
            "answered": totals.answered,
            "answered_rate": None
            if report.answered_rate is None
            else round(report.answered_rate, 4),
            "users": totals.users,
            "helpful": totals.helpful,
            "unhelpful": totals.unhelpful,
            "suggestions_taken": totals.suggestions_taken,
            "unanswered_for_review": report.unanswered,
            "unanswered_clustered": report.covered,
            "outcomes": dict(totals.outcomes),
            "channels": dict(totals.channels),
        },
        "days": [
            {"day": d.day.isoformat(), "answered": d.answered, "unanswered": d.unanswered}
            for d in report.days
        ],
        "top_entries": [_entry_json(s) for s in report.top_entries],
        "unhelpful_entries": [_entry_json(s) for s in report.unhelpful_entries],
        "unanswered_clusters": [_cluster_json(c, report) for c in report.clusters],
    }


def write_json(report: Report, out: IO[str]) -> None:
    text = json.dumps(report_json(report), ensure_ascii=False, indent=2)
    out.write(escape_terminal_controls(text) + "\n")


# What makes a spreadsheet read a cell as a formula (OWASP's "CSV injection"): =, +, - and @,
# and a tab or carriage return before one of them.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A value as a CSV cell that is safe to open: None as "", text without terminal control or
    bidi characters, and text a spreadsheet would run as a formula (=HYPERLINK(...), @SUM(...))
    behind a single quote, so it shows as the text it is. Numbers stay numbers."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    value = strip_terminal_controls(value)
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_rows(report: Report) -> Iterator[tuple[str, str, str, object]]:
    """(section, key, metric, value) rows; see the module docstring."""
    data = report_json(report)
    for name, value in data["window"].items():
        yield ("window", "", name, value)
    for name, value in data["totals"].items():
        if isinstance(value, dict):
            for key, count in value.items():
                yield (name, key, "questions", count)
        else:
            yield ("summary", "", name, value)
    for day in data["days"]:
        yield ("day", day["day"], "answered", day["answered"])
        yield ("day", day["day"], "unanswered", day["unanswered"])
    for section in ("top_entries", "unhelpful_entries"):
        for rank, entry in enumerate(data[section], start=1):
            key = entry["entry_id"]
            yield (section, key, "rank", rank)
            for metric in ("topic", "served", "helpful", "unhelpful"):
                yield (section, key, metric, entry[metric])
    for cluster in data["unanswered_clusters"]:
        key = str(cluster["number"])
        for metric in ("count", "users", "first_asked", "last_asked", "key"):
            yield ("cluster", key, metric, cluster[metric])
        yield ("cluster", key, "examples", EXAMPLE_SEPARATOR.join(cluster["examples"]))
        nearest = cluster["nearest"] or {}
        yield ("cluster", key, "nearest_entry", nearest.get("entry_id", ""))
        yield ("cluster", key, "nearest_score", nearest.get("score", ""))
        yield ("cluster", key, "trend", cluster["trend"])
        yield ("cluster", key, "previous_count", cluster["previous_count"])
        for week in cluster["weekly"]:  # one row a week: pivot on `metric` for a table
            yield ("cluster_week", key, week["week"], week["count"])


def write_csv(report: Report, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(report):
        writer.writerow([csv_cell(v) for v in row])


# --- terminal ---------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(width - display_width(text), 0)
    return gap + text if right else text + gap


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    if display_width(text) <= width:
        return text
    out = ""
    for ch in text:
        if display_width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: int = 0) -> str:
    """An aligned text table; the last `numeric` columns are right-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [
        max([display_width(h), *(display_width(r[i]) for r in cells)])
        for i, h in enumerate(headers)
    ]
    first_numeric = len(headers) - numeric

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            _pad(v, widths[i], right=i >= first_numeric) for i, v in enumerate(values)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


def _trend_cell(cluster: Cluster) -> str:
    """新出现, 增多 4→9, 减少 9→2 or 持平 (a table column, so short)."""
    if not cluster.trend:
        return ""
    name = TREND_NAMES.get(cluster.trend, cluster.trend)
    if cluster.trend in ("new", "steady"):
        return name
    return f"{name} {cluster.previous}→{cluster.count}"


def format_table(report: Report) -> str:
    """The report for a terminal: headline numbers, then one table per part."""
    tz = report.window.tz
    parts = [f"问答报告：{report.window.describe()}", *summary_lines(report)]
    day_rows = [
        (f"{d.day:%Y-%m-%d}", d.answered + d.unanswered, d.answered, d.unanswered)
        for d in report.days
    ]
    parts += ["", "每天提问", table(("日期", "提问", "已回答", "未回答"), day_rows, numeric=3)]
    for title, stats in (
        ("最常用到的条目", report.top_entries),
        ("“没帮助”最多的条目", report.unhelpful_entries),
    ):
        parts += ["", title]
        if stats:
            rows: list[tuple[object, ...]] = [
                (
                    n,
                    s.entry_id,
                    _clip(s.topic or "（已不在知识库）", 24),
                    s.served,
                    s.helpful,
                    s.unhelpful,
                )
                for n, s in enumerate(stats, 1)
            ]
            parts.append(table(("#", "条目", "主题", "次数", "有帮助", "没帮助"), rows, numeric=3))
        else:
            parts.append("（无）")
    parts += ["", f"未回答问题的聚类（共 {report.unanswered} 条未回答）"]
    if coverage := coverage_text(report):
        parts.append(coverage)
    if report.clusters:
        rows = [
            (
                c.number,
                c.count,
                sparkline(c.weekly),
                _trend_cell(c),
                f"{c.first_asked.astimezone(tz):%m-%d %H:%M}",
                f"{c.last_asked.astimezone(tz):%m-%d %H:%M}",
                _clip(" / ".join(c.examples[:3]), 48),
                f"{c.nearest.entry_id} {c.nearest.score:.2f}" if c.nearest else "",
            )
            for c in report.clusters
        ]
        headers = ("#", "次数", "每周", "趋势", "最早", "最近", "问法举例", "最接近的条目")
        parts.append(table(headers, rows))
        parts += [weeks_text(report), comparison_text(report)]
        parts += ["", "生成知识库修改建议：kbbot suggest（同样的时间范围参数）"]
    else:
        parts.append("（无）")
    return strip_terminal_controls("\n".join(parts) + "\n")
