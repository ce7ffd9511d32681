"""Keeping personal data out of the question log.

People type phone numbers, ID-card numbers and e-mail addresses into questions; the matcher may
see them, the log never does. User ids are stored only as keyed hashes (HMAC-SHA256), so a leaked
log cannot be joined back to Telegram accounts without the secret. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re

# Order matters: an 18-digit ID number contains what looks like a phone number.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[邮箱]"),
    (
        re.compile(
            r"(?<![0-9])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[0-9Xx](?![0-9])"
        ),
        "[身份证号]",
    ),
    (re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![0-9])"), "[手机号]"),
    (re.compile(r"(?<![0-9])(?:0\d{2,3}[- ]?)?[2-8]\d{6,7}(?![0-9])"), "[电话]"),
)

# What masked data looks like in the log: review tools must not copy these into the knowledge base.
PLACEHOLDERS: tuple[str, ...] = tuple(placeholder for _, placeholder in _PATTERNS)


def mask_personal_data(text: str) -> str:
    """Replace phone numbers, ID-card numbers and e-mail addresses with placeholders."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


def hash_user_id(user_id: int | str, secret: bytes) -> str:
    """A stable pseudonym for a user: the same id and secret always give the same hash."""
    return hmac.new(secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]
