"""storage/turns.py and the turn's person (storage.people.TurnPerson), on both databases."""
from datetime import timedelta

from sqlalchemy import select

from storage import flow_store, people, policies, turns
from storage.models import ChannelIdentity, Conversation, KeyValue, Message, OutboxMessage, Person
from tests.storage.helpers import NOW, make_person


def _inbound(message_id="m1", text="你好", now=NOW):
    return dict(message_id=message_id, text=text, attachments=[], intent="greet", now=now)


async def _begin(s, ext="u1", message_id="m1", now=NOW, choices=False):
    return await turns.begin_turn(s, channel="rest", external_id=ext, display_name="阿花", locale=None,
                                  choices=choices, **_inbound(message_id, now=now))


async def test_first_contact_then_a_known_sender(db):
    async with db.session() as s:
        first = await _begin(s)
        assert first.message_id is not None and first.person.display_name == "阿花"
        pid = first.person.id
    async with db.session() as s:
        again = await _begin(s, message_id="m2", now=NOW + timedelta(seconds=5))
        assert again.person.id == pid and again.conversation.mode == "bot"
        assert again.message_id is not None
    async with db.session() as s:
        assert len((await s.execute(select(Message))).scalars().all()) == 2


async def test_a_repeated_delivery_is_recognised(db):
    async with db.session() as s:
        await _begin(s)
    async with db.session() as s:
        assert (await _begin(s)).message_id is None


async def test_versions_come_with_the_senders_row(db):
    async with db.session() as s:
        await _begin(s)
        s.add(KeyValue(key=policies.KB_VERSION_KEY, value={"version": 7}))
    async with db.session() as s:
        await _begin(s, message_id="m2")
        assert await policies.kb_version(s) == "7"
        assert await flow_store.current_ids(s) == {}  # nothing published in this database


async def test_last_seen_is_written_when_stale_and_unreachable_cleared(db):
    async with db.session() as s:
        p = await make_person(s, ext="u1")
        s.add(Conversation(person_id=p.id))
        identity = (await s.execute(select(ChannelIdentity))).scalar_one()
        identity.unreachable = True
    later = NOW + timedelta(minutes=5)
    async with db.session() as s:
        await _begin(s, now=later)
    async with db.session() as s:
        identity = (await s.execute(select(ChannelIdentity))).scalar_one()
        person = await s.get(Person, p.id)
    assert identity.unreachable is False and identity.last_inbound_at == later and person.last_seen_at == later


async def test_last_seen_decisions_are_the_same_on_both_databases(db):
    """What a known sender's turn writes to the identity and the person, case by case (on
    PostgreSQL the turn's read writes it, in SQL; on SQLite separate UPDATEs) — the values
    `people._seen` decides from the row as it was."""
    from sqlalchemy import event

    later = NOW + timedelta(minutes=5)
    res = people.LAST_SEEN_RESOLUTION
    cases = {  # ext: (last_inbound_at, unreachable, last_seen_at, display_name, erased)
        "fresh": (later - timedelta(seconds=10), False, later - timedelta(seconds=10), "x", False),
        "stale": (later - res - timedelta(seconds=1), False, later - res, "x", False),
        "boundary": (later - res + timedelta(microseconds=1), False, later - res + timedelta(microseconds=1), "x", False),
        "future": (later + timedelta(seconds=1), False, later + timedelta(hours=1), "x", False),
        "never": (None, False, None, "x", False),
        "unreachable": (later - timedelta(seconds=10), True, later - timedelta(seconds=10), "x", False),
        "nameless": (later - timedelta(seconds=10), False, later - timedelta(seconds=10), "", False),
        "erased": (later - timedelta(seconds=10), False, later - timedelta(seconds=10), "", True),
    }
    async with db.session() as s:
        for ext, (inbound_at, unreachable, seen_at, name, erased) in cases.items():
            p = Person(display_name=name, erased=erased, last_seen_at=seen_at)
            s.add(p)
            await s.flush()
            s.add(ChannelIdentity(channel="rest", external_id=ext, person_id=p.id, last_inbound_at=inbound_at,
                                  unreachable=unreachable))
            s.add(Conversation(person_id=p.id))
    expected = {}
    for ext, (inbound_at, unreachable, seen_at, name, erased) in cases.items():
        seen, touched = people._seen({"last_inbound_at": inbound_at, "unreachable": unreachable},
                                     {"last_seen_at": seen_at, "display_name": name, "erased": erased}, "阿花", later)
        expected[ext] = (seen.get("last_inbound_at", inbound_at), seen.get("unreachable", unreachable),
                         touched.get("last_seen_at", seen_at), touched.get("display_name", name))
    assert expected["stale"][0] == later and expected["boundary"][0] != later  # the cases cover both ways
    statements = []
    listen = (db.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    event.listen(*listen)
    try:
        for ext in cases:
            async with db.session() as s:
                begun = await _begin(s, ext=ext, message_id=f"m-{ext}", now=later)
                assert begun.person.last_seen_at == expected[ext][2] and begun.person.display_name == expected[ext][3]
    finally:
        event.remove(*listen)
    if db.engine.dialect.name == "postgresql":  # one statement a turn, stale or not
        assert len(statements) == len(cases)
    async with db.session() as s:
        found = {i.external_id: (i.last_inbound_at, i.unreachable, p.last_seen_at, p.display_name)
                 for i, p in (await s.execute(select(ChannelIdentity, Person).join(Person))).all()}
    assert found == expected


async def test_the_open_handoff_comes_with_the_row_in_human_mode(db):
    from storage.handoffs import OpenHandoff
    from storage.models import Handoff, Staff

    async with db.session() as s:
        staff = Staff(username="w", display_name="w", roles=["worker"])
        s.add(staff)
        p = await make_person(s, ext="u1")
        s.add(Conversation(person_id=p.id, mode="human"))
        await s.flush()
        s.add_all([Handoff(person_id=p.id, status="closed"), Handoff(person_id=p.id, status="waiting")])
        await s.flush()
        claimed = Handoff(person_id=p.id, status="claimed", claimed_by_staff_id=staff.id)
        s.add(claimed)
        s.add(Handoff(person_id=p.id, status="closed"))  # newer, but not open
        other = await make_person(s, ext="u2")
        s.add(Conversation(person_id=other.id))  # bot mode: not read
        s.add(Handoff(person_id=other.id, status="waiting"))
    async with db.session() as s:
        read = (await _begin(s, ext="u1", message_id="h1")).conversation.open_handoff
        assert read == OpenHandoff(claimed.id, "claimed", staff.id)
        assert (await _begin(s, ext="u2", message_id="h2")).conversation.open_handoff is None
        first = (await _begin(s, ext="new", message_id="h3")).conversation.open_handoff
        assert first is None or first is people.NOT_READ  # a first contact is in bot mode
        conversation = (await s.execute(select(Conversation).where(Conversation.person_id == p.id))).scalar_one()
        conversation.mode = "bot"
    async with db.session() as s:
        assert (await _begin(s, ext="u1", message_id="h4")).conversation.open_handoff is None


async def test_finish_turn_writes_replies_outbox_and_conversation(db):
    async with db.session() as s:
        begun = await _begin(s)
        begun.conversation.step, begun.conversation.state = "ask", {"waiting": True}
        await turns.finish_turn(
            s, channel="rest", person_id=begun.person.id, now=NOW, conversation=begun.conversation,
            replies=[("一", []), ("二", [])],
            queued=[dict(channel="rest", recipient="u1", text=t, buttons=[{"title": "好", "payload": "/ok"}],
                         person_id=begun.person.id, inbound_message_id=begun.message_id, status="sent",
                         delivery="response") for t in ("一", "二")],
        )
    async with db.session() as s:
        out = [m.text for m in (await s.execute(select(Message).where(Message.direction == "out")
                                                 .order_by(Message.id))).scalars()]
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        conv = (await s.execute(select(Conversation))).scalar_one()
    assert out == ["一", "二"] and [r.text for r in rows] == ["一", "二"]
    assert rows[0].status == "sent" and rows[0].sent_at == NOW and rows[0].buttons == [{"title": "好", "payload": "/ok"}]
    assert conv.step == "ask" and conv.state == {"waiting": True}
    async with db.session() as s:
        assert (await _begin(s, message_id="m2", choices=True)).last_buttons == [{"title": "好", "payload": "/ok"}]


async def test_turn_person_reads_columns_and_attaches_on_write(db):
    async with db.session() as s:
        await _begin(s)
    async with db.session() as s:
        person = (await _begin(s, message_id="m2")).person
        assert person.locale == "zh" and s.identity_map.get(
            Person.__mapper__.identity_key_from_primary_key((person.id,))) is None  # read without an ORM object
        person.village_id = None
        person.phone = "13800000000"  # attaches the ORM object; flushed with the turn
        same = await s.get(Person, person.id)
        assert same is person.orm() and same.phone == "13800000000"
    async with db.session() as s:
        assert (await s.get(Person, person.id)).phone == "13800000000"


async def test_turn_person_follows_an_orm_copy_a_service_changed(db):
    async with db.session() as s:
        await _begin(s)
    async with db.session() as s:
        person = (await _begin(s, message_id="m2")).person
        loaded = await s.get(Person, person.id)  # e.g. erasure loads and blanks the person
        loaded.display_name, loaded.erased = "", True
        assert person.display_name == "" and person.erased is True
        await people.give_consent(s, person.id, NOW)


async def test_concurrent_first_contacts_make_one_person(db):
    import asyncio

    async def first(message_id):
        async with db.session() as s:
            return (await _begin(s, ext="new", message_id=message_id)).person.id

    ids = await asyncio.gather(*(first(f"m{i}") for i in range(4)))
    async with db.session() as s:
        people_rows = (await s.execute(select(Person))).scalars().all()
        identities = (await s.execute(select(ChannelIdentity))).scalars().all()
        conversations = (await s.execute(select(Conversation))).scalars().all()
        stored = (await s.execute(select(Message.channel_message_id, Message.person_id))).all()
    assert len(set(ids)) == 1 and len(people_rows) == 1 and len(identities) == 1 and len(conversations) == 1
    assert sorted(stored) == [(f"m{i}", ids[0]) for i in range(4)]  # the losers' messages too, on the winner


async def test_an_identity_without_a_conversation_gets_one(db):
    async with db.session() as s:
        await make_person(s, ext="staffish")  # identity and person, no conversation row
    async with db.session() as s:
        begun = await _begin(s, ext="staffish")
        assert begun.conversation.mode == "bot" and begun.message_id is not None
    async with db.session() as s:
        assert len((await s.execute(select(Person))).scalars().all()) == 1


async def test_first_contact_builds_what_reading_the_new_rows_gives(db):
    """create_for_turn returns the new sender's rows as inserted, not read again: the same
    values, types and time zone as load_for_turn reads right after (a local `now` too)."""
    from datetime import timezone

    from storage import driver
    local = NOW.astimezone(timezone(timedelta(hours=8)))
    async with db.session() as s:
        s.add(KeyValue(key=policies.KB_VERSION_KEY, value={"version": 7}))
    async with db.session() as s:
        made = await driver.run(s, people.create_for_turn, "rest", "new", "阿花" * 60, "en", local, turns._VERSIONS)
        read = await driver.run(s, people.load_for_turn, "rest", "new", "阿花" * 60, local, True, turns._VERSIONS)
    assert made is not None and read is not None

    def fields(conversation):
        return [repr(getattr(conversation, n)) for n in ("id", "person_id", "updated_at", *people.TurnConversation.FIELDS)]

    assert repr(made[0]) == repr(read[0]) and made[0]["locale"] == "en" and len(made[0]["display_name"]) == 100
    assert fields(made[1]) == fields(read[1]) and made[1].changes() == {}
    assert made[2] == read[2] and made[2][1] == "7"
    assert made[3] is None and read[3] is None


async def test_first_contact_in_one_go_builds_what_reading_gives(db):
    """people.first_contact (on PostgreSQL one statement that also stores the inbound
    message): the same person, conversation and versions as read_turn reads right after, the
    message stored for the new person; a second first_contact for the sender (a lost race)
    deletes its person again and returns None."""
    from storage import driver, messages
    async with db.session() as s:
        s.add(KeyValue(key=policies.KB_VERSION_KEY, value={"version": 7}))
    inbound = messages.inbound_row(channel="rest", channel_message_id="m1", text="你好", attachments=[],
                                   intent="greet", now=NOW)
    async with db.session() as s:
        made = await driver.run(s, people.first_contact, "rest", "new", "阿花", None, NOW, turns._VERSIONS, inbound)
        read = await driver.run(s, people.read_turn, "rest", "new", "阿花", NOW, True, turns._VERSIONS)
        assert made is not None and read is not None
        assert repr(made[0]) == repr(read[0]) and made[0]["locale"] == "zh"
        assert [repr(getattr(made[1], n)) for n in ("id", "person_id", "updated_at", *people.TurnConversation.FIELDS)] \
            == [repr(getattr(read[1], n)) for n in ("id", "person_id", "updated_at", *people.TurnConversation.FIELDS)]
        assert made[2] == read[2] and made[2][1] == "7" and made[3] is None
        if db.engine.dialect.name == "postgresql":
            assert isinstance(made[4], int)
        else:
            assert made[4] is people.NOT_STORED
        lost = await driver.run(s, people.first_contact, "rest", "new", "别人", None, NOW, turns._VERSIONS,
                                {**inbound, "channel_message_id": "m2"})
        assert lost is None
    async with db.session() as s:
        assert [p.display_name for p in (await s.execute(select(Person))).scalars()] == ["阿花"]
        stored = (await s.execute(select(Message.channel_message_id, Message.person_id, Message.intent))).all()
    expected = [("m1", made[0]["id"], "greet")] if db.engine.dialect.name == "postgresql" else []
    assert stored == expected
