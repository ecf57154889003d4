"""The flow editor's pages: /flows (the list), /flows/{id} (the editor: CodeMirror with the
validator's messages at their lines, autocomplete, a Mermaid diagram, the simulator, publish)
and /flows/{id}/history (versions, diff, rollback). Server-rendered shells; the editor's
script (bot/flow_editor_assets/src/editor.js) talks to /api/flows with the session cookie and
the CSRF header. The libraries come from npm (bot/flow_editor_assets/package.json); `make
editor-assets` installs them and bundles the scripts with esbuild into dist/, served by the app
with Mermaid from node_modules — no internet at run time, no inline script, and the pages carry
the staff web's strict Content-Security-Policy like every other page.

Roles as in the API: admins edit and publish, supervisors read and simulate, workers read.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, Response

from bot import authz
from bot.api.common import ApiError, services_of
from bot.api.flows import flow_json
from bot.web import lang_of, page_caller, render, to_signin
from storage import flow_store
from storage.areas import villages as village_areas

ASSETS = Path(__file__).resolve().parent / "flow_editor_assets"
NPM = ASSETS / "node_modules"
PREFIX = "/flows/assets"

TEXTS = {
    "zh": {
        "flows": "对话流程", "id": "编号", "title": "名称", "published": "已发布版本", "draft": "草稿",
        "triggers": "触发", "last_publish": "最近发布", "none": "无", "by": "由", "edit": "编辑",
        "history": "历史", "save": "保存草稿", "publish": "发布", "problems": "检查结果", "no_problems": "没有问题",
        "diagram": "流程图", "simulator": "模拟器", "usage": "使用情况", "line": "第 {n} 行",
        "persona": "模拟的村民", "village": "村子代码", "language": "语言", "consented": "已同意隐私说明",
        "open_case": "有未结案件", "start_at": "从这一步开始", "slots_in": "预先填好的信息（每行 名称: 值）",
        "start": "开始模拟", "send": "发送", "say": "村民说…", "events": "会发生的事", "slots": "已收集的信息",
        "telegram": "Telegram", "wechat": "微信", "saved": "草稿已保存：第 {v} 版", "published_ok": "已发布第 {v} 版",
        "conflict": "冲突", "read_only": "您可以查看和模拟，只有管理员可以修改和发布。", "versions": "版本",
        "events_h": "发布记录", "diff": "比较", "rollback": "回滚到这一版", "current": "当前",
        "rolled": "已把第 {v} 版重新发布", "reached": "到达", "stopped": "停在这里", "no_events": "（没有）",
        "step": "步骤", "back": "返回列表", "confirm_publish": "发布后，新对话都用这一版。确定发布吗？",
        "confirm_rollback": "把第 {v} 版重新发布为新版本？", "loading": "加载中…", "denied": "您的账号不能查看流程。",
        "reply_number": "回复数字",
    },
    "en": {
        "flows": "Flows", "id": "ID", "title": "Title", "published": "Published", "draft": "Draft",
        "triggers": "Triggers", "last_publish": "Last publish", "none": "none", "by": "by", "edit": "Edit",
        "history": "History", "save": "Save draft", "publish": "Publish", "problems": "Problems",
        "no_problems": "No problems", "diagram": "Diagram", "simulator": "Simulator", "usage": "Usage",
        "line": "line {n}", "persona": "Simulated villager", "village": "Village code", "language": "Language",
        "consented": "Consented", "open_case": "Has an open case", "start_at": "Start at step",
        "slots_in": "Prepared values (one per line, name: value)", "start": "Start", "send": "Send",
        "say": "The villager says…", "events": "What would happen", "slots": "Slots so far",
        "telegram": "Telegram", "wechat": "WeChat", "saved": "Draft saved: version {v}",
        "published_ok": "Published version {v}", "conflict": "Conflict",
        "read_only": "You can read and simulate; only admins edit and publish.", "versions": "Versions",
        "events_h": "Publications", "diff": "Compare", "rollback": "Roll back to this version", "current": "current",
        "rolled": "Version {v} published anew", "reached": "reached", "stopped": "stopped here",
        "no_events": "(none)", "step": "Step", "back": "All flows",
        "confirm_publish": "New conversations will use this version. Publish?",
        "confirm_rollback": "Publish version {v} anew as a new version?", "loading": "Loading…",
        "denied": "Your account cannot see flows.", "reply_number": "Reply with a number",
    },
}

router = APIRouter(include_in_schema=False)


def _zone(request: Request) -> ZoneInfo:
    """The configured zone (XIANGZHU_TIMEZONE, Asia/Shanghai by default): times on these pages
    are local, the API's are UTC."""
    try:
        return ZoneInfo(services_of(request).settings.timezone or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _local(iso_text: str | None, zone: ZoneInfo) -> str:
    if not iso_text:
        return ""
    t = datetime.fromisoformat(iso_text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)  # stored as UTC (SQLite drops the zone)
    return t.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _f(request: Request) -> dict:
    return TEXTS[lang_of(request)]


async def _reader(request: Request):
    who = await page_caller(request)
    if who is None:
        return None, to_signin(request)
    if not authz.can_read_content(who.scope):
        return None, render(request, "message.html", 403, message=_f(request)["denied"])
    return who, None


# The diagram frame's own policy: Mermaid lays out with inline styles, so this page alone
# allows them; scripts stay our own, and only the editor page (same origin) may frame it.
FRAME_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
             "connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


@router.get("/flows/diagram-frame")
async def diagram_frame(request: Request):
    """Where Mermaid draws for the editor (bot/flow_editor_assets/src/diagram-frame.js)."""
    if await page_caller(request) is None:
        return to_signin(request)
    response = render(request, "flows/diagram_frame.html", prefix=PREFIX)
    response.headers["Content-Security-Policy"] = FRAME_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@router.get("/flows")
async def flows_page(request: Request):
    who, response = await _reader(request)
    if who is None:
        return response
    async with services_of(request).db.session() as s:
        flows = [await flow_json(s, i) for i in await flow_store.flow_ids(s)]
    zone = _zone(request)
    for flow in flows:
        flow["draft_local"] = _local(flow["draft_at"], zone)
        flow["last_published_local"] = _local(flow["last_published_at"], zone)
    return render(request, "flows/list.html", f=_f(request), flows=flows, csrf_token=who.csrf_token,
                  role=who.scope.role)


@router.get("/flows/{flow_id}")
async def editor_page(flow_id: str, request: Request):
    who, response = await _reader(request)
    if who is None:
        return response
    async with services_of(request).db.session() as s:
        try:
            flow = await flow_json(s, flow_id)
        except ApiError:
            return render(request, "message.html", 404, message="找不到这个流程 / flow not found")
        villages = await village_areas(s)
    return render(request, "flows/editor.html", f=_f(request), flow=flow, csrf_token=who.csrf_token,
                  role=who.scope.role, can_edit=authz.can_edit_content(who.scope),
                  can_simulate=who.scope.role in ("admin", "supervisor"),
                  villages=villages, texts_json=json.dumps(_f(request), ensure_ascii=False), prefix=PREFIX)


@router.get("/flows/{flow_id}/history")
async def history_page(flow_id: str, request: Request):
    who, response = await _reader(request)
    if who is None:
        return response
    async with services_of(request).db.session() as s:
        try:
            flow = await flow_json(s, flow_id)
        except ApiError:
            return render(request, "message.html", 404, message="找不到这个流程 / flow not found")
    return render(request, "flows/history.html", f=_f(request), flow=flow, csrf_token=who.csrf_token,
                  can_edit=authz.can_edit_content(who.scope), zone=_zone(request).key, texts_json=json.dumps(_f(request), ensure_ascii=False),
                  prefix=PREFIX)


@router.get(PREFIX + "/{kind}/{path:path}")
async def asset(kind: str, path: str, request: Request):
    """The editor's scripts (src) and npm libraries (npm), for signed-in staff only, like every
    page of the app."""
    if await page_caller(request) is None:
        return to_signin(request)
    root = {"src": ASSETS / "src", "dist": ASSETS / "dist", "npm": NPM}.get(kind)
    if root is None:
        return Response(status_code=404)
    file = (root / path).resolve()
    if not file.is_relative_to(root.resolve()) or not file.is_file():
        return Response(status_code=404)
    media = "text/javascript" if file.suffix in (".js", ".mjs") else None
    return FileResponse(file, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


def mount(app: FastAPI, services) -> None:
    if getattr(app.state, "services", None) is None:
        app.state.services = services
    app.include_router(router)


__all__ = ["mount"]
