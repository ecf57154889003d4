"""The scheduler: periodic jobs and due timers, run by the leader process only.

On the leader (see bot/leader.py) an APScheduler 3.11 `AsyncIOScheduler` with an in-memory
job store runs the registered periodic jobs. Its job store is never shared between processes
(APScheduler forbids that); what must survive a restart lives in the `timers` table instead.

Built in: `timers` (every `XIANGZHU_TIMER_POLL_SECONDS`) hands back stale claims, claims due
timers with a conditional UPDATE and runs each through its `@timer_handler` in a transaction
of its own (the handler's work and the `done` mark commit together).

Other parts register what they need at import time, and are imported by `load_job_modules`
(the server and `xiangzhu jobs list` call it):

    from apscheduler.triggers.cron import CronTrigger
    from bot.scheduler import register_periodic, timer_handler

    @timer_handler("activity_reminder")
    async def remind(services, session, timer): ...

    async def monthly_report(services): ...
    register_periodic("monthly_report", CronTrigger(day=1, hour=6), monthly_report,
                      "每月统计 / monthly statistics")

Time comes from `services.clock()` when the services have one, so tests move time by hand.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

import click
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.errors import BotError
from bot.leader import Leader, current_leader, process_identity
from storage import outbox as outbox_store
from storage import timers as timer_store
from storage.models import utcnow
from storage.timers import timer_handler  # re-exported: handlers register here or in storage.timers

__all__ = [
    "PeriodicJob",
    "SchedulerService",
    "claim_and_run_timers",
    "jobs_group",
    "mount",
    "periodic_jobs",
    "register_periodic",
    "timer_handler",
]

log = logging.getLogger("xiangzhu.scheduler")
# APScheduler logs every run at INFO: with a 1-second poll that drowns the log
logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)

TIMER_BATCH = 100

TriggerSpec = BaseTrigger | Callable[[Any], BaseTrigger]  # a trigger, or settings -> trigger
JobFunc = Callable[[Any], Awaitable[None]]  # async (services) -> None


@dataclass(frozen=True)
class PeriodicJob:
    id: str
    trigger: TriggerSpec
    func: JobFunc
    description: str = ""

    def make_trigger(self, settings: Any) -> BaseTrigger:
        return self.trigger if isinstance(self.trigger, BaseTrigger) else self.trigger(settings)


_PERIODIC: dict[str, PeriodicJob] = {}


def register_periodic(id: str, trigger: TriggerSpec, func: JobFunc, description: str = "") -> PeriodicJob:
    """Run `await func(services)` on the leader whenever `trigger` fires.

    Runs coalesce (after an outage a missed job runs once) and never overlap themselves.
    Registering the same id again replaces the earlier job."""
    job = PeriodicJob(id=id, trigger=trigger, func=func, description=description)
    _PERIODIC[id] = job
    return job


def periodic_jobs() -> list[PeriodicJob]:
    return [_PERIODIC[k] for k in sorted(_PERIODIC)]


def load_job_modules() -> list[str]:
    """Import the modules that register timer handlers or periodic jobs; returns their names.
    (Imported here, not at the top: they import this module to register.)"""
    from bot import batches, broadcasts, campaigns, checkins, followups, reminders, waitlist
    from bot.channels import wechat
    from bot.desk import digest as desk_digest
    from bot.desk import timers as desk_timers

    return [m.__name__ for m in (reminders, waitlist, followups, checkins, campaigns, broadcasts, wechat, batches,
                                 desk_timers, desk_digest)]


def services_clock(services: Any) -> Callable[[], datetime]:
    clock = getattr(services, "clock", None)
    return clock if callable(clock) else utcnow


# ── the timers job ───────────────────────────────────────────────────────────────────────


class _ClaimLost(BotError):
    """Our lease on the timer expired and someone else holds it now."""


async def claim_and_run_timers(
    services: Any, *, claimer: str, now: datetime | None = None, limit: int = TIMER_BATCH
) -> int:
    """Claim the timers due at `now` (default: the services' clock) and run their handlers.
    Returns how many ran successfully."""
    db = services.db
    now = now or services_clock(services)()
    lease = timedelta(seconds=getattr(services.settings, "timer_lease_seconds", None) or timer_store.DEFAULT_LEASE.total_seconds())
    async with db.session() as s:
        reclaimed = await timer_store.reclaim_stale(s, now, lease)
        claimed = await timer_store.claim_due(s, now, limit, claimer)
    if reclaimed:
        log.warning("reclaimed %d timers from a dead claimer", reclaimed)
    done = 0
    for timer in claimed:
        handler = timer_store.handler_for(timer.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler registered for timer kind {timer.kind!r}")
            async with db.session() as s:
                await handler(services, s, timer)
                if not await timer_store.mark_done(s, timer, claimer, now):
                    raise _ClaimLost()
            if outbox_store.queued_for_sender(s) and hasattr(services, "wake_outbox"):
                services.wake_outbox()  # a page or a reminder goes now, not at the sender's next poll
            done += 1
        except _ClaimLost:
            log.warning("timer %s: claim lost while running; its effects were rolled back", timer.id)
        except Exception as exc:
            log.exception("timer %s (%s) failed", timer.id, timer.kind)
            try:
                async with db.session() as s:
                    state = await timer_store.mark_failed(s, timer, claimer, f"{type(exc).__name__}: {exc}", now)
                log.info("timer %s is now %s", timer.id, state)
            except Exception:
                log.exception("timer %s: could not record the failure; the lease will hand it back", timer.id)
    return done


PROCESS_ID = process_identity()


async def run_due_timers(services: Any) -> None:
    """The built-in `timers` job: claim and run due timers as this process."""
    await claim_and_run_timers(services, claimer=PROCESS_ID)


register_periodic(
    "timers",
    lambda settings: IntervalTrigger(seconds=float(getattr(settings, "timer_poll_seconds", 1.0))),
    run_due_timers,
    "到期定时任务（提醒、升级）/ due timers (reminders, escalations)",
)


# ── the service: leader + APScheduler ────────────────────────────────────────────────────


STOP_GRACE_SECONDS = 10.0


class SchedulerService:
    """Campaigns for leadership and, while leader, runs the periodic jobs.

        sched = SchedulerService(services)
        await sched.start()    # every process; only the leader runs jobs
        await sched.stop()
    """

    def __init__(self, services: Any, *, leader: Leader | None = None, retry_seconds: float = 2.0):
        self.services = services
        self.identity = PROCESS_ID
        self.leader = leader or Leader(
            services.db,
            on_elected=self._start_jobs,
            on_deposed=self._stop_jobs,
            identity=self.identity,
            retry_seconds=retry_seconds,
            heartbeat_seconds=retry_seconds,
        )
        self._scheduler: AsyncIOScheduler | None = None
        self._in_flight: set[asyncio.Task] = set()

    @property
    def is_leader(self) -> bool:
        return self.leader.is_leader

    @property
    def running_jobs(self) -> list[str]:
        return [j.id for j in self._scheduler.get_jobs()] if self._scheduler is not None else []

    async def start(self) -> None:
        load_job_modules()
        await self.leader.start()

    async def stop(self) -> None:
        await self.leader.stop()

    async def _run(self, job: PeriodicJob) -> None:
        task = asyncio.current_task()
        self._in_flight.add(task)
        try:
            await job.func(self.services)
        except Exception:
            log.exception("periodic job %s failed", job.id)
        finally:
            self._in_flight.discard(task)

    async def _start_jobs(self) -> None:
        settings = self.services.settings
        scheduler = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone=ZoneInfo(getattr(settings, "timezone", "UTC")),
        )
        for job in periodic_jobs():
            first = {"next_run_time": datetime.now(timezone.utc)} if job.id == "timers" else {}
            scheduler.add_job(
                self._run, job.make_trigger(settings), args=[job], id=job.id, name=job.description or job.id,
                replace_existing=True, **first,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler running %s", ", ".join(j.id for j in periodic_jobs()))

    async def _stop_jobs(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            # no new runs, and a job that is running finishes its transaction first: shutdown()
            # cancels it mid-statement (its rows would be safe: leases expire and are reclaimed)
            scheduler.pause()
            if self._in_flight:
                await asyncio.wait(set(self._in_flight), timeout=STOP_GRACE_SECONDS)
            scheduler.shutdown(wait=False)
            log.info("scheduler stopped")


def mount(app: Any, services: Any) -> SchedulerService:
    """Called by bot/app.py: start campaigning with the app, stop with it."""
    service = SchedulerService(services)
    services.on_start(service.start)
    services.on_stop(service.stop)
    services.leader_status = service.leader.status
    app.state.scheduler = service
    return service


# ── `xiangzhu jobs` ──────────────────────────────────────────────────────────────────────


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat() if dt is not None else None


async def _jobs_snapshot(url: str, include_finished: bool, limit: int, settings: Any) -> dict:
    from storage.db import Database

    load_job_modules()
    db = Database(url, pool_size=1)
    try:
        async with db.session() as s:
            rows = await timer_store.listing(s, include_finished=include_finished, limit=limit)
            leader = await current_leader(s)
    finally:
        await db.dispose()
    now = datetime.now(timezone.utc)
    tz = ZoneInfo(settings.timezone)
    periodic = []
    for job in periodic_jobs():
        trigger = job.make_trigger(settings)
        nxt = trigger.get_next_fire_time(None, now.astimezone(tz))
        periodic.append({"id": job.id, "trigger": str(trigger), "next_run_at": _iso(nxt), "description": job.description})
    return {
        "leader": leader,
        "periodic": periodic,
        "timers": [
            {
                "id": t.id,
                "kind": t.kind,
                "target": t.target,
                "due_at": _iso(t.due_at),
                "state": t.state,
                "attempts": t.attempts,
                "error": t.error,
                "has_handler": timer_store.handler_for(t.kind) is not None,
            }
            for t in rows
        ],
    }


@click.group("jobs")
def jobs_group() -> None:
    """定时任务 / timers and periodic jobs."""


@jobs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON object: leader, periodic, timers")
@click.option("--all", "include_finished", is_flag=True, help="include done and cancelled timers")
@click.option("--limit", default=200, show_default=True, help="at most this many timers")
def jobs_list(as_json: bool, include_finished: bool, limit: int) -> None:
    """List periodic jobs and timers (kind, target, due time, state)."""
    from bot.config import get_settings

    settings = get_settings()
    snap = asyncio.run(_jobs_snapshot(settings.database_url, include_finished, limit, settings))
    if as_json:
        click.echo(json.dumps(snap, ensure_ascii=False))
        return
    tz = ZoneInfo(settings.timezone)

    def local(iso: str | None) -> str:
        return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if iso else "-"

    leader = snap["leader"]
    click.echo(
        f"主进程 / leader: {leader['host']} pid {leader['pid']} (since {local(leader['since'])})"
        if leader
        else "主进程 / leader: 无 / none running"
    )
    click.echo("\n周期任务 / periodic jobs:")
    for job in snap["periodic"]:
        click.echo(f"  {job['id']:<20} next {local(job['next_run_at']):<19}  {job['trigger']}  {job['description']}")
    click.echo(f"\n定时 / timers ({len(snap['timers'])}):")
    if not snap["timers"]:
        click.echo("  （无 / none）")
    for t in snap["timers"]:
        click.echo(
            f"  #{t['id']:<6} {t['kind']:<22} {t['target'] or '-':<22} due {local(t['due_at'])}  {t['state']}"
            + (f"  attempts {t['attempts']}" if t["attempts"] else "")
            + (f"  {t['error'][:60]}" if t["error"] else "")
        )
