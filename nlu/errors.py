"""The base of the errors the NLU raises (e.g. a Rasa server that does not answer)."""
from __future__ import annotations

from vocab.errors import XiangzhuError

__all__ = ["NluError"]


class NluError(XiangzhuError):
    """Base of every exception nlu/ defines."""
