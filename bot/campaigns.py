"""Campaigns on the leader: the `campaign` timer sends one campaign message to one person,
and the `campaigns` job (every 15 minutes) writes rows for anchors that appeared since the
last run (storage/campaigns.schedule_rows is idempotent). A row sends only if its campaign is
still active at the version that wrote it, its anchor still has the same time, and no
exclusion applies (opted out and erased always; in_handoff and in_flow when listed; in_flow
always for a `flow` action). The action sends the text, or starts the flow for the person
(bot/flow_starts.py: their answer is then handled by that flow). Each row's fate is kept in
campaign_sends (sent, or skipped with the reason) for the staff web's counts. Quiet hours are
kept."""
from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from bot.flow_starts import payload_for, start_flow
from bot.reminders import defer_if_quiet, run_time
from bot.scheduler import register_periodic, services_clock
from storage import campaigns as campaign_store
from storage.models import Campaign, Conversation, Handoff, Person
from storage.notify import notify_person
from storage.timers import timer_handler

log = logging.getLogger("xiangzhu.campaigns")


async def excluded(session, person: Person, exclude: list[str]) -> str:
    """The first exclusion that applies to the person, or ""."""
    if person.erased:
        return "erased"
    if person.opted_out:
        return "opted_out"
    if "in_handoff" in exclude:
        open_handoff = (await session.execute(select(Handoff.id).where(
            Handoff.person_id == person.id, Handoff.status != "closed").limit(1))).scalar_one_or_none()
        if open_handoff is not None:
            return "in_handoff"
    if "in_flow" in exclude:
        flow = (await session.execute(select(Conversation.flow_id).where(
            Conversation.person_id == person.id))).scalar_one_or_none()
        if flow:
            return "in_flow"
    return ""


@timer_handler(campaign_store.SEND)
async def send_campaign_message(services, session, timer) -> None:
    campaign = await session.get(Campaign, int(timer.target.split(":", 1)[1]))
    payload = timer.payload or {}
    if campaign is None or campaign.state != "active" or campaign.version != payload.get("version"):
        return
    person = await session.get(Person, int(payload["person"]))
    if person is None:
        return
    at = await campaign_store.anchor_still(session, campaign.spec, person.id, payload["ref"])
    if at is None or at != datetime.fromisoformat(payload["anchor_at"]):
        return  # the anchor is gone or moved; the campaigns job schedules the moved one
    now = run_time(services, timer)
    reason = await excluded(session, person, campaign.spec.get("exclude", []))
    if reason:
        await campaign_store.record_send(session, campaign.id, person.id, at=now, skipped=reason)
        return
    if await defer_if_quiet(services, session, timer, now):
        return
    if campaign.spec.get("flow"):
        await _start_flow(services, session, campaign, person, payload["ref"], now)
        return
    text = campaign.spec["text"]
    body = text["en"] if person.locale == "en" and text.get("en") else text["zh"]
    row = await notify_person(session, person.id, body, kind="campaign", respect_opt_out=True)
    await campaign_store.record_send(session, campaign.id, person.id, at=now, outbox_id=row.id if row else None,
                                     skipped="" if row else "no_channel")


async def _start_flow(services, session, campaign: Campaign, person: Person, ref: str, now: datetime) -> None:
    """The `flow` action: the flow starts for the person (bot/flow_starts.py), its payload filled
    from the anchor (a flag's id for `/checkin {flag}`); a flow that cannot start is recorded."""
    flow_payload = await payload_for(services, session, campaign.spec["flow"], ref)
    if flow_payload is None:
        log.warning("campaign %s: flow %r cannot be started for anchor %s", campaign.id, campaign.spec["flow"], ref)
        await campaign_store.record_send(session, campaign.id, person.id, at=now, skipped="flow_unavailable")
        return
    rows = await start_flow(services, session, person, flow_payload, now=now)
    await campaign_store.record_send(session, campaign.id, person.id, at=now, outbox_id=rows[0].id if rows else None,
                                     skipped="" if rows else "no_channel")


async def schedule_campaigns(services) -> None:
    """The `campaigns` job: rows for new anchors of every active campaign."""
    now = services_clock(services)()
    async with services.db.session() as session:
        for campaign in await campaign_store.listing(session):
            await campaign_store.schedule_rows(session, campaign, now, services.settings.timezone)


register_periodic("campaigns", IntervalTrigger(minutes=15), schedule_campaigns,
                  "活动计划排程 / schedule campaign messages for new anchors")
