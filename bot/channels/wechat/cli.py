"""`xiangzhu wechat …`: the WeChat Official Account's custom menu.

    xiangzhu wechat menu push              # the main menu (vocab/menu.py)
    xiangzhu wechat menu push --file m.json
    xiangzhu wechat menu push --print      # show the JSON, push nothing

Menu entries are CLICK buttons: WeChat sends their key as a CLICK event and the dispatcher
sees the key as the payload (the same payloads as the flows' buttons). WeChat allows at most
3 top-level entries (4 Chinese characters each) with at most 5 sub-entries.
"""
from __future__ import annotations

import asyncio
import json
import sys
from types import SimpleNamespace

import click

from bot.channel_store import ChannelStore
from bot.config import get_settings
from vocab.menu import MAIN_MENU, MenuItem

__all__ = ["DEFAULT_MENU", "menu_problems", "wechat_group"]

_TOP = ("/policy", "/activities")  # the rest go under 求助 (WeChat allows 3 top-level entries)


def _click(item: MenuItem) -> dict:
    return {"type": "click", "name": item.zh, "key": item.payload}


DEFAULT_MENU = {
    "button": [_click(item) for item in MAIN_MENU if item.payload in _TOP]
    + [{"name": "求助", "sub_button": [_click(item) for item in MAIN_MENU if item.payload not in _TOP]}]
}


def menu_problems(menu: dict) -> list[str]:
    """What WeChat would refuse in a menu, in words an admin understands (empty when fine)."""
    problems = []
    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return ["菜单需要 1–3 个一级按钮 / the menu needs 1 to 3 top-level buttons (\"button\": [...])"]
    for i, b in enumerate(buttons, 1):
        where = f"button[{i}]"
        if not isinstance(b, dict) or not b.get("name"):
            problems.append(f"{where}: 缺少 name / has no name")
            continue
        if len(b["name"].encode("utf-8")) > 16:
            problems.append(f"{where} '{b['name']}': 一级按钮名最多 4 个汉字 / top-level names are at most 16 bytes")
        subs = b.get("sub_button")
        entries = [(where, b)] if subs is None else []
        if subs is not None:
            if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
                problems.append(f"{where}: 子菜单需要 1–5 个按钮 / sub_button needs 1 to 5 entries")
                continue
            entries = [(f"{where}.sub_button[{j}]", s) for j, s in enumerate(subs, 1)]
        for w, e in entries:
            if not isinstance(e, dict) or not e.get("name"):
                problems.append(f"{w}: 缺少 name / has no name")
                continue
            if len(e["name"].encode("utf-8")) > 60:
                problems.append(f"{w} '{e['name']}': 按钮名太长 / name is over 60 bytes")
            if e.get("type") == "click":
                key = e.get("key") or ""
                if not key or len(key.encode("utf-8")) > 128:
                    problems.append(f"{w} '{e['name']}': click 按钮需要 1–128 字节的 key / a click entry needs a key of 1-128 bytes")
            elif e.get("type") == "view":
                if not str(e.get("url", "")).startswith(("http://", "https://")):
                    problems.append(f"{w} '{e['name']}': view 按钮需要 url / a view entry needs an http(s) url")
            else:
                problems.append(f"{w} '{e['name']}': type 应为 click 或 view / type must be click or view")
    return problems


async def _push(settings, menu: dict) -> dict:
    from bot.channels.wechat.client import WeChatApi
    from bot.services import utc_now

    store = ChannelStore.open(settings.database_url)
    try:
        services = SimpleNamespace(settings=settings, channel_store=store, clock=utc_now)
        return await WeChatApi(services, settings).create_menu(menu)
    finally:
        await store.close()


@click.group("wechat")
def wechat_group() -> None:
    """微信公众号 / WeChat Official Account."""


@wechat_group.group("menu")
def menu_group() -> None:
    """自定义菜单 / the custom menu."""


@menu_group.command("push")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False),
              help="菜单 JSON 文件（微信 menu/create 格式）/ a menu JSON file in WeChat's menu/create shape")
@click.option("--print", "print_only", is_flag=True, help="只显示 JSON，不推送 / show the JSON, push nothing")
def menu_push(path: str | None, print_only: bool) -> None:
    """推送自定义菜单到微信 / push the custom menu to WeChat."""
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                menu = json.load(fh)
        except ValueError as exc:
            click.echo(f"{path}: 不是有效的 JSON / not valid JSON: {exc}", err=True)
            sys.exit(2)
    else:
        menu = DEFAULT_MENU
    problems = menu_problems(menu)
    if problems:
        click.echo("菜单有问题 / the menu has problems:", err=True)
        for p in problems:
            click.echo(f"  {p}", err=True)
        sys.exit(2)
    if print_only:
        click.echo(json.dumps(menu, ensure_ascii=False, indent=2))
        return
    settings = get_settings()
    if not (settings.wechat_appid and settings.wechat_secret):
        click.echo("需要 XIANGZHU_WECHAT_APPID 和 XIANGZHU_WECHAT_SECRET / "
                   "XIANGZHU_WECHAT_APPID and XIANGZHU_WECHAT_SECRET must be set", err=True)
        sys.exit(2)
    from bot.channels.wechat.client import WeChatApiError

    try:
        asyncio.run(_push(settings, menu))
    except WeChatApiError as exc:
        click.echo(f"微信拒绝了菜单 / WeChat refused the menu: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # network, database
        click.echo(f"推送失败 / push failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    names = ", ".join(b["name"] for b in menu["button"])
    click.echo(f"菜单已推送 / menu pushed: {names}")
