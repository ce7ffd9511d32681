"""Shared fixtures: knowledge bases on disk (copies, so tests may edit them) and engines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.config import SHIPPED_KNOWLEDGE

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
