"""`kb check` catches what would break at run time, not only what breaks loading.

An answer longer than one Telegram message, a placeholder the code never fills, a file that
cannot be read (permissions, a link that goes nowhere, a FIFO): each is an error naming the
file (and line), never a traceback and never silently skipped. And the check stays linear in
the size of the base (tests/bench/bench_kb_check.py measures it).
"""

from __future__ import annotations

import ast
import gc
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.answering.engine import MAX_QUESTION_CHARS, Engine, Kind
from bot.answering.knowledge import (
    MAX_MESSAGE_CHARS,
    MESSAGE_PLACEHOLDERS,
    KnowledgeError,
    Problem,
    fingerprint,
    load_knowledge,
    placeholders_for,
)
from bot.answering.matcher import Matcher
from bot.authoring import audit
from bot.authoring.audit import audit_matcher, collector_paused, confusable_questions
from bot.cli.kb import Progress, kb_check
from bot.cli.main import run
from bot.config import SHIPPED_KNOWLEDGE, Config
from bot.logurl import LogURL
from bot.telegram.formatting import esc, split_html
from tests.e2e.fake_bot_api import parse_html
from tests.unprivileged import unprivileged_prefix

ROOT = Path(__file__).resolve().parent.parent
WORK_FILE = "10-work.yaml"


def errors_of(kb_dir: Path) -> list[Problem]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_dir)
    return [p for p in caught.value.problems if p.severity == "error"]


def set_answer(kb_dir: Path, answer: str) -> int:
    """Give the fixture's legal-adviser entry `answer`; returns the answer's line."""
    path = kb_dir / WORK_FILE
    old = "answer: 全区政府系统62个部门及街道实现法律顾问全覆盖。"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, f"answer: {answer}"), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def set_message(kb_dir: Path, key: str, value: str) -> int:
    """Set replies.yaml's `key` to `value` (written on one line); returns its line."""
    path = kb_dir / "replies.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    [number] = [n for n, line in enumerate(lines) if line.startswith(f"  {key}:")]
    end = number + 1
    while lines[end].startswith("    "):  # the rest of a block scalar
        end += 1
    lines[number:end] = [f"  {key}: {json.dumps(value, ensure_ascii=False)}"]
    path.write_text("\n".join(lines), encoding="utf-8")
    return number + 1


def check(kb_dir: Path) -> tuple[int, str]:
    out = io.StringIO()
    status = run(["kb", "check", "--knowledge", str(kb_dir)], out=out)
    return status, out.getvalue()


# --- answers and messages longer than one Telegram message -------------------------------------


def test_an_answer_longer_than_one_telegram_message_is_an_error(kb_dir: Path) -> None:
    line = set_answer(kb_dir, "长" * (MAX_MESSAGE_CHARS + 1))
    status, out = check(kb_dir)
    assert status == 1
    assert f"{kb_dir / WORK_FILE}:{line}: 错误: 答案太长（{MAX_MESSAGE_CHARS + 1} 字）" in out


def test_an_answer_that_fits_in_one_message_is_only_a_warning_when_long(kb_dir: Path) -> None:
    set_answer(kb_dir, "长" * MAX_MESSAGE_CHARS)
    status, out = check(kb_dir)
    assert status == 0 and "答案较长（4096 字），建议精简" in out


def test_a_message_longer_than_one_telegram_message_is_an_error(kb_dir: Path) -> None:
    line = set_message(kb_dir, "no_answer", "没有" * 2100)
    [problem] = errors_of(kb_dir)
    assert (problem.file, problem.line) == (str(kb_dir / "replies.yaml"), line)
    assert problem.message.startswith("messages.no_answer太长（4200 字）")


# --- placeholders in replies.yaml --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("问题太长了{ 请精简到 {limit} 字以内", "单独的花括号 `{`"),
        (
            "问题太长了，请精简到 {limt} 字以内",
            "占位符 `{limt}` 不会被替换（这条文案可用：{limit}）",
        ),
        ("问题太长了，请精简到 { limit } 字以内", "`{ limit }` 不会被替换"),
        ("问题太长了：{answer}", "占位符 `{answer}` 不会被替换"),
        ("问题太长了} 请精简", "单独的花括号 `}`"),
    ],
    ids=["stray-open", "misspelt", "spaces", "another-messages", "stray-close"],
)
def test_a_brace_the_code_does_not_fill_is_an_error_with_file_and_line(
    kb_dir: Path, text: str, expected: str
) -> None:
    line = set_message(kb_dir, "too_long", text)
    status, out = check(kb_dir)
    assert status == 1
    assert f"{kb_dir / 'replies.yaml'}:{line}: 错误: messages.too_long" in out and expected in out


def test_a_message_with_no_placeholders_may_not_have_one(kb_dir: Path) -> None:
    line = set_message(kb_dir, "no_answer", "报告里没有提到{topic}。")
    [problem] = errors_of(kb_dir)
    assert problem.line == line and "（这条文案可用：没有占位符）" in problem.message


def test_placeholders_may_be_moved_or_dropped(kb_dir: Path) -> None:
    set_message(kb_dir, "too_long", "请精简到 {limit} 字以内。最多 {limit} 字！")
    set_message(kb_dir, "partial", "报告里相关的内容是：{answer}")  # {missing} dropped
    reply = Engine.from_directory(kb_dir).respond("问" * 1000)
    limit = MAX_QUESTION_CHARS
    assert (reply.kind, reply.text) == (
        Kind.TOO_LONG,
        f"请精简到 {limit} 字以内。最多 {limit} 字！",
    )


def test_the_shipped_replies_use_only_the_placeholders_they_get() -> None:
    kb = load_knowledge(SHIPPED_KNOWLEDGE)
    for key, text in kb.replies.messages.items():
        for name in placeholders_for(key):
            text = text.replace(f"{{{name}}}", "")
        assert "{" not in text and "}" not in text, key


def _fill_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "fill":
                calls.append((str(path.relative_to(ROOT)), node))
    return calls


# The fill() calls whose template is not written `messages["key"]`, by file and template
# expression, with the messages they may be given.
INDIRECT_FILLS = {
    ("bot/telegram/keyboards.py", "template"): ("button_also", "button_related"),
    ("bot/answering/knowledge.py", "template"): ("passage",),
    ("bot/answering/engine.py", "kb.replies[key]"): (
        "missing_year",
        "missing_place",
        "missing_counted",
    ),
}


def test_every_fill_call_gives_exactly_the_placeholders_the_table_names() -> None:
    """MESSAGE_PLACEHOLDERS is what kb check allows; this keeps it what the code fills."""
    calls = _fill_calls()
    assert len(calls) >= len(MESSAGE_PLACEHOLDERS)
    filled: set[str] = set()
    for file, call in calls:
        template = call.args[0]
        given = frozenset(keyword.arg for keyword in call.keywords if keyword.arg)
        key = template.slice if isinstance(template, ast.Subscript) else None
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            keys: tuple[str, ...] = (key.value,)
        else:
            where = (file, ast.unparse(template))
            assert where in INDIRECT_FILLS, f"{where}: name the messages it fills in INDIRECT_FILLS"
            keys = INDIRECT_FILLS[where]
        for name in keys:
            assert placeholders_for(name) == given, f"{file}:{call.lineno}: {name} gets {given}"
            filled.add(name)
    assert set(MESSAGE_PLACEHOLDERS) <= filled, "a message in the table that nothing fills"


# --- files that cannot be read ----------------------------------------------------------------


def test_a_dangling_link_named_like_a_knowledge_file_is_a_file_error(kb_dir: Path) -> None:
    (kb_dir / "40-gone.yaml").symlink_to(kb_dir / "nowhere.yaml")
    [problem] = errors_of(kb_dir)
    assert (problem.file, problem.line) == (str(kb_dir / "40-gone.yaml"), 0)
    assert "指向不存在的文件" in problem.message and "nowhere.yaml" in problem.message


def test_a_symlink_loop_is_a_file_error(kb_dir: Path) -> None:
    (kb_dir / "40-a.yaml").symlink_to(kb_dir / "40-b.yaml")
    (kb_dir / "40-b.yaml").symlink_to(kb_dir / "40-a.yaml")
    problems = errors_of(kb_dir)
    assert [(p.file, p.message[:8]) for p in problems] == [
        (str(kb_dir / "40-a.yaml"), "是循环的符号链接"),
        (str(kb_dir / "40-b.yaml"), "是循环的符号链接"),
    ]


def test_a_fifo_named_like_a_knowledge_file_is_a_file_error_and_never_opened(
    kb_dir: Path,
) -> None:
    os.mkfifo(kb_dir / "40-pipe.yaml")  # opening it for reading would block forever
    [problem] = errors_of(kb_dir)
    assert problem.file == str(kb_dir / "40-pipe.yaml") and "命名管道（FIFO）" in problem.message


def test_a_folder_named_like_a_knowledge_file_is_a_file_error(kb_dir: Path) -> None:
    (kb_dir / "40-more.yaml").mkdir()
    [problem] = errors_of(kb_dir)
    assert problem.file == str(kb_dir / "40-more.yaml") and "是一个目录" in problem.message


def test_a_dangling_report_link_is_a_file_error(kb_dir: Path) -> None:
    (kb_dir / "report.txt").symlink_to(kb_dir / "moved-away.txt")
    [problem] = errors_of(kb_dir)
    assert problem.file == str(kb_dir / "report.txt") and "指向不存在的文件" in problem.message


def test_an_editors_lock_link_is_not_a_knowledge_file(kb_dir: Path) -> None:
    """Emacs marks a file being edited with a dangling link, .#name: not the admin's doing."""
    (kb_dir / f".#{WORK_FILE}").symlink_to("admin@host.1234:1700000000")
    before = fingerprint(kb_dir)
    assert len(load_knowledge(kb_dir).entries) == 5
    (kb_dir / f".#{WORK_FILE}").unlink()
    assert fingerprint(kb_dir) == before


def test_the_fingerprint_changes_with_permissions_and_never_raises(kb_dir: Path) -> None:
    """chmod keeps the mtime: the watcher must still see that a file became (un)readable."""
    path = kb_dir / WORK_FILE
    before = fingerprint(kb_dir)
    path.chmod(0o000)
    try:
        assert fingerprint(kb_dir) != before
    finally:
        path.chmod(0o644)
    assert fingerprint(kb_dir) == before
    (kb_dir / "40-gone.yaml").symlink_to(kb_dir / "nowhere.yaml")
    assert fingerprint(kb_dir) != before
    assert fingerprint(kb_dir / "missing") == fingerprint(kb_dir / "also-missing")


# A child process subject to file permissions (tests/unprivileged.py) loads each folder and
# prints what happened: the problems, or the exception that escaped.
PROBE = """
import json, sys
from pathlib import Path
from bot.answering.knowledge import KnowledgeError, load_knowledge
out = []
for folder in sys.argv[1:]:
    try:
        load_knowledge(Path(folder))
        out.append(["loaded"])
    except KnowledgeError as exc:
        out.append([[p.file, p.line, p.severity, p.message] for p in exc.problems])
    except Exception as exc:
        out.append(["raised", repr(exc)])
print(json.dumps(out, ensure_ascii=False))
"""


def test_unreadable_files_and_folders_are_file_errors_not_tracebacks(
    kb_dir: Path, tmp_path: Path
) -> None:
    prefix = unprivileged_prefix()
    (kb_dir / WORK_FILE).chmod(0o000)
    folder = tmp_path / "closed"
    folder.mkdir()
    folder.chmod(0o000)
    try:
        result = subprocess.run(
            [*prefix, sys.executable, "-c", PROBE, str(kb_dir), str(folder)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=True,
        )
        unreadable_file, unreadable_folder = json.loads(result.stdout)
        command = subprocess.run(
            [*prefix, sys.executable, "-m", "bot", "kb", "check", "--knowledge", str(kb_dir)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    finally:
        (kb_dir / WORK_FILE).chmod(0o644)
        folder.chmod(0o755)
    assert [p for p in unreadable_file if p[2] == "error"] == [
        [
            str(kb_dir / WORK_FILE),
            0,
            "error",
            "没有读取权限：请让运行机器人的用户能读这个文件（例如 chmod a+r）",
        ]
    ]
    assert unreadable_folder == [
        [
            str(folder),
            0,
            "error",
            "没有读取权限：请让运行机器人的用户能读这个目录（例如 chmod a+rx）",
        ]
    ]
    assert command.returncode == 1 and "Traceback" not in command.stderr
    assert f"{kb_dir / WORK_FILE}:0: 错误: 没有读取权限" in command.stdout


# --- a large base: linear, with progress -------------------------------------------------------


def test_the_confusable_check_warns_as_the_bots_own_matcher_would_on_the_shipped_base() -> None:
    """`audit_matcher` differs from the bot's only for grams in many thousands of phrasings."""
    kb = load_knowledge(SHIPPED_KNOWLEDGE)
    assert confusable_questions(audit_matcher(kb)) == confusable_questions(Matcher(kb))


def test_the_confusable_check_asks_each_stored_question_once_and_reports_progress(
    kb_dir: Path,
) -> None:
    matcher = audit_matcher(load_knowledge(kb_dir))
    asked: list[str] = []
    rival = matcher.rival

    def counted(question: str, entry_id: str, **kw: object) -> object:
        asked.append(question)
        return rival(question, entry_id, **kw)  # type: ignore[arg-type]

    matcher.rival = counted  # type: ignore[method-assign]
    seen: list[tuple[int, int]] = []
    confusable_questions(matcher, lambda done, total: seen.append((done, total)))
    stored = [q for entry in matcher.kb.entries for q in entry.questions]
    assert asked == stored
    assert seen[0] == (0, len(stored)) and seen[-1] == (len(stored), len(stored))


def test_worker_processes_find_the_warnings_one_process_finds_in_the_same_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not audit._can_fork():
        pytest.skip("workers are forked, and this process cannot fork safely")
    monkeypatch.setattr(audit, "PARALLEL_FROM", 0)  # the shipped base is small
    matcher = audit_matcher(load_knowledge(SHIPPED_KNOWLEDGE))
    alone = confusable_questions(matcher)
    seen: list[tuple[int, int]] = []
    shared = confusable_questions(matcher, lambda done, total: seen.append((done, total)), jobs=2)
    assert alone and shared == alone
    total = sum(len(entry.questions) for entry in matcher.kb.entries)
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert seen == sorted(seen)


def test_with_jobs_every_question_is_asked_once_in_a_worker_and_reported_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not audit._can_fork():
        pytest.skip("workers are forked, and this process cannot fork safely")
    monkeypatch.setattr(audit, "PARALLEL_FROM", 0)

    def where_asked(_matcher: Matcher, entry: object, question: str, _floor: float) -> Problem:
        return Problem("", 0, f"{question}@{os.getpid()}", "warning")

    monkeypatch.setattr(audit, "_confusable", where_asked)
    matcher = audit_matcher(load_knowledge(SHIPPED_KNOWLEDGE))
    found = [p.message.rpartition("@") for p in confusable_questions(matcher, jobs=2)]
    assert [question for question, _, _ in found] == [
        q for entry in matcher.kb.entries for q in entry.questions
    ]
    workers = {int(pid) for _, _, pid in found}
    assert os.getpid() not in workers and 1 <= len(workers) <= 2


# `kbbot kb check --jobs 2` on the shipped base, in workers, each question slowed down so that
# a signal arrives while the workers are busy.
SLOW_CHECK = """
import time
from bot.authoring import audit
audit.PARALLEL_FROM = 0
ask = audit._confusable
audit._confusable = lambda *question: time.sleep(0.05) or ask(*question)
from bot.cli.main import main
main()
"""


@pytest.mark.parametrize(
    ("stop", "status"),
    [
        (lambda process: os.killpg(process.pid, signal.SIGINT), 130),  # Ctrl-C in a terminal
        (lambda process: process.terminate(), 128 + signal.SIGTERM),  # kill, timeout, systemd
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_a_check_stopped_in_its_workers_stops_them_quietly(
    tmp_path: Path, stop: object, status: int
) -> None:
    if not audit._can_fork() or shutil.which("pgrep") is None or not Path("/proc/self").exists():
        pytest.skip("needs fork, pgrep and /proc to start and then look for the workers")
    err_path = tmp_path / "stderr"
    with err_path.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", SLOW_CHECK, "kb", "check", "--jobs", "2"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=ROOT,
            env={**os.environ, "KBBOT_KNOWLEDGE": str(SHIPPED_KNOWLEDGE)},
            start_new_session=True,
            # A run started in the background inherits SIGINT ignored; a terminal's does not.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            workers: list[int] = []
            for _ in range(600):  # until both workers have started
                time.sleep(0.1)
                found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True)
                workers = [int(pid) for pid in found.stdout.split()]
                if len(workers) == 2:
                    break
            assert len(workers) == 2
            time.sleep(0.5)  # into their first questions
            stop(process)  # type: ignore[operator]
            assert process.wait(timeout=60) == status
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    for _ in range(100):  # the workers are gone with it (and reaped by init)
        if not any(Path(f"/proc/{pid}").exists() for pid in workers):
            break
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    assert "Traceback" not in err_path.read_text(encoding="utf-8")


def test_a_small_base_is_checked_in_this_process_whatever_the_jobs(kb_dir: Path) -> None:
    matcher = audit_matcher(load_knowledge(kb_dir))
    asked_here: list[int] = []
    rival = matcher.rival

    def counted(question: str, entry_id: str, **kw: object) -> object:
        asked_here.append(os.getpid())
        return rival(question, entry_id, **kw)  # type: ignore[arg-type]

    matcher.rival = counted  # type: ignore[method-assign]
    confusable_questions(matcher, jobs=4)
    assert asked_here == [os.getpid()] * sum(len(e.questions) for e in matcher.kb.entries)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_pause_leaves_the_collector_as_it_found_it(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), collector_paused():
            raise RuntimeError
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_kb_check_takes_a_number_of_jobs(kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert run(["kb", "check", "--knowledge", str(kb_dir), "--jobs", "2"], out=out) == 0
    assert "知识库检查通过" in out.getvalue()
    with pytest.raises(SystemExit) as usage:
        run(["kb", "check", "--knowledge", str(kb_dir), "--jobs", "0"], out=io.StringIO())
    assert usage.value.code == 2
    assert "--jobs: expected a whole number of at least 1, not '0'" in capsys.readouterr().err


def test_a_long_kb_check_shows_how_far_it_has_got_on_stderr(kb_dir: Path, tmp_path: Path) -> None:
    config = Config(knowledge_dir=kb_dir, db=LogURL.file(tmp_path / "unused.sqlite3"))
    out, progress = io.StringIO(), io.StringIO()
    meter = Progress(progress, after=0.0, every=0.0)
    assert kb_check(config, out, progress=meter) == 0
    lines = progress.getvalue().splitlines()
    assert lines[0] == "已读入 5 个条目，正在建立索引…"
    assert lines[-1].startswith("检查问法：") and "（100%）" in lines[-1]
    assert "检查问法" not in out.getvalue()  # the report itself stays clean for scripts


def test_a_short_kb_check_prints_no_progress(kb_dir: Path, tmp_path: Path) -> None:
    config = Config(knowledge_dir=kb_dir, db=LogURL.file(tmp_path / "unused.sqlite3"))
    progress = io.StringIO()
    assert kb_check(config, io.StringIO(), progress=Progress(progress, after=3600.0)) == 0
    assert progress.getvalue() == ""


# --- the sender splits what does not fit in one message ----------------------------------------

SEGMENT_TEXT = st.text(alphabet="甲乙丙。，\n <>&ab", min_size=1, max_size=60)
SEGMENT = st.tuples(st.sampled_from(["", "b", "i", "code", "a"]), SEGMENT_TEXT)


def _markup(segments: list[tuple[str, str]]) -> str:
    pieces = []
    for tag, text in segments:
        if tag == "a":
            pieces.append(f'<a href="https://x.org/?a=1&amp;b=2">{esc(text)}</a>')
        elif tag:
            pieces.append(f"<{tag}>{esc(text)}</{tag}>")
        else:
            pieces.append(esc(text))
    return "".join(pieces)


def _italic_chars(html: str) -> str:
    plain, entities = parse_html(html)
    return "".join(
        plain[e["offset"] : e["offset"] + e["length"]] for e in entities if e["type"] == "italic"
    )


@settings(max_examples=200, deadline=None)
@given(segments=st.lists(SEGMENT, min_size=1, max_size=12), limit=st.integers(8, 80))
def test_every_part_of_a_split_message_is_valid_html_within_the_limit(
    segments: list[tuple[str, str]], limit: int
) -> None:
    html = _markup(segments)
    whole, _ = parse_html(html)
    assume(whole.strip())  # a message of nothing is never sent
    parts = split_html(html, limit)
    rendered = [parse_html(part)[0] for part in parts]  # raises on invalid HTML, as Telegram
    assert all(0 < len(text) <= limit and text.strip() for text in rendered)
    # The same text, marked up the same, in the same order (Telegram trims each message's
    # outer whitespace, so it is left out of the comparison).
    assert _solid("".join(rendered)) == _solid(whole)
    assert _solid("".join(_italic_chars(part) for part in parts)) == _solid(_italic_chars(html))


def _solid(text: str) -> str:
    return "".join(text.split())


def test_a_long_answer_is_split_between_paragraphs_then_sentences() -> None:
    first = "第一段。" * 30
    html = f"{esc(first)}\n\n<i>{esc('来源：' + '很长的章节。' * 40)}</i>"
    parts = split_html(html, 200)
    assert parse_html(parts[0])[0] == first + "\n\n"
    assert all(part.startswith("<i>") and part.endswith("</i>") for part in parts[1:])
    assert all(parse_html(part)[0].endswith("。") for part in parts[1:])
    assert split_html("短短的一句。", 200) == ["短短的一句。"]
