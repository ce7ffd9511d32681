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
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from bot.audit import confusable_questions
from bot.config import Config, ConfigError
from bot.engine import Engine, Reply, format_plain
from bot.knowledge import KnowledgeError, Problem, load_knowledge
from bot.matcher import Matcher
from bot.store import QuestionLog, QuestionRecord, StoreError

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
        "source": entry.source if entry else None,
        "score": reply.score,
        "normalised": reply.normalised,
        "suggestions": [{"entry_id": e.id, "question": e.questions[0]} for e in reply.suggestions],
    }


def record_for(reply: Reply, channel: str) -> QuestionRecord:
    return QuestionRecord(
        channel=channel,
        question=reply.question,
        normalised=reply.normalised,
        answered=reply.answered,
        outcome=reply.kind.value,
        entry_id=reply.entry.id if reply.entry else None,
        score=reply.score,
    )


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
                out.write(format_plain(reply, label) + "\n")
            out.flush()
            await logger.record(reply)
    return EXIT_OK


async def chat(config: Config, *, log_questions: bool, stdin: IO[str], out: IO[str]) -> int:
    """An interactive console conversation; a number picks one of the offered suggestions."""
    engine = load_engine(config)
    label = engine.message("source_label")
    interactive = stdin.isatty()
    out.write(engine.message("welcome") + "\n（输入问题后回车；输入 q 退出）\n")
    offered: Sequence[str] = ()
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
            if text.isdigit() and 1 <= int(text) <= len(offered):
                picked = engine.answer_entry(offered[int(text) - 1])
                if picked is not None:
                    out.write(format_plain(picked, label) + "\n")
                    continue
            reply = engine.respond(text)
            offered = [entry.id for entry in reply.suggestions]
            out.write(format_plain(reply, label) + "\n")
            if offered:
                out.write("（输入序号查看对应答案）\n")
            await logger.record(reply)
    return EXIT_OK


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

    kb_cmd = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb_cmd.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    kb_commands.add_parser("check", parents=[common], help="validate every knowledge file")
    kb_commands.add_parser("export", parents=[common], help="print all entries as JSON")
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
        config = Config.from_env(knowledge_dir=args.knowledge, db_path=args.db)
        configure_logging(config.log_level if args.command != "ask" else "WARNING")
        command = args.command or "chat"
        if command == "ask":
            questions: Iterable[str] = [" ".join(args.question)] if args.question else stdin
            return asyncio.run(
                ask(config, questions, as_json=args.json, log_questions=not args.no_log, out=out)
            )
        if command == "chat":
            log_questions = not getattr(args, "no_log", False)
            return asyncio.run(chat(config, log_questions=log_questions, stdin=stdin, out=out))
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
