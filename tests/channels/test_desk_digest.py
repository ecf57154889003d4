"""The workers' morning digest (bot/desk/digest.py) with a hand-moved clock: the app runs with
its lifespan and Telegram through our getUpdates loop against the fake Bot API
(telegram_fake.py); the digest job and the timers run as the leader runs them
(`schedule_digests`, `claim_and_run_timers`) at the times the test sets. Before the hour:
nothing; at the hour: one message with new handoffs, overdue tasks, tasks due today and
referrals waiting; never twice a day; a worker with nothing waiting gets nothing; inside
quiet hours it waits for their end; -1 turns it off. SQLite and PostgreSQL."""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from wechat_fake import eventually, make_services, running  # noqa: E402
from telegram_fake import FakeBotApi  # noqa: E402

from bot.desk import digest  # noqa: E402
from bot.scheduler import claim_and_run_timers, periodic_jobs  # noqa: E402
from storage import agencies, casework, handoffs, referrals  # noqa: E402
from storage import cases as case_store  # noqa: E402
from storage.models import ChannelIdentity, OutboxMessage, Person, Staff, StaffArea  # noqa: E402
from tests.support import add_areas  # noqa: E402

MORNING = datetime(2026, 3, 2, 0, 5, tzinfo=timezone.utc)  # Monday 08:05 in China


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def seed(services, now: datetime) -> dict:
    """A worker of 东坡村 on Telegram (chat 5001) with an overdue task, a task due today, a
    referral waiting and a new handoff in the village; a worker of 西坡村 (chat 5002) with
    nothing waiting."""
    today = casework.local_day(now)
    async with services.db.session() as s:
        areas = await add_areas(s, ("c", "青山县", "county", None), ("t", "石桥镇", "township", "c"),
                                ("v1", "东坡村", "village", "t"), ("t2", "河口镇", "township", "c"),
                                ("v2", "西坡村", "village", "t2"))
        await agencies.seed_demo_agencies(s)
        ids = {}
        for username, village, chat in (("wangfang", "v1", "5001"), ("zhaoli", "v2", "5002")):
            staff = Staff(username=username, display_name=f"社工 {username}", roles=["worker"])
            s.add(staff)
            await s.flush()
            s.add(StaffArea(staff_id=staff.id, area_id=areas[village].id))
            own = Person(display_name=username)
            s.add(own)
            await s.flush()
            s.add(ChannelIdentity(channel="telegram", external_id=chat, person_id=own.id, staff_id=staff.id,
                                  last_inbound_at=now))
            ids[username] = staff.id
        villager = Person(display_name="李秀英", village_id=areas["v1"].id, consent_given=True)
        s.add(villager)
        await s.flush()
        case = await case_store.open_case(s, person_id=villager.id, category="medical", description="看病报销",
                                          village_id=areas["v1"].id, now=now - timedelta(days=3))
        late = await casework.add_task(s, case, "上门看望", today - timedelta(days=1), by_staff_id=ids["wangfang"])
        due = await casework.add_task(s, case, "电话回访", today, by_staff_id=ids["wangfang"])
        await casework.add_task(s, case, "下周复查", today + timedelta(days=7), by_staff_id=ids["wangfang"])
        minzheng = await agencies.find_agency(s, "minzheng")
        await referrals.refer(s, case, minzheng, "低保", by_staff_id=ids["wangfang"], now=now - timedelta(days=2))
        h, _ = await handoffs.open_handoff(s, villager.id, summary="想问低保", now=now)
        ids.update(case=case.number, late=late.id, due=due.id, handoff=h.id)
    return ids


def sent_to(api: FakeBotApi, chat: str) -> list[str]:
    return [c["text"] for c in api.calls_to("sendMessage") if str(c.get("chat_id")) == chat]


async def digests(services) -> list[OutboxMessage]:
    async with services.db.session() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "digest")
                                     .order_by(OutboxMessage.id))).scalars())


async def run_at(services, clock: Clock, now: datetime) -> int:
    clock.now = now
    scheduled = await digest.schedule_digests(services)
    await claim_and_run_timers(services, claimer="test", now=now)
    return scheduled


async def test_the_morning_digest_reaches_the_worker_once_a_day(db, wx, tg, tmp_path):
    assert "casework_digest" in {j.id for j in periodic_jobs()}  # run by the leader's scheduler
    clock = Clock(MORNING - timedelta(hours=1))
    services = make_services(db, wx, tmp_path, telegram_token=tg.token, telegram_base_url=tg.base_url,
                             data_dir=tmp_path / "data", digest_hour=8, quiet_hours="21:00-07:00")
    services.clock = clock
    async with running(services):
        ids = await seed(services, MORNING - timedelta(hours=1))
        assert await run_at(services, clock, MORNING - timedelta(minutes=10)) == 0  # 07:55: not yet
        assert await digests(services) == []

        assert await run_at(services, clock, MORNING) == 2
        [text] = await eventually(lambda: sent_to(tg, "5001"))
        assert text.startswith("早上好，")
        assert f"新求助 1 个等待认领：#{ids['handoff']}" in text
        assert f"逾期任务 1 项：\n 任务 {ids['late']}：上门看望（个案 {ids['case']}，3月1日）" in text
        assert f"今天要做 1 项：\n 任务 {ids['due']}：电话回访" in text
        assert "下周复查" not in text
        assert f"个案 {ids['case']} → 县民政局（2月28日转出，已 2 天）" in text
        assert [m.staff_id for m in await digests(services)] == [ids["wangfang"]]  # 西坡村's worker: nothing

        await run_at(services, clock, MORNING + timedelta(hours=2))  # again that day: nothing new
        assert len(await digests(services)) == 1

        async with services.db.session() as s:  # the next morning, the overdue task done
            case = await case_store.get_case(s, ids["case"])
            await casework.set_task_done(s, case, ids["late"], True, by_staff_id=ids["wangfang"], now=MORNING)
        await run_at(services, clock, MORNING + timedelta(days=1))
        later = await eventually(lambda: sent_to(tg, "5001")[1:])
        assert "上门看望" not in later[0] and f"逾期任务 1 项：\n 任务 {ids['due']}：电话回访" in later[0]


async def test_a_digest_hour_inside_quiet_hours_waits_for_their_end_and_minus_one_is_off(db, wx, tg, tmp_path):
    clock = Clock(MORNING)
    services = make_services(db, wx, tmp_path, telegram_token=tg.token, telegram_base_url=tg.base_url,
                             data_dir=tmp_path / "data", digest_hour=6, quiet_hours="21:00-07:00")
    services.clock = clock
    async with running(services):
        await seed(services, MORNING - timedelta(hours=3))
        six = MORNING - timedelta(hours=2, minutes=5)  # 06:00 local
        assert await run_at(services, clock, six) == 2
        assert await digests(services) == []  # quiet until 07:00
        await run_at(services, clock, six + timedelta(hours=1))
        await eventually(lambda: sent_to(tg, "5001"))
        assert len(await digests(services)) == 1

    services.settings.digest_hour = -1
    clock.now = MORNING + timedelta(days=1)
    assert await digest.schedule_digests(services) == 0
