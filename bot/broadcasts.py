"""Sending broadcasts (storage/broadcasts.py) on the leader: each run of the `broadcast`
timer queues at most `XIANGZHU_BROADCAST_PER_MINUTE` messages per channel and schedules the
next run a minute later, until no recipient is pending. Each person is checked when their
turn comes: erased, opted out, no reachable messenger, or (WeChat) outside the 48-hour
window with no template configured → skipped with that reason. Quiet hours are kept."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.reminders import defer_if_quiet, outside_wechat_window, run_time
from storage import broadcasts as broadcast_store
from storage import timers
from storage.models import Broadcast, Person
from storage.notify import best_identity, notify_person
from storage.timers import timer_handler

NEXT_BATCH = timedelta(minutes=1)


@timer_handler(broadcast_store.SEND)
async def send_broadcast_batch(services, session, timer) -> None:
    b = await session.get(Broadcast, int(timer.target.split(":", 1)[1]))
    if b is None or b.state != "sending":
        return
    now = run_time(services, timer)
    if await defer_if_quiet(services, session, timer, now):
        return
    settings = services.settings
    rate = max(1, int(getattr(settings, "broadcast_per_minute", 60)))
    queued: Counter[str] = Counter()
    rows = await broadcast_store.pending(session, b.id, limit=rate * 20)
    for r in rows:
        person = await session.get(Person, r.person_id)
        identity = await best_identity(session, person_id=r.person_id) if person is not None else None
        reason = ("erased" if person is None or person.erased else "opted_out" if person.opted_out
                  else "no_channel" if identity is None else "")
        if not reason and outside_wechat_window(identity, now, settings):
            reason = "outside_window"
        if reason:
            r.status, r.reason = "skipped", reason
            continue
        if queued[identity.channel] >= rate:
            continue  # this channel's share for this minute is used up
        text = b.text.get("en") if person.locale == "en" and b.text.get("en") else b.text["zh"]
        row = await notify_person(session, person.id, text, kind="broadcast", respect_opt_out=True)
        r.status, r.channel, r.outbox_id = "queued", identity.channel, row.id
        queued[identity.channel] += 1
    await session.flush()
    if await broadcast_store.pending(session, b.id, limit=1):
        later = now + NEXT_BATCH
        await timers.schedule(session, broadcast_store.SEND, later, target=timer.target,
                              dedupe_key=f"{broadcast_store.SEND}:{b.id}:{int(later.timestamp())}")
    else:
        b.state, b.finished_at = "done", now
