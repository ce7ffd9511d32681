"""Configuration: one frozen dataclass built from the environment (and CLI flags), checked once.

Defaults run everything embedded: the shipped knowledge/ directory and a SQLite file in the
user's data directory, so `kbbot` works on a fresh machine with no settings at all.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_KNOWLEDGE = PACKAGE_DIR.parent / "knowledge"
DB_FILENAME = "questions.sqlite3"
SECRET_FILENAME = "secret.key"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line a person can act on."""


def default_data_dir(env: Mapping[str, str]) -> Path:
    """$KBBOT_DATA_DIR, else the XDG data directory ($XDG_DATA_HOME/kbbot, ~/.local/share/kbbot)."""
    if env.get("KBBOT_DATA_DIR"):
        return Path(env["KBBOT_DATA_DIR"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "kbbot"


def default_knowledge_dir(env: Mapping[str, str]) -> Path:
    if env.get("KBBOT_KNOWLEDGE"):
        return Path(env["KBBOT_KNOWLEDGE"]).expanduser()
    return SHIPPED_KNOWLEDGE


def default_db_path(env: Mapping[str, str]) -> Path:
    if env.get("KBBOT_DB"):
        return Path(env["KBBOT_DB"]).expanduser()
    return default_data_dir(env) / DB_FILENAME


def user_hash_secret(env: Mapping[str, str]) -> bytes:
    """The key for hashing user ids: $KBBOT_SECRET, else one generated once in the data directory.

    Keeping it in the data directory (mode 0600) means hashes stay stable across restarts, so
    "unique users" and per-user history keep working, without anyone having to configure it.
    """
    if env.get("KBBOT_SECRET"):
        return env["KBBOT_SECRET"].encode()
    path = default_data_dir(env) / SECRET_FILENAME
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class Config:
    knowledge_dir: Path
    db_path: Path
    log_level: str = "INFO"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        knowledge_dir: Path | None = None,
        db_path: Path | None = None,
    ) -> Config:
        """Explicit arguments (CLI flags) win over environment variables, which win over defaults."""
        env = os.environ if env is None else env
        level = env.get("KBBOT_LOG_LEVEL", "INFO").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(
                f"KBBOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}"
            )
        return cls(
            knowledge_dir=knowledge_dir or default_knowledge_dir(env),
            db_path=db_path or default_db_path(env),
            log_level=level,
        )
