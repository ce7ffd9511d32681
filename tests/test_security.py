"""Security properties that need no running bot: masking, hashing, escaping, safe YAML, redaction.

The end-to-end halves (the running bot at DEBUG, admin refusal, forged buttons) are in
tests/e2e/test_security_bot.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answering.engine import Kind, Reply
from bot.answering.knowledge import Entry, KnowledgeError, Problem, load_knowledge
from bot.cli.main import configure_logging, run
from bot.cli.settings import mask_token
from bot.config import Config
from bot.privacy import hash_user_id
from bot.questionlog.opening import open_log
from bot.questionlog.protocol import QuestionRecord
from bot.telegram.errors import redact_token
from bot.telegram.formatting import entry_html, esc, problems_html, reply_html, why_html
from tests.e2e.fake_bot_api import parse_html

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "987654321:AAGx-SeCrEt_tokenPART0123456789abcd"
SECRET_PART = TOKEN.split(":", 1)[1]
USER_SECRET = "user-hash-secret-value-0123456789"
WEBHOOK_SECRET = "webhook_Secret-value-42"
RAW_USER_ID = 271828182


# --- kbbot config ---------------------------------------------------------------------------


def config_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> str:
    for key in list(__import__("os").environ):
        if key.startswith("KBBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KBBOT_DATA_DIR", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    assert run(["config"], out=out) == 0
    return out.getvalue()


def test_kbbot_config_masks_every_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = config_output(
        monkeypatch,
        tmp_path,
        KBBOT_TOKEN=TOKEN,
        KBBOT_SECRET=USER_SECRET,
        KBBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    assert "KBBOT_TOKEN=987654321:****\n" in out
    assert "KBBOT_SECRET=****\n" in out and "KBBOT_WEBHOOK_SECRET=****\n" in out
    for secret in (SECRET_PART, USER_SECRET, WEBHOOK_SECRET):
        assert secret not in out


def test_kbbot_config_masks_secrets_read_from_a_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings_file = tmp_path / "kbbot.env"
    settings_file.write_text(
        f"KBBOT_TOKEN='{TOKEN}'\nKBBOT_SECRET={USER_SECRET}\n", encoding="utf-8"
    )
    out = config_output(monkeypatch, tmp_path, KBBOT_CONFIG=str(settings_file))
    assert f"KBBOT_CONFIG={settings_file}\n" in out and "KBBOT_TOKEN=987654321:****\n" in out
    assert SECRET_PART not in out and USER_SECRET not in out
    assert "# mode: long polling" in out


def test_kbbot_config_never_shows_the_generated_user_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "secret.key"
    key.write_text("generated-key-0123456789abcdef\n", encoding="utf-8")
    out = config_output(monkeypatch, tmp_path)
    assert f"hashed with the key from {key} (exists)" in out
    assert "generated-key" not in out


@given(st.text(max_size=80))
def test_mask_token_never_reveals_what_follows_the_colon(token: str) -> None:
    masked = mask_token(token)
    secret = token.partition(":")[2]
    assert masked in ("", "****") or masked.endswith(":****")
    if len(secret) >= 4:
        assert secret not in masked


# --- user ids only as keyed hashes; exports never carry the key ------------------------------


def test_user_hashes_are_keyed() -> None:
    plain = hashlib.sha256(str(RAW_USER_ID).encode()).hexdigest()
    keyed = hash_user_id(RAW_USER_ID, USER_SECRET.encode())
    assert keyed == hash_user_id(RAW_USER_ID, USER_SECRET.encode())
    assert keyed != hash_user_id(RAW_USER_ID, b"another key")
    assert keyed not in plain and str(RAW_USER_ID) not in keyed


@pytest.fixture
def logged_db(tmp_path: Path) -> Path:
    """A question log written the way the bot writes it: hashes made with the user key."""
    db = tmp_path / "data" / "questions.sqlite3"

    async def fill() -> None:
        log = await open_log(db)
        try:
            for n, question in enumerate(["法律顾问覆盖情况", "我的电话13912345678，怎么申请复议"]):
                await log.record(
                    QuestionRecord(
                        channel="telegram",
                        question=question,
                        normalised=question,
                        answered=n == 0,
                        outcome="answer" if n == 0 else "none",
                        chat_type="private",
                        user_hash=hash_user_id(RAW_USER_ID + n, USER_SECRET.encode()),
                    )
                )
        finally:
            await log.close()

    asyncio.run(fill())
    return db


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_log_export_never_contains_the_user_key_or_raw_ids(
    logged_db: Path,
    kb_dir: Path,
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KBBOT_SECRET", USER_SECRET)
    monkeypatch.setenv("KBBOT_DATA_DIR", str(logged_db.parent))
    out = io.StringIO()
    status = run(
        ["log", "export", "--format", fmt, "--db", str(logged_db), "--knowledge", str(kb_dir)],
        out=out,
    )
    text = out.getvalue()
    assert status == 0 and "法律顾问覆盖情况" in text
    assert USER_SECRET not in text
    # No raw user id, and the phone number typed into a question is masked.
    assert str(RAW_USER_ID) not in text and str(RAW_USER_ID + 1) not in text
    assert hash_user_id(RAW_USER_ID, USER_SECRET.encode()) in text
    assert "13912345678" not in text


def test_the_generated_user_key_is_private_and_never_in_the_log(
    logged_db: Path, kb_dir: Path, tmp_path: Path
) -> None:
    config = Config.from_env({"KBBOT_DATA_DIR": str(tmp_path / "fresh")})
    key = config.user_hash_secret()
    assert (tmp_path / "fresh" / "secret.key").stat().st_mode & 0o077 == 0
    backup = tmp_path / "backup.sqlite3"
    out = io.StringIO()
    assert run(["log", "backup", str(backup), "--db", str(logged_db)], out=out) == 0
    for path in (logged_db, backup):
        content = path.read_bytes()
        assert USER_SECRET.encode() not in content and key not in content
        assert str(RAW_USER_ID).encode() not in content


# --- everything echoed to Telegram is escaped --------------------------------------------------

# What tends to break Telegram HTML: markup-looking text, entities, lone ampersands, brackets.
MARKUP = st.sampled_from(
    ["<", ">", "&", "&amp;", "&lt;", "<b>", "</b>", "<i>x</i>", "<a href='x'>", "<script>",
     "*bold*", "_it_", "`code`", "[l](http://x)", "<tg-spoiler>", "&#60;", '"', "'"]
)  # fmt: skip
TEXT = st.lists(
    st.one_of(MARKUP, st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=5)),
    min_size=1,
    max_size=12,
).map("".join)


def rendered(html: str) -> str:
    """What a Telegram client shows for `html` (the fake parses it exactly as Telegram does)."""
    plain, _entities = parse_html(html)
    return plain


@settings(max_examples=300)
@given(TEXT)
def test_escaped_text_shows_literally(text: str) -> None:
    assert rendered(esc(text)) == text


@settings(max_examples=200)
@given(answer=TEXT, source=TEXT, label=TEXT)
def test_answers_and_sources_show_literally(answer: str, source: str, label: str) -> None:
    entry = Entry(id="e", topic="t", questions=("q",), answer=answer, source=source)
    messages = {"source_label": label}
    assert rendered(entry_html(entry, messages)) == f"{answer}\n\n{label}：{source}"
    reply = Reply(question="q", kind=Kind.ANSWER, text=answer, entry=entry)
    assert rendered(reply_html(reply, messages)) == f"{answer}\n\n{label}：{source}"
    for kind in (Kind.NONE, Kind.SUGGEST, Kind.REFERRAL, Kind.TOO_LONG):
        assert rendered(reply_html(Reply("q", kind, answer), messages)) == answer


@settings(max_examples=100)
@given(question=TEXT, message=TEXT, file=TEXT)
def test_admin_texts_show_questions_and_problems_literally(
    question: str, message: str, file: str
) -> None:
    why = rendered(why_html(Reply(question, Kind.EMPTY, "x"), [], "≥ 0.5"))
    assert f"问题：{question}\n" in why
    problem = Problem(file, 3, message)
    assert str(problem) in rendered(problems_html("header <&>", [problem]))


# --- knowledge files are parsed safely -------------------------------------------------------


def test_python_tags_in_knowledge_files_are_never_executed(kb_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (kb_dir / "50-evil.yaml").write_text(
        "entries:\n"
        f"  - !!python/object/apply:os.system ['touch {marker}']\n"
        f"  - id: evil\n    topic: !!python/object/apply:os.system ['touch {marker}']\n"
        "    questions: [x]\n    answer: y\n    source: z\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError):
        load_knowledge(kb_dir)
    assert not marker.exists()


def python_sources() -> Iterator[Path]:
    yield from sorted((ROOT / "bot").rglob("*.py"))


UNSAFE_YAML = re.compile(
    r"yaml\.(?:load|load_all|unsafe_load|full_load)\s*\(|Loader\s*=\s*yaml\.(?:Unsafe|Full)?Loader\b"
    r"|typ\s*=\s*['\"]unsafe['\"]|yaml\.(?:Unsafe|Full)Loader"
)


def test_no_module_uses_an_unsafe_yaml_loader() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in python_sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UNSAFE_YAML.search(line)
    ]
    assert offenders == []
    assert any("SafeLoader" in p.read_text(encoding="utf-8") for p in python_sources())


@pytest.mark.parametrize("name", ["synonyms.yaml", "replies.yaml", "10-work.yaml"])
def test_every_kind_of_knowledge_file_refuses_an_alias_bomb(kb_dir: Path, name: str) -> None:
    """The loader's anchor check covers entries, synonyms and replies alike."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefg", "bcdefgh", strict=True)
    )
    (kb_dir / name).write_text(bomb, encoding="utf-8")
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(kb_dir)
    [problem] = [p for p in raised.value.problems if p.file.endswith(name)]
    assert "锚点" in problem.message and problem.line == 1


# --- the token never reaches a log line --------------------------------------------------------


@pytest.fixture
def captured_root_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def test_redaction_covers_messages_arguments_and_tracebacks(captured_root_log: io.StringIO) -> None:
    redact_token(TOKEN)
    log = logging.getLogger("somelibrary")
    log.warning("POST https://api.telegram.org/bot%s/getMe failed", TOKEN)
    log.warning(f"plain message with {TOKEN} inside")
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        log.exception("startup failed")
    text = captured_root_log.getvalue()
    assert SECRET_PART not in text
    assert text.count("<token>") == 3 and "Traceback" in text


def test_httpx_stays_quiet_even_at_debug() -> None:
    """httpx logs request URLs (token included) at INFO."""
    configure_logging("DEBUG")
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


def test_config_repr_and_errors_never_show_secrets(tmp_path: Path) -> None:
    config = Config.from_env(
        {
            "KBBOT_TOKEN": TOKEN,
            "KBBOT_SECRET": USER_SECRET,
            "KBBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "KBBOT_DATA_DIR": str(tmp_path),
        }
    )
    shown = repr(config) + str(config)
    for secret in (SECRET_PART, USER_SECRET, WEBHOOK_SECRET):
        assert secret not in shown
