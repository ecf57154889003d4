"""The staff web: server-rendered pages (Jinja2, autoescaped), Chinese first with an English
switch, phone-sized first. Sign-in (signin.py), the inbox (inbox.py: home, live queue,
conversations and their forms), casework (casework.py: the case list and a case's plan,
tasks, referrals and stage), the agencies admins keep (agencies.py), saved answers (answers.py),
the supervisor's view (supervise.py), the dashboard with its charts and CSV links
(dashboard.py), the audit log (audit_log.py), administration (activities.py, people.py,
hotlines.py, knowledge.py, staff_accounts.py, areas.py), campaigns and broadcasts
(campaigns.py, broadcasts.py); live parts by server-sent events (live.py).

Front-end libraries (htmx, its SSE extension and Apache ECharts) come from the npm registry into
bot/web/assets/node_modules (`make web-assets`) and are served from /static/vendor with our
own stylesheet from /static: nothing is loaded from the internet, and every page carries a
strict Content-Security-Policy (rendering.py).
"""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.web import (activities, agencies, answers, areas, audit_log, broadcasts, campaigns, casework, dashboard,
                     hotlines, inbox, knowledge, offers, people, signin, staff_accounts, supervise)
from bot.web.rendering import lang_of, page_caller, render, secret_key, to_signin

__all__ = ["mount", "page_caller", "render", "secret_key", "lang_of", "to_signin", "VENDOR"]

log = logging.getLogger("xiangzhu.web")

HERE = Path(__file__).parent
MODULES = HERE / "assets" / "node_modules"
# /static/vendor/<name> → the file the npm package ships
VENDOR = {
    "htmx.min.js": MODULES / "htmx.org" / "dist" / "htmx.min.js",
    "sse.min.js": MODULES / "htmx-ext-sse" / "dist" / "sse.min.js",
    "echarts.min.js": MODULES / "echarts" / "dist" / "echarts.min.js",
}


def _vendor_route(app: FastAPI) -> None:
    missing = [str(p) for p in VENDOR.values() if not p.is_file()]
    if missing:
        log.warning("staff web: front-end libraries missing (run `make web-assets`): %s", ", ".join(missing))

    @app.get("/static/vendor/{name}", include_in_schema=False)
    async def vendor(name: str):
        path = VENDOR.get(name)
        if path is None or not path.is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


def mount(app: FastAPI, services) -> None:
    if getattr(app.state, "services", None) is None:
        app.state.services = services
    for module in (signin, inbox, casework, answers, supervise, offers, agencies, dashboard, audit_log, activities,
                   people, hotlines, knowledge, staff_accounts, areas, campaigns, broadcasts):
        app.include_router(module.router)
    _vendor_route(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
