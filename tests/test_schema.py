"""knowledge/schema.json (for editors) must agree with what the loader accepts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.answering.knowledge import (
    CHANNELS_FILE,
    ENTRY_KEYS,
    ENTRY_KEYS_REQUIRED,
    GLOSSARY_FILE,
    REPLIES_FILE,
    SYNONYMS_FILE,
)
from bot.config import SHIPPED_KNOWLEDGE
from tests.conftest import FIXTURE_KNOWLEDGE

SCHEMA = json.loads((SHIPPED_KNOWLEDGE / "schema.json").read_text(encoding="utf-8"))
ENTRY_FILES = sorted(
    p
    for directory in (SHIPPED_KNOWLEDGE, FIXTURE_KNOWLEDGE)
    for p in directory.glob("*.yaml")
    if p.name not in (SYNONYMS_FILE, REPLIES_FILE, CHANNELS_FILE, GLOSSARY_FILE)
)


def test_schema_names_exactly_the_loaders_fields() -> None:
    entry = SCHEMA["$defs"]["entry"]
    assert set(entry["properties"]) == set(ENTRY_KEYS)
    assert entry["required"] == list(ENTRY_KEYS_REQUIRED)


@pytest.mark.parametrize("path", ENTRY_FILES, ids=lambda p: p.name)
def test_every_entry_file_validates(path: Path) -> None:
    # Scalars as text, as the loader (and YAML 1.2 editors) read them: 2020-01-25 is not a date.
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    jsonschema.validate(document, SCHEMA)


def test_schema_rejects_what_the_loader_rejects() -> None:
    bad = {
        "entries": [
            {"id": "Bad ID", "topic": "t", "questions": [], "answer": "a", "source": "s", "x": 1}
        ]
    }
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(bad))
    assert len(errors) >= 2
