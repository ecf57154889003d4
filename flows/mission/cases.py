"""Need requests: the intake's helpers, opening the case, and following one's cases."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from flows.mission.common import as_int, choice, local_date, pick
from flows.registry import ActionContext, action
from storage import cases as case_store
from storage.areas import villages
from storage.models import Area, Message, NeedRequest
from vocab.cases import CATEGORIES, CATEGORY_WORDS

# words in a first message that point at a category (the NLU's entity wins when it has one)
CATEGORY_HINTS: dict[str, tuple[str, ...]] = {
    "housing": ("房", "屋", "漏雨", "墙", "危房", "住的地方", "没地方住", "house", "roof", "leak"),
    "medical": ("病", "医", "住院", "药", "看不起", "手术", "ill", "sick", "hospital", "medicine"),
    "education": ("学费", "上学", "读书", "念书", "辍学", "学校", "school", "tuition"),
    "employment": ("工作", "找活", "打工", "失业", "工资", "job", "work", "wage"),
    "elderly_care": ("老人", "爷爷", "奶奶", "照顾老", "婆婆", "俺娘", "我娘", "老娘", "俺爹", "我爹", "没人照顾",
                     "elder", "grandma", "grandpa"),
    "child_care": ("孩子没人管", "没人管", "留守", "带孩子", "child care", "babysit"),
    "disability": ("残疾", "瘫", "智障", "disab", "wheelchair"),
    "livelihood": ("没钱", "吃饭", "揭不开锅", "没收入", "生活困难", "穷", "money", "food", "income"),
    "disaster": ("冰雹", "洪水", "大水", "地震", "受灾", "绝收", "flood", "disaster", "storm"),
    "psychological": ("心里难受", "心情", "睡不着", "想不开", "depress", "sad", "lonely"),
    "legal": ("纠纷", "骗", "离婚", "宅基地", "占了", "lawyer", "legal", "fraud"),
}
AFFECTED_BY_CATEGORY = {"elderly_care": "elder", "child_care": "child", "education": "child"}


def category_from_text(text: str) -> str | None:
    low = text.lower()
    for category, words in CATEGORY_HINTS.items():
        if any(w in low for w in words):
            return category
    return None


@action("need_start")
async def need_start(ctx: ActionContext) -> dict:
    """Start an intake: remember when (photos and voice notes sent from now on are attached
    to the case), guess the category from the first message when the NLU found none, and
    fill the village from the person's profile.

        - action: need_start
    """
    ctx.slots["intake_since"] = ctx.now.isoformat()
    first = ctx.turn.text or ""
    found = _need_entity(ctx) or {}
    if not ctx.slots.get("category"):
        guess = found.get("value") or category_from_text(first)
        if guess in CATEGORIES:
            ctx.slots["category"] = guess
    alternative = None
    if ctx.slots.get("category") == found.get("value") and not ctx.slots.get("category_confirmed"):
        alternative = next((a for a in found.get("alternatives") or ()
                            if a in CATEGORIES and a != found.get("value")), None)
    if ctx.slots.get("category") and not ctx.slots.get("category_confirmed"):
        ctx.slots["category_guessed"] = True
    if not ctx.slots.get("village") and ctx.person.village_id:
        area = await ctx.session.get(Area, ctx.person.village_id)
        if area is not None:
            ctx.slots["village"] = area.name
            ctx.slots["village_id"] = area.id
    if not first.startswith("/") and len(first) >= 8 and not ctx.slots.get("first_message"):
        ctx.slots["first_message"] = first[:500]
    category = ctx.slots.get("category")
    result = {"category": category, "guessed": bool(ctx.slots.get("category_guessed")),
              "category_words": _both_words(category)}
    if alternative:  # two plausible categories: "是A还是B？1 A 2 B 3 都不是" (B may be 其他, so not 别的)
        result.update(alternative=alternative, alternative_words=_both_words(alternative),
                      pair=[_category_choice(category), _category_choice(alternative),
                            choice(MORE_CATEGORIES, "都不是", "Neither")])
    return result


MORE_CATEGORIES = "more"  # the "something else" answer to "是A还是B？": the full list follows


def _category_choice(category: str) -> dict:
    return choice(category, CATEGORY_WORDS["zh"][category], CATEGORY_WORDS["en"][category])


def _need_entity(ctx: ActionContext) -> dict | None:
    return next((e for e in (ctx.turn.parse or {}).get("entities", []) if e.get("entity") == "need_category"), None)


def _both_words(category: str | None) -> dict:
    """{zh, en}: a question asked again after "English" / "中文" shows the new language."""
    return {locale: _category_words(category, locale) for locale in ("zh", "en")}


def _category_words(category: str | None, locale: str) -> str:
    words = CATEGORY_WORDS["en" if locale == "en" else "zh"]
    return words.get(category or "", "")


@action("category_choices")
async def category_choices(ctx: ActionContext) -> dict:
    """The need categories as numbered choices, in the person's language.

        - action: category_choices
        - ask:
            slot: category
            choices_from: result.items
    """
    items = [_category_choice(c) for c in CATEGORIES]
    return {"items": items}


@action("find_village", args={"name": "text"})
async def find_village(ctx: ActionContext, name: str) -> dict:
    """Look a village up by name or alias ("西坡", "西坡村", "Xipo"); sets the slot
    `village_id` when found.

        - action: find_village
          args: {name: "{{village}}"}
        - branch:
            - if: not result.found
              goto: ask_village_again
    """
    text = str(name or "").strip().lower()
    if not text:
        return {"found": False}
    best = None
    all_villages = await villages(ctx.session)
    if text.isdigit():  # the NLU's village entity is the area id
        best = next((a for a in all_villages if a.id == int(text)), None)
    for area in [] if best else all_villages:
        names = [area.name, area.name_en, *(area.aliases or [])]
        names = [n.lower() for n in names if n]
        stems = [n[:-1] for n in names if n.endswith("村") and len(n) > 2]
        if text in names or text in stems or any(n and n in text for n in names + stems):
            best = area
            break
    if best is None:
        ctx.slots.pop("village_id", None)
        return {"found": False}
    ctx.slots["village_id"] = best.id
    ctx.slots["village"] = best.name if ctx.locale != "en" else (best.name_en or best.name)
    return {"found": True, "id": best.id, "name": ctx.slots["village"]}


@action("take_voice_description")
async def take_voice_description(ctx: ActionContext) -> dict:
    """When the person answered with a voice note (or a photo) instead of words, use its
    transcript, or keep the note as the description (it is attached to the case).

        - action: take_voice_description
        - branch:
            - if: result.taken
              goto: ask_urgency
    """
    media = [a for a in ctx.turn.attachments if a.kind in ("voice", "photo", "document")]
    if not media:
        return {"taken": False}
    transcript = " ".join(a.text for a in media if a.text).strip()
    kinds = {a.kind for a in media}
    if transcript:
        ctx.slots["description"] = transcript[:500]
    elif "voice" in kinds:
        ctx.slots["description"] = pick(ctx.locale, "（语音留言，见附件）", "(voice note, attached)")
    else:
        ctx.slots["description"] = pick(ctx.locale, "（照片，见附件）", "(photo, attached)")
    return {"taken": True}


@action("need_summary")
async def need_summary(ctx: ActionContext) -> dict:
    """The intake in a few words, for the "is this right?" question.

        - action: need_summary
        - say: {zh: "{{result.text}}", en: "{{result.text}}"}
    """
    s, en = ctx.slots, ctx.locale == "en"
    affected = {"self": ("本人", "yourself"), "child": ("孩子", "a child"), "elder": ("老人", "an elder"),
                "household": ("家里人", "someone in your household"), "other": ("别的村民", "another villager")}
    who = affected.get(s.get("affected") or "self", affected["self"])[1 if en else 0]
    urgency = {"urgent": ("很急", "urgent"), "high": ("比较急", "soon"), "normal": ("不急", "not urgent")}
    how = urgency.get(s.get("urgency") or "normal", urgency["normal"])[1 if en else 0]
    phone = mask_phone(s.get("phone") or "") or pick(ctx.locale, "没留", "none")
    attached = len(await _intake_attachments(ctx))
    lines = [
        pick(ctx.locale, "请核对：", "Please check:"),
        pick(ctx.locale, f"· 困难：{_category_words(s.get('category'), 'zh')}",
             f"· Need: {_category_words(s.get('category'), 'en')}"),
        pick(ctx.locale, f"· 谁：{who}", f"· Who: {who}"),
        pick(ctx.locale, f"· 情况：{_short(s.get('description'))}", f"· What: {_short(s.get('description'))}"),
        pick(ctx.locale, f"· 急不急：{how}", f"· Urgency: {how}"),
        pick(ctx.locale, f"· 村子：{s.get('village') or '没说'}", f"· Village: {s.get('village') or 'not given'}"),
        pick(ctx.locale, f"· 电话：{phone}", f"· Phone: {phone}"),
    ]
    if attached:
        lines.append(pick(ctx.locale, f"· 附件：{attached} 个", f"· Attachments: {attached}"))
    return {"text": "\n".join(lines)}


def _short(text, limit: int = 60) -> str:
    text = str(text or "").strip()
    return text if len(text) <= limit else text[:limit] + "…"


def mask_phone(phone: str) -> str:
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else ""


def normalize_phone(phone: str) -> str:
    digits = "".join(ch for ch in str(phone or "") if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if len(digits) == 11 and digits.startswith("1") else ""


async def _intake_attachments(ctx: ActionContext) -> list[dict]:
    """Photos and voice notes the person sent since the intake began (this turn included)."""
    found: list[dict] = []
    since = ctx.slots.get("intake_since")
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            start = None
        if start is not None:
            rows = (await ctx.session.execute(
                select(Message.attachments).where(Message.person_id == ctx.person.id, Message.direction == "in",
                                                  Message.created_at >= start).order_by(Message.id)
            )).scalars()
            for attachments in rows:
                found.extend(a for a in (attachments or []) if isinstance(a, dict))
    for a in ctx.turn.attachments:
        as_dict = {"kind": a.kind, "path": a.path, "mime": a.mime, "platform_id": a.platform_id, "text": a.text}
        if as_dict not in found and not any(f.get("path") == a.path and a.path for f in found):
            found.append(as_dict)
    return [a for a in found if a.get("kind") in ("voice", "photo", "document", "video")]


@action("open_need_case", args={"category": "text", "affected": "text?", "description": "text?",
                                "urgency": "text?", "phone": "text?", "on_behalf": "bool?",
                                "subject_consent": "bool?"})
async def open_need_case(ctx: ActionContext, category: str, affected: str = "self", description: str = "",
                         urgency: str = "normal", phone: str = "", on_behalf: bool = False,
                         subject_consent: bool | None = True) -> dict:
    """Open the case (needs consent). Photos and voice notes from the intake are attached;
    the village is the slot `village_id` (set by find_village) or the person's own. The
    person's village and phone are kept on their profile for next time.

        - action: open_need_case
          args:
            category: "{{category}}"
            affected: "{{affected}}"
            description: "{{description}}"
            urgency: "{{urgency}}"
            phone: "{{phone}}"
        # result: number (XZ-2026-000123), category_words
    """
    if not ctx.person.consent_given:
        return {"opened": False, "reason": "consent"}
    category = category if category in CATEGORIES else "other"
    affected = affected if affected in case_store.AFFECTED else "self"
    urgency = urgency if urgency in case_store.URGENCIES else "normal"
    phone = normalize_phone(phone)
    village_id = as_int(ctx.slots.get("village_id")) or ctx.person.village_id
    text = str(description or "").strip()
    first = ctx.slots.get("first_message")
    if first and first not in text:
        text = f"{first}\n{text}".strip()
    case = await case_store.open_case(
        ctx.session, person_id=ctx.person.id, category=category, description=text[:2000], affected=affected,
        urgency=urgency, village_id=village_id, phone=phone, attachments=await _intake_attachments(ctx),
        on_behalf=bool(on_behalf) or affected == "other", subject_consent=subject_consent is not False,
        now=ctx.now,
    )
    if village_id and not ctx.person.village_id:
        ctx.person.village_id = village_id
    if phone and not ctx.person.phone:
        ctx.person.phone = phone
    ctx.slots["case_number"] = case.number
    return {"opened": True, "number": case.number, "category_words": _category_words(category, ctx.locale)}


def _case_line(case: NeedRequest, locale: str) -> str:
    words = case_store.STATUS_WORDS["en" if locale == "en" else "zh"][case.status]
    return pick(locale,
                f"{case.number} {_category_words(case.category, 'zh')}：{words}（{local_date(case.updated_at, 'zh')}更新）",
                f"{case.number} {_category_words(case.category, 'en')}: {words} (updated {local_date(case.updated_at, 'en')})")


@action("my_cases", args={"open_only": "bool?"})
async def my_cases(ctx: ActionContext, open_only: bool = False) -> dict:
    """The person's cases, newest first: `count`, `text` (one line each), `items` (choices).

        - action: my_cases
        - ask:
            slot: case
            choices_from: result.items
    """
    rows = await case_store.cases_for_person(ctx.session, ctx.person.id, open_only=open_only)
    filed = (await ctx.session.execute(
        select(NeedRequest).where(NeedRequest.filed_by_person_id == ctx.person.id,
                                  NeedRequest.person_id != ctx.person.id).order_by(NeedRequest.id.desc())
    )).scalars()
    rows = rows + [c for c in filed if not open_only or c.status in case_store.OPEN_STATUSES]
    rows = rows[:9]
    lines = [f"{i}. {_case_line(c, ctx.locale)}" for i, c in enumerate(rows, start=1)]
    items = [choice(c.number, f"{c.number} {_category_words(c.category, 'zh')}",
                    f"{c.number} {_category_words(c.category, 'en')}") for c in rows]
    if len(rows) == 1:
        ctx.slots["case"] = rows[0].number
    return {"count": len(rows), "text": "\n".join(lines), "items": items,
            "first": rows[0].number if rows else None}


@action("case_timeline", args={"number": "text"})
async def case_timeline(ctx: ActionContext, number: str) -> dict:
    """One case's history in plain words (only what the villager may see).

        - action: case_timeline
          args: {number: "{{case}}"}
        - say: {zh: "{{result.text}}", en: "{{result.text}}"}
    """
    typed = re.fullmatch(r"XZ(\d{4})(\d{1,6})", re.sub(r"[\s\-_]", "", str(number or "").upper()))
    case = await case_store.get_case(ctx.session, case_store.format_number(int(typed[1]), int(typed[2]))) if typed else None
    if case is None or ctx.person.id not in (case.person_id, case.filed_by_person_id):  # the same words either way
        return {"found": False, "text": pick(ctx.locale, "您名下没有这个求助编号。请核对一下，或回复“我的求助”看您的全部求助。",
                                              "You have no case with that number. Please check it, or reply \"my cases\" to see yours.")}
    en = ctx.locale == "en"
    lines = [_case_line(case, ctx.locale)]
    for event in await case_store.timeline(ctx.session, case):
        when = local_date(event.created_at, ctx.locale)
        if event.kind == "created":
            lines.append(pick(ctx.locale, f"· {when} 收到求助", f"· {when} request received"))
        elif event.kind == "status":
            to = case_store.STATUS_WORDS["en" if en else "zh"].get((event.data or {}).get("to", ""), "")
            note = f"（{event.text}）" if event.text and not en else (f" ({event.text})" if event.text else "")
            lines.append(pick(ctx.locale, f"· {when} {to}{note}", f"· {when} {to}{note}"))
        elif event.kind == "attachment":
            lines.append(pick(ctx.locale, f"· {when} 收到附件", f"· {when} attachment added"))
        elif event.kind == "message" and event.text:
            lines.append(f"· {when} {event.text}")
    if case.outcome and case.status in ("resolved", "closed"):
        lines.append(pick(ctx.locale, f"结果：{case.outcome}", f"Result: {case.outcome}"))
    return {"found": True, "text": "\n".join(lines), "status": case.status}


@action("answer_case_followup", args={"case": "text", "answer": "text"})
async def answer_case_followup(ctx: ActionContext, case: str, answer: str) -> dict:
    """The villager's answer to "问题解决了吗？" (bot/followups.py): `outcome` is thanks,
    reopened, already_open or not_found.

        - action: answer_case_followup
          args: {case: "{{case}}", answer: "{{answer}}"}
    """
    from storage.followups import record_answer

    solved = str(answer).strip().lower() in ("yes", "1", "解决了")
    outcome, found = await record_answer(ctx.session, str(case).strip(), person_id=ctx.person.id, solved=solved,
                                         now=ctx.now)
    return {"outcome": outcome, "number": found.number if found else ""}
