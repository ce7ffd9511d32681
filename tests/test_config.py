from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.config import SHIPPED_KNOWLEDGE, Config, ConfigError, user_hash_secret
from bot.logurl import LogURL


def test_defaults_are_the_shipped_knowledge_and_a_data_dir_file(tmp_path: Path) -> None:
    config = Config.from_env({"XDG_DATA_HOME": str(tmp_path)})
    assert config.knowledge_dir == SHIPPED_KNOWLEDGE
    assert config.db.path == tmp_path / "kbbot" / "questions.sqlite3"
    assert config.log_level == "INFO"


def test_environment_and_flags_override_defaults(tmp_path: Path) -> None:
    env = {"KBBOT_KNOWLEDGE": "/kb", "KBBOT_DB": "/db.sqlite3", "KBBOT_LOG_LEVEL": "debug"}
    config = Config.from_env(env)
    assert (config.knowledge_dir, config.db.path, config.log_level) == (
        Path("/kb"),
        Path("/db.sqlite3"),
        "DEBUG",
    )
    flagged = Config.from_env(env, knowledge_dir=tmp_path, db=LogURL.file(tmp_path / "x.sqlite3"))
    assert flagged.knowledge_dir == tmp_path and flagged.db.path == tmp_path / "x.sqlite3"
    assert (
        Config.from_env({"KBBOT_DATA_DIR": str(tmp_path)}).db.path == tmp_path / "questions.sqlite3"
    )


def test_a_bad_log_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="KBBOT_LOG_LEVEL"):
        Config.from_env({"KBBOT_LOG_LEVEL": "loud"})


def test_the_report_url_is_optional_and_must_be_a_web_address() -> None:
    assert Config.from_env({}).report_url is None
    url = "https://www.jianghan.gov.cn/fbjd/xxgkml/report.html"
    assert Config.from_env({"KBBOT_REPORT_URL": f" {url} "}).report_url == url
    for bad in ("javascript:alert(1)", "www.example.org/report", "https://x.org/a b"):
        with pytest.raises(ConfigError, match="KBBOT_REPORT_URL"):
            Config.from_env({"KBBOT_REPORT_URL": bad})


def test_the_user_hash_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    env = {"KBBOT_DATA_DIR": str(tmp_path)}
    first = user_hash_secret(env)
    assert first == user_hash_secret(env) and len(first) == 64
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert user_hash_secret({**env, "KBBOT_SECRET": "given"}) == b"given"
