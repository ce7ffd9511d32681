"""A plain `pip install .` (not editable) works from any directory: the knowledge base is
package data, found by `bot.config.SHIPPED_KNOWLEDGE` in a regular install as in a checkout.

The wheel is built offline from a copy of the sources (`pip wheel --no-deps
--no-build-isolation`, with the setuptools and wheel of the test extras), then installed into a
fresh virtual environment that borrows this one's dependencies, and run from another folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from bot.answering.knowledge import knowledge_files
from bot.config import SHIPPED_KNOWLEDGE, shipped_knowledge

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "bot", "knowledge")
PIP_TIMEOUT = 300


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        env={**os.environ, "PIP_NO_INDEX": "1"},
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    built = _pip(
        "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(source)
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [found] = dist.glob("kbbot-*.whl")
    return found


def test_the_wheel_ships_every_module_and_the_knowledge_base(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "bot").rglob("*.py")}
    assert modules <= names, f"left out of the wheel: {sorted(modules - names)}"
    assert "bot/answering/decision_model.json" in names
    shipped = {
        f"bot/shipped_knowledge/{p.name}"
        for p in [*knowledge_files(ROOT / "knowledge"), *(ROOT / "knowledge").glob("*.*")]
        if p.suffix in (".yaml", ".txt", ".json", ".md")
    }
    assert "bot/shipped_knowledge/report.txt" in shipped
    assert shipped <= names, f"knowledge files left out: {sorted(shipped - names)}"
    assert not any(name.startswith("knowledge/") for name in names), "no top-level package"


def test_every_package_under_bot_is_listed_for_setuptools() -> None:
    """pyproject.toml lists the packages (see its comment): a new one must be added there."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "bot").rglob("__init__.py")
    }
    assert found <= listed


def test_a_checkout_serves_the_knowledge_folder_beside_the_package(tmp_path: Path) -> None:
    assert SHIPPED_KNOWLEDGE == ROOT / "knowledge"
    installed = tmp_path / "site-packages" / "bot"
    (installed / "shipped_knowledge").mkdir(parents=True)
    assert shipped_knowledge(installed) == installed / "shipped_knowledge"


def test_a_regular_install_answers_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Dependencies from this environment (no network); kbbot itself only from the wheel.
    (Path(site) / "kbbot-test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    installed = _pip("--python", str(python), "install", "--no-deps", str(wheel))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KBBOT_", "PYTHON"))}
    env["KBBOT_DATA_DIR"] = str(tmp_path / "data")

    def kbbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "kbbot"), *args],
            capture_output=True,
            text=True,
            cwd=elsewhere,
            env=env,
            timeout=120,
        )

    where = subprocess.run(
        [str(python), "-c", "import bot.config as c; print(c.SHIPPED_KNOWLEDGE)"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=True,
    ).stdout.strip()
    assert Path(where) == Path(site) / "bot" / "shipped_knowledge"
    answer = kbbot("ask", "--no-log", "2019年收到多少行政复议申请")
    assert answer.returncode == 0, answer.stderr
    assert "29件" in answer.stdout and "来源：" in answer.stdout
    checked = kbbot("kb", "check")
    assert checked.returncode == 0 and "知识库检查通过" in checked.stdout, checked.stderr


def test_the_image_build_copies_every_folder_the_package_is_built_from() -> None:
    """deploy/Dockerfile runs `pip install /src`: /src must hold what pyproject.toml maps."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    folders = {"bot", *config["tool"]["setuptools"]["package-dir"].values()}
    copied = set()
    for line in (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and words[-1].startswith("/src/"):
            copied |= {word.rstrip("/") for word in words[1:-1] if not word.startswith("--")}
    assert folders <= copied, f"the image build does not copy {sorted(folders - copied)}"
