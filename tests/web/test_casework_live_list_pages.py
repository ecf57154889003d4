"""The case list's and the home page's live casework through the real ASGI app, on SQLite and
PostgreSQL (the world of tests/api/conftest.py): an open, filtered case list's event stream
(bot/web/live.py) gains a new case, follows a change of stage, assignee or flag, and loses a
case that leaves the filter — only ever within the worker's areas, villager text escaped; the
home page's stream follows the worker's overdue and due-today tasks as the clock moves and as
tasks are added or done through the JSON API. Each list poll costs one query while nothing
changed."""
from __future__ import annotations

import html
import re
from sqlalchemy import event, select

from storage import cases as case_service
from storage.casework import local_day
from storage.models import Area
from tests.web.test_casework_live_pages import XSS, parts, quick_streams  # noqa: F401 (a fixture)
from tests.web.test_inbox_pages import signed_in


def stream_url_of(page: str) -> str:
    return html.unescape(re.search(r'sse-connect="([^"]+)"', page).group(1))


def numbers_in(part: str) -> list[str]:
    return re.findall(r'data-number="([^"]+)"', part)


async def open_case(world, village_code: str, person_key: str, description: str) -> str:
    async with world.db.session() as s:
        village = (await s.execute(select(Area).where(Area.code == village_code))).scalar_one()
        case = await case_service.open_case(s, person_id=world.ids[person_key], category="housing",
                                            description=description, village_id=village.id, now=world.clock())
        return case.number


async def test_the_open_filtered_list_follows_new_and_changed_cases_within_the_areas(world, quick_streams):
    first = world.ids["case_p1"]
    async with signed_in(world, "w1") as c, world.client("sup") as sup:
        page = (await c.get("/cases?stage=received&q=&view=")).text
        url = stream_url_of(page)
        assert url == "/cases/events?stage=received"
        assert numbers_in(parts((await c.get(url)).text)["list"]) == [first]

        mine = await open_case(world, "v1", "p1", f"屋顶漏雨{XSS}")  # as an intake would, in w1's village
        theirs = await open_case(world, "v3", "p3", "柳树村的新个案")  # another township's
        listed = parts((await c.get(url)).text)["list"]
        assert set(numbers_in(listed)) == {first, mine} and theirs not in listed and "柳树村" not in listed
        assert "屋顶漏雨&lt;img src=x onerror=alert(1)&gt;" in listed and "<img src=x" not in listed

        # a change of assignee and a flag show on the row; a change of stage moves it out
        assert (await sup.patch(f"/api/cases/{first}", json={"assignee": "w1"})).status_code == 200
        assert (await sup.post(f"/api/people/{world.ids['p1']}/flags", json={"reason": "因病"})).status_code == 201
        changed = parts((await c.get(url)).text)["list"]
        assert "w1工" in changed and changed.count('class="badge flagged"') == 2  # both of p1's cases
        assert (await sup.post(f"/api/cases/{first}/stage", json={"stage": "assessed"})).status_code == 200
        assert numbers_in(parts((await c.get(url)).text)["list"]) == [mine]

        # a search keeps to its words; the supervisor's list of the whole township, not 柳河镇
        searched = parts((await c.get("/cases/events?q=" + "屋顶")).text)["list"]
        assert numbers_in(searched) == [mine]
    async with signed_in(world, "sup") as s_page:
        everything = numbers_in(parts((await s_page.get("/cases/events")).text)["list"])
        assert set(everything) == {first, mine} and theirs not in everything


async def test_a_quiet_list_poll_costs_one_query(world, quick_streams):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    async with signed_in(world, "w1") as c:
        await c.get("/cases/events?status=new")  # warm: the first poll renders
        event.listen(world.db.engine.sync_engine, "before_cursor_execute", count)
        try:
            body = (await c.get("/cases/events?status=new")).text
        finally:
            event.remove(world.db.engine.sync_engine, "before_cursor_execute", count)
    polls = body.count("event: list")
    assert polls == 1  # a new stream sends the list once, then nothing while nothing changes
    rendering = [q for q in statements if "FROM need_requests" in q and "need_requests.description" in q]
    versions = [q for q in statements if "need_requests.updated_at" in q and "need_requests.description" not in q]
    polls = [q for q in statements if "FROM staff_sessions" in q and q.lstrip().upper().startswith("SELECT")][1:]
    assert len(rendering) == 1  # rendered once, on the first poll
    assert len(versions) == len(polls) >= 1  # each poll asked the one version query


async def test_the_home_page_follows_overdue_and_due_today_tasks(world, quick_streams):
    number = world.ids["case_p1"]
    world.clock.advance(hours=13)  # 23:00 in Asia/Shanghai
    async with signed_in(world, "w1") as c, world.client("sup") as sup:
        page = (await c.get("/")).text
        assert 'sse-connect="/live/home"' in page and 'id="casework-box"' in page
        before = parts((await c.get("/live/home")).text)
        assert set(before) == {"counts", "casework", "new", "mine"}
        assert 'id="need-overdue">0<' in before["casework"] and 'id="overdue-tasks"' not in before["casework"]

        today = local_day(world.clock()).isoformat()
        r = await sup.post(f"/api/cases/{number}/tasks", json={"title": f"家访{XSS}", "due": today, "assignee": "w1"})
        assert r.status_code == 201, r.text
        task_id = r.json()["tasks"][0]["id"]
        due = parts((await c.get("/live/home")).text)["casework"]
        assert f'data-task="{task_id}"' in due and 'id="today-tasks"' in due and 'id="need-today">1<' in due
        assert "家访&lt;img src=x onerror=alert(1)&gt;" in due and "<img src=x" not in due

        world.clock.advance(hours=2)  # past midnight the same task is overdue
        late = parts((await c.get("/live/home")).text)["casework"]
        assert 'id="overdue-tasks"' in late and f'data-task="{task_id}"' in late and 'id="need-overdue">1<' in late
        assert 'id="today-tasks"' not in late

        assert (await sup.patch(f"/api/cases/{number}/tasks/{task_id}", json={"done": True})).status_code == 200
        done = parts((await c.get("/live/home")).text)["casework"]
        assert f'data-task="{task_id}"' not in done and 'id="need-overdue">0<' in done

        # another area's worker's home never shows w1's task
        theirs = await sup.post(f"/api/cases/{number}/tasks",
                                json={"title": "电话回访", "due": today,
                                      "assignee": "w1"})
        assert theirs.status_code == 201
    async with signed_in(world, "w3") as w3:
        assert "电话回访" not in parts((await w3.get("/live/home")).text)["casework"]


async def test_no_list_stream_for_a_viewer_or_anonymous(world, quick_streams):
    async with signed_in(world, "viewer") as viewer:
        assert (await viewer.get("/cases/events")).status_code == 404
    async with world.client() as anonymous:
        assert (await anonymous.get("/cases/events")).status_code == 401


async def test_the_home_page_counts_follow_new_cases_within_the_areas(world, quick_streams):
    async with signed_in(world, "w1") as c:
        page = (await c.get("/")).text
        assert 'sse-swap="counts"' in page
        shown = re.search(r'id="count-cases">(\d+)<', page).group(1)
        before = parts((await c.get("/live/home")).text)["counts"]
        assert f'id="count-cases">{shown}<' in before

        await open_case(world, "v1", "p1", "屋顶漏雨")  # in w1's village
        await open_case(world, "v3", "p3", "柳树村的新个案")  # another township's: not counted
        after = parts((await c.get("/live/home")).text)["counts"]
        assert f'id="count-cases">{int(shown) + 1}<' in after
