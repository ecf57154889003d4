"""The policy knowledge base: immutable policy versions, the knowledge-base version, hotlines.

Services take an `AsyncSession`; the caller owns the transaction.

A policy's text fields are `{"zh": ..., "en": ...}`. `publish_policy` writes a new immutable
`PolicyVersion`, makes it current and bumps the knowledge-base version (kv key
`kb_version`), which the NLU's search index is cached by. Local facts for one area and the
policy as a villager reads it are in storage/policy_overrides.py; what a record may hold is
checked by storage/policy_checks.py.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import driver
from storage.models import KeyValue, Policy, PolicyVersion, utcnow
from storage.policy_checks import POLICY_FIELDS, PolicyDataError, as_date, hotline_problems, policy_problems

__all__ = [
    "HOTLINES_KEY",
    "KB_VERSION",
    "KB_VERSION_KEY",
    "bump_kb_version",
    "current_policies",
    "get_hotlines",
    "get_policy",
    "kb_documents",
    "kb_version",
    "localized",
    "publish_policy",
    "remember_kb_version",
    "set_hotlines",
]

KB_VERSION_KEY = "kb_version"
HOTLINES_KEY = "hotlines"
# the text an answer is searched by, in this order
SEARCH_FIELDS = ("summary", "who_qualifies", "what_you_get", "how_to_apply", "documents", "notes")


# ── versions ──────────────────────────────────────────────────────────────────────────────


async def publish_policy(session: AsyncSession, policy_id: str, fields: dict[str, Any], by: str) -> PolicyVersion:
    """Store `fields` as a new immutable version of `policy_id`, make it current and bump the
    knowledge-base version. Raises PolicyDataError when the fields cannot be stored."""
    problems = policy_problems(fields)
    if problems:
        raise PolicyDataError(f"policy {policy_id}", problems)
    policy = await session.get(Policy, policy_id, with_for_update=True)
    if policy is None:
        policy = Policy(id=policy_id)
        session.add(policy)
        await session.flush()
    last = await session.scalar(
        select(func.max(PolicyVersion.version)).where(PolicyVersion.policy_id == policy_id)
    )
    values = {k: fields[k] for k in POLICY_FIELDS if k in fields}
    values["effective_date"] = as_date(values.get("effective_date"))
    version = PolicyVersion(
        policy_id=policy_id, version=(last or 0) + 1, created_by=by, published_at=utcnow(), **values
    )
    session.add(version)
    await session.flush()
    policy.current_version_id = version.id
    policy.updated_at = utcnow()
    await bump_kb_version(session)
    await session.flush()
    return version


async def current_policies(session: AsyncSession) -> list[PolicyVersion]:
    """The published version of every policy, ordered by policy id."""
    rows = await session.scalars(
        select(PolicyVersion)
        .join(Policy, Policy.current_version_id == PolicyVersion.id)
        .order_by(PolicyVersion.policy_id)
    )
    return list(rows)


async def get_policy(session: AsyncSession, policy_id: str) -> PolicyVersion | None:
    """The published version of one policy, or None."""
    return await session.scalar(
        select(PolicyVersion)
        .join(Policy, Policy.current_version_id == PolicyVersion.id)
        .where(Policy.id == policy_id)
    )


_KV = KeyValue.__table__
_KB_VERSION_VALUE = select(_KV.c.value).where(_KV.c.key == KB_VERSION_KEY)
_KB_VERSION = driver.Query(_KB_VERSION_VALUE)


def _version_of(value: Any) -> str:
    return str(value.get("version", 0)) if isinstance(value, dict) else "0"


def _read_kb_version(cur: driver.Cursor) -> str:
    row = cur.one(_KB_VERSION)
    return _version_of(row[0] if row else None)


# the same as a column of another statement (the turn reads it with the sender's row)
KB_VERSION = driver.Scalar(lambda _dialect_name: _KB_VERSION_VALUE.scalar_subquery(), read=_version_of)


def remember_kb_version(session: AsyncSession, version: str) -> None:
    """`kb_version` for the rest of this session's transaction, read by the caller along with
    other rows (`KB_VERSION`); a publish or override change in the session forgets it."""
    session.info[KB_VERSION_KEY] = version


async def kb_version(session: AsyncSession) -> str:
    """The knowledge-base version: changes whenever a policy is published or a local
    override changes ("0" before). Read on every policy question, so on the driver, and once
    per session (a publish in the session forgets it)."""
    version = session.info.get(KB_VERSION_KEY)
    if version is None:
        version = session.info[KB_VERSION_KEY] = await driver.run(session, _read_kb_version)
    return version


async def bump_kb_version(session: AsyncSession) -> None:
    session.info.pop(KB_VERSION_KEY, None)
    row = await session.get(KeyValue, KB_VERSION_KEY, with_for_update=True)
    if row is None:
        session.add(KeyValue(key=KB_VERSION_KEY, value={"version": 1}))
    else:
        row.value = {"version": int(row.value.get("version", 0)) + 1}
        row.updated_at = utcnow()


async def kb_documents(session: AsyncSession, locale: str = "zh") -> list[dict[str, Any]]:
    """What the knowledge search is built from: one document per published policy, national
    text in `locale` (falling back to zh), with every keyword."""
    docs = []
    for pv in await current_policies(session):
        text = "\n".join(localized(getattr(pv, f), locale) for f in SEARCH_FIELDS)
        docs.append(
            {
                "policy_id": pv.policy_id,
                "title": localized(pv.title, locale),
                "text": text,
                "keywords": list(pv.keywords or []),
                "who": localized(pv.who_qualifies, locale),
            }
        )
    return docs


def localized(value: Any, locale: str) -> str:
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    return value.get(locale) or value.get("zh") or next((v for v in value.values() if v), "")


# ── hotlines ─────────────────────────────────────────────────────────────────────────────


_HOTLINES = select(KeyValue.value).where(KeyValue.key == HOTLINES_KEY)  # built once


_HOTLINES_Q = driver.Query(_HOTLINES)  # every emergency reads them: on the driver


async def get_hotlines(session: AsyncSession) -> list[dict[str, Any]]:
    """The emergency hotlines: `[{number, label: {zh,en}, when: {zh,en}, situations: [...]}]`."""
    row = await driver.run(session, _hotlines)
    value = row[0] if row is not None else None
    return list(value.get("hotlines", [])) if value is not None else []


def _hotlines(cur: driver.Cursor):
    return cur.one(_HOTLINES_Q)


async def set_hotlines(session: AsyncSession, hotlines: list[dict[str, Any]]) -> None:
    problems = hotline_problems(hotlines)
    if problems:
        raise PolicyDataError("hotlines", problems)
    value = {"hotlines": [dict(h, number=str(h["number"])) for h in hotlines]}
    row = await session.get(KeyValue, HOTLINES_KEY)
    if row is None:
        session.add(KeyValue(key=HOTLINES_KEY, value=value))
    else:
        row.value = value
        row.updated_at = utcnow()
    await session.flush()
