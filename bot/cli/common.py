"""What every `kbbot` command shares: its one error type, exit statuses and what it is given.

Each subcommand's parser names its function with `set_defaults(func=...)`; `bot.cli.main.run`
builds one `Invocation` and calls it. A command fails by raising `CliError` (or one of the
core's one-line errors listed in `ONE_LINE_ERRORS`): `run` prints it as one line and exits 1,
so no command prints its own errors or returns its own failure status.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from bot.answering.engine import Engine
from bot.answering.knowledge import KnowledgeError
from bot.config import Config, ConfigError
from bot.questionlog.protocol import StoreError
from bot.review.report import WindowError
from bot.review.suggest import SuggestError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A failure the user can act on: printed as one line, exit status 1."""


# The core's errors whose message is already one line a user can act on: printed as they are.
ONE_LINE_ERRORS: tuple[type[Exception], ...] = (
    CliError,
    ConfigError,
    StoreError,
    WindowError,
    SuggestError,
)


# Set by a command that leaves nothing to finish (no open log, no thread, no child process)
# and may have built something large: `main` then ends the process without freeing it.
_leave_at_once = False


def leave_at_once_when_done() -> None:
    """Let `bot.cli.main.main` end the process as soon as the command has returned and its
    output is flushed. Freeing a large knowledge base's index object by object, as the
    interpreter does on its way out, takes over a second at 10,000 entries, for nothing.
    Only `main` acts on it: `run`, which tests call, returns as usual."""
    global _leave_at_once
    _leave_at_once = True


def leaves_at_once() -> bool:
    return _leave_at_once


@dataclass(frozen=True)
class Invocation:
    """One run of a command: the configuration in effect, its arguments and its streams."""

    config: Config
    args: argparse.Namespace
    stdin: IO[str]
    out: IO[str]
    err: IO[str]


Command = Callable[[Invocation], int]


def load_engine(config: Config) -> Engine:
    """The engine over the configured knowledge base, or a CliError naming its first errors."""
    try:
        return Engine.from_directory(config.knowledge_dir)
    except KnowledgeError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        detail = "; ".join(str(p) for p in errors[:3])
        more = f" (+{len(errors) - 3} more: run `kbbot kb check`)" if len(errors) > 3 else ""
        raise CliError(
            f"the knowledge base in {config.knowledge_dir} is invalid: {detail}{more}"
        ) from exc
