"""How `kbbot kb check` and `kbbot ask` start-up scale with the size of the knowledge base.

Run from the repository root:  python tests/bench/bench_kb_check.py [--sizes 1000 3000 10000]
[--jobs N] [--against DIR]

Not collected by pytest. For each size it writes a knowledge base to a temporary folder: the
shipped files, plus synthetic entries in files of at most 500 entries each, whose phrasings are
runs of the report's own text (so they compete with each other, as real entries do, and the
confusable-phrasing check has real work) and whose answer and passage are a sentence of the
report (so every passage check passes). Then it times, in the same run:

- the baseline: parsing every file of that base with libyaml (`yaml.CSafeLoader`, the parser
  the loader itself uses), the least any check must do;
- `kbbot kb check` (the function the command runs, output discarded), with `--jobs` worker
  processes (default: the command's own default, one per CPU) and in one process;
- `Engine.from_directory`, the start-up of `kbbot ask` and of the bot.

With `--against DIR` (another checkout, say `git worktree add /tmp/before HEAD~1`), it also
runs the command `kbbot kb check` itself, as a user would, once from DIR and once from this
checkout, on the same base and one right after the other, and prints a second table: wall-clock
and CPU seconds of each (CPU includes the worker processes), their ratio, and whether the two
printed the same report. On a machine shared with other work the wall-clock ratio moves with
the load; the CPU ratio much less.

Each time is reported in seconds and as a ratio to the baseline of the same size, so a figure
stays comparable across machines and load; the per-entry column shows whether the check is
linear (it stays flat as the size grows). The last column counts, untimed, the postings the
check's matcher walks per stored question (mean and most, over every tenth question): the part
of a question's cost that could grow with the base, and does not (see `Matcher._walks`).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.answering.document import REPORT_FILE, load_document  # noqa: E402
from bot.answering.engine import Engine  # noqa: E402
from bot.answering.knowledge import knowledge_files, load_knowledge  # noqa: E402
from bot.answering.text import Normaliser  # noqa: E402
from bot.authoring.audit import audit_matcher, default_jobs  # noqa: E402
from bot.cli.kb import kb_check  # noqa: E402
from bot.config import SHIPPED_KNOWLEDGE, Config  # noqa: E402
from bot.logurl import LogURL  # noqa: E402

ENTRIES_PER_FILE = 500
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENDINGS = ("是多少", "怎么样", "有哪些", "是什么情况", "")


def write_synthetic_base(target: Path, size: int, seed: int = 11) -> int:
    """Fill `target` with the shipped knowledge base plus synthetic entries up to `size`.

    Returns the number of entries written (the shipped ones included).
    """
    shutil.copytree(SHIPPED_KNOWLEDGE, target)
    document = load_document(target)
    assert document is not None, f"{REPORT_FILE} is missing from the shipped knowledge base"
    sentences = [s for s in document.sentences if len(s.text) >= 12]
    kb = load_knowledge(target)
    normalise = Normaliser(kb.synonyms)
    taken = {normalise(question) for entry in kb.entries for question in entry.questions}
    text = "".join(ch for ch in document.text if "\u4e00" <= ch <= "\u9fff")
    rng = random.Random(seed)
    entries: list[dict[str, object]] = []
    for n in range(max(size - len(kb.entries), 0)):
        sentence = rng.choice(sentences)
        questions = []
        for _ in range(rng.randint(3, 6)):
            start = rng.randrange(len(text) - 20)
            question = text[start : start + rng.randint(5, 14)] + rng.choice(ENDINGS)
            key = normalise(question)
            if key and key not in taken:
                taken.add(key)
                questions.append(question)
        if not questions:
            continue
        entries.append(
            {
                "id": f"synthetic-{n}",
                "topic": f"合成条目{n}",
                "questions": questions,
                "answer": sentence.text,
                "source": sentence.section,
                "passage": [sentence.text],
            }
        )
    for number, start in enumerate(range(0, len(entries), ENTRIES_PER_FILE)):
        chunk = entries[start : start + ENTRIES_PER_FILE]
        path = target / f"5{number:03d}-synthetic.yaml"
        path.write_text(
            yaml.safe_dump({"entries": chunk}, allow_unicode=True, sort_keys=False, width=4096),
            encoding="utf-8",
        )
    return len(kb.entries) + len(entries)


def _timed(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - start


def measure(size: int, scratch: Path, jobs: int) -> dict[str, float]:
    folder = scratch / f"kb-{size}"
    written = write_synthetic_base(folder, size)
    files = [*knowledge_files(folder)]
    config = Config(knowledge_dir=folder, db=LogURL.file(scratch / "unused.sqlite3"))
    baseline = _timed(
        lambda: [yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER) for path in files]
    )
    out, alone = io.StringIO(), io.StringIO()
    check = _timed(lambda: kb_check(config, out, jobs=jobs))
    assert "知识库检查通过" in out.getvalue(), out.getvalue()[-2000:]
    check_alone = _timed(lambda: kb_check(config, alone, jobs=1))
    assert alone.getvalue() == out.getvalue()
    start_up = _timed(lambda: Engine.from_directory(folder))
    size_kb = sum(path.stat().st_size for path in files) / 1024
    matcher = audit_matcher(load_knowledge(folder))
    questions = [q for entry in matcher.kb.entries for q in entry.questions]
    walked = [matcher.postings_walked(question) for question in questions[::10]]
    return {
        "entries": written,
        "kb": size_kb,
        "baseline": baseline,
        "check": check,
        "check_alone": check_alone,
        "start_up": start_up,
        "walked": sum(walked) / len(walked),
        "walked_most": max(walked),
    }


def command_time(tree: Path, folder: Path, scratch: Path) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (its workers included) of `kbbot kb check` run from `tree`
    with that checkout's default options, and the report it printed."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    for name in ("KBBOT_KNOWLEDGE", "KBBOT_DB", "KBBOT_CONFIG"):
        env.pop(name, None)
    command = [sys.executable, "-m", "bot", "kb", "check", "--knowledge", str(folder)]
    command += ["--db", str(scratch / "unused.sqlite3")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    assert done.returncode == 0, f"{tree}: {done.stderr[-2000:]}"
    return wall, cpu, done.stdout


def compare(size: int, entries: float, scratch: Path, against: Path) -> str:
    """A row of the second table: the command from `against` and from this checkout."""
    folder = scratch / f"kb-{size}"
    there_wall, there_cpu, there_report = command_time(against, folder, scratch)
    here_wall, here_cpu, here_report = command_time(ROOT, folder, scratch)
    same = "yes" if here_report == there_report else "**no**"
    return (
        f"| {entries:.0f} | {there_wall:.1f} s ({there_cpu:.1f} s) "
        f"| {here_wall:.1f} s ({here_cpu:.1f} s) "
        f"| {there_wall / here_wall:.1f}× ({there_cpu / here_cpu:.1f}×) | {same} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="kb check's --jobs")
    parser.add_argument(
        "--against", type=Path, metavar="DIR", help="a checkout to compare the command with"
    )
    args = parser.parse_args()
    print(
        f"| entries | files | YAML baseline | kb check ({args.jobs} processes) | check / baseline "
        "| check per entry | kb check (1 process) | start-up (ask) | start-up / baseline "
        "| postings walked per question |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    compared: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kbbot-bench-kb-") as scratch:
        for size in args.sizes:
            row = measure(size, Path(scratch), args.jobs)
            print(
                f"| {row['entries']:.0f} | {row['kb']:.0f} KB | {row['baseline']:.2f} s "
                f"| {row['check']:.2f} s | {row['check'] / row['baseline']:.1f}× "
                f"| {row['check'] / row['entries'] * 1000:.2f} ms "
                f"| {row['check_alone']:.2f} s "
                f"| {row['start_up']:.2f} s | {row['start_up'] / row['baseline']:.1f}× "
                f"| {row['walked']:.0f} (most {row['walked_most']:.0f}) |",
                flush=True,
            )
            if args.against is not None:
                against = args.against.resolve()
                compared.append(compare(size, row["entries"], Path(scratch), against))
    if compared:
        print("\n`kbbot kb check` as a command: wall-clock seconds (CPU seconds)\n")
        print(f"| entries | {args.against} | this checkout | speed-up | same report |")
        print("| --- | --- | --- | --- | --- |")
        print("\n".join(compared))


if __name__ == "__main__":
    main()
