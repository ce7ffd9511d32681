"""The Telegram settings: validated once at start, one-line errors, the token never shown."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.config import TELEGRAM_API_URL, Config, ConfigError

TOKEN = "7712345678:AAF3kq9Zx_pQ-secretsecretsecret12345"


def test_telegram_settings_from_the_environment() -> None:
    config = Config.from_env(
        {
            "KBBOT_TOKEN": f" {TOKEN}\n",  # pasted with whitespace around it
            "KBBOT_API_URL": "http://127.0.0.1:8081/bot",
            "KBBOT_ADMINS": "123, 456;789",
            "KBBOT_WEBHOOK_URL": "https://bot.example.org/hook",
            "KBBOT_WEBHOOK_PORT": "8443",
            "KBBOT_RELOAD_SECONDS": "5",
        }
    )
    assert config.token == TOKEN
    assert config.api_url == "http://127.0.0.1:8081"  # PTB's ".../bot" form is accepted too
    assert config.admins == frozenset({123, 456, 789})
    assert (config.webhook_url, config.webhook_port) == ("https://bot.example.org/hook", 8443)
    assert config.reload_interval == 5.0
    defaults = Config.from_env({})
    assert defaults.token is None and defaults.api_url == TELEGRAM_API_URL
    assert defaults.admins == frozenset() and defaults.webhook_url is None


def test_secrets_stay_out_of_the_repr() -> None:
    config = Config.from_env(
        {"KBBOT_TOKEN": TOKEN, "KBBOT_SECRET": "user-key", "KBBOT_WEBHOOK_SECRET": "hook_key"}
    )
    shown = repr(config)
    assert TOKEN.split(":")[1] not in shown
    assert "user-key" not in shown and "hook_key" not in shown


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KBBOT_TOKEN": "123456:short"}, "KBBOT_TOKEN is malformed"),
        ({"KBBOT_TOKEN": f"'{TOKEN}'"}, "KBBOT_TOKEN is malformed"),
        ({"KBBOT_TOKEN": TOKEN.replace(":", "")}, "KBBOT_TOKEN is malformed"),
        ({"KBBOT_ADMINS": "123,@boss"}, "KBBOT_ADMINS must list numeric"),
        ({"KBBOT_API_URL": "api.telegram.org"}, "KBBOT_API_URL must be an http"),
        ({"KBBOT_WEBHOOK_URL": "http://plain.example.org"}, "must be a public https"),
        ({"KBBOT_WEBHOOK_PORT": "99999"}, "KBBOT_WEBHOOK_PORT must be"),
        ({"KBBOT_WEBHOOK_SECRET": "has space"}, "KBBOT_WEBHOOK_SECRET may only"),
        ({"KBBOT_RATE_LIMIT": "fast"}, "KBBOT_RATE_LIMIT must be"),
    ],
)
def test_bad_settings_are_one_line_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        Config.from_env(env)
    assert "\n" not in str(caught.value)
    if "KBBOT_TOKEN" in env:
        assert env["KBBOT_TOKEN"].strip("'") not in str(caught.value)


def test_settings_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    settings = tmp_path / "kbbot.env"
    settings.write_text(
        f"# the bot\nKBBOT_TOKEN={TOKEN}\nexport KBBOT_ADMINS='1,2'\nKBBOT_LOG_LEVEL=DEBUG\n",
        encoding="utf-8",
    )
    config = Config.from_env({"KBBOT_CONFIG": str(settings), "KBBOT_LOG_LEVEL": "WARNING"})
    assert config.token == TOKEN and config.admins == frozenset({1, 2})
    assert config.log_level == "WARNING"
    settings.write_text("KBBOT_ADMINS 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{settings}:1: expected KEY=value"):
        Config.from_env({"KBBOT_CONFIG": str(settings)})


def _run_cli(
    argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    for name in ("KBBOT_TOKEN", "KBBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    return cli.run(argv, stdin=io.StringIO(""), out=io.StringIO()), stderr.getvalue()


def test_kbbot_run_without_a_token_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    status, stderr = _run_cli(["run"], {"KBBOT_DATA_DIR": str(tmp_path)}, monkeypatch)
    assert status == 1
    assert (
        stderr
        == "kbbot: error: KBBOT_TOKEN is not set: get a token from @BotFather and export it\n"
    )


def test_a_malformed_token_stops_every_command_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = "123456:THIS-IS-SECRET"
    status, stderr = _run_cli(
        [], {"KBBOT_TOKEN": bad, "KBBOT_DATA_DIR": str(tmp_path)}, monkeypatch
    )
    assert status == 1 and stderr.count("\n") == 1
    assert stderr.startswith("kbbot: error: KBBOT_TOKEN is malformed")
    assert "THIS-IS-SECRET" not in stderr


def test_without_a_token_the_main_command_is_the_console_chat(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KBBOT_TOKEN", raising=False)
    out = io.StringIO()
    status = cli.run(
        [
            "--knowledge",
            str(Path(__file__).parents[1] / "fixtures" / "knowledge"),
            "--db",
            str(tmp_path / "q.db"),
        ],
        stdin=io.StringIO("法律顾问覆盖情况\n"),
        out=out,
    )
    assert status == 0 and "全区政府系统62个部门" in out.getvalue()


def test_run_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"KBBOT_WEBHOOK_URL": "https://env.example.org/a", "KBBOT_WEBHOOK_PORT": "88"}
    config = Config.from_env(
        env,
        webhook_url="https://flag.example.org/b",
        webhook_listen="0.0.0.0",
        webhook_port=8443,
    )
    assert (config.webhook_url, config.webhook_listen, config.webhook_port) == (
        "https://flag.example.org/b",
        "0.0.0.0",
        8443,
    )
    status, stderr = _run_cli(
        ["run", "--webhook-url", "http://plain.example.org/hook"],
        {"KBBOT_TOKEN": TOKEN},
        monkeypatch,
    )
    assert status == 1
    assert stderr.startswith("kbbot: error: the webhook URL must be a public https:// URL")
