"""WeChat's rules that more than the WeChat adapter must know: the customer-service window.
A follower can be sent customer-service messages only within 48 hours of their last message
to the official account; after that only a template message reaches them. The adapter
(bot/channels/wechat/adapter.py) holds messages outside it; the leader's reminders,
check-ins, follow-ups and broadcasts (bot/reminders.outside_wechat_window) plan around it."""
from __future__ import annotations

from datetime import timedelta

CUSTOMER_SERVICE_WINDOW = timedelta(hours=48)

__all__ = ["CUSTOMER_SERVICE_WINDOW"]
