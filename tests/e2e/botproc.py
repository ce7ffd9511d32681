"""`kbbot run` as a real process against the fake Bot API, for what only a process can show.

A stop signal, what the bot prints to its own stderr at DEBUG, and file permissions that root
would ignore (tests/unprivileged.py) need the bot in its own process. Everything it writes is
collected line by line so tests can await a log line (an event) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.e2e.fake_bot_api import FakeBotApi

REPO = Path(__file__).resolve().parents[2]
# Real tokens are <bot id>:<35 characters>; `kbbot` refuses other shapes before starting.
PROCESS_TOKEN = "5550001234:AAE7xQ_secret-PART-Zm9vYmFyYmF6cXV4MTIz"


def bot_env(api: FakeBotApi, kb_dir: Path, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a bot on `api`: no inherited KBBOT_* or proxy settings, loopback only."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KBBOT_") and "proxy" not in key.lower()
    }
    env.update(
        KBBOT_TOKEN=api.token,
        KBBOT_API_URL=api.base_url.removesuffix("/bot"),
        KBBOT_KNOWLEDGE=str(kb_dir),
        KBBOT_DATA_DIR=str(data_dir),
        KBBOT_SECRET="process-test-user-secret",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


async def spawn(
    env: dict[str, str], *args: str, prefix: Sequence[str] = ()
) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` from the repository, with stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        *prefix,
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


class BotProcess:
    """A running `python -m bot run`, with everything it prints kept in `lines`."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.terminated = False
        self._changed = asyncio.Event()
        self._readers = [
            asyncio.create_task(self._read(stream))
            for stream in (process.stdout, process.stderr)
            if stream is not None
        ]

    @classmethod
    async def start(
        cls, env: dict[str, str], *, prefix: Sequence[str] = (), args: Sequence[str] = ("run",)
    ) -> BotProcess:
        return cls(await spawn(env, *args, prefix=prefix))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode("utf-8", "replace"))
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def wait_for_line(self, text: str, *, after: int = 0, timeout: float = 20.0) -> int:  # noqa: ASYNC109
        """Wait until a line (from index `after` on) contains `text`; returns its index."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    for index in range(after, len(self.lines)):
                        if text in self.lines[index]:
                            return index
                    if self.process.returncode is not None and all(r.done() for r in self._readers):
                        raise AssertionError(f"the bot exited before printing {text!r}")
                    await changed.wait()
        except (TimeoutError, AssertionError) as exc:
            tail = "".join(self.lines[-60:])
            raise AssertionError(f"no line with {text!r}; the bot's last lines:\n{tail}") from exc

    def terminate(self) -> None:
        """One SIGTERM, as systemd and Docker send (a second one would cut PTB's shutdown short)."""
        if not self.terminated and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            self.terminated = True

    async def stop(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """SIGTERM (once), then wait for the exit; returns the exit status."""
        self.terminate()
        try:
            async with asyncio.timeout(timeout):
                status = await self.process.wait()
                await asyncio.gather(*self._readers)
        except TimeoutError as exc:
            tail = "".join(self.lines[-80:])
            raise AssertionError(
                f"no exit {timeout:g}s after SIGTERM; last lines:\n{tail}"
            ) from exc
        finally:
            await self.kill()
        return status

    async def kill(self) -> None:
        """Make sure nothing outlives the test."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


async def until_logged(db: Path, questions: Sequence[str], timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """Wait until the log at `db` holds exactly `questions` (a bounded check every 20 ms).

    A process writes its log in the background and tells nobody when a row lands; reading
    the file is the only event there is.
    """
    async with asyncio.timeout(timeout):
        while True:
            with contextlib.suppress(sqlite3.Error):
                if sorted(logged_questions(db)) == sorted(questions):
                    return
            await asyncio.sleep(0.02)


def logged_questions(db: Path) -> list[str]:
    """Every question in the log at `db`, oldest first (read with a separate connection)."""
    with contextlib.closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as raw:
        return [str(q) for (q,) in raw.execute("SELECT question FROM questions ORDER BY id")]
