"""Who may use the campaign and broadcast pages, and with which areas: admins (everything)
and supervisors (the areas they cover); everyone else is refused. A GET page answers a
missing session with the sign-in redirect; a POST checks the form's CSRF token."""
from __future__ import annotations

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.authz import AuthError, Caller, StaffScope
from bot.web.outreach_texts import OUT
from bot.web.rendering import lang_of, message_page, page_caller, texts, to_signin
from storage.areas import all_areas
from storage.models import Activity, Area

ROLES = ("admin", "supervisor")


def words(request: Request) -> dict:
    return OUT[lang_of(request)]


async def outreach_caller(request: Request, form=None):
    """(caller, None) for an admin or supervisor, else (None, the response to send)."""
    try:
        who = await page_caller(request, form_csrf=str(form.get("csrf_token", "")) if form is not None else None)
    except AuthError:
        return None, message_page(request, 403, texts(request)["csrf"])
    if who is None:
        return None, to_signin(request)
    if who.scope.role not in ROLES:
        return None, message_page(request, 403, texts(request)["forbidden"], who)
    return who, None


def not_found(request: Request, who: Caller):
    return message_page(request, 404, texts(request)["not_found"], who)


async def area_choices(s: AsyncSession, scope: StaffScope) -> list[Area]:
    """The areas a segment may name: every area for an admin, the covered ones otherwise."""
    return [a for a in await all_areas(s) if scope.is_admin or a.id in scope.covered]


async def activity_choices(s: AsyncSession, scope: StaffScope) -> list[Activity]:
    rows = (await s.execute(select(Activity).where(Activity.status == "open").order_by(Activity.starts_at))).scalars()
    return [a for a in rows if authz.covers_area(scope, a.area_id) and (scope.is_admin or a.area_id is not None)]


__all__ = ["ROLES", "activity_choices", "area_choices", "not_found", "outreach_caller", "words"]
