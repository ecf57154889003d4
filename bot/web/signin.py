"""Sign-in and sign-out.

A server-side session (table staff_sessions; the cookie holds a random value, the database
its hash), cookies HttpOnly + SameSite=Lax + Secure under HTTPS, a CSRF token in every
state-changing form (the sign-in form too: a signed double-submit token bound to a
pre-session cookie), lockout after repeated wrong passwords (storage/staff.py).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.api.common import now_of, services_of
from bot.authz import SESSION_COOKIE, AuthError
from bot.web.rendering import (
    is_https,
    key_of,
    message_page,
    page_caller,
    render,
    safe_next,
    secure,
    set_cookie,
    texts,
)
from storage import staff as staff_service
from storage import staff_access

PRE_COOKIE = "xz_pre"  # binds the sign-in form's CSRF token to this browser

router = APIRouter(include_in_schema=False)


def _presession_csrf(request: Request, pre: str) -> str:
    return hmac.new(key_of(request), b"signin:" + pre.encode(), hashlib.sha256).hexdigest()


def _signin_page(request: Request, *, error: str = "", username: str = "", status_code: int = 200) -> HTMLResponse:
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "signin.html", status_code, error=error, username=username,
                      csrf_token=_presession_csrf(request, pre), next=safe_next(request.query_params.get("next")))
    set_cookie(request, response, PRE_COOKIE, pre)
    return response


@router.get("/signin")
async def signin_form(request: Request):
    return _signin_page(request)


@router.post("/signin")
async def signin(request: Request):
    form = await request.form()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    pre = request.cookies.get(PRE_COOKIE, "")
    sent = str(form.get("csrf_token", ""))
    if not pre or not hmac.compare_digest(sent, _presession_csrf(request, pre)):
        return _signin_page(request, error=texts(request)["csrf"], username=username, status_code=403)
    services = services_of(request)
    now = now_of(services)
    async with services.db.session() as s:
        result = await staff_service.verify_password(s, username, password, now=now)
        new = await staff_access.create_session(s, result.staff, now=now) if result.staff else None
    if new is None:
        return _signin_page(request, error=result.error, username=username, status_code=423 if result.locked else 401)
    response = RedirectResponse(safe_next(str(form.get("next", "")) or None), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, new.cookie,
               max_age=int((new.expires_at - now).total_seconds()))
    response.delete_cookie(PRE_COOKIE, path="/")
    return secure(response)


@router.post("/signout")
async def signout(request: Request):
    form = await request.form()
    try:
        who = await page_caller(request, form_csrf=str(form.get("csrf_token", "")))
    except AuthError:
        return message_page(request, 403, texts(request)["csrf"])
    if who is not None:
        async with services_of(request).db.session() as s:
            await staff_access.end_session(s, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
    return secure(response)
