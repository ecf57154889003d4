"""Bad input made harmless before anything else reads it.

`clean_text` accepts str or bytes from any channel and returns text that is valid Unicode,
has no control or invisible formatting characters (newlines stay), is trimmed, and is at most
`max_chars` long — with flags saying what happened so the dispatcher can tell the sender.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Cleaned", "clean_text"]

# zero-width and bidi controls, BOM, replacement char; keep ZWJ (U+200D): emoji sequences
_INVISIBLE = {0x200B, 0x200C, 0x200E, 0x200F, 0x2060, 0xFEFF, 0xFFFD, 0x00AD}
_INVISIBLE |= set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))
# any character the loop of `clean_text` drops or changes: controls (Cc) but the newline,
# surrogates (Cs), the invisible ones above; text without any (nearly all) skips the loop
_TOUCHED = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff"
                      + "".join(f"\\u{cp:04x}" for cp in sorted(_INVISIBLE)) + "]")
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")
_SPACES = re.compile(r"[ \t\u3000\u00a0]+")


@dataclass(frozen=True)
class Cleaned:
    text: str
    truncated: bool = False  # longer than the limit: cut
    had_invalid: bool = False  # invalid UTF-8, lone surrogates or control characters removed

    @property
    def empty(self) -> bool:
        return not self.text


def _valid_unicode(raw: str | bytes | None) -> tuple[str, bool]:
    if raw is None:
        return "", False
    if isinstance(raw, (bytes, bytearray)):
        text = bytes(raw).decode("utf-8", errors="replace")
        return text, "\ufffd" in text
    try:
        raw.encode("utf-8")
        return raw, False
    except UnicodeEncodeError:
        # lone surrogates (e.g. from a JSON "\ud800"): pairs are joined, the rest replaced
        return raw.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), True


def clean_text(raw: str | bytes | None, max_chars: int = 4000) -> Cleaned:
    text, invalid = _valid_unicode(raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _TOUCHED.search(text) is None:
        return _tidy(text, invalid, max_chars)
    out = []
    for ch in text:
        cp = ord(ch)
        if ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif cp in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs"):
            invalid = True
        else:
            out.append(ch)
    return _tidy("".join(out), invalid, max_chars)


def _tidy(text: str, invalid: bool, max_chars: int) -> Cleaned:
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text).strip()
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars].rstrip()
    return Cleaned(text=text, truncated=truncated, had_invalid=invalid)
