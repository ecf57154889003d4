"""Messenger invites: a one-time code a worker sends from Telegram or WeChat (`/start w-CODE`)
links that messenger account to their staff account. The caller owns the transaction."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import ChannelIdentity, Person, Staff, WorkerInvite, utcnow
from storage.staff import StaffError, get_staff, sha256

__all__ = ["create_invite", "normalize_invite_code", "redeem_invite"]

INVITE_TTL = timedelta(days=7)
# Invite codes are typed on a phone: no 0/O, 1/I/L.
_INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_INVITE_LENGTH = 10


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
