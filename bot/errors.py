"""The base of the errors the application and its channels raise: a send that failed, a staff
API call refused, a callback rejected, media too large."""
from __future__ import annotations

from vocab.errors import XiangzhuError

__all__ = ["BotError"]


class BotError(XiangzhuError):
    """Base of every exception bot/ defines."""
