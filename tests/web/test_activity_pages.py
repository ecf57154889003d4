"""Activities on the staff web through the real ASGI app, as a browser fills the forms, on
SQLite and PostgreSQL (the world of tests/api/conftest.py: w1 covers v1 with activity 巧娘班
and villager p1 signed up; w3 covers v3). Create, edit, move and cancel (participants told),
sign-up closed and opened, attendance, the roster CSV, a message to everyone; area rules,
CSRF, escaping."""
from __future__ import annotations

import csv
import io
import re

from markupsafe import escape
from sqlalchemy import select

from storage import activities as activity_service
from storage.models import Activity, AuditEntry, Enrollment, OutboxMessage, Person, Timer
from tests.web.test_inbox_pages import post_form, signed_in

SCRIPT_NAME = "<script>alert('x')</script><img src=x onerror=alert(1)>王"


async def _outbox(world, recipient: str) -> list[str]:
    async with world.db.session() as s:
        return [o.text for o in (await s.execute(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                                 .order_by(OutboxMessage.id))).scalars()]


async def test_create_edit_then_the_bot_lists_it(world):
    async with signed_in(world, "w1") as c:
        new = await c.get("/activities/new")
        assert new.status_code == 200
        v1 = re.search(r'<option value="(\d+)">东坡村</option>', new.text).group(1)
        assert "柳树村" not in new.text
        r = await post_form(c, "/activities/new", "/activities", kind="training", title="电商培训",
                            title_en="Selling online", place="村委会", starts_at="2026-11-25T14:30", capacity="1",
                            audience="training", area=v1)
        assert r.status_code == 303, r.text[:500]
        url = r.headers["location"].split("?")[0]
        page = await c.get(r.headers["location"])
        assert "活动已创建" in page.text and "11-25 14:30" in page.text
        assert url.rsplit("/", 1)[1] in (await c.get("/activities")).text
        r = await post_form(c, f"{url}/edit", f"{url}/edit", kind="training", title="电商培训（手机开店）",
                            capacity="", audience="all", ends_at="2026-11-25T13:00")
        assert r.status_code == 422 and "结束时间要晚于开始时间" in r.text
        r = await post_form(c, f"{url}/edit", f"{url}/edit", kind="training", title="电商培训（手机开店）",
                            capacity="", audience="all", ends_at="2026-11-25T16:30")
        assert r.status_code == 303
        r = await post_form(c, "/activities/new", "/activities", kind="activity", title="过去的", area=v1,
                            starts_at="2026-11-01T10:00")
        assert r.status_code == 422 and "开始时间已经过了" in r.text
    activity_id = int(url.rsplit("/", 1)[1])
    async with world.db.session() as s:
        a = await s.get(Activity, activity_id)
        assert (a.title, a.capacity, a.kind, a.place) == ("电商培训（手机开店）", None, "training", "村委会")
        assert a.starts_at.hour == 6 and a.starts_at.minute == 30  # 14:30 Beijing = 06:30 UTC
        assert a.ends_at is not None and a.ends_at.hour == 8
        listed = await activity_service.list_upcoming(s, world.clock())
        assert activity_id in [x.id for x in listed]  # what the bot's list_activities shows
        actions = [e.action for e in (await s.execute(select(AuditEntry).where(
            AuditEntry.target == f"activity:{activity_id}"))).scalars()]
        assert "activity.create" in actions and "activity.edit" in actions


async def test_move_message_attendance_csv_close_cancel(world):
    aid = world.ids["activity_v1"]
    url = f"/activities/{aid}"
    async with world.db.session() as s:
        p1 = await s.get(Person, world.ids["p1"])
        p1.display_name = SCRIPT_NAME
        waiting = Person(display_name="赵大娘", village_id=p1.village_id, consent_given=True)
        s.add(waiting)
        await s.flush()
        s.add(Enrollment(activity_id=aid, person_id=waiting.id, status="waitlisted", waitlist_position=1))
    async with signed_in(world, "w1") as c:
        page = await c.get(url)
        assert str(escape(SCRIPT_NAME)) in page.text and "<script>alert" not in page.text and "<img src=x" not in page.text
        assert 'id="waitlist"' in page.text and "赵大娘" in page.text
        r = await post_form(c, url, f"{url}/move", starts_at="2026-12-01T09:00", place="新活动室")
        assert r.status_code == 303 and "n=2" in r.headers["location"]
        assert "已通知 2 位" in (await c.get(r.headers["location"])).text
        r = await post_form(c, url, f"{url}/message", text="请带上针线")
        assert r.status_code == 303
        assert "请带上针线" in await _outbox(world, "tg-1001")

        attendance = await c.get(f"{url}/attendance")
        enrollment_id = re.search(r'name="present" value="(\d+)"', attendance.text).group(1)
        assert str(escape(SCRIPT_NAME)) in attendance.text
        r = await post_form(c, f"{url}/attendance", f"{url}/attendance", present=enrollment_id)
        assert r.status_code == 303 and "n=1" in r.headers["location"]

        got = await c.get(f"{url}/roster.csv")
        assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
        assert rows[0][1] == "姓名 Name" and {r[1] for r in rows[1:]} == {SCRIPT_NAME, "赵大娘"}
        assert any(r[3] == "已到" for r in rows[1:]) and any(r[4] == "1" for r in rows[1:])

        r = await post_form(c, url, f"{url}/signup", open="0")
        assert r.status_code == 303
        r = await post_form(c, url, f"{url}/cancel")
        assert r.status_code == 422 and "请先勾选确认" in r.text
        r = await post_form(c, url, f"{url}/cancel", confirm="1")
        assert r.status_code == 303
    async with world.db.session() as s:
        a = await s.get(Activity, aid)
        assert a.status == "cancelled" and a.place == "新活动室"
        notices = [t.payload.get("change") for t in (await s.execute(select(Timer).where(
            Timer.kind == activity_service.NOTICE))).scalars()]
        assert notices.count("moved") == 2 and notices.count("cancelled") == 1  # the attended seat is not told
        actions = [e.action for e in (await s.execute(select(AuditEntry).where(
            AuditEntry.target == f"activity:{aid}"))).scalars()]
        for wanted in ("activity.move", "activity.message", "activity.attendance", "activity.roster.export",
                       "activity.signup_closed", "activity.cancel"):
            assert wanted in actions, wanted


async def test_activity_pages_keep_to_areas_roles_and_csrf(world):
    aid, other = world.ids["activity_v1"], world.ids["activity_v3"]
    async with world.client() as c:
        r = await c.get(f"/activities/{aid}")
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")
        assert (await c.get("/activities")).status_code == 303
        assert (await c.post(f"/activities/{aid}/cancel", data={"confirm": "1"})).status_code == 403
    async with signed_in(world, "w1") as c:
        listing = (await c.get("/activities")).text
        assert f'data-activity-id="{aid}"' in listing and f'data-activity-id="{other}"' not in listing
        for path in (f"/activities/{other}", f"/activities/{other}/roster.csv", f"/activities/{other}/attendance",
                     f"/activities/{other}/edit"):
            assert (await c.get(path)).status_code == 404, path
        r = await post_form(c, f"/activities/{aid}", f"/activities/{other}/cancel", confirm="1")
        assert r.status_code == 404
        r = await c.post(f"/activities/{aid}/cancel", data={"confirm": "1", "csrf_token": "wrong"})
        assert r.status_code == 403
        new = await c.get("/activities/new")
        v3 = None
        async with world.db.session() as s:
            v3 = (await s.get(Activity, other)).area_id
        r = await post_form(c, "/activities/new", "/activities", kind="activity", title="越界", area=str(v3),
                            starts_at="2026-12-01T10:00")
        assert r.status_code == 422 and new.status_code == 200
    async with signed_in(world, "viewer") as c:
        assert (await c.get("/activities")).status_code == 404
        assert (await c.get(f"/activities/{aid}/roster.csv")).status_code == 404
    async with world.db.session() as s:
        assert (await s.get(Activity, other)).status == "open"
        assert (await s.get(Activity, aid)).status == "open"
        assert not (await s.execute(select(Activity).where(Activity.title == "越界"))).scalars().first()
