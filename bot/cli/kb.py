"""`kbbot kb ...`: checking, exporting, drafting and installing the knowledge base.

Argument parsing and output only; the work is in bot.answering.knowledge, bot.authoring.audit
and bot.authoring.draft. `kb history` and `kb undo` read the question log and live with the
other review commands in bot/cli/review.py.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from bot.answering.document import REPORT_FILE
from bot.answering.knowledge import KnowledgeError, Problem, knowledge_files, load_knowledge
from bot.authoring.audit import audit_matcher, collector_paused, confusable_questions, default_jobs
from bot.authoring.draft import DraftError, beside_reports, write_draft
from bot.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    CliError,
    Invocation,
    leave_at_once_when_done,
    load_engine,
)
from bot.cli.review import add_history_commands
from bot.config import SHIPPED_KNOWLEDGE, Config


def add_kb_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register `kb` and its subcommands on `kbbot`'s subcommands."""
    kb_cmd = commands.add_parser("kb", parents=[common], help="knowledge base tools")
    kb_commands = kb_cmd.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    check_cmd = kb_commands.add_parser(
        "check", parents=[common], help="validate every knowledge file"
    )
    check_cmd.set_defaults(func=_check)
    check_cmd.add_argument(
        "--jobs",
        type=_positive,
        default=default_jobs(),
        metavar="N",
        help="processes that check the questions of a large base (default: one per CPU, "
        f"here {default_jobs()})",
    )
    export_cmd = kb_commands.add_parser(
        "export", parents=[common], help="print all entries as JSON"
    )
    export_cmd.set_defaults(func=_export)
    draft_cmd = kb_commands.add_parser(
        "draft",
        parents=[common],
        help="write a draft knowledge base from a report's text (template: --knowledge)",
    )
    draft_cmd.set_defaults(func=_draft)
    draft_cmd.add_argument("report", type=Path, metavar="REPORT.txt")
    draft_cmd.add_argument(
        "--out", dest="draft_out", type=Path, required=True, metavar="DIR", help="a new folder"
    )
    init_cmd = kb_commands.add_parser(
        "init",
        parents=[common],
        help="copy a knowledge base into the knowledge folder unless it already holds one",
    )
    init_cmd.set_defaults(func=_init)
    init_cmd.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="DIR",
        help="the knowledge base to copy (default: the shipped knowledge/)",
    )
    add_history_commands(kb_commands, common)  # history, undo (bot/cli/review.py)


def _positive(value: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return number


def _check(run: Invocation) -> int:
    progress = Progress(run.err)
    leave_at_once_when_done()  # the check opens no log; its workers are gone when it returns
    return kb_check(run.config, run.out, progress=progress, jobs=run.args.jobs)


def _export(run: Invocation) -> int:
    return kb_export(run.config, run.out)


def _draft(run: Invocation) -> int:
    return kb_draft(run.config, run.args.report, run.args.draft_out, run.out)


def _init(run: Invocation) -> int:
    return kb_init(run.config, run.args.source, run.out)


class Progress:
    """How far a long `kb check` has got, on stderr: nothing for a run that ends within
    `after` seconds; then a line per stage and a count of the questions checked, rewritten
    in place on a terminal and a line every `every` seconds otherwise (a CI log)."""

    def __init__(self, stream: IO[str], *, after: float = 2.0, every: float = 10.0) -> None:
        self.stream, self.after = stream, after
        self.tty = stream.isatty()
        self.every = 0.1 if self.tty else every
        self.started = time.monotonic()
        self._last = 0.0
        self._pending = False  # a count is on the line, to be ended before anything else

    def _due(self) -> bool:
        return time.monotonic() - self.started >= self.after

    def stage(self, text: str) -> None:
        """Announce a stage that may take a while (only once the run has taken a while)."""
        if self._due():
            self._end_line()
            self.stream.write(f"{text}…\n")
            self.stream.flush()

    def count(self, done: int, total: int) -> None:
        """`audit.Progress`: questions checked so far."""
        now = time.monotonic()
        if not self._due() or (now - self._last < self.every and done < total):
            return
        self._last = now
        share = done * 100 // max(total, 1)
        line = f"检查问法：{done}/{total}（{share}%），已用 {now - self.started:.0f} 秒"
        if self.tty:
            self.stream.write(f"\r{line}")
            self._pending = True
        else:
            self.stream.write(f"{line}\n")
        if done >= total:
            self._end_line()
        self.stream.flush()

    def _end_line(self) -> None:
        if self._pending:
            self.stream.write("\n")
            self._pending = False


def kb_check(config: Config, out: IO[str], progress: Progress | None = None, jobs: int = 1) -> int:
    """Validate the knowledge base; errors exit 1, warnings only inform.

    Args:
        progress: how a long run says how far it has got (on stderr); None: it does not.
        jobs: how many processes ask the stored questions (`audit.confusable_questions`).
    """
    directory = config.knowledge_dir
    try:
        with collector_paused():
            kb = load_knowledge(directory)
    except KnowledgeError as exc:
        problems = exc.problems
        for problem in problems:
            out.write(f"{problem}\n")
        errors = sum(p.severity == "error" for p in problems)
        out.write(f"知识库检查未通过：{errors} 个错误。修改后再运行 kbbot kb check。\n")
        return EXIT_ERROR
    if progress is not None:
        progress.stage(f"已读入 {len(kb.entries)} 个条目，正在建立索引")
    found: list[Problem] = []
    for own in [part.kb for part in kb.reports] or [kb]:  # each report is matched on its own
        matcher = audit_matcher(own)
        found += confusable_questions(
            matcher, progress.count if progress is not None else None, jobs=jobs
        )
    warnings: list[Problem] = [*kb.warnings, *found]
    for problem in warnings:
        out.write(f"{problem}\n")
    questions = sum(len(e.questions) for e in kb.entries)
    out.write(
        f"知识库检查通过：{len(kb.entries)} 个条目，{questions} 个问法，"
        f"{len(kb.synonyms)} 个同义说法，{len(warnings)} 个警告。\n"
    )
    if kb.reports:
        listed = "、".join(
            f"{part.key}年（{len(part.kb.entries)} 个条目，{part.folder or '顶层'}）"
            for part in kb.reports
        )
        out.write(f"共 {len(kb.reports)} 份报告：{listed}。没写年份的问题按最新一份回答。\n")
    drafts = sum(entry.draft for entry in kb.entries)
    if drafts:
        out.write(
            f"其中 {drafts} 个是草稿条目（draft: true），机器人引用报告原文回答；"
            "逐条审核后删去 draft: true。\n"
        )
    return EXIT_OK


def kb_draft(config: Config, report: Path, target: Path, out: IO[str]) -> int:
    """`kbbot kb draft REPORT --out DIR`: a draft knowledge base from a report's text."""
    checked = target.parent if beside_reports(target) else target  # one report among others
    try:
        written = write_draft(report, target, config.knowledge_dir)
    except DraftError as exc:
        raise CliError(str(exc)) from exc
    out.write(
        f"已在 {target} 写入 {len(written)} 个文件。运行 kbbot kb check --knowledge {checked} 检查。\n"
    )
    return EXIT_OK


def kb_export(config: Config, out: IO[str]) -> int:
    kb = load_engine(config).kb
    items = [
        {
            "id": e.id,
            "topic": e.topic,
            "questions": list(e.questions),
            "answer": e.answer,
            "source": e.source,
            "keywords": list(e.keywords),
            "related": list(e.related),
        }
        for e in kb.entries
    ]
    out.write(json.dumps(items, ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


# What `kbbot kb init` copies besides the knowledge files: the report's text (passages are
# checked against it), the admins' guide, and the schema the files name for editors.
KB_COMPANION_FILES = (REPORT_FILE, "README.md", "schema.json")


def kb_init(config: Config, source: Path | None, out: IO[str]) -> int:
    """Copy a knowledge base into the configured knowledge folder, unless it already has one.

    Safe to run before every start (the systemd unit's ExecStartPre): a folder holding any
    knowledge file is left exactly as it is, so the admins' edits are never overwritten, and the
    source is not even looked at then (the seed may be gone once the copy exists).

    Args:
        source: the knowledge base to copy; None for the shipped one, which only a checkout or
            an editable install has (`pip install /path` does not package knowledge/).
    """
    target = config.knowledge_dir
    source = SHIPPED_KNOWLEDGE if source is None else source
    if source.resolve() == target.resolve():
        raise CliError(
            f"{target} is both the source and the knowledge folder to fill: point "
            f"KBBOT_KNOWLEDGE or --knowledge at a new folder, or name another source with --from"
        )
    try:
        if target.is_dir() and knowledge_files(target):
            out.write(f"{target} already holds a knowledge base; nothing copied\n")
            return EXIT_OK
        found = knowledge_files(source) if source.is_dir() else []
        if not found:
            raise CliError(
                f"{source} holds no knowledge files (*.yaml): name a knowledge base with --from DIR"
            )
        companions = [source / name for name in KB_COMPANION_FILES if (source / name).is_file()]
        files = [(path, path.name) for path in [*companions, *found]]
        files += _report_folder_files(source)
        copied = _copy_new_files(files, target)
    except OSError as exc:
        raise CliError(f"cannot copy {source} into {target}: {exc.strerror or exc}") from exc
    kept = len(files) - len(copied)
    out.write(
        f"copied {len(copied)} files from {source} into {target}"
        + (f" (kept {kept} already there)" if kept else "")
        + "\n"
    )
    return EXIT_OK


def _report_folder_files(source: Path) -> list[tuple[Path, str]]:
    """The files of the reports in folders of their own (knowledge/2020/...), by the name
    they have inside the knowledge base."""
    found = []
    for folder in sorted(source.iterdir()):
        if folder.name.startswith(".") or not (folder / REPORT_FILE).is_file():
            continue
        for path in [folder / REPORT_FILE, *knowledge_files(folder)]:
            found.append((path, f"{folder.name}/{path.name}"))
    return found


def _copy_new_files(files: Sequence[tuple[Path, str]], target: Path) -> list[str]:
    """Copy `files` (each a path and its name inside `target`, which may be in a report's
    folder) into the folder `target`, creating it; never replaces a file already there.

    The copies are made in a hidden staging folder first. A missing `target` is that folder
    renamed into place, so an interrupted copy never leaves half a knowledge base that the next
    run would take for a real one; into an existing folder (a mount point, say) each file is
    moved on its own. Returns the names copied.
    """
    existed = target.is_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = (target if existed else target.parent) / f".{target.name}.init-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        for path, name in files:
            (staging / name).parent.mkdir(exist_ok=True)
            shutil.copyfile(path, staging / name)
        if not existed:
            staging.rename(target)
            return [name for _, name in files]
        copied = []
        for _, name in files:
            if not (target / name).exists():
                (target / name).parent.mkdir(exist_ok=True)
                (staging / name).replace(target / name)
                copied.append(name)
        return copied
    finally:
        shutil.rmtree(staging, ignore_errors=True)
