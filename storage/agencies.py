"""Agencies and offices cases are referred to. Admins keep the list; the demo seeds a few."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.errors import StorageError
from storage.models import Agency

KINDS = ("government", "service_center", "ngo")

DEMO_AGENCIES = (
    ("minzheng", "县民政局", "County Civil Affairs Bureau", "government"),
    ("canlian", "县残联", "County Disabled Persons' Federation", "government"),
    ("yibao", "县医保局", "County Medical Insurance Bureau", "government"),
    ("renshe", "县人社局", "County Human Resources and Social Security Bureau", "government"),
    ("bianmin", "乡镇便民服务中心", "Township Service Center", "service_center"),
    ("ngo-care", "青禾公益", "Qinghe Charity (NGO)", "ngo"),
)


class AgencyError(StorageError, ValueError):
    """An agency change that is not allowed, in words a person can read."""


async def list_agencies(session: AsyncSession, *, active_only: bool = True) -> list[Agency]:
    q = select(Agency)
    if active_only:
        q = q.where(Agency.active.is_(True))
    return list((await session.execute(q.order_by(Agency.id))).scalars())


async def find_agency(session: AsyncSession, code: str) -> Agency | None:
    return (await session.execute(select(Agency).where(Agency.code == code))).scalar_one_or_none()


async def add_agency(session: AsyncSession, *, code: str, name: str, name_en: str = "", kind: str = "government",
                     contact: str = "", area_id: int | None = None, actor: str = "system") -> Agency:
    code = code.strip()
    if not code or not name.strip():
        raise AgencyError("代码和名称不能为空 / code and name are required")
    if kind not in KINDS:
        raise AgencyError(f"未知类型 {kind!r} / unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if await find_agency(session, code) is not None:
        raise AgencyError(f"已有代码为“{code}”的机构 / an agency with code '{code}' exists")
    agency = Agency(code=code, name=name.strip(), name_en=name_en.strip(), kind=kind, contact=contact,
                    area_id=area_id)
    session.add(agency)
    await session.flush()
    await audit.record(session, actor, "agency.add", f"agency:{agency.id}")
    return agency


async def change_agency(session: AsyncSession, agency: Agency, *, actor: str, **fields) -> Agency:
    for key in ("name", "name_en", "contact", "active"):
        if fields.get(key) is not None:
            setattr(agency, key, fields[key])
    await audit.record(session, actor, "agency.change", f"agency:{agency.id}",
                       {k: v for k, v in fields.items() if k == "active" and v is not None})
    await session.flush()
    return agency


async def seed_demo_agencies(session: AsyncSession) -> int:
    """Add the demo agencies that are missing; returns how many were added."""
    added = 0
    for code, name, name_en, kind in DEMO_AGENCIES:
        if await find_agency(session, code) is None:
            session.add(Agency(code=code, name=name, name_en=name_en, kind=kind))
            added += 1
    await session.flush()
    return added


def agency_name(agency: Agency | None, lang: str) -> str:
    if agency is None:
        return ""
    return agency.name_en if lang == "en" and agency.name_en else agency.name
