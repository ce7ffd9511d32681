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
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from bot.answering.engine import Engine, Reply, format_plain
from bot.answering.followup import Context
from bot.answering.knowledge import (
    Entry,
    Section,
)
from bot.answering.text import escape_terminal_controls
from bot.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    ONE_LINE_ERRORS,
    CliError,
    Command,
    Invocation,
    leaves_at_once,
    load_engine,
)
from bot.cli.console import LOG_WAIT, LineReader, QuestionLogWriter, read_lines
from bot.cli.kb import add_kb_commands
from bot.cli.review import add_review_commands
from bot.cli.settings import config_command
from bot.config import Config
from bot.health import health_command
from bot.logsetup import configure_logging
from bot.logurl import LogURL, parse_log_url
from bot.questionlog.opening import LOG_ERRORS, damaged_log_advice, is_damaged

log = logging.getLogger("kbbot")
EXIT_BROKEN_PIPE = 128 + 13  # killed by SIGPIPE, as the shell reports it


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
    async with QuestionLogWriter(config.db, log_questions, wait=log_wait) as writer:
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
    async with QuestionLogWriter(config.db, log_questions, wait=log_wait) as writer:
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


def run_telegram(config: Config) -> int:
    """`kbbot run`: the Telegram bot, until SIGINT/SIGTERM.

    Imported here, not at the top: only this command needs python-telegram-bot.
    """
    from bot.telegram.app import BotStartError, require_shared_settings, require_token, run_bot

    require_token(config)
    require_shared_settings(config)
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
        metavar="PATH|URL",
        default=default,
        help="question log: a SQLite file (or sqlite:/// URL) or a postgresql:// URL "
        "(env KBBOT_DB; default: ~/.local/share/kbbot/questions.sqlite3)",
    )
    return options


def _db_argument(value: str) -> LogURL:
    """--db as KBBOT_DB takes it (`bot.logurl.parse_log_url`), refused by argparse
    in one line ("argument --db: ...")."""
    try:
        return parse_log_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


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
    parser.set_defaults(func=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask_cmd = commands.add_parser(
        "ask", parents=[common], help="answer a question (or stdin lines)"
    )
    ask_cmd.set_defaults(func=_ask)
    ask_cmd.add_argument(
        "question", nargs="*", help="the question; none: read one per line from stdin"
    )
    ask_cmd.add_argument("--json", action="store_true", help="one JSON object per question")
    ask_cmd.add_argument("--no-log", action="store_true", help="do not write the question log")

    chat_cmd = commands.add_parser("chat", parents=[common], help="interactive console chat")
    chat_cmd.set_defaults(func=_chat)
    chat_cmd.add_argument("--no-log", action="store_true", help="do not write the question log")

    run_cmd = commands.add_parser(
        "run",
        parents=[common],
        help="run the Telegram bot (long polling; a webhook server with --webhook-url)",
    )
    run_cmd.set_defaults(func=_run_bot)
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

    add_kb_commands(commands, common)  # check, export, draft, init, history, undo
    add_review_commands(commands, common)  # report, suggest, log (bot/cli/review.py)
    commands.add_parser(
        "health",
        parents=[common],
        help="exit 0 if the knowledge base loads and the question log is writable",
    ).set_defaults(func=lambda run: health_command(run.config, run.out))
    commands.add_parser(
        "config", parents=[common], help="print the configuration in effect (secrets masked)"
    ).set_defaults(
        func=lambda run: config_command(run.config, run.out, os.environ.get("KBBOT_CONFIG"))
    )
    return parser


def _ask(run: Invocation) -> int:
    args = run.args
    questions: Iterable[str] = [" ".join(args.question)] if args.question else run.stdin
    return asyncio.run(
        ask(run.config, questions, as_json=args.json, log_questions=not args.no_log, out=run.out)
    )


def _chat(run: Invocation) -> int:
    log_questions = not getattr(run.args, "no_log", False)
    return asyncio.run(chat(run.config, log_questions=log_questions, stdin=run.stdin, out=run.out))


def _run_bot(run: Invocation) -> int:
    return run_telegram(run.config)


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
            db=args.db,
            webhook_url=getattr(args, "webhook_url", None),
            webhook_listen=getattr(args, "listen", None),
            webhook_port=getattr(args, "port", None),
        )
        # Without a command: the bot when a token is set, else the console chat.
        command: Command = args.func or (_run_bot if config.token else _chat)
        # The bot logs at KBBOT_LOG_LEVEL; console tools stay quiet unless it is set explicitly.
        quiet = command is not _run_bot and "KBBOT_LOG_LEVEL" not in os.environ
        configure_logging(
            "WARNING" if quiet else config.log_level, config.log_format, token=config.token
        )
        return command(Invocation(config, args, stdin, out, sys.stderr))
    except (*ONE_LINE_ERRORS, *LOG_ERRORS) as exc:
        if config is not None and config.db.path is not None and is_damaged(exc):
            # A damaged log (pages corrupted behind a valid header) opens, and fails only where
            # a command reads the damaged pages: say so, with the commands that restore it.
            advice = damaged_log_advice(config.db.path, str(exc))
            print(f"kbbot: error: the question log {advice}", file=sys.stderr)
        elif isinstance(exc, ONE_LINE_ERRORS):
            print(f"kbbot: error: {exc}", file=sys.stderr)
        else:
            raise
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
    if leaves_at_once():
        sys.stderr.flush()
        logging.shutdown()
        os._exit(status)
    sys.exit(status)
