"""Flows into the database, validated first: the flow engine's side of storage/flow_store.py
(which keeps versions and knows nothing of what a flow says).

    version = await save_draft(session, "need_request", yaml_text, "staff:3")  # validates
    await flow_store.publish(session, "need_request", version.id, by="staff:3")
    await seed_builtin(session)   # the built-in flows the database does not have yet
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flows.validate import FlowError, FlowValidationError, validate_text
from storage import flow_store
from storage.models import Flow, FlowVersion

__all__ = ["BUILTIN_DIR", "save_draft", "seed_builtin"]

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


async def save_draft(session: AsyncSession, flow_id: str, yaml_text: str, created_by: str = "system",
                     registry=None) -> FlowVersion:
    """Validate `yaml_text` as flow `flow_id` and save it as a new, unpublished version.
    Raises FlowValidationError (with every error) when the flow has problems."""
    errors = validate_text(yaml_text, f"{flow_id}.yaml", registry)
    if errors:
        raise FlowValidationError(errors)
    return await flow_store.save_version(session, flow_id, yaml_text, created_by)


async def seed_builtin(session: AsyncSession, directory: Path | None = None, registry=None) -> list[str]:
    """Save and publish every built-in flow that the database does not have yet. A flow an
    admin has edited is left alone, so edits survive upgrades. Returns the seeded ids; raises
    FlowValidationError (after seeding the others) when some do not validate."""
    directory = directory or BUILTIN_DIR
    existing = set((await session.execute(select(Flow.id))).scalars())
    seeded = []
    errors: list[FlowError] = []
    for path in sorted(directory.glob("*.yaml")):
        flow_id = path.stem
        if flow_id in existing:
            continue
        try:
            async with session.begin_nested():  # another process may seed the same flow at once
                version = await save_draft(session, flow_id, path.read_text(encoding="utf-8"), "system", registry)
                await flow_store.publish(session, flow_id, version.id, by="system")
        except FlowValidationError as exc:
            errors.extend(FlowError(str(path), e.line, e.column, e.message) for e in exc.errors)
            continue
        except IntegrityError:
            continue
        seeded.append(flow_id)
    if errors:
        raise FlowValidationError(errors)
    return seeded
