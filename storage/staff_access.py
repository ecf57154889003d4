"""How staff prove who they are: API tokens (bearer) and web sessions (a cookie plus a CSRF
token). Only SHA-256 hashes are stored; the plain value is returned once to its creator. The
caller owns the transaction."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import ApiToken, Staff, StaffSession, utcnow
from storage.staff import StaffError, find_staff, get_staff, sha256

__all__ = ["NewSession", "create_session", "create_token", "end_session", "load_session", "revoke_token",
           "staff_for_token"]

SESSION_TTL = timedelta(hours=12)
TOKEN_PREFIX = "xz_"


async def create_token(session: AsyncSession, name: str, *, username: str, actor: str = "system"
                       ) -> tuple[ApiToken, str]:
    """A bearer token for `username`, named `name`. Returns the row and the plain token —
    the only time it is ever visible."""
    name = name.strip()
    if not name:
        raise StaffError("令牌需要一个名字 / a token needs a name")
    staff = await get_staff(session, username)
    if not staff.active:
        raise StaffError(f"账号“{username}”已停用 / staff account '{username}' is deactivated")
    if (await session.execute(select(ApiToken).where(ApiToken.name == name))).scalar_one_or_none() is not None:
        raise StaffError(f"已有名为“{name}”的令牌 / a token named '{name}' already exists")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, staff_id=staff.id, token_hash=sha256(plain))
    session.add(row)
    await session.flush()
    await audit.record(session, actor, "token.create", f"token:{row.id}", {"name": name, "staff": username})
    return row, plain


async def revoke_token(session: AsyncSession, name: str, *, now: datetime | None = None, actor: str = "system"
                       ) -> int:
    """Revoke the token called `name`; if there is none, every token of the account `name`.
    Returns how many tokens were revoked."""
    now = now or utcnow()
    rows = list((await session.execute(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))).scalars())
    if not rows:
        staff = await find_staff(session, name)
        if staff is not None:
            rows = list((await session.execute(
                select(ApiToken).where(ApiToken.staff_id == staff.id, ApiToken.revoked_at.is_(None)))).scalars())
    if not rows:
        exists = (await session.execute(select(func.count()).select_from(ApiToken).where(ApiToken.name == name))).scalar()
        if exists:
            return 0
        raise StaffError(f"没有名为“{name}”的有效令牌 / no active token or account named '{name}'")
    for row in rows:
        row.revoked_at = now
        await audit.record(session, actor, "token.revoke", f"token:{row.id}", {"name": row.name})
    return len(rows)


async def staff_for_token(session: AsyncSession, plain: str) -> Staff | None:
    if not plain:
        return None
    row = (await session.execute(
        select(ApiToken).where(ApiToken.token_hash == sha256(plain), ApiToken.revoked_at.is_(None))
    )).scalar_one_or_none()
    if row is None:
        return None
    staff = await session.get(Staff, row.staff_id)
    return staff if staff is not None and staff.active else None


# ── web sessions ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class NewSession:
    cookie: str  # goes to the browser; only its hash is stored
    csrf_token: str
    expires_at: datetime


async def create_session(session: AsyncSession, staff: Staff, *, now: datetime | None = None,
                         ttl: timedelta = SESSION_TTL) -> NewSession:
    now = now or utcnow()
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + ttl
    session.add(StaffSession(id=sha256(cookie), staff_id=staff.id, csrf_token=csrf, created_at=now, expires_at=expires))
    await session.flush()
    return NewSession(cookie, csrf, expires)


async def load_session(session: AsyncSession, cookie: str, *, now: datetime | None = None
                       ) -> tuple[Staff, StaffSession] | None:
    """The signed-in account behind a session cookie, or None when unknown, expired or the
    account was deactivated."""
    if not cookie:
        return None
    now = now or utcnow()
    row = await session.get(StaffSession, sha256(cookie))
    if row is None or row.expires_at <= now:
        return None
    staff = await session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        return None
    return staff, row


async def end_session(session: AsyncSession, cookie: str) -> None:
    if cookie:
        await session.execute(delete(StaffSession).where(StaffSession.id == sha256(cookie)))
