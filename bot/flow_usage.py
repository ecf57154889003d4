"""Where villagers give up: per step of a flow, how many conversations reached it and how many
stopped there, over the last days (the editor's usage view).

Derived, not recorded — nothing stores the step of each message:
- *reached*: people who were sent a message that is the step's text (a `say`, an `ask`'s
  question or retry, in either language, in any saved version; `{{…}}` matches anything).
  Steps that say nothing (branch, action, goto, end, call, handoff) have no count of their own
  (None) unless conversations stopped there.
- *stopped*: conversations still at that step of this flow, last changed within the window
  and at least `IDLE` ago (a person in the middle of answering is not a drop-off).

    await step_usage(session, "need_request", now=now, days=30)
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.model import LOCALES
from flows.outline import outline
from flows.templates import TEMPLATE
from storage import flow_store
from storage.models import Conversation, Message

__all__ = ["IDLE", "step_usage"]

IDLE = timedelta(hours=1)


def _pattern(text: str) -> re.Pattern | None:
    text = str(text or "").strip()
    if not text:
        return None
    parts = TEMPLATE.split(text)
    literal = parts[0::2]  # split keeps the captured names at odd positions
    return re.compile(".+?".join(re.escape(p) for p in literal) + r"\Z", re.S)


def _texts(raw: dict, kind: str) -> list:
    body = raw.get(kind)
    if kind == "say":
        return [body]
    if kind == "ask" and isinstance(body, dict):
        return [body.get("question"), body.get("retry")]
    return []


async def step_usage(session: AsyncSession, flow_id: str, *, now: datetime, days: int = 30) -> dict:
    since = now - timedelta(days=days)
    versions = await flow_store.versions_of(session, flow_id)
    current = await flow_store.current_version(session, flow_id)
    shown = current or (versions[0] if versions else None)
    steps = outline(shown.yaml).steps if shown else []
    patterns: dict[str, list[re.Pattern]] = {}
    for version in versions:
        for step in outline(version.yaml).steps:
            for text in _texts(step.raw, step.kind):
                for lang in LOCALES:
                    p = _pattern(text.get(lang)) if isinstance(text, dict) else None
                    if p is not None and p.pattern not in {q.pattern for q in patterns.get(step.id, [])}:
                        patterns.setdefault(step.id, []).append(p)
    reached: dict[str, set[int]] = {sid: set() for sid in patterns}
    rows = await session.stream(select(Message.person_id, Message.text)
                                .where(Message.direction == "out", Message.created_at >= since,
                                       Message.person_id.is_not(None)))
    async for person_id, text in rows:
        text = (text or "").strip()
        for sid, pats in patterns.items():
            if person_id not in reached[sid] and any(p.match(text) for p in pats):
                reached[sid].add(person_id)
    stopped: dict[str, int] = {}
    convs = await session.execute(select(Conversation.step).where(
        Conversation.flow_id == flow_id, Conversation.updated_at >= since, Conversation.updated_at <= now - IDLE))
    for (step,) in convs:
        stopped[step] = stopped.get(step, 0) + 1
    out = []
    for step in steps:
        count = len(reached[step.id]) if step.id in reached else None
        stop = stopped.get(step.id, 0)
        if count is None and stop:
            count = stop
        out.append({"step": step.id, "kind": step.kind, "line": step.line, "reached": count, "stopped": stop,
                    "drop_off": round(stop / count, 3) if count else None})
    return {"id": flow_id, "days": days, "since": since.isoformat(), "steps": out}
