"""Every route of the whole application refuses a caller who is not signed in — except the
few that must be public. New routes are picked up automatically."""
from __future__ import annotations

import re

import pytest
from starlette.routing import Mount, Route, WebSocketRoute

# Public on purpose: channel webhooks (they check their own signatures/tokens), health and
# metrics probes, the sign-in form, static files and the API documentation.
PUBLIC = re.compile(
    r"^(/webhooks(/.*)?|/healthz|/metrics|/signin|/static(/.*)?|/openapi\.json|/docs(/.*)?|/redoc)$")

SAMPLE = {"number": "XZ-2026-000001", "flow_id": "greeting", "path": "x"}


def _concrete(path: str) -> str:
    return re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: SAMPLE.get(m.group(1), "1"), path)


def app_routes(routes, prefix: str = ""):
    """(path, methods) of every route, descending into included routers. FastAPI ≥ 0.160
    keeps an included router as one lazy entry (`original_router` + `include_context`)."""
    for route in routes:
        if hasattr(route, "original_router"):
            ctx = getattr(route, "include_context", None)
            yield from app_routes(route.original_router.routes, prefix + getattr(ctx, "prefix", ""))
        elif isinstance(route, (Mount, WebSocketRoute)):
            yield prefix + route.path, {"GET"}
        elif isinstance(route, Route) or hasattr(route, "methods"):
            yield prefix + route.path, set(route.methods or {"GET"}) - {"HEAD"}


def refused(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code in (302, 303, 307) and response.headers.get("location", "").startswith("/signin")


async def test_every_route_refuses_anonymous_requests(world):
    checked = []
    async with world.client() as c:
        for path, methods in app_routes(world.app.routes):
            if PUBLIC.match(path):
                continue
            for method in sorted(methods):
                url = _concrete(path)
                r = await c.request(method, url, json={})
                assert refused(r), f"{method} {path} answered {r.status_code} to an anonymous caller: {r.text[:200]}"
                if path.startswith("/api/"):
                    assert r.status_code == 401
                    assert "error" in r.json() and "sign in" in r.json()["error"]
                checked.append(f"{method} {path}")
    # the staff API and pages are among the routes checked
    for expected in ("GET /api/cases", "PATCH /api/cases/{number}", "POST /api/handoffs/{handoff_id}/claim",
                     "PUT /api/flows/{flow_id}", "GET /api/me", "GET /", "POST /signout"):
        assert expected in checked


async def test_bad_tokens_refused_and_public_routes_stay_public(world):
    async with world.client() as c:
        for header in ("Bearer xz_not-a-real-token", "Basic YWRtaW46eA==", "Bearer "):
            r = await c.get("/api/cases", headers={"Authorization": header})
            assert r.status_code == 401, header
            assert "token" in r.json()["error"]
    async with world.client() as c:
        assert (await c.get("/signin")).status_code == 200
        spec = (await c.get("/openapi.json")).json()
    for path in ("/api/cases", "/api/cases/{number}", "/api/handoffs/{handoff_id}/messages", "/api/flows/{flow_id}",
                 "/api/people/{person_id}", "/api/activities/{activity_id}/enrollments", "/api/policies",
                 "/api/areas", "/api/me"):
        assert path in spec["paths"], path
    assert "/signin" not in spec["paths"]  # pages are not part of the API documentation
