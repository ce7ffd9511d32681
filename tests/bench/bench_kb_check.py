"""How `kbbot kb check` and `kbbot ask` start-up scale with the size of the knowledge base.

Run from the repository root:  python tests/bench/bench_kb_check.py [--sizes 1000 3000 10000]

Not collected by pytest. For each size it writes a knowledge base to a temporary folder: the
shipped files, plus synthetic entries in files of at most 500 entries each, whose phrasings are
runs of the report's own text (so they compete with each other, as real entries do, and the
confusable-phrasing check has real work) and whose answer and passage are a sentence of the
report (so every passage check passes). Then it times, in the same run:

- the baseline: parsing every file of that base with libyaml (`yaml.CSafeLoader`, the parser
  the loader itself uses), the least any check must do;
- `kbbot kb check` (the function the command runs, output discarded);
- `Engine.from_directory`, the start-up of `kbbot ask` and of the bot.

Each time is reported in seconds and as a ratio to the baseline of the same size, so a figure
stays comparable across machines and load; the per-entry column shows whether the check is
linear (it stays flat as the size grows). The last column counts, untimed, the postings the
check's matcher walks per stored question (mean and most, over every tenth question): the part
of a question's cost that could grow with the base, and does not (see `Matcher._walks`).
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.audit import audit_matcher  # noqa: E402
from bot.cli import kb_check  # noqa: E402
from bot.config import SHIPPED_KNOWLEDGE, Config  # noqa: E402
from bot.document import REPORT_FILE, load_document  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.knowledge import knowledge_files, load_knowledge  # noqa: E402
from bot.text import Normaliser  # noqa: E402

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


def measure(size: int, scratch: Path) -> dict[str, float]:
    folder = scratch / f"kb-{size}"
    written = write_synthetic_base(folder, size)
    files = [*knowledge_files(folder)]
    config = Config(knowledge_dir=folder, db_path=scratch / "unused.sqlite3")
    baseline = _timed(
        lambda: [yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER) for path in files]
    )
    out = io.StringIO()
    check = _timed(lambda: kb_check(config, out))
    assert "知识库检查通过" in out.getvalue(), out.getvalue()[-2000:]
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
        "start_up": start_up,
        "walked": sum(walked) / len(walked),
        "walked_most": max(walked),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    args = parser.parse_args()
    print(
        "| entries | files | YAML baseline | kb check | check / baseline | check per entry "
        "| start-up (ask) | start-up / baseline | postings walked per question |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="kbbot-bench-kb-") as scratch:
        for size in args.sizes:
            row = measure(size, Path(scratch))
            print(
                f"| {row['entries']:.0f} | {row['kb']:.0f} KB | {row['baseline']:.2f} s "
                f"| {row['check']:.2f} s | {row['check'] / row['baseline']:.1f}× "
                f"| {row['check'] / row['entries'] * 1000:.2f} ms "
                f"| {row['start_up']:.2f} s | {row['start_up'] / row['baseline']:.1f}× "
                f"| {row['walked']:.0f} (most {row['walked_most']:.0f}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
