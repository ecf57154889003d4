"""The staff JSON API under /api (documented at /openapi.json), one module per resource:

    common.py      errors, the signed-in caller, shapes shared by the resources
    me.py          /me, /areas
    cases.py       /cases
    casework.py    /cases/{number}/stage|plan|tasks|referrals, /tasks, /agencies
    handoffs.py    /handoffs
    reports.py     /reports (aggregated figures)
    activities.py  /activities
    people.py      /people
    flags.py       /people/{id}/flags (return-to-poverty watch)
    broadcasts.py  /broadcasts
    campaigns.py   /campaigns
    flows.py       /flows (the flow editor's API)
    content.py     /policies
    offers.py      /offers, /matches, /cases/{number}/matches (resource linking)
    exports.py     /exports/*.csv (records: admins, audited; totals: everyone in their areas), /reports/charts
    audit.py       /audit (the audit log: admins, supervisors)

Callers authenticate with `Authorization: Bearer TOKEN` (`xiangzhu admin token`) or, from the
browser, with the web session cookie plus the `X-CSRF-Token` header on changes. Access is
decided in bot/authz.py; reads and state changes go through the storage services, which tell
the villager through the outbox. A record outside the caller's areas answers 404, like one that
does not exist. Errors are `{"error": "<中文 / English>"}`.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.api import activities, audit, broadcasts, campaigns, cases, casework, content, exports, flags, flows, handoffs, me, offers, people, reports
from bot.api.common import ApiError
from bot.authz import AuthError

__all__ = ["mount"]

RESOURCES = (me, cases, casework, handoffs, activities, people, flags, broadcasts, campaigns, flows, content, offers, reports, exports, audit)


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status,
                        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


async def _on_api_error(request: Request, exc: ApiError):
    return _error(exc.status, exc.message, **exc.extra)


async def _on_auth_error(request: Request, exc: AuthError):
    return _error(exc.status, exc.message)


async def _on_validation(request: Request, exc: RequestValidationError):
    if not _is_api(request):
        return await request_validation_exception_handler(request, exc)
    details = [f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
    return _error(422, "请求的内容不对 / the request is not valid: " + "; ".join(details), details=details)


async def _on_http(request: Request, exc: StarletteHTTPException):
    if not _is_api(request):
        return await http_exception_handler(request, exc)
    words = {404: ("没有这个地址", "no such address"), 405: ("不支持这个方法", "method not allowed")}
    zh, en = words.get(exc.status_code, ("请求出错", str(exc.detail)))
    return _error(exc.status_code, f"{zh} / {en}")


def mount(app: FastAPI, services) -> None:
    """Add the /api routes and their JSON error handling to the application."""
    if getattr(app.state, "services", None) is None:
        app.state.services = services
    for resource in RESOURCES:
        app.include_router(resource.router)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(AuthError, _on_auth_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
