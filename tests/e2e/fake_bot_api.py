"""A fake Telegram Bot API server for end-to-end tests of the real PTB ``Application``.

Why a server and not mocks: mocking ``Bot.send_message`` tests our assumptions about
python-telegram-bot, not the bot.  Running the unmodified ``Application`` (``Updater``
long polling, ``HTTPXRequest``, ``RequestData`` encoding, ``de_json`` parsing, error
mapping) against an HTTP server that speaks the Bot API wire format exercises every layer
the production bot uses, while staying on 127.0.0.1 and finishing in milliseconds.

Usage::

    async with FakeBotApi(token="123456:TEST-token") as api:
        app = (
            ApplicationBuilder()
            .token(api.token)
            .base_url(api.base_url)
            .base_file_url(api.base_file_url)
            .build()
        )
        ...  # start the app, then:
        call = await api.ask("你好")  # inject a private text message, await the reply
        assert call.params["chat_id"] == DEFAULT_USER_ID

What the wire looks like (checked against PTB 22.x sources):

* PTB calls ``POST {base_url}{token}/{methodName}``; ``base_url`` is ``.../bot`` and the token
  is appended verbatim.  Files are fetched from ``{base_file_url}{token}/{file_path}``.
* Parameters travel as ``application/x-www-form-urlencoded`` (``multipart/form-data`` when a
  file is uploaded).  ``str`` values are sent as-is; every other value (ints, bools, lists,
  dicts such as ``reply_markup``/``entities``/``results``/``reply_parameters``) is
  ``json.dumps``-ed into the form field.  ``None`` values are dropped by PTB.  The server
  decodes those fields back, so ``ApiCall.params`` holds ints, bools, dicts and lists, while
  fields that are strings in the Bot API (``text``, ``callback_query_id``, ``data``...) stay
  strings even when they look like numbers.
* PTB only looks at the HTTP status to pick the exception: 200-299 ok; 400 ``BadRequest``;
  401/404 ``InvalidToken``; 403 ``Forbidden``; 409 ``Conflict``; anything else (429 without
  ``retry_after``, 5xx) ``NetworkError``.  ``parameters.retry_after`` becomes ``RetryAfter``
  and ``parameters.migrate_to_chat_id`` becomes ``ChatMigrated`` whatever the status.

Fidelity choices beyond the minimum, each because it hides a class of real bugs:

* HTML ``parse_mode`` is parsed the way Telegram (tdlib) does: unsupported or unbalanced
  tags answer 400 ``can't parse entities``; the returned ``Message`` carries the plain text
  and entities.  ``MarkdownV2`` is checked for unescaped reserved characters and legacy
  ``Markdown`` for unclosed entities, but neither is rendered: their ``Message.text`` is raw.
* ``editMessageText`` without ``reply_markup`` removes the inline keyboard, and an edit that
  changes nothing answers 400 ``message is not modified``, exactly as Telegram does.
* ``callback_data`` longer than 64 UTF-8 bytes (about 21 Chinese characters) answers 400
  ``BUTTON_DATA_INVALID``; texts over 4096 characters answer ``message is too long``.
* With ``strict=True`` (the default) unknown chats, messages and query ids are errors, as in
  production; ``strict=False`` makes the fake accept them and invent what it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import re
import socket
import time
import unicodedata
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Final, Literal, Self

from aiohttp import web
from aiohttp.web_request import FileField

JSONDict = dict[str, Any]
"""A decoded JSON object, as the Bot API sends and receives them."""

MethodHandler = Callable[[JSONDict], Any]
"""A custom method implementation: takes decoded params, returns the ``result`` (or an
awaitable of it), or raises :class:`ApiError`."""

DEFAULT_TOKEN: Final = "123456:TEST-token"
DEFAULT_USER_ID: Final = 10001
DEFAULT_GROUP_ID: Final = -1001234567890
DEFAULT_BOT_USERNAME: Final = "kbbot_test_bot"
DEFAULT_BOT_NAME: Final = "KB Test Bot"

MAX_MESSAGE_LENGTH: Final = 4096
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_INLINE_RESULTS: Final = 50

_API_PATH: Final = re.compile(r"/bot([^/]+)/([^/]+)")
_FILE_PATH: Final = re.compile(r"/file/bot([^/]+)/(.+)")

# Bot API fields whose type is String: never JSON-decode them, or a text "123" or a
# callback query id would silently turn into an int.
_STRING_FIELDS: Final = frozenset(
    {
        "action",
        "address",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "currency",
        "custom_emoji_id",
        "data",
        "description",
        "document",
        "emoji",
        "explanation",
        "file_id",
        "first_name",
        "foursquare_id",
        "inline_message_id",
        "inline_query_id",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "next_offset",
        "parse_mode",
        "payload",
        "phone_number",
        "photo",
        "provider_token",
        "question",
        "secret_token",
        "short_description",
        "start_parameter",
        "sticker",
        "switch_pm_parameter",
        "switch_pm_text",
        "text",
        "thumbnail",
        "title",
        "url",
        "username",
        "video",
        "video_note",
        "voice",
    }
)
_JSON_START: Final = re.compile(r"[\[{\-0-9]|true$|false$|null$")

_CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Update types Telegram does not send unless asked for in ``allowed_updates``.
_OPT_IN_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)


# --------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API.

    Raised by the built-in methods and by custom handlers (:meth:`FakeBotApi.set_handler`)
    so that an error is produced the same way Telegram produces it: HTTP status,
    ``error_code`` and ``description`` (and ``parameters`` when there are any).
    """

    def __init__(
        self, status: int, description: str, *, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        """The JSON body Telegram sends for this error."""
        payload: JSONDict = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            payload["parameters"] = self.parameters
        return payload


def _bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a ``multipart/form-data`` request (PTB uploads files that way)."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(eq=False)
class ApiCall:
    """One HTTP request the bot made, in arrival order.

    ``params`` are decoded (see the module docstring).  ``time`` is ``time.monotonic()`` at
    arrival, so differences between calls measure the bot's retry/backoff delays.  The
    remaining fields are filled in once the server has decided the outcome: ``status`` is the
    HTTP status answered (``None`` while a long poll is still pending, ``0`` when the
    connection was dropped or the client went away), ``result`` the ``result`` field of a
    successful answer, ``error`` the description of an error answer, and ``fault`` names the
    injected fault (``"fail"``, ``"delay"``, ``"drop"``) or ``"cancelled"``.
    """

    method: str
    params: JSONDict
    time: float
    index: int = -1
    http_method: str = "POST"
    files: tuple[UploadedFile, ...] = ()
    status: int | None = None
    result: Any = None
    error: str | None = None
    fault: str | None = None

    @property
    def done(self) -> bool:
        """Whether the server has decided the outcome (only then do waiters see the call)."""
        return self.status is not None

    @property
    def ok(self) -> bool:
        """Whether the call was answered with ``{"ok": true}``."""
        return self.status is not None and 200 <= self.status < 300

    def __repr__(self) -> str:
        params = json.dumps(self.params, ensure_ascii=False, default=str)
        if len(params) > 160:
            params = params[:157] + "..."
        outcome = "pending" if self.status is None else str(self.status)
        extra = f" fault={self.fault}" if self.fault else ""
        return f"<ApiCall #{self.index} {self.method} {params} -> {outcome}{extra}>"


@dataclass
class _Fault:
    kind: Literal["fail", "delay", "drop"]
    remaining: int
    status: int = 500
    retry_after: int | None = None
    description: str | None = None
    seconds: float = 0.0
    processed: bool = False

    def error(self) -> ApiError:
        retry_after = self.retry_after
        if self.status == 429 and retry_after is None:
            retry_after = 1  # Telegram never sends a 429 without it.
        description = self.description or _default_description(self.status, retry_after)
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        return ApiError(self.status, description, parameters=parameters)


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    known = {
        400: "Bad Request: injected failure",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }
    if status in known:
        return known[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


# --------------------------------------------------------------------------------------
# Text helpers: UTF-16 offsets, automatic entities, parse_mode validation
# --------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Bot API entity offset and length."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _is_word(char: str) -> bool:
    """tdlib's ``is_word_character``: Unicode letters and numbers (CJK included) and ``_``."""
    return char == "_" or unicodedata.category(char)[0] in "LN"


def _is_ascii_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _match_bot_commands(text: str) -> list[tuple[int, int]]:
    """Spans of ``/command`` and ``/command@botname``, following tdlib's matcher.

    Commands are found anywhere in the text, not only at the start (PTB's
    ``CommandHandler`` only reacts to one at offset 0).
    """
    found: list[tuple[int, int]] = []
    n = len(text)
    i = 0
    while (i := text.find("/", i)) >= 0:
        if i > 0 and (_is_word(text[i - 1]) or text[i - 1] in "/<>"):
            i += 1
            continue
        begin = i
        i += 1
        name_begin = i
        while i < n and _is_ascii_word(text[i]):
            i += 1
        if not 1 <= i - name_begin <= 64:
            continue
        end = i
        if i < n and text[i] == "@":
            i += 1
            mention_begin = i
            while i < n and _is_ascii_word(text[i]):
                i += 1
            if not 3 <= i - mention_begin <= 32:
                continue
            end = i
        if i < n and (_is_word(text[i]) or text[i] in "/<>"):
            continue
        found.append((begin, end))
    return found


def _match_mentions(text: str) -> list[tuple[int, int]]:
    """Spans of ``@username`` mentions, following tdlib's matcher.

    The ``@`` must not follow a word character, and Chinese characters are word
    characters: ``请问@kbbot`` has no mention, ``请问 @kbbot`` has one.
    """
    found: list[tuple[int, int]] = []
    n = len(text)
    i = 0
    while (i := text.find("@", i)) >= 0:
        if i > 0 and _is_word(text[i - 1]):
            i += 1
            continue
        begin = i
        i += 1
        name_begin = i
        while i < n and _is_ascii_word(text[i]):
            i += 1
        name = text[name_begin:i]
        if not 2 <= len(name) <= 32:
            continue
        if i < n and _is_word(text[i]):
            continue
        if len(name) < 4 and name.lower() not in {"gif", "vid", "pic"}:
            continue
        found.append((begin, i))
    return found


def auto_entities(text: str) -> list[JSONDict]:
    """The entities a Telegram client attaches to a plain text: bot commands and mentions.

    Offsets and lengths are in UTF-16 code units, so emoji (two units) and CJK text are
    counted the way PTB's ``Message.parse_entities`` expects.
    """
    spans = [(b, e, "bot_command") for b, e in _match_bot_commands(text)]
    spans += [(b, e, "mention") for b, e in _match_mentions(text)]
    spans.sort()
    entities: list[JSONDict] = []
    last_end = 0
    for begin, end, kind in spans:
        if begin < last_end:
            continue  # overlapping matches: the first one wins, as in tdlib
        entities.append(
            {
                "type": kind,
                "offset": utf16_len(text[:begin]),
                "length": utf16_len(text[begin:end]),
            }
        )
        last_end = end
    return entities


_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_HTML_ENTITIES: Final = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_ENTITY_PRIORITY: Final = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_HTML_SPACE: Final = " \t\r\n\v\0"


def _html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode ``&lt;``/``&gt;``/``&amp;``/``&quot;``/``&#NN;``/``&#xNN;`` at ``pos``.

    Like Telegram, other named entities (``&nbsp;``...) are not decoded, and the trailing
    ``;`` is optional.
    """
    n = len(text)
    end = pos + 1
    code = 0
    if end < n and text[end] == "#":
        end += 1
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and text[end].isascii() and text[end].isdigit():
                code = code * 10 + int(text[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)`` like the Bot API does.

    Raises :class:`ApiError` (400 ``can't parse entities: ...``) with Telegram's wording and
    byte offsets for unsupported tags, unclosed tags and mismatched end tags: the classic
    bug of interpolating user text or a ``<placeholder>`` into an HTML message.
    """

    def fail(reason: str) -> ApiError:
        return _bad_request(f"can't parse entities: {reason}")

    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    out: list[str] = []
    utf16 = 0
    entities: list[JSONDict] = []
    # (tag, argument, utf16 offset, index into ``out``, expandable)
    stack: list[tuple[str, str, int, int, bool]] = []
    i = 0
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _html_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
        if char != "<":
            out.append(char)
            utf16 += utf16_len(char)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            while at(i) not in _HTML_SPACE and at(i) != ">":
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise fail(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            attributes: dict[str, str] = {}
            while at(i) != ">":
                while i < n and at(i) in _HTML_SPACE:
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise fail(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                name_begin = i
                while at(i) not in _HTML_SPACE and at(i) not in "=>":
                    i += 1
                name = text[name_begin:i].lower()
                if not name:
                    raise fail(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
                while i < n and at(i) in _HTML_SPACE:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and name == "expandable":
                        attributes[name] = ""
                        continue
                    raise fail(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                i += 1
                while i < n and at(i) in _HTML_SPACE:
                    i += 1
                if i >= n:
                    raise fail(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _HTML_SPACE and at(i) != ">":
                        raise fail(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    value_chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&" and (decoded := _html_entity(text, i)) is not None:
                            value_chars.append(decoded[0])
                            i = decoded[1]
                            continue
                        value_chars.append(text[i])
                        i += 1
                    value = "".join(value_chars)
                    if i < n:
                        i += 1
                if i >= n:
                    raise fail(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                attributes[name] = value
            i += 1  # the '>'
            argument = ""
            if tag == "a":
                argument = attributes.get("href", "")
            elif tag == "code":
                css = attributes.get("class", "")
                argument = css[len("language-") :] if css.startswith("language-") else ""
            elif tag == "span" and attributes.get("class") != "tg-spoiler":
                raise fail(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            elif tag == "tg-emoji":
                argument = attributes.get("emoji-id", "")
                if not argument.isdigit():
                    raise fail(
                        'Tag "tg-emoji" must have attribute "emoji-id" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
            stack.append((tag, argument, utf16, len(out), "expandable" in attributes))
            continue
        # An end tag.
        if not stack:
            raise fail(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        name_begin = i
        while at(i) not in _HTML_SPACE and at(i) != ">":
            i += 1
        end_name = text[name_begin:i].lower()
        while i < n and at(i) in _HTML_SPACE:
            i += 1
        if at(i) != ">":
            raise fail(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        tag, argument, offset, out_index, expandable = stack.pop()
        if end_name and end_name != tag:
            raise fail(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{tag}>", found "</{end_name}>"'
            )
        length = utf16 - offset
        if length <= 0:
            continue
        entity: JSONDict = {"offset": offset, "length": length}
        if tag in _SIMPLE_HTML_ENTITIES:
            entity["type"] = _SIMPLE_HTML_ENTITIES[tag]
        elif tag == "a":
            url = argument or "".join(out[out_index:])
            user_match = re.fullmatch(r"tg://user\?id=(\d+)", url)
            if user_match:
                entity["type"] = "text_mention"
                entity["user"] = {"id": int(user_match[1]), "is_bot": False, "first_name": ""}
            else:
                entity["type"] = "text_link"
                entity["url"] = url
        elif tag == "tg-emoji":
            entity["type"] = "custom_emoji"
            entity["custom_emoji_id"] = argument
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if expandable else "blockquote"
        elif tag == "pre":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "code"
                and (last["offset"], last["length"]) == (offset, length)
                and last.get("language")
            ):
                last["type"] = "pre"
                continue
            entity["type"] = "pre"
        else:  # code
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "pre"
                and (last["offset"], last["length"]) == (offset, length)
                and argument
            ):
                last["language"] = argument
                continue
            entity["type"] = "code"
            if argument:
                entity["language"] = argument
        entities.append(entity)
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"], _ENTITY_PRIORITY.get(e["type"], 50)))
    return "".join(out), entities


def check_markdown_v2(text: str) -> None:
    """Reject MarkdownV2 text with an unescaped reserved character, as Telegram does.

    Only the reserved-character rule is checked (the common failure: an unescaped ``.``,
    ``-`` or ``!`` in generated text); balance of ``*``/``_``/``~`` is not.
    """
    n = len(text)
    i = 0
    in_pre = in_code = in_url = False
    while i < n:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if in_pre:
            if text.startswith("```", i):
                in_pre = False
                i += 3
            else:
                i += 1
            continue
        if in_code:
            in_code = char != "`"
            i += 1
            continue
        if in_url:
            in_url = char != ")"
            i += 1
            continue
        if text.startswith("```", i):
            in_pre = True
            i += 3
            continue
        if char == "`":
            in_code = True
        elif char == "]" and i + 1 < n and text[i + 1] == "(":
            in_url = True
            i += 1
        elif (char == ">" and (i == 0 or text[i - 1] == "\n")) or (
            char == "!" and i + 1 < n and text[i + 1] == "["
        ):
            pass  # a blockquote line / a custom emoji
        elif char in "()#+-=.!{}>":
            raise _bad_request(
                f"can't parse entities: Character '{char}' is reserved and must be escaped "
                "with the preceding '\\'"
            )
        i += 1


def check_markdown_legacy(text: str) -> None:
    """Reject legacy ``Markdown`` with an entity that is never closed (e.g. ``user_name``)."""
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            i += 2
            continue
        if char not in "_*`[":
            i += 1
            continue
        if text.startswith("```", i):
            end, width = text.find("```", i + 3), 3
        elif char == "[":
            end, width = text.find("]", i + 1), 1
            if end >= 0 and end + 1 < n and text[end + 1] == "(":
                end, width = text.find(")", end + 2), 1
        else:
            end, width = text.find(char, i + 1), 1
        if end < 0:
            raise _bad_request(
                "can't parse entities: Can't find end of the entity starting at byte offset "
                f"{_byte_offset(text, i)}"
            )
        i = end + width


def format_text(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSONDict]]:
    """What Telegram stores for a text/caption sent with ``parse_mode`` or ``entities``."""
    if isinstance(entities, list):
        return text, [dict(e) for e in entities if isinstance(e, dict)]
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        check_markdown_v2(text)
    elif mode == "markdown":
        check_markdown_legacy(text)
    elif mode:
        raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
    return text, []


def _check_reply_markup(markup: Any) -> None:
    """Validate an inline keyboard the way Telegram rejects the usual mistakes."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return  # reply keyboards, ForceReply and ReplyKeyboardRemove are accepted as-is
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            )
        actions = set(button) - {"text"}
        if not actions:
            raise _bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            )
        if "callback_data" in button:
            size = len(str(button["callback_data"]).encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")


def _decode_field(name: str, value: str) -> Any:
    """Undo PTB's encoding of one form field: non-strings were ``json.dumps``-ed."""
    if name in _STRING_FIELDS or not _JSON_START.match(value):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channelname" or a string that merely starts with a digit


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class FakeBotApi:
    """An in-process Bot API server with update injection, call recording and faults.

    Everything runs on the test's event loop: builders like :meth:`send_text` are plain
    (non-async) methods that enqueue an update and wake the bot's pending ``getUpdates``;
    ``await`` :meth:`wait_for_call` (or :meth:`ask`) to let the bot react.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_name: str = DEFAULT_BOT_NAME,
        strict: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        """Configure (but do not start) the server.

        ``token`` is what the bot must use; its numeric prefix becomes the bot's user id, as
        in real tokens.  ``host`` must stay a loopback address: tests may not listen on, or
        talk to, anything else.
        """
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("FakeBotApi only listens on loopback")
        self.token = token
        self.strict = strict
        self._host = host
        prefix = token.split(":", 1)[0]
        self.bot_user: JSONDict = {
            "id": int(prefix) if prefix.isdigit() else 123456,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.calls: list[ApiCall] = []
        """Every request received, in arrival order (see :class:`ApiCall`)."""
        self.delivery_log: list[int] = []
        """``update_id`` of every update handed out by ``getUpdates``, repeats included."""
        self.sent_per_chat: Counter[int] = Counter()
        """Messages stored by ``sendMessage`` per chat id, counted as they are sent: a test
        following a burst of hundreds of replies reads this instead of scanning ``calls``."""

        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing = asyncio.Event()
        self._calls_changed = asyncio.Event()
        self._updates_changed = asyncio.Event()
        self._consumed: set[int] = set()

        self._updates: list[JSONDict] = []  # unconfirmed, in update_id order
        self._next_update_id = 1
        self._confirmed_below = 1  # every update_id < this has been confirmed
        self._poll_generation = 0
        self._allowed_updates: list[str] = []

        self._faults: dict[str, deque[_Fault]] = {}
        self._custom: dict[str, tuple[str, MethodHandler]] = {}

        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._next_message_id: dict[int, int] = {}
        self._open_callback_queries: set[str] = set()
        self._open_inline_queries: set[str] = set()
        self._query_ids = itertools.count(4_000_000_001)
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)

        self.webhook_url = ""
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        """``setMyCommands`` state keyed by ``(scope JSON, language_code)``."""
        self.descriptions: dict[tuple[str, str], str] = {}
        """``setMyDescription``/``setMyShortDescription`` keyed by ``(kind, language_code)``."""

        self._methods: dict[str, tuple[str, Callable[[JSONDict], Awaitable[Any]]]] = {
            name.lower(): (name, impl)
            for name, impl in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setMyDescription": self._set_my_description,
                "getMyDescription": self._get_my_description,
                "setMyShortDescription": self._set_my_short_description,
                "getMyShortDescription": self._get_my_short_description,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "answerInlineQuery": self._answer_inline_query,
                "sendChatAction": self._send_chat_action,
                "getChat": self._get_chat,
                "getFile": self._get_file,
                "logOut": self._accept,
                "close": self._accept,
            }.items()
        }

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port (chosen by the OS, so parallel runs never clash)."""
        if self._runner is not None:
            raise RuntimeError("FakeBotApi already started")
        self._closing.clear()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # handler_cancellation: a client that gives up (timeout, Updater.stop) must not
        # leave a long poll or a delayed answer running until the server shuts down.
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        family = socket.AF_INET6 if self._host == "::1" else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((self._host if self._host != "localhost" else "127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner

    async def stop(self) -> None:
        """Release pending long polls and delays, then close the server."""
        if self._runner is None:
            return
        self._closing.set()
        self._wake_pollers()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on (only meaningful once started)."""
        if self._runner is None:
            raise RuntimeError("FakeBotApi is not running")
        return self._port

    @property
    def _origin(self) -> str:
        host = "[::1]" if self._host == "::1" else "127.0.0.1"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends the token itself."""
        return f"{self._origin}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self._origin}/file/bot"

    # ---- HTTP ------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        match = _API_PATH.fullmatch(request.path)
        if match is None:
            file_match = _FILE_PATH.fullmatch(request.path)
            if file_match is not None:
                return self._serve_file(file_match[1], file_match[2])
            return _json_response(ApiError(404, "Not Found").body(), 404)
        token, method = match[1], match[2]
        try:
            params, files = await _read_params(request)
        except ApiError as error:
            return _json_response(error.body(), error.status)
        name, impl = self._resolve(method)
        call = ApiCall(
            method=name,
            params=params,
            time=time.monotonic(),
            index=len(self.calls),
            http_method=request.method,
            files=tuple(files),
        )
        self.calls.append(call)
        self._notify_calls()  # wait_polling() watches arrivals; waiters skip undecided calls
        try:
            return await self._answer(request, call, token, impl)
        except asyncio.CancelledError:
            if call.status is None:
                call.status, call.fault = 0, "cancelled"
                self._notify_calls()
            raise

    async def _answer(
        self,
        request: web.Request,
        call: ApiCall,
        token: str,
        impl: Callable[[JSONDict], Awaitable[Any]] | None,
    ) -> web.StreamResponse:
        if token != self.token:
            return self._finish(call, error=ApiError(401, "Unauthorized"))
        fault = self._take_fault(call.method)
        if fault is not None:
            call.fault = fault.kind
            if fault.kind == "fail":
                return self._finish(call, error=fault.error())
            if fault.kind == "drop" and not fault.processed:
                return self._drop(request, call)
        if impl is None:
            return self._finish(call, error=ApiError(404, "Not Found: method not found"))
        try:
            result = await impl(call.params)
        except ApiError as error:
            response = self._finish(call, error=error)
        else:
            response = self._finish(call, result=result)
        if fault is not None and fault.kind == "drop":
            return self._drop(request, call)
        if fault is not None and fault.kind == "delay":
            # The request took effect already; only the answer is late, as when Telegram
            # is slow: a client that times out and retries may cause a duplicate.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.seconds)
        return response

    def _finish(
        self, call: ApiCall, *, result: Any = None, error: ApiError | None = None
    ) -> web.Response:
        if error is not None:
            call.status, call.error = error.status, error.description
            body = error.body()
        else:
            call.status, call.result = 200, result
            body = {"ok": True, "result": result}
        self._notify_calls()
        return _json_response(body, call.status)

    def _drop(self, request: web.Request, call: ApiCall) -> web.StreamResponse:
        call.status = 0
        self._notify_calls()
        if request.transport is not None:
            request.transport.abort()
        # Never written: the transport is gone.  Raising keeps aiohttp from logging.
        raise web.HTTPServiceUnavailable()

    def _resolve(self, method: str) -> tuple[str, Callable[[JSONDict], Awaitable[Any]] | None]:
        key = method.lower()
        if key in self._custom:
            name, handler = self._custom[key]

            async def custom(params: JSONDict) -> Any:
                result = handler(params)
                if inspect.isawaitable(result):
                    result = await result
                return result

            return name, custom
        if key in self._methods:
            return self._methods[key]
        return method, None

    def _serve_file(self, token: str, file_path: str) -> web.Response:
        if token != self.token:
            return _json_response(ApiError(401, "Unauthorized").body(), 401)
        for path, content in self._files.values():
            if path == file_path:
                return web.Response(body=content, content_type="application/octet-stream")
        return _json_response(ApiError(404, "Not Found").body(), 404)

    # ---- recording and waiting ---------------------------------------------------------

    def _notify_calls(self) -> None:
        event, self._calls_changed = self._calls_changed, asyncio.Event()
        event.set()

    def calls_of(self, method: str) -> list[ApiCall]:
        """All calls of ``method`` (case-insensitive), pending ones included."""
        key = method.lower()
        return [call for call in self.calls if call.method.lower() == key]

    def mark(self) -> int:
        """Index of the latest call, for ``wait_for_call(..., after=api.mark())``."""
        return len(self.calls) - 1

    async def wait_for_call(
        self,
        method: str,
        *,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - the documented test-helper signature
        after: int | None = None,
    ) -> ApiCall:
        """Wait for the bot to call ``method`` and return that call.

        Without ``after`` this returns the first matching call not returned by an earlier
        wait, so consecutive waits walk through the bot's calls in order.  With ``after``
        only calls with ``index > after`` count.  ``method="*"`` matches any method but
        ``getUpdates``.  Only decided calls are seen: their ``status``/``result`` are set.

        Raises ``TimeoutError`` naming what the bot did instead.
        """
        key = method.lower()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            changed = self._calls_changed
            for call in self.calls:
                if not call.done or (after is not None and call.index <= after):
                    continue
                if after is None and call.index in self._consumed:
                    continue
                name = call.method.lower()
                if (key == "*" and name == "getupdates") or (key not in ("*", name)):
                    continue
                if predicate is not None and not predicate(call):
                    continue
                self._consumed.add(call.index)
                return call
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(self._describe_timeout(method, predicate, timeout, after))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _describe_timeout(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None,
        timeout: float,
        after: int | None,
    ) -> str:
        what = f"{method!r} call" + (" matching the predicate" if predicate else "")
        where = f" after #{after}" if after is not None else ""
        polls = len(self.calls_of("getUpdates"))
        others = [call for call in self.calls if call.method.lower() != "getupdates"]
        lines = [f"no {what}{where} within {timeout:g}s; {polls} getUpdates and these calls:"]
        lines += [f"  {call!r}" for call in others[-30:]] or ["  (none)"]
        if len(others) > 30:
            lines.insert(1, f"  ... {len(others) - 30} earlier calls omitted")
        if self._updates:
            pending = [u["update_id"] for u in self._updates]
            lines.append(f"unconfirmed updates: {pending}")
        return "\n".join(lines)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - mirrors wait_for_call
    ) -> None:
        """Wait until ``condition()`` holds, checked again after each call the server decides.

        For tests that follow a burst (with :attr:`sent_per_chat`, say): a
        :meth:`wait_for_call` per reply scans every call so far, each time.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            changed = self._calls_changed
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"the condition did not hold within {timeout:g}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def ask(
        self,
        text: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        timeout: float = 10.0,  # noqa: ASYNC109 - mirrors wait_for_call
        **kw: Any,
    ) -> ApiCall:
        """Inject a text message (``send_text``) and await the bot's next ``sendMessage``
        to that chat."""
        mark = self.mark()
        update = self.send_text(text, user_id=user_id, **kw)
        chat_id = update["message"]["chat"]["id"]
        return await self.wait_for_call(
            "sendMessage",
            predicate=lambda call: str(call.params.get("chat_id")) == str(chat_id),
            timeout=timeout,
            after=mark,
        )

    async def wait_polling(
        self,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - mirrors wait_for_call
    ) -> ApiCall:
        """Wait until a ``getUpdates`` long poll is pending on the server and return it.

        Lets a test prove that an update wakes a poll that is already waiting, instead of
        being picked up by the next one.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            changed = self._calls_changed
            for call in self.calls:
                if call.method == "getUpdates" and call.status is None:
                    return call
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no getUpdates long poll pending within {timeout:g}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_confirmed(
        self,
        update_id: int,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - mirrors wait_for_call
    ) -> None:
        """Wait until the bot confirmed ``update_id`` (a ``getUpdates`` with a higher offset).

        PTB confirms an update once it is queued, before its handlers finish: to prove
        that the bot ignored a message, inject another message it does answer afterwards
        (updates are processed in order) rather than relying on this alone.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while self._confirmed_below <= update_id:
            changed = self._calls_changed
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"update {update_id} not confirmed within {timeout:g}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ---- faults ------------------------------------------------------------------------

    def _add_fault(self, method: str, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be >= 1")
        self._faults.setdefault(method.lower(), deque()).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method.lower())
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining == 0:
            queue.popleft()
        return fault

    def fail_next(
        self,
        method: str,
        *,
        count: int = 1,
        status: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error.

        429 always carries ``parameters.retry_after`` (1 unless given), as Telegram's do,
        which PTB raises as ``RetryAfter``; other statuses answer Telegram-style error JSON
        (500 -> ``NetworkError``, 400 -> ``BadRequest``, 403 -> ``Forbidden``...).  Faults
        queue up per method in the order they were added.
        """
        self._add_fault(
            method,
            _Fault(
                "fail",
                count,
                status=status,
                retry_after=retry_after,
                description=description,
            ),
        )

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Answer the next ``count`` calls of ``method`` only after ``seconds``.

        The call takes effect immediately (a message is sent, recorded and visible to
        waiters); only the HTTP answer is late.  Use it to provoke PTB's ``TimedOut``.
        """
        self._add_fault(method, _Fault("delay", count, seconds=seconds))

    def drop_next(self, method: str, count: int = 1, *, processed: bool = False) -> None:
        """Close the connection of the next ``count`` calls of ``method`` without answering.

        PTB raises ``NetworkError``.  With ``processed=True`` the call first takes effect,
        like a reply lost on the way back: retrying then duplicates the message.
        """
        self._add_fault(method, _Fault("drop", count, processed=processed))

    def clear_faults(self) -> None:
        """Forget all faults not yet consumed."""
        self._faults.clear()

    def set_handler(self, method: str, handler: MethodHandler) -> None:
        """Implement (or override) ``method``: ``handler(params)`` returns the ``result``.

        For methods the fake lacks (``sendPhoto``, ``sendDocument``...) or to script a
        special answer; raise :class:`ApiError` from it to answer an error.
        """
        self._custom[method.lower()] = (method, handler)

    # ---- world state -------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "Tester",
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
    ) -> JSONDict:
        """Register (or update) a user; builders reuse it for ``from``.  Returns the User."""
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        optional = {
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
            "is_premium": is_premium,
        }
        user.update({k: v for k, v in optional.items() if v is not None})
        self._users[user_id] = user
        return dict(user)

    def add_chat(self, chat: Mapping[str, Any]) -> JSONDict:
        """Register a chat (``{"id": ..., "type": ..., ...}``) the bot may write to."""
        if "id" not in chat or "type" not in chat:
            raise ValueError("a chat needs 'id' and 'type'")
        stored = dict(chat)
        self._chats[int(stored["id"])] = stored
        return dict(stored)

    def block_user(self, user_id: int, blocked: bool = True) -> None:
        """Make sends to the user's private chat answer 403 "bot was blocked by the user"."""
        if blocked:
            self._blocked.add(user_id)
        else:
            self._blocked.discard(user_id)

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """The current state of a stored message (after edits), or None if unknown/deleted."""
        stored = self._messages.get((chat_id, message_id))
        return dict(stored) if stored is not None else None

    def chat_messages(self, chat_id: int) -> list[JSONDict]:
        """All stored messages of a chat, oldest first."""
        found = [m for (c, _), m in sorted(self._messages.items()) if c == chat_id]
        return [dict(m) for m in found]

    def add_file(self, content: bytes, *, file_id: str | None = None) -> str:
        """Make ``getFile`` and the file URL serve ``content``; returns the file_id."""
        file_id = file_id or f"FILE{len(self._files) + 1:06d}"
        self._files[file_id] = (f"documents/{file_id}.bin", content)
        return file_id

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Injected updates the bot has not confirmed yet."""
        return list(self._updates)

    # ---- injecting updates ----------------------------------------------------------------

    def inject(self, update: Mapping[str, Any]) -> JSONDict:
        """Queue a raw update (``update_id`` is assigned, overriding any given one).

        Chats, users and messages in it are registered so the bot may answer them.
        """
        stored = {key: value for key, value in update.items() if key != "update_id"}
        stored = {"update_id": self._next_update_id, **stored}
        self._next_update_id += 1
        self._learn(stored)
        self._updates.append(stored)
        self._wake_pollers()
        return stored

    def _learn(self, update: JSONDict) -> None:
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            message = update.get(key)
            if isinstance(message, dict):
                self._learn_message(message)
        query = update.get("callback_query")
        if isinstance(query, dict):
            self._open_callback_queries.add(str(query.get("id")))
            if isinstance(query.get("message"), dict):
                self._learn_message(query["message"])
        inline = update.get("inline_query")
        if isinstance(inline, dict):
            self._open_inline_queries.add(str(inline.get("id")))
        for key in ("callback_query", "inline_query", "chosen_inline_result"):
            obj = update.get(key)
            if isinstance(obj, dict) and isinstance(obj.get("from"), dict):
                user = obj["from"]
                self._users.setdefault(int(user["id"]), dict(user))

    def _learn_message(self, message: JSONDict) -> None:
        chat = message.get("chat")
        if not isinstance(chat, dict) or "id" not in chat:
            return
        chat_id = int(chat["id"])
        self._chats.setdefault(chat_id, dict(chat))
        sender = message.get("from")
        if isinstance(sender, dict) and not sender.get("is_bot"):
            self._users.setdefault(int(sender["id"]), dict(sender))
        if "message_id" in message:
            message_id = int(message["message_id"])
            self._messages[(chat_id, message_id)] = dict(message)
            self._next_message_id[chat_id] = max(
                self._next_message_id.get(chat_id, 1), message_id + 1
            )

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _user(self, user_id: int, first_name: str | None, username: str | None) -> JSONDict:
        user = self._users.get(user_id)
        if user is None or first_name is not None or username is not None:
            base = user or {}
            return self.add_user(
                user_id,
                first_name=first_name or base.get("first_name", "Tester"),
                username=username or base.get("username") or f"user{user_id}",
                last_name=base.get("last_name"),
                language_code=base.get("language_code"),
            )
        return dict(user)

    def _chat(
        self, user: JSONDict, chat_id: int | None, chat_type: str, title: str | None
    ) -> JSONDict:
        if chat_type == "private":
            if chat_id is not None and chat_id != user["id"]:
                raise ValueError("a private chat's id is the user's id")
            chat: JSONDict = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            for key in ("last_name", "username"):
                if key in user:
                    chat[key] = user[key]
            return chat
        if chat_type not in ("group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {chat_type!r}")
        if chat_id is None or chat_id >= 0:
            raise ValueError("group chats have negative ids")
        known = self._chats.get(chat_id)
        if known is not None and title is None:
            return dict(known)
        return {"id": chat_id, "type": chat_type, "title": title or "测试群"}

    def send_raw_message(
        self,
        fields: Mapping[str, Any],
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        chat_type: str = "private",
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
        reply_to_bot: bool = False,
        reply_to_message_id: int | None = None,
        message_id: int | None = None,
    ) -> JSONDict:
        """Inject a ``message`` update from a user with arbitrary content ``fields``
        (``{"voice": {...}}``, ``{"location": {...}}``...).  The other builders use this.

        ``reply_to_bot`` makes it a reply to the bot's latest message in the chat (one is
        invented if there is none): the usual way to address a bot in a group.
        """
        user = self._user(user_id, first_name, username)
        chat = self._chat(user, chat_id, chat_type, title)
        reply_to = None
        if reply_to_message_id is not None or reply_to_bot:
            # Before numbering this message: the target may have to be invented first.
            reply_to = self._reply_target(chat, reply_to_message_id)
        message: JSONDict = {
            "message_id": message_id if message_id is not None else self._peek_message_id(chat),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(fields)
        return self.inject({"message": message})

    def _peek_message_id(self, chat: JSONDict) -> int:
        return self._next_message_id.get(int(chat["id"]), 1)

    def _reply_target(self, chat: JSONDict, message_id: int | None) -> JSONDict:
        chat_id = int(chat["id"])
        if message_id is not None:
            target = self._messages.get((chat_id, message_id))
            if target is None:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
        else:
            from_bot = [
                m
                for (c, _), m in sorted(self._messages.items())
                if c == chat_id and m.get("from", {}).get("id") == self.bot_user["id"]
            ]
            target = from_bot[-1] if from_bot else self._store_bot_message(chat, "…")
        reply = dict(target)
        reply.pop("reply_to_message", None)  # Telegram does not nest replies
        return reply

    def _store_bot_message(
        self,
        chat: JSONDict,
        text: str,
        *,
        message_id: int | None = None,
        reply_markup: JSONDict | None = None,
    ) -> JSONDict:
        chat_id = int(chat["id"])
        message: JSONDict = {
            "message_id": message_id if message_id is not None else self._new_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
            "text": text,
        }
        if reply_markup is not None:
            message["reply_markup"] = reply_markup
        self._chats.setdefault(chat_id, dict(chat))
        self._learn_message(message)
        return message

    def send_text(
        self,
        text: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
        title: str | None = None,
        reply_to_bot: bool = False,
        reply_to_message_id: int | None = None,
        message_id: int | None = None,
        entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """Inject a text message as a Telegram client would send it.

        ``entities`` default to what the client computes: ``bot_command`` for ``/cmd`` and
        ``/cmd@botname``, ``mention`` for ``@username``, with UTF-16 offsets.  The private
        chat (``chat_id`` defaults to ``user_id``) counts as started, so the bot may write
        to it.
        """
        fields: JSONDict = {"text": text}
        found = auto_entities(text) if entities is None else entities
        if found:
            fields["entities"] = found
        return self.send_raw_message(
            fields,
            user_id=user_id,
            chat_id=chat_id,
            chat_type=chat_type,
            title=title,
            first_name=first_name,
            username=username,
            reply_to_bot=reply_to_bot,
            reply_to_message_id=reply_to_message_id,
            message_id=message_id,
        )

    def send_group_text(
        self,
        text: str,
        *,
        chat_id: int = DEFAULT_GROUP_ID,
        user_id: int = DEFAULT_USER_ID,
        chat_type: str = "supergroup",
        title: str | None = None,
        **kw: Any,
    ) -> JSONDict:
        """Inject a text message in a group (``chat_type`` "group" or "supergroup").

        The fake does not emulate privacy mode: whatever is injected is delivered.
        """
        if chat_type not in ("group", "supergroup"):
            raise ValueError("chat_type must be 'group' or 'supergroup'")
        return self.send_text(
            text, user_id=user_id, chat_id=chat_id, chat_type=chat_type, title=title, **kw
        )

    def send_sticker(
        self,
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        chat_type: str = "private",
        emoji: str = "👍",
        set_name: str = "TestStickers",
        **kw: Any,
    ) -> JSONDict:
        """Inject a sticker message (a regular, static 512x512 sticker)."""
        n = self._next_update_id
        sticker = {
            "file_id": f"CAACAgIAAxkBAAI{n:06d}",
            "file_unique_id": f"AgAD{n:06d}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": set_name,
            "file_size": 23456,
        }
        return self.send_raw_message(
            {"sticker": sticker}, user_id=user_id, chat_id=chat_id, chat_type=chat_type, **kw
        )

    def send_photo(
        self,
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        chat_type: str = "private",
        caption: str | None = None,
        content: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        **kw: Any,
    ) -> JSONDict:
        """Inject a photo message (three sizes, as Telegram sends) with an optional caption.

        The largest size is downloadable through ``getFile`` with ``content``.
        """
        n = self._next_update_id
        sizes: list[JSONDict] = []
        for i, (width, height) in enumerate(((90, 67), (320, 240), (1280, 960))):
            file_id = f"AgACAgIAAxkBAAI{n:06d}{i}"
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"AQAD{n:06d}{i}",
                    "width": width,
                    "height": height,
                    "file_size": len(content) * (i + 1),
                }
            )
        self._files[sizes[-1]["file_id"]] = (f"photos/file_{n}.jpg", content)
        fields: JSONDict = {"photo": sizes}
        if caption is not None:
            fields["caption"] = caption
            caption_entities = auto_entities(caption)
            if caption_entities:
                fields["caption_entities"] = caption_entities
        return self.send_raw_message(
            fields, user_id=user_id, chat_id=chat_id, chat_type=chat_type, **kw
        )

    def send_callback(
        self,
        data: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        chat_type: str = "private",
        message_id: int | None = None,
        message_text: str = "…",
        reply_markup: JSONDict | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """Inject a ``callback_query``: the user pressed a button of a bot message.

        With ``message_id`` of a message the bot sent, that message (as currently stored,
        keyboard included) is attached; otherwise a bot message with ``message_text`` and
        ``reply_markup`` is created so the bot can edit it.
        """
        user = self._user(user_id, first_name, username)
        chat = self._chat(user, chat_id, chat_type, None)
        stored = None if message_id is None else self._messages.get((int(chat["id"]), message_id))
        if stored is None:
            stored = self._store_bot_message(
                chat, message_text, message_id=message_id, reply_markup=reply_markup
            )
        query = {
            "id": str(next(self._query_ids)),
            "from": user,
            "message": dict(stored),
            "chat_instance": str(abs(int(chat["id"])) * 1_000_003 % 10**18),
            "data": data,
        }
        return self.inject({"callback_query": query})

    def send_inline_query(
        self,
        query: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        offset: str = "",
        chat_type: str | None = "sender",
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """Inject an ``inline_query`` (the user typed ``@botname query``)."""
        inline: JSONDict = {
            "id": str(next(self._query_ids)),
            "from": self._user(user_id, first_name, username),
            "query": query,
            "offset": offset,
        }
        if chat_type is not None:
            inline["chat_type"] = chat_type
        return self.inject({"inline_query": inline})

    def send_chosen_inline_result(
        self,
        result_id: str,
        query: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        inline_message_id: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """Inject a ``chosen_inline_result``: the user picked result ``result_id`` of an inline
        query for ``query`` and sent it to a chat.

        Telegram sends these only to bots with inline feedback enabled (@BotFather
        ``/setinlinefeedback``) and only when the bot asked for them in ``allowed_updates``
        (when it lists any). ``inline_message_id`` is set only for results with a keyboard.
        """
        chosen: JSONDict = {
            "result_id": result_id,
            "from": self._user(user_id, first_name, username),
            "query": query,
        }
        if inline_message_id is not None:
            chosen["inline_message_id"] = inline_message_id
        return self.inject({"chosen_inline_result": chosen})

    # ---- getUpdates ----------------------------------------------------------------------

    def _wake_pollers(self) -> None:
        event, self._updates_changed = self._updates_changed, asyncio.Event()
        event.set()

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._confirmed_below = max(self._confirmed_below, offset)
        elif offset < 0:
            kept = self._updates[offset:]
            if len(kept) < len(self._updates):
                self._confirmed_below = max(self._confirmed_below, kept[0]["update_id"])
            self._updates = kept
        self._notify_calls()  # wait_confirmed() listens here

    def _deliverable(self, limit: int) -> list[JSONDict]:
        allowed = set(self._allowed_updates)
        selected: list[JSONDict] = []
        kept: list[JSONDict] = []
        for update in self._updates:
            kind = next((k for k in update if k != "update_id"), "")
            wanted = kind in allowed if allowed else kind not in _OPT_IN_UPDATES
            if not wanted:
                continue  # Telegram never creates updates the bot did not ask for
            kept.append(update)
            if len(selected) < limit:
                selected.append(update)
        self._updates = kept
        return selected

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        self._confirm(offset)
        # A newer poll terminates an older one, as Telegram does: this is how "two bot
        # instances running" shows up (409 Conflict for the loser).
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._updates_changed
            updates = self._deliverable(limit)
            if updates or self._closing.is_set():
                self.delivery_log.extend(u["update_id"] for u in updates)
                return updates
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ---- bot-level methods -------------------------------------------------------------

    async def _accept(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        if url and not url.lower().startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            if self._updates:
                self._confirmed_below = self._updates[-1]["update_id"] + 1
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
        return info

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("commands must be an array of at most 100 BotCommand")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = [dict(c) for c in commands]
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return [dict(c) for c in self.commands.get(self._commands_key(params), [])]

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _set_description(self, kind: str, params: JSONDict, limit: int) -> bool:
        text = str(params.get(kind) or "")
        if len(text) > limit:
            raise _bad_request(f"{kind} is too long")
        self.descriptions[(kind, str(params.get("language_code") or ""))] = text
        return True

    async def _set_my_description(self, params: JSONDict) -> bool:
        return self._set_description("description", params, 512)

    async def _set_my_short_description(self, params: JSONDict) -> bool:
        return self._set_description("short_description", params, 120)

    async def _get_my_description(self, params: JSONDict) -> JSONDict:
        key = ("description", str(params.get("language_code") or ""))
        return {"description": self.descriptions.get(key, "")}

    async def _get_my_short_description(self, params: JSONDict) -> JSONDict:
        key = ("short_description", str(params.get("language_code") or ""))
        return {"short_description": self.descriptions.get(key, "")}

    # ---- chats and messages ------------------------------------------------------------

    def _writable_chat(self, params: JSONDict) -> JSONDict:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad_request("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for known in self._chats.values():
                if str(known.get("username", "")).lower() == raw[1:].lower():
                    return known
            raise _bad_request("chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _bad_request("chat not found") from None
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0 and chat_id in self._users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            if self.strict:
                raise _bad_request("chat not found")
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
            if chat_id < 0:
                chat["title"] = "测试群"
            self._chats[chat_id] = chat
        if chat["type"] == "private" and chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _text_fields(self, params: JSONDict) -> tuple[str, list[JSONDict]]:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad_request("message text is empty")
        plain, entities = format_text(text, params.get("parse_mode"), params.get("entities"))
        if not plain.strip():
            raise _bad_request("message text is empty")
        if len(plain) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        return plain, entities

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        text, entities = self._text_fields(params)
        markup = params.get("reply_markup")
        _check_reply_markup(markup)
        chat_id = int(chat["id"])
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        reply_to = self._reply_to(chat_id, params)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message["text"] = text
        if entities:
            message["entities"] = entities
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            # Only inline keyboards belong to the message; reply keyboards do not come back.
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self.sent_per_chat[chat_id] += 1
        return dict(message)

    def _reply_to(self, chat_id: int, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            legacy = params.get("reply_to_message_id")
            if legacy is None:
                return None
            reply = {"message_id": legacy}
        target_chat = int(reply.get("chat_id", chat_id))
        target = self._messages.get((target_chat, int(reply.get("message_id", 0))))
        if target is None:
            if self.strict and not reply.get("allow_sending_without_reply"):
                raise _bad_request("message to be replied not found")
            return None
        found = dict(target)
        found.pop("reply_to_message", None)
        return found

    def _editable(self, params: JSONDict) -> JSONDict | None:
        """The stored message an edit addresses; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat = self._writable_chat(params)
        key = (int(chat["id"]), _int_param(params, "message_id", 0))
        message = self._messages.get(key)
        if message is None:
            if self.strict:
                raise _bad_request("message to edit not found")
            message = self._store_bot_message(chat, "…", message_id=key[1])
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad_request("message can't be edited")
        return message

    async def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        text, entities = self._text_fields(params)
        markup = params.get("reply_markup")
        _check_reply_markup(markup)
        message = self._editable(params)
        if message is None:
            return True
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if (
            message["text"] == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == new_markup
        ):
            raise _bad_request(_NOT_MODIFIED[len("Bad Request: ") :])
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        # No reply_markup in an edit removes the keyboard, as on Telegram.
        message.pop("reply_markup", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        return dict(message)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        markup = params.get("reply_markup")
        _check_reply_markup(markup)
        message = self._editable(params)
        if message is None:
            return True
        new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if message.get("reply_markup") == new_markup:
            raise _bad_request(_NOT_MODIFIED[len("Bad Request: ") :])
        message.pop("reply_markup", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        return dict(message)

    async def _delete_message(self, params: JSONDict) -> bool:
        chat = self._writable_chat(params)
        key = (int(chat["id"]), _int_param(params, "message_id", 0))
        if self._messages.pop(key, None) is None and self.strict:
            raise _bad_request("message to delete not found")
        return True

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callback_queries and self.strict:
            raise _bad_request(_QUERY_INVALID[len("Bad Request: ") :])
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._open_callback_queries.discard(query_id)  # a query is answered once
        return True

    async def _answer_inline_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("inline_query_id") or "")
        if query_id not in self._open_inline_queries and self.strict:
            raise _bad_request(_QUERY_INVALID[len("Bad Request: ") :])
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad_request("results must be an array of InlineQueryResult")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad_request("RESULTS_TOO_MUCH")
        ids = [r.get("id") if isinstance(r, dict) else None for r in results]
        if any(not isinstance(r, dict) or "type" not in r or not r.get("id") for r in results):
            raise _bad_request("RESULT_ID_INVALID")
        if len(set(map(str, ids))) != len(ids):
            raise _bad_request("RESULT_ID_DUPLICATE")
        for result in results:
            _check_reply_markup(result.get("reply_markup"))
        self._open_inline_queries.discard(query_id)
        return True

    async def _send_chat_action(self, params: JSONDict) -> bool:
        self._writable_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = str(params.get("file_id") or "")
        if file_id not in self._files:
            raise _bad_request("invalid file_id")
        path, content = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id[-8:]}",
            "file_size": len(content),
            "file_path": path,
        }


# --------------------------------------------------------------------------------------
# Request/response plumbing
# --------------------------------------------------------------------------------------


def _int_param(params: JSONDict, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad_request(f"invalid {name} specified") from None


def _json_response(body: JSONDict, status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


async def _read_params(request: web.Request) -> tuple[JSONDict, list[UploadedFile]]:
    """Merge query string and body into decoded params, the way Telegram accepts them."""
    params: JSONDict = {}
    files: list[UploadedFile] = []
    _merge_form(params, request.query.items())
    if not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad_request("can't parse JSON") from None
        if not isinstance(body, dict):
            raise _bad_request("JSON object expected")
        params.update(body)
        return params, files
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, FileField):
            files.append(
                UploadedFile(
                    field=name,
                    filename=value.filename,
                    content_type=value.content_type,
                    data=value.file.read(),
                )
            )
            params[name] = f"<file {value.filename}>"
        elif isinstance(value, str):
            params[name] = _decode_field(name, value)
        else:  # bytes from a multipart part without a filename
            params[name] = _decode_field(name, value.decode("utf-8", "replace"))
    return params, files


def _merge_form(params: JSONDict, items: Iterable[tuple[str, str]]) -> None:
    for name, value in items:
        params[name] = _decode_field(name, value)


__all__ = [
    "DEFAULT_BOT_USERNAME",
    "DEFAULT_GROUP_ID",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "ApiCall",
    "ApiError",
    "FakeBotApi",
    "UploadedFile",
    "auto_entities",
    "format_text",
    "parse_html",
    "utf16_len",
]
