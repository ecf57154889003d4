"""The case page's and the supervisor's live parts through the real ASGI app, on SQLite and
PostgreSQL (the world of tests/api/conftest.py): what another worker changes through the JSON
API reaches an open page's event stream (bot/web/live.py) — status, stage and assignee, plan,
tasks, referrals, flags and approvals — escaped, with the forms of the viewer's own session;
another area's worker gets no stream of the case, and a supervisor's stream lists only their
areas' approvals."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.web import live
from storage import agencies as agency_service
from storage.models import Area
from tests.web.test_inbox_pages import csrf_of, post_form, signed_in

XSS = "<img src=x onerror=alert(1)>"


def parts(stream: str) -> dict[str, str]:
    """The last HTML each event of a stream carried, {event name: HTML}."""
    found: dict[str, str] = {}
    for block in stream.split("\n\n"):
        lines = block.split("\n")
        if lines and lines[0].startswith("event: "):
            found[lines[0][len("event: "):]] = "\n".join(line[len("data: "):] for line in lines[1:]
                                                       if line.startswith("data: "))
    return found


@pytest.fixture
def quick_streams(world, monkeypatch):
    monkeypatch.setattr(live, "LIFETIME", 0.5)  # a stream ends by itself, so a test reads it whole
    world.app.state.services.settings.web_poll_seconds = 0.1


async def test_api_changes_reach_the_open_case_page(world, quick_streams):
    async with world.db.session() as s:
        await agency_service.seed_demo_agencies(s)
    number = world.ids["case_p1"]
    api = f"/api/cases/{number}"
    async with signed_in(world, "w1") as c, world.client("sup") as sup:
        page = (await c.get(f"/cases/{number}")).text
        stream_url = re.search(r'sse-connect="([^"]+)"', page).group(1)
        assert stream_url == f"/cases/{number}/events"
        before = parts((await c.get(stream_url)).text)
        assert set(before) == {"facts", "flags", "plan", "tasks", "referrals", "approvals", "timeline"}
        assert 'data-stage="received"' in before["facts"] and 'id="no-flags"' in before["flags"]
        assert "<li" not in before["tasks"] and before["approvals"].strip() == ""
        assert 'data-stage="received"' in page and 'id="tasks"' in page  # the page embeds the same parts

        r = await sup.post(f"{api}/tasks", json={"title": f"上门{XSS}", "due": "2026-11-24", "assignee": "w1"})
        assert r.status_code == 201, r.text
        task_id = r.json()["tasks"][0]["id"]
        assert (await sup.post(f"{api}/plan", json={"what": f"申请低保{XSS}", "agency": "minzheng"})).status_code == 201
        assert (await sup.post(f"{api}/referrals", json={"agency": "minzheng", "reason": f"临时救助{XSS}"})
                ).status_code == 201
        assert (await sup.patch(f"{api}/tasks/{task_id}", json={"done": True})).status_code == 200
        assert (await sup.post(f"{api}/stage", json={"stage": "assessed"})).status_code == 200
        r = await sup.post(f"/api/people/{world.ids['p1']}/flags", json={"reason": f"因病{XSS}"})
        assert r.status_code == 201, r.text

        after = parts((await c.get(stream_url)).text)
        assert 'data-stage="assessed"' in after["facts"]
        assert "上门&lt;img src=x onerror=alert(1)&gt;" in after["tasks"]
        assert f'action="/cases/{number}/tasks/{task_id}"' in after["tasks"] and 'value="0"' in after["tasks"]  # done
        assert "申请低保&lt;img" in after["plan"] and 'data-status="open"' in after["plan"]
        assert "临时救助&lt;img" in after["referrals"] and 'data-status="sent"' in after["referrals"]
        assert 'hx-preserve="true"' in after["referrals"]  # a note being typed survives the swap
        assert 'data-kind="return_to_poverty_watch"' in after["flags"] and "因病&lt;img" in after["flags"]
        assert "<img src=x" not in "".join(after.values())
        # the forms in the parts carry the viewer's own session token, not the changer's
        assert f'value="{csrf_of(page)}"' in after["tasks"]

        referral_id = (await sup.get(api)).json()["referrals"][0]["id"]
        assert (await sup.patch(f"{api}/referrals/{referral_id}", json={"status": "done", "note": "已办"})
                ).status_code == 200
        done = parts((await c.get(stream_url)).text)
        assert 'data-status="done"' in done["referrals"] and "已办" in done["referrals"]


async def test_approvals_are_live_on_the_case_page_and_on_supervise_within_the_areas(world, quick_streams):
    async with world.db.session() as s:
        await agency_service.seed_demo_agencies(s)
        for township in (await s.execute(select(Area).where(Area.code.in_(["t", "t2"])))).scalars():
            township.approvals_required = True
    mine, theirs = world.ids["case_p1"], world.ids["case_p3"]
    async with signed_in(world, "sup") as sup, signed_in(world, "admin") as admin, \
            world.client("w1") as w1, world.client("w3") as w3:
        page = (await sup.get("/supervise")).text
        assert 'id="no-approvals"' in page and 'sse-connect="/supervise/events"' in page
        quiet = parts((await sup.get("/supervise/events")).text)
        assert 'id="no-approvals"' in quiet["approvals"]

        r = await w1.post(f"/api/cases/{mine}/stage", json={"stage": "closed", "outcome": f"已办好{XSS}"})
        assert r.status_code == 202, r.text
        close_id = r.json()["approvals"][0]["id"]
        r = await w3.post(f"/api/cases/{theirs}/referrals", json={"agency": "minzheng", "reason": "柳河镇的转介"})
        assert r.status_code == 202, r.text
        theirs_id = r.json()["approvals"][0]["id"]

        listed = parts((await sup.get("/supervise/events")).text)["approvals"]
        assert f'data-approval="{close_id}"' in listed and "已办好&lt;img" in listed and "<img" not in listed
        assert f'data-approval="{theirs_id}"' not in listed and "柳河镇的转介" not in listed  # not sup's township
        assert f'action="/cases/{mine}/approvals/{close_id}"' in listed and f'value="{csrf_of(page)}"' in listed
        everything = parts((await admin.get("/supervise/events")).text)["approvals"]
        assert f'data-approval="{close_id}"' in everything and f'data-approval="{theirs_id}"' in everything

        on_case = parts((await sup.get(f"/cases/{mine}/events")).text)
        assert f'data-approval="{close_id}"' in on_case["approvals"] and "approval-decide" in on_case["approvals"]
        assert (await sup.get(f"/cases/{theirs}/events")).status_code == 404  # another township's case: no stream

        r = await admin.post(f"/cases/{mine}/approvals/{close_id}",
                             data={"csrf_token": csrf_of((await admin.get(f"/cases/{mine}")).text),
                                   "decision": "approve"})
        assert r.status_code == 303
        cleared = parts((await sup.get("/supervise/events")).text)["approvals"]
        assert 'id="no-approvals"' in cleared and f'data-approval="{close_id}"' not in cleared
        closed = parts((await sup.get(f"/cases/{mine}/events")).text)
        assert 'data-stage="closed"' in closed["facts"] and 'data-status="approved"' in closed["approvals"]


async def test_no_stream_of_a_case_for_another_areas_worker_a_viewer_or_anonymous(world, quick_streams):
    number = world.ids["case_p1"]
    async with signed_in(world, "w3") as w3:
        r = await w3.get(f"/cases/{number}/events")
        assert r.status_code == 404 and "event:" not in r.text
        assert (await w3.get("/supervise/events")).status_code == 404  # a worker has no supervisor's view
    async with signed_in(world, "viewer") as viewer:
        assert (await viewer.get(f"/cases/{number}/events")).status_code == 404
    async with world.client() as anonymous:
        assert (await anonymous.get(f"/cases/{number}/events")).status_code == 401
        assert (await anonymous.get("/supervise/events")).status_code == 401
