"""Where villagers give up: per step of a flow, how many conversations reached it and how many
stopped there, over the last days (the editor's usage view).

- *reached*: people who were sent a message by the step, counted from the step each bot reply
  is stored with (`messages.flow_step`, "flow_id:step_id", written in the turn's one INSERT of
  its replies). Steps that say nothing (branch, action, goto, end, call) send no message and
  have no count of their own (None) unless conversations stopped there.
- *stopped*: conversations still at that step of this flow, last changed within the window
  and at least `IDLE` ago (a person in the middle of answering is not a drop-off).

    await step_usage(session, "need_request", now=now, days=30)
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.outline import outline
from storage import flow_store
from storage.models import Conversation, Message

__all__ = ["IDLE", "step_usage"]

IDLE = timedelta(hours=1)


async def step_usage(session: AsyncSession, flow_id: str, *, now: datetime, days: int = 30) -> dict:
    since = now - timedelta(days=days)
    versions = await flow_store.versions_of(session, flow_id)
    current = await flow_store.current_version(session, flow_id)
    shown = current or (versions[0] if versions else None)
    steps = outline(shown.yaml).steps if shown else []
    prefix = f"{flow_id}:"
    rows = await session.execute(
        select(Message.flow_step, func.count(func.distinct(Message.person_id)))
        .where(Message.direction == "out", Message.created_at >= since, Message.person_id.is_not(None),
               Message.flow_step.startswith(prefix, autoescape=True))
        .group_by(Message.flow_step))
    reached = {flow_step.removeprefix(prefix): n for flow_step, n in rows}
    stopped: dict[str, int] = {}
    convs = await session.execute(select(Conversation.step).where(
        Conversation.flow_id == flow_id, Conversation.updated_at >= since, Conversation.updated_at <= now - IDLE))
    for (step,) in convs:
        stopped[step] = stopped.get(step, 0) + 1
    out = []
    for step in steps:
        count = reached.get(step.id)
        stop = stopped.get(step.id, 0)
        if count is None and stop:
            count = stop
        out.append({"step": step.id, "kind": step.kind, "line": step.line, "reached": count, "stopped": stop,
                    "drop_off": round(stop / count, 3) if count else None})
    return {"id": flow_id, "days": days, "since": since.isoformat(), "steps": out}
