"""Staff web pages: sign-in, a bare home page and sign-out (server-rendered, Chinese first,
`?lang=en` or the `xz_lang` cookie for English). Later admin pages build on `page_caller`,
`render` and `form_csrf_ok`.

Security: a server-side session (table staff_sessions; the cookie holds a random value, the
database its hash), cookies HttpOnly + SameSite=Lax + Secure under HTTPS, a CSRF token in
every state-changing form (the sign-in form too: a signed double-submit token bound to a
pre-session cookie), lockout after repeated wrong passwords (storage/staff.py).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select

from bot import authz
from bot.api.common import now_of, services_of
from bot.authz import SESSION_COOKIE, AuthError, Caller
from storage import staff as staff_service
from storage import staff_access
from storage.cases import OPEN_STATUSES
from storage.models import Handoff, NeedRequest, Staff

LANG_COOKIE = "xz_lang"
PRE_COOKIE = "xz_pre"  # binds the sign-in form's CSRF token to this browser
LANGS = ("zh", "en")

TEXTS = {
    "zh": {
        "title": "乡助 · 社工平台", "signin": "登录", "username": "用户名", "password": "密码",
        "signin_button": "登录", "signout": "退出登录", "home": "工作台", "hello": "您好",
        "role": "角色", "areas": "负责地区", "none": "无", "open_handoffs": "等待中的转人工对话",
        "open_cases": "未结的个案", "switch": "English", "signed_out": "您已退出登录。",
        "csrf": "页面已过期，请重新登录。", "api_hint": "接口文档", "roles": {
            "admin": "管理员", "supervisor": "督导", "worker": "社工", "viewer": "查看员"},
    },
    "en": {
        "title": "Xiangzhu · staff", "signin": "Sign in", "username": "Username", "password": "Password",
        "signin_button": "Sign in", "signout": "Sign out", "home": "Home", "hello": "Hello",
        "role": "Role", "areas": "Areas", "none": "none", "open_handoffs": "Waiting handoffs",
        "open_cases": "Open cases", "switch": "中文", "signed_out": "You are signed out.",
        "csrf": "The page expired; please sign in again.", "api_hint": "API documentation", "roles": {
            "admin": "admin", "supervisor": "supervisor", "worker": "social worker", "viewer": "viewer"},
    },
}

_env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

router = APIRouter(include_in_schema=False)


# ── secret key ───────────────────────────────────────────────────────────────────────────


def secret_key(settings) -> bytes:
    """XIANGZHU_SECRET_KEY, or a key generated once into data_dir/secret_key (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode("utf-8")


def _key(request: Request) -> bytes:
    cached = getattr(request.app.state, "staff_secret_key", None)
    if cached is None:
        cached = secret_key(services_of(request).settings)
        request.app.state.staff_secret_key = cached
    return cached


def _presession_csrf(request: Request, pre: str) -> str:
    return hmac.new(_key(request), b"signin:" + pre.encode(), hashlib.sha256).hexdigest()


# ── language, cookies, rendering ─────────────────────────────────────────────────────────


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in LANGS else "zh"


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=_is_https(request),
                        path="/")


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    lang = lang_of(request)
    other = "en" if lang == "zh" else "zh"
    html = _env.get_template(template).render(
        t=TEXTS[lang], lang=lang, switch_url=f"{request.url.path}?lang={other}", **context)
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGS:
        set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 24 * 3600)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _safe_next(target: str | None) -> str:
    """Only a local path: no scheme, no host, no `//`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def to_signin(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(here, safe='/')}", status_code=303)


async def page_caller(request: Request, *, form_csrf: str | None = None) -> Caller | None:
    """The signed-in staff member of a page request, or None (the page redirects to sign-in).
    POST pages pass the form's csrf_token; a wrong one raises AuthError(403)."""
    services = services_of(request)
    async with services.db.session() as s:
        try:
            return await authz.authenticate(s, request, now=now_of(services), form_csrf=form_csrf)
        except AuthError as exc:
            if exc.status == 401:
                return None
            raise


# ── pages ────────────────────────────────────────────────────────────────────────────────


def _signin_page(request: Request, *, error: str = "", username: str = "", status_code: int = 200) -> HTMLResponse:
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "signin.html", status_code, error=error, username=username,
                      csrf_token=_presession_csrf(request, pre), next=_safe_next(request.query_params.get("next")))
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
    lang = lang_of(request)
    if not pre or not hmac.compare_digest(sent, _presession_csrf(request, pre)):
        return _signin_page(request, error=TEXTS[lang]["csrf"], username=username, status_code=403)
    services = services_of(request)
    now = now_of(services)
    async with services.db.session() as s:
        result = await staff_service.verify_password(s, username, password, now=now)
        new = await staff_access.create_session(s, result.staff, now=now) if result.staff else None
    if new is None:
        return _signin_page(request, error=result.error, username=username, status_code=423 if result.locked else 401)
    response = RedirectResponse(_safe_next(str(form.get("next", "")) or None), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, new.cookie,
               max_age=int((new.expires_at - now).total_seconds()))
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/signout")
async def signout(request: Request):
    form = await request.form()
    try:
        who = await page_caller(request, form_csrf=str(form.get("csrf_token", "")))
    except AuthError:
        return render(request, "message.html", 403, message=TEXTS[lang_of(request)]["csrf"])
    if who is not None:
        async with services_of(request).db.session() as s:
            await staff_access.end_session(s, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_is_https(request))
    return response


@router.get("/")
async def home(request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    scope = who.scope
    async with services_of(request).db.session() as s:
        staff = await s.get(Staff, scope.staff_id)
        areas = [a.name if lang_of(request) == "zh" or not a.name_en else a.name_en for a in staff.areas]
        counts = None
        if not scope.is_viewer:
            handoffs = (await s.execute(select(func.count()).select_from(Handoff).where(
                authz.handoff_filter(scope), Handoff.status == "waiting"))).scalar_one()
            cases = (await s.execute(select(func.count()).select_from(NeedRequest).where(
                authz.case_filter(scope), NeedRequest.status.in_(OPEN_STATUSES)))).scalar_one()
            counts = {"handoffs": handoffs, "cases": cases}
    return render(request, "home.html", staff=staff, role=scope.role, areas=areas, counts=counts,
                  csrf_token=who.csrf_token)


def mount(app: FastAPI, services) -> None:
    if getattr(app.state, "services", None) is None:
        app.state.services = services
    app.include_router(router)


__all__ = ["mount", "page_caller", "render", "secret_key", "lang_of", "to_signin"]
