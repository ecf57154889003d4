"""storage.erasure.erase_person on SQLite and PostgreSQL: personal text, phone numbers and
media files go; category, village, dates and status stay; a freed seat goes to the waitlist."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from storage import activities, cases, flags, handoffs
from storage.erasure import erase_person
from storage.models import (Activity, Area, AuditEntry, CaseEvent, ChannelIdentity, Enrollment, Handoff,
                            HandoffNote, Message, NeedRequest, Person, Staff)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


async def test_erase_person_removes_personal_data_and_keeps_statistics(db, tmp_path):
    media = tmp_path / "media"
    (media / "photo").mkdir(parents=True)
    (media / "photo" / "roof.jpg").write_bytes(b"jpg")
    (media / "voice").mkdir()
    (media / "voice" / "v1.amr").write_bytes(b"amr")
    outside = tmp_path / "keep.txt"
    outside.write_text("not in the media store")
    async with db.session() as s:
        village = Area(code="v", name="西坡村", level="village")
        s.add(village)
        await s.flush()
        person = Person(display_name="王小二", phone="13812345678", village_id=village.id, consent_given=True,
                        consent_at=NOW, household=[{"relation": "child", "name": "小花"}])
        other = Person(display_name="李四", consent_given=True)
        s.add_all([person, other])
        await s.flush()
        s.add(ChannelIdentity(channel="rest", external_id="wxz", person_id=person.id))
        case = await cases.open_case(s, person_id=person.id, category="housing", description="身份证 110101199001011234",
                                     phone="13812345678", village_id=village.id, urgency="high", now=NOW,
                                     attachments=[{"kind": "photo", "path": "photo/roof.jpg"},
                                                  {"kind": "photo", "path": "../keep.txt"}])
        await cases.set_case_status(s, case, "in_progress", note="王小二家屋顶", now=NOW, notify=False)
        s.add(Message(person_id=person.id, channel="rest", direction="in", text="我叫王小二",
                      attachments=[{"kind": "voice", "path": "voice/v1.amr"}]))
        s.add(Message(person_id=other.id, channel="rest", direction="in", text="别人的话"))
        h, _ = await handoffs.open_handoff(s, person.id, summary="王小二 13812345678", now=NOW)
        s.add(Staff(username="w"))
        await s.flush()
        await handoffs.add_note(s, h, (await s.execute(select(Staff.id))).scalar_one(), "王小二家老人卧床", now=NOW)
        await flags.add_flag(s, person.id, flags.WATCH, reason="因病返贫风险", now=NOW)
        act = Activity(kind="training", title="巧娘班", starts_at=NOW + timedelta(days=3), capacity=1)
        s.add(act)
        await s.flush()
        mine = (await activities.enroll(s, act.id, person.id, participant_name="小花", now=NOW)).enrollment
        theirs = (await activities.enroll(s, act.id, other.id, now=NOW)).enrollment
        assert theirs.status == "waitlisted"
        ids = (person.id, case.id, mine.id, theirs.id)

    async with db.session() as s:
        report = await erase_person(s, ids[0], NOW, media_dir=media)
    assert sorted(report.files_removed) == ["photo/roof.jpg", "voice/v1.amr"]
    assert not (media / "photo" / "roof.jpg").exists() and outside.exists()

    async with db.session() as s:
        person = await s.get(Person, ids[0])
        assert (person.display_name, person.phone, person.household) == ("", "", [])
        assert (await s.execute(select(HandoffNote.text))).scalar_one() == ""
        assert [(f.reason, f.cleared_at is not None) for f in await flags.flags_of(s, person.id, active_only=False)] == [("", True)]
        assert person.erased and person.erased_at == NOW and not person.consent_given and person.opted_out
        assert person.village_id is not None
        case = await s.get(NeedRequest, ids[1])
        assert (case.description, case.phone, case.attachments) == ("", "", [])
        assert (case.category, case.status, case.urgency, case.village_id) == ("housing", "in_progress", "high",
                                                                               person.village_id)
        events = list((await s.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars())
        assert events and all(e.text == "" for e in events)
        texts = list((await s.execute(select(Message.text).where(Message.person_id == ids[0]))).scalars())
        assert texts and all(t == "" for t in texts)
        assert "别人的话" in (await s.execute(select(Message.text))).scalars().all()
        [handoff] = (await s.execute(select(Handoff).where(Handoff.person_id == ids[0]))).scalars().all()
        assert handoff.summary == ""
        mine, theirs = await s.get(Enrollment, ids[2]), await s.get(Enrollment, ids[3])
        assert (mine.status, mine.participant_name) == ("cancelled", "")
        assert theirs.status == "offered"  # the freed seat is offered to the waitlist
        audit = (await s.execute(select(AuditEntry).where(AuditEntry.action == "person.erase"))).scalar_one()
        assert audit.data["cases"] == 1 and "王小二" not in str(audit.data)
