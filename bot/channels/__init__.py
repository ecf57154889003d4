"""Channel adapters: the only code that knows a messenger. See `base.ChannelAdapter`."""
from bot.channels.base import (
    ChannelAdapter,
    ChannelRegistry,
    PermanentSendError,
    RecipientUnreachable,
    RetryableSendError,
    SendError,
    choice_payload,
    render_numbered,
)

__all__ = [
    "ChannelAdapter",
    "ChannelRegistry",
    "PermanentSendError",
    "RecipientUnreachable",
    "RetryableSendError",
    "SendError",
    "choice_payload",
    "render_numbered",
]
