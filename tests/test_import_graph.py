"""The direction of imports inside bot/: read from the source with `ast`, nothing is imported.

Only imports that run when a module is imported count (module level, outside
`if TYPE_CHECKING:`); an import inside a function runs later and cannot make a cycle at import
time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from bot.answering.engine import MAX_INPUT_CHARS
from bot.questionlog.protocol import STORED_LIMIT

BOT = Path(__file__).resolve().parent.parent / "bot"

# The question log's own modules: they must not reach answering, review, Telegram or the CLI.
QUESTION_LOG = {
    "bot.questionlog.protocol",
    "bot.questionlog.sqlite",
    "bot.questionlog.postgres",
    "bot.privacy",
    "bot.logurl",
}
# The backends, which only bot.questionlog.opening knows (it imports bot.questionlog.postgres
# when a PostgreSQL log is opened, inside a function: `anywhere_imports_of` finds that too).
BACKENDS = {"bot.questionlog.sqlite", "bot.questionlog.postgres"}
# Modules that may import the SQLite drivers. bot.telegram.inbox keeps Telegram's update journal
# (inbox.sqlite3, its own file and schema), not the question log.
SQL_SPEAKERS = {"bot.questionlog.sqlite", "bot.telegram.inbox"}
# The one module that may import PostgreSQL's driver.
POSTGRES_SPEAKERS = {"bot.questionlog.postgres"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in BOT.rglob("*.py")}


def _top_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                yield from _top_level(node.body)
                yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _top_level(block)
            for handler in node.handlers:
                yield from _top_level(handler.body)


@cache
def imports_of(module: str) -> frozenset[str]:
    """Every module `module` imports at import time: bot modules by name, others by their top
    package (sqlite3, aiosqlite, telegram)."""
    found: set[str] = set()
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in _top_level(tree.body):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            assert node.level == 0, f"{module}: use absolute imports"
            base = node.module or ""
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        for name in names:
            found.add(name if name.startswith("bot.") else name.split(".")[0])
    return frozenset(found)


@cache
def anywhere_imports_of(module: str) -> frozenset[str]:
    """Every bot module `module` imports, at import time or later (inside a function)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(name for name in found if name in MODULES)


def reached_from(module: str) -> set[str]:
    """`module` and every bot module it imports, directly or not."""
    seen = {module}
    todo = [module]
    while todo:
        for name in imports_of(todo.pop()):
            if name in MODULES and name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def test_only_the_entry_point_imports_the_cli() -> None:
    for module in MODULES:
        imported = {name for name in imports_of(module) if name.startswith("bot.cli")}
        if not module.startswith("bot.cli."):
            assert module == "bot.__main__" or not imported, f"{module} imports {imported}"
        if module != "bot.__main__":
            assert "bot.cli.main" not in imported, f"{module} imports bot.cli.main"


# The packages from the bottom up: a module imports only from its own layer or those below.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bot.privacy", "bot.logsetup", "bot.logurl", "bot.config"),
    ("bot.answering",),
    ("bot.questionlog",),
    ("bot.review",),
    ("bot.authoring",),
    ("bot.health", "bot.cli", "bot.telegram", "bot.__main__"),
)


def layer_of(module: str) -> int:
    for number, layer in enumerate(LAYERS):
        if any(module == name or module.startswith(name + ".") for name in layer):
            return number
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        if module != "bot":
            layer_of(module)


def test_no_module_imports_a_layer_above_its_own() -> None:
    for module in MODULES:
        if module == "bot":
            continue
        for name in imports_of(module):
            if name in MODULES and name != "bot":
                assert layer_of(name) <= layer_of(module), f"{module} imports {name}, above it"


def test_the_question_log_reaches_nothing_of_answering_review_or_telegram() -> None:
    for module in QUESTION_LOG:
        assert reached_from(module) <= QUESTION_LOG, module
        outside = {name for name in imports_of(module) if not name.startswith("bot.")}
        assert "telegram" not in outside, module


def test_opening_the_log_needs_only_the_log_and_the_configuration() -> None:
    assert reached_from("bot.questionlog.opening") <= QUESTION_LOG | {
        "bot.questionlog.opening",
        "bot.config",
        "bot.logsetup",
    }


def test_the_log_is_opened_one_way() -> None:
    """Only bot.questionlog.opening knows the backend classes; everyone else calls `open_log`."""
    for module in MODULES:
        for backend in BACKENDS & anywhere_imports_of(module):
            assert module == "bot.questionlog.opening", (
                f"{module} imports {backend}: use bot.questionlog.opening"
            )


def test_postgresql_is_imported_only_when_a_postgresql_log_is_opened() -> None:
    """The driver takes a quarter of a second to import: the embedded default never pays it."""
    assert "bot.questionlog.postgres" not in imports_of("bot.questionlog.opening")
    assert "bot.questionlog.postgres" in anywhere_imports_of("bot.questionlog.opening")
    assert "bot.questionlog.postgres" not in reached_from("bot.cli.main")


def test_only_the_store_speaks_sqlite() -> None:
    for module in MODULES:
        if {"sqlite3", "aiosqlite"} & imports_of(module):
            assert module in SQL_SPEAKERS, f"{module} imports a SQLite driver"


def test_only_the_postgresql_store_speaks_postgresql() -> None:
    for module in MODULES:
        if {"psycopg", "psycopg_pool", "asyncpg"} & imports_of(module):
            assert module in POSTGRES_SPEAKERS, f"{module} imports a PostgreSQL driver"


def test_only_bot_telegram_imports_telegram() -> None:
    for module in MODULES:
        if "telegram" in imports_of(module):
            assert module.startswith("bot.telegram."), module


def test_no_import_cycle_among_bot_modules() -> None:
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            cycle = (*path[path.index(module) :], module)
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for name in sorted(imports_of(module)):
            if name in MODULES:
                visit(name, (*path, module))
        done.add(module)

    for module in sorted(MODULES):
        visit(module, ())


def test_the_log_keeps_twice_what_the_engine_reads() -> None:
    assert STORED_LIMIT == 2 * MAX_INPUT_CHARS
