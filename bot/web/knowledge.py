"""The policy knowledge base on the staff web: the published policies, a policy's form (who
qualifies, what you get, how to apply, documents, contact, source, effective date, and the
eligibility questions and rules in a YAML box checked like a flow, each problem at its line),
publishing a new version, the local facts of an area (village → township → county → national;
the closest area wins, storage/policy_overrides.py), and an "ask the bot" box: the answer a
villager of a chosen village would get — through the real engine in a rolled-back
transaction (bot/flow_simulator.py) — and the policies the search ranks first.

Roles as in the API (bot/authz.can_edit_content): admins publish and set local facts;
supervisors and workers read and ask; viewers get 404. Publishing and local facts are audited.
"""
from __future__ import annotations

import re
from typing import Any

import yaml
from fastapi import APIRouter, Request

from bot import authz
from bot.api.common import services_of
from bot.flow_simulator import FlowSimulator, Persona, SimRequest, SimulationError
from bot.web.guard import ADMIN, WRITERS, not_found, staff_caller
from bot.web.policy_yaml import dump, read_eligibility
from bot.web.rendering import back_to, lang_of, render
from flows.mission.policy import MIN_SCORE, policy_index
from storage import audit, flow_store, policies, policy_overrides
from storage.areas import all_areas
from storage.models import Area
from storage.policy_checks import TEXT_FIELDS, PolicyDataError

router = APIRouter(include_in_schema=False)

POLICY_ID = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
LEVELS = ("village", "township", "county")

WORDS = {
    "zh": {
        "kb": "政策知识库", "new": "新政策", "policy_id": "政策编号（小写字母，如 dibao）", "version": "版本",
        "effective_date": "生效日期", "published": "发布于", "publish": "发布新版本", "sources": "来源网址（每行一个）",
        "keywords": "关键词（用逗号分开）", "eligibility": "资格自测：问题和规则（YAML）", "zh": "中文", "en": "英文",
        "overrides": "地方规定（村 → 镇 → 县 → 全国，近的优先）", "area": "地区", "set_override": "保存地方规定",
        "params": "地方参数（YAML，如 local_standard: 620）", "no_overrides": "没有地方规定。", "edit_area": "修改",
        "ask": "问问机器人", "question": "村民的问题", "village": "以哪个村的村民身份问", "any_village": "不知道村",
        "ask_button": "看看怎么回答", "answer": "机器人会这样回答", "ranking": "搜索排名（分数 ≥ {min} 时直接回答）",
        "score": "分数", "named": "问题里直接提到", "applied": "用了这些地方规定", "read_only": "您可以查看；只有管理员可以修改和发布。",
        "line": "第 {n} 行", "problems": "有问题，没有发布：",
        "levels": {"village": "村", "township": "镇", "county": "县"},
        "fields": {"title": "名称", "summary": "一句话说明", "who_qualifies": "谁能申请", "what_you_get": "能得到什么",
                   "how_to_apply": "怎么申请", "documents": "要带的材料", "contact": "找谁", "notes": "常见误解",
                   "legal_basis": "依据"},
        "done": {"published": "已发布新版本，机器人马上用新内容回答。", "override": "地方规定已保存，这个地区的村民马上看到。"},
    },
    "en": {
        "kb": "Policy knowledge base", "new": "New policy", "policy_id": "Policy id (lower case, e.g. dibao)",
        "version": "Version", "effective_date": "Effective date", "published": "Published",
        "publish": "Publish a new version", "sources": "Sources (one web address a line)",
        "keywords": "Keywords (comma separated)", "eligibility": "Self-check: questions and rules (YAML)",
        "zh": "Chinese", "en": "English", "overrides": "Local facts (village → township → county → national; closest wins)",
        "area": "Area", "set_override": "Save the local facts", "params": "Local parameters (YAML, e.g. local_standard: 620)",
        "no_overrides": "No local facts.", "edit_area": "edit", "ask": "Ask the bot", "question": "A villager's question",
        "village": "Ask as a villager of", "any_village": "village unknown", "ask_button": "See the answer",
        "answer": "The bot would answer", "ranking": "Search ranking (answered at once from {min})", "score": "score",
        "named": "named in the question", "applied": "Local facts used", "read_only": "You can read; only admins edit and publish.", "line": "line {n}",
        "problems": "Not published; fix these:",
        "levels": {"village": "village", "township": "township", "county": "county"},
        "fields": {"title": "Title", "summary": "In one sentence", "who_qualifies": "Who qualifies",
                   "what_you_get": "What you get", "how_to_apply": "How to apply", "documents": "Documents to bring",
                   "contact": "Whom to ask", "notes": "Common misunderstandings", "legal_basis": "Legal basis"},
        "done": {"published": "Published; the bot answers with it at once.",
                 "override": "Saved; villagers of that area see it at once."},
    },
}


def _words(request: Request) -> dict:
    return WORDS[lang_of(request)]


def _done(request: Request) -> str:
    return _words(request)["done"].get(request.query_params.get("done", ""), "")


def _area_label(area: Area, lang: str) -> str:
    name = area.name if lang == "zh" else (area.name_en or area.name)
    return f"{name}（{WORDS[lang]['levels'].get(area.level, area.level)}）"


async def _override_areas(s, lang: str) -> list[tuple[int, str]]:
    return [(a.id, _area_label(a, lang)) for a in await all_areas(s) if a.level in LEVELS]


@router.get("/knowledge")
async def knowledge_page(request: Request):
    who, refused = await staff_caller(request, roles=WRITERS)
    if refused:
        return refused
    lang = lang_of(request)
    async with services_of(request).db.session() as s:
        rows = await policies.current_policies(s)
        villages = [(a.code, _area_label(a, lang)) for a in await all_areas(s) if a.level == "village"]
    return render(request, "knowledge.html", who=who, k=_words(request), rows=rows, villages=villages,
                  can_edit=authz.can_edit_content(who.scope), asked=None, q="", village="")


def _text(pv, name: str, loc: str) -> str:
    value = getattr(pv, name, None) or {}
    return str(value.get(loc) or "") if isinstance(value, dict) else ""


def _values_of(pv) -> dict:
    if pv is None:
        return {"policy_id": ""}
    values: dict[str, Any] = {"policy_id": pv.policy_id}
    for name in TEXT_FIELDS:
        values[f"{name}_zh"], values[f"{name}_en"] = _text(pv, name, "zh"), _text(pv, name, "en")
    values["sources"] = "\n".join(pv.sources or [])
    values["keywords"] = ", ".join(pv.keywords or [])
    values["effective_date"] = pv.effective_date.isoformat() if pv.effective_date else ""
    values["eligibility"] = dump(pv.eligibility or {})
    return values


async def _policy_page(request: Request, who, policy_id: str | None, *, values: dict | None = None,
                       problems: list | None = None, status_code: int = 200, override_values: dict | None = None,
                       override_problems: list | None = None):
    lang = lang_of(request)
    async with services_of(request).db.session() as s:
        pv = await policies.get_policy(s, policy_id) if policy_id else None
        if policy_id and pv is None and values is None:
            return not_found(request, who)
        overrides = await policy_overrides.overrides_of(s, policy_id) if pv else []
        areas = {a.id: a for a in await all_areas(s)}
        choices = await _override_areas(s, lang)
    chosen = request.query_params.get("area", "")
    if override_values is None:
        existing = next((o for o in overrides if str(o.area_id) == chosen), None)
        override_values = {"area": chosen}
        if existing is not None:
            for name in TEXT_FIELDS:
                value = (existing.fields or {}).get(name) or {}
                override_values[f"{name}_zh"] = value.get("zh", "") if isinstance(value, dict) else ""
                override_values[f"{name}_en"] = value.get("en", "") if isinstance(value, dict) else ""
            override_values["effective_date"] = existing.effective_date.isoformat() if existing.effective_date else ""
            params = ((existing.fields or {}).get("eligibility") or {}).get("params")
            override_values["params"] = dump(params) if params else ""
    return render(request, "policy.html", status_code, who=who, k=_words(request), pv=pv,
                  values=values or _values_of(pv), problems=problems or [], text_fields=TEXT_FIELDS,
                  overrides=overrides, areas=areas, area_choices=choices, override_values=override_values,
                  override_problems=override_problems or [], can_edit=authz.can_edit_content(who.scope),
                  area_label=lambda a: _area_label(a, lang), done=_done(request))


@router.get("/knowledge/new")
async def new_policy(request: Request):
    who, refused = await staff_caller(request, roles=ADMIN)
    if refused:
        return refused
    return await _policy_page(request, who, None)


@router.get("/knowledge/ask")
async def ask(request: Request):
    who, refused = await staff_caller(request, roles=WRITERS)
    if refused:
        return refused
    lang = lang_of(request)
    q = request.query_params.get("q", "").strip()[:300]
    village = request.query_params.get("village", "").strip()[:64]
    services = services_of(request)
    asked: dict[str, Any] = {"ranking": [], "replies": [], "error": "", "applied": [], "named": ""}
    async with services.db.session() as s:
        rows = await policies.current_policies(s)
        villages = [(a.code, _area_label(a, lang)) for a in await all_areas(s) if a.level == "village"]
        area = next((a for a in await all_areas(s) if a.code == village and a.level == "village"), None)
        flow = await flow_store.current_version(s, "policy") if q else None
    entities: list[dict] = []
    if flow is not None:  # the answer through the real engine and NLU, rolled back
        try:
            out = await FlowSimulator(services).turn(SimRequest(
                flow_id="policy", yaml=flow.yaml, text=q, persona=Persona(village=area.code if area else "",
                                                                         locale=lang)))
            asked["replies"] = [r["text"] for r in out["replies"]]
            entities = out.get("entities") or []
        except SimulationError as exc:
            asked["error"] = str(exc)
    if q:
        async with services.db.session() as s:
            index = await policy_index(s, lang)
            titles = {pv.policy_id: policies.localized(pv.title, lang) for pv in rows}
            # as flows/mission/policy.find_policy: a policy the NLU found named in the question comes first
            entity = next((e.get("value") for e in entities if e.get("entity") == "policy"), None)
            if isinstance(entity, str) and entity in index.docs and not index.named_as_status(q, entity):
                asked["named"] = entity
            hits = [h for h in index.search(q, k=5, policy_entity=entity) if h.policy_id != asked["named"]]
            order = ([{"policy_id": entity, "title": titles.get(entity, entity), "score": None}]
                     if asked["named"] else [])
            asked["ranking"] = order + [{"policy_id": h.policy_id, "title": titles.get(h.policy_id, h.policy_id),
                                         "score": round(float(h.score), 2)} for h in hits]
            if asked["ranking"]:
                doc = await policy_overrides.resolve(s, asked["ranking"][0]["policy_id"],
                                                     area.id if area else None, lang)
                asked["applied"] = sorted({(o["area_name"], o["level"]) for o in (doc or {}).get("overrides", {})
                                           .values()})
    return render(request, "knowledge.html", who=who, k=_words(request), rows=rows, villages=villages,
                  can_edit=authz.can_edit_content(who.scope), asked=asked if q else None, q=q, village=village,
                  min_score=MIN_SCORE)


@router.get("/knowledge/{policy_id}")
async def policy_page(policy_id: str, request: Request):
    who, refused = await staff_caller(request, roles=WRITERS)
    if refused:
        return refused
    return await _policy_page(request, who, policy_id)


def _lines(value: str, sep: str) -> list[str]:
    return [x.strip() for x in re.split(sep, value) if x.strip()]


@router.post("/knowledge")
async def publish(request: Request):
    form = await request.form()
    who, refused = await staff_caller(request, form, roles=ADMIN)
    if refused:
        return refused
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    policy_id = values.get("policy_id", "").strip()
    problems: list[tuple[int | None, str]] = []
    if not POLICY_ID.match(policy_id):
        problems.append((None, "政策编号只能用小写字母、数字和 _ / the id is lower-case letters, digits and _"))
    fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        zh, en = values.get(f"{name}_zh", "").strip(), values.get(f"{name}_en", "").strip()
        if zh or en:
            fields[name] = {"zh": zh, "en": en} if en else {"zh": zh}
    fields["sources"] = _lines(values.get("sources", ""), r"\s+")
    fields["keywords"] = _lines(values.get("keywords", ""), r"[,，、\n]")
    fields["effective_date"] = values.get("effective_date", "").strip() or None
    eligibility, found = read_eligibility(values.get("eligibility", ""))
    problems += found
    if eligibility:
        fields["eligibility"] = eligibility
    if not problems:
        try:
            async with services_of(request).db.session() as s:
                version = await policies.publish_policy(s, policy_id, fields, by=who.scope.actor)
                await audit.record(s, who.scope.actor, "policy.publish", f"policy:{policy_id}",
                                   {"version": version.version})
        except PolicyDataError as exc:
            problems += [(None, p) for p in exc.problems]
    if problems:
        async with services_of(request).db.session() as s:
            exists = await policies.get_policy(s, policy_id) is not None if POLICY_ID.match(policy_id) else False
        return await _policy_page(request, who, policy_id if exists else None, values=values, problems=problems,
                                  status_code=422)
    return back_to(f"/knowledge/{policy_id}?done=published")


@router.post("/knowledge/{policy_id}/overrides")
async def set_override(policy_id: str, request: Request):
    form = await request.form()
    who, refused = await staff_caller(request, form, roles=ADMIN)
    if refused:
        return refused
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        zh, en = values.get(f"{name}_zh", "").strip(), values.get(f"{name}_en", "").strip()
        if zh or en:
            fields[name] = {k: v for k, v in (("zh", zh), ("en", en)) if v}
    problems: list[str] = []
    params_text = values.get("params", "").strip()
    if params_text:
        try:
            params = yaml.safe_load(params_text)
        except yaml.YAMLError as exc:
            params, problems = None, [f"params: this is not valid YAML: {exc}"]
        if params is not None:
            fields["eligibility"] = {"params": params}
    area = values.get("area", "")
    if not problems:
        try:
            async with services_of(request).db.session() as s:
                if await policies.get_policy(s, policy_id) is None:
                    return not_found(request, who)
                row = await policy_overrides.set_override(s, policy_id, int(area) if area.isdigit() else 0, fields,
                                                          effective_date=values.get("effective_date") or None)
                await audit.record(s, who.scope.actor, "policy.override", f"policy:{policy_id}",
                                   {"area_id": row.area_id, "fields": sorted(fields)})
        except (PolicyDataError, ValueError) as exc:
            problems = list(getattr(exc, "problems", None) or [str(exc)])
    if problems:
        return await _policy_page(request, who, policy_id, override_values=values, override_problems=problems,
                                  status_code=422)
    return back_to(f"/knowledge/{policy_id}?done=override&area={area}")
