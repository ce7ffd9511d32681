"""`kbbot config`: the configuration in effect, as the environment variables that set it.

When a deployment misbehaves the first question is "what is it actually running with?": the
systemd unit, the env file, a KBBOT_CONFIG file and defaults all play a part. This prints the
merged result in the same `KEY=value` form the env files use, so it can be compared with
deploy/.env.example line by line. Secrets are masked: the token keeps only its public bot id
(`123456:****`), the other secrets show only whether they are set.

`SETTINGS` names every variable and the `Config` field it fills; tests check it against
`Config` and against deploy/.env.example, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.config import SECRET_FILENAME, Config

MASK = "****"


class Secret(enum.Enum):
    NO = "no"
    TOKEN = "token"  # the bot id before the colon is public; the rest is the secret
    WHOLE = "whole"


@dataclass(frozen=True)
class Setting:
    env: str
    field: str | None  # the Config attribute; None when the variable only points elsewhere
    secret: Secret = Secret.NO


SETTINGS: tuple[Setting, ...] = (
    Setting("KBBOT_CONFIG", None),
    Setting("KBBOT_TOKEN", "token", Secret.TOKEN),
    Setting("KBBOT_ADMINS", "admins"),
    Setting("KBBOT_API_URL", "api_url"),
    Setting("KBBOT_KNOWLEDGE", "knowledge_dir"),
    Setting("KBBOT_DATA_DIR", "data_dir"),
    Setting("KBBOT_DB", "db"),  # a URL's password is masked by LogURL itself
    Setting("KBBOT_SECRET", "user_secret", Secret.WHOLE),
    Setting("KBBOT_LOG_LEVEL", "log_level"),
    Setting("KBBOT_LOG_FORMAT", "log_format"),
    Setting("KBBOT_WEBHOOK_URL", "webhook_url"),
    Setting("KBBOT_WEBHOOK_LISTEN", "webhook_listen"),
    Setting("KBBOT_WEBHOOK_PORT", "webhook_port"),
    Setting("KBBOT_WEBHOOK_SECRET", "webhook_secret", Secret.WHOLE),
    Setting("KBBOT_RELOAD_SECONDS", "reload_interval"),
    Setting("KBBOT_FLOOD_LIMIT", "flood_limit"),
    Setting("KBBOT_FLOOD_SECONDS", "flood_period"),
    Setting("KBBOT_RATE_LIMIT", "rate_limit"),
    Setting("KBBOT_REPORT_URL", "report_url"),
    Setting("KBBOT_REGRESSION_SET", "regression_set"),
)


def mask_token(token: str | None) -> str:
    """`123456:****` for a token: enough to tell which bot it is, nothing to log in with."""
    if not token:
        return ""
    bot_id, _, _ = token.partition(":")
    return f"{bot_id}:{MASK}" if bot_id.isdigit() else MASK


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, frozenset):
        return ",".join(str(v) for v in sorted(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def shown_value(config: Config, setting: Setting, config_file: str | None) -> str:
    """What `kbbot config` prints for one setting (masked when it is a secret)."""
    if setting.field is None:
        return config_file or ""
    value = getattr(config, setting.field)
    if setting.secret is Secret.TOKEN:
        return mask_token(value)
    if setting.secret is Secret.WHOLE:
        return MASK if value else ""
    return _value(value)


def render(config: Config, config_file: str | None = None) -> str:
    """The effective configuration as env-file lines, with a short header saying how to read it.

    Args:
        config_file: $KBBOT_CONFIG as given, if any (it is not part of `Config`).
    """
    if config.webhook_url:
        mode = (
            f"webhook: Telegram posts to {config.webhook_url}, "
            f"served on {config.webhook_listen}:{config.webhook_port}"
        )
    elif config.token:
        mode = "long polling"
    else:
        mode = "no KBBOT_TOKEN: `kbbot` starts the console chat"
    secret_file = Path(config.data_dir) / SECRET_FILENAME
    key = (
        "KBBOT_SECRET"
        if config.user_secret
        else f"{secret_file} ({'exists' if secret_file.exists() else 'created at first use'})"
    )
    lines = [
        "# kbbot configuration in effect (secrets masked)",
        f"# mode: {mode}",
        f"# user ids are hashed with the key from {key}",
    ]
    lines += [f"{s.env}={shown_value(config, s, config_file)}" for s in SETTINGS]
    return "\n".join(lines) + "\n"


def config_command(config: Config, out: IO[str], config_file: str | None = None) -> int:
    """`kbbot config`."""
    out.write(render(config, config_file))
    return 0
