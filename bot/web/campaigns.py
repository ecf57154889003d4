"""Campaigns on the staff web: the list with each campaign's state and counts (sent,
answered, opted out, pending), a form to create or edit one (who: an area, an activity's
participants, flagged households; when: an anchor date and an offset; what: a message or a
flow to start), pause and resume, and a campaign's latest sends with the villagers' answers.

The form is turned into the campaign's YAML document and checked by flows/campaigns.py like
the CLI and the API (so an edit reschedules every pending row, storage/campaigns.py). Admins
see and change every campaign; supervisors those whose segment lies in their areas (an area
or an activity there) — county-wide segments (flagged households, everyone) are admins'.
Another area's campaign answers 404 like a missing one. Opening a campaign (its recipients'
names and answers) is audited as `campaign.view`.
"""
from __future__ import annotations

import io

from fastapi import APIRouter, Request
from ruamel.yaml import YAML

from bot import authz
from bot.api.common import now_of, services_of
from bot.authz import Caller
from bot.errors import BotError
from bot.web.outreach_access import activity_choices, area_choices, not_found, outreach_caller, words
from bot.web.rendering import back_to, render
from flows.campaigns import ANCHORS, parse_campaign
from storage import audit
from storage import campaigns as campaign_store
from storage import flags as flag_store
from storage import flow_store
from storage.models import Campaign, Person

router = APIRouter(include_in_schema=False)

UNITS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400}
SEGMENTS = ("village", "activity", "flagged", "everyone")
COUNTY_WIDE = ("flagged", "everyone")
EXCLUDABLE = ("in_handoff", "in_flow")


class _Refused(BotError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


async def _may_see(s, who: Caller, campaign: Campaign) -> bool:
    if who.scope.is_admin:
        return True
    placed, area_id = await campaign_store.area_of(s, campaign.spec)
    return placed and authz.covers_area(who.scope, area_id)


async def _visible(s, who: Caller, campaign_id: int) -> Campaign | None:
    campaign = await s.get(Campaign, campaign_id)
    if campaign is None or campaign.state == "removed" or not await _may_see(s, who, campaign):
        return None
    return campaign


def _segment_label(spec: dict, w: dict) -> str:
    (kind, value), = spec["segment"].items()
    return w["segment"].get(kind, kind) + ("" if kind == "everyone" else f"：{value}")


def values_of(spec: dict) -> dict:
    """The form's fields for a campaign's spec."""
    (kind, value), = spec["segment"].items()
    seconds = spec.get("offset_seconds", 0)
    unit = next((u for u in ("weeks", "days", "hours", "minutes") if seconds % UNITS[u] == 0), "minutes")
    return {"name": spec.get("name", ""), "segment": kind, "area": value if kind == "village" else "",
            "activity": str(value) if kind == "activity" else "", "flag": value if kind == "flagged" else "",
            "anchor": spec.get("anchor", ""), "amount": str(abs(seconds) // UNITS[unit]), "unit": unit,
            "direction": "before" if seconds < 0 else "after",
            "hour": "" if spec.get("delivery_hour") is None else str(spec["delivery_hour"]),
            "what": "flow" if spec.get("flow") else "text", "flow": spec.get("flow", ""),
            "text_zh": (spec.get("text") or {}).get("zh", ""), "text_en": (spec.get("text") or {}).get("en", ""),
            "exclude": [x for x in spec.get("exclude", []) if x in EXCLUDABLE]}


def _form_values(form) -> dict:
    v = {k: str(form.get(k, "")).strip() for k in ("name", "segment", "area", "activity", "flag", "anchor", "amount",
                                                   "unit", "direction", "hour", "what", "flow", "text_zh",
                                                   "text_en")}
    v["exclude"] = [x for x in form.getlist("exclude") if x in EXCLUDABLE]
    return v


async def _document(s, request: Request, who: Caller, v: dict) -> tuple[str, dict]:
    """The YAML document the form describes and its checked spec; _Refused with the reason."""
    w = words(request)
    kind = v["segment"] if v["segment"] in SEGMENTS else "village"
    if kind in COUNTY_WIDE and not who.scope.is_admin:
        raise _Refused(w["errors"]["county"])
    if kind == "village":
        if v["area"] not in {a.code for a in await area_choices(s, who.scope)}:
            raise _Refused(w["errors"]["area"])
        segment = {"village": v["area"]}
    elif kind == "activity":
        if v["activity"] not in {str(a.id) for a in await activity_choices(s, who.scope)}:
            raise _Refused(w["errors"]["activity"])
        segment = {"activity": int(v["activity"])}
    elif kind == "flagged":
        segment = {"flagged": v["flag"] or flag_store.WATCH}
    else:
        segment = {"everyone": True}
    if not v["amount"].isdigit():
        raise _Refused(w["errors"]["number"])
    doc: dict = {"name": v["name"], "segment": segment, "anchor": v["anchor"],
                 "offset": f"{int(v['amount'])} {v['unit'] if v['unit'] in UNITS else 'days'} "
                           f"{'before' if v['direction'] == 'before' else 'after'}"}
    if v["hour"]:
        doc["delivery_hour"] = int(v["hour"]) if v["hour"].isdigit() else v["hour"]
    if v["what"] == "flow":
        if v["flow"] not in await flow_store.current_ids(s):  # a published flow
            raise _Refused(w["errors"]["flow"])
        doc["action"] = {"flow": v["flow"]}
    else:
        if not v["text_zh"]:
            raise _Refused(w["errors"]["text"])
        doc["action"] = {"text": {"zh": v["text_zh"], "en": v["text_en"]}}
    if v["exclude"]:
        doc["exclude"] = list(v["exclude"])
    out = io.StringIO()
    yaml = YAML()
    yaml.allow_unicode = True
    yaml.dump(doc, out)
    text = out.getvalue()
    spec, errors = parse_campaign(text, "campaign")
    if errors:
        raise _Refused("；".join(e.message for e in errors))
    return text, spec


async def _form_context(s, who: Caller) -> dict:
    return {"areas": await area_choices(s, who.scope), "activities": await activity_choices(s, who.scope),
            "flag_kinds": flag_store.KINDS, "anchors": ANCHORS, "units": tuple(UNITS),
            "flows": sorted(await flow_store.current_ids(s)), "excludable": EXCLUDABLE,
            "segments": SEGMENTS if who.scope.is_admin else ("village", "activity")}


@router.get("/campaigns")
async def campaign_list(request: Request):
    who, refused = await outreach_caller(request)
    if refused:
        return refused
    w = words(request)
    async with services_of(request).db.session() as s:
        rows = [{"c": c, "who": _segment_label(c.spec, w), "report": await campaign_store.report(s, c.id)}
                for c in await campaign_store.listing(s) if await _may_see(s, who, c)]
    return render(request, "campaigns.html", who=who, w=w, rows=rows)


async def _form_page(request: Request, who: Caller, *, values: dict, error: str = "", status_code: int = 200,
                     campaign: Campaign | None = None, report: dict | None = None, sends=()):
    async with services_of(request).db.session() as s:
        context = await _form_context(s, who)
        names = {}
        if sends:
            ids = {row.person_id for row, _ in sends}
            for p in [await s.get(Person, pid) for pid in ids]:
                if p is not None:
                    names[p.id] = p.display_name or f"#{p.id}"
    done = ""
    key = request.query_params.get("done", "")
    if key in words(request)["done"]:
        done = words(request)["done"][key].format(rows=request.query_params.get("rows", ""))
    return render(request, "campaign.html", status_code, who=who, w=words(request), values=values, error=error,
                  campaign=campaign, report=report, sends=sends, names=names, done=done, **context)


@router.get("/campaigns/new")
async def new_campaign_page(request: Request):
    who, refused = await outreach_caller(request)
    if refused:
        return refused
    return await _form_page(request, who, values={"segment": "village", "anchor": "consent_date", "amount": "1",
                                                  "unit": "days", "direction": "after", "what": "text"})


@router.post("/campaigns")
async def create_campaign(request: Request):
    form = await request.form()
    who, refused = await outreach_caller(request, form)
    if refused:
        return refused
    services = services_of(request)
    values = _form_values(form)
    try:
        async with services.db.session() as s:
            text, spec = await _document(s, request, who, values)
            campaign, rows = await campaign_store.add(s, text, spec, tz=services.settings.timezone,
                                                      by=who.scope.actor, now=now_of(services))
    except (_Refused, campaign_store.CampaignError) as exc:
        return await _form_page(request, who, values=values, error=getattr(exc, "message", str(exc)),
                                status_code=422)
    return back_to(f"/campaigns/{campaign.id}?done=created&rows={rows}")


@router.get("/campaigns/{campaign_id}")
async def campaign_page(campaign_id: int, request: Request):
    who, refused = await outreach_caller(request)
    if refused:
        return refused
    return await _detail(request, who, campaign_id)


async def _detail(request: Request, who: Caller, campaign_id: int, *, values: dict | None = None, error: str = "",
                  status_code: int = 200):
    async with services_of(request).db.session() as s:
        campaign = await _visible(s, who, campaign_id)
        if campaign is None:
            return not_found(request, who)
        report = await campaign_store.report(s, campaign.id)
        sends = await campaign_store.sends(s, campaign.id)
        await audit.record(s, who.scope.actor, "campaign.view", f"campaign:{campaign.id}")  # names and answers
    return await _form_page(request, who, values=values or values_of(campaign.spec), error=error,
                            status_code=status_code, campaign=campaign, report=report, sends=sends)


@router.post("/campaigns/{campaign_id}")
async def edit_campaign(campaign_id: int, request: Request):
    form = await request.form()
    who, refused = await outreach_caller(request, form)
    if refused:
        return refused
    services = services_of(request)
    values = _form_values(form)
    try:
        async with services.db.session() as s:
            if await _visible(s, who, campaign_id) is None:
                return not_found(request, who)
            text, spec = await _document(s, request, who, values)
            await campaign_store.edit(s, campaign_id, text, spec, tz=services.settings.timezone, by=who.scope.actor,
                                      now=now_of(services))
    except (_Refused, campaign_store.CampaignError) as exc:
        return await _detail(request, who, campaign_id, values=values, error=getattr(exc, "message", str(exc)),
                             status_code=422)
    return back_to(f"/campaigns/{campaign_id}?done=edited")


@router.post("/campaigns/{campaign_id}/state")
async def campaign_state(campaign_id: int, request: Request):
    form = await request.form()
    who, refused = await outreach_caller(request, form)
    if refused:
        return refused
    state = str(form.get("state", ""))
    services = services_of(request)
    async with services.db.session() as s:
        if state not in ("active", "paused") or await _visible(s, who, campaign_id) is None:
            return not_found(request, who)
        await campaign_store.set_state(s, campaign_id, state, tz=services.settings.timezone, by=who.scope.actor,
                                       now=now_of(services))
    return back_to(f"/campaigns/{campaign_id}?done={state}")
