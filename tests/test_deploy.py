"""deploy/ agrees with the code: settings, commands, paths, ports, users and the systemd unit.

Nothing here builds an image or starts a service (no Docker engine in CI); the files are parsed
and checked against what the code really reads and runs, so renaming a setting, a command or
a path in one place and forgetting the other fails here instead of at a district's first
deployment.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

from bot.cli.main import build_parser, run
from bot.cli.settings import SETTINGS
from bot.config import DEV_QUESTIONS, SHIPPED_KNOWLEDGE, Config, read_env_file
from bot.questionlog.writer import LogQueue
from bot.telegram.health import HEALTH_PATH
from tests import pglog

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / ".env.example"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
UNIT = DEPLOY / "kbbot.service"
NGINX = DEPLOY / "nginx.conf"
CADDY = DEPLOY / "Caddyfile"
DOCS = (DEPLOY / "README.md", ROOT / "README.md")
FIXTURE_KNOWLEDGE = ROOT / "tests" / "fixtures" / "knowledge"
DEPLOY_FILES = (ENV_EXAMPLE, DOCKERFILE, COMPOSE, UNIT, NGINX, CADDY, *DOCS)
TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
NAME_RE = re.compile(r"\bKBBOT_[A-Z0-9_]+\b")
SETTING_LINE_RE = re.compile(r"^#?\s*(KBBOT_[A-Z0-9_]+)=(.*)$")


# --- what the code reads ---------------------------------------------------------------------


class RecordingEnv(Mapping[str, str]):
    """An environment that remembers every variable the configuration code looks up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.values[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def settings_the_code_reads(tmp_path: Path) -> set[str]:
    env = RecordingEnv({"KBBOT_DATA_DIR": str(tmp_path)})
    Config.from_env(env)
    return {name for name in env.read if name.startswith("KBBOT_")}


def names_in(path: Path) -> set[str]:
    return set(NAME_RE.findall(path.read_text(encoding="utf-8")))


def example_settings() -> dict[str, tuple[str, bool]]:
    """.env.example's settings: name -> (value, commented out)."""
    found: dict[str, tuple[str, bool]] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = SETTING_LINE_RE.match(line)
        if match:
            assert match[1] not in found, f"{match[1]} is listed twice in .env.example"
            found[match[1]] = (match[2], line.startswith("#"))
    return found


# --- settings --------------------------------------------------------------------------------


def test_env_example_lists_exactly_the_settings_the_code_reads(tmp_path: Path) -> None:
    read = settings_the_code_reads(tmp_path)
    listed = set(example_settings())
    assert read - listed == set(), "settings missing from deploy/.env.example"
    assert listed - read == set(), "deploy/.env.example lists settings the code ignores"


@pytest.mark.parametrize("path", DEPLOY_FILES, ids=lambda p: p.name)
def test_every_setting_a_deploy_file_names_exists(path: Path, tmp_path: Path) -> None:
    # The tests' own settings (the PostgreSQL server the log's tests use) are not kbbot's.
    tests_read = {pglog.SERVER_ENV, pglog.REQUIRE_ENV}
    unknown = names_in(path) - settings_the_code_reads(tmp_path) - tests_read
    assert unknown == set(), f"{path.name} names settings the code does not read"


def test_kbbot_config_shows_every_setting_and_every_field(tmp_path: Path) -> None:
    assert {s.env for s in SETTINGS} == settings_the_code_reads(tmp_path)
    covered = {s.field for s in SETTINGS if s.field is not None}
    assert covered == {f.name for f in dataclasses.fields(Config)}


def test_commented_values_in_env_example_are_the_real_defaults(tmp_path: Path) -> None:
    base = {"KBBOT_DATA_DIR": str(tmp_path)}
    defaults = Config.from_env(base)
    for name, (value, commented) in example_settings().items():
        if name == "KBBOT_DATA_DIR":
            continue
        if commented and value:
            assert Config.from_env({**base, name: value}) == defaults, f"{name}={value}"
        if not commented:
            assert value == "", f"{name} must be left for the operator to fill in"


def test_env_example_is_a_valid_env_file_once_filled_in(tmp_path: Path) -> None:
    values = read_env_file(ENV_EXAMPLE)
    assert values == {"KBBOT_TOKEN": "", "KBBOT_ADMINS": ""}
    filled = {**values, "KBBOT_TOKEN": TOKEN, "KBBOT_ADMINS": "1,2"}
    config = Config.from_env({**filled, "KBBOT_DATA_DIR": str(tmp_path)})
    assert config.token == TOKEN and config.admins == {1, 2}


def test_the_env_file_is_never_committed() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "deploy/.env" in ignored or ".env" in ignored
    dockerignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "**/.env" in dockerignore.split() and "**/*.sqlite3*" in dockerignore.split()


# --- commands --------------------------------------------------------------------------------


def assert_kbbot_command(args: list[str], where: str) -> None:
    try:
        build_parser().parse_args(args)
    except SystemExit as exc:
        raise AssertionError(f"{where}: `kbbot {' '.join(args)}` is not a kbbot command") from exc


def _segments(line: str) -> Iterator[list[str]]:
    for part in re.split(r"&&|\|\||;|\||\$\(", line):
        try:
            tokens = shlex.split(part, comments=True)
        except ValueError:
            continue
        while tokens and (re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[0]) or tokens[0] == "sudo"):
            tokens = tokens[1:]
            while tokens and tokens[0].startswith("-"):  # sudo -u kbbot
                tokens = tokens[2:] if tokens[0] in ("-u", "-g") else tokens[1:]
        redirect = next((i for i, t in enumerate(tokens) if re.match(r"^\d?[<>]", t)), None)
        tokens = tokens[:redirect]
        if tokens:
            yield tokens


def kbbot_invocations(line: str) -> Iterator[list[str]]:
    """`kbbot ...` commands in a shell line, also run through `docker compose exec SERVICE`
    or `systemd-run [options]`."""
    for tokens in _segments(line):
        if Path(tokens[0]).name == "kbbot":
            yield tokens[1:]
        elif tokens[0] == "systemd-run":
            found = [
                i
                for i, token in enumerate(tokens)
                if "=" not in token and Path(token).name == "kbbot"
            ]
            if found:
                yield tokens[found[0] + 1 :]
        elif tokens[0] == "docker" and ("exec" in tokens or "run" in tokens):
            rest = tokens[tokens.index("exec" if "exec" in tokens else "run") + 1 :]
            while rest and rest[0].startswith("-"):
                rest = rest[2:] if rest[0] in ("-u", "--user", "-e", "--env") else rest[1:]
            if len(rest) >= 2 and Path(rest[1]).name == "kbbot":
                yield rest[2:]


def code_block_lines(path: Path) -> Iterator[str]:
    """Shell lines of the fenced code blocks, backslash continuations joined."""
    inside, pending = False, ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            inside, pending = not inside, ""
        elif inside:
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            yield pending + line
            pending = ""


def documented_commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in DOCS:
        for line in code_block_lines(path):
            found += [(path.name, args) for args in kbbot_invocations(line)]
    return found


def test_every_documented_kbbot_command_exists() -> None:
    found = documented_commands()
    for where, args in found:
        assert_kbbot_command(args, where)
    used = {args[0] for _, args in found if args}
    # The extraction really finds the deployment story's commands, not nothing.
    assert {"run", "health", "config", "log", "kb"} <= used


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    logical, current = [], ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip():
            logical.append(current.strip())
        current = ""
    pairs = []
    for line in logical:
        word, _, rest = line.partition(" ")
        pairs.append((word.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    return instructions[starts[-1] :]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in final_stage():
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def test_the_dockerfile_runs_existing_commands() -> None:
    stage = dict(final_stage())
    cmd = json.loads(stage["CMD"])
    assert cmd[0] == "kbbot"
    assert_kbbot_command(cmd[1:], "Dockerfile CMD")
    healthcheck = stage["HEALTHCHECK"]
    probe = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert probe == ["kbbot", "health"]


def test_compose_runs_existing_commands() -> None:
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["kbbot"]
    assert service["command"][0] == "kbbot"
    assert_kbbot_command(service["command"][1:], "compose command")
    assert service["healthcheck"]["test"] == ["CMD", "kbbot", "health"]


def unit_directives() -> list[tuple[str, str, str]]:
    """(section, key, value) for every directive of the systemd unit."""
    section, found = "", []
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def unit(key: str) -> list[str]:
    return [value for _, k, value in unit_directives() if k == key]


def test_the_systemd_unit_runs_existing_commands() -> None:
    commands = unit("ExecStartPre") + unit("ExecStart")
    assert commands
    for command in commands:
        program, *args = shlex.split(command.lstrip("-+!@:"))
        assert Path(program).name == "kbbot" and Path(program).is_absolute()
        assert_kbbot_command(args, f"kbbot.service {command}")
    assert any(shlex.split(c)[1:] == ["run"] for c in unit("ExecStart"))


# --- systemd ---------------------------------------------------------------------------------


def test_the_systemd_unit_is_sandboxed_and_keeps_its_data() -> None:
    assert unit("DynamicUser") == ["yes"] or unit("User") not in ([], ["root"])
    assert unit("ProtectSystem") == ["strict"]
    assert unit("Restart") == ["on-failure"]
    assert unit("NoNewPrivileges") == ["yes"] and unit("CapabilityBoundingSet") == [""]
    [state] = unit("StateDirectory")
    environment = dict(item.split("=", 1) for item in unit("Environment"))
    # ProtectSystem=strict leaves only the StateDirectory writable: the data must live there.
    assert environment["KBBOT_DATA_DIR"] == f"%S/{state}"
    # The token belongs in the root-only EnvironmentFile, never in the unit itself.
    assert "KBBOT_TOKEN" not in environment and unit("EnvironmentFile")


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)\s*(s|sec|min|m)?", text.strip())
    assert match, text
    return float(match[1]) * (60 if match[2] in ("min", "m") else 1)


def test_stop_timeouts_leave_time_to_write_the_question_log() -> None:
    """SIGTERM makes the bot drain its log queue for up to LogQueue.close's `drain_for`
    (10 s by default); killing it sooner would cut that short."""
    drain = LogQueue.close.__defaults__[0]  # type: ignore[index]
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["kbbot"]
    assert _seconds(service["stop_grace_period"]) >= drain + 10
    [timeout] = unit("TimeoutStopSec")
    assert _seconds(timeout) >= drain + 10
    assert dict(final_stage()).get("STOPSIGNAL", "SIGTERM") == "SIGTERM"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` also checks that ExecStart= programs exist, so the unit's
    install prefix is pointed at the virtualenv running these tests."""
    [start] = unit("ExecStart")
    prefix = str(Path(shlex.split(start)[0]).parent)
    installed = Path(sys.executable).parent
    if not (installed / "kbbot").exists():
        pytest.skip("kbbot is not installed next to this Python")
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(prefix, str(installed)), "utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    # verify only warns (exit 0) about unknown or misspelt directives: any output is a failure.
    assert result.returncode == 0 and output == "", output


# --- Docker ----------------------------------------------------------------------------------


def test_the_image_is_slim_unprivileged_and_healthchecked() -> None:
    bases = [rest.split()[0] for word, rest in dockerfile_instructions() if word == "FROM"]
    assert all(
        re.fullmatch(r"python:\$\{PYTHON_VERSION\}-slim|python:3\.\d+-slim", b) for b in bases
    )
    stage = dict(final_stage())
    user = stage["USER"].split(":")[0]
    assert user not in ("", "0", "root")
    interval = re.search(r"--interval=(\d+)s", stage["HEALTHCHECK"])
    assert interval and int(interval[1]) >= 10


def test_the_data_and_knowledge_directories_are_volumes() -> None:
    env = dockerfile_env()
    volumes = json.loads(dict(final_stage())["VOLUME"])
    assert env["KBBOT_DATA_DIR"] in volumes and env["KBBOT_KNOWLEDGE"] in volumes
    # A fresh named volume copies the image's directory, owner included: the bot's user must
    # own the data directory, or the first write fails.
    setup = " ".join(rest for word, rest in final_stage() if word == "RUN")
    uid = dict(final_stage())["USER"].split(":")[0]
    assert f"--uid {uid}" in setup and f"chown kbbot:kbbot {env['KBBOT_DATA_DIR']}" in setup
    # In a container the webhook server must listen beyond the container's own loopback.
    assert env["KBBOT_WEBHOOK_LISTEN"] == "0.0.0.0"
    assert dict(final_stage())["EXPOSE"] == str(Config(Path(), Path()).webhook_port)


def test_everything_the_dockerfile_copies_exists_and_is_in_the_build_context() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for word, rest in dockerfile_instructions():
        if word != "COPY" or "--from=" in rest:
            continue
        *sources, _target = [arg for arg in shlex.split(rest) if not arg.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert source.rstrip("/") in kept, f"COPY {source}: excluded from the build context"


def compose_mounts() -> dict[str, tuple[str, list[str]]]:
    """The kbbot service's volumes (short syntax): container path -> (source, options)."""
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["kbbot"]
    mounts = {}
    for volume in service["volumes"]:
        source, target, *options = volume.split(":")
        mounts[target] = (source, options)
    return mounts


def test_compose_mounts_the_image_volumes_and_exposes_only_loopback() -> None:
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["kbbot"]
    build = service["build"]
    assert (COMPOSE.parent / build["context"]).resolve() == ROOT
    assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    assert service["env_file"] == ".env" and (DEPLOY / ".env.example").exists()
    env = dockerfile_env()
    mounts = compose_mounts()
    data_source, _ = mounts[env["KBBOT_DATA_DIR"]]
    assert not data_source.startswith((".", "/")), "the data should be a named volume"
    assert data_source in yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["volumes"]
    assert env["KBBOT_KNOWLEDGE"] in mounts
    port = Config(Path(), Path()).webhook_port
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert service["read_only"] is True and "/tmp" in service["tmpfs"]
    assert service["cap_drop"] == ["ALL"] and service["restart"] == "unless-stopped"


# --- the postgres profile: two workers on one PostgreSQL log ------------------------------------

# The single-worker deployment, as it was before the postgres profile: `docker compose up`
# without a profile must keep starting exactly this.
SINGLE_WORKER = {
    "build": {"context": "..", "dockerfile": "deploy/Dockerfile"},
    "image": "kbbot:latest",
    "command": ["kbbot", "run"],
    "env_file": ".env",
    "volumes": ["kbbot-data:/data", "kbbot-knowledge:/knowledge"],
    "ports": ["127.0.0.1:8443:8443"],
    "restart": "unless-stopped",
    "read_only": True,
    "tmpfs": ["/tmp"],
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "stop_grace_period": "30s",
    "healthcheck": {
        "test": ["CMD", "kbbot", "health"],
        "interval": "30s",
        "timeout": "10s",
        "start_period": "30s",
        "retries": 3,
    },
    "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}},
}
# What the README gives KBBOT_DB for the profile: the postgres service, as its user and database.
PROFILE_DB = "postgresql://kbbot@postgres:5432/kbbot"


def compose_services(profiles: Iterable[str] = ()) -> dict[str, dict[str, object]]:
    """The services `docker compose --profile P ...` starts: those of no profile, and those
    of an active one."""
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    active = set(profiles)
    return {
        name: service
        for name, service in services.items()
        if "profiles" not in service or active & set(service["profiles"])
    }


def test_without_a_profile_compose_is_the_single_worker_sqlite_deployment() -> None:
    assert compose_services() == {"kbbot": SINGLE_WORKER}
    # Its log is the default: a SQLite file in the data volume (KBBOT_DB left commented out).
    assert example_settings()["KBBOT_DB"] == ("", True)


def test_the_postgres_profile_adds_a_second_worker_and_their_database() -> None:
    services = compose_services(["postgres"])
    assert set(services) == {"kbbot", "kbbot-2", "postgres"}
    first, second = services["kbbot"], services["kbbot-2"]
    assert first == SINGLE_WORKER
    # The second worker is the first's twin: the same image, command and env file (so the same
    # KBBOT_DB, KBBOT_SECRET and KBBOT_WEBHOOK_SECRET), hardening and health check ...
    differ = {"volumes", "ports", "profiles", "depends_on"}
    assert {k: v for k, v in second.items() if k not in differ} == {
        k: v for k, v in first.items() if k not in differ
    }
    # ... with a data volume of its own (its inbox) and the same knowledge base.
    mounts = {target: source for source, target in (v.split(":") for v in second["volumes"])}
    firsts = {target: source for source, target in (v.split(":") for v in first["volumes"])}
    env = dockerfile_env()
    data, knowledge = env["KBBOT_DATA_DIR"], env["KBBOT_KNOWLEDGE"]
    assert mounts[knowledge] == firsts[knowledge] and mounts[data] != firsts[data]
    volumes = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["volumes"]
    assert mounts[data] in volumes and not mounts[data].startswith((".", "/"))
    assert second["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert len(set(published_ports())) == 2


def test_the_postgres_profile_database_is_the_one_the_workers_are_told_to_use() -> None:
    db = compose_services(["postgres"])["postgres"]
    environment = db["environment"]
    assert isinstance(environment, dict)
    url = urlsplit(PROFILE_DB)
    # The service's name is the host the workers reach it by; the user and database it makes.
    assert url.hostname == "postgres" and url.port == 5432
    assert environment["POSTGRES_USER"] == url.username
    assert environment["POSTGRES_DB"] == url.path.lstrip("/")
    # The password comes from deploy/.env, which the workers read for libpq too.
    assert environment["POSTGRES_PASSWORD"] == "${PGPASSWORD:-}"
    assert "#PGPASSWORD=" in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert "ports" not in db  # only the workers reach it, on the project's network
    [volume] = db["volumes"]
    source, target = volume.split(":")
    assert target == "/var/lib/postgresql/data"
    assert source in yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["volumes"]
    check = db["healthcheck"]
    assert isinstance(check, dict)
    assert check["test"] == ["CMD", "pg_isready", f"--username={url.username}", "--dbname=kbbot"]
    for doc in (*DOCS, ENV_EXAMPLE):
        assert PROFILE_DB in doc.read_text(encoding="utf-8"), doc.name


def test_the_profile_starts_as_the_docs_say() -> None:
    commands = [
        args
        for path in DOCS
        for line in code_block_lines(path)
        for args in _segments(line)
        if args[:2] == ["docker", "compose"] and "--profile" in args
    ]
    assert commands, "the docs show how to start the postgres profile"
    for args in commands:
        assert args[args.index("--profile") + 1] == "postgres", args


# --- the knowledge base: the bot writes it (admins' edits from Telegram) -----------------------


def install_recipe() -> list[str]:
    """The shell lines of the install recipe in the unit's leading comment."""
    lines = []
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        if not raw.startswith("#"):
            break
        if raw.startswith("#     "):
            lines.append(raw[1:].strip())
    return lines


def installed_copies(lines: Iterable[str]) -> dict[str, str]:
    """What the `cp` and `install` commands in shell lines put where: destination -> source."""
    found: dict[str, str] = {}
    for line in lines:
        for tokens in _segments(line):
            if tokens[0] not in ("cp", "install"):
                continue
            paths, rest = [], tokens[1:]
            while rest:
                token, rest = rest[0], rest[1:]
                if token in ("-m", "--mode", "-o", "--owner", "-g", "--group"):
                    rest = rest[1:]
                elif not token.startswith("-"):
                    paths.append(token)
            *sources, destination = paths
            for source in sources:
                target = destination.rstrip("/") + "/" + Path(source).name
                found[target if destination.endswith("/") else destination] = source
    return found


def unit_environment() -> dict[str, str]:
    return dict(item.split("=", 1) for item in unit("Environment"))


def under(path: str, directory: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(directory))


def test_the_unit_serves_a_knowledge_folder_it_can_write_seeded_before_the_check() -> None:
    knowledge = unit_environment()["KBBOT_KNOWLEDGE"]
    # ProtectSystem=strict leaves only these writable (and /etc, where the seed is, read-only).
    writable = [f"%S/{name}" for value in unit("StateDirectory") for name in value.split()]
    writable += [p.lstrip("-+") for value in unit("ReadWritePaths") for p in value.split()]
    assert any(under(knowledge, directory) for directory in writable), knowledge
    commands = [shlex.split(command.lstrip("-+!@:"))[1:] for command in unit("ExecStartPre")]
    parsed = [build_parser().parse_args(args) for args in commands]
    steps = [(ns.command, getattr(ns, "kb_command", None)) for ns in parsed]
    assert steps.index(("kb", "init")) < steps.index(("kb", "check"))
    init = parsed[steps.index(("kb", "init"))]
    # It fills the folder the bot serves, from the seed the install recipe puts in place.
    assert init.knowledge is None and init.source is not None
    seeds = {dest: ROOT / source for dest, source in installed_copies(install_recipe()).items()}
    assert seeds[str(init.source)].resolve() == SHIPPED_KNOWLEDGE
    assert not under(knowledge, str(init.source)), "the seed is read-only under ProtectSystem"


@pytest.mark.parametrize(
    "recipe",
    (install_recipe, lambda: list(code_block_lines(DEPLOY / "README.md"))),
    ids=("unit comment", "README"),
)
def test_the_unit_regression_set_is_a_file_the_install_steps_put_there(
    recipe: Callable[[], list[str]],
) -> None:
    regression_set = unit_environment()["KBBOT_REGRESSION_SET"]
    copies = installed_copies(recipe())
    assert regression_set in copies, f"no install step copies a file to {regression_set}"
    assert (ROOT / copies[regression_set]).resolve() == DEV_QUESTIONS


def test_the_units_start_commands_seed_the_state_directory_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The install recipe and ExecStartPre, run with every absolute path moved under tmp_path:
    the first start copies the seed into the state directory and passes `kb check`, later
    starts keep what the admins changed."""

    def here(value: str) -> str:
        value = value.replace("%S", "/var/lib")
        return str(tmp_path / value.lstrip("/")) if value.startswith("/") else value

    for destination, source in installed_copies(install_recipe()).items():
        target = Path(here(destination))
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / source).is_dir():  # the shipped base: the small fixture base is quicker
            assert (ROOT / source).resolve() == SHIPPED_KNOWLEDGE
            shutil.copytree(FIXTURE_KNOWLEDGE, target)
        else:
            shutil.copyfile(ROOT / source, target)
    for name in [name for name in os.environ if name.startswith("KBBOT_")]:
        monkeypatch.delenv(name)
    for name, value in unit_environment().items():
        monkeypatch.setenv(name, here(value))
    knowledge = Path(here(unit_environment()["KBBOT_KNOWLEDGE"]))

    def start() -> None:
        for command in unit("ExecStartPre"):
            args = [here(arg) for arg in shlex.split(command.lstrip("-+!@:"))[1:]]
            out = io.StringIO()
            assert run(args, out=out) == 0, f"{command}: {out.getvalue()}"

    start()
    assert {path.name for path in knowledge.iterdir()} == {
        path.name for path in FIXTURE_KNOWLEDGE.iterdir()
    }
    edited = knowledge / "10-work.yaml"
    edited.write_text(edited.read_text(encoding="utf-8") + "# 管理员改过\n", encoding="utf-8")
    before = {path.name: path.read_bytes() for path in knowledge.iterdir()}
    start()
    assert {path.name: path.read_bytes() for path in knowledge.iterdir()} == before


def test_compose_serves_the_knowledge_base_from_a_writable_named_volume() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    source, options = compose_mounts()[dockerfile_env()["KBBOT_KNOWLEDGE"]]
    assert "ro" not in options and "readonly" not in options
    # A named volume starts as a copy of the image's /knowledge, owner included, and keeps the
    # admins' edits across upgrades; a host folder would be empty or owned by someone else.
    assert not source.startswith((".", "/")) and source in compose["volumes"]
    assert compose["services"]["kbbot"]["read_only"] is True  # the rest stays read-only


def test_the_image_knowledge_base_belongs_to_the_runtime_user() -> None:
    stage = final_stage()
    knowledge = dockerfile_env()["KBBOT_KNOWLEDGE"]
    user = dict(stage)["USER"]
    copies = [rest for word, rest in stage if word == "COPY" and rest.split()[-1] == knowledge]
    assert copies and all(f"--chown={user}" in rest.split() for rest in copies)
    # The folder itself too: the bot writes a temporary file in it, then renames it over.
    setup = " ".join(rest for word, rest in stage if word == "RUN")
    assert re.search(rf"chown kbbot:kbbot( \S+)* {re.escape(knowledge)}\b", setup)
    assert f"--uid {user.split(':')[0]} --gid kbbot" in setup


def test_the_image_regression_set_is_a_file_the_dockerfile_puts_there() -> None:
    regression_set = dockerfile_env()["KBBOT_REGRESSION_SET"]
    copied = {
        shlex.split(rest)[-1]: shlex.split(rest)[:-1]
        for word, rest in final_stage()
        if word == "COPY" and "--from=" not in rest
    }
    assert regression_set in copied, f"the Dockerfile copies nothing to {regression_set}"
    [source] = [arg for arg in copied[regression_set] if not arg.startswith("--")]
    assert (ROOT / source).resolve() == DEV_QUESTIONS


# --- the reverse proxy -----------------------------------------------------------------------


def example_webhook_url() -> str:
    [url] = re.findall(r"https://bot\.example\.org/\S+", ENV_EXAMPLE.read_text(encoding="utf-8"))
    return url.rstrip(".,)")


@pytest.mark.parametrize("path", (NGINX, CADDY), ids=lambda p: p.name)
def test_the_proxy_samples_route_the_webhook_and_the_health_check(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    url = example_webhook_url()
    webhook_path = urlsplit(url).path
    assert f"KBBOT_WEBHOOK_URL={url}" in text
    if path == NGINX:
        assert f"location = {webhook_path} {{" in text and f"location = {HEALTH_PATH} {{" in text
        assert text.count("proxy_pass http://kbbot;") == 2
    else:
        assert f"path {webhook_path}\n" in text and f"path {HEALTH_PATH}\n" in text
        assert text.count("import kbbot_workers\n") == 2
    # Only Telegram's networks may post updates.
    assert "149.154.160.0/20" in text and "91.108.4.0/22" in text


def published_ports() -> list[str]:
    """The host ports the workers publish on loopback: the first worker's first."""
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    found = []
    for name in ("kbbot", "kbbot-2"):
        [published] = services[name]["ports"]
        host, port, target = published.split(":")
        assert host == "127.0.0.1" and target == str(Config(Path(), Path()).webhook_port)
        found.append(port)
    return found


def test_the_proxy_samples_send_everything_to_the_first_worker_and_fail_over_to_the_second() -> (
    None
):
    """Active/passive: each worker keeps a person's follow-up context, flood allowance and
    /why in memory, so one worker serves and the other takes over only while it is down. A
    request a worker has received is never sent to the other (Telegram posts it again)."""
    first, second = published_ports()
    nginx = NGINX.read_text(encoding="utf-8")
    [upstream] = re.findall(r"upstream kbbot \{(.*?)\}", nginx, flags=re.DOTALL)
    servers = re.findall(r"^\s*server (\S+)(.*);$", upstream, flags=re.MULTILINE)
    assert [(address, options.split()) for address, options in servers] == [
        (f"127.0.0.1:{first}", ["max_fails=1", "fail_timeout=10s"]),
        (f"127.0.0.1:{second}", ["backup"]),
    ]
    # Not `non_idempotent`: a POST that reached a worker is not sent to the other.
    assert re.findall(r"^\s*proxy_next_upstream (.*);$", nginx, flags=re.MULTILINE) == [
        "error timeout"
    ]
    caddy = CADDY.read_text(encoding="utf-8")
    [block] = re.findall(r"\(kbbot_workers\) \{\n(.*?)\n\}", caddy, flags=re.DOTALL)
    lines = [line.strip() for line in block.splitlines() if not line.strip().startswith("#")]
    assert lines[0] == f"reverse_proxy 127.0.0.1:{first} 127.0.0.1:{second} {{"
    assert "lb_policy first" in lines and "lb_retry_match" not in block


def test_the_example_webhook_url_is_accepted_by_the_configuration(tmp_path: Path) -> None:
    url = example_webhook_url()
    config = Config.from_env({"KBBOT_WEBHOOK_URL": url, "KBBOT_DATA_DIR": str(tmp_path)})
    assert config.webhook_url == url


# --- kbbot config ----------------------------------------------------------------------------


def test_kbbot_config_prints_env_file_lines_for_every_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KBBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KBBOT_ADMINS", "7,3")
    monkeypatch.setenv("KBBOT_FLOOD_SECONDS", "90")
    out = io.StringIO()
    assert run(["config"], out=out) == 0
    printed = tmp_path / "printed.env"
    printed.write_text(out.getvalue(), encoding="utf-8")
    values = read_env_file(printed)
    assert list(values) == [s.env for s in SETTINGS]
    assert values["KBBOT_ADMINS"] == "3,7" and values["KBBOT_FLOOD_SECONDS"] == "90"
    assert values["KBBOT_DB"] == str(tmp_path / "questions.sqlite3")
    assert "# mode: no KBBOT_TOKEN" in out.getvalue()
