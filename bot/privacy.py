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
