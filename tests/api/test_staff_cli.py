"""`xiangzhu admin …` and `xiangzhu workers …` run as real subprocesses against the test
database; their effects are checked through the API and the database."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from storage import staff as staff_service
from storage import staff_access
from storage import staff_invites
from storage.models import Handoff, Staff

pytestmark = pytest.mark.slow


def xiangzhu(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)


async def test_create_user_token_revoke(world, db_url):
    r = xiangzhu(db_url, "admin", "create-user", "wangfang", "--role", "worker", "--areas", "v1,v2",
                 "--name", "王芳", "--password-stdin", stdin="a good password\n")
    assert r.returncode == 0, r.stderr
    assert "wangfang" in r.stdout
    async with world.db.session() as s:
        assert (await staff_service.verify_password(s, "wangfang", "a good password")).staff is not None
    r = xiangzhu(db_url, "admin", "create-user", "li", "--role", "worker", "--areas", "nowhere", "--no-password")
    assert r.returncode == 1 and "nowhere" in r.stderr

    r = xiangzhu(db_url, "admin", "token", "wf-phone", "--user", "wangfang")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]
    async with world.client() as c:
        me = (await c.get("/api/me", headers={"Authorization": f"Bearer {token}"})).json()
        assert me["username"] == "wangfang" and me["areas"] == ["v1", "v2"]

    r = xiangzhu(db_url, "admin", "token", "reports", "--role", "viewer")
    assert r.returncode == 0, r.stderr
    viewer_token = r.stdout.strip().splitlines()[-1]
    async with world.client() as c:
        r2 = await c.get("/api/cases/summary", headers={"Authorization": f"Bearer {viewer_token}"})
        assert r2.status_code == 200 and r2.json()["total"] == 2

    r = xiangzhu(db_url, "admin", "revoke", "wf-phone")
    assert r.returncode == 0 and "1" in r.stdout
    async with world.client() as c:
        assert (await c.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
        assert (await c.get("/api/me", headers={"Authorization": f"Bearer {viewer_token}"})).status_code == 200


async def test_invite_then_deactivate(world, db_url):
    r = xiangzhu(db_url, "workers", "invite", "zhao", "--areas", "v1")
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"/start w-([A-Z0-9]+)", last)
    assert m, r.stdout
    async with world.db.session() as s:
        staff = await staff_invites.redeem_invite(s, last, "telegram", "tg-zhao")
        assert staff.username == "zhao" and staff.roles == ["worker"]
    hid = world.ids["handoff_p1"]
    async with world.db.session() as s:
        _, token = await staff_access.create_token(s, "zhao-token", username="zhao")
    async with world.client() as c:
        r2 = await c.post(f"/api/handoffs/{hid}/claim", headers={"Authorization": f"Bearer {token}"})
        assert r2.status_code == 200

    r = xiangzhu(db_url, "workers", "deactivate", "zhao")
    assert r.returncode == 1 and "--reassign-to" in r.stderr
    r = xiangzhu(db_url, "workers", "deactivate", "zhao", "--reassign-to", "w1")
    assert r.returncode == 0, r.stderr
    assert "1" in r.stdout
    async with world.db.session() as s:
        w1 = (await s.execute(select(Staff).where(Staff.username == "w1"))).scalar_one()
        assert (await s.get(Handoff, hid)).claimed_by_staff_id == w1.id
    async with world.client() as c:
        assert (await c.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
