"""Villagers on the staff web through the real ASGI app, on SQLite and PostgreSQL (the world of
tests/api/conftest.py: w1 covers v1 with villager p1, w3 covers v3 with p3): search, consent,
opt-out, household, the check-in flag, erasure with its confirmation (admins only, audited);
area rules, roles, CSRF, escaping."""
from __future__ import annotations

from datetime import timedelta

from markupsafe import escape
from sqlalchemy import select

from storage.flags import CHECKIN, WATCH
from storage.models import AuditEntry, Campaign, CampaignSend, Flag, Message, NeedRequest, Person, Timer
from tests.web.test_inbox_pages import post_form, signed_in

SCRIPT_NAME = "<script>alert('x')</script><img src=x onerror=alert(1)>王"


async def _audit(world, target: str) -> list[str]:
    async with world.db.session() as s:
        return [e.action for e in (await s.execute(select(AuditEntry).where(AuditEntry.target == target)
                                                   .order_by(AuditEntry.id))).scalars()]


async def test_search_consent_opt_out_household_flag(world):
    p1 = world.ids["p1"]
    url = f"/people/{p1}"
    async with world.db.session() as s:
        (await s.get(Person, p1)).display_name = SCRIPT_NAME
    async with signed_in(world, "w1") as c:
        found = (await c.get("/people?q=王")).text
        assert f'data-person-id="{p1}"' in found and f'data-person-id="{world.ids["p3"]}"' not in found
        assert str(escape(SCRIPT_NAME)) in found and "<script>alert" not in found and "<img src=x" not in found
        assert "138****5678" in found and "13812345678" not in found  # masked in the list
        page = (await c.get(url)).text
        assert str(escape(SCRIPT_NAME)) in page and "<img src=x" not in page and "13812345678" in page
        assert 'id="erase-link"' not in page  # workers do not erase
        assert (await post_form(c, url, f"{url}/consent", given="0")).status_code == 303
        assert (await post_form(c, url, f"{url}/opt-out", opted_out="1")).status_code == 303
        assert (await post_form(c, url, f"{url}/household", relation="child", name="<b>小明</b>")).status_code == 303
        assert (await post_form(c, url, f"{url}/household", relation="alien", name="x")).status_code == 422
        page = (await c.get(url)).text
        assert str(escape("<b>小明</b>")) in page and "<b>小明</b>" not in page
        assert (await post_form(c, url, f"{url}/flags", reason="因病")).status_code == 303
    async with world.db.session() as s:
        p = await s.get(Person, p1)
        assert (p.consent_given, p.consent_at, p.opted_out) == (False, None, True)
        assert p.household == [{"relation": "child", "name": "<b>小明</b>"}]
        flag = (await s.execute(select(Flag).where(Flag.person_id == p1))).scalar_one()
        assert flag.kind == WATCH and flag.reason == "因病" and flag.cleared_at is None
        assert (await s.execute(select(Timer).where(Timer.kind == CHECKIN, Timer.target == f"flag:{flag.id}"))
                ).scalars().first() is not None
    async with signed_in(world, "w1") as c:
        assert (await post_form(c, url, f"{url}/household/0/remove")).status_code == 303
        assert (await post_form(c, url, f"{url}/flags/{flag.id}/clear")).status_code == 303
        assert (await post_form(c, url, f"{url}/consent", given="1")).status_code == 303
    async with world.db.session() as s:
        p = await s.get(Person, p1)
        assert p.household == [] and p.consent_given and p.consent_at is not None
        assert (await s.get(Flag, flag.id)).cleared_at is not None
    actions = await _audit(world, f"person:{p1}")
    for wanted in ("person.read", "person.consent_withdrawn", "person.opt_out", "person.household_add", "flag.add",
                   "person.household_remove", "flag.clear", "person.consent_given"):
        assert wanted in actions, wanted


async def test_erase_needs_the_admin_and_the_typed_number(world):
    p1 = world.ids["p1"]
    url = f"/people/{p1}"
    async with world.db.session() as s:
        s.add(Message(person_id=p1, channel="telegram", direction="in", text="我叫王大妈，电话13812345678"))
    async with signed_in(world, "w1") as c:
        assert (await c.get(f"{url}/erase")).status_code == 404
        assert (await post_form(c, url, f"{url}/erase", confirm=str(p1))).status_code == 404
    async with signed_in(world, "admin") as c:
        page = await c.get(f"{url}/erase")
        assert page.status_code == 200 and "不能恢复" in page.text
        r = await post_form(c, f"{url}/erase", f"{url}/erase", confirm="999")
        assert r.status_code == 422 and "编号不对" in r.text
        async with world.db.session() as s:
            assert (await s.get(Person, p1)).display_name == "村民p1"
        r = await post_form(c, f"{url}/erase", f"{url}/erase", confirm=str(p1))
        assert r.status_code == 303
        assert 'id="person-erased"' in (await c.get(r.headers["location"])).text
    async with world.db.session() as s:
        p = await s.get(Person, p1)
        assert (p.erased, p.display_name, p.phone, p.household, p.consent_given) == (True, "", "", [], False)
        assert all(m.text == "" for m in (await s.execute(select(Message).where(Message.person_id == p1))).scalars())
        case = (await s.execute(select(NeedRequest).where(NeedRequest.person_id == p1))).scalar_one()
        assert (case.description, case.phone) == ("", "")
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "person.erase"))).scalar_one()
        assert entry.target == f"person:{p1}" and entry.actor.startswith("staff:") and entry.data["messages"] == 1


async def test_people_pages_keep_to_areas_and_roles(world):
    p1, p3 = world.ids["p1"], world.ids["p3"]
    async with world.client() as c:
        assert (await c.get(f"/people/{p1}")).status_code == 303
        assert (await c.get("/people")).status_code == 303
        assert (await c.post(f"/people/{p1}/consent", data={"given": "0"})).status_code == 403
    async with signed_in(world, "w1") as c:
        assert (await c.get(f"/people/{p3}")).status_code == 404
        r = await post_form(c, f"/people/{p1}", f"/people/{p3}/opt-out", opted_out="1")
        assert r.status_code == 404
        r = await c.post(f"/people/{p1}/opt-out", data={"opted_out": "1", "csrf_token": "wrong"})
        assert r.status_code == 403
    async with signed_in(world, "viewer") as c:
        assert (await c.get("/people")).status_code == 404
        assert (await c.get(f"/people/{p1}")).status_code == 404
    async with world.db.session() as s:
        assert not (await s.get(Person, p1)).opted_out and not (await s.get(Person, p3)).opted_out


async def test_join_two_identities_of_one_person(world):
    from storage import handoffs as handoff_service
    from storage.models import ChannelIdentity, Conversation, Enrollment

    p1, p3 = world.ids["p1"], world.ids["p3"]
    async with world.db.session() as s:
        p1_row = await s.get(Person, p1)
        p1_row.phone = ""
        other = Person(display_name="王大妈（微信）", village_id=p1_row.village_id, phone="13900001111",
                       household=[{"relation": "child", "name": "小明"}])
        busy = Person(display_name="另一个", village_id=p1_row.village_id)
        s.add_all([other, busy])
        await s.flush()
        s.add_all([ChannelIdentity(channel="wechat", external_id="wx-1001", person_id=other.id),
                   Message(person_id=other.id, channel="wechat", direction="in", text="我是王大妈"),
                   Conversation(person_id=other.id)])
        await handoff_service.open_handoff(s, busy.id, summary="也想找社工", now=world.clock())
        both, only_other = Campaign(name="回访", yaml=""), Campaign(name="满月问候", yaml="")
        s.add_all([both, only_other])
        await s.flush()
        s.add(CampaignSend(campaign_id=both.id, person_id=other.id))
        due = world.clock() + timedelta(days=3)
        for campaign, person in ((both, p1), (both, other.id), (only_other, other.id)):
            s.add(Timer(kind="campaign", target=f"campaign:{campaign.id}", due_at=due,
                        payload={"version": 1, "person": person, "ref": f"person:{person}"}))
        other_id, busy_id, both_id, only_other_id = other.id, busy.id, both.id, only_other.id
    url = f"/people/{p1}"
    async with signed_in(world, "w1") as c:
        assert (await c.get(f"{url}/link?other={other_id}")).status_code == 404  # workers do not join
    async with signed_in(world, "sup") as c:
        assert (await c.get(f"{url}/link?other={p3}")).status_code == 404  # p3 is outside the township
        page = await c.get(f"{url}/link?other={other_id}")
        assert page.status_code == 200 and "王大妈（微信）" in page.text and "wechat" in page.text
        r = await post_form(c, f"{url}/link?other={busy_id}", f"{url}/link", other=str(busy_id))
        assert r.status_code == 422 and "两边都有没结束的转人工对话" in r.text
        r = await post_form(c, f"{url}/link?other={other_id}", f"{url}/link", other=str(other_id))
        assert r.status_code == 303
    async with world.db.session() as s:
        assert await s.get(Person, other_id) is None
        kept = await s.get(Person, p1)
        assert kept.phone == "13900001111" and kept.household == [{"relation": "child", "name": "小明"}]
        channels = {i.channel for i in (await s.execute(select(ChannelIdentity).where(
            ChannelIdentity.person_id == p1))).scalars()}
        assert channels == {"telegram", "wechat"}
        texts = [m.text for m in (await s.execute(select(Message).where(Message.person_id == p1))).scalars()]
        assert "我是王大妈" in texts
        assert (await s.execute(select(Enrollment).where(Enrollment.person_id == p1))).scalars().first()
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "person.link"))).scalar_one()
        assert entry.target == f"person:{p1}" and entry.data == {"joined": other_id}
        assert (await s.execute(select(CampaignSend.person_id))).scalars().all() == [p1]
        timers = {(t.target, t.state, t.payload["person"], t.payload["ref"])
                  for t in (await s.execute(select(Timer).where(Timer.kind == "campaign"))).scalars()}
        # the same consent-anchored message once, not twice; the other campaign's moves over
        assert timers == {(f"campaign:{both_id}", "pending", p1, f"person:{p1}"),
                          (f"campaign:{both_id}", "cancelled", other_id, f"person:{other_id}"),
                          (f"campaign:{only_other_id}", "pending", p1, f"person:{p1}")}


def test_joining_moves_every_column_that_names_a_person():
    """A new table with a person's id must be added to person_links.MOVED, or the join fails
    on the foreign key (PostgreSQL) or leaves rows pointing at a removed person."""
    from storage.models import Base
    from storage.person_links import MOVED

    naming = {(table.name, column.name) for table in Base.metadata.tables.values() for column in table.columns
              if any(fk.column.table.name == "people" for fk in column.foreign_keys)}
    moved = {(model.__tablename__, column) for model, column in MOVED}
    assert naming - moved == {("conversations", "person_id")}  # one per person: the second's is removed
