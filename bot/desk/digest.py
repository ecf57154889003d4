"""The morning digest: each worker's messenger gets, once a day at `XIANGZHU_DIGEST_HOUR`
(local, `XIANGZHU_TIMEZONE`; -1 turns it off), what waits for them — new handoffs in their
areas, their overdue tasks, their tasks due today (follow-up calls, home visits) and
referrals still waiting for the agency.

On the leader only (bot/scheduler.py): the periodic `casework_digest` job, every 10 minutes,
writes one `casework_digest` timer per worker and local day (a dedupe key, so a restart or a
second run sends nothing twice) once the hour has come, up to six hours late; the timer's
handler keeps quiet hours (a digest due inside them waits for their end) and sends nothing
when there is nothing to say. Time comes from `services.clock()`, so tests move it by hand.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from bot import authz
from bot.reminders import defer_if_quiet, run_time
from bot.scheduler import register_periodic, services_clock
from storage import agencies as agency_store
from storage import casework, timers
from storage import handoffs as handoff_store
from storage.models import Agency, NeedRequest, Referral, Staff
from storage.notify import best_identity, notify_staff
from storage.timers import timer_handler
from vocab.masking import mask

KIND = "casework_digest"
CATCH_UP = timedelta(hours=6)  # a leader down at the hour still sends this long after it
ROLES = {"worker", "supervisor"}
SHOWN = 5


def _day(d: date) -> str:
    return f"{d.month}月{d.day}日"


async def digest_text(session, staff: Staff, *, now: datetime) -> str:
    """The digest for one worker, or "" when nothing waits for them."""
    scope = await authz.scope_for(session, staff)
    today = casework.local_day(now)
    waiting = (await handoff_store.list_handoffs(session, status="waiting", limit=50,
                                                 visible=authz.handoff_filter(scope)))
    tasks = await casework.open_tasks_for(session, staff.id, today=today, visible=authz.case_filter(scope))
    overdue = [r for r in tasks if r.overdue]
    due_today = [r for r in tasks if r.task.due_on == today]
    referrals = (await session.execute(
        select(Referral, NeedRequest.number, Agency).join(NeedRequest, NeedRequest.id == Referral.case_id)
        .join(Agency, Agency.id == Referral.agency_id)
        .where(Referral.status.in_(("sent", "accepted")), authz.case_filter(scope),
               (Referral.staff_id == staff.id) | (NeedRequest.assigned_staff_id == staff.id))
        .order_by(Referral.sent_at))).all()
    if not (waiting or overdue or due_today or referrals):
        return ""
    name = handoff_store.short_name(staff.display_name or staff.username)
    lines = [f"早上好，{name}。今天的提醒："]
    if waiting:
        ids = "、".join(f"#{h.id}" for h in waiting[:SHOWN])
        lines.append(f"新求助 {len(waiting)} 个等待认领：{ids}（回复“接 N”）")
    for title, rows in (("逾期任务", overdue), ("今天要做", due_today)):
        if rows:
            lines.append(f"{title} {len(rows)} 项：")
            lines += [f" 任务 {r.task.id}：{r.task.title[:40]}（个案 {r.case_number}，{_day(r.task.due_on)}）"
                      for r in rows[:SHOWN]]
    if referrals:
        lines.append(f"等机构回复的转介 {len(referrals)} 个：")
        for referral, number, agency in referrals[:SHOWN]:
            days = (today - casework.local_day(referral.sent_at)).days
            lines.append(f" 个案 {number} → {agency_store.agency_name(agency, 'zh')}"
                         f"（{_day(casework.local_day(referral.sent_at))}转出，已 {days} 天）")
    lines.append("回复“任务 N 完成”标记任务，“个案 N”看详情。")
    return mask("\n".join(lines))


def digest_moment(now: datetime, hour: int, tz: str) -> datetime | None:
    """Today's digest time (UTC) when `now` is at or after it and within the catch-up window."""
    if not 0 <= hour <= 23:
        return None
    local = now.astimezone(ZoneInfo(tz))
    moment = datetime.combine(local.date(), time(hour), tzinfo=ZoneInfo(tz))
    return moment if moment <= now < moment + CATCH_UP else None


async def schedule_digests(services) -> int:
    """The `casework_digest` job: today's timer for each worker with a linked messenger, once
    the hour has come. Returns how many were written (or already there)."""
    settings = services.settings
    now = services_clock(services)()
    moment = digest_moment(now, int(getattr(settings, "digest_hour", 8)), settings.timezone)
    if moment is None:
        return 0
    day = moment.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
    count = 0
    async with services.db.session() as s:
        for staff in (await s.execute(select(Staff).where(Staff.active.is_(True)).order_by(Staff.id))).scalars():
            if not ROLES & set(staff.roles or []) or await best_identity(s, staff_id=staff.id) is None:
                continue
            await timers.schedule(s, KIND, now, target=f"staff:{staff.id}", dedupe_key=f"{KIND}:{staff.id}:{day}")
            count += 1
    return count


@timer_handler(KIND)
async def send_digest(services, session, timer) -> None:
    kind, _, raw = (timer.target or "").partition(":")
    staff = await session.get(Staff, int(raw)) if kind == "staff" and raw.isdigit() else None
    if staff is None or not staff.active:
        return
    now = run_time(services, timer)
    if await defer_if_quiet(services, session, timer, now):
        return
    text = await digest_text(session, staff, now=now)
    if text:
        await notify_staff(session, staff.id, text, kind="digest", now=now)


register_periodic(KIND, IntervalTrigger(minutes=10), schedule_digests,
                  "社工每日提醒 / the workers' morning digest (XIANGZHU_DIGEST_HOUR)")
