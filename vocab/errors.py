"""The root of Xiangzhu's exceptions, and the one error every layer must name.

Each package has its own base under `XiangzhuError` (`nlu.errors.NluError`,
`storage.errors.StorageError`, `flows.errors.FlowsError`, `bot.errors.BotError`), so a caller
at a package's boundary can catch what that package raises without listing its classes.
"""
from __future__ import annotations

__all__ = ["DatabaseUnavailable", "VocabError", "XiangzhuError"]


class XiangzhuError(Exception):
    """Base of every exception Xiangzhu defines."""


class VocabError(XiangzhuError):
    """Base of the errors this package raises (see vocab.conditions.ConditionError)."""


class DatabaseUnavailable(XiangzhuError, RuntimeError):
    """The database did not answer; the message was not processed (the sender may retry).

    A storage fact that channels, the app and the web answer alike (503, retry later), so it
    is named here rather than by any one of them."""
