"""Health checks: can this installation answer questions and log them right now?

`kbbot health` (the Docker HEALTHCHECK, a systemd watchdog script, a monitoring probe) and the
running bot's HTTP health route (webhook mode, bot/telegram/health.py) ask the same two
questions, so an operator never sees them disagree:

1. does the knowledge base on disk load and validate? (the bot keeps serving the last good
   version when it does not, but the next restart would fail, so somebody must fix it);
2. can the question log be written, and is it intact? (answers still go out while it cannot be
   written, but questions pile up in memory; a damaged file, pages corrupted behind a valid
   header, still opens and takes writes, and fails only when a report reads the damaged pages,
   so the probe runs SQLite's `PRAGMA quick_check` as well).

Every failure is one line that says what is wrong and where, because it ends up in
`docker inspect`, a load balancer's log or a monitoring alert, not in front of a developer.
Pure standard library: no Telegram, no event loop.
"""

from __future__ import annotations

import functools
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.config import Config
from bot.knowledge import KnowledgeBase, KnowledgeError, fingerprint, load_knowledge
from bot.store import MIGRATIONS

# How long the write probe waits for the bot's own writer to release the lock. The writer
# holds it for milliseconds per batch, so waiting longer than this means something is wrong.
LOCK_WAIT_SECONDS = 2.0
_SQLITE_CORRUPT = 11
# `PRAGMA quick_check` reads every page. The running bot's HTTP health route may be probed every
# few seconds, so a process checks a file again only once it has changed (its size, mtime or
# inode, or its -wal file's): the result for the file as it was, by its stat.
_quick_checks: dict[tuple[object, ...], str | None] = {}


def is_damaged(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) is SQLite saying the database file is damaged, as
    opposed to locked, read-only, missing or not a database at all."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.DatabaseError):
            code = getattr(seen, "sqlite_errorcode", None)
            if code is not None and code & 0xFF == _SQLITE_CORRUPT:
                return True
            if "malformed" in str(seen):
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def damaged_log_advice(path: Path, detail: str) -> str:
    """One line for a damaged question log: what is wrong, and the commands that fix it."""
    return (
        f"{path} is damaged ({_one_line(detail)}): stop the bot, move {path} "
        f"and any {path.name}-wal / -shm aside, then put your latest `kbbot log backup` copy in "
        f"its place (deploy/README.md, Backup and restore), or save what can still be read "
        f"with: sqlite3 {path} .recover | sqlite3 {path}.recovered, and use that file"
    )


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


def check_database(path: Path, lock_wait: float = LOCK_WAIT_SECONDS) -> Check:
    """Whether the question log at `path` can be written, without writing anything, and is
    intact.

    An existing file is opened read-write and a write transaction is started and rolled back:
    that is what fails when the file is read-only, on a read-only or full file system, locked
    by another process, or not a database at all. Then `PRAGMA quick_check` reads every page
    (once per version of the file in one process): a damaged file is
    reported with the commands that restore or salvage it. A missing file is fine (the bot
    creates it) as long as its directory, or the nearest one that exists, accepts new files.
    """
    try:
        exists = path.exists()
    except OSError as exc:
        return Check("question log", False, f"cannot reach {path}: {exc.strerror or exc}")
    if not exists:
        return _check_creatable(path)
    try:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=lock_wait
        )
    except sqlite3.Error as exc:
        return Check("question log", False, f"cannot open {path}: {exc}")
    try:
        connection.isolation_level = None  # we issue BEGIN/ROLLBACK ourselves
        [version] = connection.execute("PRAGMA user_version").fetchone()
        if int(version) > len(MIGRATIONS):
            return Check(
                "question log",
                False,
                f"{path} has schema version {version}, newer than this kbbot "
                f"({len(MIGRATIONS)}): upgrade kbbot",
            )
        connection.execute("BEGIN IMMEDIATE")
        try:
            # A real write, rolled back: BEGIN alone succeeds on a read-only file.
            connection.execute("CREATE TABLE kbbot_health_probe (x INTEGER)")
        finally:
            connection.execute("ROLLBACK")
        damage = _quick_check(connection, path)
    except sqlite3.Error as exc:
        if is_damaged(exc):
            return Check("question log", False, damaged_log_advice(path, str(exc)))
        return Check("question log", False, f"{path} is not writable: {exc}")
    finally:
        connection.close()
    if damage is not None:
        return Check("question log", False, damaged_log_advice(path, damage))
    return Check("question log", True, f"writable ({path})")


def _quick_check(connection: sqlite3.Connection, path: Path) -> str | None:
    """The first problem `PRAGMA quick_check` finds in the open log, or None when it is intact."""
    key: tuple[object, ...] = (str(path.resolve()),)
    for part in (path, path.with_name(f"{path.name}-wal")):
        try:
            info = part.stat()
        except OSError:
            key += (None,)
        else:
            key += (info.st_ino, info.st_size, info.st_mtime_ns)
    if key in _quick_checks:
        return _quick_checks[key]
    rows = connection.execute("PRAGMA quick_check(1)").fetchall()
    found = None if [tuple(row) for row in rows] == [("ok",)] else str(rows[0][0])
    if len(_quick_checks) > 64:
        _quick_checks.clear()
    _quick_checks[key] = found
    return found


def _check_creatable(path: Path) -> Check:
    directory = path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".kbbot-health-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return Check("question log", False, f"cannot create {path}: {directory}: {reason}")
    return Check("question log", True, f"not created yet; {directory} is writable")


def check(config: Config, served: KnowledgeBase | None = None) -> Health:
    """Both checks for `config` (see the module docstring)."""
    return Health(
        (
            check_knowledge(config.knowledge_dir, served),
            check_database(config.db_path),
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
