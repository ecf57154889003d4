"""Logging: plain lines or JSON lines (`XIANGZHU_LOG_JSON=1`), with mainland phone numbers and
18-digit resident ID numbers masked in every record, whoever logged it.

Masking happens at three points: a log-record factory masks each record's message as it is
created (so every handler sees masked text, pytest's and uvicorn's included), `MaskingFilter`
on our handler does the same for records made elsewhere, and the formatters mask the final
line (exception text, stack info).
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from vocab.masking import mask

__all__ = ["MaskingFilter", "JsonFormatter", "mask", "setup_logging"]


_PLAIN = logging.Formatter()


class MaskingFilter(logging.Filter):
    """Replace the record's message by its masked text (the arguments are merged in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the record, mask what we have
            message = str(record.msg)
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            # formatters reuse exc_text when it is set: give them the masked traceback
            record.exc_text = mask(_PLAIN.formatException(record.exc_info))
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


_MASKING = MaskingFilter()


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_xiangzhu_masking", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        _MASKING.filter(record)
        return record

    factory._xiangzhu_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def setup_logging(settings=None, *, stream=None) -> logging.Handler:
    """Configure the root logger (replacing a handler set up here before); returns the handler."""
    _install_record_factory()
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
