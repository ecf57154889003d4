"""Small builders for storage tests."""
from datetime import datetime, timedelta, timezone

from storage.models import Activity, ChannelIdentity, Person, Staff, StaffArea
from tests.support import add_areas

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in Asia/Shanghai


async def make_areas(s):
    """A county, a township and two villages: (county, town, v1, v2)."""
    areas = await add_areas(s, ("c", "青山县", "county", None), ("t", "石桥镇", "township", "c"),
                            ("v1", "东坡村", "village", "t"), ("v2", "西坡村", "village", "t"))
    return tuple(areas.values())


async def make_person(s, ext="u1", channel="rest", village_id=None, locale="zh"):
    p = Person(display_name=ext, village_id=village_id, locale=locale, consent_given=True)
    s.add(p)
    await s.flush()
    s.add(ChannelIdentity(channel=channel, external_id=ext, person_id=p.id, last_inbound_at=NOW))
    await s.flush()
    return p


async def make_staff(s, username, roles, area_ids=(), duty=None, link_channel=None):
    st = Staff(username=username, display_name=username, roles=list(roles), on_duty=duty or {})
    s.add(st)
    await s.flush()
    for a in area_ids:
        s.add(StaffArea(staff_id=st.id, area_id=a))
    if link_channel:
        p = Person(display_name=username)
        s.add(p)
        await s.flush()
        s.add(ChannelIdentity(channel=link_channel, external_id=f"staff-{username}", person_id=p.id, staff_id=st.id))
    await s.flush()
    return st


async def make_activity(s, capacity=None, days=7, title="巧娘班"):
    a = Activity(kind="activity", title=title, place="党群活动室", starts_at=NOW + timedelta(days=days),
                 capacity=capacity, audience=["women"])
    s.add(a)
    await s.flush()
    return a
