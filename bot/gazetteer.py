"""Keeps the NLU's village and activity names in step with the database.

Loaded when the application starts and refreshed every `REFRESH_SECONDS` in every process
(admins add activities at any time; a stale list only costs a missed entity, never a wrong one).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select

from storage.models import Activity, Area

log = logging.getLogger("xiangzhu.gazetteer")

REFRESH_SECONDS = 60.0


async def load_rows(session) -> tuple[list, list]:
    villages = [(a.id, a.name, [a.name_en, *(a.aliases or [])])
                for a in (await session.execute(select(Area).where(Area.level == "village"))).scalars()]
    activities = [(a.id, a.title, [a.title_en, *(a.aliases or [])])
                  for a in (await session.execute(select(Activity).where(Activity.status == "open"))).scalars()]
    strip = lambda rows: [(i, n, [x for x in al if x]) for i, n, al in rows]  # noqa: E731
    return strip(activities), strip(villages)


async def refresh(services) -> None:
    setter = getattr(services.nlu, "set_gazetteer", None)
    if setter is None:
        return
    async with services.db.session() as session:
        activities, villages = await load_rows(session)
    setter(activities, villages)


def mount(app, services) -> None:
    task: asyncio.Task | None = None

    async def loop() -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await refresh(services)
            except Exception:  # the database may be down for a while; try again next round
                log.warning("could not refresh village and activity names", exc_info=True)

    async def start() -> None:
        nonlocal task
        try:
            await refresh(services)
        except Exception:
            log.warning("could not load village and activity names", exc_info=True)
        task = asyncio.create_task(loop(), name="gazetteer-refresh")

    async def stop() -> None:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    services.on_start(start)
    services.on_stop(stop)
