"""The daily purge of message texts of people who never consented (DESIGN.md "Consent")."""
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from bot.batches import purge_unconsented_messages
from bot.config import load_settings
from storage.models import Message, Person
from tests.storage.helpers import NOW


async def test_old_texts_of_unconsented_people_are_blanked_and_the_rest_kept(db):
    async with db.session() as s:
        stranger, member = Person(consent_given=False), Person(consent_given=True)
        s.add_all([stranger, member])
        await s.flush()
        old = NOW - timedelta(days=31)
        s.add_all([
            Message(person_id=stranger.id, channel="rest", direction="in", text="低保怎么办", created_at=old),
            Message(person_id=stranger.id, channel="rest", direction="in", text="昨天说的", created_at=NOW),
            Message(person_id=member.id, channel="rest", direction="in", text="我家房子漏雨", created_at=old),
        ])
    services = SimpleNamespace(db=db, settings=load_settings(message_retention_days=30), clock=lambda: NOW)
    await purge_unconsented_messages(services)
    async with db.session() as s:
        texts = (await s.execute(select(Message.text).order_by(Message.id))).scalars().all()
    assert texts == ["", "昨天说的", "我家房子漏雨"]
