"""Who may open an administration page: the signed-in caller of a GET, or of a POST whose form
carries the session's CSRF token, with the role the page needs. Anonymous GETs go to sign-in;
a wrong token is 403; a role too weak answers 404 like a missing record (ids cannot be probed).
"""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from bot.authz import AuthError, Caller
from bot.web.rendering import message_page, page_caller, texts, to_signin

WRITERS = ("admin", "supervisor", "worker")
ADMIN = ("admin",)


async def staff_caller(request: Request, form=None, *, roles: tuple[str, ...] = WRITERS
                       ) -> tuple[Caller | None, Response | None]:
    """(caller, None) when allowed, else (None, the response that refuses)."""
    try:
        who = await page_caller(request, form_csrf=None if form is None else str(form.get("csrf_token", "")))
    except AuthError:
        return None, message_page(request, 403, texts(request)["csrf"])
    if who is None:
        return None, to_signin(request) if form is None else message_page(request, 403, texts(request)["csrf"])
    if who.scope.role not in roles:
        return None, message_page(request, 404, texts(request)["not_found"], who)
    return who, None


def not_found(request: Request, who: Caller | None = None) -> Response:
    return message_page(request, 404, texts(request)["not_found"], who)
