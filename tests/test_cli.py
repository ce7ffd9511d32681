"""The `kbbot` command line, called in-process through `bot.cli.main.run` and once as a real process."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answering.engine import Engine, Kind
from bot.cli.main import build_parser, run
from bot.config import SHIPPED_KNOWLEDGE
from bot.logurl import LogURL
from tests.reply_kinds import ALSO, reply_of_kind


def call(argv: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    status = run(argv, stdin=io.StringIO(stdin), out=out)
    return status, out.getvalue()


def rows(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as raw:
        return raw.execute(
            "SELECT channel, question, normalised, answered, outcome, entry_id, score FROM questions ORDER BY id"
        ).fetchall()


def test_ask_prints_the_answer_and_its_source(kb_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite3"
    status, out = call(["ask", "--knowledge", str(kb_dir), "--db", str(db), "合作的律所有哪些"])
    assert status == 0
    assert "得伟君尚" in out and "来源：一、工作情况（九）提升法律顾问效能" in out
    [(channel, question, normalised, answered, outcome, entry_id, score)] = rows(db)
    assert (channel, question, answered, outcome, entry_id) == (
        "cli",
        "合作的律所有哪些",
        1,
        "answer",
        "law-firms",
    )
    assert "律师事务所" in str(normalised) and isinstance(score, float)


def test_ask_json_reads_stdin_and_answers_in_order(kb_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite3"
    questions = ["出庭应诉率是多少", "明天会下雨吗", "行政复议", "", "😀"]
    status, out = call(
        ["ask", "--json", "--knowledge", str(kb_dir), "--db", str(db)], "\n".join(questions) + "\n"
    )
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["question"] for line in lines] == questions
    first, rain, vague, empty, emoji = lines
    assert first["answered"] is True and first["entry_id"] == "court-appearance-rate"
    assert "92.3%" in first["answer"] and first["source"].startswith("一、工作情况（三）")
    assert rain["answered"] is False and rain["entry_id"] is None and rain["suggestions"] == []
    assert vague["answered"] is False and len(vague["suggestions"]) == 2
    assert {"entry_id", "question"} == set(vague["suggestions"][0])
    assert empty["kind"] == "empty" and emoji["kind"] == "smalltalk"
    for line in lines:
        assert {
            "question",
            "answered",
            "answer",
            "entry_id",
            "score",
            "source",
            "suggestions",
        } <= set(line)
    assert [row[4] for row in rows(db)] == ["answer", "none", "suggest", "empty", "smalltalk"]


def test_no_log_writes_nothing(kb_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite3"
    status, _ = call(["ask", "--no-log", "--knowledge", str(kb_dir), "--db", str(db), "法律顾问"])
    assert status == 0 and not db.exists()


def test_environment_variables_configure_paths(
    kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "env.sqlite3"
    monkeypatch.setenv("KBBOT_KNOWLEDGE", str(kb_dir))
    monkeypatch.setenv("KBBOT_DB", str(db))
    status, out = call(["ask", "出庭应诉率"])
    assert status == 0 and "92.3%" in out
    assert len(rows(db)) == 1


def test_an_unusable_log_does_not_stop_answers(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    status, out = call(
        ["ask", "--knowledge", str(kb_dir), "--db", str(blocker / "log.sqlite3"), "出庭应诉率"]
    )
    assert status == 0 and "92.3%" in out
    assert "will not be logged" in capsys.readouterr().err


def test_a_broken_knowledge_base_is_one_clear_error(
    kb_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (kb_dir / "10-work.yaml").write_text("entries: [\n", encoding="utf-8")
    status, out = call(["ask", "--no-log", "--knowledge", str(kb_dir), "法律顾问"])
    err = capsys.readouterr().err
    assert status == 1 and out == ""
    assert err.startswith("kbbot: error:") and "10-work.yaml:" in err and "Traceback" not in err


def test_chat_answers_and_lets_a_number_pick_a_suggestion(kb_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite3"
    status, out = call(
        ["chat", "--knowledge", str(kb_dir), "--db", str(db)], "行政复议\n1\n明天会下雨吗\nq\n"
    )
    assert status == 0
    assert "您好" in out and "您是不是想问" in out and "1. " in out
    assert "来源：一、工作情况（二）加强复议机关监督职能" in out
    assert "没有找到答案" in out
    assert [row[1] for row in rows(db)] == ["行政复议", "明天会下雨吗"]


def test_kb_check_passes_on_a_good_base(kb_dir: Path) -> None:
    status, out = call(["kb", "check", "--knowledge", str(kb_dir)])
    assert status == 0 and "检查通过" in out and "5 个条目" in out


def test_kb_check_fails_with_file_and_line(kb_dir: Path) -> None:
    (kb_dir / "20-bad.yaml").write_text("entries:\n  - id: a-1\n    topic: t\n", encoding="utf-8")
    status, out = call(["kb", "check", "--knowledge", str(kb_dir)])
    assert status == 1
    assert f"{kb_dir / '20-bad.yaml'}:2:" in out and "检查未通过" in out


def test_kb_check_warns_about_confusable_questions(kb_dir: Path) -> None:
    path = kb_dir / "10-work.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "      - 合作的律师事务所\n", "      - 合作的律师事务所\n      - 出庭应诉率\n"
    )
    path.write_text(text, encoding="utf-8")
    status, out = call(["kb", "check", "--knowledge", str(kb_dir)])
    assert status == 0
    assert "`出庭应诉率` 更像条目 `court-appearance-rate`" in out


def test_kb_export_prints_every_entry(kb_dir: Path) -> None:
    status, out = call(["kb", "export", "--knowledge", str(kb_dir)])
    assert status == 0
    items = json.loads(out)
    assert len(items) == 5
    assert {"id", "topic", "questions", "answer", "source"} <= set(items[0])


def files_in(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def tree(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def test_kb_init_copies_a_knowledge_base_that_passes_kb_check(kb_dir: Path, tmp_path: Path) -> None:
    (kb_dir / "README.md").write_text("# 维护说明\n", encoding="utf-8")
    (kb_dir / "notes.txt").write_text("not part of the knowledge base\n", encoding="utf-8")
    target = tmp_path / "state" / "knowledge"
    status, out = call(["kb", "init", "--from", str(kb_dir), "--knowledge", str(target)])
    assert status == 0 and f"into {target}" in out
    assert files_in(target) == {k: v for k, v in files_in(kb_dir).items() if k != "notes.txt"}
    assert [path.name for path in target.parent.iterdir()] == ["knowledge"]  # no staging left
    status, out = call(["kb", "check", "--knowledge", str(target)])
    assert status == 0 and "检查通过" in out


def test_kb_init_copies_the_shipped_base_into_kbbot_knowledge_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "knowledge"
    monkeypatch.setenv("KBBOT_KNOWLEDGE", str(target))
    assert call(["kb", "init"])[0] == 0
    shipped = {path.name for path in SHIPPED_KNOWLEDGE.iterdir() if path.suffix == ".yaml"}
    expected = shipped | {"report.txt", "README.md", "schema.json"}
    assert {path.name for path in target.iterdir()} == expected
    assert call(["kb", "check"])[0] == 0


def test_a_second_kb_init_leaves_the_knowledge_base_as_the_admins_left_it(
    kb_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "state"
    argv = ["kb", "init", "--from", str(kb_dir), "--knowledge", str(target)]
    assert call(argv)[0] == 0
    edited = target / "10-work.yaml"
    edited.write_text(edited.read_text(encoding="utf-8") + "# 管理员改过\n", encoding="utf-8")
    (target / "channels.yaml").unlink()
    (kb_dir / "20-new.yaml").write_text("entries: []\n", encoding="utf-8")
    before = files_in(target)
    status, out = call(argv)
    assert status == 0 and "nothing copied" in out
    assert files_in(target) == before
    # Once the copy exists the seed is not needed: a removed seed does not stop a start.
    shutil.rmtree(kb_dir)
    assert call(argv) == (0, out)


def test_kb_init_fills_an_existing_empty_folder_without_replacing_its_files(
    kb_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "volume"  # a mount point: it exists before the bot first starts
    target.mkdir()
    (target / "README.md").write_text("local notes\n", encoding="utf-8")
    (kb_dir / "README.md").write_text("# 维护说明\n", encoding="utf-8")
    status, out = call(["kb", "init", "--from", str(kb_dir), "--knowledge", str(target)])
    assert status == 0 and "(kept 1 already there)" in out
    assert (target / "README.md").read_text(encoding="utf-8") == "local notes\n"
    assert {path.name for path in target.iterdir()} == {path.name for path in kb_dir.iterdir()}
    assert call(["kb", "check", "--knowledge", str(target)])[0] == 0


def test_kb_init_errors_are_one_line_and_create_nothing(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("# 维护说明\n", encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    link = tmp_path / "link"
    link.symlink_to(kb_dir)
    new = tmp_path / "new"
    cases = [
        (empty, new, f"{empty} holds no knowledge files"),
        (tmp_path / "missing", new, "missing holds no knowledge files"),
        (kb_dir, link, "is both the source and the knowledge folder"),
        (kb_dir, blocker / "knowledge", f"cannot copy {kb_dir} into {blocker / 'knowledge'}"),
    ]
    for source, target, reason in cases:
        before = tree(tmp_path)
        status, out = call(["kb", "init", "--from", str(source), "--knowledge", str(target)])
        err = capsys.readouterr().err
        assert status == 1 and out == "", reason
        assert err.startswith("kbbot: error:") and reason in err and err.count("\n") == 1
        assert tree(tmp_path) == before, reason


def test_python_dash_m_bot_is_the_same_program(kb_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--no-log", "--json", "--knowledge", str(kb_dir)],
        input="出庭应诉率\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout)["entry_id"] == "court-appearance-rate"


def test_chat_browses_sections_then_entries(kb_dir: Path) -> None:
    status, out = call(
        ["chat", "--no-log", "--knowledge", str(kb_dir)], "/topics\n1\n2\n/help\nq\n"
    )
    assert status == 0
    assert "1. 一、工作情况（二）加强复议机关监督职能（2）" in out
    assert "2. 行政复议受案率" in out  # the section's entries, by topic
    assert "75.86%" in out  # the second entry's answer
    assert "可以这样问" in out


def test_console_commands_do_not_print_info_logs(
    kb_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = call(
        ["ask", "--knowledge", str(kb_dir), "--db", str(tmp_path / "new.sqlite3"), "出庭应诉率"]
    )
    assert status == 0
    assert "INFO" not in capsys.readouterr().err


def test_chat_lists_an_answers_runners_up_and_a_number_picks_one(shipped_engine: Engine) -> None:
    reply = reply_of_kind(shipped_engine, ALSO)
    status, out = call(
        ["chat", "--no-log", "--knowledge", str(SHIPPED_KNOWLEDGE)], f"{reply.question}\n1\nq\n"
    )
    picked = reply.also[0]
    assert status == 0
    assert f"您可能还想了解：\n  1. {picked.questions[0]}\n" in out
    assert out.rstrip().endswith(f"{picked.answer}\n来源：{picked.source}")


def test_chat_lets_a_number_pick_a_section_of_a_broad_word(shipped_engine: Engine) -> None:
    reply = reply_of_kind(shipped_engine, Kind.OVERVIEW)
    status, out = call(
        ["chat", "--no-log", "--knowledge", str(SHIPPED_KNOWLEDGE)], f"{reply.question}\n2\nq\n"
    )
    picked = reply.suggestions[1]
    assert status == 0
    assert f"  2. {picked.topic}\n" in out and "（输入序号查看对应答案）" in out
    assert out.rstrip().endswith(f"{picked.answer}\n来源：{picked.source}")


# --- global flags before or after the command ---------------------------------------------------


def _leaf_commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command line that ends in a command (kbbot ask, kbbot log export...), with the
    parser of its last word."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return [(path, parser)]
    found = []
    for group in groups:
        for name, sub in group.choices.items():
            found += _leaf_commands(sub, (*path, name))
    return found


def _required(parser: argparse.ArgumentParser) -> list[str]:
    """Dummy values for a command's required arguments (log backup FILE, prune --older-than)."""
    argv: list[str] = []
    for action in parser._actions:
        if not action.option_strings and action.nargs is None and action.dest != "help":
            argv.append("x.sqlite3")
        elif action.required and action.option_strings:
            argv += [action.option_strings[0], "1d"]
    return argv


def test_global_flags_work_before_or_after_every_command(tmp_path: Path) -> None:
    parser = build_parser()
    commands = _leaf_commands(parser)
    assert len(commands) >= 12 and (("log", "export") in dict(commands))
    for words, leaf in commands:
        flags = ["--db", str(tmp_path / "q.sqlite3"), "--knowledge", str(tmp_path / "kb")]
        for argv in (
            [*flags, *words, *_required(leaf)],
            [*words, *_required(leaf), *flags],
        ):
            args = parser.parse_args(argv)
            assert (args.db, args.knowledge) == (
                LogURL.file(tmp_path / "q.sqlite3"),
                tmp_path / "kb",
            ), argv


def test_db_before_the_command_is_the_log_the_command_reads(kb_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "elsewhere.sqlite3"
    status, _ = call(["--db", str(db), "--knowledge", str(kb_dir), "ask", "合作的律所有哪些"])
    assert status == 0 and [row[1] for row in rows(db)] == ["合作的律所有哪些"]
    status, out = call(["--db", str(db), "log", "export"])
    assert status == 0 and "合作的律所有哪些" in out


def test_knowledge_before_the_command_is_the_base_that_answers(kb_dir: Path) -> None:
    path = kb_dir / "10-work.yaml"
    text = path.read_text(encoding="utf-8").replace("62个部门", "64个部门")
    path.write_text(text, encoding="utf-8")
    status, out = call(["--knowledge", str(kb_dir), "ask", "--no-log", "法律顾问覆盖情况"])
    assert status == 0 and "64个部门" in out
    status, out = call(["--knowledge", str(kb_dir), "kb", "check"])
    assert status == 0 and "5 个条目" in out


# --- a reader that goes away: no traceback ------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def _read_one_line_then_close(argv: list[str], env: dict[str, str]) -> tuple[int, str, bytes]:
    """`python -m bot ARGV | head -1`: read the first line, then go away (close the pipe)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode("utf-8", "replace")
    process.stderr.close()
    return process.wait(timeout=120), err, first


def _closed_from_the_start(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The reader is gone before the command writes a byte."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # long before the child has even imported the bot
    err = process.stderr.read().decode("utf-8", "replace")
    process.stderr.close()
    # `kb check` on a busy machine may take long enough to report its progress: that is not
    # an error message.
    progress = ("检查问法：", "已读入 ")
    said = [line for line in err.splitlines() if not line.startswith(progress)]
    return process.wait(timeout=120), "\n".join(said)


@pytest.fixture
def big_log(kb_dir: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a command on a log of 2,048 questions: far more than a pipe holds."""
    db = tmp_path / "q.sqlite3"
    assert call(["ask", "--knowledge", str(kb_dir), "--db", str(db), "合作的律所有哪些"])[0] == 0
    with sqlite3.connect(db) as raw:
        columns = [row[1] for row in raw.execute("PRAGMA table_info(questions)") if row[1] != "id"]
        names = ", ".join(columns)
        for _ in range(11):
            raw.execute(f"INSERT INTO questions ({names}) SELECT {names} FROM questions")
    return {**os.environ, "KBBOT_DB": str(db), "KBBOT_KNOWLEDGE": str(SHIPPED_KNOWLEDGE)}


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_log_export_piped_to_head_ends_quietly(big_log: dict[str, str], fmt: str) -> None:
    """`kbbot log export | head -1` on a log larger than a pipe holds: the reader goes away
    while the export is still writing."""
    status, err, first = _read_one_line_then_close(["log", "export", "--format", fmt], big_log)
    assert first  # the reader did get its line
    assert (status, err) == (141, "")


def test_kb_check_leaves_at_once_with_its_whole_report(kb_dir: Path) -> None:
    """`kb check` ends the process without freeing the index object by object; everything
    it wrote is still there, and its status too."""

    def kb_check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "kb", "check"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
            env={**os.environ, "KBBOT_KNOWLEDGE": str(kb_dir)},
        )

    done = kb_check()
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1].startswith("知识库检查通过")
    (kb_dir / "01-broken.yaml").write_text("entries:\n  - id: [\n", encoding="utf-8")
    done = kb_check()
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith("知识库检查未通过")


@pytest.mark.parametrize(
    "argv",
    [["log", "export"], ["log", "export", "--format", "json"], ["report"], ["kb", "check"]],
    ids=["log-export", "log-export-json", "report", "kb-check"],
)
def test_a_reader_gone_before_the_first_byte_ends_the_command_quietly(
    big_log: dict[str, str], argv: list[str]
) -> None:
    assert _closed_from_the_start(argv, big_log) == (141, "")


def test_every_command_names_the_function_that_runs_it() -> None:
    leaves = dict(_leaf_commands(build_parser()))
    assert ("kb", "check") in leaves and ("log", "backup") in leaves
    for path, parser in leaves.items():
        assert callable(parser.get_default("func")), f"kbbot {' '.join(path)} has no func"
    assert build_parser().parse_args([]).func is None  # the main job: bot or console chat
