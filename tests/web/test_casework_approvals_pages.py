"""Approvals, saved views and attachments on the staff web through the real ASGI app, as a
browser fills the forms, on SQLite and PostgreSQL (the world of tests/api/conftest.py): an
admin turns 石桥镇's setting on at /areas; w1's close waits; the supervisor sees it on
/supervise and approves it with one tap on the case page; a declined referral; another area,
a worker and an anonymous caller are refused."""
from __future__ import annotations

from sqlalchemy import select

from storage import agencies as agency_service
from bot.media import MediaStore
from storage.models import Area, AuditEntry, CaseApproval, Message, NeedRequest, Referral, SavedView
from tests.web.test_inbox_pages import csrf_of, post_form, signed_in


async def test_township_setting_close_waits_and_supervisor_decides(world):
    async with world.db.session() as s:
        await agency_service.seed_demo_agencies(s)
        township = (await s.execute(select(Area).where(Area.code == "t"))).scalar_one()
    number, other = world.ids["case_p1"], world.ids["case_p3"]
    url = f"/cases/{number}"
    async with signed_in(world, "w1") as c:  # not an admin: the setting's route is not there
        r = await post_form(c, "/cases", f"/areas/{township.id}/approvals", on="1")
        assert r.status_code == 404
    async with signed_in(world, "admin") as c:
        page = (await c.get("/areas")).text
        assert f'action="/areas/{township.id}/approvals"' in page and 'data-approvals="0"' in page
        r = await post_form(c, "/areas", f"/areas/{township.id}/approvals", on="1")
        assert r.status_code == 303
        assert 'data-approvals="1"' in (await c.get("/areas")).text

    async with signed_in(world, "w1") as c:
        r = await post_form(c, url, f"{url}/stage", stage="closed", outcome="已办好低保")
        assert r.status_code == 303 and r.headers["location"] == f"{url}?done=approval_requested"
        r = await post_form(c, url, f"{url}/referrals", agency="minzheng", reason="低保")
        assert r.status_code == 303
        page = (await c.get(f"{url}?done=approval_requested")).text
        assert "已提交镇上主管审批" in page and 'id="approvals"' in page
        assert 'class="inline approval-decide"' not in page  # a worker sees, cannot decide
        assert (await c.get("/supervise")).status_code == 404
    async with world.db.session() as s:
        close, refer = (await s.execute(select(CaseApproval).order_by(CaseApproval.id))).scalars().all()
        assert (await s.execute(select(NeedRequest).where(NeedRequest.number == number))).scalar_one().stage != "closed"
    async with signed_in(world, "w1") as c:
        r = await post_form(c, url, f"{url}/approvals/{close.id}", decision="approve")
        assert r.status_code == 422 and "只有镇上主管或管理员" in r.text
        r = await post_form(c, url, f"/cases/{other}/approvals/{close.id}", decision="approve")
        assert r.status_code == 404
    async with world.client() as c:
        r = await c.post(f"{url}/approvals/{close.id}", data={"decision": "approve"})
        assert r.status_code in (303, 403) and r.headers.get("location", "/signin").startswith("/signin")

    async with signed_in(world, "sup") as c:
        listed = (await c.get("/supervise")).text
        assert f'data-approval="{close.id}"' in listed and f'data-approval="{refer.id}"' in listed
        assert "已办好低保" in listed
        r = await post_form(c, "/supervise", f"{url}/approvals/{close.id}", decision="approve")
        assert r.status_code == 303 and r.headers["location"] == f"{url}?done=approved"
        r = await post_form(c, url, f"{url}/approvals/{refer.id}", decision="decline")
        assert r.status_code == 303
        assert 'id="no-approvals"' in (await c.get("/supervise")).text
    async with world.db.session() as s:
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == number))).scalar_one()
        assert (case.stage, case.outcome) == ("closed", "已办好低保")
        assert (await s.execute(select(Referral))).scalars().all() == []
        decided = {a.id: a.status for a in (await s.execute(select(CaseApproval))).scalars()}
        assert decided == {close.id: "approved", refer.id: "declined"}
        actions = [a for (a,) in (await s.execute(select(AuditEntry.action)))]
        assert "area.approvals" in actions and actions.count("case.approval.decide") == 2


async def test_saved_views_are_each_workers_own(world):
    async with signed_in(world, "w1") as c:
        page = (await c.get("/cases?stage=received&category=medical&q=看病")).text
        assert 'id="save-view"' in page and 'value="category=medical&amp;q=%E7%9C%8B%E7%97%85&amp;stage=received"' in page
        r = await c.post("/cases/views", data={"csrf_token": csrf_of(page), "name": "我的<b>医疗</b>",
                                                "query": "category=medical&stage=received&evil=1"})
        assert r.status_code == 303 and r.headers["location"] == "/cases?category=medical&stage=received&done=view_saved"
        listed = (await c.get("/cases")).text
        assert "我的&lt;b&gt;医疗&lt;/b&gt;" in listed and 'href="/cases?category=medical&amp;stage=received"' in listed
        assert "evil" not in listed
        assert 'id="view-my-overdue"' in listed and 'id="view-unassigned"' in listed  # the built-in ones
        r = await c.post("/cases/views", data={"csrf_token": "wrong", "name": "x", "query": ""})
        assert r.status_code == 403
    async with world.db.session() as s:
        [view] = (await s.execute(select(SavedView))).scalars().all()
    async with signed_in(world, "w3") as c:  # another worker neither sees nor deletes it
        page = (await c.get("/cases")).text
        assert 'id="my-views"' not in page
        r = await c.post(f"/cases/views/{view.id}/delete", data={"csrf_token": csrf_of(page)})
        assert r.status_code == 404
    async with world.client() as c:
        r = await c.post(f"/cases/views/{view.id}/delete", data={})
        assert r.status_code in (303, 403) and r.headers.get("location", "/signin").startswith("/signin")
    async with signed_in(world, "w1") as c:
        page = (await c.get("/cases")).text
        r = await c.post(f"/cases/views/{view.id}/delete", data={"csrf_token": csrf_of(page)})
        assert r.status_code == 303
        assert 'id="my-views"' not in (await c.get("/cases")).text
    async with world.db.session() as s:
        assert (await s.execute(select(SavedView))).scalars().all() == []
        actions = [a for (a,) in (await s.execute(select(AuditEntry.action)))]
        assert "case.view.save" in actions and "case.view.delete" in actions


async def test_case_attachments_shown_and_served_only_to_the_area(world, tmp_path):
    settings = world.app.state.services.settings
    settings.media_dir = tmp_path / "media"
    store = MediaStore(settings.media_dir)
    photo = store.save(b"\x89PNG\r\n\x1a\ncase-photo", mime="image/png")
    voice = store.save(b"OggS case-voice", mime="audio/ogg")
    number, other = world.ids["case_p1"], world.ids["case_p3"]
    async with world.db.session() as s:
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == number))).scalar_one()
        case.attachments = [{"kind": "photo", "path": photo, "mime": "image/png"}]
        m = Message(person_id=world.ids["p1"], channel="telegram", direction="in", text="听听",
                    attachments=[{"kind": "voice", "path": voice, "mime": "audio/ogg",
                                  "text": "<script>alert(1)</script>屋顶漏了"}],
                    created_at=world.clock())
        s.add(m)
        await s.flush()
        mid = m.id
    url = f"/cases/{number}"
    async with signed_in(world, "w1") as c:
        page = (await c.get(url)).text
        assert f'<img src="{url}/files/0/0"' in page
        assert f'<audio controls preload="none" src="{url}/files/{mid}/0">' in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;屋顶漏了" in page and "<script>alert(1)" not in page
        r = await c.get(f"{url}/files/0/0")
        assert r.status_code == 200 and r.content == b"\x89PNG\r\n\x1a\ncase-photo"
        assert r.headers["content-type"] == "image/png"
        r = await c.get(f"{url}/files/{mid}/0")
        assert r.status_code == 200 and r.content == b"OggS case-voice"
        assert (await c.get(f"{url}/files/{mid}/5")).status_code == 404
        # p1's message asked through p3's case (outside w1's areas anyway) is not there
        assert (await c.get(f"/cases/{other}/files/{mid}/0")).status_code == 404
    async with signed_in(world, "w3") as c:  # another township: nothing, as if missing
        assert (await c.get(f"{url}/files/0/0")).status_code == 404
        assert (await c.get(f"{url}/files/{mid}/0")).status_code == 404
    async with signed_in(world, "sup") as c:  # p3's case is not in 石桥镇
        assert (await c.get(f"/cases/{other}/files/{mid}/0")).status_code == 404
    async with world.client() as c:
        r = await c.get(f"{url}/files/0/0")
        assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/signin")
    async with world.db.session() as s:
        reads = [a for (a,) in (await s.execute(select(AuditEntry.action).where(AuditEntry.target == number)))]
        assert reads.count("case.file") == 2
