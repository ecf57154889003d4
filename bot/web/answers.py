"""Saved answers: each worker keeps their own; admins keep the shared ones everyone may send.
Sent from a conversation page with {name}, {village}, {case} filled in."""
from __future__ import annotations

from fastapi import APIRouter, Request

from bot.api.common import now_of, services_of
from bot.authz import AuthError
from bot.web.rendering import back_to, message_page, page_caller, render, texts, to_signin
from storage import desk_notes
from storage.models import SavedAnswer

router = APIRouter(include_in_schema=False)


async def _page(request: Request, who, *, error: str = "", status_code: int = 200):
    async with services_of(request).db.session() as s:
        found = await desk_notes.answers_for(s, who.scope.staff_id)
    done = texts(request)["done"].get(request.query_params.get("done", ""), "")
    return render(request, "answers.html", status_code, who=who, error=error, done=done,
                  own=[a for a in found if a.owner_staff_id is not None],
                  shared=[a for a in found if a.owner_staff_id is None], is_admin=who.scope.is_admin)


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
            await desk_notes.save_answer(s, owner_staff_id=None if shared else who.scope.staff_id,
                                         name=str(form.get("name", "")), text=str(form.get("text", "")),
                                         actor=who.scope.actor, now=now_of(services))
    except desk_notes.DeskNoteError as exc:
        return await _page(request, who, error=str(exc), status_code=422)
    return back_to("/answers?done=saved")


@router.post("/answers/{answer_id}/delete")
async def delete(answer_id: int, request: Request):
    form, who = await _form_caller(request)
    if who is None:
        return message_page(request, 403, texts(request)["csrf"])
    async with services_of(request).db.session() as s:
        answer = await s.get(SavedAnswer, answer_id)
        mine = answer is not None and (answer.owner_staff_id == who.scope.staff_id or (
            answer.owner_staff_id is None and who.scope.is_admin))
        if not mine:
            return message_page(request, 404, texts(request)["not_found"], who)
        await desk_notes.delete_answer(s, answer, actor=who.scope.actor)
    return back_to("/answers?done=deleted")
