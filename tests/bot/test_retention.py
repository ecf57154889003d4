"""The daily retention job (bot/batches.py `retention`, storage/retention.py): messages older
than XIANGZHU_RETENTION_DAYS are anonymized or deleted; newer ones and cases are kept."""
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot.batches import retention
from bot.config import load_settings
from storage import cases
from storage.models import Message, NeedRequest, OutboxMessage, Person
from tests.storage.helpers import NOW


async def _world(db):
    async with db.session() as s:
        p = Person(consent_given=True)
        s.add(p)
        await s.flush()
        old = NOW - timedelta(days=400)
        old_in = Message(person_id=p.id, channel="rest", direction="in", text="我家房子漏雨",
                         attachments=[{"kind": "photo", "path": "p/1.jpg"}], created_at=old)
        s.add_all([old_in, Message(person_id=p.id, channel="rest", direction="in", text="昨天说的", created_at=NOW)])
        await s.flush()
        s.add(OutboxMessage(channel="rest", recipient="x", person_id=p.id, inbound_message_id=old_in.id, text="收到",
                            status="sent", created_at=old))
        case = await cases.open_case(s, person_id=p.id, category="housing", description="屋顶漏雨",
                                     now=old)
        await cases.set_case_status(s, case, "closed", now=old, notify=False)


@pytest.mark.parametrize("mode", ["anonymize", "delete"])
async def test_old_messages_go_and_cases_stay(db, mode):
    await _world(db)
    services = SimpleNamespace(db=db, settings=load_settings(retention_days=365, retention_mode=mode),
                               clock=lambda: NOW)
    await retention(services)
    async with db.session() as s:
        msgs = (await s.execute(select(Message).order_by(Message.id))).scalars().all()
        outbox = (await s.execute(select(OutboxMessage))).scalars().all()
        (case,) = (await s.execute(select(NeedRequest))).scalars().all()
    if mode == "anonymize":
        assert [(m.text, m.attachments) for m in msgs] == [("", []), ("昨天说的", [])]
        assert [o.text for o in outbox] == [""]
    else:
        assert [m.text for m in msgs] == ["昨天说的"] and outbox == []
    assert (case.description, case.category, case.status) == ("屋顶漏雨", "housing", "closed")


async def test_zero_keeps_everything(db):
    await _world(db)
    await retention(SimpleNamespace(db=db, settings=load_settings(retention_days=0), clock=lambda: NOW))
    async with db.session() as s:
        assert "我家房子漏雨" in (await s.execute(select(Message.text))).scalars().all()


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        load_settings(retention_mode="shred")
    with pytest.raises(ValueError):
        load_settings(quiet_hours="late")
