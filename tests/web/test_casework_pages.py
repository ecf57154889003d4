"""Casework pages through the real ASGI app, as a browser fills the forms, on SQLite and
PostgreSQL (the world of tests/api/conftest.py): the case list's filters and saved views, a
case's plan, task, referral and stage forms, overdue tasks on the home page with a moved clock,
area rules (404), CSRF, and a villager's markup shown as text."""
from __future__ import annotations

from sqlalchemy import select, update

from storage import agencies as agency_service
from storage.models import AuditEntry, CaseTask, NeedRequest, OutboxMessage, Referral, Staff
from tests.web.test_inbox_pages import csrf_of, post_form, signed_in

SCRIPT = "<script>alert('x')</script><img src=x onerror=alert(1)>屋顶漏雨"


async def test_case_forms_overdue_home_and_views(world):
    async with world.db.session() as s:
        await agency_service.seed_demo_agencies(s)
        await s.execute(update(NeedRequest).where(NeedRequest.number == world.ids["case_p1"])
                        .values(description=SCRIPT))
    number, other = world.ids["case_p1"], world.ids["case_p3"]
    url = f"/cases/{number}"
    async with signed_in(world, "w1") as c:
        listed = (await c.get("/cases")).text
        assert f'data-number="{number}"' in listed and f'data-number="{other}"' not in listed
        assert "<script>alert" not in listed
        page = await c.get(url)
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(" in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
        assert (await c.get(f"/cases/{other}")).status_code == 404

        r = await post_form(c, url, f"{url}/plan", what="申请医疗救助", who="agency:yibao", due="2026-11-30")
        assert r.status_code == 303 and r.headers["location"] == f"{url}?done=plan"
        r = await post_form(c, url, f"{url}/tasks", title="电话回访", due="2026-11-23")
        assert r.status_code == 303
        r = await post_form(c, url, f"{url}/tasks", title="家访", due="not a date")
        assert r.status_code == 422 and "日期格式不对" in r.text
        r = await post_form(c, url, f"{url}/referrals", agency="minzheng", reason="低保")
        assert r.status_code == 303
        r = await post_form(c, url, f"{url}/stage", stage="assessed")
        assert r.status_code == 303
        r = await post_form(c, url, f"{url}/stage", stage="closed")
        assert r.status_code == 422 and "outcome" in r.text
        r = await c.post(f"{url}/tasks", data={"csrf_token": "wrong", "title": "x", "due": "2026-11-24"})
        assert r.status_code == 403
        r = await post_form(c, url, f"/cases/{other}/tasks", title="x", due="2026-11-24")
        assert r.status_code == 404

        assert 'id="overdue-tasks"' not in (await c.get("/")).text
        assert f'data-number="{number}"' not in (await c.get("/cases?view=my-overdue")).text
    world.clock.advance(hours=14)  # 00:00 on 11-24 local: the call of 11-23 is overdue; sign in again
    async with signed_in(world, "w1") as c:
        home = (await c.get("/")).text
        assert 'id="overdue-tasks"' in home and "电话回访" in home
        assert f'data-number="{number}"' in (await c.get("/cases?view=my-overdue")).text
        assert f'data-number="{number}"' in (await c.get("/cases?overdue=1&stage=assessed")).text
        assert f'data-number="{number}"' not in (await c.get("/cases?stage=plan")).text
        assert f'data-number="{number}"' in (await c.get("/cases?q=漏雨")).text
        assert f'data-number="{number}"' not in (await c.get("/cases?q=没有这个词")).text
        assert f'data-number="{number}"' in (await c.get("/cases?view=unassigned-township")).text
        r = await post_form(c, url, f"{url}/assign", to="w1")
        assert r.status_code == 303
        assert f'data-number="{number}"' not in (await c.get("/cases?view=unassigned-township")).text
        assert f'data-number="{number}"' in (await c.get("/cases?assignee=me&category=medical")).text
        page = (await c.get(url)).text
        assert 'data-overdue="1"' in page and "申请医疗救助" in page and "县民政局" in page
        assert 'data-stage="assessed"' in page
        assert csrf_of(page)
    async with world.db.session() as s:
        task = (await s.execute(select(CaseTask))).scalar_one()
        assert task.title == "电话回访" and task.done_at is None
        assert (await s.execute(select(Referral))).scalar_one().status == "sent"
        told = [m.text for m in (await s.execute(select(OutboxMessage).where(OutboxMessage.recipient == "tg-1001")))
                .scalars()]
        assert any("县民政局" in t for t in told)
        actions = [a for (a,) in (await s.execute(select(AuditEntry.action).where(AuditEntry.target == number)))]
        assert "case.view" in actions and "case.task.add" in actions and "case.referral.add" in actions


async def test_viewer_sees_no_case_page(world):
    async with signed_in(world, "viewer") as c:
        assert (await c.get("/cases")).status_code == 404
        assert (await c.get(f"/cases/{world.ids['case_p1']}")).status_code == 404


async def test_age_and_flagged_filters_and_flags_on_the_case(world):
    from datetime import timedelta

    from storage import flags

    number, other = world.ids["case_p1"], world.ids["case_p3"]
    async with world.db.session() as s:
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == number))).scalar_one()
        case.created_at = world.clock() - timedelta(days=3)
        await flags.add_flag(s, world.ids["p3"], flags.WATCH, reason="其他片区", now=world.clock())
    async with signed_in(world, "w1") as c:
        assert f'data-number="{number}"' in (await c.get("/cases?older=2")).text
        assert f'data-number="{number}"' not in (await c.get("/cases?older=4")).text
        assert f'data-number="{number}"' in (await c.get("/cases?older=abc")).text  # not a number: ignored
        assert f'data-number="{number}"' not in (await c.get("/cases?flagged=1")).text
        page = (await c.get(f"/cases/{number}")).text
        assert 'id="no-flags"' in page and f'href="/cases/{number}/match"' in page
        async with world.db.session() as s:
            await flags.add_flag(s, world.ids["p1"], flags.WATCH, reason="<script>x</script>因病", now=world.clock())
        listed = (await c.get("/cases?flagged=1&older=2")).text
        assert f'data-number="{number}"' in listed and f'data-number="{other}"' not in listed  # other area's flag
        page = (await c.get(f"/cases/{number}")).text
        assert 'data-kind="return_to_poverty_watch"' in page and "&lt;script&gt;x&lt;/script&gt;因病" in page
        assert (await c.get(f"/cases/{other}/match")).status_code == 404
    async with signed_in(world, "viewer") as c:
        assert (await c.get("/cases?flagged=1")).status_code == 404


async def test_the_case_page_timeline_is_live(world, monkeypatch):
    import re

    from bot.web import live
    from storage import cases as case_store

    monkeypatch.setattr(live, "LIFETIME", 0.5)  # the stream ends by itself, so the test can read it whole
    world.app.state.services.settings.web_poll_seconds = 0.1
    number, other = world.ids["case_p1"], world.ids["case_p3"]
    async with signed_in(world, "w1") as c:
        page = (await c.get(f"/cases/{number}")).text
        stream_url = re.search(r'sse-connect="([^"]+)"', page).group(1)
        assert stream_url == f"/cases/{number}/events"
        before = (await c.get(stream_url)).text
        assert before.count("event: timeline\n") == 1 and 'id="timeline"' in before
        async with world.db.session() as s:
            case = await case_store.get_case(s, number)
            w1 = (await s.execute(select(Staff).where(Staff.username == "w1"))).scalar_one()
            await case_store.add_note(s, case, "<b>电话打不通</b>", staff_id=w1.id)
        after = (await c.get(stream_url)).text
        assert "&lt;b&gt;电话打不通&lt;/b&gt;" in after and "<b>电话打不通" not in after
        assert (await c.get(f"/cases/{other}/events")).status_code == 404
    async with world.client() as anonymous:
        assert (await anonymous.get(stream_url)).status_code == 401
    async with signed_in(world, "viewer") as c:
        assert (await c.get(stream_url)).status_code == 404


async def test_admins_keep_the_agencies_on_their_page(world):
    from storage.models import Agency

    async with world.db.session() as s:
        await agency_service.seed_demo_agencies(s)
    number = world.ids["case_p1"]
    async with signed_in(world, "admin") as c:
        page = (await c.get("/agencies")).text
        assert 'data-code="minzheng"' in page and 'id="nav-agencies"' in page
        r = await post_form(c, "/agencies", "/agencies", name="<i>镇</i>妇联", code="fulian", kind="government",
                            contact="0571-1234")
        assert r.status_code == 303 and r.headers["location"] == "/agencies?done=added"
        page = (await c.get("/agencies?done=added")).text
        assert 'data-code="fulian"' in page and "&lt;i&gt;镇&lt;/i&gt;妇联" in page and "机构已添加" in page
        r = await post_form(c, "/agencies", "/agencies", name="又一个", code="fulian")
        assert r.status_code == 422 and "fulian" in r.text
        r = await c.post("/agencies", data={"csrf_token": "wrong", "name": "x", "code": "x"})
        assert r.status_code == 403
        async with world.db.session() as s:
            canlian = await agency_service.find_agency(s, "canlian")
        r = await post_form(c, "/agencies", f"/agencies/{canlian.id}", active="0")
        assert r.status_code == 303
    async with world.db.session() as s:
        rows = {a.code: a for a in (await s.execute(select(Agency))).scalars()}
        assert rows["fulian"].name == "<i>镇</i>妇联" and rows["fulian"].contact == "0571-1234"
        assert rows["canlian"].active is False and not any(a.code == "x" for a in rows.values())
        actions = [a for (a,) in (await s.execute(select(AuditEntry.action).where(AuditEntry.action.like("agency.%"))))]
        assert actions.count("agency.add") == 1 and actions.count("agency.change") == 1
    async with signed_in(world, "w1") as c:
        assert (await c.get("/agencies")).status_code == 404
        page = (await c.get(f"/cases/{number}")).text
        assert 'value="fulian"' in page and 'value="canlian"' not in page  # a switched-off agency is not offered
        assert 'id="nav-agencies"' not in page
        r = await post_form(c, f"/cases/{number}", "/agencies", name="w1 的机构", code="w1x")
        assert r.status_code == 404
    async with world.db.session() as s:
        assert await agency_service.find_agency(s, "w1x") is None
