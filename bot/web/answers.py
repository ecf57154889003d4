"""Saved answers: each worker keeps their own; admins keep the shared ones everyone may send.
Sent from a conversation page with {name}, {village}, {case} filled in."""
from __future__ import annotations

from fastapi import APIRouter, Request

from bot.api.common import services_of
from bot.authz import AuthError
from bot.web.rendering import back_to, lang_of, message_page, page_caller, render, texts, to_signin
from bot.desk import service as desk

router = APIRouter(include_in_schema=False)


async def _page(request: Request, who, *, error: str = "", status_code: int = 200):
    async with services_of(request).db.session() as s:
        found = await desk.list_saved(s, who.scope)
    done = texts(request)["done"].get(request.query_params.get("done", ""), "")
    return render(request, "answers.html", status_code, who=who, error=error, done=done,
                  own=[a for a in found if a.staff_id is not None],
                  shared=[a for a in found if a.staff_id is None], is_admin=who.scope.is_admin)


@router.get("/answers")
async def answers(request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    if not who.scope.can_write:
        return message_page(request, 404, texts(request)["not_found"], who)
    return await _page(request, who)


async def _form_caller(request: Request):
    form = await request.form()
    try:
        return form, await page_caller(request, form_csrf=str(form.get("csrf_token", "")))
    except AuthError:
        return form, None


@router.post("/answers")
async def save(request: Request):
    form, who = await _form_caller(request)
    if who is None:
        return message_page(request, 403, texts(request)["csrf"])
    if not who.scope.can_write:
        return message_page(request, 404, texts(request)["not_found"], who)
    shared = who.scope.is_admin and form.get("shared") == "1"
    services = services_of(request)
    try:
        async with services.db.session() as s:
            await desk.save_answer(s, who.scope, str(form.get("name", "")), str(form.get("text", "")),
                                   shared=shared)
    except desk.DeskError as exc:
        return await _page(request, who, error=exc.zh if lang_of(request) == "zh" else exc.en, status_code=422)
    return back_to("/answers?done=saved")


@router.post("/answers/{answer_id}/delete")
async def delete(answer_id: int, request: Request):
    form, who = await _form_caller(request)
    if who is None:
        return message_page(request, 403, texts(request)["csrf"])
    try:
        async with services_of(request).db.session() as s:
            await desk.delete_answer(s, who.scope, answer_id)
    except desk.DeskError:
        return message_page(request, 404, texts(request)["not_found"], who)
    return back_to("/answers?done=deleted")
