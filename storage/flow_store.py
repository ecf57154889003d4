"""Flows in the database: immutable versions, one of them published per flow.

A draft is a saved version that was never published. Publishing points `flows.
current_version_id` at a version; rolling back points it at an older one. Nothing is ever
changed in a saved version, so a running conversation can finish on the version it started
on, and every process caches parsed flows by version id. The caller owns the transaction.

    v = await save_version(s, "need_request", yaml_text, created_by="staff:3")
    await publish(s, "need_request", v.id, by="staff:3")
    await rollback(s, "need_request", to_version=2, by="staff:3")  # version 2's text as a new version

Storage does not read flows: the flow engine validates a text before it is saved
(flows/store.py `save_draft`, `seed_builtin`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, driver
from storage.errors import StorageError
from storage.models import AuditEntry, Flow, FlowVersion, utcnow

__all__ = [
    "CURRENT_IDS", "FlowStoreError", "FlowSummary", "current_ids", "current_version", "remember_current_ids",
    "get_version", "get_versions", "latest_version", "lock_flow", "list_flows", "publications", "publish", "rollback",
    "save_version", "version_by_number",
]


class FlowStoreError(StorageError, ValueError):
    """A publish or rollback that cannot be done (unknown flow or version)."""


@dataclass(frozen=True)
class FlowSummary:
    id: str
    current_version_id: int | None
    current_version: int | None
    latest_version: int
    updated_at: datetime


def _declared_spec_version(yaml_text: str) -> int:
    from ruamel.yaml import YAML

    try:
        data = YAML(typ="safe").load(yaml_text)
        value = data.get("spec_version") if isinstance(data, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0
    except Exception:  # already validated; this only fills a column
        return 0


# runs every turn, so on the driver (storage/driver.py)
_FLOWS = Flow.__table__
_PUBLISHED = _FLOWS.c.current_version_id.is_not(None)
_CURRENT_IDS = driver.Query(select(_FLOWS.c.id, _FLOWS.c.current_version_id).where(_PUBLISHED))
_CURRENT_IDS_KEY = "flows:current_ids"
# the same as a column of another statement (the turn reads it with the sender's row)
CURRENT_IDS = driver.Scalar(
    lambda dialect_name: select(
        (func.json_object_agg if dialect_name == "postgresql" else func.json_group_object)(
            _FLOWS.c.id, _FLOWS.c.current_version_id, type_=JSON)
    ).where(_PUBLISHED).scalar_subquery(),
    read=lambda value: {flow_id: int(v) for flow_id, v in (value or {}).items()},
)


def remember_current_ids(session: AsyncSession, ids: dict[str, int]) -> None:
    """`current_ids` for the rest of this session's transaction, read by the caller along
    with other rows (`CURRENT_IDS`); a publish in the session forgets it."""
    session.info[_CURRENT_IDS_KEY] = ids


async def current_ids(session: AsyncSession) -> dict[str, int]:
    """{flow id: published version id} for every published flow — checked every turn (the
    turn reads it with the sender's row: `remember_current_ids`)."""
    known = session.info.get(_CURRENT_IDS_KEY)
    if known is not None:
        return dict(known)
    rows = await driver.run(session, lambda cur: cur.rows(_CURRENT_IDS))
    return {flow_id: version_id for flow_id, version_id in rows}


async def get_version(session: AsyncSession, version_id: int) -> FlowVersion | None:
    return await session.get(FlowVersion, version_id)


async def get_versions(session: AsyncSession, version_ids: list[int]) -> list[FlowVersion]:
    if not version_ids:
        return []
    rows = await session.execute(select(FlowVersion).where(FlowVersion.id.in_(version_ids)))
    return list(rows.scalars())


async def current_version(session: AsyncSession, flow_id: str) -> FlowVersion | None:
    flow = await session.get(Flow, flow_id)
    if flow is None or flow.current_version_id is None:
        return None
    return await session.get(FlowVersion, flow.current_version_id)


async def _flow_row(session: AsyncSession, flow_id: str, *, create: bool) -> Flow | None:
    flow = (await session.execute(select(Flow).where(Flow.id == flow_id).with_for_update())).scalar_one_or_none()
    if flow is None and create:
        flow = Flow(id=flow_id, current_version_id=None)
        session.add(flow)
        await session.flush()
    return flow


async def lock_flow(session: AsyncSession, flow_id: str) -> Flow | None:
    """The flow's row, locked until the transaction ends (PostgreSQL; SQLite holds the write
    lock already): a check-then-save by one admin does not interleave with another's."""
    return await _flow_row(session, flow_id, create=False)


async def save_version(session: AsyncSession, flow_id: str, yaml_text: str, created_by: str = "system") -> FlowVersion:
    """Save `yaml_text` (already validated by the caller) as a new, unpublished version."""
    await _flow_row(session, flow_id, create=True)
    last = (await session.execute(
        select(func.max(FlowVersion.version)).where(FlowVersion.flow_id == flow_id)
    )).scalar_one_or_none() or 0
    version = FlowVersion(
        flow_id=flow_id, version=last + 1, spec_version=_declared_spec_version(yaml_text), yaml=yaml_text,
        created_by=created_by, created_at=utcnow(),
    )
    session.add(version)
    await session.flush()
    await audit.record(session, created_by, "flow.save", f"flow:{flow_id}", {"version": version.version})
    return version


async def publish(session: AsyncSession, flow_id: str, version_id: int | None = None, by: str = "system",
                  now: datetime | None = None) -> FlowVersion:
    """Make a version (default: the newest) the one new conversations use."""
    flow = await _flow_row(session, flow_id, create=False)
    if flow is None:
        raise FlowStoreError(f"there is no flow '{flow_id}'")
    if version_id is None:
        version = (await session.execute(
            select(FlowVersion).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.version.desc()).limit(1)
        )).scalar_one_or_none()
    else:
        version = await session.get(FlowVersion, version_id)
    if version is None or version.flow_id != flow_id:
        raise FlowStoreError(f"flow '{flow_id}' has no version with id {version_id}")
    if version.published_at is None:
        version.published_at = now or utcnow()
    flow.current_version_id = version.id
    flow.updated_at = now or utcnow()
    session.info.pop(_CURRENT_IDS_KEY, None)
    await audit.record(session, by, "flow.publish", f"flow:{flow_id}", {"version": version.version})
    return version


async def rollback(session: AsyncSession, flow_id: str, to_version: int, by: str = "system",
                   now: datetime | None = None) -> FlowVersion:
    """Publish an earlier version anew, by its number (1, 2, …): its text becomes a new
    version, published at once, so history only grows and conversations on the version
    being replaced finish on it."""
    old = await version_by_number(session, flow_id, to_version)
    if old is None:
        raise FlowStoreError(f"flow '{flow_id}' has no version {to_version}")
    copy = await save_version(session, flow_id, old.yaml, created_by=by)
    result = await publish(session, flow_id, copy.id, by=by, now=now)
    await audit.record(session, by, "flow.rollback", f"flow:{flow_id}",
                       {"version": to_version, "as_version": copy.version})
    return result


async def version_by_number(session: AsyncSession, flow_id: str, number: int) -> FlowVersion | None:
    return (await session.execute(
        select(FlowVersion).where(FlowVersion.flow_id == flow_id, FlowVersion.version == number)
    )).scalar_one_or_none()


async def latest_version(session: AsyncSession, flow_id: str) -> FlowVersion | None:
    return (await session.execute(
        select(FlowVersion).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.version.desc()).limit(1)
    )).scalar_one_or_none()


async def publications(session: AsyncSession, flow_id: str) -> list[AuditEntry]:
    """Every publish and rollback of a flow (who, when, which version), newest first."""
    rows = await session.execute(
        select(AuditEntry).where(AuditEntry.target == f"flow:{flow_id}",
                                       AuditEntry.action.in_(("flow.publish", "flow.rollback")))
        .order_by(AuditEntry.id.desc()))
    return list(rows.scalars())


async def list_flows(session: AsyncSession) -> list[FlowSummary]:
    latest = (
        select(FlowVersion.flow_id, func.max(FlowVersion.version).label("latest")).group_by(FlowVersion.flow_id)
    ).subquery()
    current = FlowVersion.__table__.alias("cur")
    rows = await session.execute(
        select(Flow.id, Flow.current_version_id, current.c.version, latest.c.latest, Flow.updated_at)
        .join(latest, latest.c.flow_id == Flow.id)
        .outerjoin(current, current.c.id == Flow.current_version_id)
        .order_by(Flow.id)
    )
    return [FlowSummary(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def flow_ids(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(Flow.id).order_by(Flow.id))).scalars())


async def versions_of(session: AsyncSession, flow_id: str) -> list[FlowVersion]:
    """Every saved version of a flow, newest first."""
    rows = await session.execute(select(FlowVersion).where(FlowVersion.flow_id == flow_id)
                                 .order_by(FlowVersion.version.desc()))
    return list(rows.scalars())
