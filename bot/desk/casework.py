"""Casework from the workers' messenger (bot/desk/commands.py): a case's summary, a task done,
a referral, a flag, and the offers that could serve a case with one linked — scope-checked
like bot/desk/service.py and done through the same storage services as the web and the API
(storage/casework.py, referrals.py, flags.py, offers.py, which audit every change).

A case is named by its number (XZ-2026-000012) or by its last digits (12): the newest case
the caller may see that ends so. A case outside the caller's areas is "not found", never
"forbidden". Texts are plain Chinese (the desk's language); every text leaving for a
messenger is masked (vocab/masking.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.authz import StaffScope
from bot.desk.service import DeskError
from storage import agencies as agency_store
from storage import audit, casework, flags
from storage import cases as case_store
from storage import offers as offer_store
from storage import referrals as referral_store
from storage.cases import STATUS_WORDS, CaseError
from storage.models import Agency, Area, CaseTask, NeedRequest, Offer, Person, Referral
from vocab.cases import CATEGORY_WORDS
from vocab.masking import mask

STAGE_WORDS = {"received": "已接收", "assessed": "已评估", "plan": "制定计划", "in_service": "服务中", "closed": "已结案"}
REFERRAL_WORDS = {"sent": "已转出", "accepted": "对方已接收", "done": "已办好", "declined": "对方不接"}
PLAN_WORDS = {"open": "进行中", "done": "已完成", "dropped": "不做了"}
PLACE_WORDS = ("本村", "本镇", "全县")
FULL_WIDTH = {0xFF10 + i: str(i) for i in range(10)}
_REF = re.compile(r"#?((?:XZ-\d{4}-)?\d+)", re.IGNORECASE)
SHOWN_MATCHES = 5


class CaseNotFound(DeskError):
    def __init__(self, ref: str):
        super().__init__(f"找不到个案 {ref}（或不在您的片区）", f"case {ref} not found", 404)


def case_ref(text: str) -> str | None:
    """The case reference a word is, or None: "12", "#12", "xz-2026-000012", "１２"."""
    m = _REF.fullmatch(text.strip().translate(FULL_WIDTH))
    return m.group(1).upper() if m else None


def _day(d: date | None) -> str:
    return f"{d.month}月{d.day}日" if d else ""


async def find_case(session: AsyncSession, scope: StaffScope, ref: str, *, change: bool = False) -> NeedRequest:
    """The case `ref` names among those the caller may see (or change, with `change`)."""
    number = case_ref(ref)
    if number is None:
        raise DeskError("请写上个案编号，例如：个案 12", "give the case number, e.g. /case 12", 422)
    if number.startswith("XZ-"):
        case = await case_store.get_case(session, number)
    else:
        case = (await session.execute(
            select(NeedRequest).where(NeedRequest.number.like(f"XZ-%-{int(number):06d}"), authz.case_filter(scope))
            .order_by(NeedRequest.created_at.desc(), NeedRequest.id.desc()).limit(1))).scalars().first()
    if case is None or not authz.can_see_case(scope, case):
        raise CaseNotFound(ref.strip())
    if change and not authz.can_change_case(scope, case):
        raise CaseNotFound(ref.strip())
    return case


# ── reading ──────────────────────────────────────────────────────────────────────────────


async def summary(session: AsyncSession, scope: StaffScope, ref: str, *, now: datetime) -> tuple[NeedRequest, str]:
    """A case in a few lines: who and where, the need, status and stage, the plan, open tasks,
    referrals and flags (the read is audited as `case.view`)."""
    case = await find_case(session, scope, ref)
    today = casework.local_day(now)
    person = await session.get(Person, case.person_id)
    village = await session.get(Area, case.village_id) if case.village_id else None
    plan = await casework.plan_items(session, case)
    tasks = [t for t in await casework.tasks_of(session, case) if t.done_at is None]
    referrals = await referral_store.referrals_of(session, case)
    agencies = {a.id: a for a in await agency_store.list_agencies(session, active_only=False)}
    names = await casework.staff_names(session, {x for x in [case.assigned_staff_id, *(i.staff_id for i in plan),
                                                             *(t.assignee_staff_id for t in tasks)] if x})
    watch = await flags.flags_of(session, case.person_id) if person is not None else []
    who = (person.display_name if person and not person.erased else "") or "村民"
    lines = [f"个案 {case.number} · {who} · {village.name if village else '未知村'}",
             f"需要：{CATEGORY_WORDS['zh'].get(case.category, case.category)}"
             + (f" — {case.description.strip()[:80]}" if case.description.strip() else ""),
             f"状态：{STATUS_WORDS['zh'].get(case.status, case.status)} · 阶段：{STAGE_WORDS.get(case.stage, case.stage)}"
             + (f" · 负责：{names[case.assigned_staff_id]}" if case.assigned_staff_id in names else "")]
    if plan:
        lines.append("计划：")
        for n, item in enumerate(plan, 1):
            by = names.get(item.staff_id) or agency_store.agency_name(agencies.get(item.agency_id), "zh")
            extra = "，".join(x for x in (by, f"{_day(item.due_on)}前" if item.due_on else "") if x)
            lines.append(f" {n}. {item.what[:60]}{f'（{extra}）' if extra else ''} — {PLAN_WORDS.get(item.status, item.status)}")
    else:
        lines.append("计划：还没有")
    if tasks:
        lines.append("待办任务：")
        for t in tasks:
            late = "，已逾期" if casework.is_overdue(t, today) else ("，今天到期" if t.due_on == today else "")
            lines.append(f" 任务 {t.id}：{t.title[:60]}（{_day(t.due_on)}{late}"
                         f"{'，' + names[t.assignee_staff_id] if t.assignee_staff_id in names else ''}）")
    if referrals:
        lines.append("转介：")
        for r in referrals:
            lines.append(f" {agency_store.agency_name(agencies.get(r.agency_id), 'zh')}：{REFERRAL_WORDS.get(r.status, r.status)}"
                         f"（{_day(casework.local_day(r.sent_at))}）")
    for f in watch:
        lines.append(f"关注：防返贫监测{('（' + f.reason[:40] + '）') if f.reason else ''}")
    lines.append(f"“任务 N 完成”标记任务；“转介 {_short(case)} 机构”；“配对 {_short(case)}”找帮助。")
    await audit.record(session, scope.actor, "case.view", case.number, {"via": "desk"})
    return case, mask("\n".join(lines))


def _short(case: NeedRequest) -> str:
    return str(int(case.number.rsplit("-", 1)[1]))


# ── changing ─────────────────────────────────────────────────────────────────────────────


def _refused(exc: Exception) -> DeskError:
    zh, _, en = str(exc).partition(" / ")
    return DeskError(zh, en or zh, 422)


async def task_done(session: AsyncSession, scope: StaffScope, task_ref: str, *, now: datetime) -> tuple[CaseTask, NeedRequest]:
    """Mark a task done (any task of a case the caller may change)."""
    m = re.fullmatch(r"#?(\d+)", task_ref.strip().translate(FULL_WIDTH))
    task = await session.get(CaseTask, int(m.group(1))) if m else None
    case = await session.get(NeedRequest, task.case_id) if task is not None else None
    if case is None or not authz.can_change_case(scope, case):
        raise DeskError(f"找不到任务 {task_ref.strip()}（或不在您的片区）", f"task {task_ref} not found", 404)
    if task.done_at is not None:
        return task, case
    try:
        await casework.set_task_done(session, case, task.id, True, by_staff_id=scope.staff_id, now=now)
    except CaseError as exc:
        raise _refused(exc) from exc
    return task, case


async def numbered_agencies(session: AsyncSession) -> list[Agency]:
    return await agency_store.list_agencies(session)


def agencies_text(agencies: list[Agency]) -> str:
    return "机构（回复“转介 个案号 机构号”）：\n" + "\n".join(f"{n}. {a.name}" for n, a in enumerate(agencies, 1))


async def find_agency(session: AsyncSession, ref: str) -> Agency:
    """An active agency by its number in the list, its code, or (part of) its name."""
    agencies = await numbered_agencies(session)
    word = ref.strip().translate(FULL_WIDTH)
    if word.isdigit():
        if 1 <= int(word) <= len(agencies):
            return agencies[int(word) - 1]
    else:
        for a in agencies:
            if word.lower() in (a.code.lower(), a.name.lower(), a.name_en.lower()):
                return a
        found = [a for a in agencies if word.lower() in a.name.lower() or (a.name_en and word.lower() in a.name_en.lower())]
        if len(found) == 1:
            return found[0]
    raise DeskError(f"没有机构“{ref.strip()}”。" + agencies_text(agencies), f"no agency '{ref}'", 422)


async def refer(session: AsyncSession, scope: StaffScope, ref: str, agency_ref: str, reason: str, *,
                now: datetime) -> tuple[Referral, NeedRequest, Agency]:
    """Refer the case to an agency; the villager is told in plain words (storage/referrals.py)."""
    case = await find_case(session, scope, ref, change=True)
    agency = await find_agency(session, agency_ref)
    try:
        referral = await referral_store.refer(session, case, agency, reason, by_staff_id=scope.staff_id, now=now)
    except CaseError as exc:
        raise _refused(exc) from exc
    return referral, case, agency


async def flag_case(session: AsyncSession, scope: StaffScope, ref: str, reason: str, *, now: datetime) -> tuple[NeedRequest, bool]:
    """Mark the case's household for return-to-poverty watch (the monthly check-in starts).
    Returns the case and whether the flag is new."""
    case = await find_case(session, scope, ref, change=True)
    if not reason.strip():
        raise DeskError("请写上关注的原因，例如：关注 12 因病返贫风险", "give a reason, e.g. /flag 12 illness", 422)
    try:
        _, created = await flags.add_flag(session, case.person_id, flags.WATCH, reason=reason.strip()[:1000],
                                          staff_id=scope.staff_id, now=now)
    except flags.FlagError as exc:
        raise DeskError("这位村民的资料已删除，不能标记", str(exc), 422) from exc
    await audit.record(session, scope.actor, "person.flag", f"person:{case.person_id}", {"case": case.number})
    return case, created


# ── offers of help (issue 21) ────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Shown:
    case: NeedRequest
    candidates: list[offer_store.Candidate]
    text: str


async def matches(session: AsyncSession, scope: StaffScope, ref: str, *, now: datetime) -> Shown:
    """The best offers for the case, numbered (approved, capacity left, within their dates,
    serving its category and place; storage/offers.py ranks them)."""
    if scope.is_viewer:
        raise CaseNotFound(ref.strip())
    case = await find_case(session, scope, ref)
    found = (await offer_store.offers_for_case(session, case, now=now))[:SHOWN_MATCHES]
    if not found:
        return Shown(case, [], f"个案 {case.number} 现在没有合适的帮助资源。")
    lines = [f"个案 {case.number}（{CATEGORY_WORDS['zh'].get(case.category, case.category)}）可用的帮助："]
    for n, c in enumerate(found, 1):
        o = c.offer
        what = (o.description or "").strip()[:40] or "、".join(CATEGORY_WORDS["zh"].get(x, x) for x in o.categories)
        until = f"，到{_day(o.available_until)}" if o.available_until else ""
        lines.append(f"{n}. {o.offerer_name}：{what}（剩 {o.remaining} {o.unit}，{PLACE_WORDS[c.place]}"
                     f"{'' if c.exact else '，通用'}{until}）")
    lines.append("回复“link 1”（或“链接 1”）把第 1 个配给这个个案。")
    return Shown(case, found, mask("\n".join(lines)))


async def link(session: AsyncSession, scope: StaffScope, case: NeedRequest, offer_id: int, *, now: datetime):
    """Propose a match (tentative until the offerer confirms, on the web or the API)."""
    if not authz.can_change_case(scope, case):
        raise CaseNotFound(case.number)
    offer = await session.get(Offer, offer_id)
    if offer is None:
        raise DeskError("这项帮助已经没有了，请重新“配对”", "the offer is gone; match again", 404)
    try:
        match = await offer_store.propose_match(session, offer, case, staff_id=scope.staff_id, now=now)
    except offer_store.OfferError as exc:
        raise _refused(exc) from exc
    return match, offer
