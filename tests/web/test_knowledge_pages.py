"""The policy knowledge base on the staff web through the real ASGI app, on SQLite and
PostgreSQL: an admin publishes a policy from the form (the eligibility YAML is checked, each
problem at its line), publishes a new version, sets a village's local facts — a villager there
reads them, one elsewhere does not —; the "ask the bot" box ranks it first; roles and CSRF."""
from __future__ import annotations

import re

from sqlalchemy import select

from storage import policies, policy_overrides
from storage.areas import get_by_code
from storage.models import AuditEntry, PolicyVersion
from tests.web.test_inbox_pages import post_form, signed_in

BAD_ELIGIBILITY = """questions:
- id: age
  type: number
  text: {zh: 您多大年纪？, en: How old are you?}
rules:
- when: "agee >= 60"
  result: likely
  reason: {zh: 年满60岁, en: aged 60 or more}
"""
GOOD_ELIGIBILITY = BAD_ELIGIBILITY.replace("agee", "age")


def _form(**extra) -> dict:
    return {"policy_id": "yanglao_butie", "title_zh": "高龄津贴", "title_en": "Old-age allowance",
            "summary_zh": "80岁以上老人每月领高龄津贴", "what_you_get_zh": "每月50元", "how_to_apply_zh": "到村委会登记",
            "sources": "https://example.gov.cn/gaoling", "keywords": "高龄津贴, 高龄补贴，老人补贴",
            "effective_date": "2026-01-01", **extra}


async def test_publish_validate_version_override_and_ask(world):
    async with signed_in(world, "admin") as c:
        r = await post_form(c, "/knowledge/new", "/knowledge", **_form(eligibility=BAD_ELIGIBILITY))
        assert r.status_code == 422
        assert "第 6 行</span>: rule 1: the condition &#39;agee &gt;= 60&#39; uses agee" in r.text
        r = await post_form(c, "/knowledge/new", "/knowledge", **_form(eligibility="questions: [a"))
        assert r.status_code == 422 and "this is not valid YAML" in r.text
        r = await post_form(c, "/knowledge/new", "/knowledge", **_form(eligibility=GOOD_ELIGIBILITY,
                                                                         sources="not-a-url"))
        assert r.status_code == 422 and "sources must be a list of web addresses" in r.text
        r = await post_form(c, "/knowledge/new", "/knowledge", **_form(eligibility=GOOD_ELIGIBILITY))
        assert r.status_code == 303, r.text[-2000:]
        page = (await c.get("/knowledge/yanglao_butie")).text
        assert 'id="policy-version">1<' in page and "agee" not in page and "age &gt;= 60" in page
        r = await post_form(c, "/knowledge/yanglao_butie", "/knowledge",
                            **_form(what_you_get_zh="每月100元", eligibility=GOOD_ELIGIBILITY))
        assert r.status_code == 303
        v1 = re.search(r'<option value="(\d+)"[^>]*>东坡村（村）</option>', page).group(1)
        r = await post_form(c, "/knowledge/yanglao_butie", "/knowledge/yanglao_butie/overrides", area=v1,
                            what_you_get_zh="东坡村：每月<b>150</b>元", effective_date="2026-07-01",
                            params="local_standard: 150")
        assert r.status_code == 303, r.text[-2000:]
        page = (await c.get(r.headers["location"])).text
        assert f'data-area-id="{v1}"' in page and "东坡村：每月&lt;b&gt;150&lt;/b&gt;元" in page  # prefilled, escaped
        r = await post_form(c, "/knowledge/yanglao_butie", "/knowledge/yanglao_butie/overrides", area=v1,
                            eligibility="x", params="[unclosed")
        assert r.status_code == 422 and "not valid YAML" in r.text

        asked = (await c.get("/knowledge/ask", params={"q": "高龄津贴怎么领", "village": "v1"})).text
        first = re.search(r'<ol id="ask-ranking">\s*<li data-policy-id="([a-z_]+)"', asked)
        assert first and first.group(1) == "yanglao_butie"
        assert 'id="ask-applied"' in asked and "东坡村（村）" in asked
    async with world.db.session() as s:
        versions = (await s.execute(select(PolicyVersion.version, PolicyVersion.what_you_get)
                                    .where(PolicyVersion.policy_id == "yanglao_butie"))).all()
        assert sorted(v for v, _ in versions) == [1, 2]
        current = await policies.get_policy(s, "yanglao_butie")
        assert current.version == 2 and current.eligibility["rules"][0]["when"] == "age >= 60"
        here = await policy_overrides.resolve(s, "yanglao_butie", (await get_by_code(s, "v1")).id, "zh")
        assert here["what_you_get"] == "东坡村：每月<b>150</b>元"
        assert here["eligibility"]["params"] == {"local_standard": 150}
        elsewhere = await policy_overrides.resolve(s, "yanglao_butie", (await get_by_code(s, "v3")).id, "zh")
        assert elsewhere["what_you_get"] == "每月100元"
        actions = [e.action for e in (await s.execute(select(AuditEntry).where(
            AuditEntry.target == "policy:yanglao_butie"))).scalars()]
        assert actions.count("policy.publish") == 2 and actions.count("policy.override") == 1




async def test_only_admins_publish_and_viewers_see_nothing(world):
    async with signed_in(world, "admin") as c:
        assert (await post_form(c, "/knowledge/new", "/knowledge", **_form())).status_code == 303
    async with world.client() as c:
        assert (await c.get("/knowledge")).status_code == 303
        assert (await c.get("/knowledge/yanglao_butie")).status_code == 303
    async with signed_in(world, "w1") as c:
        page = await c.get("/knowledge/yanglao_butie")
        assert page.status_code == 200 and 'id="override-form"' not in page.text and "readonly" in page.text
        assert (await c.get("/knowledge/new")).status_code == 404
        r = await post_form(c, "/knowledge/yanglao_butie", "/knowledge", **_form(what_you_get_zh="篡改"))
        assert r.status_code == 404
        r = await post_form(c, "/knowledge/yanglao_butie", "/knowledge/yanglao_butie/overrides", area="1",
                            what_you_get_zh="篡改")
        assert r.status_code == 404
    async with signed_in(world, "viewer") as c:
        assert (await c.get("/knowledge")).status_code == 404
        assert (await c.get("/knowledge/ask?q=低保")).status_code == 404
    async with world.db.session() as s:
        assert (await policies.get_policy(s, "yanglao_butie")).version == 1
        assert await policy_overrides.overrides_of(s, "yanglao_butie") == []
