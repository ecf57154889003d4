"""Villagers on the staff web: search, a villager's record (the read is audited), consent,
the opt-out of reminders and broadcasts, household members, the flag for monthly check-ins
(storage/flags.py), joining two identities of one person (storage/person_links.py; supervisors
and admins, both records in their areas), and erasure on request with a confirmation step
(storage/erasure.py, admins only; audited with counts, never content).

Access: staff who cover the villager's village (bot/authz.can_see_person); anyone else gets
404; viewers see no villager.
"""
from __future__ import annotations

from fastapi import APIRouter, Request

from bot import authz
from bot.api.common import mask_phone, now_of, services_of
from bot.web.guard import ADMIN, not_found, staff_caller
from bot.web.rendering import back_to, lang_of, render
from storage import audit, erasure, flags, person_admin, person_links
from storage import cases as case_service
from storage import people as people_service
from storage.areas import all_areas
from storage.models import Person

router = APIRouter(include_in_schema=False)

WORDS = {
    "zh": {
        "people": "村民", "search": "按名字或电话找", "find": "查找", "village": "村", "phone": "电话",
        "consent": "同意书", "consent_yes": "已同意", "consent_no": "未同意", "give_consent": "记录同意（纸质签字等）",
        "withdraw_consent": "撤回同意", "opt_out": "通知", "opted_out": "不接收提醒和群发", "opted_in": "接收提醒和群发",
        "stop_notices": "停止提醒和群发", "resume_notices": "恢复提醒和群发", "household": "家庭成员",
        "relation": "关系", "name": "名字", "add": "添加", "remove": "删除", "flags": "防返贫监测",
        "flag_reason": "原因（只有社工能看到）", "flag_add": "加入每月回访", "flag_clear": "结束监测",
        "flagged_since": "监测开始于", "cases": "个案", "channels": "联系渠道", "erase": "删除这个村民的信息",
        "erase_title": "删除村民信息", "erase_warning": "会删除名字、电话、家庭成员、求助内容、对话记录和附件。统计数字（类别、村、日期）会保留。删除后不能恢复。",
        "erase_type": "请输入村民编号 {id} 确认", "erase_button": "确认删除", "erased": "这个村民的信息已删除。",
        "none_found": "没有找到。", "unnamed": "（没有名字）", "back": "返回",
        "relations": {"spouse": "配偶", "child": "子女", "parent": "父母", "grandchild": "孙辈",
                      "grandparent": "祖父母", "sibling": "兄弟姐妹", "other": "其他"},
        "done": {"consent": "同意状态已更新。", "opt": "通知设置已更新。", "household": "家庭成员已更新。",
                 "flag": "已加入每月回访。", "unflag": "已结束监测。", "erased": "信息已删除。",
                 "linked": "已合并。"},
        "wrong_confirm": "编号不对，没有删除。", "link": "合并同一个人的另一个账号", "link_other": "另一个村民编号",
        "link_check": "核对", "link_title": "合并两个账号",
        "link_warning": "第二个账号的消息、个案、报名、标记和联系渠道都会并到第一个，第二个会被删除。",
        "link_button": "确认合并", "linked": "已合并。", "keep": "保留", "joined": "并入",
    },
    "en": {
        "people": "Villagers", "search": "Find by name or phone", "find": "Find", "village": "Village",
        "phone": "Phone", "consent": "Consent", "consent_yes": "given", "consent_no": "not given",
        "give_consent": "Record consent (e.g. signed on paper)", "withdraw_consent": "Withdraw consent",
        "opt_out": "Notices", "opted_out": "no reminders or broadcasts", "opted_in": "gets reminders and broadcasts",
        "stop_notices": "Stop reminders and broadcasts", "resume_notices": "Resume reminders and broadcasts",
        "household": "Household", "relation": "Relation", "name": "Name", "add": "Add", "remove": "Remove",
        "flags": "Return-to-poverty watch", "flag_reason": "Reason (staff only)", "flag_add": "Start monthly check-ins",
        "flag_clear": "End the watch", "flagged_since": "watched since", "cases": "Cases", "channels": "Channels",
        "erase": "Erase this villager's data", "erase_title": "Erase a villager's data",
        "erase_warning": "Removes the name, phone, household, what they asked for, messages and attachments. "
                         "Counts (category, village, dates) stay. This cannot be undone.",
        "erase_type": "Type the villager's number {id} to confirm", "erase_button": "Erase",
        "erased": "This villager's data was erased.", "none_found": "Nobody found.", "unnamed": "(no name)",
        "back": "Back",
        "relations": {"spouse": "spouse", "child": "child", "parent": "parent", "grandchild": "grandchild",
                      "grandparent": "grandparent", "sibling": "sibling", "other": "other"},
        "done": {"consent": "Consent updated.", "opt": "Notices updated.", "household": "Household updated.",
                 "flag": "Monthly check-ins started.", "unflag": "Watch ended.", "erased": "Erased.",
                 "linked": "Joined."},
        "wrong_confirm": "The number does not match; nothing was erased.",
        "link": "Join another identity of this person", "link_other": "The other villager's number",
        "link_check": "Check", "link_title": "Join two identities",
        "link_warning": "The second one's messages, cases, sign-ups, flags and messenger accounts move to the first; "
                        "the second is removed.", "link_button": "Join them", "linked": "Joined.", "keep": "Keep",
        "joined": "Joined into it",
    },
}


def _words(request: Request) -> dict:
    return WORDS[lang_of(request)]


async def _visible(s, who, person_id: int) -> Person | None:
    person = await s.get(Person, person_id)
    return person if person is not None and authz.can_see_person(who.scope, person) else None


@router.get("/people")
async def people_page(request: Request):
    who, refused = await staff_caller(request)
    if refused:
        return refused
    q = request.query_params.get("q", "")[:100]
    async with services_of(request).db.session() as s:
        rows = await people_service.search_people(s, q, visible=authz.person_filter(who.scope), limit=100)
        areas = {a.id: a for a in await all_areas(s)}
        await audit.record(s, who.scope.actor, "person.search", "", {"found": len(rows)})
    return render(request, "people.html", who=who, p=_words(request), rows=rows, areas=areas, q=q, mask=mask_phone)


async def _detail(request: Request, who, person_id: int, *, error: str = "", status_code: int = 200):
    async with services_of(request).db.session() as s:
        person = await _visible(s, who, person_id)
        if person is None:
            return not_found(request, who)
        channels = await people_service.channels_of(s, person.id)
        cases = [c for c in await case_service.cases_for_person(s, person.id) if authz.can_see_case(who.scope, c)]
        active = await flags.flags_of(s, person.id)
        areas = {a.id: a for a in await all_areas(s)}
        await audit.record(s, who.scope.actor, "person.read", f"person:{person.id}")
    words = _words(request)
    return render(request, "person.html", status_code, who=who, p=words, person=person, channels=channels,
                  cases=cases, flags=active, areas=areas, error=error, relations=person_admin.RELATIONS,
                  done=words["done"].get(request.query_params.get("done", ""), ""))


@router.get("/people/{person_id}")
async def person_page(person_id: int, request: Request):
    who, refused = await staff_caller(request)
    if refused:
        return refused
    return await _detail(request, who, person_id)


async def _change(request: Request, person_id: int, done: str, run, *, roles=None):
    form = await request.form()
    who, refused = await staff_caller(request, form, **({"roles": roles} if roles else {}))
    if refused:
        return refused
    services = services_of(request)
    try:
        async with services.db.session() as s:
            person = await _visible(s, who, person_id)
            if person is None:
                return not_found(request, who)
            await run(s, who, person, form, now_of(services))
    except (person_admin.PersonEditError, flags.FlagError) as exc:
        return await _detail(request, who, person_id, error=str(exc), status_code=422)
    return back_to(f"/people/{person_id}?done={done}")


@router.post("/people/{person_id}/consent")
async def consent(person_id: int, request: Request):
    async def run(s, who, person, form, now):
        await person_admin.set_consent(s, person.id, form.get("given") == "1", actor=who.scope.actor, now=now)
    return await _change(request, person_id, "consent", run)


@router.post("/people/{person_id}/opt-out")
async def opt_out(person_id: int, request: Request):
    async def run(s, who, person, form, now):
        await person_admin.set_opt_out(s, person.id, form.get("opted_out") == "1", actor=who.scope.actor)
    return await _change(request, person_id, "opt", run)


@router.post("/people/{person_id}/household")
async def add_member(person_id: int, request: Request):
    async def run(s, who, person, form, now):
        await person_admin.add_household_member(s, person.id, str(form.get("relation", "")),
                                                str(form.get("name", "")), actor=who.scope.actor)
    return await _change(request, person_id, "household", run)


@router.post("/people/{person_id}/household/{index}/remove")
async def remove_member(person_id: int, index: int, request: Request):
    async def run(s, who, person, form, now):
        await person_admin.remove_household_member(s, person.id, index, actor=who.scope.actor)
    return await _change(request, person_id, "household", run)


@router.post("/people/{person_id}/flags")
async def add_flag(person_id: int, request: Request):
    async def run(s, who, person, form, now):
        await flags.add_flag(s, person.id, flags.WATCH, reason=str(form.get("reason", ""))[:2000],
                             staff_id=who.scope.staff_id, now=now)
    return await _change(request, person_id, "flag", run)


@router.post("/people/{person_id}/flags/{flag_id}/clear")
async def clear_flag(person_id: int, flag_id: int, request: Request):
    async def run(s, who, person, form, now):
        await flags.clear_flag(s, flag_id, person_id=person.id, staff_id=who.scope.staff_id, now=now)
    return await _change(request, person_id, "unflag", run)


@router.get("/people/{person_id}/erase")
async def erase_page(person_id: int, request: Request):
    who, refused = await staff_caller(request, roles=ADMIN)
    if refused:
        return refused
    async with services_of(request).db.session() as s:
        person = await _visible(s, who, person_id)
    if person is None or person.erased:
        return not_found(request, who)
    return render(request, "person_erase.html", who=who, p=_words(request), person=person, error="")


@router.post("/people/{person_id}/erase")
async def erase(person_id: int, request: Request):
    form = await request.form()
    who, refused = await staff_caller(request, form, roles=ADMIN)
    if refused:
        return refused
    services = services_of(request)
    async with services.db.session() as s:
        person = await _visible(s, who, person_id)
        if person is None or person.erased:
            return not_found(request, who)
        if str(form.get("confirm", "")).strip() != str(person.id):
            return render(request, "person_erase.html", 422, who=who, p=_words(request), person=person,
                          error=_words(request)["wrong_confirm"])
        await erasure.erase_person(s, person.id, now_of(services), media_dir=services.settings.media_dir,
                                   actor=who.scope.actor)
    return back_to(f"/people/{person_id}?done=erased")


LINKERS = ("admin", "supervisor")


async def _pair(s, who, person_id: int, other: str) -> tuple[Person | None, Person | None]:
    keep = await _visible(s, who, person_id)
    theirs = await _visible(s, who, int(other)) if other.strip().isdigit() else None
    return keep, theirs


@router.get("/people/{person_id}/link")
async def link_page(person_id: int, request: Request):
    who, refused = await staff_caller(request, roles=LINKERS)
    if refused:
        return refused
    async with services_of(request).db.session() as s:
        keep, other = await _pair(s, who, person_id, request.query_params.get("other", ""))
        channels = {p.id: await people_service.channels_of(s, p.id) for p in (keep, other) if p is not None}
    if keep is None or other is None or keep.erased or other.erased or keep.id == other.id:
        return not_found(request, who)
    return render(request, "person_link.html", who=who, p=_words(request), keep=keep, other=other,
                  channels=channels)


@router.post("/people/{person_id}/link")
async def link(person_id: int, request: Request):
    form = await request.form()
    who, refused = await staff_caller(request, form, roles=LINKERS)
    if refused:
        return refused
    try:
        async with services_of(request).db.session() as s:
            keep, other = await _pair(s, who, person_id, str(form.get("other", "")))
            if keep is None or other is None:
                return not_found(request, who)
            await person_links.link_people(s, keep.id, other.id, actor=who.scope.actor)
    except person_links.LinkError as exc:
        return await _detail(request, who, person_id, error=str(exc), status_code=422)
    return back_to(f"/people/{person_id}?done=linked")
