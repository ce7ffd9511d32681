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

from bot.audit import confusable_questions
from bot.config import SHIPPED_KNOWLEDGE, Config, ConfigError
from bot.document import REPORT_FILE
from bot.engine import Engine, Reply, format_plain
from bot.followup import Context
from bot.health import health_command
from bot.knowledge import Entry, KnowledgeError, Problem, knowledge_files, load_knowledge
from bot.matcher import Matcher
from bot.review_cli import (
    HISTORY_COMMANDS,
    REVIEW_COMMANDS,
    add_history_commands,
    add_review_commands,
    run_history,
    run_review,
)
from bot.settings import config_command
from bot.store import QuestionLog, StoreError, record_for

log = logging.getLogger("kbbot")
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


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
    }


class _Logger:
    """Logs replies to the question log when enabled; a log failure never stops answering."""

    def __init__(self, config: Config, enabled: bool) -> None:
        self.config, self.enabled = config, enabled
        self.log: QuestionLog | None = None

    async def __aenter__(self) -> _Logger:
        if self.enabled:
            try:
                self.log = await QuestionLog.open(self.config.db_path)
            except StoreError as exc:
                print(f"kbbot: warning: {exc}; questions will not be logged", file=sys.stderr)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.log is not None:
            await self.log.close()

    async def record(self, reply: Reply) -> None:
        if self.log is None:
            return
        try:
            await self.log.record(record_for(reply, "cli"))
        except Exception as exc:  # the database went away mid-run: keep answering
            print(f"kbbot: warning: could not log a question: {exc}", file=sys.stderr)
            self.log = None


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
) -> int:
    """Answer each question in turn, printing as soon as each is answered."""
    engine = load_engine(config)
    label = engine.message("source_label")
    async with _Logger(config, log_questions) as logger:
        for raw in questions:
            question = raw.rstrip("\r\n")
            reply = engine.respond(question)
            if as_json:
                out.write(json.dumps(reply_json(reply), ensure_ascii=False) + "\n")
            else:
                out.write(format_plain(reply, label, engine.kb.document) + "\n")
            out.flush()
            await logger.record(reply)
    return EXIT_OK


async def chat(config: Config, *, log_questions: bool, stdin: IO[str], out: IO[str]) -> int:
    """An interactive console conversation on the same engine as the bot.

    A number picks from the last list shown (suggestions, sections, entries or an answer's
    runners-up); /topics browses the report section by section, /help shows example questions,
    q quits.
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
    async with _Logger(config, log_questions) as logger:
        while True:
            if interactive:
                out.write("\n问> ")
            out.flush()
            line = await asyncio.to_thread(stdin.readline)
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
            out.write(format_plain(reply, label, engine.kb.document) + "\n")
            offer = menu.offer_reply(engine, reply)
            if offer:
                out.write(offer + "\n")
            await logger.record(reply)
    return EXIT_OK


PICK_HINT = "（输入序号查看对应答案）"


class ConsoleMenu:
    """The numbered list the console user can pick from: sections, entries, suggestions, a broad
    word's sections or an answer's close runners-up."""

    def __init__(self) -> None:
        self._sections: list[str] = []
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
        self._sections, self._entries = [s.title for s in sections], []
        lines = [engine.message("topics_intro")]
        lines += [f"  {n}. {s.title}（{len(s.entries)}）" for n, s in enumerate(sections, 1)]
        return "\n".join(lines) + "\n（输入序号查看这一部分的问题）"

    def pick(self, engine: Engine, number: int, label: str) -> str:
        if self._sections:
            title = self._sections[number - 1]
            section = next((s for s in engine.kb.sections() if s.title == title), None)
            if section is None:
                return engine.message("no_answer")
            self.offer_entries(section.entries)
            lines = [title] + [f"  {n}. {e.topic}" for n, e in enumerate(section.entries, 1)]
            return "\n".join(lines) + "\n（输入序号查看答案）"
        reply = engine.answer_entry(self._entries[number - 1])
        return format_plain(reply, label) if reply else engine.message("no_answer")


def kb_check(config: Config, out: IO[str]) -> int:
    """Validate the knowledge base; errors exit 1, warnings only inform."""
    directory = config.knowledge_dir
    try:
        kb = load_knowledge(directory)
    except KnowledgeError as exc:
        problems = exc.problems
        for problem in problems:
            out.write(f"{problem}\n")
        errors = sum(p.severity == "error" for p in problems)
        out.write(f"知识库检查未通过：{errors} 个错误。修改后再运行 kbbot kb check。\n")
        return EXIT_ERROR
    warnings: list[Problem] = [*kb.warnings, *confusable_questions(Matcher(kb))]
    for problem in warnings:
        out.write(f"{problem}\n")
    questions = sum(len(e.questions) for e in kb.entries)
    out.write(
        f"知识库检查通过：{len(kb.entries)} 个条目，{questions} 个问法，"
        f"{len(kb.synonyms)} 个同义说法，{len(warnings)} 个警告。\n"
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
        copied = _copy_new_files([*companions, *found], target)
    except OSError as exc:
        raise CliError(f"cannot copy {source} into {target}: {exc.strerror or exc}") from exc
    kept = len(companions) + len(found) - len(copied)
    out.write(
        f"copied {len(copied)} files from {source} into {target}"
        + (f" (kept {kept} already there)" if kept else "")
        + "\n"
    )
    return EXIT_OK


def _copy_new_files(files: Sequence[Path], target: Path) -> list[str]:
    """Copy `files` into the folder `target`, creating it; never replaces a file already there.

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
        for path in files:
            shutil.copyfile(path, staging / path.name)
        if not existed:
            staging.rename(target)
            return [path.name for path in files]
        copied = []
        for path in files:
            if not (target / path.name).exists():
                (staging / path.name).replace(target / path.name)
                copied.append(path.name)
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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--knowledge",
        type=Path,
        metavar="DIR",
        help="knowledge base directory (env KBBOT_KNOWLEDGE; default: the shipped knowledge/)",
    )
    common.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="question log SQLite file (env KBBOT_DB; default: ~/.local/share/kbbot/questions.sqlite3)",
    )
    parser = argparse.ArgumentParser(
        prog="kbbot",
        parents=[common],
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

    kb_cmd = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb_cmd.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    kb_commands.add_parser("check", parents=[common], help="validate every knowledge file")
    kb_commands.add_parser("export", parents=[common], help="print all entries as JSON")
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
    add_history_commands(kb_commands, common)  # history, undo (bot/review_cli.py)
    add_review_commands(commands, common)  # report, suggest, log (bot/review_cli.py)
    commands.add_parser(
        "health",
        parents=[common],
        help="exit 0 if the knowledge base loads and the question log is writable",
    )
    commands.add_parser(
        "config", parents=[common], help="print the configuration in effect (secrets masked)"
    )
    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs request URLs, which contain the bot token, at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def run(
    argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None, out: IO[str] | None = None
) -> int:
    """Entry point that tests call directly; returns the exit status."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
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
        configure_logging("WARNING" if quiet else config.log_level)
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
        if args.kb_command == "check":
            return kb_check(config, out)
        return kb_export(config, out)
    except (CliError, ConfigError) as exc:
        print(f"kbbot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    sys.exit(run())
