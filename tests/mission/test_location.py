"""A location shared while the bot asks for the village answers the question with the
nearest village (demo village centres in storage/demo_data/areas.yaml)."""
from __future__ import annotations

from sqlalchemy import select

from vocab.messages import Attachment, Inbound
from storage.models import Area, ChannelIdentity, Conversation


async def test_shared_location_answers_which_village(runner):
    replies = []
    for text in ("你好", "1", "1", "我家房子漏雨了", "是", "1", "屋顶漏了两个月，下雨屋里全是水", "2"):
        replies = await runner.send("geo", text)
    assert "哪个村" in replies[-1].text
    near_dongpo = Attachment(kind="location", platform_id="geo:30.5130,103.6330", text="")
    out = await runner.services.dispatcher.handle(Inbound(
        channel="rest", sender="geo", text="", message_id="geo-location-1", attachments=(near_dongpo,)))
    assert "手机号" in out[-1].text  # the village question is answered; the next one is asked
    async with runner.services.db.session() as s:
        dongpo = (await s.execute(select(Area).where(Area.name == "东坡村"))).scalar_one()
        pid = (await s.execute(select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == "geo"))).scalar_one()
        slots = (await s.execute(select(Conversation.slots).where(Conversation.person_id == pid))).scalar_one()
    assert slots.get("village") in (dongpo.name, str(dongpo.id))


async def test_a_location_far_from_every_village_suggests_nothing(runner):
    for text in ("你好", "1", "1", "我家房子漏雨了", "是", "1", "屋顶漏了", "2"):
        await runner.send("far", text)
    beijing = Attachment(kind="location", platform_id="geo:39.9042,116.4074")
    out = await runner.services.dispatcher.handle(Inbound(
        channel="rest", sender="far", text="", message_id="far-location-1", attachments=(beijing,)))
    assert "村" in out[-1].text and "手机号" not in out[-1].text  # still asking for the village
