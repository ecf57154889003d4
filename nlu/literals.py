"""One regex that finds any of many literal words, the longest first where several start at
the same place — the same matches as ``"|".join(longest first)``, but as a trie.

Python's ``re`` tries an alternation's branches one by one at every position of the text: a
lexicon of hundreds of words costs hundreds of tries per character. As a trie
(``低(?:保(?:户)?|...)``) each position costs one look at its first character, and one branch
per character after that; nested optional groups, greedy, give the longest word that matches.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["alternation"]


def alternation(words: Iterable[str], guard_ascii: bool = False) -> str:
    """The pattern (not compiled) that matches the longest of ``words`` at each position.

    ``guard_ascii``: a word that begins with an ASCII character must not follow a letter a–z
    (``pension`` not in ``suspension``), as ``(?<![a-z])word`` would say; written after the
    first character (``p(?<![a-z]p)``) so that every branch begins with a literal and ``re``
    can skip the positions whose character begins no word."""
    trie: dict = {}
    for word in words:
        if not word:
            continue
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True  # a word ends here
    return _branches(trie, guard_ascii, top=True) if trie else "(?!)"


def _branches(node: dict, guard_ascii: bool, top: bool = False) -> str:
    ends = "" in node
    parts = []
    for ch in sorted(k for k in node if k):
        head = re.escape(ch)
        if top and guard_ascii and ch.isascii():
            head += rf"(?<![a-z]{re.escape(ch)})"
        parts.append(head + _branches(node[ch], guard_ascii))
    if not parts:
        return ""
    body = parts[0] if len(parts) == 1 and not ends else "(?:" + "|".join(parts) + ")"
    return body + "?" if ends else body
