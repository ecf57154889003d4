import asyncio
import re

from sqlalchemy import func, select

from storage import cases
from storage.db import Database
from storage.models import CaseEvent, NeedRequest, OutboxMessage
from tests.storage.helpers import NOW, make_areas, make_person


async def test_open_case_numbers_and_timeline(db):
    async with db.session() as s:
        _, _, v1, _ = await make_areas(s)
        p = await make_person(s, village_id=v1.id)
        c1 = await cases.open_case(s, person_id=p.id, category="housing", description="屋顶漏雨",
                                   village_id=v1.id, now=NOW)
        c2 = await cases.open_case(s, person_id=p.id, category="education", urgency="high", now=NOW)
    assert c1.number == "XZ-2026-000001" and c2.number == "XZ-2026-000002"
    assert c2.priority < c1.priority
    async with db.session() as s:
        case = await cases.get_case(s, "XZ-2026-000001")
        await cases.set_case_status(s, case, "in_progress", now=NOW)
        events = await cases.timeline(s, case)
        notices = (await s.execute(select(OutboxMessage))).scalars().all()
    assert [e.kind for e in events] == ["created", "status"]
    assert len(notices) == 1 and "XZ-2026-000001" in notices[0].text and "正在办理" in notices[0].text
    assert notices[0].recipient == "u1"


async def test_case_numbers_unique_under_concurrent_creation(db_url):
    """Ten separate connections open cases at once: every number is different."""
    setup = Database(db_url)
    async with setup.session() as s:
        p = await make_person(s)
        pid = p.id
    await setup.dispose()
    dbs = [Database(db_url) for _ in range(10)]

    async def one(d):
        for _ in range(3):
            async with d.session() as s:
                await cases.open_case(s, person_id=pid, category="medical", now=NOW)

    await asyncio.gather(*(one(d) for d in dbs))
    async with dbs[0].session() as s:
        numbers = (await s.execute(select(NeedRequest.number))).scalars().all()
        events = (await s.execute(select(func.count()).select_from(CaseEvent))).scalar_one()
    for d in dbs:
        await d.dispose()
    assert len(numbers) == 30 and len(set(numbers)) == 30
    assert sorted(numbers)[-1] == "XZ-2026-000030"
    assert all(re.fullmatch(r"XZ-2026-\d{6}", n) for n in numbers)
    assert events == 30


async def test_bad_status_is_refused_in_words(db):
    async with db.session() as s:
        p = await make_person(s)
        case = await cases.open_case(s, person_id=p.id, category="other", now=NOW)
        try:
            await cases.set_case_status(s, case, "done")
        except cases.CaseError as exc:
            assert "unknown status" in str(exc)
        else:
            raise AssertionError("expected CaseError")
