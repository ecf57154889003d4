"""The main menu as data: each entry is a flow payload with its zh and en title. Telegram shows
it as a reply keyboard, WeChat as the account's custom menu; the payloads are the flows'
commands (flows/builtin/*.yaml)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAIN_MENU", "MenuItem"]


@dataclass(frozen=True)
class MenuItem:
    payload: str
    zh: str
    en: str


MAIN_MENU: tuple[MenuItem, ...] = (
    MenuItem("/policy", "问政策", "Policies"),
    MenuItem("/need", "我要求助", "Get help"),
    MenuItem("/activities", "活动", "Activities"),
    MenuItem("/cases", "我的进度", "My cases"),
    MenuItem("/human", "找社工", "Social worker"),
    MenuItem("/menu", "全部功能", "Menu"),
)
