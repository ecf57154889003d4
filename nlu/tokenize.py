"""jieba word segmentation, its dictionary loaded once per process.

One module-level ``jieba.Tokenizer`` is shared by every NLU instance and thread;
``add_words`` puts domain words (policy and activity names) into it so they stay whole.
"""
from __future__ import annotations

import logging
import threading

import jieba

__all__ = ["add_words", "tokenizer", "words"]

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_added: set[str] = set()

jieba.setLogLevel(logging.WARNING)


def tokenizer() -> jieba.Tokenizer:
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                tk = jieba.Tokenizer()
                tk.initialize()
                _tokenizer = tk
    return _tokenizer


def add_words(new_words) -> None:
    """Add domain words to the shared dictionary (idempotent)."""
    tk = tokenizer()
    with _lock:
        for word in new_words:
            word = word.strip()
            if len(word) >= 2 and word not in _added and " " not in word:
                tk.add_word(word, freq=20000)
                _added.add(word)


def words(text: str) -> list[str]:
    """Segmented words, without whitespace tokens (HMM off: faster and steadier on typos)."""
    return [w for w in tokenizer().lcut(text, HMM=False) if w.strip()]
