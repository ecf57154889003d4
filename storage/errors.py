"""The base of the errors storage raises: a change the data does not allow, a schema that is
behind, a record that does not check. Callers at storage's boundary catch `StorageError`."""
from __future__ import annotations

from vocab.errors import XiangzhuError

__all__ = ["StorageError"]


class StorageError(XiangzhuError):
    """Base of every exception storage/ defines."""
