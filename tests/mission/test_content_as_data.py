"""What admins edit reaches the conversation: hotlines (kv `hotlines`), eligibility
questions and rules in the policy record, and area overrides of a policy."""
from __future__ import annotations

from sqlalchemy import select

from storage import policies, policy_checks, policy_overrides
from storage.models import Area, ChannelIdentity, NeedRequest, Person


async def _consent(runner, sender):
    for text in ("你好", "1", "1"):
        await runner.send(sender, text)


async def test_edited_hotlines_are_shown(runner):
    async with runner.services.db.session() as s:
        lines = await policies.get_hotlines(s)
        lines.append({"number": "96110", "label": {"zh": "反诈热线", "en": "Anti-fraud line"},
                      "when": {"zh": "被骗", "en": "fraud"}, "situations": ["violence"]})
        await policies.set_hotlines(s, lines)
    out = await runner.send("h", "他拿刀要砍我")
    assert "96110" in out[0].text and "110" in out[0].text


async def test_an_admin_edited_rule_changes_the_verdict(runner):
    async with runner.services.db.session() as s:
        pv = await policies.get_policy(s, "tekun")
        fields = {k: getattr(pv, k) for k in policy_checks.POLICY_FIELDS}
        elig = dict(fields["eligibility"])
        elig["questions"] = [{"id": "age", "type": "number", "min": 0, "max": 120,
                              "text": {"zh": "这个人多大年纪？", "en": "How old?"}}]
        elig["rules"] = [{"when": "age >= 70", "result": "likely",
                          "reason": {"zh": "七十岁以上可以试试。", "en": "Over 70: worth a try."}}]
        elig["default"] = "unlikely"
        fields["eligibility"] = elig
        await policies.publish_policy(s, "tekun", fields, by="test")
    await _consent(runner, "e")
    out = await runner.send("e", "", "/eligibility tekun")
    assert "多大年纪" in out[-1].text
    out = await runner.send("e", "七十五")
    assert "七十岁以上可以试试" in out[0].text and "可能符合" in out[0].text
    out = await runner.send("e", "是")
    assert "XZ-2026-" in out[-1].text
    async with runner.services.db.session() as s:
        case = (await s.execute(select(NeedRequest))).scalars().one()
        assert case.category == "livelihood" and "75" in case.description


async def test_local_standard_from_an_area_override_decides_dibao(runner):
    async with runner.services.db.session() as s:
        xipo = (await s.execute(select(Area).where(Area.name == "西坡村"))).scalar_one()
        await policy_overrides.set_override(s, "dibao", xipo.id, {"eligibility": {"params": {"local_standard": 600}}})
        xipo_id = xipo.id
    await _consent(runner, "d")
    async with runner.services.db.session() as s:
        pid = (await s.execute(select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == "d"))).scalar_one()
        (await s.get(Person, pid)).village_id = xipo_id
    await runner.send("d", "", "/eligibility dibao")
    await runner.send("d", "是")
    await runner.send("d", "300")
    out = await runner.send("d", "否")  # no car or flat: the rules decide, the last question is not asked
    assert "可能符合" in out[0].text and "600" in out[0].text and "怎么申请" in out[0].text
    assert "要不要把这些情况交给社工" in out[-1].text
