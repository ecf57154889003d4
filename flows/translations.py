"""The translations check of a flow file: every text has Chinese and English, and a reply fits
a phone screen and the channels' limits.

    check_translations(yaml_text) -> [Finding(line, column, severity, message)]

A *text* is any mapping with a `zh` or `en` key (`say`, `question`, titles, buttons …).
Longer than 300 characters is a warning (more than a phone screen); over WeChat's 2,048-byte
text limit or Telegram's 4,096 characters is an error (the channel would refuse or cut it).
Works on a file the validator refuses, so the editor can show both at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from flows.model import LOCALES

__all__ = ["Finding", "SCREEN_CHARS", "TELEGRAM_CHARS", "WECHAT_BYTES", "check_translations"]

SCREEN_CHARS = 300
WECHAT_BYTES = 2048
TELEGRAM_CHARS = 4096
NAMES = {"zh": "Chinese (zh)", "en": "English (en)"}


@dataclass(frozen=True)
class Finding:
    line: int
    column: int
    severity: str  # error | warning
    message: str


def _is_text(node: Any) -> bool:
    return isinstance(node, dict) and bool(node) and any(k in LOCALES for k in node) \
        and all(isinstance(k, str) and len(k) <= 3 for k in node)


def _where(parent: Any, key: Any) -> tuple[int, int]:
    try:
        line, col = parent.lc.key(key) if isinstance(parent, dict) else parent.lc.item(key)
    except (AttributeError, KeyError, TypeError, IndexError):
        line, col = 0, 0
    return line + 1, col + 1


def check_translations(yaml_text: str) -> list[Finding]:
    try:
        root = YAML(typ="rt").load(yaml_text)
    except YAMLError:
        return []  # the validator reports the syntax error
    found: list[Finding] = []

    def visit(node: Any, parent: Any, key: Any, path: str) -> None:
        if _is_text(node):
            line, col = _where(parent, key)
            for lang in LOCALES:
                value = node.get(lang)
                if not str(value or "").strip():
                    found.append(Finding(line, col, "error", f"'{path}' has no {NAMES[lang]} text"))
                    continue
                text = str(value)
                vline, vcol = _where(node, lang)
                if len(text.encode("utf-8")) > WECHAT_BYTES:
                    found.append(Finding(vline, vcol, "error",
                                         f"'{path}' ({lang}) is {len(text.encode('utf-8'))} bytes; WeChat sends at most "
                                         f"{WECHAT_BYTES}"))
                elif len(text) > TELEGRAM_CHARS:
                    found.append(Finding(vline, vcol, "error",
                                         f"'{path}' ({lang}) is {len(text)} characters; Telegram sends at most {TELEGRAM_CHARS}"))
                elif len(text) > SCREEN_CHARS:
                    found.append(Finding(vline, vcol, "warning",
                                         f"'{path}' ({lang}) is {len(text)} characters, more than a phone screen "
                                         f"({SCREEN_CHARS}); shorten it"))
            return
        if isinstance(node, dict):
            for k, v in node.items():
                visit(v, node, k, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                label = v.get("id") if isinstance(v, dict) and isinstance(v.get("id"), str) else i + 1
                visit(v, node, i, f"{path}[{label}]")

    visit(root, None, None, "")
    return sorted(found, key=lambda f: (f.line, f.column))
