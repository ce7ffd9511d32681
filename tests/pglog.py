"""PostgreSQL for the question log's tests: a schema of its own per test, on the server that
KBBOT_TEST_POSTGRES names (`postgresql://postgres@127.0.0.1:5432/postgres`; .ci/postgres.sh
starts a throwaway one, and `.ci/run` does so before the tests).

Without KBBOT_TEST_POSTGRES the PostgreSQL half of the log's tests skips, with the reason, on a
developer's machine; with CI or KBBOT_REQUIRE_POSTGRES=1 set it fails instead, so CI cannot go
green by skipping it.

A schema of its own is the cheapest isolation PostgreSQL offers: no new database, no template
to copy. The test's URL puts it first on the search_path (libpq's `options`), so the log finds
it without knowing. Creating a log's tables costs a tenth of a second, so the tests that want
an empty log rather than an empty schema (`log_db`) share a pool of migrated schemas, each
emptied (TRUNCATE ... RESTART IDENTITY: ids start at 1 again) before the next test takes it.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

SERVER_ENV = "KBBOT_TEST_POSTGRES"
REQUIRE_ENV = "KBBOT_REQUIRE_POSTGRES"
# The backends every parametrised log test runs on (`log_db` in tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")


def required() -> bool:
    """Whether a missing PostgreSQL server fails the tests rather than skipping them."""
    ci = os.environ.get("CI", "").strip().lower()
    return ci not in ("", "0", "false", "no") or os.environ.get(REQUIRE_ENV) == "1"


def server_url() -> str:
    """The test server's URL; skips the test (fails it under CI) when none is configured."""
    url = os.environ.get(SERVER_ENV, "").strip()
    if url:
        return url
    reason = f"{SERVER_ENV} is not set: no PostgreSQL server for the question log's tests"
    if required():
        pytest.fail(f"{reason} (CI or {REQUIRE_ENV}=1 requires one: see .ci/postgres.sh)")
    pytest.skip(reason)


@cache
def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """One connection for the whole run that makes and drops the tests' schemas."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.fail(f"{SERVER_ENV} names a server that does not answer: {exc}")


def schema_url(server: str, schema: str) -> str:
    """`server`'s URL with `schema` as the only schema on the search_path."""
    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose log lives in a new, empty schema, dropped afterwards with all it holds."""
    server = server_url()
    admin = _admin(server)
    name = f"kbbot_test_{secrets.token_hex(6)}"
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield schema_url(server, name)
    finally:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


# Migrated schemas, emptied, waiting for their next test (`migrated_schema`).
_POOL: list[str] = []
# Every table a test may write, emptied between tests; `migrations` and `schema_version` stay.
_TABLES = (
    "questions",
    "knowledge_changes",
    "knowledge_files",
    "review_clusters",
    "review_handled",
    "review_pending",
    "scheduled_runs",
)


@contextmanager
def migrated_schema() -> Iterator[str]:
    """A URL whose log exists (the latest schema) and is empty: a schema from the pool, or a
    new one migrated by the log itself. Emptied after the test and put back, unless the test
    left it at another schema version (it is dropped then)."""
    from bot.questionlog.postgres import MIGRATIONS

    server = server_url()
    admin = _admin(server)
    name = _POOL.pop() if _POOL else _new_migrated(server, admin)
    url = schema_url(server, name)
    try:
        yield url
    finally:
        schema = sql.Identifier(name)
        version = admin.execute(
            sql.SQL("SELECT version FROM {}.schema_version").format(schema)
        ).fetchone()
        if version == (len(MIGRATIONS),):
            tables = sql.SQL(", ").join(sql.Identifier(name, table) for table in _TABLES)
            admin.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(tables))
            _POOL.append(name)
        else:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


def _new_migrated(server: str, admin: psycopg.Connection[tuple[object, ...]]) -> str:
    """A new schema with the log's tables, made by `open_log` (in a thread: a test's event
    loop may be running in this one)."""
    from bot.questionlog.opening import open_log

    if not _POOL and not _new_migrated.__dict__.get("registered"):
        atexit.register(_drain, admin)
        _new_migrated.__dict__["registered"] = True
    name = f"kbbot_test_{secrets.token_hex(6)}"
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))

    async def create() -> None:
        await (await open_log(schema_url(server, name))).close()

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(create())
        except BaseException as exc:  # raised again below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return name


def _drain(admin: psycopg.Connection[tuple[object, ...]]) -> None:
    """Drop the pool's schemas at the end of the run (a developer's server keeps none)."""
    for name in _POOL:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    _POOL.clear()


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """A plain connection to a test's schema, for what a test checks behind the log's back."""
    return psycopg.connect(url, autocommit=True)


def is_sqlite(target: Path | str) -> bool:
    """Whether a test's log (`log_db`) is the SQLite file rather than a PostgreSQL URL."""
    return isinstance(target, Path)
