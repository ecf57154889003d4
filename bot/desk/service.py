"""The desk's actions, scope-checked: what a social worker does with handoffs, the same for
the messenger commands (bot/desk/commands.py), the JSON API and the web pages.

Every function is a plain async function `(session, scope, ...)`: `session` is the caller's
transaction (the caller commits), `scope` the acting staff member (`bot.authz.StaffScope`;
`scope_for_staff` builds it). A handoff outside the caller's areas is reported as not found
(`DeskNotFound`), never as forbidden; a refused action raises `DeskError` whose str() is
"中文 / English". Times come in as `now`; settings as `rules` (`storage.routing.DeskRules`).
docs/desk.md lists them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.authz import StaffScope
from bot.errors import BotError
from storage import approvals, audit, cases as case_store, flags, handoffs as store, routing, saved_answers, timers
from storage import staff as staff_store
from storage.models import Handoff, HandoffNote, NeedRequest, Person, SavedAnswer, Staff
from storage.notify import notify_staff
from vocab.cases import CATEGORIES


class DeskError(BotError):
    """A desk action that is not allowed now; str() is "中文 / English"."""

    def __init__(self, zh: str, en: str, status: int = 409):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.status = zh, en, status


class DeskNotFound(DeskError):
    def __init__(self, handoff_id: int | str):
        super().__init__(f"找不到求助 #{handoff_id}（或不在您的片区）", f"handoff #{handoff_id} not found", 404)


async def scope_for_staff(session: AsyncSession, staff_id: int) -> StaffScope:
    staff = await session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise DeskError("这个账号已停用", "this staff account is deactivated", 403)
    return await authz.scope_for(session, staff)


def _writer(scope: StaffScope) -> None:
    if not scope.can_write:
        raise DeskError("您的账号只能查看", "your account is read-only", 403)


async def _handoff(session: AsyncSession, scope: StaffScope, handoff_id: int, *, audit_read: bool = False) -> Handoff:
    h = await session.get(Handoff, handoff_id)
    if h is None or not authz.can_see_handoff(scope, h):
        raise DeskNotFound(handoff_id)
    if audit_read:
        await audit.record(session, scope.actor, "handoff.read", f"handoff:{h.id}")
    return h


def _may_manage(scope: StaffScope, h: Handoff) -> bool:
    return h.claimed_by_staff_id == scope.staff_id or scope.role in ("admin", "supervisor")


def _mine(scope: StaffScope, h: Handoff) -> None:
    if h.status != "claimed" or h.claimed_by_staff_id != scope.staff_id:
        raise DeskError(f"#{h.id} 不是您认领的（先“接 {h.id}”）", f"#{h.id} is not claimed by you (claim it first)")


# ── reading ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class HandoffView:
    handoff: Handoff
    summary: store.Summary
    notes: list[HandoffNote]
    claimed_by: str  # display name, "" when waiting


async def _staff_name(session: AsyncSession, staff_id: int | None) -> str:
    if staff_id is None:
        return ""
    st = await session.get(Staff, staff_id)
    return store.short_name(st.display_name or st.username) if st else ""


async def queue(session: AsyncSession, scope: StaffScope, *, status: str | None = None,
                limit: int = 50) -> list[HandoffView]:
    """Open handoffs the caller may see (or those in `status`): emergency, urgent, normal,
    then oldest first."""
    if scope.is_viewer:
        raise DeskError("查看员只能看统计数字", "viewers see totals only", 403)
    rows = await store.list_handoffs(session, status=status, limit=limit, visible=authz.handoff_filter(scope))
    return [HandoffView(h, await store.summary(session, h), [], await _staff_name(session, h.claimed_by_staff_id))
            for h in rows]


async def mine(session: AsyncSession, scope: StaffScope) -> list[Handoff]:
    """The caller's claimed handoffs, oldest first."""
    return list((await session.execute(select(Handoff).where(
        Handoff.claimed_by_staff_id == scope.staff_id, Handoff.status == "claimed").order_by(Handoff.id))).scalars())


async def view(session: AsyncSession, scope: StaffScope, handoff_id: int) -> HandoffView:
    """One handoff with its summary and private notes (the read is audited)."""
    h = await _handoff(session, scope, handoff_id, audit_read=True)
    return HandoffView(h, await store.summary(session, h, messages=20), await store.notes(session, h.id),
                       await _staff_name(session, h.claimed_by_staff_id))


# ── taking and giving back ───────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    handoff: Handoff
    taken_by: str  # who has it, when not the caller


async def claim(session: AsyncSession, scope: StaffScope, handoff_id: int, *, now: datetime) -> ClaimResult:
    """Claim a waiting handoff; the first claim wins (a conditional UPDATE). The others it was
    offered to are told who took it. The caller's replies go to it from now on."""
    _writer(scope)
    h = await _handoff(session, scope, handoff_id)
    if not authz.can_change_handoff(scope, h):
        raise DeskNotFound(handoff_id)
    if h.status == "closed":
        raise DeskError(f"#{h.id} 已经结束了", f"#{h.id} is closed")
    won = await store.claim_handoff(session, h.id, scope.staff_id, now=now)
    await session.refresh(h)
    if not won:
        return ClaimResult(False, h, await _staff_name(session, h.claimed_by_staff_id))
    name = await _staff_name(session, scope.staff_id)
    for sid in h.offered_to or []:
        if sid != scope.staff_id:
            await notify_staff(session, sid, f"#{h.id} 已由{name}认领。/ #{h.id} was claimed by {name}.", kind="page")
    await timers.cancel(session, kind="desk_escalate", target=f"handoff:{h.id}")
    return ClaimResult(True, h, name)


async def skip(session: AsyncSession, scope: StaffScope, handoff_id: int) -> Handoff:
    """Pass on an offer (the Skip button): not offered to the caller again."""
    h = await _handoff(session, scope, handoff_id)
    h.skipped_by = sorted({*(h.skipped_by or []), scope.staff_id})
    await audit.record(session, scope.actor, "handoff.skip", f"handoff:{h.id}")
    return h


async def switch(session: AsyncSession, scope: StaffScope, handoff_id: int) -> Handoff:
    """Point the caller's messenger replies at another of their claimed handoffs."""
    h = await _handoff(session, scope, handoff_id)
    _mine(scope, h)
    staff = await session.get(Staff, scope.staff_id)
    staff.desk_handoff_id = h.id
    return h


async def current(session: AsyncSession, scope: StaffScope) -> Handoff | None:
    """Where the caller's plain messages go: the handoff they switched to, else their only one."""
    staff = await session.get(Staff, scope.staff_id)
    if staff.desk_handoff_id:
        h = await session.get(Handoff, staff.desk_handoff_id)
        if h is not None and h.status == "claimed" and h.claimed_by_staff_id == scope.staff_id:
            return h
    claimed = await mine(session, scope)
    if len(claimed) == 1:
        staff.desk_handoff_id = claimed[0].id
        return claimed[0]
    return None


async def release(session: AsyncSession, scope: StaffScope, handoff_id: int, *, now: datetime,
                  rules: routing.DeskRules) -> Handoff:
    """Back to the queue, offered again to others on duty."""
    _writer(scope)
    h = await _handoff(session, scope, handoff_id)
    if not _may_manage(scope, h):
        raise DeskError("只有认领的社工或督导可以放回", "only the claiming worker or a supervisor may release")
    try:
        await store.release_handoff(session, h, by_staff_id=scope.staff_id)
    except store.HandoffError as exc:
        raise DeskError(*str(exc).split(" / ", 1)) from exc
    await reoffer(session, h, now=now, rules=rules, header="放回队列的求助")
    return h


async def reoffer(session: AsyncSession, h: Handoff, *, now: datetime, rules: routing.DeskRules,
                  header: str = "新求助", restart_clock: bool = True) -> list[int]:
    """Offer a waiting handoff again to whoever is on duty, leaving out those who skipped it;
    `restart_clock`: its escalation is due again N working minutes from now."""
    staff = await routing.offer_order(session, h.village_id, now, rules.tz, cap=rules.max_open,
                                      exclude=set(h.skipped_by or []))
    if restart_clock:
        everyone = await routing.desk_members(session)
        due = routing.working_deadline(everyone, now, rules.escalate_after(h.priority), rules.tz)
        await timers.add(session, "desk_escalate", due, target=f"handoff:{h.id}",
                         dedupe_key=f"desk_escalate:{h.id}:{h.priority}:{int(now.timestamp())}")
    return await store.offer(session, h, [s.id for s in staff], header=header)


async def transfer(session: AsyncSession, scope: StaffScope, handoff_id: int, to: str | None) -> Handoff:
    """Give the handoff to another staff member (username or display name) who covers the
    village, or back to the queue (`to` None)."""
    _writer(scope)
    h = await _handoff(session, scope, handoff_id)
    if not _may_manage(scope, h) and h.status == "claimed":
        raise DeskError("只有认领的社工或督导可以转交", "only the claiming worker or a supervisor may transfer", 403)
    to_id = None
    if to:
        target = await _find_staff(session, to)
        if target is None or not target.active:
            raise DeskError(f"没有在职账号“{to}”", f"no active staff account '{to}'", 422)
        tscope = await authz.scope_for(session, target)
        if not (tscope.can_write and authz.covers_handoff_area(tscope, h.village_id)):
            raise DeskError(f"“{to}”不负责这个村", f"'{to}' does not cover this villager's village", 422)
        to_id = target.id
    try:
        await store.transfer_handoff(session, h, to_id, by_staff_id=scope.staff_id)
    except store.HandoffError as exc:
        raise DeskError(*str(exc).split(" / ", 1)) from exc
    return h


async def _find_staff(session: AsyncSession, who: str) -> Staff | None:
    found = await staff_store.find_staff(session, who.strip())
    if found is not None:
        return found
    for st in (await session.execute(select(Staff).where(Staff.active.is_(True)))).scalars():
        if who.strip() and who.strip() in (st.display_name or ""):
            return st
    return None


async def close(session: AsyncSession, scope: StaffScope, handoff_id: int, outcome: str, *,
                now: datetime) -> Handoff:
    """End the conversation: the villager is back with the bot, which asks how it went."""
    _writer(scope)
    h = await _handoff(session, scope, handoff_id)
    if not _may_manage(scope, h) and h.status == "claimed":
        raise DeskError("只有认领的社工或督导可以结束", "only the claiming worker or a supervisor may close", 403)
    await store.close_handoff(session, h, outcome=outcome.strip(), by_staff_id=scope.staff_id, now=now)
    await timers.cancel(session, target=f"handoff:{h.id}")
    return h


# ── talking ──────────────────────────────────────────────────────────────────────────────


async def reply(session: AsyncSession, scope: StaffScope, handoff_id: int, text: str, *, now: datetime,
                attachments: list | None = None) -> Handoff:
    """Answer the villager, signed with the caller's name (attachments: media-store dicts)."""
    _writer(scope)
    h = await _handoff(session, scope, handoff_id)
    _mine(scope, h)
    if not text.strip() and not attachments:
        raise DeskError("回复不能是空的", "a reply cannot be empty", 422)
    await store.relay_to_villager(session, h, scope.staff_id, text.strip(), attachments=attachments, now=now)
    await timers.cancel(session, kind="desk_no_reply", target=f"handoff:{h.id}")
    await audit.record(session, scope.actor, "handoff.message", f"handoff:{h.id}")
    return h


async def fill_saved(session: AsyncSession, scope: StaffScope, handoff_id: int, name: str, *,
                     answer_id: int | None = None) -> str:
    """A saved answer's text (by `name`, or by `answer_id` from a page's list) with {name}
    {village} {case} filled in for this handoff."""
    h = await _handoff(session, scope, handoff_id)
    if answer_id is not None:
        answer = next((a for a in await saved_answers.visible(session, scope.staff_id) if a.id == answer_id), None)
        name = name or f"#{answer_id}"
    else:
        answer = await saved_answers.find(session, scope.staff_id, name)
    if answer is None:
        names = "、".join(a.name for a in await saved_answers.visible(session, scope.staff_id)) or "（还没有）"
        raise DeskError(f"没有叫“{name}”的常用回复。有：{names}", f"no saved answer '{name}'", 404)
    s = await store.summary(session, h)
    return saved_answers.fill(answer.text, {"name": s.name, "village": s.village or "", "case": s.case_label()})


async def reply_saved(session: AsyncSession, scope: StaffScope, handoff_id: int, name: str, *,
                      now: datetime, answer_id: int | None = None) -> str:
    """Send a saved answer; returns the text sent."""
    text = await fill_saved(session, scope, handoff_id, name, answer_id=answer_id)
    await reply(session, scope, handoff_id, text, now=now)
    return text


async def note(session: AsyncSession, scope: StaffScope, handoff_id: int, text: str, *,
               now: datetime) -> HandoffNote:
    """A private note on the handoff (never sent to the villager)."""
    _writer(scope)
    h = await _handoff(session, scope, handoff_id)
    try:
        return await store.add_note(session, h, scope.staff_id, text, now=now)
    except store.HandoffError as exc:
        raise DeskError(*str(exc).split(" / ", 1)) from exc


async def link_case(session: AsyncSession, scope: StaffScope, handoff_id: int, number: str = "", *,
                    now: datetime, category: str = "other") -> NeedRequest:
    """Link an open case of the villager (`number`), or open one from the conversation."""
    _writer(scope)
    h = await _handoff(session, scope, handoff_id)
    if number:
        found = await case_store.get_case(session, number.strip().upper())
        if found is None or found.person_id != h.person_id:
            raise DeskError(f"这个村民没有个案 {number}", f"this villager has no case {number}", 404)
        case = found
    else:
        s = await store.summary(session, h)
        text = "\n".join([h.summary or "", *[t for d, t in s.last_messages if d == "in"]]).strip()
        case = await case_store.open_case(
            session, person_id=h.person_id, category=category if category in CATEGORIES else "other",
            description=text[:4000], village_id=h.village_id, filed_by_staff_id=scope.staff_id,
            on_behalf=True, now=now)
        await case_store.assign_case(session, case, scope.staff_id, by_staff_id=scope.staff_id, now=now)
    h.case_id = case.id
    await audit.record(session, scope.actor, "handoff.case", f"handoff:{h.id}", {"case": case.number})
    return case


async def set_status(session: AsyncSession, scope: StaffScope, handoff_id: int, status: str, *,
                     now: datetime) -> NeedRequest:
    """Change the status of the handoff's case (the villager is told, as for any case)."""
    _writer(scope)
    h = await _handoff(session, scope, handoff_id)
    if not h.case_id:
        raise DeskError("这个求助还没有个案（先发“个案”）", "this handoff has no case yet (send /case first)", 422)
    case = await session.get(NeedRequest, h.case_id)
    status = STATUS_WORDS.get(status.strip(), status.strip())
    try:
        await approvals.check_status_change(session, case, status, approver=authz.can_approve_case(scope, case))
    except case_store.CaseError as exc:
        raise DeskError(*str(exc).split(" / ", 1), 409) from exc
    try:
        await case_store.set_case_status(session, case, status, staff_id=scope.staff_id, now=now)
    except case_store.CaseError as exc:
        raise DeskError(f"状态只能是：{'、'.join(STATUS_WORDS)}", str(exc), 422) from exc
    await audit.record(session, scope.actor, "handoff.status", f"handoff:{h.id}", {"case": case.number,
                                                                                  "status": status})
    return case


STATUS_WORDS = {"处理中": "in_progress", "办理中": "in_progress", "等材料": "waiting", "等待": "waiting",
                "已解决": "resolved", "解决": "resolved", "结案": "closed", "已安排": "assigned"}


async def flag(session: AsyncSession, scope: StaffScope, handoff_id: int, reason: str, *, now: datetime) -> Person:
    """Mark the villager's household for return-to-poverty watch (storage/flags.py): the
    monthly check-in starts, as when the flag is set from the API."""
    _writer(scope)
    h = await _handoff(session, scope, handoff_id)
    if not reason.strip():
        raise DeskError("请写上关注的原因，例如：关注 因病返贫风险", "give a reason, e.g. /flag illness", 422)
    await flags.add_flag(session, h.person_id, flags.WATCH, reason=reason.strip()[:1000],
                         staff_id=scope.staff_id, now=now)
    await audit.record(session, scope.actor, "person.flag", f"person:{h.person_id}", {"handoff": h.id})
    return await session.get(Person, h.person_id)


# ── duty, saved answers, the supervisor's board ──────────────────────────────────────────


async def set_duty(session: AsyncSession, scope: StaffScope, on: bool, *, now: datetime,
                   rules: routing.DeskRules) -> datetime:
    """`/duty on|off`: until the caller's next shift boundary (returned)."""
    staff = await session.get(Staff, scope.staff_id)
    until = routing.set_duty(staff, on, now, rules.tz)
    await audit.record(session, scope.actor, "staff.duty", f"staff:{staff.id}", {"on": on})
    return until


async def list_saved(session: AsyncSession, scope: StaffScope) -> list[SavedAnswer]:
    return await saved_answers.visible(session, scope.staff_id)


async def save_answer(session: AsyncSession, scope: StaffScope, name: str, text: str, *,
                      shared: bool = False) -> SavedAnswer:
    """Keep a saved answer: the caller's own, or (admins) a shared one."""
    _writer(scope)
    if shared and not scope.is_admin:
        raise DeskError("只有管理员可以编辑共用回复", "only admins keep shared answers", 403)
    try:
        return await saved_answers.save(session, name, text, staff_id=None if shared else scope.staff_id,
                                        actor=scope.actor)
    except saved_answers.SavedAnswerError as exc:
        raise DeskError(*str(exc).split(" / ", 1), status=422) from exc


async def delete_answer(session: AsyncSession, scope: StaffScope, answer_id: int) -> None:
    """Delete one of the caller's own saved answers, or (admins) a shared one."""
    answer = await session.get(SavedAnswer, answer_id)
    if answer is None or not (answer.staff_id == scope.staff_id or (answer.staff_id is None and scope.is_admin)):
        raise DeskError("没有这条常用回复", "no such saved answer", 404)
    await saved_answers.delete(session, answer, actor=scope.actor)


@dataclass(frozen=True)
class WorkerLoad:
    staff_id: int
    name: str
    on_duty: bool
    open: int


async def board(session: AsyncSession, scope: StaffScope, *, now: datetime,
                rules: routing.DeskRules) -> list[WorkerLoad]:
    """The supervisor's view: each worker in the caller's areas, on duty or not, and their load."""
    if scope.role not in ("admin", "supervisor"):
        raise DeskError("只有督导和管理员可以看", "supervisors and admins only", 403)
    loads = await routing.open_loads(session)
    out = []
    for st in await routing.desk_staff(session):
        tscope = await authz.scope_for(session, st)
        if not scope.is_admin and not (tscope.covered & scope.covered):
            continue
        out.append(WorkerLoad(st.id, store.short_name(st.display_name or st.username),
                              routing.is_on_duty(st, now, rules.tz), loads.get(st.id, 0)))
    return out
