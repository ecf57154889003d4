"""The leader's periodic jobs for WeChat (see bot/scheduler.py): refresh the access_token
before it expires; send the replies a stopped process left reserved for a passive answer;
handle the messages a stopped process had answered `success` for but not stored."""
from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.triggers.interval import IntervalTrigger

from bot.channels.wechat.adapter import CHANNEL, PENDING_AGE, RESERVE_LEASE, WeChatAdapter
from bot.scheduler import register_periodic

__all__ = ["recover_pending_job", "refresh_token_job", "release_reserved_job"]

log = logging.getLogger("xiangzhu.wechat")

TOKEN_REFRESH_MARGIN = timedelta(minutes=10)
TOKEN_JOB_SECONDS = 60


def _adapter_of(services) -> WeChatAdapter | None:
    adapter = services.channels.get(CHANNEL) if getattr(services, "channels", None) else None
    return adapter if isinstance(adapter, WeChatAdapter) else None


async def refresh_token_job(services) -> None:
    """Refresh the access_token when it expires within TOKEN_REFRESH_MARGIN (or is missing)."""
    adapter = _adapter_of(services)
    if adapter is None:
        return
    await adapter.api.tokens.refresh(margin=TOKEN_REFRESH_MARGIN)


async def release_reserved_job(services) -> None:
    """Replies reserved for a passive answer by a process that stopped: send them."""
    if _adapter_of(services) is None:
        return
    now = services.clock()
    n = await services.channel_store.release_responses(CHANNEL, now, older_than=now - RESERVE_LEASE)
    if n:
        log.warning("wechat: %d replies left reserved by a stopped process go out now", n)
        services.wake_outbox()


async def recover_pending_job(services) -> None:
    """Messages answered `success` more than PENDING_AGE ago and still not stored: their
    process stopped before their turn committed. Handle them here; the replies go by the outbox."""
    adapter = _adapter_of(services)
    if adapter is None:
        return
    n = await adapter.recover_pending(older_than=services.clock() - PENDING_AGE)
    if n:
        log.warning("wechat: %d messages a stopped process had not handled were handled now", n)


register_periodic("wechat_token", IntervalTrigger(seconds=TOKEN_JOB_SECONDS), refresh_token_job,
                  "刷新微信 access_token / refresh the WeChat access_token")
register_periodic("wechat_release_reserved", IntervalTrigger(seconds=30), release_reserved_job,
                  "补发未被动回复的微信消息 / send WeChat replies left reserved")
register_periodic("wechat_recover_pending", IntervalTrigger(seconds=30), recover_pending_job,
                  "处理进程中断时未处理的微信消息 / handle WeChat messages a stopped process left")
