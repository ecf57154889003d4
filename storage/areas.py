"""The area tree: county → township → village."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Area


async def get_by_code(session: AsyncSession, code: str) -> Area | None:
    return (await session.execute(select(Area).where(Area.code == code))).scalar_one_or_none()


async def all_areas(session: AsyncSession) -> list[Area]:
    return list((await session.execute(select(Area).order_by(Area.id))).scalars())


async def villages(session: AsyncSession) -> list[Area]:
    rows = await session.execute(select(Area).where(Area.level == "village").order_by(Area.id))
    return list(rows.scalars())


async def ancestors(session: AsyncSession, area_id: int | None) -> list[Area]:
    """The area itself, then its parents up to the county."""
    chain: list[Area] = []
    while area_id is not None:
        area = await session.get(Area, area_id)
        if area is None or area in chain:
            break
        chain.append(area)
        area_id = area.parent_id
    return chain


async def area_ids_under(session: AsyncSession, area_ids: list[int]) -> set[int]:
    """The given areas and every area below them."""
    tree = await all_areas(session)
    children: dict[int | None, list[int]] = {}
    for a in tree:
        children.setdefault(a.parent_id, []).append(a.id)
    found, todo = set(), list(area_ids)
    while todo:
        a = todo.pop()
        if a in found:
            continue
        found.add(a)
        todo.extend(children.get(a, []))
    return found


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    from math import asin, cos, radians, sin, sqrt

    dlat, dlon = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) ** 2
    return 6371.0 * 2 * asin(sqrt(a))


async def nearest_village(session: AsyncSession, latitude: float, longitude: float, *,
                          within_km: float = 5.0) -> Area | None:
    """The village whose centre is closest to a shared location, if one is near enough."""
    found = [(distance_km(latitude, longitude, v.latitude, v.longitude), v.id, v)
             for v in await villages(session) if v.latitude is not None and v.longitude is not None]
    found = [f for f in found if f[0] <= within_km]
    return min(found)[2] if found else None
