"""Who may see and do what. The one place that decides access — pages and the API ask here.

Rules:
- admin: everything.
- supervisor: the areas assigned (a township) and every village under them; also records
  whose village is not known yet (someone has to route them).
- worker: the assigned villages (and anything below them).
- viewer: read-only and aggregated only — counts, never a personal field or a single record.
- Anyone also sees a case assigned to them or a handoff they claimed, wherever it is.

A record outside the caller's scope is reported as "not found" by the callers (404, not 403),
so ids cannot be probed.
"""
from __future__ import annotations

from dataclasses import dataclass
from hmac import compare_digest

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import BotError
from storage import staff_access
from storage.areas import ancestors, area_ids_under
from storage.models import Activity, AuditEntry, Handoff, NeedRequest, Offer, Person, Staff

ROLE_ORDER = ("admin", "supervisor", "worker", "viewer")


@dataclass(frozen=True)
class StaffScope:
    """A signed-in staff member with the areas they cover, resolved once per request."""

    staff_id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    area_ids: frozenset[int]  # assigned directly
    covered: frozenset[int]  # assigned areas and everything below them
    in_township: bool = False  # an assigned area is a township or lies in one (see `covers_handoff_area`)

    @property
    def role(self) -> str:
        """The strongest role held."""
        for r in ROLE_ORDER:
            if r in self.roles:
                return r
        return "viewer"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_viewer(self) -> bool:
        """Viewer and nothing stronger: aggregated, read-only."""
        return self.role == "viewer"

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "supervisor", "worker")

    @property
    def sees_unplaced(self) -> bool:
        return self.role in ("admin", "supervisor")

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"staff:{self.staff_id}"


async def scope_for(session: AsyncSession, staff: Staff) -> StaffScope:
    area_ids = frozenset(a.id for a in staff.areas)
    covered = frozenset(await area_ids_under(session, list(area_ids))) if area_ids else frozenset()
    in_township = False
    for area_id in area_ids:
        if any(a.level == "township" for a in await ancestors(session, area_id)):
            in_township = True
            break
    return StaffScope(staff.id, staff.username, staff.display_name or staff.username,
                      tuple(staff.roles or ()), area_ids, covered, in_township)


def covers_area(scope: StaffScope, area_id: int | None) -> bool:
    if scope.is_admin:
        return True
    if area_id is None:
        return scope.sees_unplaced
    return area_id in scope.covered


def area_filter(scope: StaffScope, column) -> ColumnElement[bool]:
    """A WHERE clause limiting rows whose area is `column` to what `scope` covers."""
    if scope.is_admin:
        return true()
    parts = []
    if scope.covered:
        parts.append(column.in_(sorted(scope.covered)))
    if scope.sees_unplaced:
        parts.append(column.is_(None))
    return or_(*parts) if parts else false()


def aggregate_filter(scope: StaffScope, column) -> ColumnElement[bool]:
    """For counts: a viewer with no areas sees the totals of everything."""
    if scope.is_viewer and not scope.covered:
        return true()
    if scope.is_viewer:
        return column.in_(sorted(scope.covered))
    return area_filter(scope, column)


# ── records ──────────────────────────────────────────────────────────────────────────────


def can_see_case(scope: StaffScope, case: NeedRequest) -> bool:
    """May read the case with its personal fields (phone, description, timeline)."""
    if scope.is_viewer:
        return False
    return covers_area(scope, case.village_id) or case.assigned_staff_id == scope.staff_id


def can_change_case(scope: StaffScope, case: NeedRequest) -> bool:
    return scope.can_write and can_see_case(scope, case)


def case_filter(scope: StaffScope) -> ColumnElement[bool]:
    """The SQL form of can_see_case."""
    if scope.is_viewer:
        return false()
    if scope.is_admin:
        return true()
    return or_(area_filter(scope, NeedRequest.village_id), NeedRequest.assigned_staff_id == scope.staff_id)


def covers_handoff_area(scope: StaffScope, village_id: int | None) -> bool:
    """A handoff with no village belongs to the township's queue: besides supervisors and
    admins, every worker with an area in a township serves it (routing.tiers_for treats it the
    same way). Only the handoff: the person's other records keep the ordinary area rule."""
    return covers_area(scope, village_id) or (village_id is None and scope.can_write and scope.in_township)


def can_see_handoff(scope: StaffScope, handoff: Handoff) -> bool:
    if scope.is_viewer:
        return False
    return covers_handoff_area(scope, handoff.village_id) or handoff.claimed_by_staff_id == scope.staff_id


def can_change_handoff(scope: StaffScope, handoff: Handoff) -> bool:
    return scope.can_write and can_see_handoff(scope, handoff)


def handoff_filter(scope: StaffScope) -> ColumnElement[bool]:
    if scope.is_viewer:
        return false()
    if scope.is_admin:
        return true()
    parts = [area_filter(scope, Handoff.village_id), Handoff.claimed_by_staff_id == scope.staff_id]
    if scope.can_write and scope.in_township:
        parts.append(Handoff.village_id.is_(None))
    return or_(*parts)


def can_see_person(scope: StaffScope, person: Person) -> bool:
    if scope.is_viewer:
        return False
    return covers_area(scope, person.village_id)


def person_filter(scope: StaffScope) -> ColumnElement[bool]:
    if scope.is_viewer:
        return false()
    return area_filter(scope, Person.village_id)


def can_see_activity(scope: StaffScope, activity: Activity) -> bool:
    """Activities themselves are public notices: every staff member may list them."""
    return True


def can_see_roster(scope: StaffScope, activity: Activity) -> bool:
    """The enrollment list names people: only staff covering the activity's area."""
    if scope.is_viewer:
        return False
    return covers_area(scope, activity.area_id)


async def offer_area_ids(session: AsyncSession, scope: StaffScope) -> set[int] | None:
    """The areas whose offers of help the caller sees: the areas covered and the areas above
    them (a township's or the county's offer serves their villages too). None: every area.
    Offers without an area serve the whole county and are seen by every staff member."""
    if scope.is_admin:
        return None
    ids = set(scope.covered)
    for area_id in scope.area_ids:
        ids |= {a.id for a in await ancestors(session, area_id)}
    return ids


def can_see_offer(scope: StaffScope, offer: Offer, area_ids: set[int] | None) -> bool:
    return not scope.is_viewer and (area_ids is None or offer.area_id is None or offer.area_id in area_ids)


def can_review_offer(scope: StaffScope, offer: Offer) -> bool:
    """Approve or block: a worker for offers in their own areas; county-wide ones need a
    supervisor or an admin."""
    if not scope.can_write:
        return False
    if offer.area_id is None:
        return scope.role in ("admin", "supervisor")
    return covers_area(scope, offer.area_id)


# ── exports and the audit log ────────────────────────────────────────────────────────────


def can_export_records(scope: StaffScope) -> bool:
    """Exports with personal fields (names, phones, descriptions): admins only, and audited.
    Everyone else gets the totals (bot/figures.py's charts) within their areas."""
    return scope.is_admin


def can_read_audit(scope: StaffScope) -> bool:
    return scope.role in ("admin", "supervisor")


async def audit_filter(session: AsyncSession, scope: StaffScope) -> ColumnElement[bool]:
    """The audit entries a caller may read: admins all; a supervisor the entries of the staff
    whose areas meet theirs (themselves included) — not villagers' or the system's."""
    if scope.is_admin:
        return true()
    if not can_read_audit(scope):
        return false()
    actors = {scope.actor}
    for st in (await session.execute(select(Staff))).scalars():
        other = await scope_for(session, st)
        if other.covered & scope.covered:
            actors.add(other.actor)
    return AuditEntry.actor.in_(sorted(actors))


# ── content ──────────────────────────────────────────────────────────────────────────────


def can_edit_content(scope: StaffScope) -> bool:
    """Flows and the policy knowledge base: admins."""
    return scope.is_admin


def can_read_content(scope: StaffScope) -> bool:
    return scope.role in ("admin", "supervisor", "worker")


# ── requests: who is calling ─────────────────────────────────────────────────────────────

SESSION_COOKIE = "xz_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuthError(BotError):
    """The request is not signed in (401) or not allowed (403); str() is bilingual."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


NOT_SIGNED_IN = "请先登录，或带上 API 令牌（Authorization: Bearer …）/ sign in first, or send an API token (Authorization: Bearer …)"
BAD_TOKEN = "API 令牌无效或已被撤销 / the API token is not valid or was revoked"
BAD_CSRF = "缺少或错误的 CSRF 令牌，请刷新页面再试 / missing or wrong CSRF token; reload the page and try again"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request."""

    scope: StaffScope
    via: str  # token | session
    csrf_token: str = ""  # the web session's, for pages that render forms


async def authenticate(session: AsyncSession, request, *, now, form_csrf: str | None = None) -> Caller:
    """Who sends `request`: a bearer token, or the web session cookie — then any request
    that changes state must carry the session's CSRF token, in the X-CSRF-Token header or,
    for an HTML form, in its `csrf_token` field (passed here as `form_csrf`)."""
    header = request.headers.get("authorization", "")
    if header:
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise AuthError(401, BAD_TOKEN)
        staff = await staff_access.staff_for_token(session, token.strip())
        if staff is None:
            raise AuthError(401, BAD_TOKEN)
        return Caller(await scope_for(session, staff), "token")
    found = await staff_access.load_session(session, request.cookies.get(SESSION_COOKIE, ""), now=now)
    if found is None:
        raise AuthError(401, NOT_SIGNED_IN)
    staff, row = found
    if request.method not in SAFE_METHODS:
        sent = form_csrf if form_csrf is not None else request.headers.get(CSRF_HEADER, "")
        if not sent or not compare_digest(sent, row.csrf_token):
            raise AuthError(403, BAD_CSRF)
    return Caller(await scope_for(session, staff), "session", row.csrf_token)
