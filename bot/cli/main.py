"""The `kbbot` command line: argument parsing and output only; the work happens in the core.

`kbbot` with no command is the main job: the Telegram bot when KBBOT_TOKEN is set, otherwise a
console chat on the same engine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from bot.answering.document import REPORT_FILE
from bot.answering.engine import Engine, Reply, format_plain
from bot.answering.followup import Context
from bot.answering.knowledge import (
    Entry,
    KnowledgeError,
    Problem,
    Section,
    knowledge_files,
    load_knowledge,
)
from bot.answering.text import escape_terminal_controls
from bot.authoring.audit import audit_matcher, collector_paused, confusable_questions, default_jobs
from bot.authoring.draft import DraftError, beside_reports, write_draft
from bot.cli.console import LOG_WAIT, LineReader, QuestionLogWriter, read_lines
from bot.cli.review import (
    HISTORY_COMMANDS,
    REVIEW_COMMANDS,
    add_history_commands,
    add_review_commands,
    run_history,
    run_review,
)
from bot.cli.settings import config_command
from bot.config import SHIPPED_KNOWLEDGE, Config, ConfigError
from bot.health import health_command
from bot.logsetup import configure_logging
from bot.questionlog.opening import LOG_ERRORS, damaged_log_advice, is_damaged
from bot.questionlog.protocol import parse_log_url

log = logging.getLogger("kbbot")
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # killed by SIGPIPE, as the shell reports it


class CliError(Exception):
    """A failure the user can act on: printed as one line, exit status 1."""


def reply_json(reply: Reply) -> dict[str, Any]:
    """The machine-readable form of a reply (`kbbot ask --json`)."""
    entry = reply.entry
    return {
        "question": reply.question,
        "answered": reply.answered,
        "kind": reply.kind.value,
        "answer": reply.text,
        "entry_id": entry.id if entry else None,
        "topic": entry.topic if entry else None,
        "source": reply.source,
        "score": reply.score,
        "confidence": round(reply.confidence, 4) if reply.match else None,
        "normalised": reply.normalised,
        "suggestions": [{"entry_id": e.id, "question": e.questions[0]} for e in reply.suggestions],
        "also": [{"entry_id": e.id, "question": e.questions[0]} for e in reply.also],
        "passage": reply.quote.text if reply.quote else None,
        "missing": [
            {"kind": conflict.kind.value, "detail": conflict.detail} for conflict in reply.conflicts
        ],
        "parts": [reply_json(part) for part in reply.parts],
        # Several reports side by side: the one answered from, and the line naming it.
        "report": reply.report or None,
        "note": reply.note or None,
    }


def load_engine(config: Config) -> Engine:
    try:
        return Engine.from_directory(config.knowledge_dir)
    except KnowledgeError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        detail = "; ".join(str(p) for p in errors[:3])
        more = f" (+{len(errors) - 3} more: run `kbbot kb check`)" if len(errors) > 3 else ""
        raise CliError(
            f"the knowledge base in {config.knowledge_dir} is invalid: {detail}{more}"
        ) from exc


# --- commands ----------------------------------------------------------------------------------


async def ask(
    config: Config,
    questions: Iterable[str],
    *,
    as_json: bool,
    log_questions: bool,
    out: IO[str],
    log_wait: float = LOG_WAIT,
) -> int:
    """Answer each question in turn, printing as soon as each is answered.

    `questions` is a list, or a stream read line by line (undecodable bytes become U+FFFD).
    The log is written in the background and waited for at most `log_wait` seconds at the end
    (bot/cli/console.py): a locked or unwritable log is one warning line, never a hang.
    """
    engine = load_engine(config)
    label = engine.message("source_label")
    async with QuestionLogWriter(config.db_path, log_questions, wait=log_wait) as writer:
        async for raw in read_lines(questions):
            question = raw.rstrip("\r\n")
            reply = engine.respond(question)
            if as_json:
                line = json.dumps(reply_json(reply), ensure_ascii=False)
                out.write(escape_terminal_controls(line) + "\n")
            else:
                out.write(
                    format_plain(reply, label, engine.kb.document, engine.kb.documents) + "\n"
                )
            out.flush()
            writer.record(reply)
            await asyncio.sleep(0)  # the log writer's turn
    return EXIT_OK


async def chat(
    config: Config,
    *,
    log_questions: bool,
    stdin: IO[str],
    out: IO[str],
    log_wait: float = LOG_WAIT,
) -> int:
    """An interactive console conversation on the same engine as the bot.

    A number picks from the last list shown (suggestions, sections, entries or an answer's
    runners-up); /topics browses the report section by section, /help shows example questions,
    q quits. Ctrl-C quits at once (the questions answered are still logged). The log is
    written as in `ask`.
    """
    engine = load_engine(config)
    label = engine.message("source_label")
    interactive = stdin.isatty()
    out.write(
        engine.message("welcome")
        + "\n（输入问题后回车；/topics 按主题浏览，/help 查看示例，q 退出）\n"
    )
    menu = ConsoleMenu()
    context: Context | None = None  # the last answered question, for follow-ups (那2018年呢)
    async with QuestionLogWriter(config.db_path, log_questions, wait=log_wait) as writer:
        reader = LineReader(stdin)
        while True:
            if interactive:
                out.write("\n问> ")
            out.flush()
            try:
                line = await reader.readline()
            except asyncio.CancelledError:  # Ctrl-C: end the prompt's line, then leave
                out.write("\n")
                out.flush()
                raise
            if not line:
                break
            text = line.strip()
            if text.lower() in ("q", "quit", "exit", "退出"):
                break
            if text in ("/help", "帮助"):
                out.write(engine.message("help") + "\n")
                continue
            if text in ("/topics", "/start", "主题"):
                out.write(menu.show_sections(engine) + "\n")
                continue
            if text.isdigit() and menu.has(int(text)):
                out.write(menu.pick(engine, int(text), label) + "\n")
                continue
            now = time.monotonic()
            reply = engine.respond(text, context.current(now) if context else None)
            context = reply.context(now) or context
            out.write(format_plain(reply, label, engine.kb.document, engine.kb.documents) + "\n")
            offer = menu.offer_reply(engine, reply)
            if offer:
                out.write(offer + "\n")
            writer.record(reply)
    return EXIT_OK


PICK_HINT = "（输入序号查看对应答案）"


class ConsoleMenu:
    """The numbered list the console user can pick from: sections, entries, suggestions, a broad
    word's sections or an answer's close runners-up."""

    def __init__(self) -> None:
        self._sections: list[tuple[str, str]] = []
        self._entries: list[str] = []

    def has(self, number: int) -> bool:
        return 1 <= number <= len(self._sections or self._entries)

    def offer_entries(self, entries: Iterable[Entry]) -> None:
        self._sections, self._entries = [], [entry.id for entry in entries]

    def offer_reply(self, engine: Engine, reply: Reply) -> str:
        """Offer what a reply leads on to, and return the lines to print under it ("" if none).

        Suggestions and a broad word's sections are already numbered in the reply; an answer's
        close runners-up ("您可能还想了解") are listed here. A several-question message's parts
        offer nothing: the numbers there are the parts.
        """
        if reply.suggestions:
            self.offer_entries(reply.suggestions)
            return PICK_HINT
        if reply.also:
            self.offer_entries(reply.also)
            lines = [engine.message("also_intro")]
            lines += [f"  {n}. {entry.questions[0]}" for n, entry in enumerate(reply.also, 1)]
            return "\n".join([*lines, PICK_HINT])
        return ""

    def show_sections(self, engine: Engine) -> str:
        sections = engine.kb.sections()
        self._sections, self._entries = [(s.report, s.title) for s in sections], []
        lines = [engine.message("topics_intro")]
        lines += [f"  {n}. {_titled(s)}（{len(s.entries)}）" for n, s in enumerate(sections, 1)]
        return "\n".join(lines) + "\n（输入序号查看这一部分的问题）"

    def pick(self, engine: Engine, number: int, label: str) -> str:
        if self._sections:
            report, title = self._sections[number - 1]
            section = next(
                (s for s in engine.kb.sections() if (s.report, s.title) == (report, title)), None
            )
            if section is None:
                return engine.message("no_answer")
            self.offer_entries(section.entries)
            lines = [_titled(section)]
            lines += [f"  {n}. {e.topic}" for n, e in enumerate(section.entries, 1)]
            return "\n".join(lines) + "\n（输入序号查看答案）"
        reply = engine.answer_entry(self._entries[number - 1])
        if reply is None:
            return engine.message("no_answer")
        return format_plain(reply, label, documents=engine.kb.documents)


def _titled(section: Section) -> str:
    """A section as the console lists it: with its report's year, among several reports."""
    return f"{section.report}年 {section.title}" if section.report else section.title


class Progress:
    """How far a long `kb check` has got, on stderr: nothing for a run that ends within
    `after` seconds; then a line per stage and a count of the questions checked, rewritten
    in place on a terminal and a line every `every` seconds otherwise (a CI log)."""

    def __init__(self, stream: IO[str], *, after: float = 2.0, every: float = 10.0) -> None:
        self.stream, self.after = stream, after
        self.tty = stream.isatty()
        self.every = 0.1 if self.tty else every
        self.started = time.monotonic()
        self._last = 0.0
        self._pending = False  # a count is on the line, to be ended before anything else

    def _due(self) -> bool:
        return time.monotonic() - self.started >= self.after

    def stage(self, text: str) -> None:
        """Announce a stage that may take a while (only once the run has taken a while)."""
        if self._due():
            self._end_line()
            self.stream.write(f"{text}…\n")
            self.stream.flush()

    def count(self, done: int, total: int) -> None:
        """`audit.Progress`: questions checked so far."""
        now = time.monotonic()
        if not self._due() or (now - self._last < self.every and done < total):
            return
        self._last = now
        share = done * 100 // max(total, 1)
        line = f"检查问法：{done}/{total}（{share}%），已用 {now - self.started:.0f} 秒"
        if self.tty:
            self.stream.write(f"\r{line}")
            self._pending = True
        else:
            self.stream.write(f"{line}\n")
        if done >= total:
            self._end_line()
        self.stream.flush()

    def _end_line(self) -> None:
        if self._pending:
            self.stream.write("\n")
            self._pending = False


def kb_check(config: Config, out: IO[str], progress: Progress | None = None, jobs: int = 1) -> int:
    """Validate the knowledge base; errors exit 1, warnings only inform.

    Args:
        progress: how a long run says how far it has got (on stderr); None: it does not.
        jobs: how many processes ask the stored questions (`audit.confusable_questions`).
    """
    directory = config.knowledge_dir
    try:
        with collector_paused():
            kb = load_knowledge(directory)
    except KnowledgeError as exc:
        problems = exc.problems
        for problem in problems:
            out.write(f"{problem}\n")
        errors = sum(p.severity == "error" for p in problems)
        out.write(f"知识库检查未通过：{errors} 个错误。修改后再运行 kbbot kb check。\n")
        return EXIT_ERROR
    if progress is not None:
        progress.stage(f"已读入 {len(kb.entries)} 个条目，正在建立索引")
    found: list[Problem] = []
    for own in [part.kb for part in kb.reports] or [kb]:  # each report is matched on its own
        matcher = audit_matcher(own)
        found += confusable_questions(
            matcher, progress.count if progress is not None else None, jobs=jobs
        )
    warnings: list[Problem] = [*kb.warnings, *found]
    for problem in warnings:
        out.write(f"{problem}\n")
    questions = sum(len(e.questions) for e in kb.entries)
    out.write(
        f"知识库检查通过：{len(kb.entries)} 个条目，{questions} 个问法，"
        f"{len(kb.synonyms)} 个同义说法，{len(warnings)} 个警告。\n"
    )
    if kb.reports:
        listed = "、".join(
            f"{part.key}年（{len(part.kb.entries)} 个条目，{part.folder or '顶层'}）"
            for part in kb.reports
        )
        out.write(f"共 {len(kb.reports)} 份报告：{listed}。没写年份的问题按最新一份回答。\n")
    drafts = sum(entry.draft for entry in kb.entries)
    if drafts:
        out.write(
            f"其中 {drafts} 个是草稿条目（draft: true），机器人引用报告原文回答；"
            "逐条审核后删去 draft: true。\n"
        )
    return EXIT_OK


def kb_draft(config: Config, report: Path, target: Path, out: IO[str]) -> int:
    """`kbbot kb draft REPORT --out DIR`: a draft knowledge base from a report's text."""
    checked = target.parent if beside_reports(target) else target  # one report among others
    try:
        written = write_draft(report, target, config.knowledge_dir)
    except DraftError as exc:
        raise CliError(str(exc)) from exc
    out.write(
        f"已在 {target} 写入 {len(written)} 个文件。运行 kbbot kb check --knowledge {checked} 检查。\n"
    )
    return EXIT_OK


def kb_export(config: Config, out: IO[str]) -> int:
    kb = load_engine(config).kb
    items = [
        {
            "id": e.id,
            "topic": e.topic,
            "questions": list(e.questions),
            "answer": e.answer,
            "source": e.source,
            "keywords": list(e.keywords),
            "related": list(e.related),
        }
        for e in kb.entries
    ]
    out.write(json.dumps(items, ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


# What `kbbot kb init` copies besides the knowledge files: the report's text (passages are
# checked against it), the admins' guide, and the schema the files name for editors.
KB_COMPANION_FILES = (REPORT_FILE, "README.md", "schema.json")


def kb_init(config: Config, source: Path | None, out: IO[str]) -> int:
    """Copy a knowledge base into the configured knowledge folder, unless it already has one.

    Safe to run before every start (the systemd unit's ExecStartPre): a folder holding any
    knowledge file is left exactly as it is, so the admins' edits are never overwritten, and the
    source is not even looked at then (the seed may be gone once the copy exists).

    Args:
        source: the knowledge base to copy; None for the shipped one, which only a checkout or
            an editable install has (`pip install /path` does not package knowledge/).
    """
    target = config.knowledge_dir
    source = SHIPPED_KNOWLEDGE if source is None else source
    if source.resolve() == target.resolve():
        raise CliError(
            f"{target} is both the source and the knowledge folder to fill: point "
            f"KBBOT_KNOWLEDGE or --knowledge at a new folder, or name another source with --from"
        )
    try:
        if target.is_dir() and knowledge_files(target):
            out.write(f"{target} already holds a knowledge base; nothing copied\n")
            return EXIT_OK
        found = knowledge_files(source) if source.is_dir() else []
        if not found:
            raise CliError(
                f"{source} holds no knowledge files (*.yaml): name a knowledge base with --from DIR"
            )
        companions = [source / name for name in KB_COMPANION_FILES if (source / name).is_file()]
        files = [(path, path.name) for path in [*companions, *found]]
        files += _report_folder_files(source)
        copied = _copy_new_files(files, target)
    except OSError as exc:
        raise CliError(f"cannot copy {source} into {target}: {exc.strerror or exc}") from exc
    kept = len(files) - len(copied)
    out.write(
        f"copied {len(copied)} files from {source} into {target}"
        + (f" (kept {kept} already there)" if kept else "")
        + "\n"
    )
    return EXIT_OK


def _report_folder_files(source: Path) -> list[tuple[Path, str]]:
    """The files of the reports in folders of their own (knowledge/2020/...), by the name
    they have inside the knowledge base."""
    found = []
    for folder in sorted(source.iterdir()):
        if folder.name.startswith(".") or not (folder / REPORT_FILE).is_file():
            continue
        for path in [folder / REPORT_FILE, *knowledge_files(folder)]:
            found.append((path, f"{folder.name}/{path.name}"))
    return found


def _copy_new_files(files: Sequence[tuple[Path, str]], target: Path) -> list[str]:
    """Copy `files` (each a path and its name inside `target`, which may be in a report's
    folder) into the folder `target`, creating it; never replaces a file already there.

    The copies are made in a hidden staging folder first. A missing `target` is that folder
    renamed into place, so an interrupted copy never leaves half a knowledge base that the next
    run would take for a real one; into an existing folder (a mount point, say) each file is
    moved on its own. Returns the names copied.
    """
    existed = target.is_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = (target if existed else target.parent) / f".{target.name}.init-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        for path, name in files:
            (staging / name).parent.mkdir(exist_ok=True)
            shutil.copyfile(path, staging / name)
        if not existed:
            staging.rename(target)
            return [name for _, name in files]
        copied = []
        for _, name in files:
            if not (target / name).exists():
                (target / name).parent.mkdir(exist_ok=True)
                (staging / name).replace(target / name)
                copied.append(name)
        return copied
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_telegram(config: Config) -> int:
    """`kbbot run`: the Telegram bot, until SIGINT/SIGTERM.

    Imported here, not at the top: only this command needs python-telegram-bot.
    """
    from bot.telegram.app import BotStartError, require_token, run_bot

    require_token(config)
    engine = load_engine(config)
    try:
        return run_bot(config, engine)
    except BotStartError as exc:
        raise CliError(str(exc)) from exc


# --- parsing -----------------------------------------------------------------------------------


def _global_options(default: object) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--knowledge",
        type=Path,
        metavar="DIR",
        default=default,
        help="knowledge base directory (env KBBOT_KNOWLEDGE; default: the shipped knowledge/)",
    )
    options.add_argument(
        "--db",
        type=_db_argument,
        metavar="PATH",
        default=default,
        help="question log SQLite file or sqlite:/// URL "
        "(env KBBOT_DB; default: ~/.local/share/kbbot/questions.sqlite3)",
    )
    return options


def _db_argument(value: str) -> Path:
    """--db as KBBOT_DB takes it (`bot.questionlog.protocol.parse_log_url`), refused by argparse in one
    line ("argument --db: ...")."""
    try:
        return parse_log_url(value).path
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive(value: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """`kbbot`'s arguments. --knowledge and --db are global: they go before the command
    (`kbbot --db X log export`) or after it (`kbbot log export --db X`), for every command."""
    # Each command takes the global options again. Their copies default to SUPPRESS: a default
    # there would overwrite, with None, a value given before the command (argparse fills a
    # subcommand's defaults into the same namespace after the main parser's).
    parser_options = _global_options(None)
    common = _global_options(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="kbbot",
        parents=[parser_options],
        description="Answers questions about the 江汉区2019年法治政府建设工作报告. "
        "Without a command: the Telegram bot if KBBOT_TOKEN is set, else a console chat.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask_cmd = commands.add_parser(
        "ask", parents=[common], help="answer a question (or stdin lines)"
    )
    ask_cmd.add_argument(
        "question", nargs="*", help="the question; none: read one per line from stdin"
    )
    ask_cmd.add_argument("--json", action="store_true", help="one JSON object per question")
    ask_cmd.add_argument("--no-log", action="store_true", help="do not write the question log")

    chat_cmd = commands.add_parser("chat", parents=[common], help="interactive console chat")
    chat_cmd.add_argument("--no-log", action="store_true", help="do not write the question log")

    run_cmd = commands.add_parser(
        "run",
        parents=[common],
        help="run the Telegram bot (long polling; a webhook server with --webhook-url)",
    )
    run_cmd.add_argument(
        "--webhook-url",
        metavar="URL",
        help="public https URL Telegram posts updates to (env KBBOT_WEBHOOK_URL)",
    )
    run_cmd.add_argument(
        "--listen",
        metavar="ADDR",
        help="address the webhook server binds (env KBBOT_WEBHOOK_LISTEN; default 127.0.0.1)",
    )
    run_cmd.add_argument(
        "--port",
        type=int,
        metavar="PORT",
        help="port the webhook server binds (env KBBOT_WEBHOOK_PORT; default 8443)",
    )

    kb_cmd = commands.add_parser("kb", parents=[common], help="knowledge base tools")
    kb_commands = kb_cmd.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    check_cmd = kb_commands.add_parser(
        "check", parents=[common], help="validate every knowledge file"
    )
    check_cmd.add_argument(
        "--jobs",
        type=_positive,
        default=default_jobs(),
        metavar="N",
        help="processes that check the questions of a large base (default: one per CPU, "
        f"here {default_jobs()})",
    )
    kb_commands.add_parser("export", parents=[common], help="print all entries as JSON")
    draft_cmd = kb_commands.add_parser(
        "draft",
        parents=[common],
        help="write a draft knowledge base from a report's text (template: --knowledge)",
    )
    draft_cmd.add_argument("report", type=Path, metavar="REPORT.txt")
    draft_cmd.add_argument(
        "--out", dest="draft_out", type=Path, required=True, metavar="DIR", help="a new folder"
    )
    init_cmd = kb_commands.add_parser(
        "init",
        parents=[common],
        help="copy a knowledge base into the knowledge folder unless it already holds one",
    )
    init_cmd.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="DIR",
        help="the knowledge base to copy (default: the shipped knowledge/)",
    )
    add_history_commands(kb_commands, common)  # history, undo (bot/cli/review.py)
    add_review_commands(commands, common)  # report, suggest, log (bot/cli/review.py)
    commands.add_parser(
        "health",
        parents=[common],
        help="exit 0 if the knowledge base loads and the question log is writable",
    )
    commands.add_parser(
        "config", parents=[common], help="print the configuration in effect (secrets masked)"
    )
    return parser


def run(
    argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None, out: IO[str] | None = None
) -> int:
    """Entry point that tests call directly; returns the exit status."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    config: Config | None = None
    try:
        config = Config.from_env(
            knowledge_dir=args.knowledge,
            db_path=args.db,
            webhook_url=getattr(args, "webhook_url", None),
            webhook_listen=getattr(args, "listen", None),
            webhook_port=getattr(args, "port", None),
        )
        command = args.command or ("run" if config.token else "chat")
        # The bot logs at KBBOT_LOG_LEVEL; console tools stay quiet unless it is set explicitly.
        quiet = command != "run" and "KBBOT_LOG_LEVEL" not in os.environ
        configure_logging(
            "WARNING" if quiet else config.log_level, config.log_format, token=config.token
        )
        if command == "run":
            return run_telegram(config)
        if command == "ask":
            questions: Iterable[str] = [" ".join(args.question)] if args.question else stdin
            return asyncio.run(
                ask(config, questions, as_json=args.json, log_questions=not args.no_log, out=out)
            )
        if command == "chat":
            log_questions = not getattr(args, "no_log", False)
            return asyncio.run(chat(config, log_questions=log_questions, stdin=stdin, out=out))
        if command in REVIEW_COMMANDS:
            return run_review(config, args, out)
        if command == "health":
            return health_command(config, out)
        if command == "config":
            return config_command(config, out, os.environ.get("KBBOT_CONFIG"))
        if args.kb_command in HISTORY_COMMANDS:
            return run_history(config, args, stdin, out)
        if args.kb_command == "init":
            return kb_init(config, args.source, out)
        if args.kb_command == "draft":
            return kb_draft(config, args.report, args.draft_out, out)
        if args.kb_command == "check":
            return kb_check(config, out, progress=Progress(sys.stderr), jobs=args.jobs)
        return kb_export(config, out)
    except (CliError, ConfigError) as exc:
        print(f"kbbot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except LOG_ERRORS as exc:
        if config is None or not is_damaged(exc):
            raise
        # A damaged log (pages corrupted behind a valid header) opens, and fails only where a
        # command reads the damaged pages: say so, with the commands that restore it.
        advice = damaged_log_advice(config.db_path, str(exc))
        print(f"kbbot: error: the question log {advice}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def main() -> None:
    """The `kbbot` console script: `run` with the process's arguments and streams."""
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        status = run()
        sys.stdout.flush()
    except BrokenPipeError:
        # Whoever read our output went away (`kbbot log export | head -1`): stop quietly with
        # the status a command killed by SIGPIPE has, as `cat` does. Python flushes stdout
        # once more on the way out; point it at /dev/null so that cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        status = EXIT_BROKEN_PIPE
    sys.exit(status)
