"""Settings from `XIANGZHU_*` environment variables, optionally a TOML file.

The TOML file is named by `XIANGZHU_CONFIG`; its keys are the field names below in lower case
(`database_url = "..."`). Environment variables win over the file.
"""
from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XIANGZHU_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/xiangzhu.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1  # `serve` processes sharing the port (PostgreSQL only)
    data_dir: Path = Path("./data")
    media_dir: Path = Path("./data/media")
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh"
    log_level: str = "INFO"
    log_json: bool = False
    secret_key: str = Field(default="", description="signs web sessions; generated into data_dir when empty")

    # REST channel
    rest_token: str = ""
    rest_callback_url: str = ""

    # NLU
    nlu: str = "builtin"  # builtin | rasa
    rasa_url: str = "http://127.0.0.1:5005"
    nlu_cache_dir: Path = Path("./data/nlu-cache")

    # Telegram
    telegram_token: str = ""
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str = ""
    telegram_secret: str = ""

    # WeChat Official Account
    wechat_token: str = ""
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"
    wechat_template_id: str = ""  # optional: template message for people outside the 48-hour window

    # Pipeline
    max_message_chars: int = 4000
    person_queue_limit: int = 20
    # turns running at once in one process (NLU, flows, the transaction); the rest wait in line
    # holding nothing (bot/turn_gate.py). 4: on a quiet machine PostgreSQL's p99 at 300 msg/s
    # was 33–45 ms with 4, 82–103 ms with 10, 57 with 2 (docs/performance.md, 2026-12-07 08:25)
    max_turns: int = Field(4, ge=1)
    # the REST webhook answers 503 (Retry-After) at once when a new message would wait longer
    # than this in that line; 0 = never (docs/performance.md)
    max_queue_seconds: float = Field(2.0, ge=0)
    outbox_poll_seconds: float = 0.5
    timer_poll_seconds: float = 1.0
    message_retention_days: int = 30
    retention_days: int = 365  # everyone's messages older than this are anonymized or deleted; 0 = keep
    retention_mode: str = "anonymize"  # anonymize | delete (storage/retention.py)

    # Coming back to people (bot/reminders.py, docs/reminders.md)
    quiet_hours: str = "21:00-07:00"  # in `timezone`; "off" for none
    followup_days: int = 7  # "问题解决了吗？" this many days after a case closes; 0 = never
    waitlist_offer_hours: float = 12.0
    broadcast_per_minute: int = 60  # per channel  # a freed seat is kept this long for the person offered it


    @field_validator("retention_mode")
    @classmethod
    def _retention_mode_known(cls, value: str) -> str:
        if value not in ("anonymize", "delete"):
            raise ValueError("XIANGZHU_RETENTION_MODE: anonymize or delete")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_parse(cls, value: str) -> str:
        from bot.quiet_hours import parse

        parse(value)
        return value

    # Social workers' desk (docs/desk.md)
    desk_max_open: int = 5  # open handoffs one worker is offered at most
    desk_escalate_emergency_minutes: int = 2  # working minutes unclaimed before everyone is paged
    desk_escalate_urgent_minutes: int = 10
    desk_escalate_normal_minutes: int = 30
    desk_tell_villager_minutes: int = 60  # unclaimed this long: the villager is told honestly
    desk_no_reply_minutes: int = 15  # claimed, no worker answer after the villager wrote: back to the queue
    digest_hour: int = Field(8, ge=-1, le=23)  # the workers' morning digest, local hour; -1 = off (bot/desk/digest.py)

    # Staff web: how often a live page (queue, conversation) looks for changes
    web_poll_seconds: float = 2.0
    # the staff web's public address ("https://desk.example.org"), for links in messages to
    # workers (a photo WeChat could not take is linked to its conversation page); "" for none
    web_base_url: str = ""


def _toml_values() -> dict:
    path = os.environ.get("XIANGZHU_CONFIG")
    if not path:
        return {}
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    # environment variables take precedence over the file
    return {k: v for k, v in data.items() if f"XIANGZHU_{k.upper()}" not in os.environ}


def load_settings(**overrides) -> Settings:
    values = _toml_values()
    values.update(overrides)
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
