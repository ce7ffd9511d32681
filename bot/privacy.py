"""Keeping personal data out of the question log.

People type phone numbers, ID-card numbers, bank cards and e-mail addresses into questions.
`mask_personal_data` is the one function that hides them: the engine applies it to every
question before anything else reads it (normalisation, the matcher, follow-ups), so no column,
cluster key, export or report ever holds them; the log applies it again to what it stores. User
ids are stored only as keyed hashes (HMAC-SHA256), so a leaked log cannot be joined back to
Telegram accounts without the secret. Pure: no I/O.

What counts as written the same way: full-width letters and digits (１３８…, ｘ, ＠), other
scripts' decimal digits, Chinese digit characters (一三八…), dashes of every kind, a single space
or dash between digits (420106 19900101 123X, 138-1234-5678), and the spaced-out e-mail that
normalisation used to make of an address (zhang san example com).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from functools import lru_cache

_SEP = "[ -]?"  # one optional space or dash between the digits of a number


def _spaced(*parts: str) -> str:
    """`parts` (one digit position each) with an optional separator between any two."""
    return _SEP.join(parts)


_D = "[0-9]"
_ID_18 = _spaced(
    "[1-9]",
    *[_D] * 5,  # region
    f"(?:1{_SEP}9|2{_SEP}0)",  # century
    _D,
    _D,  # year
    f"(?:0{_SEP}[1-9]|1{_SEP}[0-2])",  # month
    f"[0-3]{_SEP}[0-9]",  # day
    *[_D] * 3,  # sequence
    "[0-9Xx]",  # check character
)

# Order matters: an ID number contains what looks like a phone number, a bank card an ID
# number. Every pattern is bounded, so masking stays linear in the length of the text.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}"
            r"(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}"
        ),
        "[邮箱]",
    ),
    # An address with its punctuation gone (zhang.san@example.com -> zhang san example com):
    # at least two words before a mail domain's ending.
    (
        re.compile(
            r"(?<![A-Za-z0-9])[A-Za-z0-9]{1,64}(?:[ ._+-][A-Za-z0-9]{1,63}){1,8}"
            r" (?:(?:com|net|org|gov|edu|ac) cn|com|net|cn)(?![A-Za-z0-9])",
            re.IGNORECASE,
        ),
        "[邮箱]",
    ),
    (re.compile(f"(?<![0-9]){_ID_18}(?![0-9])"), "[身份证号]"),
    (
        # 16 to 19 digits in a row, or grouped (6222 0212 3456 7890) when the first digit is an
        # issuer's (3-6): years written in a row (2017 2018 2019 2020) start with 1 or 2.
        re.compile(r"(?<![0-9])(?:[0-9]{16,19}|[3-6][0-9]{3}(?:[ -]?[0-9]){12,15})(?![0-9])"),
        "[银行卡号]",
    ),
    (
        # The first-generation, 15-digit ID number (yymmdd birth date).
        re.compile(r"(?<![0-9])[1-9][0-9]{7}(?:0[1-9]|1[0-2])[0-3][0-9]{4}(?![0-9])"),
        "[身份证号]",
    ),
    (
        re.compile(
            f"(?<![0-9])(?:\\+?86{_SEP}|\\(\\+?86\\) ?)?1{_SEP}[3-9](?:{_SEP}[0-9]){{9}}(?![0-9])"
        ),
        "[手机号]",
    ),
    (
        re.compile(
            r"(?<![0-9])(?:\(?0[0-9]{2,3}\)?[- ]?[2-8][0-9]{2,3}[- ]?[0-9]{4}"
            r"|(?:0[0-9]{2,3}-?)?[2-8][0-9]{6,7})(?![0-9])"
        ),
        "[电话]",
    ),
)

# What every pattern above needs somewhere: seven digits (spaced or not), an @, or a mail
# domain's ending. Most questions have none, and one search is cheaper than seven.
_ANY_CANDIDATE = re.compile(
    r"[0-9](?:[ -]?[0-9]){6}|@|(?:com|net|cn)(?![A-Za-z0-9])", re.IGNORECASE
)

# What masked data looks like in the log: review tools must not copy these into the knowledge base.
PLACEHOLDERS: tuple[str, ...] = tuple(dict.fromkeys(placeholder for _, placeholder in _PATTERNS))

_CHINESE_DIGITS = "一二三四五六七八九"  # 1-9; 〇 and 零 are 0
_DASHES = "‐‑‒–—―−﹣－"


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Character -> the ASCII character it stands for, one for one (so positions match).

    Full-width ASCII (U+FF01-FF5E), the ideographic space, dashes, the ideographic full stop
    (in an e-mail domain) and every decimal digit of the Basic Multilingual Plane and of the
    mathematical alphanumerics (𝟏𝟑𝟖).
    """
    table = {code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
    table[0x3000] = " "
    table[ord("。")] = "."
    table.update({ord(ch): "-" for ch in _DASHES})
    table.update({ord(ch): str(n) for n, ch in enumerate(_CHINESE_DIGITS, start=1)})
    table.update({ord("〇"): "0", ord("零"): "0"})
    for code in (*range(0x80, 0x10000), *range(0x1D7CE, 0x1D800)):
        ch = chr(code)
        if code not in table and unicodedata.category(ch) == "Nd":
            table[code] = str(unicodedata.decimal(ch))
    return table


def mask_personal_data(text: str) -> str:
    """Replace e-mail addresses, ID-card, bank-card and phone numbers with placeholders.

    Matching runs on a copy with every look-alike folded to ASCII (see the module docstring),
    and the spans found are replaced in the text as written. Idempotent, and linear in the
    length of `text`.
    """
    folded = text.translate(_fold_table())
    if not _ANY_CANDIDATE.search(folded):
        return text
    for pattern, placeholder in _PATTERNS:
        spans = [match.span() for match in pattern.finditer(folded)]
        if spans:
            text = _replace(text, spans, placeholder)
            folded = _replace(folded, spans, placeholder)
    return text


def mask_json(text: str) -> str:
    """A JSON document with every string in it masked (numbers stay numbers): what the log's
    review tables hold, masked again by a migration when the masking learns more."""

    def mask(value: object) -> object:
        if isinstance(value, str):
            return mask_personal_data(value)
        if isinstance(value, list):
            return [mask(item) for item in value]
        if isinstance(value, dict):
            return {mask_personal_data(str(k)): mask(v) for k, v in value.items()}
        return value

    try:
        return json.dumps(mask(json.loads(text)), ensure_ascii=False)
    except ValueError:
        return mask_personal_data(text)


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> str:
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        pieces += [text[last:start], placeholder]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def hash_user_id(user_id: int | str, secret: bytes) -> str:
    """A stable pseudonym for a user: the same id and secret always give the same hash."""
    return hmac.new(secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]


# --- text from outside: repaired and capped before anything keeps it ----------------------------

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def repair(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD.

    Undecodable bytes (read with surrogateescape) and broken JSON escapes ("\\ud800" in a
    Telegram update) arrive as lone surrogates, which OpenCC, SQLite and every encoder refuse.
    """
    return _SURROGATE_RE.sub("\ufffd", text)


TRUNCATION_MARK = "……（已截断，原文共 {length} 字）"
# How far back from a cut `cut` looks for a number or address cut in two.
_CUT_LOOKBACK = 80
_ADDRESS_CHARS = frozenset("@._%+- ")
_ANY_CHINESE_DIGIT = frozenset("〇零一二三四五六七八九")
_DIGITS_AND_AT = frozenset("0123456789@")


def cut(text: str, limit: int) -> str:
    """`text` as it is when it has at most `limit` characters, else its first `limit` characters
    (callers add `TRUNCATION_MARK`).

    Only the length is looked at before cutting, so a huge text costs no more than a short one.
    A phone number, ID number or e-mail address cut in two at the end is dropped whole: masking
    cannot recognise half of one, and half of one is still personal data.
    """
    if len(text) <= limit:
        return text
    head = text[:limit]
    start = len(head)
    while start > max(limit - _CUT_LOOKBACK, 0) and _addressy(head[start - 1]):
        start -= 1
    if any(_digit_like(ch) for ch in head[start:]):
        head = head[:start]
    return head.rstrip()


def _addressy(ch: str) -> bool:
    if ch in _ANY_CHINESE_DIGIT:
        return True
    folded = unicodedata.normalize("NFKC", ch)
    return len(folded) == 1 and folded.isascii() and (folded.isalnum() or folded in _ADDRESS_CHARS)


def _digit_like(ch: str) -> bool:
    """A digit of any width or script, or the @ of an address."""
    return ch in _ANY_CHINESE_DIGIT or unicodedata.normalize("NFKC", ch) in _DIGITS_AND_AT


def prepare_text(text: str, limit: int) -> str:
    """`text` as it may be read or kept: lone surrogates replaced (`repair`), personal data
    masked (`mask_personal_data`), and cut after `limit` characters with a note of its length
    (`cut`, TRUNCATION_MARK).

    The length is checked first, so no regular expression ever runs on more than `limit`
    characters. Never raises; idempotent for texts of at most `limit` characters. The engine
    applies it to every message it reads, and `QuestionRecord` to every text the log keeps.
    """
    if len(text) <= limit:
        return mask_personal_data(repair(text))
    head = mask_personal_data(repair(cut(text, limit)))
    return head + TRUNCATION_MARK.format(length=len(text))
