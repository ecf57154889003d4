"""What an admin changes on a staff account besides areas and passwords (storage/staff.py):
the name, phone, roles and duty hours; and adding an area to the area tree. Audited; the
caller owns the transaction."""
from __future__ import annotations

from datetime import time

from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.areas import get_by_code
from storage.models import Area, Staff
from storage.staff import StaffError, _check_roles

CHILD_LEVEL = {None: "county", "county": "township", "township": "village"}


def duty_hours(days: list[int], start: str, end: str) -> dict:
    """`Staff.on_duty` from the form: ISO weekdays and local HH:MM times, start before end."""
    days = sorted({d for d in days if 1 <= d <= 7})
    if not days:
        raise StaffError("请至少选一天 / choose at least one day")
    try:
        begins, ends = time.fromisoformat(start), time.fromisoformat(end)
    except ValueError:
        raise StaffError("时间格式是 08:30 这样 / times look like 08:30") from None
    if begins >= ends:
        raise StaffError("下班时间要晚于上班时间 / the end must come after the start")
    return {"days": days, "start": begins.strftime("%H:%M"), "end": ends.strftime("%H:%M")}


async def update_account(session: AsyncSession, staff: Staff, *, display_name: str, phone: str, roles,
                         on_duty: dict, actor: str) -> Staff:
    roles = _check_roles(roles)
    changed = []
    for name, value in (("display_name", display_name.strip()[:100] or staff.username), ("phone", phone.strip()[:32]),
                        ("roles", roles), ("on_duty", on_duty)):
        if getattr(staff, name) != value:
            setattr(staff, name, value)
            changed.append(name)
    if changed:
        await audit.record(session, actor, "staff.update", f"staff:{staff.id}",
                           {"fields": changed, "roles": roles})
    return staff


async def add_area(session: AsyncSession, *, code: str, name: str, name_en: str = "", parent_id: int | None,
                   actor: str) -> Area:
    """A county (no parent), a township under a county or a village under a township."""
    code, name = code.strip(), name.strip()
    if not code or len(code) > 64 or any(ch.isspace() for ch in code):
        raise StaffError("编码不能为空、不能含空格 / the code is 1–64 characters without spaces")
    if not name:
        raise StaffError("名字不能为空 / the name is empty")
    if await get_by_code(session, code) is not None:
        raise StaffError(f"编码“{code}”已经有了 / the code '{code}' is taken")
    parent = await session.get(Area, parent_id) if parent_id is not None else None
    if parent_id is not None and parent is None:
        raise StaffError("没有这个上级地区 / no such parent area")
    level = CHILD_LEVEL.get(parent.level if parent else None)
    if level is None:
        raise StaffError("村下面不能再加地区 / a village has no areas under it")
    area = Area(code=code, name=name[:100], name_en=name_en.strip()[:100], level=level,
                parent_id=parent.id if parent else None)
    session.add(area)
    await session.flush()
    await audit.record(session, actor, "area.create", f"area:{area.id}", {"code": code, "level": level})
    return area
