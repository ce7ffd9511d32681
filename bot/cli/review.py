"""`kbbot report`, `kbbot suggest` and `kbbot log ...`: reviewing the question log.

Argument parsing and output only: bot/cli/main.py registers these commands with
`add_review_commands` (and bot/cli/kb.py `kb history` / `kb undo` with `add_history_commands`),
each naming its function with `set_defaults(func=...)`. The work is in bot.review.report,
bot.review.output, bot.review.html, bot.review.suggest and the question log (opened with
bot.questionlog.opening.open_log). It never imports bot.cli.main (tests/test_import_graph.py).
Every command is a function tests call directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import difflib
import json
import os
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from bot.answering.engine import Engine
from bot.answering.knowledge import KnowledgeError
from bot.answering.matcher import Matcher
from bot.answering.text import escape_terminal_controls, strip_terminal_controls
from bot.authoring import history, kbedit
from bot.authoring.history import Actor
from bot.authoring.kbedit import EditError
from bot.authoring.teaching import ATTACH, ReviewItem, Teacher, handled_text
from bot.cli.common import EXIT_ERROR, EXIT_OK, CliError, Invocation
from bot.config import Config
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import FILE_MODE, QuestionLog
from bot.review.html import render_html
from bot.review.output import csv_cell, format_table, write_csv, write_json
from bot.review.report import (
    Cluster,
    Report,
    Window,
    build_report,
    coverage_text,
    parse_duration,
    parse_window,
    trend_text,
)
from bot.review.suggest import new_wordings, suggest, write_atomically

MIN_RETENTION = timedelta(days=1)


# --- parsing -----------------------------------------------------------------------------------


def _window_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="SPAN", help="a span back from now: 7d, 24h, 2w")
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (included)")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (included)")


def add_review_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register report, suggest and log on `kbbot`'s subcommands."""
    report = commands.add_parser(
        "report",
        parents=[common],
        help="trends, unanswered clusters and feedback from the question log",
        description="Default window: the last 30 days. Days are counted in Beijing time.",
    )
    report.set_defaults(func=_report_command)
    _window_args(report)
    report.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="output on stdout (default: table; with --html, only when given)",
    )
    report.add_argument("--html", type=Path, metavar="FILE", help="also write an HTML page")
    report.add_argument("--top", type=int, default=10, metavar="N", help="list length (10)")
    report.add_argument(
        "--report",
        dest="report_key",
        metavar="YEAR",
        help="with several reports side by side: only the questions answered from this one",
    )

    sug = commands.add_parser(
        "suggest",
        parents=[common],
        help="YAML to paste for each unanswered cluster; --apply edits an entry",
    )
    sug.set_defaults(func=_suggest_command)
    _window_args(sug)
    sug.add_argument("--top", type=int, default=10, metavar="N", help="clusters to show (10)")
    sug.add_argument("--apply", metavar="ENTRY_ID", help="add a cluster's wordings to this entry")
    sug.add_argument("--cluster", type=int, metavar="N", help="the cluster number for --apply")

    log_cmd = commands.add_parser("log", help="export, prune or back up the question log")
    log_commands = log_cmd.add_subparsers(dest="log_command", metavar="LOG_COMMAND", required=True)
    export = log_commands.add_parser("export", parents=[common], help="every row as CSV or JSON")
    export.set_defaults(func=_export_command)
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", "-o", type=Path, metavar="FILE", help="default: stdout")
    _window_args(export)
    prune = log_commands.add_parser("prune", parents=[common], help="delete old questions")
    prune.set_defaults(func=_prune_command)
    prune.add_argument(
        "--older-than", required=True, metavar="SPAN", help="e.g. 180d (at least 1d)"
    )
    prune.add_argument("--dry-run", action="store_true", help="only count what would go")
    backup = log_commands.add_parser(
        "backup", parents=[common], help="a consistent copy, safe while the bot runs"
    )
    backup.set_defaults(func=_backup_command)
    backup.add_argument("file", type=Path, metavar="FILE")


def add_history_commands(
    kb_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """`kbbot kb history` and `kbbot kb undo`, beside the other `kb` commands."""
    hist = kb_commands.add_parser(
        "history", parents=[common], help="the latest knowledge changes: who, when, what"
    )
    hist.set_defaults(func=_history_command)
    hist.add_argument("--limit", type=int, default=20, metavar="N", help="how many (default 20)")
    undo = kb_commands.add_parser(
        "undo", parents=[common], help="revert the latest knowledge change, after a preview"
    )
    undo.set_defaults(func=_undo_command)
    undo.add_argument("--yes", action="store_true", help="apply without asking")


def _history_command(run: Invocation) -> int:
    return asyncio.run(kb_history(run.config, limit=run.args.limit, out=run.out))


def _undo_command(run: Invocation) -> int:
    return asyncio.run(kb_undo(run.config, yes=run.args.yes, stdin=run.stdin, out=run.out))


def _report_command(run: Invocation) -> int:
    args = run.args
    window = _window(args, required=True)
    assert window is not None
    return asyncio.run(
        report(
            run.config,
            window,
            fmt=args.format,
            html=args.html,
            top=args.top,
            out=run.out,
            only=args.report_key,
        )
    )


def _suggest_command(run: Invocation) -> int:
    args = run.args
    window = _window(args, required=True)
    assert window is not None
    if (args.apply is None) != (args.cluster is None):
        raise CliError("--apply ENTRY_ID and --cluster N go together")
    if args.apply is not None:
        return asyncio.run(apply(run.config, window, args.apply, args.cluster, out=run.out))
    flags = _window_flags(args)
    return asyncio.run(suggestions(run.config, window, top=args.top, flags=flags, out=run.out))


def _export_command(run: Invocation) -> int:
    args = run.args
    window = _window(args, required=False)
    return asyncio.run(export(run.config, window, fmt=args.format, output=args.output, out=run.out))


def _prune_command(run: Invocation) -> int:
    span = parse_duration(run.args.older_than)
    return asyncio.run(prune(run.config, span, dry_run=run.args.dry_run, out=run.out))


def _backup_command(run: Invocation) -> int:
    return asyncio.run(backup(run.config, run.args.file, out=run.out))


def _say(out: IO[str], text: str) -> None:
    """Write text that may hold what the public typed: without terminal control or bidi
    characters (an escape sequence in a question must not drive the reviewer's terminal)."""
    out.write(strip_terminal_controls(text))


def _window(args: argparse.Namespace, *, required: bool) -> Window | None:
    """The window the flags ask for; None (everything) when optional and none was given."""
    if not required and not (args.since or args.start or args.end):
        return None
    return parse_window(since=args.since, start=args.start, end=args.end)


# --- commands ----------------------------------------------------------------------------------


def _matcher(config: Config, *, required: bool, report: str | None = None) -> Matcher | None:
    """The matcher naming entries and clusters: over every report's entries, or `report`'s."""
    if required:
        return _engine(config).review_matcher
    try:
        engine = Engine.from_directory(config.knowledge_dir)
    except KnowledgeError:
        print(
            "kbbot: warning: the knowledge base is invalid, so clusters are not matched "
            "to entries (run `kbbot kb check`)",
            file=sys.stderr,
        )
        return None
    return engine.review_matcher if report is None else engine.matcher_for(report)


def _engine(config: Config) -> Engine:
    try:
        return Engine.from_directory(config.knowledge_dir)
    except KnowledgeError as exc:
        raise CliError(
            f"the knowledge base in {config.knowledge_dir} is invalid: run `kbbot kb check`"
        ) from exc


async def _report(
    config: Config,
    window: Window,
    matcher: Matcher | None,
    top: int,
    *,
    skip_handled: bool = False,
    only: str | None = None,
) -> Report:
    """The report for `window`; `skip_handled` leaves out clusters admins already handled
    (what `suggest` offers to act on), not what the report counts; `only` counts only the
    questions answered from that report (several reports side by side)."""
    if top < 1:
        raise CliError("--top must be at least 1")
    async with open_log(config, create=False) as qlog:
        skip = await qlog.handled_forms() if skip_handled else frozenset()
        if only is not None:
            await qlog.only_report(only)
        return await build_report(qlog, window, matcher, top=top, skip=skip)


async def report(
    config: Config,
    window: Window,
    *,
    fmt: str | None = None,
    html: Path | None = None,
    top: int = 10,
    out: IO[str],
    only: str | None = None,
) -> int:
    """`kbbot report`: the table (default), CSV or JSON on `out`, and/or an HTML page;
    `only`: the questions answered from that report (`--report 2019`)."""
    if html is not None:
        _check_page_target(html)  # before the work, not after it
    matcher = _matcher(config, required=False, report=only)
    result = await _report(config, window, matcher, top, only=only)
    if html is not None:
        _write_page(html, render_html(result))
        print(f"kbbot: wrote the HTML report to {html}", file=sys.stderr)
    if fmt == "csv":
        write_csv(result, out)
    elif fmt == "json":
        write_json(result, out)
    elif fmt == "table" or html is None:
        out.write(format_table(result))
    return EXIT_OK


def _write_page(path: Path, text: str) -> None:
    _check_page_target(path)
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from exc


_NOT_REGULAR = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_page_target(path: Path) -> None:
    """Refuse to write a page or an export anywhere but a regular file in an existing folder.

    The page is written to a temporary file and renamed over `path`, which would replace a
    symbolic link, a FIFO or a device (as root, /dev/full) with a regular file; an export opened
    for writing would write through a link or block on a FIFO. A mistyped folder should be an
    error, not a new tree of folders.
    """
    folder = path.parent
    if not folder.is_dir():
        raise CliError(f"cannot write {path}: the folder {folder} does not exist (create it first)")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if stat.S_ISLNK(mode):
        raise CliError(
            f"cannot write {path}: it is a symbolic link; give the path of the file itself"
        )
    for test, kind in _NOT_REGULAR:
        if test(mode):
            raise CliError(f"cannot write {path}: it is {kind}, not a regular file")


async def suggestions(
    config: Config, window: Window, *, top: int = 10, flags: str = "", out: IO[str]
) -> int:
    """`kbbot suggest`: each unanswered cluster, its nearest entry, and the YAML to paste."""
    matcher = _matcher(config, required=True)
    assert matcher is not None
    result = await _report(config, window, matcher, top, skip_handled=True)
    tz = window.tz
    _say(out, f"未回答的问题：{window.describe()}，{result.unanswered} 条\n")
    if coverage := coverage_text(result):
        _say(out, f"{coverage}\n")
    if not result.clusters:
        _say(out, "没有未回答的问题，知识库暂时不用补充。\n")
        return EXIT_OK
    for cluster in result.clusters:
        advice = suggest(cluster, matcher)
        span = f"{cluster.first_asked.astimezone(tz):%m-%d} 至 {cluster.last_asked.astimezone(tz):%m-%d}"
        change = f"，{trend_text(cluster)}" if cluster.trend else ""
        _say(out, f"\n=== 第 {cluster.number} 组：{cluster.count} 次，{span}{change} ===\n")
        _say(out, f"问法：{' / '.join(cluster.examples[:5])}\n")
        if cluster.nearest is not None:
            near = cluster.nearest
            _say(out, f"最接近的条目：{near.entry_id}（{near.topic}），得分 {near.score:.2f}\n")
        if advice.action == "add_questions":
            _say(out, f"建议：把问法加入条目 {advice.entry_id}（{advice.reason}）\n")
        else:
            _say(out, f"建议：新增条目（{advice.reason}）\n")
        _say(out, advice.snippet)
        if advice.action == "add_questions" and advice.wordings:
            _say(
                out,
                f"# 或者直接写入：kbbot suggest --apply {advice.entry_id} "
                f"--cluster {cluster.number}{flags}\n",
            )
    return EXIT_OK


def _window_flags(args: argparse.Namespace) -> str:
    """The window flags as given, to repeat in the --apply command line we print."""
    pairs = (("--since", args.since), ("--from", args.start), ("--to", args.end))
    return "".join(f" {flag} {value}" for flag, value in pairs if value)


async def apply(config: Config, window: Window, entry_id: str, number: int, *, out: IO[str]) -> int:
    """`kbbot suggest --apply ENTRY_ID --cluster N`: add cluster N's wordings to the entry.

    The same edit as the Telegram admin loop makes: checked as `kbbot kb check` checks before
    anything is written, written atomically with the file's comments kept, recorded in the
    knowledge history (`kbbot kb history`, `kbbot kb undo`), and the cluster marked handled.
    """
    engine = _engine(config)
    matcher = engine.review_matcher
    entry = matcher.kb.by_id.get(entry_id)
    if entry is None:
        close = difflib.get_close_matches(entry_id, list(matcher.kb.by_id), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CliError(f"there is no entry {entry_id!r} in {config.knowledge_dir}{hint}")
    result = await _report(config, window, matcher, max(number, 1), skip_handled=True)
    cluster = _cluster(result.clusters, number)
    wordings = new_wordings(cluster.examples, matcher)
    if not wordings:
        raise CliError(
            f"cluster {number} has no wording the knowledge base lacks "
            "(all are listed already, or contain masked personal data)"
        )
    summary = f"在「{entry.topic}」加入 {len(wordings)} 个问法：" + "、".join(
        f"“{w}”" for w in wordings
    )
    folder = config.knowledge_dir
    try:
        change = kbedit.plan_questions(folder, matcher.kb, entry_id, wordings, summary)
    except EditError as exc:
        raise CliError(str(exc)) from exc
    item = ReviewItem.of(cluster)
    actor = Actor.shell()
    async with open_log(config) as qlog:
        handled = await qlog.claim_forms(
            item.key, item.forms, action=ATTACH, target=entry_id, actor_name=actor.name
        )
        if handled is not None:
            raise CliError(handled_text(handled))
        try:
            done = await history.commit(qlog, folder, change, actor)
        except KnowledgeError as exc:
            await qlog.release_forms(item.key)
            for problem in kbedit.errors_of(exc):
                out.write(f"{problem}\n")
            raise CliError(
                f"the edit did not pass `kbbot kb check`; {change.file} is unchanged"
            ) from exc
        except (EditError, OSError) as exc:
            await qlog.release_forms(item.key)
            raise CliError(f"{change.file} is unchanged: {exc}") from exc
    out.write("知识库检查通过（与 kbbot kb check 相同的检查，在写入之前）。\n")
    out.write(f"已在 {folder / change.file} 的条目 {entry_id} 里加入 {len(wordings)} 个问法：\n")
    _say(out, "".join(f"  - {w}\n" for w in wordings))
    answered = _now_answered(config, entry_id, wordings)
    out.write(f"其中 {answered}/{len(wordings)} 个现在会直接得到这个条目的回答。")
    out.write(f"机器人会自动重新加载知识库。修改记录 #{done.id}，撤销：kbbot kb undo\n")
    return EXIT_OK


def _cluster(clusters: tuple[Cluster, ...], number: int) -> Cluster:
    for cluster in clusters:
        if cluster.number == number:
            return cluster
    raise CliError(
        f"there is no cluster {number} in this window ({len(clusters)} found): "
        "run `kbbot suggest` with the same window to see the numbers"
    )


def _now_answered(config: Config, entry_id: str, wordings: list[str]) -> int:
    """How many of the added wordings the edited knowledge base now answers with the entry."""
    engine = Engine.from_directory(config.knowledge_dir)
    replies = [engine.respond(w) for w in wordings]
    return sum(1 for r in replies if r.entry is not None and r.entry.id == entry_id)


async def export(
    config: Config, window: Window | None, *, fmt: str, output: Path | None, out: IO[str]
) -> int:
    """`kbbot log export`: every column of every row (in the window), oldest first.

    `--output` is refused as `report --html` is (a symbolic link, anything but a regular file,
    a missing folder), checked again on the opened file, and a new file gets the question log's
    own mode 0600: an export holds the questions.
    """
    if output is not None:
        _check_page_target(output)  # before the work, not after it
    async with open_log(config, create=False) as qlog:
        if output is None:
            await _export(qlog, window, fmt, out)
            return EXIT_OK
        # O_NOFOLLOW and O_NONBLOCK: a link or FIFO put there since the check fails or is
        # refused below, instead of being written through or blocking; truncate only then.
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(output, flags, FILE_MODE)
        except OSError as exc:
            raise CliError(f"cannot write {output}: {exc.strerror or exc}") from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                _check_page_target(output)
                raise CliError(f"cannot write {output}: it is not a regular file")
            os.set_blocking(fd, True)
            os.ftruncate(fd, 0)
        except BaseException:
            os.close(fd)
            raise
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            await _export(qlog, window, fmt, handle)
    return EXIT_OK


async def _export(qlog: QuestionLog, window: Window | None, fmt: str, out: IO[str]) -> None:
    start, end = (window.start, window.end) if window else (None, None)
    columns = await qlog.columns()
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        async with contextlib.aclosing(qlog.export(start, end)) as rows:
            async for row in rows:
                writer.writerow({name: csv_cell(value) for name, value in row.items()})
        return
    out.write("[")
    first = True
    async with contextlib.aclosing(qlog.export(start, end)) as rows:
        async for row in rows:
            line = escape_terminal_controls(json.dumps(_json_row(row), ensure_ascii=False))
            out.write(("\n" if first else ",\n") + line)
            first = False
    out.write("\n]\n" if not first else "]\n")


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its JSON-ish columns decoded: answered as a boolean, suggestions as a list."""
    data = dict(row)
    data["answered"] = bool(data.get("answered"))
    with contextlib.suppress(ValueError):
        data["suggestions"] = json.loads(data.get("suggestions") or "[]")
    return data


async def prune(config: Config, older_than: timedelta, *, dry_run: bool, out: IO[str]) -> int:
    """`kbbot log prune --older-than 180d`: retention."""
    if older_than < MIN_RETENTION:
        raise CliError("--older-than must be at least 1d (a shorter span empties the log)")
    cutoff = datetime.now(UTC) - older_than
    async with open_log(config, create=False) as qlog:
        count = await qlog.prune(cutoff, dry_run=dry_run)
    verb = "会删除" if dry_run else "已删除"
    out.write(f"{verb} {count} 条早于 {cutoff:%Y-%m-%d %H:%M} UTC 的提问记录\n")
    return EXIT_OK


async def backup(config: Config, target: Path, *, out: IO[str]) -> int:
    """`kbbot log backup FILE`: SQLite's online backup, consistent while the bot writes."""
    async with open_log(config, create=False) as qlog:
        await qlog.backup(target)
        count = await qlog.count()
    out.write(f"已把问答日志（{count} 条）备份到 {target}\n")
    return EXIT_OK


# --- the knowledge history (`kbbot kb history`, `kbbot kb undo`) ------------------------------


async def kb_history(config: Config, *, limit: int, out: IO[str]) -> int:
    """`kbbot kb history`: the latest knowledge changes (hand edits noticed first)."""
    if limit < 1:
        raise CliError("--limit must be at least 1")
    folder = config.knowledge_dir
    async with open_log(config) as qlog:
        await history.note_hand_edits(qlog, folder)
        changes = await qlog.changes(history.folder_key(folder), limit)
    _say(out, history.format_history(changes, "撤销最近一次修改：kbbot kb undo（会先预览）") + "\n")
    return EXIT_OK


async def kb_undo(config: Config, *, yes: bool, stdin: IO[str], out: IO[str]) -> int:
    """`kbbot kb undo`: preview reverting the latest change, then apply it when confirmed
    (`--yes`, or `y` typed at the prompt)."""
    engine = _engine(config)
    teacher = Teacher(engine, config.regression_set)
    actor = Actor.shell()
    async with open_log(config) as qlog:
        planned = await teacher.plan_undo(qlog, actor)
        _say(out, planned.text + "\n")
        if planned.token is None:
            return EXIT_OK
        if not yes:
            if not stdin.isatty():
                await qlog.take_pending(planned.token)
                raise CliError("not undone: run `kbbot kb undo --yes` to apply this preview")
            out.write("确认撤销？[y/N] ")
            out.flush()
            if stdin.readline().strip().lower() not in ("y", "yes", "是"):
                await qlog.take_pending(planned.token)
                out.write("已取消，知识库没有修改。\n")
                return EXIT_OK
        outcome = await teacher.confirm(qlog, planned.token, actor)
    _say(out, outcome.text + "\n")
    if not outcome.done:
        return EXIT_ERROR
    out.write("正在运行的机器人会自动重新加载知识库。\n")
    return EXIT_OK
