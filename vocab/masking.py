"""Masking of mainland phone numbers and 18-digit resident ID numbers, for logs and for
notifications that leave the system (a worker's messenger)."""
from __future__ import annotations

import re

__all__ = ["mask"]

# an 18-digit ID number: 6 area digits, 8 birth date digits, 3 sequence digits, check digit
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")
# a mainland mobile number, optionally +86 / 86 and separated 3-4-4
_PHONE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")


def mask(text: str) -> str:
    """'13812345678' → '138****5678'; '110101199003071234' → '1101**********1234'."""
    if not text:
        return text
    text = _ID.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    return _PHONE.sub(lambda m: m.group(1) + "****" + m.group(2), text)
