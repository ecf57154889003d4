"""Timers: rows "due at T" (reminders, escalations, follow-ups).

A timer is written in the caller's business transaction (`schedule`), so it exists exactly
when the action that created it committed. The leader claims due rows with one conditional
UPDATE (`claim_due`): on PostgreSQL and on SQLite exactly one claimer wins each row. A claim
is a lease: rows claimed by a process that died are handed back after `lease` (`reclaim_stale`).
Handlers are async functions registered per kind with `@timer_handler("kind")`.

    async with db.session() as s:
        await enroll(s, ...)
        await timers.schedule(s, "activity_reminder", starts_at - timedelta(hours=24),
                              target=f"enrollment:{e.id}", dedupe_key=f"remind:{e.id}")
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

from sqlalchemy import Integer, String, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import driver
from storage.models import Timer, utcnow

PENDING, CLAIMED, DONE, CANCELLED, FAILED = "pending", "claimed", "done", "cancelled", "failed"

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_LEASE = timedelta(minutes=5)

# (services, session, timer) -> None; runs inside the transaction that marks the timer done.
TimerHandler = Callable[[Any, AsyncSession, Timer], Awaitable[None]]

_HANDLERS: dict[str, TimerHandler] = {}


def timer_handler(kind: str) -> Callable[[TimerHandler], TimerHandler]:
    """Register the handler for timers of `kind`.

        @timer_handler("handoff_escalation")
        async def escalate(services, session, timer): ...

    The handler's database work and the timer's `done` mark commit together; if it raises,
    both roll back and the timer is retried later with back-off.
    """

    def register(fn: TimerHandler) -> TimerHandler:
        existing = _HANDLERS.get(kind)
        if existing is not None and existing is not fn:
            raise ValueError(f"timer kind {kind!r} already has a handler: {existing.__module__}.{existing.__qualname__}")
        _HANDLERS[kind] = fn
        return fn

    return register


def handler_for(kind: str) -> TimerHandler | None:
    return _HANDLERS.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)


_INSERT = driver.Insert(Timer.__table__)
_INSERT_DEDUPED = driver.Insert(Timer.__table__, on_conflict=("dedupe_key",))


def pending(kind: str, due_at: datetime, target: str = "", payload: dict | None = None,
            dedupe_key: str | None = None) -> dict:
    """A pending timer's row, for `add_many`."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    return dict(kind=kind, target=target, payload=payload or {}, due_at=due_at, state=PENDING,
                dedupe_key=dedupe_key, attempts=0, error="", created_at=utcnow())


async def add(
    session: AsyncSession,
    kind: str,
    due_at: datetime,
    target: str = "",
    payload: dict | None = None,
    dedupe_key: str | None = None,
) -> None:
    """`schedule` for a caller that does not use the timer: the INSERT alone, without reading
    the row back."""
    await add_many(session, [pending(kind, due_at, target, payload, dedupe_key)])


async def add_many(session: AsyncSession, rows: list[dict]) -> None:
    """Several `pending` rows in one call on the driver (a handoff writes two or three
    timers in its turn), in order; one with a `dedupe_key` already taken is left out."""
    if rows:
        await driver.run(session, _insert_rows, rows)


def _insert_rows(cur: driver.Cursor, rows: list[dict]) -> None:
    start = 0
    while start < len(rows):  # runs of rows with or without a dedupe key, in order
        deduped = rows[start]["dedupe_key"] is not None
        end = start + 1
        while end < len(rows) and (rows[end]["dedupe_key"] is not None) == deduped:
            end += 1
        cur.insert(_INSERT_DEDUPED if deduped else _INSERT, rows[start:end])
        start = end


async def schedule(
    session: AsyncSession,
    kind: str,
    due_at: datetime,
    target: str = "",
    payload: dict | None = None,
    dedupe_key: str | None = None,
) -> Timer:
    """Add a pending timer in the caller's transaction.

    With `dedupe_key` this is idempotent: a second call with the same key inserts nothing and
    returns the timer already there (whatever its state). A caller that ignores the timer
    calls `add`."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    if dedupe_key is None:
        timer = Timer(kind=kind, target=target, payload=payload or {}, due_at=due_at, state=PENDING)
        session.add(timer)
        await session.flush()
        return timer
    await add(session, kind, due_at, target, payload, dedupe_key)
    timer = (
        await session.execute(
            select(Timer).where(Timer.dedupe_key == dedupe_key).execution_options(populate_existing=True)
        )
    ).scalar_one()
    return timer


async def cancel(
    session: AsyncSession,
    *,
    timer_id: int | None = None,
    dedupe_key: str | None = None,
    kind: str | None = None,
    target: str | None = None,
) -> int:
    """Cancel pending timers matching every given criterion; returns how many were cancelled.

    A timer already claimed (its handler may be running) is not cancelled; handlers that care
    re-check their target's state."""
    given = {"timer_id": timer_id, "dedupe_key": dedupe_key, "kind": kind, "target": target}
    given = {name: value for name, value in given.items() if value is not None}
    if not given:
        raise ValueError("cancel() needs at least one of timer_id, dedupe_key, kind, target")
    key = tuple(given)  # which criteria, in a fixed order
    stmt = _CANCEL.get(key)
    if stmt is None:
        stmt = _CANCEL[key] = _cancel_statement(key)
    result = await session.execute(stmt, {**{f"c_{n}": v for n, v in given.items()}, "done_at": utcnow()})
    return result.rowcount or 0


_CANCEL: dict[tuple[str, ...], Any] = {}  # per set of criteria, built once (as the others here)
_CANCEL_COLUMNS = {"timer_id": "id", "dedupe_key": "dedupe_key", "kind": "kind", "target": "target"}


def _cancel_statement(criteria: tuple[str, ...]):
    t = Timer.__table__
    where = [t.c[_CANCEL_COLUMNS[n]] == bindparam(f"c_{n}") for n in criteria]
    return update(t).where(t.c.state == PENDING, *where).values(
        state=CANCELLED, done_at=bindparam("done_at", type_=t.c.done_at.type))


# the poll's two statements, built once (and their cache keys with them): it runs every second
_NOW = bindparam("now", type_=Timer.__table__.c.due_at.type)
_CLAIM_DUE = (
    update(Timer)
    .where(Timer.state == PENDING, Timer.due_at <= _NOW, Timer.id.in_(
        select(Timer.id)
        .where(Timer.state == PENDING, Timer.due_at <= _NOW)
        .order_by(Timer.due_at, Timer.id)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True)  # compiles to nothing on SQLite
        .scalar_subquery()))
    .values(state=CLAIMED, claimed_by=bindparam("claimer", type_=String()), claimed_at=_NOW,
            attempts=Timer.attempts + 1)
    .returning(Timer)
    .execution_options(synchronize_session=False, populate_existing=True)
)
# Core UPDATEs of the table, not of the entity: an ORM-enabled UPDATE goes through the ORM's
# bulk machinery on every run even when built once (no session object is synchronized anyway)
_TIMERS = Timer.__table__
_RECLAIM_STALE = (
    update(_TIMERS)
    .where(_TIMERS.c.state == CLAIMED, _TIMERS.c.claimed_at < bindparam("before", type_=_TIMERS.c.claimed_at.type))
    .values(state=PENDING, claimed_by=None, claimed_at=None, error="lease expired")
)


async def claim_due(session: AsyncSession, now: datetime, limit: int, claimer: str) -> list[Timer]:
    """Claim up to `limit` pending timers due at `now`, oldest first, for `claimer`.

    One statement: `UPDATE timers SET state='claimed' … WHERE state='pending' AND id IN (due
    ids)`. On PostgreSQL the id sub-select skips rows another claimer has locked and the outer
    `state='pending'` is re-checked after any wait; on SQLite the write lock serialises
    claimers. Either way each row goes to exactly one claimer."""
    params = {"now": now, "claimer": claimer, "limit": limit}
    timers = list((await session.execute(_CLAIM_DUE, params)).scalars().all())
    timers.sort(key=lambda t: (t.due_at, t.id))
    return timers


_MARK_DONE = (  # built once: it runs for every timer
    update(_TIMERS)
    .where(_TIMERS.c.id == bindparam("timer_id"), _TIMERS.c.state == CLAIMED,
           _TIMERS.c.claimed_by == bindparam("claimer"))
    .values(state=DONE, done_at=bindparam("done_at", type_=_TIMERS.c.done_at.type), error="")
)


async def mark_done(session: AsyncSession, timer: Timer, claimer: str, now: datetime | None = None) -> bool:
    """Done — only if `claimer` still holds the claim (a reclaimed lease is not ours)."""
    result = await session.execute(_MARK_DONE, {"timer_id": timer.id, "claimer": claimer, "done_at": now or utcnow()})
    return (result.rowcount or 0) == 1


def retry_delay(attempts: int, *, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """Exponential back-off with full jitter: up to base·2^(attempts-1) seconds, capped."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


async def mark_failed(
    session: AsyncSession,
    timer: Timer,
    claimer: str,
    error: str,
    now: datetime | None = None,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> str | None:
    """Record a failed run. Below `max_attempts` the timer goes back to pending, due again
    after a back-off; at the limit it stays `failed`. Returns the new state, or None when the
    claim was no longer ours."""
    now = now or utcnow()
    attempts = timer.attempts or 0
    params = {"timer_id": timer.id, "claimer": claimer, "error_text": error[:2000]}
    if attempts < max_attempts:
        state, stmt = PENDING, _MARK_RETRY
        params["due_at"] = now + retry_delay(attempts)
    else:
        state, stmt = FAILED, _MARK_GAVE_UP
        params["done_at"] = now
    result = await session.execute(stmt, params)
    return state if (result.rowcount or 0) == 1 else None


_OWNED = (_TIMERS.c.id == bindparam("timer_id"), _TIMERS.c.state == CLAIMED,
          _TIMERS.c.claimed_by == bindparam("claimer"))
_MARK_RETRY = update(_TIMERS).where(*_OWNED).values(  # built once, as _MARK_DONE
    state=PENDING, due_at=bindparam("due_at", type_=_TIMERS.c.due_at.type), claimed_by=None, claimed_at=None,
    error=bindparam("error_text"))
_MARK_GAVE_UP = update(_TIMERS).where(*_OWNED).values(
    state=FAILED, done_at=bindparam("done_at", type_=_TIMERS.c.done_at.type), error=bindparam("error_text"))


async def reclaim_stale(session: AsyncSession, now: datetime, lease: timedelta = DEFAULT_LEASE) -> int:
    """Hand back timers claimed longer than `lease` ago (their claimer died): pending again,
    due now. Returns how many."""
    result = await session.execute(_RECLAIM_STALE, {"before": now - lease})
    return result.rowcount or 0


@dataclass(frozen=True)
class TimerCounts:
    pending: int
    due: int
    claimed: int
    failed: int


async def counts(session: AsyncSession, now: datetime) -> TimerCounts:
    """For /metrics and `jobs list`."""
    rows = (await session.execute(select(Timer.state, func.count()).group_by(Timer.state))).all()
    by_state = dict(rows)
    due = (
        await session.execute(select(func.count()).where(Timer.state == PENDING, Timer.due_at <= now))
    ).scalar_one()
    return TimerCounts(
        pending=by_state.get(PENDING, 0), due=due, claimed=by_state.get(CLAIMED, 0), failed=by_state.get(FAILED, 0)
    )


async def listing(session: AsyncSession, *, include_finished: bool = False, limit: int = 200) -> list[Timer]:
    """Timers for people to read: open ones (pending, claimed, failed) by due time."""
    q = select(Timer)
    if not include_finished:
        q = q.where(or_(Timer.state == PENDING, Timer.state == CLAIMED, Timer.state == FAILED))
    q = q.order_by(Timer.due_at, Timer.id).limit(limit)
    return list((await session.execute(q)).scalars().all())
