"""/api/flows: the flows admins edit — drafts (validated; a save based on an older version
than someone else's newer draft is refused with 409), the checks the editor shows as one
types, completions, the diagram, the simulator, publish, history, diff, rollback and usage.

Roles: admins edit, publish and roll back; supervisors also simulate; workers read.
Every publish and rollback is in the audit log (storage/flow_store.py writes it).
"""
from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from ruamel.yaml import YAML
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.api.common import (
    ADMINS_ONLY,
    VIEWER_ONLY_TOTALS,
    ApiError,
    caller,
    iso,
    not_found,
    now_of,
    resource_router,
    services_of,
)
from bot.authz import Caller
from bot.flow_simulator import FlowSimulator, Persona, SimRequest, SimulationError
from bot.flow_usage import step_usage
from flows.diagram import diagram
from flows.model import SLOT_TYPES, STEP_KINDS
from flows.outline import outline
from flows.problem_texts import in_language
from flows.registry import load_actions
from flows.store import save_draft
from flows.translations import check_translations
from flows.validate import FlowValidationError, validate_text
from storage import flow_store
from storage import policies as policy_service
from storage.models import Flow, Staff

router = resource_router()

FLOW_ID = r"[a-z][a-z0-9_]{0,63}"
SIMULATORS = ApiError(403, "只有管理员和督导可以模拟", "only admins and supervisors may simulate")


def _content_reader(c: Caller) -> None:
    if not authz.can_read_content(c.scope):
        raise VIEWER_ONLY_TOTALS


def _content_editor(c: Caller) -> None:
    if not authz.can_edit_content(c.scope):
        raise ADMINS_ONLY


def _simulator(c: Caller) -> None:
    if c.scope.role not in ("admin", "supervisor"):
        raise SIMULATORS


def _check_id(flow_id: str) -> None:
    if not re.fullmatch(FLOW_ID, flow_id):
        raise ApiError(422, "流程编号只能用小写字母、数字和下划线", "a flow id is lower-case letters, digits and _")


async def _who(s: AsyncSession, actor: str | None) -> dict:
    """An audit actor ("staff:3", "system", "cli") as a person to show."""
    m = re.fullmatch(r"staff:(\d+)", actor or "")
    staff = await s.get(Staff, int(m.group(1))) if m else None
    if staff is None:
        return {"actor": actor, "username": actor, "name": actor}
    return {"actor": actor, "username": staff.username, "name": staff.display_name or staff.username}


def _header(yaml_text: str) -> dict:
    try:
        data = YAML(typ="safe").load(yaml_text)
    except Exception:  # a saved version always loads; this is only for show
        return {}
    return data if isinstance(data, dict) else {}


def _diff(a: str, b: str, a_name: str, b_name: str) -> str:
    return "".join(difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True), a_name, b_name))


async def flow_json(s: AsyncSession, flow_id: str) -> dict:
    flow = await s.get(Flow, flow_id)
    if flow is None:
        raise not_found("流程", "flow")
    versions = await flow_store.versions_of(s, flow_id)
    current = next((v for v in versions if v.id == flow.current_version_id), None)
    latest = versions[0] if versions else None
    shown = latest or current
    draft = latest if latest is not None and (current is None or latest.version > current.version) else None
    header = _header(shown.yaml) if shown else {}
    published = [v for v in versions if v.published_at is not None]
    last = max(published, key=lambda v: v.published_at) if published else None
    return {
        "id": flow.id, "version": shown.version if shown else None, "yaml": shown.yaml if shown else "",
        "title": header.get("title") if isinstance(header.get("title"), dict) else {"zh": flow.id, "en": flow.id},
        "triggers": header.get("triggers") if isinstance(header.get("triggers"), dict) else {},
        "published_version": current.version if current else None,
        "draft": draft is not None,
        "draft_by": await _who(s, draft.created_by) if draft else None,
        "draft_at": iso(draft.created_at) if draft else None,
        "last_published_at": iso(last.published_at) if last else None,
        "updated_at": iso(flow.updated_at),
        "versions": [{"version": v.version, "created_by": v.created_by, "created_at": iso(v.created_at),
                      "published_at": iso(v.published_at)} for v in versions],
    }


@router.get("/flows", summary="All flows: title, published version, draft (who, when), triggers, last publish")
async def list_flows(request: Request, c: Caller = Depends(caller)):
    _content_reader(c)
    async with services_of(request).db.session() as s:
        ids = await flow_store.flow_ids(s)
        return {"flows": [{k: v for k, v in (await flow_json(s, i)).items() if k not in ("yaml", "versions")}
                          for i in ids]}


@router.get("/flows/{flow_id}", summary="A flow: its newest version's YAML (a draft if there is one)")
async def get_flow(flow_id: str, request: Request, c: Caller = Depends(caller)):
    _content_reader(c)
    async with services_of(request).db.session() as s:
        return await flow_json(s, flow_id)


class FlowIn(BaseModel):
    yaml: str = Field(..., min_length=1)
    base_version: int | None = Field(None, description="the version the edit started from; a newer version "
                                                       "saved by someone else meanwhile answers 409")


@router.put("/flows/{flow_id}", summary="Save a draft after validating (422: file:line:column errors; 409: "
                                        "someone else saved a newer version)")
async def put_flow(flow_id: str, body: FlowIn, request: Request, c: Caller = Depends(caller)):
    _content_editor(c)
    _check_id(flow_id)
    async with services_of(request).db.session() as s:
        if body.base_version is not None:
            await _refuse_overwrite(s, flow_id, body, c)
        try:
            await save_draft(s, flow_id, body.yaml, created_by=c.scope.actor, registry=_registry(request))
        except FlowValidationError as exc:
            raise ApiError(422, "流程有错误，没有保存", "the flow has errors and was not saved",
                           errors=[str(e) for e in exc.errors]) from exc
        return await flow_json(s, flow_id)


async def _refuse_overwrite(s: AsyncSession, flow_id: str, body: FlowIn, c: Caller) -> None:
    await flow_store.lock_flow(s, flow_id)  # two saves at once: the second sees the first
    latest = await flow_store.latest_version(s, flow_id)
    if latest is None or latest.version <= body.base_version:
        return
    newer = [v for v in await flow_store.versions_of(s, flow_id) if v.version > body.base_version]
    others = [v for v in newer if v.created_by != c.scope.actor]
    if not others:
        return  # only my own saves since (another tab)
    who = await _who(s, others[0].created_by)
    raise ApiError(409, f"{who['name']} 在您之后保存了第 {latest.version} 版，您的修改没有保存",
                   f"{who['name']} saved version {latest.version} after you started; your edit was not saved",
                   by=who, version=latest.version, saved_at=iso(latest.created_at), yaml=latest.yaml,
                   diff=_diff(latest.yaml, body.yaml, f"v{latest.version} ({who['username']})", "yours"))


def _registry(request: Request):
    handler = getattr(services_of(request), "handler", None)
    return getattr(handler, "registry", None) or load_actions()


class PublishIn(BaseModel):
    version: int | None = Field(None, description="the version to publish (default: the newest)")


@router.post("/flows/{flow_id}/publish", summary="Publish a version (default the newest); every process picks it "
                                                 "up, conversations on the old version finish on it")
async def publish_flow(flow_id: str, request: Request, body: PublishIn | None = None, c: Caller = Depends(caller)):
    _content_editor(c)
    services = services_of(request)
    async with services.db.session() as s:
        if await s.get(Flow, flow_id) is None:
            raise not_found("流程", "flow")
        version_id = None
        if body is not None and body.version is not None:
            v = await flow_store.version_by_number(s, flow_id, body.version)
            if v is None:
                raise not_found("版本", "version")
            version_id = v.id
        try:
            await flow_store.publish(s, flow_id, version_id, by=c.scope.actor, now=now_of(services))
        except flow_store.FlowStoreError as exc:
            raise ApiError(422, "不能发布", str(exc)) from exc
        return await flow_json(s, flow_id)


class RollbackIn(BaseModel):
    version: int = Field(..., ge=1)


@router.post("/flows/{flow_id}/rollback", summary="Publish an old version anew (as a new version)")
async def rollback_flow(flow_id: str, body: RollbackIn, request: Request, c: Caller = Depends(caller)):
    _content_editor(c)
    services = services_of(request)
    async with services.db.session() as s:
        if await s.get(Flow, flow_id) is None:
            raise not_found("流程", "flow")
        try:
            await flow_store.rollback(s, flow_id, body.version, by=c.scope.actor, now=now_of(services))
        except flow_store.FlowStoreError as exc:
            raise ApiError(404, f"没有第 {body.version} 版", str(exc)) from exc
        return await flow_json(s, flow_id)


@router.get("/flows/{flow_id}/history", summary="Every version (who saved it, when, published when) and every "
                                                "publish and rollback (who, when)")
async def flow_history(flow_id: str, request: Request, c: Caller = Depends(caller)):
    _content_reader(c)
    async with services_of(request).db.session() as s:
        flow = await s.get(Flow, flow_id)
        if flow is None:
            raise not_found("流程", "flow")
        current = await flow_store.current_version(s, flow_id)
        versions = [{"version": v.version, "by": await _who(s, v.created_by), "created_at": iso(v.created_at),
                     "published_at": iso(v.published_at), "current": current is not None and v.id == current.id}
                    for v in await flow_store.versions_of(s, flow_id)]
        entries = await flow_store.publications(s, flow_id)
        copies = {e.data.get("as_version") for e in entries if e.action == "flow.rollback"}
        events = [{"action": "rollback" if e.action == "flow.rollback" else "publish",
                   "version": e.data.get("version"), "as_version": e.data.get("as_version"),
                   "by": await _who(s, e.actor), "at": iso(e.at)}
                  for e in entries if not (e.action == "flow.publish" and e.data.get("version") in copies)]
        return {"id": flow_id, "published_version": current.version if current else None,
                "versions": versions, "events": events}


@router.get("/flows/{flow_id}/diff", summary="A unified diff between two versions (a → b)")
async def flow_diff(flow_id: str, a: int, b: int, request: Request, c: Caller = Depends(caller)):
    _content_reader(c)
    async with services_of(request).db.session() as s:
        va = await flow_store.version_by_number(s, flow_id, a)
        vb = await flow_store.version_by_number(s, flow_id, b)
        if va is None or vb is None:
            raise not_found("版本", "version")
        return {"a": a, "b": b, "diff": _diff(va.yaml, vb.yaml, f"{flow_id} v{a}", f"{flow_id} v{b}")}


class YamlIn(BaseModel):
    yaml: str


def _problem(line: int, column: int, severity: str, message: str, source: str) -> dict:
    return {"line": line, "column": column, "severity": severity, "message": message, "source": source}


@router.post("/flows/{flow_id}/check", summary="The validator's line:column problems and the translations check "
                                               "of a text, without saving it")
async def check_flow(flow_id: str, body: YamlIn, request: Request, lang: Literal["en", "zh"] = "en",
                     c: Caller = Depends(caller)):
    """Each problem's `message` is in `lang` (the editor's Chinese page asks for zh); `message_en`
    is the English the CLI prints."""
    _content_reader(c)
    _check_id(flow_id)
    problems = [_problem(e.line, e.column, "error", e.message, "validator")
                for e in validate_text(body.yaml, f"{flow_id}.yaml", _registry(request))]
    seen = {(p["line"], p["message"]) for p in problems}
    for f in check_translations(body.yaml):
        if (f.line, f.message) not in seen:
            problems.append(_problem(f.line, f.column, f.severity, f.message, "translations"))
    problems.sort(key=lambda p: (p["line"], p["column"]))
    for p in problems:
        p["message_en"] = p["message"]
        p["message"] = in_language(p["message"], lang)
    return {"ok": not any(p["severity"] == "error" for p in problems), "problems": problems,
            "errors": sum(p["severity"] == "error" for p in problems),
            "warnings": sum(p["severity"] == "warning" for p in problems)}


@router.post("/flows/{flow_id}/completions", summary="What may be typed where: step ids and slots of this text, "
                                                     "actions, policies, flows, slot types")
async def flow_completions(flow_id: str, body: YamlIn, request: Request, c: Caller = Depends(caller)):
    _content_reader(c)
    shape = outline(body.yaml)
    registry = _registry(request)
    async with services_of(request).db.session() as s:
        policies = [p.policy_id for p in await policy_service.current_policies(s)]
        flow_ids = await flow_store.flow_ids(s)
    return {
        "steps": [st.id for st in shape.steps if not st.id.startswith("#")],
        "slots": shape.slots,
        "actions": [{"name": n, "args": {a.name: a.type + ("" if a.required else "?")
                                         for a in registry.get(n).args.values()},
                     "doc": registry.get(n).doc.splitlines()[0] if registry.get(n).doc else ""}
                    for n in registry.names()],
        "policies": policies, "flows": flow_ids, "slot_types": list(SLOT_TYPES), "step_kinds": list(STEP_KINDS),
    }


@router.post("/flows/{flow_id}/diagram", summary="The flow as Mermaid flowchart text, each node with its line")
async def flow_diagram(flow_id: str, body: YamlIn, c: Caller = Depends(caller)):
    _content_reader(c)
    return diagram(body.yaml)


class PersonaIn(BaseModel):
    village: str = ""
    locale: str = Field("zh", pattern="^(zh|en)$")
    consented: bool = True
    open_case: bool = False


class SimulateIn(BaseModel):
    yaml: str = Field(..., min_length=1)
    text: str = ""
    payload: str = ""
    state: dict[str, Any] | None = None
    start: bool = False
    step: str | None = None
    slots: dict[str, Any] = {}
    persona: PersonaIn = PersonaIn()
    sender: str = Field("", max_length=64)


@router.post("/flows/{flow_id}/simulate", summary="One turn of the draft through the real engine and NLU, in a "
                                                  "transaction that is rolled back: replies per channel, events, slots")
async def simulate_flow(flow_id: str, body: SimulateIn, request: Request, c: Caller = Depends(caller)):
    _simulator(c)
    _check_id(flow_id)
    req = SimRequest(flow_id=flow_id, yaml=body.yaml, text=body.text, payload=body.payload, state=body.state,
                     start=body.start, step=body.step, slots=body.slots, persona=Persona(**body.persona.model_dump()),
                     sender=body.sender)
    try:
        return await FlowSimulator(services_of(request)).turn(req)
    except SimulationError as exc:
        raise ApiError(422, "无法模拟", str(exc), errors=exc.errors) from exc


@router.get("/flows/{flow_id}/usage", summary="Per step, over the last N days: conversations that reached it and "
                                              "that stopped there")
async def flow_usage(flow_id: str, request: Request, days: int = 30, c: Caller = Depends(caller)):
    _content_reader(c)
    services = services_of(request)
    async with services.db.session() as s:
        if await s.get(Flow, flow_id) is None:
            raise not_found("流程", "flow")
        return await step_usage(s, flow_id, now=now_of(services), days=max(1, min(days, 365)))
