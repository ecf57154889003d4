"""The staff API and pages through the real ASGI app (`create_app`), on SQLite and PostgreSQL.

World: county c → township t (villages v1, v2) and township t2 (village v3).
Staff: admin (all), sup (township t), w1 (village v1), w3 (village v3), viewer.
Villagers: p1 in v1, p3 in v3, each with a case, an open handoff and a messenger identity.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import httpx
import pytest
from argon2 import PasswordHasher

from bot.app import create_app
from bot.services import Services
from tests.standin import StandinHandler, StandinNLU

from bot.config import load_settings
from storage import cases as case_service
from storage import handoffs as handoff_service
from storage import staff as staff_service
from storage import staff_access
from storage.db import Database
from storage.models import Activity, ChannelIdentity, Enrollment, Person
from tests.api.helpers import PASSWORD
from tests.support import add_areas

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Asia/Shanghai


class ManualClock:
    """A clock the test moves by hand (the lockout runs out without waiting)."""

    def __init__(self, now: datetime):
        self.current = now

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kw) -> None:
        self.current += timedelta(**kw)


@dataclass
class World:
    app: object
    db: Database
    clock: ManualClock
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, object] = field(default_factory=dict)

    def client(self, who: str | None = None, *, https: bool = False) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="https://testserver" if https else "http://testserver",
                                 headers=headers, follow_redirects=False)


def build_app(settings, db: Database, clock: ManualClock):
    # No villager conversation happens in these tests: the keyword stand-ins spare loading
    # the NLU model and the flow engine; everything else (database, outbox, routes) is real.
    services = Services(settings, db, clock=clock, nlu=StandinNLU(), handler=StandinHandler())
    return create_app(settings, services=services)


@lru_cache(maxsize=1)
def password_hash() -> str:
    """An argon2 hash of PASSWORD, as storage.staff makes it, once per session instead of once
    per test (0.2 s of CPU each here)."""
    return PasswordHasher().hash(PASSWORD)


async def seed(db: Database, world: World) -> None:
    async with db.session() as s:
        areas = await add_areas(
            s, ("c", "青山县", "county", None, "Qingshan County"), ("t", "石桥镇", "township", "c", "Shiqiao"),
            ("t2", "柳河镇", "township", "c", "Liuhe"), ("v1", "东坡村", "village", "t"),
            ("v2", "西坡村", "village", "t"), ("v3", "柳树村", "village", "t2"))
        v1, v3 = areas["v1"], areas["v3"]
        for name, roles, areas in (("admin", ["admin"], []), ("sup", ["supervisor"], ["t"]),
                                   ("w1", ["worker"], ["v1"]), ("w3", ["worker"], ["v3"]),
                                   ("viewer", ["viewer"], [])):
            # argon2 is slow on purpose: only w1 signs in through the web in these tests, with
            # the session's one hash of PASSWORD (a real argon2 hash, verified at each sign-in)
            user = await staff_service.create_user(s, name, roles=roles, area_codes=areas, display_name=f"{name}工")
            if name == "w1":
                user.password_hash = password_hash()
            _, world.tokens[name] = await staff_access.create_token(s, f"{name}-token", username=name)
        for key, village, ext in (("p1", v1, "tg-1001"), ("p3", v3, "tg-3003")):
            p = Person(display_name=f"村民{key}", village_id=village.id, phone="13812345678",
                       consent_given=True, consent_at=NOW)
            s.add(p)
            await s.flush()
            s.add(ChannelIdentity(channel="telegram", external_id=ext, person_id=p.id, last_inbound_at=NOW))
            case = await case_service.open_case(s, person_id=p.id, category="medical", description=f"{key} 看病难",
                                                village_id=village.id, phone="13812345678", now=NOW)
            h, _ = await handoff_service.open_handoff(s, p.id, summary=f"{key} 想找社工", now=NOW)
            world.ids[key] = p.id
            world.ids[f"case_{key}"] = case.number
            world.ids[f"handoff_{key}"] = h.id
        a1 = Activity(kind="activity", title="巧娘班", place="党群活动室", starts_at=NOW + timedelta(days=7),
                      area_id=v1.id, capacity=10)
        a3 = Activity(kind="activity", title="广场舞", place="村委会", starts_at=NOW + timedelta(days=7),
                      area_id=v3.id)
        s.add_all([a1, a3])
        await s.flush()
        s.add_all([Enrollment(activity_id=a1.id, person_id=world.ids["p1"], status="confirmed"),
                   Enrollment(activity_id=a3.id, person_id=world.ids["p3"], status="confirmed")])
        world.ids["activity_v1"], world.ids["activity_v3"] = a1.id, a3.id


@pytest.fixture
async def world(db_url, tmp_path):
    settings = load_settings(database_url=db_url, data_dir=tmp_path / "data", secret_key="test-secret-key")
    db = Database(db_url)
    clock = ManualClock(NOW)
    w = World(app=build_app(settings, db, clock), db=db, clock=clock)
    await seed(db, w)
    yield w
    await db.dispose()
