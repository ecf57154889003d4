"""The base of the errors the flow engine raises: a flow that does not validate, a migration
that cannot be applied."""
from __future__ import annotations

from vocab.errors import XiangzhuError

__all__ = ["FlowsError"]


class FlowsError(XiangzhuError):
    """Base of every exception flows/ defines."""
