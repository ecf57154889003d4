"""Long texts in messages Telegram takes (4096 UTF-16 code units), cut after sentence ends."""
from __future__ import annotations

import re

from bot.channels.telegram.bot_api import MAX_TEXT

__all__ = ["split_text"]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# a sentence: up to 。！？；… (with closing quotes), or .!?; followed by a space (not "1." of a
# numbered line), or a line break; the last piece of a line may have no end at all
_SENTENCE = re.compile(
    r"[^\n]*?(?:[。！？；…]+[”’」』）)]*|(?:[!?;]+|(?<!\d)\.+)[”\"')]*(?:[ \t]+|$)|\n+)|[^\n]+"
)


def _hard_split(text: str, limit: int) -> list[str]:
    """A piece without sentence ends: cut at the last space before the limit, else anywhere."""
    parts: list[str] = []
    while _units(text) > limit:
        cut = limit
        while _units(text[:cut]) > limit:
            cut -= 1
        space = text.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space + 1
        parts.append(text[:cut])
        text = text[cut:]
    if text:
        parts.append(text)
    return parts


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in messages of at most `limit` characters, cut after sentence ends (。！？!?.;
    and line breaks) wherever possible. Joined again they give `text` back."""
    if _units(text) <= limit:
        return [text]
    sentences = _SENTENCE.findall(text)
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        if _units(current + sentence) <= limit:
            current += sentence
            continue
        if current:
            chunks.append(current)
            current = ""
        if _units(sentence) <= limit:
            current = sentence
        else:
            pieces = _hard_split(sentence, limit)
            chunks.extend(pieces[:-1])
            current = pieces[-1]
    if current:
        chunks.append(current)
    return chunks
