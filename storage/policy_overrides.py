"""Local facts: a policy's overrides for one area (a village, township or county), and the
policy as a villager reads it — national text with the overrides of their village, township
and county merged field by field (the closest area wins). The caller owns the transaction.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.areas import ancestors
from storage.models import Area, Policy, PolicyOverride, utcnow
from storage.policies import bump_kb_version, get_policy, kb_version, localized
from storage.policy_checks import (
    POLICY_FIELDS,
    TEXT_FIELDS,
    PolicyDataError,
    as_date,
    eligibility_problems,
    text_problems,
)

__all__ = ["overrides_of", "resolve", "set_override"]


async def set_override(
    session: AsyncSession,
    policy_id: str,
    area_id: int,
    fields: dict[str, Any],
    effective_date: date | str | None = None,
) -> PolicyOverride:
    """Set the local facts of `policy_id` for one area (replacing what was there). Text fields
    may be given in one language only; `eligibility` may hold only `params`."""
    if await session.get(Policy, policy_id) is None:
        raise PolicyDataError(f"override of {policy_id}", [f"there is no policy {policy_id!r}"])
    if await session.get(Area, area_id) is None:
        raise PolicyDataError(f"override of {policy_id}", [f"there is no area {area_id}"])
    problems = [f"unknown field {k!r}" for k in fields if k not in POLICY_FIELDS]
    for name in TEXT_FIELDS:
        if name in fields:
            problems += text_problems(name, fields[name], complete=False)
    elig = fields.get("eligibility")
    if elig:
        if not isinstance(elig, dict):
            problems.append("eligibility must be a mapping")
        elif set(elig) - {"params"}:
            problems += eligibility_problems(elig)
        elif not isinstance(elig.get("params"), dict):
            problems.append("eligibility params must be a mapping of name: value")
    if problems:
        raise PolicyDataError(f"override of {policy_id} for area {area_id}", problems)
    row = await session.scalar(
        select(PolicyOverride).where(PolicyOverride.policy_id == policy_id, PolicyOverride.area_id == area_id)
    )
    if row is None:
        row = PolicyOverride(policy_id=policy_id, area_id=area_id)
        session.add(row)
    row.fields = dict(fields)
    row.effective_date = as_date(effective_date)
    row.updated_at = utcnow()
    await session.flush()
    await bump_kb_version(session)  # answers are cached by this version; local facts changed
    return row


# (engine, KB version) -> {(policy, village, locale): resolved}; a version number means something
# only in its own database, and every change to policies or overrides bumps it
_RESOLVED: dict[tuple[Any, str], dict[tuple, dict[str, Any] | None]] = {}


async def resolve(
    session: AsyncSession, policy_id: str, village_id: int | None, locale: str = "zh"
) -> dict[str, Any] | None:
    """The policy as a villager in `village_id` should read it, in `locale` (see `_resolve`),
    cached by the knowledge-base version: equal arguments give the same dict until the next
    publish or override change — read it, do not change it. (Renaming an area shows in the
    `overrides` origins after the next such change.)"""
    version = await kb_version(session)
    key = (session.bind, version)
    cached = _RESOLVED.get(key)
    if cached is None:
        _RESOLVED.clear()  # older versions are never asked for again
        cached = _RESOLVED[key] = {}
    args = (policy_id, village_id, locale)
    if args not in cached:
        cached[args] = await _resolve(session, policy_id, village_id, locale)
    return cached[args]


async def _resolve(
    session: AsyncSession, policy_id: str, village_id: int | None, locale: str = "zh"
) -> dict[str, Any] | None:
    """`resolve` without the cache. The policy as a villager in `village_id` should read it, in `locale`: national text
    with the overrides of the village, its township and its county merged field by field (the
    closest area wins). None when the policy is not published.

    Returns `{policy_id, version, version_id, locale, title, summary, …text fields as
    strings…, sources, keywords, effective_date (ISO), eligibility (with params merged),
    overrides: {field: {area_id, area_code, area_name, level, effective_date}}}`.
    """
    pv = await get_policy(session, policy_id)
    if pv is None:
        return None
    out: dict[str, Any] = {
        "policy_id": pv.policy_id,
        "version": pv.version,
        "version_id": pv.id,
        "locale": locale,
    }
    for name in TEXT_FIELDS:
        out[name] = localized(getattr(pv, name), locale)
    out["sources"] = list(pv.sources or [])
    out["keywords"] = list(pv.keywords or [])
    out["effective_date"] = pv.effective_date.isoformat() if pv.effective_date else None
    eligibility = dict(pv.eligibility or {})
    if eligibility:
        eligibility["params"] = dict(eligibility.get("params") or {})
    out["eligibility"] = eligibility
    out["overrides"] = {}

    chain = await ancestors(session, village_id)
    if chain:
        rows = await session.scalars(
            select(PolicyOverride).where(
                PolicyOverride.policy_id == policy_id,
                PolicyOverride.area_id.in_([a.id for a in chain]),
            )
        )
        by_area = {r.area_id: r for r in rows}
        # apply the farthest first, so the closest area wins
        for area in reversed(chain):
            row = by_area.get(area.id)
            if row is None:
                continue
            origin = {
                "area_id": area.id,
                "area_code": area.code,
                "area_name": area.name if locale == "zh" else (area.name_en or area.name),
                "level": area.level,
                "effective_date": row.effective_date.isoformat() if row.effective_date else None,
            }
            _apply_override(out, row.fields or {}, locale, origin)
    return out


def _apply_override(out: dict[str, Any], fields: dict[str, Any], locale: str, origin: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name in TEXT_FIELDS:
            text = localized(value, locale)
            if text:
                out[name] = text
                out["overrides"][name] = origin
        elif name == "sources":
            out["sources"] = list(value) + [s for s in out["sources"] if s not in value]
            out["overrides"][name] = origin
        elif name == "keywords":
            out["keywords"] = out["keywords"] + [k for k in value if k not in out["keywords"]]
        elif name == "effective_date" and value:
            out["effective_date"] = as_date(value).isoformat()
            out["overrides"][name] = origin
        elif name == "eligibility" and value:
            merged = dict(out["eligibility"])
            params = dict(merged.get("params") or {})
            params.update(value.get("params") or {})
            merged.update({k: v for k, v in value.items() if k != "params"})
            merged["params"] = params
            out["eligibility"] = merged
            out["overrides"][name] = origin


async def overrides_of(session: AsyncSession, policy_id: str) -> list[PolicyOverride]:
    """Every area's local facts for one policy."""
    return list(await session.scalars(select(PolicyOverride).where(PolicyOverride.policy_id == policy_id)
                                      .order_by(PolicyOverride.area_id)))
