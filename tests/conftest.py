"""Shared fixtures: knowledge bases on disk (copies, so tests may edit them), engines, and the
question log on each backend."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.config import SHIPPED_KNOWLEDGE
from tests.pglog import BACKENDS, migrated_schema

FIXTURE_KNOWLEDGE = Path(__file__).parent / "fixtures" / "knowledge"


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A private copy of the small fixture knowledge base."""
    target = tmp_path / "knowledge"
    shutil.copytree(FIXTURE_KNOWLEDGE, target)
    return target


@pytest.fixture
def engine(kb_dir: Path) -> Engine:
    return Engine.from_directory(kb_dir)


@pytest.fixture(scope="session")
def shipped_engine() -> Engine:
    """The real, shipped knowledge base (loaded once: it is read-only here)."""
    return Engine.from_directory(SHIPPED_KNOWLEDGE)


@pytest.fixture(params=BACKENDS)
def log_db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path | str]:
    """Where a test's question log lives, once per backend: a SQLite file not created yet, or
    the URL of a PostgreSQL schema holding an empty log (tests/pglog.py). `open_log` takes
    either. A server log's local files (the writer's pending file) go to the test's own data
    directory."""
    if request.param == "sqlite":
        yield tmp_path / "log.sqlite3"
        return
    monkeypatch.setenv("KBBOT_DATA_DIR", str(tmp_path / "data"))
    with migrated_schema() as url:
        yield url
