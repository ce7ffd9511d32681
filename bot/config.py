"""Configuration: one frozen dataclass built from the environment (and CLI flags), checked once.

Defaults run everything embedded: the shipped knowledge/ directory and a SQLite file in the
user's data directory, so `kbbot` works on a fresh machine with no settings at all. Settings may
also come from an env-style file named by $KBBOT_CONFIG (the same `KEY=value` lines a systemd
`EnvironmentFile=` or docker `--env-file` reads); real environment variables win over it.

The bot token is a secret: it is validated by shape only, never printed (not in errors, not in
the `Config` repr), and only the Telegram front end reads it.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.logsetup import LOG_FORMATS
from bot.logurl import LogURL, parse_log_url

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_knowledge(package_dir: Path = PACKAGE_DIR) -> Path:
    """The knowledge base that comes with kbbot: `knowledge/` beside the package in a checkout
    or an editable install; in a regular install (`pip install .`), the copy packaged inside it
    as `bot/shipped_knowledge` (pyproject.toml)."""
    installed = package_dir / "shipped_knowledge"
    return installed if installed.is_dir() else package_dir.parent / "knowledge"


SHIPPED_KNOWLEDGE = shipped_knowledge()
# The development question set, replayed before an admin's knowledge edit goes live (bot/authoring/preview.py)
# when the bot runs from a checkout; installations name their own with KBBOT_REGRESSION_SET.
DEV_QUESTIONS = PACKAGE_DIR.parent / "tests" / "data" / "dev_questions.yaml"
DB_FILENAME = "questions.sqlite3"
SECRET_FILENAME = "secret.key"
TELEGRAM_API_URL = "https://api.telegram.org"
# What @BotFather hands out: the bot's numeric id, a colon, and a 35-character secret.
# A little slack on the length keeps self-hosted and future tokens working.
_TOKEN_RE = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{30,64}$")
# Telegram accepts 1-256 of these characters in X-Telegram-Bot-Api-Secret-Token.
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_ENV_LINE_RE = re.compile(r"^(?:export\s+)?([A-Z][A-Z0-9_]*)\s*=\s*(.*)$")


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


def default_db(env: Mapping[str, str]) -> LogURL:
    """$KBBOT_DB (a path, or a URL naming the backend: `bot.logurl.parse_log_url`),
    else questions.sqlite3 in the data directory."""
    if env.get("KBBOT_DB"):
        return db_setting(env["KBBOT_DB"], "KBBOT_DB")
    return LogURL.file(default_data_dir(env) / DB_FILENAME)


def db_setting(value: str, name: str) -> LogURL:
    """The question log KBBOT_DB or --db names: a SQLite file (a plain path, or a sqlite: URL)
    or a PostgreSQL database (a postgresql:// URL).

    Raises:
        ConfigError: a URL of an unknown backend, or one that cannot be read (the message is
            one line, without the URL's password).
    """
    try:
        url = parse_log_url(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from exc
    return url if url.path is None else LogURL.file(url.path.expanduser())


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


def read_env_file(path: Path) -> dict[str, str]:
    """Parse an env-style file: `KEY=value` lines, `#` comments, optional quotes and `export`.

    Raises ConfigError naming the file and line of anything else, so a typo is found at start.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from exc
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE_RE.match(line)
        if match is None:
            raise ConfigError(f"{path}:{number}: expected KEY=value (e.g. KBBOT_ADMINS=123456)")
        key, value = match[1], match[2].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _token(env: Mapping[str, str]) -> str | None:
    token = env.get("KBBOT_TOKEN", "").strip()
    if not token:
        return None
    if not _TOKEN_RE.match(token):
        # Never echo the value: a token pasted with a typo is still mostly a secret.
        raise ConfigError(
            "KBBOT_TOKEN is malformed: expected the token from @BotFather, "
            "digits, a colon and about 35 letters, digits, '_' or '-' (no quotes or spaces)"
        )
    return token


def _api_url(env: Mapping[str, str]) -> str:
    url = env.get("KBBOT_API_URL", "").strip().rstrip("/") or TELEGRAM_API_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"KBBOT_API_URL must be an http(s) URL such as {TELEGRAM_API_URL}, not {url!r}"
        )
    # Accept the form PTB itself uses (".../bot", the token appended) as well as the root.
    return url.removesuffix("/bot")


def _admins(env: Mapping[str, str]) -> frozenset[int]:
    admins: set[int] = set()
    for item in env.get("KBBOT_ADMINS", "").replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        if not item.isascii() or not item.isdigit():
            raise ConfigError(
                f"KBBOT_ADMINS must list numeric Telegram user ids separated by commas; "
                f"{item!r} is not one (ask @userinfobot for yours)"
            )
        admins.add(int(item))
    return frozenset(admins)


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a number from {low:g} to {high:g}, not {raw!r}")
    return value


def _report_url(env: Mapping[str, str]) -> str | None:
    url = env.get("KBBOT_REPORT_URL", "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ConfigError(
            f"KBBOT_REPORT_URL must be the http(s) address of the published report, not {url!r}"
        )
    return url


def _regression_set(env: Mapping[str, str]) -> Path | None:
    raw = env.get("KBBOT_REGRESSION_SET", "").strip()
    if not raw:
        return DEV_QUESTIONS if DEV_QUESTIONS.is_file() else None
    if raw.lower() == "none":
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"KBBOT_REGRESSION_SET must name a question file in the shared format, "
            f"such as tests/data/dev_questions.yaml (or be none); there is no file {path}"
        )
    return path


def _webhook_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ConfigError(
            f"the webhook URL must be a public https:// URL (Telegram requires it), not {url!r}"
        )
    return url


@dataclass(frozen=True)
class Config:
    knowledge_dir: Path
    # The question log: a SQLite file, or a PostgreSQL URL (shown without its password).
    db: LogURL
    log_level: str = "INFO"
    # How log lines look: "text", or "json" (one object per line, for a log collector).
    log_format: str = "text"
    data_dir: Path = field(default_factory=lambda: default_data_dir({}))
    # Secrets: kept out of repr() so that logging a Config can never leak them.
    token: str | None = field(default=None, repr=False)
    user_secret: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    api_url: str = TELEGRAM_API_URL
    admins: frozenset[int] = frozenset()
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # How often the bot looks for edited knowledge files, in seconds.
    reload_interval: float = 3.0
    # The per-user flood guard: at most `flood_limit` messages per `flood_period` seconds.
    flood_limit: int = 20
    flood_period: float = 60.0
    # Messages a second the bot sends in total (PTB's AIORateLimiter); 0 turns the limit off.
    # Telegram allows about 30; only a benchmark against a fake Bot API has reason to lift it.
    rate_limit: float = 30.0
    # Where the report is published; source lines link the report's title to it when set.
    report_url: str | None = None
    # Questions with known answers, replayed with the log's answered questions before an admin's
    # edit goes live, so the preview shows any answer it would move.
    regression_set: Path | None = None

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        knowledge_dir: Path | None = None,
        db: LogURL | None = None,
        webhook_url: str | None = None,
        webhook_listen: str | None = None,
        webhook_port: int | None = None,
    ) -> Config:
        """Explicit arguments (CLI flags) win over environment variables, which win over the
        $KBBOT_CONFIG file, which wins over defaults."""
        env = os.environ if env is None else env
        if env.get("KBBOT_CONFIG"):
            env = {**read_env_file(Path(env["KBBOT_CONFIG"]).expanduser()), **env}
        level = env.get("KBBOT_LOG_LEVEL", "INFO").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(
                f"KBBOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}"
            )
        log_format = env.get("KBBOT_LOG_FORMAT", "").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            raise ConfigError(
                f"KBBOT_LOG_FORMAT must be {' or '.join(LOG_FORMATS)}, "
                f"not {env['KBBOT_LOG_FORMAT']!r}"
            )
        secret = env.get("KBBOT_WEBHOOK_SECRET", "").strip() or None
        if secret is not None and not _WEBHOOK_SECRET_RE.match(secret):
            raise ConfigError(
                "KBBOT_WEBHOOK_SECRET may only use letters, digits, '_' and '-' (1-256 of them)"
            )
        port = webhook_port or int(_number(env, "KBBOT_WEBHOOK_PORT", 8443, 1, 65535))
        if not 1 <= port <= 65535:
            raise ConfigError(f"the webhook port must be from 1 to 65535, not {port}")
        return cls(
            knowledge_dir=knowledge_dir or default_knowledge_dir(env),
            db=db or default_db(env),
            log_level=level,
            log_format=log_format,
            data_dir=default_data_dir(env),
            token=_token(env),
            user_secret=env.get("KBBOT_SECRET") or None,
            webhook_secret=secret,
            api_url=_api_url(env),
            admins=_admins(env),
            webhook_url=_webhook_url(webhook_url or env.get("KBBOT_WEBHOOK_URL", "").strip()),
            webhook_listen=webhook_listen
            or env.get("KBBOT_WEBHOOK_LISTEN", "").strip()
            or "127.0.0.1",
            webhook_port=port,
            reload_interval=_number(env, "KBBOT_RELOAD_SECONDS", 3.0, 0.05, 3600),
            flood_limit=int(_number(env, "KBBOT_FLOOD_LIMIT", 20, 1, 100_000)),
            flood_period=_number(env, "KBBOT_FLOOD_SECONDS", 60.0, 0.1, 86_400),
            rate_limit=_number(env, "KBBOT_RATE_LIMIT", 30.0, 0, 100_000),
            report_url=_report_url(env),
            regression_set=_regression_set(env),
        )

    def user_hash_secret(self) -> bytes:
        """The key for hashing user ids (see `user_hash_secret`), from these settings."""
        env = {"KBBOT_DATA_DIR": str(self.data_dir)}
        if self.user_secret:
            env["KBBOT_SECRET"] = self.user_secret
        return user_hash_secret(env)
