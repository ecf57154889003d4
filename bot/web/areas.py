"""The area tree on the staff web (admins only): county → township → village, with the staff
who cover each area, and adding an area under its parent (storage/staff_admin.add_area)."""
from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Request
from sqlalchemy import select

from bot.api.common import services_of
from bot.web.guard import ADMIN, staff_caller
from bot.web.rendering import back_to, lang_of, render
from storage import staff_admin
from storage.areas import all_areas
from storage.models import Staff
from storage.staff import StaffError

router = APIRouter(include_in_schema=False)

WORDS = {
    "zh": {"areas": "地区", "add": "添加地区", "parent": "上级（县下面是镇，镇下面是村）", "no_parent": "（新的县）",
           "code": "编码（如 qingshan.shiqiao.dongpo）", "name": "名字", "name_en": "英文名字", "staff": "负责的人",
           "levels": {"county": "县", "township": "镇", "village": "村"}, "done": "已添加。"},
    "en": {"areas": "Areas", "add": "Add an area", "parent": "Under (a county holds townships, a township villages)",
           "no_parent": "(a new county)", "code": "Code (e.g. qingshan.shiqiao.dongpo)", "name": "Name",
           "name_en": "Name in English", "staff": "covered by",
           "levels": {"county": "county", "township": "township", "village": "village"}, "done": "Added."},
}


async def _page(request: Request, who, *, error: str = "", values: dict | None = None, status_code: int = 200):
    async with services_of(request).db.session() as s:
        areas = sorted(await all_areas(s), key=lambda a: a.code)
        staff = list((await s.execute(select(Staff).where(Staff.active.is_(True)))).scalars())
    children = defaultdict(list)
    for a in areas:
        children[a.parent_id].append(a)
    covering = defaultdict(list)
    for st in staff:
        for a in st.areas:
            covering[a.id].append(st.display_name or st.username)
    return render(request, "areas.html", status_code, who=who, w=WORDS[lang_of(request)], children=children,
                  covering=covering, parents=[a for a in areas if a.level in ("county", "township")], error=error,
                  values=values or {}, done=WORDS[lang_of(request)]["done"] if request.query_params.get("done") else "")


@router.get("/areas")
async def areas_page(request: Request):
    who, refused = await staff_caller(request, roles=ADMIN)
    if refused:
        return refused
    return await _page(request, who)


@router.post("/areas")
async def add_area(request: Request):
    form = await request.form()
    who, refused = await staff_caller(request, form, roles=ADMIN)
    if refused:
        return refused
    values = {k: str(form.get(k, "")) for k in ("parent", "code", "name", "name_en")}
    try:
        async with services_of(request).db.session() as s:
            await staff_admin.add_area(s, code=values["code"], name=values["name"], name_en=values["name_en"],
                                       parent_id=int(values["parent"]) if values["parent"].isdigit() else None,
                                       actor=who.scope.actor)
    except StaffError as exc:
        return await _page(request, who, error=str(exc), values=values, status_code=422)
    return back_to("/areas?done=1")
