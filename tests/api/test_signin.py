"""Sign-in page, session cookie, CSRF on forms and the API, lockout, sign-out, language."""
from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import Staff, StaffSession
from tests.api.helpers import PASSWORD, csrf_of, sign_in


async def test_sign_in_sets_a_safe_session_cookie_and_shows_the_home_page(world):
    async with world.client() as c:
        page = await c.get("/signin")
        assert page.status_code == 200
        assert '<form method="post" action="/signin"' in page.text and "用户名" in page.text
        r = await sign_in(c, "w1")
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("xz_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        home = await c.get("/")
        assert home.status_code == 200
        assert "w1工" in home.text and "东坡村" in home.text and "社工" in home.text
        assert 'id="count-handoffs">1<' in home.text  # only v1's handoff, not v3's
    value = cookie.split(";")[0].split("=", 1)[1]
    async with world.db.session() as s:
        stored = list((await s.execute(select(StaffSession.id))).scalars())
    assert value not in stored and len(stored) == 1  # only the hash is stored




async def test_sign_in_form_without_csrf_token_is_rejected(world):
    async with world.client() as c:
        await c.get("/signin")
        r = await c.post("/signin", data={"username": "w1", "password": PASSWORD, "csrf_token": "forged"})
        assert r.status_code == 403 and "xz_session" not in r.headers.get("set-cookie", "")
    async with world.client() as c:  # a token from another browser does not fit this one's cookie
        r = await c.post("/signin", data={"username": "w1", "password": PASSWORD, "csrf_token": "a" * 64})
        assert r.status_code == 403


async def test_wrong_password_then_lockout_then_unlock_after_15_minutes(world):
    async with world.client() as c:
        for attempt in range(1, 5):
            r = await sign_in(c, "w1", "wrong password")
            assert r.status_code == 401
            assert f"还可以再试 {5 - attempt} 次" in r.text
        r = await sign_in(c, "w1", "wrong password")
        assert r.status_code == 423 and "已锁定" in r.text and "15 分钟" in r.text and "locked" in r.text
        r = await sign_in(c, "w1")  # the right password does not help while locked
        assert r.status_code == 423
        world.clock.advance(minutes=14)
        assert (await sign_in(c, "w1")).status_code == 423
        world.clock.advance(minutes=1, seconds=1)
        r = await sign_in(c, "w1")
        assert r.status_code == 303
    async with world.db.session() as s:
        staff = (await s.execute(select(Staff).where(Staff.username == "w1"))).scalar_one()
        assert staff.failed_logins == 0 and staff.locked_until is None




async def test_api_through_the_session_cookie_needs_the_csrf_header(world):
    number = world.ids["case_p1"]
    async with world.client() as c:
        await sign_in(c, "w1")
        token = csrf_of((await c.get("/")).text)
        assert (await c.get(f"/api/cases/{number}")).status_code == 200  # reads need no CSRF token
        r = await c.patch(f"/api/cases/{number}", json={"status": "in_progress"})
        assert r.status_code == 403 and "CSRF" in r.json()["error"]
        r = await c.patch(f"/api/cases/{number}", json={"status": "in_progress"}, headers={"X-CSRF-Token": "x" * 43})
        assert r.status_code == 403
        r = await c.patch(f"/api/cases/{number}", json={"status": "in_progress"}, headers={"X-CSRF-Token": token})
        assert r.status_code == 200 and r.json()["status"] == "in_progress"




async def test_https_cookies_language_switch_unknown_users_and_redirects(world):
    async with world.client(https=True) as c:
        r = await sign_in(c, "w1")
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("xz_session="))
    assert "Secure" in cookie
    async with world.client() as c:
        r = await c.get("/signin?lang=en")
        assert "Sign in" in r.text and "Username" in r.text
        assert any(h.startswith("xz_lang=en") for h in r.headers.get_list("set-cookie"))
        assert "Sign in" in (await c.get("/signin")).text  # remembered by the cookie
        assert "用户名" in (await c.get("/signin?lang=zh")).text
    async with world.client() as c:
        r = await sign_in(c, "nobody", "whatever1")
        assert r.status_code == 401 and "用户名或密码不对" in r.text
    async with world.client() as c:
        page = await c.get("/signin?next=//evil.example/x")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = await c.post("/signin", data={"username": "w1", "password": PASSWORD, "csrf_token": token,
                                          "next": "https://evil.example/"})
        assert r.headers["location"] == "/"


async def test_sign_out_and_session_expiry(world):
    async with world.client() as c:
        await sign_in(c, "w1")
        token = csrf_of((await c.get("/")).text)
        r = await c.post("/signout", data={"csrf_token": "forged"})
        assert r.status_code == 403
        assert (await c.get("/")).status_code == 200  # still signed in
        cookie = c.cookies.get("xz_session")
        r = await c.post("/signout", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/signin"
        r = await c.get("/")
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    async with world.client() as c:  # the old cookie is dead on the server too
        c.cookies.set("xz_session", cookie)
        assert (await c.get("/api/me")).status_code == 401
    async with world.client() as c:
        await sign_in(c, "w1")
        assert (await c.get("/api/me")).status_code == 200
        world.clock.advance(hours=12, seconds=1)
        assert (await c.get("/api/me")).status_code == 401
