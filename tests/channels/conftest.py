"""Fixtures of the channel tests: the local stand-ins for the WeChat API and the Telegram Bot
API (no real server of either can run here), one fresh per test."""
from __future__ import annotations

import pytest

from tests.channels.telegram_fake import FakeBotApi
from tests.channels.wechat_fake import FakeWeChatApi


@pytest.fixture
def wx():
    api = FakeWeChatApi().start()
    yield api
    api.stop()


@pytest.fixture
def tg():
    api = FakeBotApi().start()
    yield api
    api.stop()
