import asyncio

from sqlalchemy import select

from storage import handoffs
from storage.db import Database
from storage.models import Conversation, OutboxMessage
from tests.storage.helpers import NOW, make_areas, make_person, make_staff


async def test_open_claim_relay_close(db):
    async with db.session() as s:
        _, town, v1, v2 = await make_areas(s)
        p = await make_person(s, village_id=v1.id)
        s.add(Conversation(person_id=p.id))
        w1 = await make_staff(s, "w1", ["worker"], [v1.id], link_channel="telegram")
        w2 = await make_staff(s, "w2", ["worker"], [v2.id], link_channel="telegram")
        h, created = await handoffs.open_handoff(s, p.id, summary="想问低保", now=NOW)
        again, created2 = await handoffs.open_handoff(s, p.id, priority="urgent", now=NOW)
        paged = await handoffs.page_staff(s, h, "新求助", now=NOW)
    assert created and not created2 and again.id == h.id and again.priority == "urgent"
    assert paged == [w1.id]  # only the worker of the villager's village
    async with db.session() as s:
        assert (await s.execute(select(Conversation.mode))).scalar_one() == "human"
        assert await handoffs.claim_handoff(s, h.id, w1.id, now=NOW)
        assert not await handoffs.claim_handoff(s, h.id, w2.id, now=NOW)
        h = await s.get(handoffs.Handoff, h.id)
        await handoffs.relay_to_villager(s, h, w1.id, "您好，我是社工")
        await handoffs.close_handoff(s, h, outcome="已解答", by_staff_id=w1.id, now=NOW)
    async with db.session() as s:
        assert (await s.execute(select(Conversation.mode))).scalar_one() == "bot"
        texts = [o.text for o in (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()]
    assert texts[0] == "新求助" and "【社工w1】您好，我是社工" in texts and "结束" in texts[-1]
    assert texts[-1].endswith("这次帮到您了吗？1 满意 2 一般 3 不满意")


async def test_exactly_one_claimer_wins(db_url):
    setup = Database(db_url)
    async with setup.session() as s:
        p = await make_person(s)
        staff = [await make_staff(s, f"w{i}", ["worker"]) for i in range(5)]
        h, _ = await handoffs.open_handoff(s, p.id, now=NOW)
    await setup.dispose()
    dbs = [Database(db_url) for _ in staff]

    async def claim(d, sid):
        async with d.session() as s:
            return await handoffs.claim_handoff(s, h.id, sid, now=NOW)

    wins = await asyncio.gather(*(claim(d, st.id) for d, st in zip(dbs, staff)))
    for d in dbs:
        await d.dispose()
    assert wins.count(True) == 1


async def test_emergency_pages_everyone_on_duty_and_off_hours_fall_to_supervisor(db):
    from datetime import timedelta
    async with db.session() as s:
        _, town, v1, v2 = await make_areas(s)
        p = await make_person(s, village_id=v1.id)
        a = await make_staff(s, "a", ["worker"], [v1.id], link_channel="telegram")
        b = await make_staff(s, "b", ["worker"], [v2.id], link_channel="telegram")
        sup = await make_staff(s, "sup", ["supervisor"], [town.id], duty={"days": [6], "start": "00:00", "end": "01:00"},
                               link_channel="wechat")
        h, _ = await handoffs.open_handoff(s, p.id, priority="urgent", reason="emergency", now=NOW)
        assert sorted(await handoffs.page_staff(s, h, "紧急", now=NOW, everyone_on_duty=True)) == sorted([a.id, b.id])
        night = NOW + timedelta(hours=12)  # 22:00 in Asia/Shanghai
        assert await handoffs.page_staff(s, h, "紧急", now=night, everyone_on_duty=True) == [sup.id]


async def test_an_offer_reaches_each_worker_on_the_messenger_best_identity_picks(db):
    """storage.notify.best_staff_identities (one statement for an offer's workers) picks what
    best_identity picks for each: reachable, last used first (never used last), newest id first."""
    from datetime import timedelta

    from storage.models import ChannelIdentity, Person
    from storage.notify import best_identity, best_staff_identities

    async with db.session() as s:
        _, _, v1, _ = await make_areas(s)
        staff = [await make_staff(s, f"w{n}", ["worker"], [v1.id]) for n in range(4)]
        p = Person(display_name="staff phones")
        s.add(p)
        await s.flush()
        links = {  # (channel, minutes ago or None, unreachable) per worker; w3 has none
            0: [("telegram", 30, False), ("wechat", 5, False)],
            1: [("telegram", 1, True), ("wechat", None, False), ("rest", 50, False)],
            2: [("telegram", None, False), ("wechat", None, False)],
        }
        for n, rows in links.items():
            for channel, ago, unreachable in rows:
                s.add(ChannelIdentity(channel=channel, external_id=f"x{n}{channel}", person_id=p.id,
                                      staff_id=staff[n].id, unreachable=unreachable,
                                      last_inbound_at=None if ago is None else NOW - timedelta(minutes=ago)))
        await s.flush()
        found = await best_staff_identities(s, [st.id for st in staff])
        for st in staff:
            expected = await best_identity(s, staff_id=st.id)
            assert (found.get(st.id) and found[st.id].id) == (expected and expected.id)
        assert [found[staff[n].id].channel for n in range(3)] == ["wechat", "rest", "wechat"]
        assert staff[3].id not in found
        h, _ = await handoffs.open_handoff(s, (await make_person(s, village_id=v1.id)).id, now=NOW)
        assert await handoffs.offer(s, h, [st.id for st in staff]) == [st.id for st in staff[:3]]
