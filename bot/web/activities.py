"""Activities on the staff web: the list, create and edit, move (participants told), cancel
(participants told), open or close the sign-up, the roster with its waitlist, attendance taken
on a phone, the roster as CSV (UTF-8 with a BOM, so Excel shows the Chinese) and a message to
everyone signed up. The rules live in storage/activities.py and storage/activity_admin.py.

Access: staff who cover the activity's area (bot/authz.can_see_roster); other areas' activities
answer 404; viewers see none of these pages. Reading the roster or its CSV is audited.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from bot import authz
from bot.api.common import now_of, services_of
from bot.web.guard import not_found, staff_caller
from bot.web.rendering import TZ, back_to, lang_of, render, secure
from storage import activities as activity_service
from storage import activity_admin, audit
from storage.activity_admin import ActivityFields
from storage.areas import all_areas
from storage.models import Activity, Person

router = APIRouter(include_in_schema=False)

WORDS = {
    "zh": {
        "activities": "活动", "new": "新建活动", "edit": "修改活动", "kind": "类型", "title": "标题",
        "title_en": "英文标题", "description": "介绍", "description_en": "英文介绍", "place": "地点",
        "starts_at": "开始时间", "ends_at": "结束时间", "capacity": "名额（不限就留空）", "audience": "面向",
        "organizer": "组织方", "area": "地区", "county_wide": "全县", "save": "保存", "create": "创建",
        "status": "状态", "seats": "名额", "unlimited": "不限", "confirmed": "已报名", "waitlisted": "候补",
        "offered": "等回复的空位", "attended": "已到", "move": "改时间或地点（会通知报名的人）", "move_button": "改期并通知",
        "cancel": "取消活动（会通知报名的人）", "cancel_confirm": "我确定要取消这个活动", "cancel_button": "取消活动",
        "signup_close": "停止报名", "signup_open": "重新开放报名", "roster": "报名名单", "waitlist": "候补名单",
        "position": "第{n}位", "for": "替{name}报名", "attendance": "点名", "attendance_save": "保存点名",
        "csv": "下载名单（CSV）", "message": "给所有报名的人发消息", "message_button": "发送",
        "filter_all": "全部", "back": "返回活动详情", "no_roster": "还没有人报名。",
        "kinds": {"activity": "活动", "study_group": "学习小组", "training": "培训"},
        "audiences": {"all": "所有人", "children": "孩子", "elderly": "老人", "women": "妇女", "training": "培训"},
        "statuses": {"open": "报名中", "closed": "停止报名", "cancelled": "已取消"},
        "enrollment": {"confirmed": "已报名", "waitlisted": "候补", "offered": "空位等回复", "attended": "已到",
                       "cancelled": "自己取消", "called_off": "活动取消", "declined": "不要了",
                       "offer_expired": "没回复"},
        "done": {"created": "活动已创建，村民现在可以在机器人里看到并报名。", "edited": "已保存。",
                 "moved": "已改期，已通知 {n} 位报名的人。", "cancelled": "活动已取消，已通知 {n} 位报名的人。",
                 "open": "已重新开放报名。", "closed": "已停止报名，已报名的人保留名额。",
                 "attendance": "点名已保存：到了 {n} 位。", "message": "已发给 {n} 位（{m} 位不接收通知）。"},
    },
    "en": {
        "activities": "Activities", "new": "New activity", "edit": "Edit the activity", "kind": "Kind", "title": "Title",
        "title_en": "Title in English", "description": "Description", "description_en": "Description in English",
        "place": "Place", "starts_at": "Starts", "ends_at": "Ends", "capacity": "Seats (empty: no limit)",
        "audience": "For", "organizer": "Organiser", "area": "Area", "county_wide": "whole county", "save": "Save",
        "create": "Create", "status": "Status", "seats": "Seats", "unlimited": "no limit", "confirmed": "signed up",
        "waitlisted": "waiting", "offered": "seat offered", "attended": "came",
        "move": "Move it (everyone signed up is told)", "move_button": "Move and tell them",
        "cancel": "Cancel the activity (everyone signed up is told)", "cancel_confirm": "I am sure: cancel it",
        "cancel_button": "Cancel the activity", "signup_close": "Close the sign-up", "signup_open": "Open the sign-up",
        "roster": "Roster", "waitlist": "Waitlist", "position": "#{n}", "for": "for {name}", "attendance": "Attendance",
        "attendance_save": "Save attendance", "csv": "Download the roster (CSV)",
        "message": "Message everyone signed up", "message_button": "Send", "filter_all": "all",
        "back": "Back to the activity", "no_roster": "Nobody has signed up yet.",
        "kinds": {"activity": "activity", "study_group": "study group", "training": "training"},
        "audiences": {"all": "everyone", "children": "children", "elderly": "elders", "women": "women",
                      "training": "training"},
        "statuses": {"open": "sign-up open", "closed": "sign-up closed", "cancelled": "cancelled"},
        "enrollment": {"confirmed": "signed up", "waitlisted": "waiting", "offered": "seat offered",
                       "attended": "came", "cancelled": "cancelled", "called_off": "activity cancelled",
                       "declined": "declined", "offer_expired": "no answer"},
        "done": {"created": "Created; villagers can now see it in the bot and sign up.", "edited": "Saved.",
                 "moved": "Moved; {n} people signed up were told.", "cancelled": "Cancelled; {n} people were told.",
                 "open": "The sign-up is open again.", "closed": "The sign-up is closed; those in keep their seats.",
                 "attendance": "Attendance saved: {n} came.", "message": "Sent to {n} ({m} take no notices)."},
    },
}
CSV_HEADER = ("序号 No.", "姓名 Name", "替谁报名 For", "状态 Status", "候补 Waitlist", "电话 Phone", "报名时间 Signed up")


def _words(request: Request) -> dict:
    return WORDS[lang_of(request)]


def _done(request: Request) -> str:
    a = _words(request)
    key = request.query_params.get("done", "")
    text = a["done"].get(key, "")
    n, m = request.query_params.get("n", ""), request.query_params.get("m", "")
    return text.format(n=n if n.isdigit() else "", m=m if m.isdigit() else "") if text else ""


def _local_input(t: datetime | None) -> str:
    return t.astimezone(TZ).strftime("%Y-%m-%dT%H:%M") if t else ""


def _when(value: str) -> datetime | None:
    """A `datetime-local` field, read as Beijing time."""
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=TZ)
    except ValueError:
        raise activity_service.EnrollmentError("bad_time", "时间格式不对 / the time is not valid") from None


def _fields(form, *, area_id: int | None) -> ActivityFields:
    capacity = str(form.get("capacity", "")).strip()
    try:
        seats = int(capacity) if capacity else None
    except ValueError:
        raise activity_service.EnrollmentError("invalid", "名额要填数字 / seats must be a number") from None
    return ActivityFields(
        kind=str(form.get("kind", "activity")), title=str(form.get("title", ""))[:200],
        title_en=str(form.get("title_en", ""))[:200], description=str(form.get("description", ""))[:4000],
        description_en=str(form.get("description_en", ""))[:4000], place=str(form.get("place", ""))[:200],
        starts_at=_when(str(form.get("starts_at", ""))), ends_at=_when(str(form.get("ends_at", ""))),
        capacity=seats, audience=tuple(str(a) for a in form.getlist("audience")) or ("all",),
        organizer=str(form.get("organizer", ""))[:100], area_id=area_id)


async def _area_choices(s, who) -> list:
    return [a for a in await all_areas(s) if who.scope.is_admin or a.id in who.scope.covered]


def _visible(who, activity: Activity | None) -> bool:
    return activity is not None and authz.can_see_roster(who.scope, activity)


@router.get("/activities")
async def activity_list(request: Request):
    who, refused = await staff_caller(request)
    if refused:
        return refused
    status = request.query_params.get("status", "")
    async with services_of(request).db.session() as s:
        rows = await activity_service.list_with_counts(s, status=status if status in ("open", "closed", "cancelled")
                                                       else None)
        rows = [(a, counts) for a, counts in rows if authz.can_see_roster(who.scope, a)]
        areas = {a.id: a for a in await all_areas(s)}
    return render(request, "activities.html", who=who, a=_words(request), rows=rows, areas=areas, status=status)


async def _form_page(request: Request, who, *, activity: Activity | None = None, values: dict | None = None,
                     error: str = "", status_code: int = 200):
    async with services_of(request).db.session() as s:
        choices = await _area_choices(s, who)
    if values is None and activity is not None:
        values = {"kind": activity.kind, "title": activity.title, "title_en": activity.title_en,
                  "description": activity.description, "description_en": activity.description_en,
                  "place": activity.place, "starts_at": _local_input(activity.starts_at),
                  "ends_at": _local_input(activity.ends_at), "capacity": activity.capacity or "",
                  "audience": list(activity.audience or []), "organizer": activity.organizer,
                  "area": str(activity.area_id or "")}
    return render(request, "activity_form.html", status_code, who=who, a=_words(request), activity=activity,
                  values=values or {"kind": "activity", "audience": ["all"]}, error=error, area_choices=choices,
                  kinds=activity_admin.KINDS, audiences=activity_admin.AUDIENCES)


@router.get("/activities/new")
async def new_activity(request: Request):
    who, refused = await staff_caller(request)
    if refused:
        return refused
    return await _form_page(request, who)


def _form_values(form) -> dict:
    values = {k: str(form.get(k, "")) for k in ("kind", "title", "title_en", "description", "description_en",
                                                "place", "starts_at", "ends_at", "capacity", "organizer", "area")}
    values["audience"] = [str(x) for x in form.getlist("audience")]
    return values


@router.post("/activities")
async def create_activity(request: Request):
    form = await request.form()
    who, refused = await staff_caller(request, form)
    if refused:
        return refused
    services = services_of(request)
    values = _form_values(form)
    try:
        area_id = int(values["area"]) if values["area"] else None
        if not authz.covers_area(who.scope, area_id):
            raise activity_service.EnrollmentError("area", "这个地区不归您管 / that area is outside yours")
        async with services.db.session() as s:
            activity = await activity_admin.create_activity(s, _fields(form, area_id=area_id),
                                                            actor=who.scope.actor, now=now_of(services))
            activity_id = activity.id
    except (activity_service.EnrollmentError, ValueError) as exc:
        return await _form_page(request, who, values=values, error=str(exc), status_code=422)
    return back_to(f"/activities/{activity_id}?done=created")


@router.get("/activities/{activity_id}")
async def activity_page(activity_id: int, request: Request):
    who, refused = await staff_caller(request)
    if refused:
        return refused
    return await _detail(request, who, activity_id)


async def _roster_rows(s, activity_id: int) -> list[dict]:
    rows = []
    enrollments = await activity_service.roster(s, activity_id)
    people = {p.id: p for p in (await s.execute(select(Person).where(
        Person.id.in_({e.person_id for e in enrollments})))).scalars()} if enrollments else {}
    for e in enrollments:
        p = people.get(e.person_id)
        rows.append({"e": e, "person": p, "name": (p.display_name if p and not p.erased else "") or ""})
    return rows


async def _detail(request: Request, who, activity_id: int, *, error: str = "", status_code: int = 200):
    async with services_of(request).db.session() as s:
        activity = await s.get(Activity, activity_id)
        if not _visible(who, activity):
            return not_found(request, who)
        rows = await _roster_rows(s, activity.id)
        counts = await activity_service.status_counts(s, activity.id)
        areas = {a.id: a for a in await all_areas(s)}
        await audit.record(s, who.scope.actor, "activity.roster.read", f"activity:{activity.id}")
    signed = [r for r in rows if r["e"].status in ("confirmed", "offered", "attended")]
    waiting = sorted([r for r in rows if r["e"].status == "waitlisted"], key=lambda r: r["e"].waitlist_position or 0)
    others = [r for r in rows if r not in signed and r not in waiting]
    return render(request, "activity.html", status_code, who=who, a=_words(request), activity=activity,
                  counts=counts, signed=signed, waiting=waiting, others=others, areas=areas, error=error,
                  done=_done(request), starts_input=_local_input(activity.starts_at))


async def _change(request: Request, activity_id: int, run, refused_page=None):
    """A form about the activity: check the caller and the area, run, come back. A refusal
    shows the activity's page with the error, or `refused_page(who, form, error)`."""
    form = await request.form()
    who, refused = await staff_caller(request, form)
    if refused:
        return refused
    services = services_of(request)
    try:
        async with services.db.session() as s:
            activity = await s.get(Activity, activity_id)
            if not _visible(who, activity):
                return not_found(request, who)
            target = await run(s, who, activity, form, now_of(services))
    except (activity_service.EnrollmentError, ValueError) as exc:
        if refused_page is not None:
            return await refused_page(who, form, str(exc))
        return await _detail(request, who, activity_id, error=str(exc), status_code=422)
    return back_to(target)


@router.get("/activities/{activity_id}/edit")
async def edit_page(activity_id: int, request: Request):
    who, refused = await staff_caller(request)
    if refused:
        return refused
    async with services_of(request).db.session() as s:
        activity = await s.get(Activity, activity_id)
    if not _visible(who, activity):
        return not_found(request, who)
    return await _form_page(request, who, activity=activity)


@router.post("/activities/{activity_id}/edit")
async def edit(activity_id: int, request: Request):
    async def run(s, who, activity, form, now):
        await activity_admin.edit_activity(s, activity.id, _fields(form, area_id=activity.area_id),
                                           actor=who.scope.actor, now=now)
        return f"/activities/{activity.id}?done=edited"

    async def form_again(who, form, error):
        async with services_of(request).db.session() as s:
            activity = await s.get(Activity, activity_id)
        return await _form_page(request, who, activity=activity, values=_form_values(form), error=error,
                                status_code=422)
    return await _change(request, activity_id, run, form_again)


@router.post("/activities/{activity_id}/move")
async def move(activity_id: int, request: Request):
    async def run(s, who, activity, form, now):
        _, told = await activity_service.move_activity(
            s, activity.id, starts_at=_when(str(form.get("starts_at", ""))),
            place=str(form.get("place", ""))[:200] or None, actor=who.scope.actor, now=now)
        return f"/activities/{activity.id}?done=moved&n={told}"
    return await _change(request, activity_id, run)


@router.post("/activities/{activity_id}/cancel")
async def cancel(activity_id: int, request: Request):
    async def run(s, who, activity, form, now):
        if form.get("confirm") != "1":
            raise activity_service.EnrollmentError("confirm", "请先勾选确认 / tick the box to confirm")
        _, told = await activity_service.cancel_activity(s, activity.id, actor=who.scope.actor, now=now)
        return f"/activities/{activity.id}?done=cancelled&n={told}"
    return await _change(request, activity_id, run)


@router.post("/activities/{activity_id}/signup")
async def signup(activity_id: int, request: Request):
    async def run(s, who, activity, form, now):
        open_ = form.get("open") == "1"
        await activity_admin.set_signup_open(s, activity.id, open_, actor=who.scope.actor, now=now)
        return f"/activities/{activity.id}?done={'open' if open_ else 'closed'}"
    return await _change(request, activity_id, run)


@router.post("/activities/{activity_id}/message")
async def message(activity_id: int, request: Request):
    async def run(s, who, activity, form, now):
        sent, skipped = await activity_admin.message_participants(s, activity.id, str(form.get("text", ""))[:2000],
                                                                  actor=who.scope.actor)
        return f"/activities/{activity.id}?done=message&n={sent}&m={skipped}"
    return await _change(request, activity_id, run)


@router.get("/activities/{activity_id}/attendance")
async def attendance_page(activity_id: int, request: Request):
    who, refused = await staff_caller(request)
    if refused:
        return refused
    async with services_of(request).db.session() as s:
        activity = await s.get(Activity, activity_id)
        if not _visible(who, activity):
            return not_found(request, who)
        rows = [r for r in await _roster_rows(s, activity.id) if r["e"].status in ("confirmed", "attended")]
        await audit.record(s, who.scope.actor, "activity.roster.read", f"activity:{activity.id}")
    return render(request, "activity_attendance.html", who=who, a=_words(request), activity=activity, rows=rows)


@router.post("/activities/{activity_id}/attendance")
async def take_attendance(activity_id: int, request: Request):
    async def run(s, who, activity, form, now):
        present = {int(x) for x in form.getlist("present") if str(x).isdigit()}
        n = await activity_admin.take_attendance(s, activity.id, present, actor=who.scope.actor)
        return f"/activities/{activity.id}?done=attendance&n={n}"
    return await _change(request, activity_id, run)


@router.get("/activities/{activity_id}/roster.csv")
async def roster_csv(activity_id: int, request: Request):
    who, refused = await staff_caller(request)
    if refused:
        return refused
    lang = lang_of(request)
    words = WORDS[lang]["enrollment"]
    async with services_of(request).db.session() as s:
        activity = await s.get(Activity, activity_id)
        if not _visible(who, activity):
            return not_found(request, who)
        rows = await _roster_rows(s, activity.id)
        await audit.record(s, who.scope.actor, "activity.roster.export", f"activity:{activity.id}",
                           {"rows": len(rows)})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for i, r in enumerate(rows, 1):
        e, p = r["e"], r["person"]
        writer.writerow([i, r["name"], e.participant_name, words.get(e.status, e.status), e.waitlist_position or "",
                         (p.phone if p and not p.erased else ""),
                         e.created_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if e.created_at else ""])
    body = "\ufeff" + out.getvalue()
    response = Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="activity-{activity_id}-roster.csv"'})
    return secure(response)
