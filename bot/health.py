"""Health checks: can this installation answer questions and log them right now?

`kbbot health` (the Docker HEALTHCHECK, a systemd watchdog script, a monitoring probe) and the
running bot's HTTP health route (webhook mode, bot/telegram/health.py) ask the same two
questions, so an operator never sees them disagree:

1. does the knowledge base on disk load and validate? (the bot keeps serving the last good
   version when it does not, but the next restart would fail, so somebody must fix it);
2. can the question log be written, and is it intact? (answers still go out while it cannot be
   written, but questions pile up in memory; a damaged file, pages corrupted behind a valid
   header, still opens and takes writes, and fails only when a report reads the damaged pages,
   so the probe runs SQLite's `PRAGMA quick_check` as well; a PostgreSQL log is asked whether
   the server answers, takes writes and holds a schema this kbbot knows).

Every failure is one line that says what is wrong and where, because it ends up in
`docker inspect`, a load balancer's log or a monitoring alert, not in front of a developer.
No Telegram, no event loop, no SQL: the log's backend answers (`bot.questionlog.opening.check_log`).
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.answering.knowledge import KnowledgeBase, KnowledgeError, fingerprint, load_knowledge
from bot.config import Config
from bot.questionlog.opening import LogTarget, check_log

# How long the write probe waits for the bot's own writer to release the lock. The writer
# holds it for milliseconds per batch, so waiting longer than this means something is wrong.
LOCK_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    """The outcome of one check; `detail` is one line either way."""

    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}"


@dataclass(frozen=True)
class Health:
    """All checks of one probe; healthy only when every check passed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def summary(self) -> str:
        """One line: every check when healthy, only the failures otherwise."""
        shown = self.checks if self.ok else tuple(c for c in self.checks if not c.ok)
        return "; ".join(str(check) for check in shown)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def check_knowledge(directory: Path, served: KnowledgeBase | None = None) -> Check:
    """Whether the knowledge files in `directory` load and validate.

    Args:
        served: the knowledge base a running bot is serving. When the files on disk are
            exactly the ones it was loaded from (same fingerprint), they are known to be good
            and are not parsed again: a load balancer probing every few seconds must not cost
            a full load each time.
    """
    try:
        stamp = fingerprint(directory)
    except OSError as exc:
        return Check("knowledge base", False, f"cannot read {directory}: {exc.strerror or exc}")
    if served is not None and served.fingerprint == stamp:
        return Check("knowledge base", True, f"{len(served.entries)} entries")
    return _load_check(directory, stamp)


@functools.lru_cache(maxsize=8)
def _load_check(directory: Path, stamp: str) -> Check:
    """Load once per version of the files (`stamp` is only the cache key): a broken file
    probed every few seconds is parsed once, not on every probe."""
    del stamp
    try:
        kb = load_knowledge(directory)
    except KnowledgeError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        first = _one_line(str(errors[0])) if errors else "invalid"
        more = f" (+{len(errors) - 1} more: run `kbbot kb check`)" if len(errors) > 1 else ""
        return Check("knowledge base", False, f"{first}{more}")
    except OSError as exc:
        return Check("knowledge base", False, f"cannot read {directory}: {exc.strerror or exc}")
    return Check("knowledge base", True, f"{len(kb.entries)} entries")


def check_database(target: LogTarget, lock_wait: float = LOCK_WAIT_SECONDS) -> Check:
    """Whether the question log `target` names can be written, without writing anything, and is
    intact: the log's backend answers (`bot.questionlog.opening.check_log`; for SQLite a write
    transaction rolled back and `PRAGMA quick_check`, for PostgreSQL one query on a connection of
    its own). A missing file or an empty database is fine as long as the log can be created there.
    """
    ok, detail = check_log(target, lock_wait)
    return Check("question log", ok, detail)


def check(config: Config, served: KnowledgeBase | None = None) -> Health:
    """Both checks for `config` (see the module docstring)."""
    return Health(
        (
            check_knowledge(config.knowledge_dir, served),
            check_database(config),
        )
    )


def health_command(config: Config, out: IO[str]) -> int:
    """`kbbot health`: "ok: ..." and 0, or "kbbot: unhealthy: <reason>" on stderr and 1.

    Docker keeps the output of the last probes (`docker inspect`), so the reason is what an
    operator sees first when the container turns unhealthy.
    """
    health = check(config)
    if health.ok:
        out.write(f"ok: {health.summary()}\n")
        return 0
    print(f"kbbot: unhealthy: {health.summary()}", file=sys.stderr)
    return 1
