"""Staff accounts: passwords, lockout, API tokens, web sessions, messenger invites, offboarding.

Services are verbs; the caller owns the transaction. Secrets never reach the database in
the clear: passwords are argon2 hashes, tokens, session cookies and invite codes are stored
as SHA-256 hashes, and the plain value is returned exactly once to whoever created it.

Errors raised here carry a message a person can read, Chinese first, then English.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage import audit
from storage import cases as case_service
from storage import handoffs as handoff_service
from storage.models import (
    ApiToken,
    Area,
    ChannelIdentity,
    Handoff,
    NeedRequest,
    Person,
    Staff,
    StaffSession,
    WorkerInvite,
    utcnow,
)

ROLES = ("admin", "supervisor", "worker", "viewer")
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
INVITE_TTL = timedelta(days=7)
MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "xz_"
# Invite codes are typed on a phone: no 0/O, 1/I/L.
_INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_INVITE_LENGTH = 10

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


# ── API tokens ───────────────────────────────────────────────────────────────────────────


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


# ── messenger invites ────────────────────────────────────────────────────────────────────


def normalize_invite_code(code: str) -> str:
    code = code.strip()
    if code.lower().startswith("/start"):
        code = code[len("/start"):].strip()
    if code[:2].lower() == "w-":
        code = code[2:]
    return code.strip().upper()


async def create_invite(session: AsyncSession, username: str, *, now: datetime | None = None,
                        ttl: timedelta = INVITE_TTL, actor: str = "system") -> tuple[WorkerInvite, str]:
    """A one-time code the worker sends from a messenger as `/start w-CODE`. Returns the row
    and the plain code (shown once)."""
    now = now or utcnow()
    staff = await get_staff(session, username)
    if not staff.active:
        raise StaffError(f"账号“{username}”已停用 / staff account '{username}' is deactivated")
    code = "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(_INVITE_LENGTH))
    row = WorkerInvite(code_hash=sha256(code), staff_id=staff.id, created_at=now, expires_at=now + ttl)
    session.add(row)
    await session.flush()
    await audit.record(session, actor, "invite.create", f"staff:{staff.id}", {"invite": row.id})
    return row, code


async def redeem_invite(session: AsyncSession, code: str, channel: str, external_id: str, *,
                        display_name: str = "", now: datetime | None = None) -> Staff:
    """Link the messenger account (channel, external_id) to the staff account the code was
    made for. Accepts "CODE", "w-CODE" or "/start w-CODE". The code works once.

    The channel identity is reused when the worker already wrote to the bot (it keeps its
    person row); otherwise a person row is created for it, named after the staff member."""
    now = now or utcnow()
    normalized = normalize_invite_code(code)
    invite = (await session.execute(
        select(WorkerInvite).where(WorkerInvite.code_hash == sha256(normalized)))).scalar_one_or_none()
    if invite is None:
        raise StaffError("邀请码不对，请核对后重发 / this invite code is not valid; check it and send it again")
    if invite.used_at is not None:
        raise StaffError("这个邀请码已经用过了，请向管理员要一个新的 / this invite code was already used; ask an admin for a new one")
    if invite.expires_at <= now:
        raise StaffError("这个邀请码已过期，请向管理员要一个新的 / this invite code has expired; ask an admin for a new one")
    staff = await session.get(Staff, invite.staff_id)
    if staff is None or not staff.active:
        raise StaffError("这个账号已停用 / this staff account is deactivated")
    # One-time: a conditional UPDATE, so two redemptions racing cannot both win.
    won = await session.execute(
        update(WorkerInvite).where(WorkerInvite.id == invite.id, WorkerInvite.used_at.is_(None)).values(used_at=now)
    )
    if won.rowcount != 1:
        raise StaffError("这个邀请码已经用过了 / this invite code was already used")
    identity = (await session.execute(select(ChannelIdentity).where(
        ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id))).scalar_one_or_none()
    if identity is None:
        person = Person(display_name=display_name or staff.display_name or staff.username)
        session.add(person)
        await session.flush()
        identity = ChannelIdentity(channel=channel, external_id=external_id, person_id=person.id)
        session.add(identity)
    identity.staff_id = staff.id
    identity.unreachable = False
    await session.flush()
    await audit.record(session, f"staff:{staff.id}", "invite.redeem", f"staff:{staff.id}",
                       {"invite": invite.id, "channel": channel})
    return staff


# ── offboarding ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Offboarded:
    handoffs: int
    cases: int
    tokens: int


async def deactivate(session: AsyncSession, username: str, reassign_to: str | None, *,
                     now: datetime | None = None, actor: str = "system") -> Offboarded:
    """Offboard a staff member: their claimed handoffs and open cases move to `reassign_to`,
    their tokens are revoked, their web sessions end and their messenger link is removed."""
    now = now or utcnow()
    leaving = await get_staff(session, username)
    target = None
    if reassign_to:
        target = await get_staff(session, reassign_to)
        if target.id == leaving.id:
            raise StaffError("不能把工作转给自己 / cannot reassign work to the same account")
        if not target.active:
            raise StaffError(f"账号“{reassign_to}”已停用 / staff account '{reassign_to}' is deactivated")
    open_handoffs = list((await session.execute(select(Handoff).where(
        Handoff.claimed_by_staff_id == leaving.id, Handoff.status != "closed").order_by(Handoff.id))).scalars())
    open_cases = list((await session.execute(select(NeedRequest).where(
        NeedRequest.assigned_staff_id == leaving.id,
        NeedRequest.status.in_(case_service.OPEN_STATUSES)).order_by(NeedRequest.id))).scalars())
    if (open_handoffs or open_cases) and target is None:
        raise StaffError(
            f"“{username}”还有 {len(open_handoffs)} 个对话和 {len(open_cases)} 个个案，请用 --reassign-to 指定接手的人"
            f" / '{username}' still has {len(open_handoffs)} handoff(s) and {len(open_cases)} case(s); "
            "name who takes them over with --reassign-to"
        )
    for h in open_handoffs:
        await _move_handoff(session, h, leaving, target, now=now)
    for c in open_cases:
        await _move_case(session, c, leaving, target, now=now)
    tokens = (await session.execute(update(ApiToken).where(
        ApiToken.staff_id == leaving.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now))).rowcount
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == leaving.id))
    await session.execute(update(ChannelIdentity).where(ChannelIdentity.staff_id == leaving.id).values(staff_id=None))
    await session.execute(update(WorkerInvite).where(
        WorkerInvite.staff_id == leaving.id, WorkerInvite.used_at.is_(None)).values(expires_at=now))
    leaving.active = False
    await audit.record(session, actor, "staff.deactivate", f"staff:{leaving.id}", {
        "reassign_to": reassign_to, "handoffs": [h.id for h in open_handoffs],
        "cases": [c.number for c in open_cases], "tokens": tokens})
    return Offboarded(len(open_handoffs), len(open_cases), tokens)


async def _move_handoff(session: AsyncSession, handoff: Handoff, leaving: Staff, target: Staff, *, now) -> None:
    await handoff_service.transfer_handoff(session, handoff, target.id, by_staff_id=None)


async def _move_case(session: AsyncSession, case: NeedRequest, leaving: Staff, target: Staff, *, now) -> None:
    await case_service.assign_case(session, case, target.id, by_staff_id=None, now=now)
