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
        assert await handoffs.offer(s, h, [staff[3].id]) == []  # reaches nobody: offered_to unchanged
        assert await handoffs.offer(s, h, [staff[0].id]) == [staff[0].id]
    async with db.session() as s:
        offered = (await s.execute(select(handoffs.Handoff.offered_to).where(handoffs.Handoff.id == h.id))).scalar_one()
    assert offered == sorted(st.id for st in staff[:3])


async def test_a_new_handoff_row_its_audit_entry_and_later_changes_are_written(db):
    """open_handoff writes the row and its audit entry on the driver and attaches the ORM
    object as loaded: every column as the ORM's defaults would give, the audit entry with the
    new id, and a change made to the object after opening is flushed with the transaction."""
    from sqlalchemy import inspect

    from storage.models import AuditEntry, Handoff

    async with db.session() as s:
        _, _, v1, _ = await make_areas(s)
        p = await make_person(s, village_id=v1.id)
        s.add(Conversation(person_id=p.id))
        await s.flush()
        assert await handoffs.open_handoff_for_turn(s, p.id) is None
        h, created = await handoffs.open_handoff(s, p.id, reason="emergency", priority="emergency",
                                                 summary="- 救命", attachments=[{"kind": "photo", "path": "a.jpg"}],
                                                 now=NOW, set_mode=False)
        assert created and inspect(h).persistent and h.status == "waiting"
        h.offered_to = [7]  # what an offer does after opening
        assert await handoffs.open_handoff_for_turn(s, p.id) is h  # the same object, from the identity map
        opened_id = h.id
    async with db.session() as s:
        row = (await s.execute(select(Handoff.__table__).where(Handoff.id == opened_id))).mappings().one()
        entries = (await s.execute(select(AuditEntry).where(AuditEntry.action == "handoff.open"))).scalars().all()
        mode = (await s.execute(select(Conversation.mode).where(Conversation.person_id == p.id))).scalar_one()
    assert {k: v for k, v in row.items() if k not in ("id", "created_at")} == {
        "person_id": p.id, "status": "waiting", "priority": "emergency", "reason": "emergency", "summary": "- 救命",
        "attachments": [{"kind": "photo", "path": "a.jpg"}], "village_id": v1.id, "case_id": None,
        "claimed_by_staff_id": None, "outcome": "", "claimed_at": None, "closed_at": None, "escalated_at": None,
        "first_reply_at": None, "last_villager_at": None, "last_worker_at": None, "told_villager_at": None,
        "offered_to": [7], "skipped_by": [], "transfers": 0, "satisfaction": None}
    assert row["created_at"].replace(tzinfo=None) == NOW.replace(tzinfo=None)
    assert [(e.actor, e.target, e.data) for e in entries] == [
        (f"person:{p.id}", f"handoff:{opened_id}", {"reason": "emergency", "priority": "emergency"})]
    assert mode == "bot"  # set_mode=False: the caller's turn writes the mode


async def test_opening_sets_the_mode_and_an_open_handoff_is_found_again(db):
    async with db.session() as s:
        p = await make_person(s)
        s.add(Conversation(person_id=p.id))
        h, _ = await handoffs.open_handoff(s, p.id, now=NOW)
    async with db.session() as s:  # a new session: the ORM object is read by its id
        again = await handoffs.open_handoff_for_turn(s, p.id)
        assert again is not None and again.id == h.id and again.priority == "normal"
        assert (await s.execute(select(Conversation.mode))).scalar_one() == "human"
        await handoffs.close_handoff(s, again, outcome="done", now=NOW)
    async with db.session() as s:
        assert await handoffs.open_handoff_for_turn(s, p.id) is None
