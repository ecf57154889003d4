"""Staff accounts: roles, areas, passwords and lockout. API tokens and web sessions are in
storage/staff_access.py, messenger invites in storage/staff_invites.py, offboarding in
storage/staff_offboarding.py.

Services are verbs; the caller owns the transaction. Secrets never reach the database in
the clear: passwords are argon2 hashes, tokens, session cookies and invite codes are stored
as SHA-256 hashes, and the plain value is returned exactly once to whoever created it.

Errors raised here carry a message a person can read, Chinese first, then English.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage import audit
from storage.models import Area, Staff, utcnow

ROLES = ("admin", "supervisor", "worker", "viewer")
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both paths cost one argon2 run."""
    return _hasher.hash("xiangzhu-no-such-user")


class StaffError(StorageError):
    """Something a person asked for that cannot be done; str() is bilingual."""


class UnknownStaff(StaffError):
    pass


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# ── accounts ─────────────────────────────────────────────────────────────────────────────


def _check_roles(roles) -> list[str]:
    roles = [r.strip() for r in roles if r and r.strip()]
    if not roles:
        raise StaffError("请至少给一个角色 / give at least one role (admin, supervisor, worker, viewer)")
    for r in roles:
        if r not in ROLES:
            raise StaffError(f"没有角色“{r}”，可用：{', '.join(ROLES)} / unknown role '{r}'; use one of {', '.join(ROLES)}")
    return roles


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(
            f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 / the password needs at least {MIN_PASSWORD_LENGTH} characters"
        )


async def areas_by_code(session: AsyncSession, codes) -> list[Area]:
    codes = [c.strip() for c in codes if c and c.strip()]
    if not codes:
        return []
    found = {a.code: a for a in (await session.execute(select(Area).where(Area.code.in_(codes)))).scalars()}
    missing = [c for c in codes if c not in found]
    if missing:
        raise StaffError(f"没有这些地区代码：{', '.join(missing)} / unknown area codes: {', '.join(missing)}")
    return [found[c] for c in codes]


async def get_staff(session: AsyncSession, username: str) -> Staff:
    staff = (await session.execute(select(Staff).where(Staff.username == username))).scalar_one_or_none()
    if staff is None:
        raise UnknownStaff(f"没有账号“{username}” / no staff account '{username}'")
    return staff


async def find_staff(session: AsyncSession, username: str) -> Staff | None:
    return (await session.execute(select(Staff).where(Staff.username == username))).scalar_one_or_none()


async def create_user(
    session: AsyncSession,
    username: str,
    *,
    roles,
    area_codes=(),
    password: str | None = None,
    display_name: str = "",
    phone: str = "",
    actor: str = "system",
) -> Staff:
    """A new staff account. Without a password it cannot sign in to the web (tokens and a
    linked messenger still work) until `set_password`."""
    username = username.strip()
    if not username or len(username) > 64 or any(ch.isspace() for ch in username):
        raise StaffError("用户名不能为空、不能含空格、最多 64 个字符 / a username is 1–64 characters without spaces")
    if await find_staff(session, username) is not None:
        raise StaffError(f"账号“{username}”已存在 / staff account '{username}' already exists")
    roles = _check_roles(roles)
    areas = await areas_by_code(session, area_codes)
    staff = Staff(username=username, display_name=display_name or username, roles=roles, phone=phone)
    if password is not None:
        _check_password(password)
        staff.password_hash = _hasher.hash(password)
    staff.areas = areas
    session.add(staff)
    await session.flush()
    await audit.record(session, actor, "staff.create", f"staff:{staff.id}",
                       {"username": username, "roles": roles, "areas": [a.code for a in areas]})
    return staff


async def set_password(session: AsyncSession, username: str, password: str, *, actor: str = "system") -> Staff:
    staff = await get_staff(session, username)
    _check_password(password)
    staff.password_hash = _hasher.hash(password)
    staff.failed_logins = 0
    staff.locked_until = None
    await audit.record(session, actor, "staff.password", f"staff:{staff.id}")
    return staff


async def set_areas(session: AsyncSession, username: str, area_codes, *, actor: str = "system") -> Staff:
    staff = await get_staff(session, username)
    staff.areas = await areas_by_code(session, area_codes)
    await audit.record(session, actor, "staff.areas", f"staff:{staff.id}", {"areas": [a.code for a in staff.areas]})
    return staff


@dataclass(frozen=True)
class SignInResult:
    """`staff` on success; otherwise `error` says why, in words for the person signing in.
    A result rather than an exception so the caller commits the failure count."""

    staff: Staff | None
    error: str = ""
    locked: bool = False


_BAD_LOGIN = "用户名或密码不对 / wrong username or password"


def _locked_message(until: datetime, now: datetime) -> str:
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    return (
        f"密码连续输错 {MAX_FAILED_LOGINS} 次，账号已锁定，请 {minutes} 分钟后再试，或请管理员解锁。"
        f" / Too many wrong passwords: the account is locked for {minutes} more minute(s); "
        "try again later or ask an admin to unlock it."
    )


async def verify_password(session: AsyncSession, username: str, password: str, *, now: datetime | None = None
                          ) -> SignInResult:
    """Check a sign-in. After MAX_FAILED_LOGINS wrong passwords in a row the account is locked
    for LOCKOUT; while locked even the right password is refused."""
    now = now or utcnow()
    staff = await find_staff(session, username.strip())
    if staff is None or not staff.active or not staff.password_hash:
        try:
            _hasher.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        return SignInResult(None, _BAD_LOGIN)
    if staff.locked_until is not None and staff.locked_until > now:
        return SignInResult(None, _locked_message(staff.locked_until, now), locked=True)
    try:
        _hasher.verify(staff.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        if staff.locked_until is not None:  # an old lock ran out: count afresh
            staff.locked_until = None
            staff.failed_logins = 0
        staff.failed_logins = (staff.failed_logins or 0) + 1
        if staff.failed_logins >= MAX_FAILED_LOGINS:
            staff.locked_until = now + LOCKOUT
            await audit.record(session, f"staff:{staff.id}", "staff.locked", f"staff:{staff.id}")
            return SignInResult(None, _locked_message(staff.locked_until, now), locked=True)
        left = MAX_FAILED_LOGINS - staff.failed_logins
        return SignInResult(None, f"用户名或密码不对，还可以再试 {left} 次 / wrong username or password; {left} "
                                  "attempt(s) left before the account is locked")
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    staff.failed_logins = 0
    staff.locked_until = None
    return SignInResult(staff)


async def unlock(session: AsyncSession, username: str, *, actor: str = "system") -> Staff:
    staff = await get_staff(session, username)
    staff.failed_logins = 0
    staff.locked_until = None
    await audit.record(session, actor, "staff.unlock", f"staff:{staff.id}")
    return staff
