"""Where the question log lives: what KBBOT_DB or --db names, a SQLite file or a server URL.

A setting, read once by bot.config, so it sits with the foundations: the configuration names
the log without knowing how it is opened (bot.questionlog.opening picks the backend). The URL's
text never shows its password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit


@dataclass(frozen=True)
class LogURL:
    """Which backend holds the log, and where: what KBBOT_DB or --db names.

    Its text (`str`, `repr`, `shown`) never holds a password: messages, logs and `kbbot config`
    print it. Only the backend that connects reads `url`.
    """

    scheme: str  # "sqlite" | "postgresql"
    path: Path | None = None  # sqlite: the file
    url: str = field(default="", repr=False)  # postgresql: the URL as given, password and all

    @classmethod
    def file(cls, path: Path) -> LogURL:
        """The SQLite file at `path`."""
        return cls("sqlite", path)

    @property
    def shown(self) -> str:
        """The file, or the URL with its password masked."""
        return str(self.path) if self.path is not None else hide_password(self.url, MASKED)

    def __str__(self) -> str:
        return self.shown

    def __repr__(self) -> str:
        return f"LogURL({self.shown!r})"


# What a URL shows instead of its password.
MASKED = "****"
POSTGRES_SCHEMES = ("postgresql", "postgres")


def hide_password(url: str, mask: str | None = MASKED) -> str:
    """`url` with its password (`user:secret@` or `?password=secret`) replaced by `mask`, or
    left out when `mask` is None (a URL to hand to pg_dump, which asks for the password or
    reads it from ~/.pgpass or PGPASSWORD). A URL too malformed to take apart loses
    everything between the scheme and the path, so a password is never shown."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{mask or ''}@/{rest.partition('/')[2].partition('?')[0]}"
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        secret = f":{mask}" if colon and mask is not None else ""
        netloc = f"{user}{secret}@{hosts}"
    pairs = []
    for pair in parts.query.split("&") if parts.query else ():
        key = unquote(pair.partition("=")[0]).strip().lower()
        if key != "password":
            pairs.append(pair)
        elif mask is not None:
            pairs.append(f"{pair.partition('=')[0]}={mask}")
    return urlunsplit(parts._replace(netloc=netloc, query="&".join(pairs)))


def parse_log_url(setting: str) -> LogURL:
    """KBBOT_DB / --db as given: a plain path, or `sqlite:///relative/file` /
    `sqlite:////absolute/file` (SQLAlchemy's spelling) for SQLite, or a PostgreSQL URL as
    libpq takes it (`postgresql://user@host:5432/dbname`; `postgres://` and SQLAlchemy's
    `postgresql+driver://` name the same, and are kept as `postgresql://`).

    Raises:
        ValueError: another scheme, or a URL that cannot be read; the message is one line and
            never repeats the URL, which may hold a password.
    """
    scheme = urlsplit(setting).scheme.lower() if "://" in setting else ""
    if not scheme:
        return LogURL.file(Path(setting))
    if scheme == "sqlite":
        rest = setting[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise ValueError(
                "a sqlite URL names a file: sqlite:///relative/path or sqlite:////abs/path"
            )
        return LogURL.file(Path(rest[1:]).expanduser())
    if scheme in POSTGRES_SCHEMES or scheme.startswith("postgresql+"):
        url = "postgresql" + setting[len(scheme) :]
        try:
            urlsplit(url).port  # noqa: B018 - reading it is the check
        except ValueError as exc:
            raise ValueError(
                f"the PostgreSQL URL cannot be read ({hide_password(str(exc), None)}): "
                "write it as postgresql://user@host:5432/dbname"
            ) from None
        return LogURL("postgresql", url=url)
    raise ValueError(
        f"unknown question log URL scheme {scheme!r}: use a path, sqlite:///path "
        "or postgresql://user@host:5432/dbname"
    )
