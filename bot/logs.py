"""Logging: plain lines or JSON lines (`XIANGZHU_LOG_JSON=1`), with mainland phone numbers and
18-digit resident ID numbers masked in every record, whoever logged it.

Masking happens twice: `MaskingFilter` rewrites each record's message (so any handler sees the
masked text), and `MaskingFormatter` masks the final line (exception text, stack info).
"""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

__all__ = ["MaskingFilter", "JsonFormatter", "mask", "setup_logging"]

# an 18-digit ID number: 6 area digits, 8 birth date digits, 3 sequence digits, check digit
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")
# a mainland mobile number, optionally +86 / 86 and separated 3-4-4
_PHONE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")


def mask(text: str) -> str:
    """'13812345678' → '138****5678'; '110101199003071234' → '1101**********1234'."""
    if not text:
        return text
    text = _ID.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    return _PHONE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the record, mask what we have
            message = str(record.msg)
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, ()
        return True


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, any `extra=` fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = mask(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(settings=None, *, stream=None) -> logging.Handler:
    """Configure the root logger once (replacing earlier handlers); returns the handler."""
    level = getattr(settings, "log_level", "INFO") if settings is not None else "INFO"
    as_json = bool(getattr(settings, "log_json", False)) if settings is not None else False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(MaskingFilter())
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_xiangzhu", False):
            root.removeHandler(old)
    handler._xiangzhu = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(str(level).upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    return handler
