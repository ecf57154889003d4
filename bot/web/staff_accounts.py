"""Staff accounts on the staff web (admins only): the list, a new account, roles, areas and
duty hours, a password, a messenger invite (the code is shown once), and deactivation with
the open handoffs and cases reassigned to a colleague (storage/staff_offboarding.py). Every
change is audited by the storage functions; anyone but an admin gets 404."""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from bot.api.common import now_of, services_of
from bot.web.guard import ADMIN, not_found, staff_caller
from bot.web.rendering import back_to, lang_of, render
from storage import staff as staff_service
from storage import staff_admin, staff_invites, staff_offboarding
from storage.areas import all_areas
from storage.models import Area, Staff
from storage.routing import DEFAULT_DUTY
from storage.staff import ROLES, StaffError

router = APIRouter(include_in_schema=False)

WORDS = {
    "zh": {
        "staff": "工作人员账号", "new": "新账号", "username": "用户名", "display_name": "显示名", "phone": "电话",
        "roles": "角色", "areas": "负责地区", "duty": "值班时间", "days": "星期", "start": "上班", "end": "下班",
        "password": "密码（至少 8 位，可以以后再设）", "set_password": "设置新密码", "create": "创建账号", "save": "保存",
        "active": "在职", "inactive": "已停用", "invite": "生成手机绑定邀请码", "invite_code": "邀请码（只显示这一次）：",
        "invite_how": "请工作人员在 Telegram 或微信里给机器人发送：", "deactivate": "停用账号",
        "reassign_to": "把对话和个案转给", "nobody": "（没有要转的）", "deactivate_confirm": "我确定要停用这个账号",
        "deactivate_button": "停用", "weekdays": ["一", "二", "三", "四", "五", "六", "日"],
        "done": {"created": "账号已创建。", "saved": "已保存。", "password": "密码已设置。",
                 "deactivated": "账号已停用，工作已转交。"},
    },
    "en": {
        "staff": "Staff accounts", "new": "New account", "username": "Username", "display_name": "Name",
        "phone": "Phone", "roles": "Roles", "areas": "Areas", "duty": "Duty hours", "days": "Days", "start": "From",
        "end": "Until", "password": "Password (8 characters or more; may be set later)", "set_password": "Set password",
        "create": "Create", "save": "Save", "active": "active", "inactive": "deactivated",
        "invite": "Make a messenger invite", "invite_code": "Invite code (shown only now):",
        "invite_how": "The staff member sends this to the bot from Telegram or WeChat:", "deactivate": "Deactivate",
        "reassign_to": "Hand their conversations and cases to", "nobody": "(nothing to hand over)",
        "deactivate_confirm": "I am sure: deactivate this account", "deactivate_button": "Deactivate",
        "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "done": {"created": "Account created.", "saved": "Saved.", "password": "Password set.",
                 "deactivated": "Deactivated; their work was handed over."},
    },
}


def _words(request: Request) -> dict:
    return WORDS[lang_of(request)]


async def _areas(s) -> list[Area]:
    order = {"county": 0, "township": 1, "village": 2}
    return sorted(await all_areas(s), key=lambda a: (order.get(a.level, 3), a.code))


def _duty(form) -> dict:
    return staff_admin.duty_hours([int(d) for d in form.getlist("days") if str(d).isdigit()],
                                  str(form.get("start", "")), str(form.get("end", "")))


@router.get("/staff")
async def staff_list(request: Request):
    who, refused = await staff_caller(request, roles=ADMIN)
    if refused:
        return refused
    return await _list_page(request, who)


async def _list_page(request: Request, who, *, error: str = "", values: dict | None = None, status_code: int = 200):
    words = _words(request)
    async with services_of(request).db.session() as s:
        rows = list((await s.execute(select(Staff).order_by(Staff.active.desc(), Staff.username))).scalars())
        areas = await _areas(s)
    return render(request, "staff_list.html", status_code, who=who, w=words, rows=rows, areas=areas, roles=ROLES,
                  error=error, values=values or {"roles": ["worker"], "on_duty": DEFAULT_DUTY},
                  done=words["done"].get(request.query_params.get("done", ""), ""))


@router.post("/staff")
async def create(request: Request):
    form = await request.form()
    who, refused = await staff_caller(request, form, roles=ADMIN)
    if refused:
        return refused
    values = {"username": str(form.get("username", "")), "display_name": str(form.get("display_name", "")),
              "phone": str(form.get("phone", "")), "roles": [str(r) for r in form.getlist("roles")],
              "areas": [str(a) for a in form.getlist("areas")], "on_duty": DEFAULT_DUTY}
    password = str(form.get("password", ""))
    try:
        async with services_of(request).db.session() as s:
            duty = _duty(form)
            staff = await staff_service.create_user(
                s, values["username"], roles=values["roles"], area_codes=values["areas"],
                password=password or None, display_name=values["display_name"], phone=values["phone"],
                actor=who.scope.actor)
            staff.on_duty = duty
            staff_id = staff.id
    except StaffError as exc:
        return await _list_page(request, who, error=str(exc), values=values, status_code=422)
    return back_to(f"/staff/{staff_id}?done=created")


async def _page(request: Request, who, staff_id: int, *, error: str = "", invite: str = "", status_code: int = 200):
    words = _words(request)
    async with services_of(request).db.session() as s:
        staff = await s.get(Staff, staff_id)
        if staff is None:
            return not_found(request, who)
        areas = await _areas(s)
        colleagues = [c for c in (await s.execute(select(Staff).where(Staff.active.is_(True), Staff.id != staff.id)
                                                  .order_by(Staff.username))).scalars()
                      if {"worker", "supervisor", "admin"} & set(c.roles or [])]
    return render(request, "staff_account.html", status_code, who=who, w=words, staff=staff, areas=areas,
                  roles=ROLES, colleagues=colleagues, error=error, invite=invite,
                  duty=staff.on_duty or DEFAULT_DUTY, mine={a.code for a in staff.areas},
                  done=words["done"].get(request.query_params.get("done", ""), ""))


@router.get("/staff/{staff_id}")
async def account(staff_id: int, request: Request):
    who, refused = await staff_caller(request, roles=ADMIN)
    if refused:
        return refused
    return await _page(request, who, staff_id)


async def _change(request: Request, staff_id: int, run, done: str):
    form = await request.form()
    who, refused = await staff_caller(request, form, roles=ADMIN)
    if refused:
        return refused
    services = services_of(request)
    try:
        async with services.db.session() as s:
            staff = await s.get(Staff, staff_id)
            if staff is None:
                return not_found(request, who)
            shown = await run(s, who, staff, form, now_of(services))
    except StaffError as exc:
        return await _page(request, who, staff_id, error=str(exc), status_code=422)
    if shown:
        return await _page(request, who, staff_id, invite=shown)
    return back_to(f"/staff/{staff_id}?done={done}")


@router.post("/staff/{staff_id}")
async def save(staff_id: int, request: Request):
    async def run(s, who, staff, form, now):
        await staff_admin.update_account(s, staff, display_name=str(form.get("display_name", "")),
                                         phone=str(form.get("phone", "")),
                                         roles=[str(r) for r in form.getlist("roles")], on_duty=_duty(form),
                                         actor=who.scope.actor)
        await staff_service.set_areas(s, staff.username, [str(a) for a in form.getlist("areas")],
                                      actor=who.scope.actor)
    return await _change(request, staff_id, run, "saved")


@router.post("/staff/{staff_id}/password")
async def password(staff_id: int, request: Request):
    async def run(s, who, staff, form, now):
        await staff_service.set_password(s, staff.username, str(form.get("password", "")), actor=who.scope.actor)
    return await _change(request, staff_id, run, "password")


@router.post("/staff/{staff_id}/invite")
async def invite(staff_id: int, request: Request):
    async def run(s, who, staff, form, now):
        _, code = await staff_invites.create_invite(s, staff.username, now=now, actor=who.scope.actor)
        return code
    return await _change(request, staff_id, run, "")


@router.post("/staff/{staff_id}/deactivate")
async def deactivate(staff_id: int, request: Request):
    async def run(s, who, staff, form, now):
        if form.get("confirm") != "1":
            raise StaffError("请先勾选确认 / tick the box to confirm")
        if staff.id == who.scope.staff_id:
            raise StaffError("不能停用自己的账号 / you cannot deactivate your own account")
        await staff_offboarding.deactivate(s, staff.username, str(form.get("reassign_to", "")).strip() or None,
                                           now=now, actor=who.scope.actor)
    return await _change(request, staff_id, run, "deactivated")
