from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answering.knowledge import (
    MAX_FILE_BYTES,
    NAMED_IN_RELOAD_LINE,
    KnowledgeError,
    Problem,
    describe_reload,
    load_knowledge,
)

GOOD_ENTRY = """\
  - id: {id}
    topic: 主题
    questions: [{question}]
    answer: 答案。
    source: 一、工作情况（一）强化各级干部法治思维
"""


def write(kb_dir: Path, name: str, text: str) -> Path:
    path = kb_dir / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(kb_dir: Path) -> list[Problem]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_dir)
    return [p for p in caught.value.problems if p.severity == "error"]


def test_fixture_knowledge_base_loads(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir)
    assert [e.id for e in kb.entries][:2] == [
        "reconsideration-applications",
        "reconsideration-acceptance",
    ]
    entry = kb.by_id["law-firms"]
    assert entry.source == "一、工作情况（九）提升法律顾问效能"
    assert entry.file.endswith("10-work.yaml") and entry.line > 1
    assert kb.synonyms["律所"] == "律师事务所"
    assert kb.replies["suggest_intro"]
    assert kb.topics()[0] == "行政复议申请数量"


def test_broken_yaml_names_file_and_line(kb_dir: Path) -> None:
    write(kb_dir, "20-bad.yaml", "entries:\n  - id: x\n    topic: [unclosed\n    answer: a\n")
    [problem] = errors_of(kb_dir)
    assert problem.file.endswith("20-bad.yaml")
    assert problem.line in (3, 4, 5)
    assert "YAML" in problem.message
    assert str(problem).startswith(f"{problem.file}:{problem.line}:")


def test_missing_fields_are_listed(kb_dir: Path) -> None:
    write(kb_dir, "20-bad.yaml", "entries:\n  - id: lonely\n    topic: 主题\n")
    [problem] = errors_of(kb_dir)
    assert problem.line == 2
    assert "lonely" in problem.message
    for field in ("questions", "answer", "source"):
        assert field in problem.message


def test_unknown_keys_name_the_allowed_ones(kb_dir: Path) -> None:
    text = "entries:\n" + GOOD_ENTRY.format(id="x-1", question="独特问题一") + "    anwser: typo\n"
    write(kb_dir, "20-bad.yaml", text)
    [problem] = errors_of(kb_dir)
    assert problem.line == 7
    assert "anwser" in problem.message and "answer" in problem.message


def test_duplicate_ids_point_at_the_first_use(kb_dir: Path) -> None:
    text = "entries:\n" + GOOD_ENTRY.format(id="law-firms", question="独特问题二")
    write(kb_dir, "20-bad.yaml", text)
    [problem] = errors_of(kb_dir)
    assert problem.file.endswith("20-bad.yaml")
    assert "law-firms" in problem.message and "10-work.yaml" in problem.message


def test_same_question_under_two_entries(kb_dir: Path) -> None:
    # Same after normalisation: traditional characters and punctuation do not make it different.
    text = "entries:\n" + GOOD_ENTRY.format(id="copy", question="法律顧問覆蓋情況？")
    write(kb_dir, "20-bad.yaml", text)
    [problem] = errors_of(kb_dir)
    assert "legal-adviser-coverage" in problem.message


def test_related_ids_must_exist(kb_dir: Path) -> None:
    text = (
        "entries:\n" + GOOD_ENTRY.format(id="x-2", question="独特问题三") + "    related: [nope]\n"
    )
    write(kb_dir, "20-bad.yaml", text)
    [problem] = errors_of(kb_dir)
    assert "nope" in problem.message


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (
            "entries:\n  - id: Bad_ID\n    topic: t\n    questions: [q问]\n    answer: a\n    source: s\n",
            "id",
        ),
        (
            "entries:\n  - id: ok-1\n    topic: t\n    questions: 不是列表\n    answer: a\n    source: s\n",
            "列表",
        ),
        (
            "entries:\n  - id: ok-2\n    topic: t\n    questions: []\n    answer: a\n    source: s\n",
            "至少",
        ),
        (
            "entries:\n  - id: ok-3\n    topic: t\n    questions: [q问]\n    answer: ''\n    source: s\n",
            "不能为空",
        ),
        (
            "entries:\n  - id: ok-4\n    topic: {a: b}\n    questions: [q问]\n    answer: a\n    source: s\n",
            "文字",
        ),
        ("entries: {}\n", "条目列表"),
        ("- just a list\n", "顶层"),
        ("entries: []\nextra: 1\n", "extra"),
    ],
)
def test_shape_errors_are_explained(kb_dir: Path, snippet: str, expected: str) -> None:
    write(kb_dir, "20-bad.yaml", snippet)
    problems = errors_of(kb_dir)
    assert any(expected in p.message for p in problems), problems
    assert all(p.file.endswith("20-bad.yaml") for p in problems)


def test_anchors_and_aliases_are_refused(kb_dir: Path) -> None:
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nentries: []\n'
    write(kb_dir, "20-bomb.yaml", bomb)
    [problem] = errors_of(kb_dir)
    assert "锚点" in problem.message and problem.line == 1


def test_deep_nesting_is_refused(kb_dir: Path) -> None:
    write(kb_dir, "20-deep.yaml", "entries: " + "[" * 50 + "]" * 50 + "\n")
    [problem] = errors_of(kb_dir)
    assert "嵌套" in problem.message


def test_huge_files_are_refused(kb_dir: Path) -> None:
    write(kb_dir, "20-huge.yaml", "# " + "x" * MAX_FILE_BYTES + "\n")
    [problem] = errors_of(kb_dir)
    assert "过大" in problem.message


def test_non_utf8_is_reported(kb_dir: Path) -> None:
    (kb_dir / "20-gbk.yaml").write_bytes("entries: []  # 中文".encode("gbk"))
    [problem] = errors_of(kb_dir)
    assert "UTF-8" in problem.message


def test_synonym_listed_under_two_canonicals(kb_dir: Path) -> None:
    write(kb_dir, "synonyms.yaml", "synonyms:\n  律师事务所: [律所]\n  律师: [律所]\n")
    [problem] = errors_of(kb_dir)
    assert problem.line == 3 and "律所" in problem.message


def test_replies_must_define_every_message(kb_dir: Path) -> None:
    write(kb_dir, "replies.yaml", "messages:\n  welcome: 你好\n")
    problems = errors_of(kb_dir)
    assert any("no_answer" in p.message for p in problems)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="不存在"):
        load_knowledge(tmp_path / "nowhere")


def test_all_errors_are_reported_at_once(kb_dir: Path) -> None:
    write(kb_dir, "20-a.yaml", "entries:\n  - id: a-1\n")
    write(kb_dir, "21-b.yaml", "entries: [\n")
    files = {Path(p.file).name for p in errors_of(kb_dir)}
    assert files == {"20-a.yaml", "21-b.yaml"}


def test_warnings_do_not_block_loading(kb_dir: Path) -> None:
    long_answer = "很长的答案。" * 80
    text = "entries:\n" + GOOD_ENTRY.format(id="x-3", question="独特问题四").replace(
        "答案。", long_answer
    )
    write(kb_dir, "20-long.yaml", text)
    kb = load_knowledge(kb_dir)
    assert any(p.severity == "warning" and "较长" in p.message for p in kb.warnings)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_file_content_gives_a_result_or_located_problems(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    kb_dir = tmp_path_factory.mktemp("kb")
    from tests.conftest import FIXTURE_KNOWLEDGE

    for src in FIXTURE_KNOWLEDGE.iterdir():
        (kb_dir / src.name).write_bytes(src.read_bytes())
    (kb_dir / "20-fuzz.yaml").write_text(text, encoding="utf-8")
    try:
        load_knowledge(kb_dir)
    except KnowledgeError as exc:
        assert exc.problems
        assert all(isinstance(p.line, int) and p.file for p in exc.problems)


def test_folded_chinese_lines_join_without_spaces(kb_dir: Path) -> None:
    text = (
        "entries:\n  - id: folded\n    topic: 折行\n    questions: [折行的答案]\n"
        "    answer: >-\n      第一行中文，\n      第二行中文 and English\n      words。\n"
        "    source: 报告导语\n"
    )
    write(kb_dir, "20-folded.yaml", text)
    kb = load_knowledge(kb_dir)
    assert kb.by_id["folded"].answer == "第一行中文，第二行中文 and English words。"
    assert "\n" in kb.replies["help"]  # literal blocks keep their line breaks


def test_spaces_around_symbols_are_kept(kb_dir: Path) -> None:
    text = kb_dir / "replies.yaml"
    text.write_text(
        text.read_text(encoding="utf-8").replace("button_back: ", "button_back: « "),
        encoding="utf-8",
    )
    kb = load_knowledge(kb_dir)
    assert kb.replies["button_back"].startswith("« ")


# --- the reload line --------------------------------------------------------------------------


def test_the_reload_line_names_what_changed(kb_dir: Path, tmp_path: Path) -> None:
    before = load_knowledge(kb_dir)
    edited = tmp_path / "edited"
    shutil.copytree(kb_dir, edited)
    work = edited / "10-work.yaml"
    text = work.read_text(encoding="utf-8")
    text = text.replace("全区政府系统62个部门", "全区政府系统63个部门")  # legal-adviser-coverage
    text = text.replace("id: law-firms", "id: law-firms-2019")  # one removed, one added
    work.write_text("# a comment moves every entry down a line\n" + text, encoding="utf-8")
    synonyms = edited / "synonyms.yaml"
    synonyms.write_text(synonyms.read_text(encoding="utf-8") + "  出庭: [到庭]\n", encoding="utf-8")
    after = load_knowledge(edited)
    assert describe_reload(before, after) == (
        "knowledge reloaded: 5 entries; 1 added (law-firms-2019), "
        "1 changed (legal-adviser-coverage), 1 removed (law-firms) in 10-work.yaml; "
        "synonyms changed"
    )


def test_a_reload_of_the_same_files_says_nothing_changed(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir)
    moved = dataclasses.replace(
        kb, entries=tuple(dataclasses.replace(e, line=e.line + 1) for e in kb.entries)
    )
    assert describe_reload(kb, moved) == "knowledge reloaded: 5 entries; nothing changed"


def test_a_reload_line_names_a_few_ids_and_counts_the_rest(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir)
    template = kb.entries[0]
    ids = [f"new-{n}" for n in range(NAMED_IN_RELOAD_LINE + 2)]
    grown = dataclasses.replace(
        kb, entries=kb.entries + tuple(dataclasses.replace(template, id=i) for i in ids)
    )
    named = ", ".join(ids[:NAMED_IN_RELOAD_LINE])
    file = Path(template.file).name
    assert describe_reload(kb, grown) == (
        f"knowledge reloaded: {len(grown.entries)} entries; "
        f"{len(ids)} added ({named} and 2 more) in {file}"
    )


def test_a_message_added_since_a_folder_was_written_has_its_default() -> None:
    """A knowledge folder from before `missing_rank`, `missing_duration`,
    `missing_standard`, `missing_nearby`, `missing_named`, `missing_term`, `missing_dated`,
    `missing_means` and `smalltalk_writing` existed still loads, and says them."""
    from bot.answering.knowledge import DEFAULT_MESSAGES
    from tests.conftest import FIXTURE_KNOWLEDGE

    written = (FIXTURE_KNOWLEDGE / "replies.yaml").read_text(encoding="utf-8")
    kb = load_knowledge(FIXTURE_KNOWLEDGE)
    added_later = (
        "missing_rank",
        "missing_duration",
        "missing_standard",
        "missing_nearby",
        "missing_named",
        "missing_term",
        "missing_dated",
        "missing_means",
        "smalltalk_writing",
    )
    for added in added_later:
        assert added not in written
        assert kb.replies[added] == DEFAULT_MESSAGES[added]


def test_every_kind_of_missing_detail_has_words_in_any_folder() -> None:
    """What the report lacks is said with `missing_<kind>`: every kind a conflict can name
    is required of replies.yaml or has a default, so no folder lacks one at run time."""
    from bot.answering.constraints import Asked, ConflictKind
    from bot.answering.knowledge import DEFAULT_MESSAGES, REQUIRED_MESSAGES

    details = [a.value for a in Asked] + [
        k.value for k in ConflictKind if k is not ConflictKind.ASKED
    ]
    for detail in [*details, "breakdown"]:
        key = f"missing_{detail}"
        assert key in REQUIRED_MESSAGES or key in DEFAULT_MESSAGES, key


def test_distinct_groups_are_read_from_the_synonyms_file(kb_dir: Path) -> None:
    synonyms = (kb_dir / "synonyms.yaml").read_text(encoding="utf-8")
    write(kb_dir, "synonyms.yaml", "distinct:\n  - [行政复议, 行政诉讼]\n" + synonyms)
    kb = load_knowledge(kb_dir)
    assert kb.distinct == (("行政复议", "行政诉讼"),)


@pytest.mark.parametrize(
    ("distinct", "complaint"),
    [
        ("  - [行政复议]\n", "至少要有两个"),
        ("  - [行政复议, 行政诉讼]\n  - [行政诉讼, 出庭应诉]\n", "只能在一组"),
        ("  行政复议: 行政诉讼\n", "词组的列表"),
    ],
)
def test_a_malformed_distinct_group_is_an_error(
    kb_dir: Path, distinct: str, complaint: str
) -> None:
    synonyms = (kb_dir / "synonyms.yaml").read_text(encoding="utf-8")
    write(kb_dir, "synonyms.yaml", "distinct:\n" + distinct + synonyms)
    assert any(complaint in p.message for p in errors_of(kb_dir))


def test_a_distinct_term_is_written_in_the_reports_words(kb_dir: Path) -> None:
    """A variant the synonyms rewrite is an error; a term no entry uses, a warning."""
    write(
        kb_dir,
        "synonyms.yaml",
        "distinct:\n  - [复议, 行政诉讼, 行政强制]\nsynonyms:\n  行政复议: [复议]\n",
    )
    assert any("`复议` 是 `行政复议` 的同义说法" in p.message for p in errors_of(kb_dir))
    write(
        kb_dir,
        "synonyms.yaml",
        "distinct:\n  - [行政诉讼, 行政强制]\nsynonyms:\n  行政复议: [复议]\n",
    )
    warned = [p.message for p in load_knowledge(kb_dir).warnings]
    assert any("`行政强制` 没有出现在任何条目里" in message for message in warned)


def test_a_changed_distinct_group_is_reported_on_reload(kb_dir: Path) -> None:
    before = load_knowledge(kb_dir)
    after = dataclasses.replace(before, distinct=(("行政复议", "行政诉讼"),))
    assert "synonyms changed" in describe_reload(before, after)
