"""Choosing the NLU backend from the environment.

``XIANGZHU_NLU`` = ``builtin`` (default) or ``rasa``; with ``rasa``, ``XIANGZHU_RASA_URL``
(default ``http://127.0.0.1:5005``) names the server and the built-in NLU is the fallback.
``XIANGZHU_NLU_CACHE_DIR`` (default ``./data/nlu-cache``) holds the trained model.
"""
from __future__ import annotations

import os
from pathlib import Path

from nlu.parser import NLU

__all__ = ["load_backend"]


def load_backend(kind: str | None = None, rasa_url: str | None = None, cache_dir: Path | None = None):
    kind = (kind or os.environ.get("XIANGZHU_NLU", "builtin")).strip().lower()
    builtin = NLU.load(cache_dir)
    if kind == "builtin":
        return builtin
    if kind == "rasa":
        from nlu.rasa_backend import RasaNLU

        return RasaNLU(rasa_url or os.environ.get("XIANGZHU_RASA_URL", "http://127.0.0.1:5005"), fallback=builtin)
    raise ValueError(f"Config 'XIANGZHU_NLU' has value {kind!r}. Not a known backend: use 'builtin' or 'rasa'.")
