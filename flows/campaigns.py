"""Campaigns as data: a small YAML document, checked like a flow (every problem is
`file:line:column: message`), turned into the plain spec storage/campaigns.py schedules.

    name: 结案后一周回访
    segment: {village: v1}            # or {activity: 3} | {flagged: return_to_poverty_watch} | {everyone: true}
    anchor: case_close                # activity_start | case_close | flag_date | consent_date
    offset: 7 days after              # N minutes/hours/days/weeks before/after
    delivery_hour: 9                  # optional: sent at 09:00 local on the due day
    action:
      text: {zh: 最近还好吗？, en: How are you doing?}   # or  flow: checkin  (the flow is started for
                                                        # each person; always excludes in_flow)
    exclude: [in_handoff, in_flow]    # opted_out and erased are always excluded

    spec, errors = parse_campaign(yaml_text, "followup.yaml")
"""
from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from flows.checker import Checker, FlowError, did_you_mean

ANCHORS = ("activity_start", "case_close", "flag_date", "consent_date")
SEGMENTS = ("village", "activity", "flagged", "everyone")
EXCLUSIONS = ("opted_out", "erased", "in_handoff", "in_flow")
KEYS = ("name", "segment", "anchor", "offset", "delivery_hour", "action", "exclude")
UNITS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
FLOW_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
OFFSET = re.compile(r"^\s*(\d+)\s*(minute|hour|day|week)s?\s+(before|after)\s*$", re.IGNORECASE)

__all__ = ["ANCHORS", "EXCLUSIONS", "SEGMENTS", "parse_campaign"]


def parse_campaign(yaml_text: str, filename: str = "<campaign>") -> tuple[dict | None, list[FlowError]]:
    """(spec, []) when the document is valid, else (None, errors)."""
    try:
        data = YAML(typ="rt").load(yaml_text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [FlowError(filename, line, col, f"this is not valid YAML: {exc.problem or exc.context}")]
    except YAMLError as exc:
        return None, [FlowError(filename, 1, 1, f"this is not valid YAML: {exc}")]
    if not isinstance(data, dict):
        return None, [FlowError(filename, 1, 1, "a campaign is key: value lines (name, segment, anchor, offset, action)")]
    c = Checker(filename, data)
    for key in data:
        if key not in KEYS:
            c.add((key,), f"unknown key '{key}'{did_you_mean(str(key), KEYS)}", key=True)
    for key in ("name", "segment", "anchor", "offset", "action"):
        if key not in data:
            c.add((), f"'{key}' is missing")
    spec: dict[str, Any] = {"name": str(data.get("name") or "").strip()}
    if "name" in data and not spec["name"]:
        c.add(("name",), "'name' is empty")

    segment = data.get("segment")
    if segment is not None:
        if not isinstance(segment, dict) or len(segment) != 1:
            c.add(("segment",), f"'segment' is one of {', '.join(SEGMENTS)}, e.g. {{village: v1}}")
        else:
            (kind, value), = segment.items()
            if kind not in SEGMENTS:
                c.add(("segment", kind), f"unknown segment '{kind}'{did_you_mean(str(kind), SEGMENTS)}", key=True)
            elif kind == "activity" and not isinstance(value, int):
                c.add(("segment", kind), "segment 'activity' is an activity id (a number)")
            elif kind == "everyone" and value is not True:
                c.add(("segment", kind), "segment 'everyone' takes true")
            elif kind in ("village", "flagged") and not str(value or "").strip():
                c.add(("segment", kind), f"segment '{kind}' needs a value")
            spec["segment"] = {str(kind): value if not isinstance(value, str) else value.strip()}

    anchor = data.get("anchor")
    if anchor is not None:
        if anchor not in ANCHORS:
            c.add(("anchor",), f"unknown anchor '{anchor}'{did_you_mean(str(anchor), ANCHORS)}; one of {', '.join(ANCHORS)}")
        spec["anchor"] = anchor
        if anchor == "flag_date" and isinstance(segment, dict) and "flagged" not in segment:
            c.add(("anchor",), "anchor 'flag_date' needs the segment {flagged: KIND}")

    offset = data.get("offset")
    if offset is not None:
        m = OFFSET.match(str(offset))
        if not m:
            c.add(("offset",), f"offset {str(offset)!r}: write e.g. '2 days before' or '1 week after'")
        else:
            seconds = int(m.group(1)) * UNITS[m.group(2).lower()]
            spec["offset_seconds"] = seconds if m.group(3).lower() == "after" else -seconds

    hour = data.get("delivery_hour")
    if hour is not None and (not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23):
        c.add(("delivery_hour",), "delivery_hour is an hour 0–23 (local time)")
    spec["delivery_hour"] = hour

    action = data.get("action")
    if action is not None:
        if not isinstance(action, dict) or len(action) != 1 or set(action) - {"text", "flow"}:
            c.add(("action",), "action is {text: {zh: ..., en: ...}} or {flow: FLOW_ID}")
        elif "flow" in action:
            flow = str(action["flow"] or "").strip()
            if not FLOW_ID.match(flow):
                c.add(("action", "flow"), "action flow is a flow id, e.g. checkin")
            else:
                spec["flow"] = flow
        else:
            text = action["text"]
            if not isinstance(text, dict) or not str(text.get("zh") or "").strip():
                c.add(("action", "text"), "action text needs zh (en is optional)")
            else:
                spec["text"] = {"zh": str(text["zh"]).strip(), "en": str(text.get("en") or "").strip()}

    exclude = data.get("exclude") or []
    if not isinstance(exclude, list):
        c.add(("exclude",), f"exclude is a list of: {', '.join(EXCLUSIONS)}")
        exclude = []
    for i, item in enumerate(exclude):
        if item not in EXCLUSIONS:
            c.add(("exclude", i), f"unknown exclusion '{item}'{did_you_mean(str(item), EXCLUSIONS)}")
    # a flow is started only for people in no other flow (it would interrupt theirs)
    spec["exclude"] = sorted({"opted_out", "erased", *[str(x) for x in exclude], *(["in_flow"] if "flow" in spec else [])})
    if c.errors:
        return None, sorted(c.errors, key=lambda e: (e.line, e.column))
    return spec, []
