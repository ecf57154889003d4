"""Resource linking through the JSON API: offers, approval, matching, confirmation."""
import pytest
from sqlalchemy import select

from storage import staff as staff_service
from storage import staff_access
from storage.models import Offer, OutboxMessage
from tests.api.test_staff_cli import xiangzhu


async def _post_offer(world, who, **kw):
    body = {"offerer_kind": "organisation", "offerer_name": "县爱心协会", "categories": ["medical"],
            "description": "免费体检", "quantity": 1, "unit": "人", "contact": "13900001111", **kw}
    async with world.client(who) as c:
        return await c.post("/api/offers", json=body)


async def test_offer_approved_matched_confirmed_and_the_villager_told(world):
    r = await _post_offer(world, "w1", area="v1")
    assert r.status_code == 201, r.text
    offer = r.json()
    assert offer["status"] == "new" and offer["contact"] == "13900001111"
    case = world.ids["case_p1"]
    async with world.client("w1") as c:
        assert (await c.get(f"/api/cases/{case}/matches")).json()["candidates"] == []  # not approved yet
        r = await c.post(f"/api/offers/{offer['id']}/approve", json={"note": "核实过"})
        assert r.status_code == 200 and r.json()["status"] == "approved"
        found = (await c.get(f"/api/cases/{case}/matches")).json()["candidates"]
        assert [(f["id"], f["exact_category"], f["place"]) for f in found] == [(offer["id"], True, "village")]
        assert found[0]["contact"] == "139****1111"
        cands = (await c.get(f"/api/offers/{offer['id']}/matches")).json()["candidates"]
        assert [x["number"] for x in cands] == [case]
        r = await c.post("/api/matches", json={"offer_id": offer["id"], "case": case})
        assert r.status_code == 201, r.text
        match = r.json()
        assert match["status"] == "tentative"
        r = await c.patch(f"/api/matches/{match['id']}", json={"action": "confirm", "when": "下周一上午",
                                                                "offerer_called": True})
        assert r.status_code == 200, r.text
        assert [e["kind"] for e in r.json()["log"]] == ["status", "status", "call", "told_villager"]
        # used up: no further match offered
        assert (await c.get(f"/api/cases/{case}/matches")).json()["candidates"] == []
        assert (await c.get(f"/api/offers/{offer['id']}/matches")).json()["candidates"] == []
        r = await c.patch(f"/api/matches/{match['id']}", json={"action": "confirm"})
        assert r.status_code == 422 and " / " in r.json()["error"]
        assert (await c.patch(f"/api/matches/{match['id']}", json={"action": "deliver"})).status_code == 200
        r = await c.patch(f"/api/matches/{match['id']}", json={"action": "receipt", "note": "电话里说收到了"})
        assert r.json()["status"] == "acknowledged"
    async with world.db.session() as s:
        sent = [o for o in (await s.execute(select(OutboxMessage).where(OutboxMessage.recipient == "tg-1001")))
                .scalars() if "县爱心协会" in o.text]
        assert len(sent) == 1 and "下周一上午" in sent[0].text and case in sent[0].text
        assert (await s.get(Offer, offer["id"])).remaining == 0


async def test_area_rules_for_offers(world):
    own = (await _post_offer(world, "w1", area="v1")).json()
    county_wide = (await _post_offer(world, "admin", offerer_name="县民政局", offerer_kind="programme")).json()
    assert (await _post_offer(world, "w3", area="v1")).status_code == 422  # not their area
    async with world.client("w3") as c:
        seen = [o["id"] for o in (await c.get("/api/offers")).json()["offers"]]
        assert seen == [county_wide["id"]]
        assert (await c.get(f"/api/offers/{own['id']}")).status_code == 404
        assert (await c.post(f"/api/offers/{own['id']}/approve")).status_code == 404
        assert (await c.post(f"/api/offers/{county_wide['id']}/approve")).status_code == 403  # a supervisor's
        assert (await c.get(f"/api/offers/{county_wide['id']}")).json()["contact"] == "139****1111"
    async with world.client("sup") as c:
        seen = {o["id"] for o in (await c.get("/api/offers")).json()["offers"]}
        assert seen == {own["id"], county_wide["id"]}
        assert (await c.post(f"/api/offers/{county_wide['id']}/block")).json()["status"] == "blocked"
    async with world.client("viewer") as c:
        assert (await c.get("/api/offers")).status_code == 403
        summary = (await c.get("/api/offers/summary")).json()
        assert summary["offers_by_status"] == {"new": 1, "blocked": 1}
        assert summary["offers_by_category"] == {"medical": 2}
    async with world.client() as c:
        paths = (await c.get("/openapi.json")).json()["paths"]
        for p in ("/api/offers", "/api/offers/{offer_id}/approve", "/api/offers/{offer_id}/matches",
                  "/api/cases/{number}/matches", "/api/matches", "/api/matches/{match_id}"):
            assert p in paths


async def test_a_viewer_with_areas_counts_only_their_offers(world):
    await _post_offer(world, "w1", area="v1")
    await _post_offer(world, "w3", area="v3", categories=["education"])
    await _post_offer(world, "admin", offerer_name="县民政局", offerer_kind="programme")
    async with world.db.session() as s:
        await staff_service.create_user(s, "viewer_t2", roles=["viewer"], area_codes=["t2"])
        _, world.tokens["viewer_t2"] = await staff_access.create_token(s, "viewer_t2-token", username="viewer_t2")
        await s.commit()
    async with world.client("viewer_t2") as c:
        summary = (await c.get("/api/offers/summary")).json()
    # v3's offer and the county-wide one; not v1's (another township)
    assert summary["offers_by_category"] == {"education": 1, "medical": 1}
    async with world.client("viewer") as c:  # no areas: the whole county
        assert (await c.get("/api/offers/summary")).json()["offers_by_category"] == {"education": 1, "medical": 2}


async def test_bad_offer_input_is_answered_in_words(world):
    r = await _post_offer(world, "w1", area="v1", categories=["firewood"])
    assert r.status_code == 422 and "categories" in r.json()["error"]
    r = await _post_offer(world, "w1", area="v1", unit="斤")
    assert r.status_code == 422
    r = await _post_offer(world, "w1", area="nowhere")
    assert r.status_code == 422 and "nowhere" in r.json()["error"]
    async with world.client("viewer") as c:
        r = await c.post("/api/offers", json={"offerer_kind": "person", "offerer_name": "x", "categories": ["medical"]})
        assert r.status_code == 403


@pytest.mark.slow
async def test_cli_lists_approves_blocks_and_matches(world, db_url):
    offer = (await _post_offer(world, "w1", area="v1")).json()
    case = world.ids["case_p1"]
    r = xiangzhu(db_url, "match", case)
    assert r.returncode == 0 and "no offer fits" in r.stdout
    r = xiangzhu(db_url, "offers", "approve", str(offer["id"]), "--note", "核实过")
    assert r.returncode == 0, r.stderr
    r = xiangzhu(db_url, "offers", "list", "--status", "approved")
    assert f"#{offer['id']}\tapproved\t县爱心协会" in r.stdout
    r = xiangzhu(db_url, "match", case)
    assert r.returncode == 0 and f"#{offer['id']}" in r.stdout and "同类/village" in r.stdout
    r = xiangzhu(db_url, "offers", "block", str(offer["id"]))
    assert r.returncode == 0
    async with world.db.session() as s:
        assert (await s.get(Offer, offer["id"])).status == "blocked"
    r = xiangzhu(db_url, "offers", "approve", "999")
    assert r.returncode == 1 and "#999" in r.stderr
    r = xiangzhu(db_url, "match", "XZ-1999-000001")
    assert r.returncode == 1 and "XZ-1999-000001" in r.stderr
