"""Rendering a staff page: language, templates (Jinja2, autoescaped), cookies, the security
headers every page carries, and the signed-in caller of a page request."""
from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from bot import authz
from bot.api.common import now_of, services_of
from bot.authz import AuthError, Caller
from bot.web.texts import LANGS, TEXTS

LANG_COOKIE = "xz_lang"
TZ = ZoneInfo("Asia/Shanghai")

# Everything from our own origin; no inline script or style, no eval, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}


def _local(t: datetime | None) -> str:
    return t.astimezone(TZ).strftime("%m-%d %H:%M") if t else ""


# bot/web/templates; bot/templates holds the flow editor's pages (bot/web_flows.py)
env = Environment(loader=ChoiceLoader([FileSystemLoader(str(Path(__file__).parent / "templates")),
                                       FileSystemLoader(str(Path(__file__).parent.parent / "templates"))]),
                  autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
env.filters["local"] = _local


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


def key_of(request: Request) -> bytes:
    cached = getattr(request.app.state, "staff_secret_key", None)
    if cached is None:
        cached = secret_key(services_of(request).settings)
        request.app.state.staff_secret_key = cached
    return cached


# ── language, cookies, rendering ─────────────────────────────────────────────────────────


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in LANGS else "zh"


def texts(request: Request) -> dict:
    return TEXTS[lang_of(request)]


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=is_https(request),
                        path="/")


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def render_fragment(request: Request, template: str, **context) -> str:
    return env.get_template(template).render(t=texts(request), lang=lang_of(request), **context)


def render(request: Request, template: str, status_code: int = 200, *, who: Caller | None = None,
           **context) -> HTMLResponse:
    lang = lang_of(request)
    other = "en" if lang == "zh" else "zh"
    if who is not None:
        context.setdefault("csrf_token", who.csrf_token)
    html = env.get_template(template).render(
        t=TEXTS[lang], lang=lang, switch_url=f"{request.url.path}?lang={other}", who=who,
        here=request.url.path, **context)
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGS:
        set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 24 * 3600)
    return secure(response)


def message_page(request: Request, status_code: int, message: str, who: Caller | None = None) -> HTMLResponse:
    return render(request, "message.html", status_code, who=who, message=message)


def not_signed_in(request: Request) -> HTMLResponse:
    """For an event stream or file asked without a session: 401 (a browser page redirects instead)."""
    return message_page(request, 401, texts(request)["signin"])


def safe_next(target: str | None) -> str:
    """Only a local path: no scheme, no host, no `//`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def to_signin(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(here, safe='/')}", status_code=303)


def back_to(path: str) -> RedirectResponse:
    """After a form's change: see the page again (POST → 303 → GET)."""
    return secure(RedirectResponse(path, status_code=303))


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
