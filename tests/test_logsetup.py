"""The bot's log lines: the JSON format, update ids, token redaction, the libraries' levels,
and KBBOT_LOG_FORMAT at start.

The running bot's log as a whole (silent while idle, one line per reload, JSON throughout) is
tested in tests/e2e/test_bot_logs.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import sys
import warnings
from collections.abc import Iterator

import pytest

from bot.cli.main import run
from bot.config import Config, ConfigError
from bot.logsetup import (
    REDACTED,
    UPDATE_ID,
    configure_logging,
    library_levels,
    make_handler,
    set_library_levels,
)

TOKEN = "5550001234:AAE7xQ_secret-PART-Zm9vYmFyYmF6cXV4MTIz"
SECRET_PART = TOKEN.split(":", 1)[1]
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A logger of its own at DEBUG that does not pass records on to the root's handlers."""
    log = logging.getLogger("tests.logsetup")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()
    log.filters.clear()
    log.setLevel(logging.NOTSET)
    log.propagate = True


def written(logger: logging.Logger, log_format: str) -> io.StringIO:
    """What `logger` writes through kbbot's handler, and nowhere else (pytest adds its own
    capturing handlers to every logger when a test starts: they go)."""
    stream = io.StringIO()
    logger.handlers[:] = [make_handler(log_format, token=TOKEN, stream=stream)]
    return stream


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# --- JSON lines -------------------------------------------------------------------------------


def test_each_record_is_one_json_object_with_time_level_logger_and_message(
    logger: logging.Logger,
) -> None:
    stream = written(logger, "json")
    logger.info("reloaded %d entries", 5)
    logger.warning("two\nlines of 中文")
    first, second = json_lines(stream)
    assert first["level"] == "INFO" and first["logger"] == "tests.logsetup"
    assert first["message"] == "reloaded 5 entries"
    assert ISO_UTC.match(str(first["time"]))
    assert "update_id" not in first and "exc_info" not in first
    assert second["message"] == "two\nlines of 中文"  # one line on the wire, the text intact
    assert len(stream.getvalue().splitlines()) == 2


def test_lines_written_while_an_update_is_handled_carry_its_id(logger: logging.Logger) -> None:
    stream = written(logger, "json")
    handling = UPDATE_ID.set(41)
    try:
        logger.info("answered")
        logger.info("named by the caller", extra={"update_id": 7})
    finally:
        UPDATE_ID.reset(handling)
    logger.info("between updates")
    assert [line.get("update_id") for line in json_lines(stream)] == [41, 7, None]


def test_an_exception_is_the_exc_info_field_of_its_line(logger: logging.Logger) -> None:
    stream = written(logger, "json")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("error while handling update 3")
    [line] = json_lines(stream)
    assert line["level"] == "ERROR" and line["message"] == "error while handling update 3"
    assert str(line["exc_info"]).startswith("Traceback (most recent call last):")
    assert str(line["exc_info"]).endswith("ValueError: boom")


# --- the token --------------------------------------------------------------------------------


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_token_is_redacted_everywhere_a_record_carries_it(
    logger: logging.Logger, log_format: str
) -> None:
    stream = written(logger, log_format)
    logger.info("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.info(f"an f-string with {TOKEN}")
    logger.info("only the secret half: %s", SECRET_PART)
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected")
    except RuntimeError:
        logger.exception("start-up failed")
    text = stream.getvalue()
    assert SECRET_PART not in text
    assert text.count(f"5550001234:{REDACTED}") == 3  # the bot id is public: which bot it is
    assert text.count(REDACTED) == 4


def test_a_log_call_with_arguments_that_do_not_fit_never_raises_into_the_caller(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The redacting filter formats the message first; a bad call is logging's to report."""
    stream = written(logger, "text")
    errors = io.StringIO()
    monkeypatch.setattr("sys.stderr", errors)
    monkeypatch.setattr(logging, "raiseExceptions", True)
    logger.info("%d entries", "five")
    assert stream.getvalue() == ""
    assert "--- Logging error ---" in errors.getvalue()


# --- levels -----------------------------------------------------------------------------------


def test_apscheduler_and_ptbs_lifecycle_are_quiet_unless_debug_and_httpx_always() -> None:
    at_info = library_levels("INFO")
    assert at_info["apscheduler"] == logging.WARNING
    assert at_info["telegram.ext.Application"] == logging.WARNING
    assert at_info["httpx"] == logging.WARNING
    at_debug = library_levels("DEBUG")
    assert at_debug["apscheduler"] == logging.NOTSET  # follows the root: DEBUG
    assert at_debug["telegram.ext.Application"] == logging.NOTSET
    assert at_debug["httpx"] == logging.WARNING  # its INFO lines are URLs with the token
    assert at_debug["aiosqlite"] == logging.INFO  # its DEBUG lines are whole updates


def test_no_library_logs_below_the_level_asked_for() -> None:
    assert set(library_levels("ERROR").values()) == {logging.ERROR}


def test_set_library_levels_follows_the_level_both_ways() -> None:
    try:
        set_library_levels("DEBUG")
        assert logging.getLogger("apscheduler.executors.default").level == logging.NOTSET
        assert logging.getLogger("apscheduler").level == logging.NOTSET
        set_library_levels("INFO")
        scheduler = logging.getLogger("apscheduler.executors.default")
        assert not scheduler.isEnabledFor(logging.INFO)
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    finally:
        set_library_levels("INFO")


@contextlib.contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without handlers, as in a fresh `kbbot` process; restored afterwards."""
    root = logging.getLogger()
    handlers, level, excepthook = root.handlers[:], root.level, sys.excepthook
    root.handlers.clear()
    try:
        yield root
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.captureWarnings(False)
        sys.excepthook = excepthook
        set_library_levels("INFO")


def test_configure_logging_installs_one_handler_however_often_it_is_called() -> None:
    stream = io.StringIO()
    with bare_root() as root:
        configure_logging("INFO", "json", token=TOKEN, stream=stream)
        configure_logging("INFO", "text", stream=stream)  # a second run in one process
        assert len(root.handlers) == 1 and root.level == logging.INFO
        logging.getLogger("bot.telegram.app").info("bot @x started with %s", TOKEN)
        logging.getLogger("apscheduler.executors.default").info("Running job")
        logging.getLogger("httpx").info("HTTP Request: POST .../bot%s/getUpdates", TOKEN)
    [line] = json_lines(stream)
    assert line["message"] == f"bot @x started with 5550001234:{REDACTED}"


def test_python_warnings_and_a_crash_become_log_lines_so_json_stays_json() -> None:
    stream = io.StringIO()
    with bare_root():
        configure_logging("INFO", "json", token=TOKEN, stream=stream)
        warnings.warn_explicit("careful", UserWarning, "somewhere.py", 1)
        try:
            raise RuntimeError(f"nothing caught this, {TOKEN}")
        except RuntimeError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    warning, crash = json_lines(stream)
    assert warning["logger"] == "py.warnings" and "UserWarning: careful" in str(warning["message"])
    assert crash["level"] == "CRITICAL"
    assert crash["message"] == f"crashed: RuntimeError: nothing caught this, 5550001234:{REDACTED}"
    assert "Traceback" in str(crash["exc_info"]) and SECRET_PART not in stream.getvalue()


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        make_handler("xml")


# --- KBBOT_LOG_FORMAT -------------------------------------------------------------------------


def test_log_format_is_text_by_default_and_json_on_request() -> None:
    assert Config.from_env({}).log_format == "text"
    assert Config.from_env({"KBBOT_LOG_FORMAT": " JSON "}).log_format == "json"


def test_an_unknown_log_format_is_a_config_error_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match="KBBOT_LOG_FORMAT must be text or json, not 'logfmt'"):
        Config.from_env({"KBBOT_LOG_FORMAT": "logfmt"})
    monkeypatch.setenv("KBBOT_LOG_FORMAT", "yaml")
    assert run(["config"], out=io.StringIO()) == 1
    assert capsys.readouterr().err == (
        "kbbot: error: KBBOT_LOG_FORMAT must be text or json, not 'yaml'\n"
    )
