"""The emergency hotlines on the staff web (admins): the list the emergency flow shows
(kv `hotlines`, storage/policies.py; flows/mission/handoff.py picks the ones that fit the
emergency, and always 110 and 120). Add, change or remove a hotline; every save is checked
(storage/policy_checks.hotline_problems) and audited."""
from __future__ import annotations

from fastapi import APIRouter, Request

from bot.api.common import services_of
from bot.web.guard import ADMIN, staff_caller
from bot.web.rendering import back_to, lang_of, render
from storage import audit, policies
from storage.demo import load_data
from storage.policy_checks import PolicyDataError

router = APIRouter(include_in_schema=False)

# the tags the emergency flow matches on (storage/demo_data/hotlines.yaml)
SITUATIONS = ("danger", "violence", "crime", "domestic_violence", "missing", "fire", "disaster", "rescue", "medical",
              "injury", "poisoning", "women", "children", "youth", "psychological", "self_harm", "government",
              "policy", "complaint")

WORDS = {
    "zh": {
        "hotlines": "紧急热线", "intro": "村民说出紧急情况时，机器人先发合适的热线（110 和 120 总会发）。",
        "number": "号码", "label": "名称", "label_en": "英文名称", "when": "什么时候打", "when_en": "英文说明",
        "situations": "适用情况", "save": "保存", "remove": "删除", "add": "添加热线", "defaults": "还没有保存过，下面是默认的热线。",
        "done": {"saved": "热线已保存，紧急回复马上使用新的列表。", "removed": "已删除。"},
        "tags": {"danger": "危险", "violence": "暴力", "crime": "犯罪", "domestic_violence": "家暴", "missing": "走失",
                 "fire": "火灾", "disaster": "灾害", "rescue": "救援", "medical": "急病", "injury": "受伤",
                 "poisoning": "中毒", "women": "妇女", "children": "儿童", "youth": "青少年",
                 "psychological": "心理", "self_harm": "自伤", "government": "政务", "policy": "政策",
                 "complaint": "投诉"},
    },
    "en": {
        "hotlines": "Emergency hotlines",
        "intro": "When a villager reports an emergency, the bot first sends the hotlines that fit (always 110 and 120).",
        "number": "Number", "label": "Name", "label_en": "Name in English", "when": "When to call",
        "when_en": "When to call, in English", "situations": "Fits", "save": "Save", "remove": "Remove",
        "add": "Add a hotline", "defaults": "Never saved yet: these are the built-in hotlines.",
        "done": {"saved": "Saved; the emergency reply uses the new list at once.", "removed": "Removed."},
        "tags": {"danger": "danger", "violence": "violence", "crime": "crime", "domestic_violence": "domestic violence",
                 "missing": "missing person", "fire": "fire", "disaster": "disaster", "rescue": "rescue",
                 "medical": "sudden illness", "injury": "injury", "poisoning": "poisoning", "women": "women",
                 "children": "children", "youth": "youth", "psychological": "mental health",
                 "self_harm": "self-harm", "government": "government", "policy": "policy", "complaint": "complaint"},
    },
}


def _words(request: Request) -> dict:
    return WORDS[lang_of(request)]


async def _current(s) -> tuple[list[dict], bool]:
    stored = await policies.get_hotlines(s)
    return (stored, False) if stored else (list(load_data("hotlines")["hotlines"]), True)  # what `xiangzhu seed` stores


def _page(request: Request, who, hotlines: list[dict], defaults: bool, *, error: str = "", status_code: int = 200,
          draft: dict | None = None):
    words = _words(request)
    return render(request, "hotlines.html", status_code, who=who, h=words, hotlines=hotlines, defaults=defaults,
                  situations=SITUATIONS, error=error, draft=draft or {},
                  done=words["done"].get(request.query_params.get("done", ""), ""))


@router.get("/hotlines")
async def hotlines_page(request: Request):
    who, refused = await staff_caller(request, roles=ADMIN)
    if refused:
        return refused
    async with services_of(request).db.session() as s:
        hotlines, defaults = await _current(s)
    return _page(request, who, hotlines, defaults)


def _from_form(form) -> dict:
    return {"number": str(form.get("number", "")).strip(),
            "label": {"zh": str(form.get("label", "")).strip()[:100], "en": str(form.get("label_en", "")).strip()[:100]},
            "when": {"zh": str(form.get("when", "")).strip()[:300], "en": str(form.get("when_en", "")).strip()[:300]},
            "situations": [str(x) for x in form.getlist("situations") if str(x) in SITUATIONS]}


async def _save(request: Request, change, done: str):
    form = await request.form()
    who, refused = await staff_caller(request, form, roles=ADMIN)
    if refused:
        return refused
    async with services_of(request).db.session() as s:
        hotlines, defaults = await _current(s)
        try:
            new = change(list(hotlines), form)
            await policies.set_hotlines(s, new)
        except (PolicyDataError, IndexError, ValueError) as exc:
            problems = "; ".join(exc.problems) if isinstance(exc, PolicyDataError) else str(exc)
            return _page(request, who, hotlines, defaults, error=problems, status_code=422, draft=_from_form(form))
        await audit.record(s, who.scope.actor, "hotlines.set", "kv:hotlines",
                           {"numbers": [str(h["number"]) for h in new]})
    return back_to(f"/hotlines?done={done}")


@router.post("/hotlines")
async def add_hotline(request: Request):
    def change(hotlines, form):
        return [*hotlines, _from_form(form)]
    return await _save(request, change, "saved")


@router.post("/hotlines/{index}")
async def change_hotline(index: int, request: Request):
    def change(hotlines, form):
        if not 0 <= index < len(hotlines):
            raise IndexError("没有这条热线 / no such hotline")
        if form.get("remove") == "1":
            del hotlines[index]
        else:
            hotlines[index] = _from_form(form)
        return hotlines
    return await _save(request, change, "saved")
