"""What a person sees: a scripted session with the real bot, as a phone chat, in a picture.

The real ``Application`` (``build_application``, the shipped knowledge base) runs against the
fake Bot API exactly as in the end-to-end tests, and a citizen plays one session: a greeting,
a question about the report, two follow-ups, a personal matter, browsing by buttons, a rating
with its next step, and thanks. Every message either side sends, every in-place edit, every
inline keyboard and every callback toast is recorded (`play`), drawn as a 390 px wide phone
chat in a self-contained HTML page (`render_html`), and photographed by headless Chromium
(`screenshot`). Regenerate both files beside this script with::

    .venv/bin/python tests/e2e/transcript.py

`tests/e2e/test_transcript.py` plays the same session and checks every step.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, Python puts this folder first on the path, and the imports below need the
# repository root (already on the path when pytest imports this module, where this is harmless).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.answering.engine import Engine
from bot.config import SHIPPED_KNOWLEDGE, Config
from bot.logurl import LogURL
from bot.telegram.app import build_application
from tests.e2e.conftest import (
    CLIENT_TIMEOUT,
    AnyApplication,
    api_origin,
    start_bot_app,
    stop_bot_app,
)
from tests.e2e.fake_bot_api import DEFAULT_TOKEN, DEFAULT_USER_ID, ApiCall, FakeBotApi, JSONDict

HERE = Path(__file__).resolve().parent
HTML_PATH = HERE / "transcript.html"
PNG_PATH = HERE / "transcript.png"
WIDTH = 390
"""The page's and the picture's width in CSS pixels: a common phone screen."""

# The script: what the person types, and which button they press on which message (by the
# step whose reply carried it, and the button's label).
GREETING = "你好"
QUESTION = "行政复议申请有多少件"
FOLLOW_UP_DETAIL = "受理了几件"
FOLLOW_UP_YEAR = "那2018年呢"
PERSONAL_MATTER = "公司拖欠工资怎么办"
TOPICS = "/topics"
CHAPTER = "工作情况"
SECTION = "严格执行出庭应诉规定"
ENTRY = "负责人出庭应诉率"
THANKS = "谢谢"
HELPFUL = "👍 有帮助"
NOT_HELPFUL = "👎 没帮助"
CHANNEL = "☎️ 人工渠道"

CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
"""The page loads nothing: its one style block is inline, and it has no script."""


# ---------------------------------------------------------------------------------------------
# The record
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    """An inline button: its label, and its callback data (or URL, for a link button)."""

    text: str
    data: str


@dataclass(frozen=True)
class BotMessage:
    """A message of the bot as the chat shows it after a send or an edit.

    ``html`` is what the bot sent (parse mode HTML); ``text`` is what the client displays, as
    the fake Bot API parsed it. ``edit`` is ``None`` for a new message, ``"text"`` for an edit
    in place of an earlier one (same ``message_id``) and ``"keyboard"`` for an edit of its
    buttons only. ``quote`` is the text of the message it replies to, if any.
    """

    message_id: int
    html: str
    text: str
    keyboard: tuple[tuple[Button, ...], ...] = ()
    edit: str | None = None
    quote: str | None = None

    @property
    def labels(self) -> list[str]:
        return [button.text for row in self.keyboard for button in row]

    def button(self, label: str) -> Button:
        for row in self.keyboard:
            for button in row:
                if button.text == label:
                    return button
        raise LookupError(f"no button {label!r} on {self.text[:40]!r}: {self.labels}")


@dataclass(frozen=True)
class Toast:
    """The short notice a client shows for an answered button press (``answerCallbackQuery``
    with a text)."""

    text: str


@dataclass
class Step:
    """One thing the person did, and everything the bot did in answer, in order."""

    name: str
    said: str | None = None
    pressed: str | None = None
    events: list[BotMessage | Toast] = field(default_factory=list)

    @property
    def messages(self) -> list[BotMessage]:
        """What the bot sent or edited, its keyboard-only edits left out."""
        return [e for e in self.events if isinstance(e, BotMessage) and e.edit != "keyboard"]

    @property
    def reply(self) -> BotMessage:
        """The bot's one visible answer to this step."""
        [message] = self.messages
        return message

    @property
    def toasts(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Toast)]


@dataclass
class Transcript:
    steps: list[Step] = field(default_factory=list)

    def __getitem__(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


# ---------------------------------------------------------------------------------------------
# Playing the session
# ---------------------------------------------------------------------------------------------


def _keyboard(markup: Any) -> tuple[tuple[Button, ...], ...]:
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return tuple(
        tuple(
            Button(str(b["text"]), str(b.get("callback_data") or b.get("url") or "")) for b in row
        )
        for row in rows
    )


class Session:
    """A person in a private chat with the running bot; records each step as it happens."""

    def __init__(self, api: FakeBotApi, app: AnyApplication, user_id: int = DEFAULT_USER_ID):
        self.api = api
        self.app = app
        self.user_id = user_id
        self.transcript = Transcript()
        self._shown: dict[int, BotMessage] = {}  # message_id -> as the chat shows it now

    async def say(self, name: str, text: str) -> Step:
        """Type ``text`` and send it."""
        mark = self.api.mark()
        update = self.api.send_text(text, user_id=self.user_id)
        return await self._step(Step(name, said=text), update, mark)

    async def press(self, name: str, message: BotMessage, label: str) -> Step:
        """Press the button labelled ``label`` on ``message`` as the chat shows it now."""
        shown = self._shown[message.message_id]
        button = shown.button(label)
        mark = self.api.mark()
        update = self.api.send_callback(
            button.data, user_id=self.user_id, chat_id=self.user_id, message_id=shown.message_id
        )
        return await self._step(Step(name, pressed=label), update, mark)

    async def _step(self, step: Step, update: JSONDict, mark: int) -> Step:
        # The update is queued once confirmed, and done once its handlers have finished
        # (every Bot API call they made has been answered).
        await self.api.wait_confirmed(update["update_id"])
        await self.app.update_queue.join()
        for call in self.api.calls[mark + 1 :]:
            event = self._event(call)
            if event is not None:
                step.events.append(event)
        self.transcript.steps.append(step)
        return step

    def _event(self, call: ApiCall) -> BotMessage | Toast | None:
        method = call.method
        if method not in (
            "sendMessage",
            "editMessageText",
            "editMessageReplyMarkup",
            "answerCallbackQuery",
        ):
            return None
        if not call.ok:
            raise RuntimeError(f"the bot's {method} failed: {call.error} ({call!r})")
        params = call.params
        if method == "answerCallbackQuery":
            text = params.get("text")
            return Toast(str(text)) if text else None
        result: JSONDict = call.result
        message_id = int(result["message_id"])
        keyboard = _keyboard(params.get("reply_markup"))
        if method == "sendMessage":
            quoted = result.get("reply_to_message")
            message = BotMessage(
                message_id,
                str(params["text"]),
                str(result["text"]),
                keyboard,
                quote=str(quoted["text"]) if quoted and "text" in quoted else None,
            )
        elif method == "editMessageText":
            message = BotMessage(
                message_id, str(params["text"]), str(result["text"]), keyboard, edit="text"
            )
        else:
            before = self._shown[message_id]
            message = BotMessage(message_id, before.html, before.text, keyboard, edit="keyboard")
        self._shown[message_id] = message
        return message


async def play(api: FakeBotApi, app: AnyApplication) -> Transcript:
    """Play the scripted session against ``app`` (running, polling ``api``)."""
    person = Session(api, app)
    await person.say("small talk", GREETING)
    await person.say("question", QUESTION)
    detail = await person.say("follow-up: a new detail", FOLLOW_UP_DETAIL)
    await person.press("helpful", detail.reply, HELPFUL)
    year = await person.say("follow-up: another year", FOLLOW_UP_YEAR)
    await person.say("personal matter", PERSONAL_MATTER)
    menu = await person.say("browse: the menu", TOPICS)
    chapter = await person.press("browse: a chapter", menu.reply, CHAPTER)
    section = await person.press("browse: a section", chapter.reply, SECTION)
    await person.press("browse: an answer", section.reply, ENTRY)
    # Back to the answer the person found wanting (another year, which the report lacks).
    asked = await person.press("not helpful", year.reply, NOT_HELPFUL)
    await person.press("next step", asked.reply, CHANNEL)
    await person.say("thanks", THANKS)
    return person.transcript


async def record(workdir: Path) -> Transcript:
    """Start the real bot on a fake Bot API (its question log in ``workdir``), play, stop."""
    async with FakeBotApi(token=DEFAULT_TOKEN) as api:
        config = Config(
            knowledge_dir=SHIPPED_KNOWLEDGE,
            db=LogURL.file(workdir / "questions.sqlite3"),
            data_dir=workdir,
            token=api.token,
            user_secret="transcript",
            api_url=api_origin(api),
            reload_interval=3600.0,
        )
        engine = Engine.from_directory(config.knowledge_dir)
        app = build_application(config, engine, timeout=CLIENT_TIMEOUT)
        await start_bot_app(app)
        try:
            return await play(api, app)
        finally:
            await stop_bot_app(app)


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------

# The bot's messages use Telegram's HTML: of its tags we draw <b>, <i> and <a> (as link-coloured
# text, without its address); anything else is shown as the text it is.
_ALLOWED_TAG = re.compile(r"<(/?)(b|i|a)(?:\s[^<>]*)?>", re.IGNORECASE)
_OPEN = {"b": "<b>", "i": "<i>", "a": '<span class="link">'}
_CLOSE = {"b": "</b>", "i": "</i>", "a": "</span>"}


def telegram_html(text: str) -> str:
    """Telegram-HTML ``text`` as safe HTML: <b>, <i> and <a> kept (balanced, attributes
    dropped), everything else escaped, entities shown as the characters they stand for."""
    out: list[str] = []
    open_tags: list[str] = []
    position = 0
    for tag in _ALLOWED_TAG.finditer(text):
        out.append(html.escape(html.unescape(text[position : tag.start()])))
        position = tag.end()
        closing, name = tag[1] == "/", tag[2].lower()
        if not closing:
            open_tags.append(name)
            out.append(_OPEN[name])
        elif open_tags and open_tags[-1] == name:
            open_tags.pop()
            out.append(_CLOSE[name])
    out.append(html.escape(html.unescape(text[position:])))
    out.extend(_CLOSE[name] for name in reversed(open_tags))
    return "".join(out)


_STYLE = """
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body {
  width: 390px; background: #d7e3cc; color: #000;
  font: 15px/1.45 "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei",
    "DejaVu Sans", sans-serif, "Noto Color Emoji";
  -webkit-font-smoothing: antialiased;
}
header {
  display: flex; align-items: center; gap: 10px; padding: 10px 14px;
  background: #fff; border-bottom: 1px solid #c9d3c0;
}
.avatar {
  width: 38px; height: 38px; border-radius: 50%; flex: none;
  background: #4a90d9; color: #fff; font-weight: 700; font-size: 17px;
  display: flex; align-items: center; justify-content: center;
}
.title { font-weight: 700; font-size: 16px; line-height: 1.25; }
.subtitle { color: #8a8f94; font-size: 13px; line-height: 1.25; }
main { padding: 8px 8px 14px; }
.note { display: flex; justify-content: center; margin: 8px 0; }
.note span {
  background: rgba(40, 70, 40, .45); color: #fff; font-size: 12.5px;
  padding: 2px 10px; border-radius: 11px;
}
.row { display: flex; margin: 6px 0; }
.row.user { justify-content: flex-end; }
.bubble {
  padding: 6px 10px 7px; border-radius: 16px; white-space: pre-wrap;
  overflow-wrap: anywhere; box-shadow: 0 1px 1px rgba(0, 0, 0, .12);
}
.user .bubble { max-width: 300px; background: #e2fbc9; border-bottom-right-radius: 5px; }
.tap {
  max-width: 300px; padding: 3px 11px; border-radius: 14px; font-size: 13.5px;
  color: #2e5a2e; background: rgba(255, 255, 255, .55); border: 1.5px dashed #6d9a6d;
}
.bot { display: flex; flex-direction: column; align-items: flex-start; max-width: 330px; }
.bot.keyed { width: 330px; }
.bot .bubble { background: #fff; border-bottom-left-radius: 5px; }
.bot.keyed .bubble { align-self: stretch; }
.quote {
  border-left: 3px solid #4a90d9; background: #eef5fc; border-radius: 4px;
  padding: 1px 7px; margin: 1px 0 5px; font-size: 13px; line-height: 1.4;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.quote b { color: #3a7cc4; display: block; }
.link { color: #2a7bc8; }
.edited { float: right; margin: 6px 0 0 12px; font-size: 11.5px; color: #9aa3a8; }
.keyboard { display: flex; flex-direction: column; gap: 4px; margin-top: 4px; align-self: stretch; }
.keys { display: flex; gap: 4px; }
.key {
  flex: 1 1 0; min-width: 0; padding: 7px 6px; border-radius: 9px; text-align: center;
  font-size: 14px; line-height: 1.3; color: #fff; background: rgba(52, 88, 52, .5);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.toast { display: flex; justify-content: center; margin: 8px 0; }
.toast span {
  background: rgba(0, 0, 0, .72); color: #fff; font-size: 13.5px;
  padding: 6px 14px; border-radius: 10px;
}
"""


def _bot_message(message: BotMessage) -> str:
    """One bot message as a bubble (one line of HTML: the bubble keeps white space)."""
    parts = [f'<div class="row"><div class="bot{" keyed" if message.keyboard else ""}">']
    parts.append('<div class="bubble">')
    if message.quote is not None:
        first_line = message.quote.splitlines()[0] if message.quote else ""
        parts.append(f'<div class="quote"><b>kbbot</b>{html.escape(first_line)}</div>')
    parts.append(telegram_html(message.html))
    if message.edit == "text":
        parts.append('<span class="edited">已编辑</span>')
    parts.append("</div>")
    if message.keyboard:
        parts.append('<div class="keyboard">')
        for row in message.keyboard:
            keys = "".join(f'<span class="key">{html.escape(b.text)}</span>' for b in row)
            parts.append(f'<div class="keys">{keys}</div>')
        parts.append("</div>")
    parts.append("</div></div>")
    return "".join(parts)


def _step(step: Step) -> Iterator[str]:
    if step.said is not None:
        said = html.escape(step.said)
        yield f'<div class="row user"><div class="bubble">{said}</div></div>'
    if step.pressed is not None:
        pressed = html.escape(step.pressed)
        yield f'<div class="row user"><div class="tap">点按 ▸ {pressed}</div></div>'
    for event in step.events:
        if isinstance(event, Toast):
            yield f'<div class="toast"><span>{html.escape(event.text)}</span></div>'
        elif event.edit != "keyboard":  # a keyboard-only edit shows in the next press or not at all
            yield _bot_message(event)


def render_html(transcript: Transcript, *, title: str = "kbbot") -> str:
    """The transcript as a self-contained page: a phone chat 390 px wide, no resources."""
    body: list[str] = []
    for step in transcript.steps:
        body.extend(_step(step))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="zh-CN">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
            f'<meta name="viewport" content="width={WIDTH}">',
            f"<title>{html.escape(title)}：一次会话</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            '<header><div class="avatar">法</div><div>',
            f'<div class="title">{html.escape(title)}</div>',
            '<div class="subtitle">机器人 · 江汉区2019年法治政府建设工作报告</div>',
            "</div></header>",
            "<main>",
            '<div class="note"><span>脚本会话 · tests/e2e/transcript.py</span></div>',
            *body,
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


# ---------------------------------------------------------------------------------------------
# The picture
# ---------------------------------------------------------------------------------------------

_MEASURE = (
    "<script>document.documentElement.setAttribute('data-height', "
    "Math.ceil(document.documentElement.getBoundingClientRect().height));</script>"
)


def chromium_binary() -> str | None:
    """Debian's ``chromium`` (or ``chromium-browser``), if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _chromium(binary: str, profile: Path, args: Iterable[str], height: int) -> str:
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={WIDTH},{height}",
            f"--user-data-dir={profile}",
            # Any request that slipped past the policy would go to a port nobody listens on.
            f"--proxy-server=127.0.0.1:{_closed_port()}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def page_height(page: str, binary: str, workdir: Path) -> int:
    """The page's full height in CSS pixels at WIDTH, as Chromium lays it out."""
    measured = workdir / "measure.html"
    policy = f"{CONTENT_SECURITY_POLICY}; script-src 'unsafe-inline'"
    measured.write_text(
        page.replace(CONTENT_SECURITY_POLICY, policy, 1).replace("</body>", f"{_MEASURE}</body>"),
        encoding="utf-8",
    )
    dom = _chromium(binary, workdir / "profile", ["--dump-dom", measured.as_uri()], height=100)
    found = re.search(r'data-height="(\d+)"', dom)
    if found is None:
        raise RuntimeError("chromium did not measure the page")
    return int(found[1])


def screenshot(page: Path, png: Path, binary: str | None = None) -> tuple[int, int]:
    """Photograph ``page`` whole in headless Chromium at WIDTH; returns the PNG's size."""
    binary = binary or chromium_binary()
    if binary is None:
        raise RuntimeError("no chromium binary: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        height = page_height(page.read_text(encoding="utf-8"), binary, workdir)
        shot = workdir / "shot.png"
        _chromium(
            binary, workdir / "profile", [f"--screenshot={shot}", page.as_uri()], height=height
        )
        png.write_bytes(shot.read_bytes())
    return png_size(png)


def png_size(png: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    head = png.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{png} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


# ---------------------------------------------------------------------------------------------


def _loopback_only() -> None:
    """httpx honours proxy variables; the fake Bot API is on 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        os.environ.pop(name, None)
        os.environ.pop(name.lower(), None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"


def missing_fonts() -> list[str]:
    """The Debian font packages the picture needs and fontconfig does not find: without them
    Chromium draws the Chinese text and the emoji as boxes."""
    try:
        listed = subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout
        chinese = subprocess.run(
            ["fc-list", ":lang=zh"], capture_output=True, text=True, check=False
        ).stdout
    except FileNotFoundError:
        listed = chinese = ""
    missing = [] if chinese.strip() else ["fonts-noto-cjk"]
    return missing + ([] if "Color Emoji" in listed else ["fonts-noto-color-emoji"])


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    missing = missing_fonts()
    if missing:
        print(f"warning: no {', '.join(missing)}: the picture will show boxes", file=sys.stderr)
    _loopback_only()
    with tempfile.TemporaryDirectory() as tmp:
        transcript = asyncio.run(record(Path(tmp)))
    HTML_PATH.write_text(render_html(transcript), encoding="utf-8")
    print(f"wrote {os.path.relpath(HTML_PATH)}")
    width, height = screenshot(HTML_PATH, PNG_PATH)
    print(f"wrote {os.path.relpath(PNG_PATH)} ({width}×{height} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
