"""Policy answers from the knowledge base and the eligibility self-check.

The search index (BM25, `nlu.kb.PolicyIndex`) is built from `storage.policies.kb_documents`
and cached by the knowledge-base version, so a publish reaches every process on its next
message. Answers are resolved for the person's village (area overrides). Eligibility
questions and rules are data in the policy record; these actions walk them.
"""
from __future__ import annotations

import asyncio
from typing import Any

from vocab import conditions
from vocab.messages import Button
from flows.mission.common import choice, localized, pick
from flows.mission.eligibility import eligibility_names
from flows.registry import ActionContext, action, warm_up
from flows.templates import render
from nlu.kb import PolicyDoc, PolicyIndex
from storage import policies, policy_overrides

ELIGIBILITY_POLICIES = ("dibao", "tekun", "canji_butie", "yulu_jihua")
CASE_CATEGORY = {"dibao": "livelihood", "tekun": "livelihood", "canji_butie": "disability",
                 "yulu_jihua": "education", "linshi_jiuzhu": "livelihood", "yiliao_jiuzhu": "medical",
                 "jiaoyu_zizhu": "education", "weifang_gaizao": "housing", "xiaoe_xindai": "employment",
                 "gongyi_gangwei": "employment", "jiuye_peixun": "employment", "liushou_ertong": "child_care",
                 "fanpin_jiance": "livelihood", "yanglao_baoxian": "elderly_care"}
# the score is BM25 (1.0 when the top hit leads both the passage and the document ranking) plus
# the learnt scorer's weighted probability (nlu/kb_model.py, up to 1.5): answer when both agree
# enough (2026-12-07: 1.0 before the learnt scorer; at 1.0 with it, vague questions such as
# "日子难过 有啥补贴" were answered outright)
MIN_SCORE = 1.3
# under MIN_SCORE but at least this: the right policy is nearly always one of the top two, so offer both
OFFER_SCORE = 1.0
# (engine, knowledge-base version) -> {locale: search index}; the engine is part of the key
# because a version number means something only in its own database
_INDEX_CACHE: dict[tuple[Any, str], dict[str, Any]] = {}


async def policy_index(session, locale: str):
    """The search index for the current knowledge-base version (built once per version).
    Its `docs` are the published policies, so it also answers "is this policy published?"."""
    version = await policies.kb_version(session)
    key = (session.bind, version)
    by_locale = _INDEX_CACHE.get(key)
    if by_locale is None:
        _INDEX_CACHE.clear()  # older versions are never asked for again
        by_locale = _INDEX_CACHE[key] = {}
    index = by_locale.get(locale)
    if isinstance(index, asyncio.Future) and index.get_loop() is not asyncio.get_running_loop():
        index = None  # a build started in an event loop that has ended (tests run many)
    if index is None:
        docs = [PolicyDoc(d["policy_id"], d["title"], d["text"], list(d.get("keywords") or []),
                          d.get("who", ""))
                for d in await policies.kb_documents(session, locale)]
        # about a second of CPU after a publish (BM25 and the learnt scorer, nlu/kb_model.py):
        # in a thread, so other conversations go on
        # meanwhile; questions that need it wait for the same build
        index = by_locale[locale] = asyncio.ensure_future(
            asyncio.to_thread(PolicyIndex.build, docs, f"{version}:{locale}"))
    if isinstance(index, asyncio.Future):
        try:
            built = await index
        except BaseException:
            by_locale.pop(locale, None)  # the next question tries again
            raise
        by_locale[locale] = index = built
    return index


@warm_up
async def build_policy_indexes(session) -> None:
    """Build both search indexes at start (about a second each, once per KB version)."""
    for locale in ("zh", "en"):
        await policy_index(session, locale)


def _hit_fields(hit) -> tuple[str | None, float]:
    if isinstance(hit, dict):
        return hit.get("policy_id") or hit.get("id"), float(hit.get("score", 0))
    if isinstance(hit, (tuple, list)) and len(hit) >= 2:
        return str(hit[0]), float(hit[1])
    return getattr(hit, "policy_id", None) or getattr(hit, "id", None), float(getattr(hit, "score", 0))


def _entity(ctx: ActionContext, name: str):
    for e in (ctx.turn.parse or {}).get("entities", []):
        if e.get("entity") == name:
            return e.get("value")
    return None


async def find_policy(ctx: ActionContext, question: str, policy: str | None
                      ) -> tuple[str | None, float, list[str]]:
    """The policy a question is about: the named one, the NLU's `policy` entity, or the best
    search hit when it scores well enough; else the top two hits to choose from when the
    best is close to that (otherwise [])."""
    index = await policy_index(ctx.session, "en" if ctx.locale == "en" else "zh")
    if isinstance(policy, str) and policy in index.docs:  # published (the index holds every published policy)
        return policy, 99.0, []
    entity = _entity(ctx, "policy")
    text = (question or "").strip()
    # "我们是低保户 …" names the household's status, not the question: the search decides
    if isinstance(entity, str) and entity in index.docs and not index.named_as_status(text, entity):
        return entity, 99.0, []
    if not text or text.startswith("/"):
        return None, 0.0, []
    hits = [_hit_fields(h) for h in index.search(text, k=3, policy_entity=entity)]
    if not hits:
        return None, 0.0, []
    pid, score = hits[0]
    if score >= MIN_SCORE:
        return pid, score, []
    close = [p for p, _ in hits[:2]] if score >= OFFER_SCORE and len(hits) >= 2 else []
    return None, score, close


async def _policy_choices(ctx: ActionContext, pids: list[str]) -> list[dict]:
    """The policies as numbered choices, titled in both languages."""
    zh, en = await policy_index(ctx.session, "zh"), await policy_index(ctx.session, "en")
    return [choice(p, _title(zh, p), _title(en, p) or _title(zh, p)) for p in pids]


def _title(index, pid: str) -> str:
    doc = index.docs.get(pid)
    return doc.title if doc is not None else ""


def _first_items(text: str, n: int) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return "\n".join(lines[:n])


def _source_line(doc: dict, locale: str) -> str:
    date = doc.get("effective_date") or ""
    local = doc.get("overrides", {}).get("what_you_get") or doc.get("overrides", {}).get("contact")
    if local:
        where = local.get("area_name", "")
        return pick(locale, f"来源：{where}的规定，{local.get('effective_date') or date}。",
                    f"Source: rules of {where}, {local.get('effective_date') or date}.")
    basis = (doc.get("legal_basis") or "").split("；")[0].split(";")[0].strip()
    return pick(locale, f"来源：{basis}（{date}）。金额各地不同，以乡镇为准。",
                f"Source: {basis} ({date}). Amounts differ by place; your township confirms.")


async def _village_id(ctx: ActionContext) -> int | None:
    vid = ctx.slots.get("village_id")
    if isinstance(vid, int):
        return vid
    return ctx.person.village_id


def say_with_buttons(ctx: ActionContext, text: str, buttons: list | None, policy: str, eligibility: bool) -> None:
    """Say `text` with the flow's buttons; "{policy}" in a payload becomes the policy id, and
    the eligibility button is left out for policies without a self-check."""
    made = []
    for b in buttons or []:
        if not isinstance(b, dict) or "payload" not in b:
            continue
        payload = str(b["payload"]).replace("{policy}", policy)
        if payload.startswith("/eligibility") and not eligibility:
            continue
        made.append(Button(localized(b.get("title"), ctx.locale), payload))
    ctx.say(text, made)


@action("policy_answer", args={"question": "text?", "policy": "text?", "buttons": "list?"})
async def policy_answer(ctx: ActionContext, question: str = "", policy: str = "", buttons: list | None = None
                        ) -> dict:
    """Answer a policy question in a few lines (who qualifies, what you get, where to apply,
    what to bring, local contact, source and date), for the person's village. Sets the slot
    `policy`. `found` is false when nothing matches well; `eligibility` says whether the
    self-check exists for it. With `buttons`, the action says the answer itself with those
    buttons ("{policy}" in a payload is filled in); without, the flow says `result.text`.

        - action: policy_answer
          args:
            question: "{{question}}"
            policy: "{{policy}}"
            buttons:
              - {title: {zh: 怎么申请, en: How to apply}, payload: "/policy_apply {policy}"}
              - {title: {zh: 找社工, en: Talk to a worker}, payload: /human}
        - branch:
            - if: result.pair
              goto: pick_policy    # ask: choices_from: result.pair
            - if: not result.found
              goto: not_found
    """
    # a pressed command (the menu key 问政策 sends "/policy" with its title as text) asks nothing yet
    said = "" if ctx.turn.payload.startswith("/") else ctx.turn.text
    pid, score, close = await find_policy(ctx, question or said, policy or None)
    if pid is None:  # with `pair`, the flow asks which of the two is meant
        return {"found": False, "score": score, "pair": await _policy_choices(ctx, close) if close else None}
    doc = await policy_overrides.resolve(ctx.session, pid, await _village_id(ctx), ctx.locale)
    if doc is None:
        return {"found": False, "score": score}
    ctx.slots["policy"] = pid
    en = ctx.locale == "en"
    parts = [
        f"【{doc['title']}】{doc.get('summary', '')}",
        (("Who: " if en else "谁能办：") + _first_items(doc.get("who_qualifies", ""), 2)),
        (("You get: " if en else "能得到：") + _first_items(doc.get("what_you_get", ""), 1)),
        (("Apply: " if en else "去哪办：") + _first_items(doc.get("how_to_apply", ""), 1)),
        (("Bring: " if en else "要带：") + _first_items(doc.get("documents", ""), 1)),
        (("Contact: " if en else "找谁：") + doc.get("contact", "")),
        _source_line(doc, ctx.locale),
    ]
    text = "\n".join(p for p in parts if p.strip())
    eligibility = bool(doc.get("eligibility", {}).get("questions"))
    if buttons is not None:
        say_with_buttons(ctx, text, buttons, pid, eligibility)
    return {"found": True, "policy": pid, "title": doc["title"], "text": text, "eligibility": eligibility,
            "score": score}


@action("policy_section", args={"policy": "text", "part": "text", "buttons": "list?"})
async def policy_section(ctx: ActionContext, policy: str, part: str, buttons: list | None = None) -> dict:
    """More of one policy: `part` is `more` (what you get in full, common misunderstandings)
    or `apply` (how to apply, what to bring, whom to ask). `buttons` as for policy_answer.

        - action: policy_section
          args: {policy: "{{policy}}", part: apply}
    """
    pid = str(policy or "").strip()
    doc = await policy_overrides.resolve(ctx.session, pid, await _village_id(ctx), ctx.locale) if pid else None
    if doc is None:
        return {"found": False}
    ctx.slots["policy"] = pid
    en = ctx.locale == "en"
    if part == "apply":
        sections = [("How to apply:" if en else "怎么申请：", doc.get("how_to_apply")),
                    ("Bring:" if en else "要带的材料：", doc.get("documents")),
                    ("Ask:" if en else "找谁：", doc.get("contact"))]
    else:
        sections = [("What you get:" if en else "能得到什么：", doc.get("what_you_get")),
                    ("Good to know:" if en else "要注意：", doc.get("notes"))]
    text = f"【{doc['title']}】\n" + "\n".join(f"{head}\n{body}" for head, body in sections if body)
    eligibility = bool(doc.get("eligibility", {}).get("questions"))
    if buttons is not None:
        say_with_buttons(ctx, text, buttons, pid, eligibility)
    return {"found": True, "policy": pid, "title": doc["title"], "text": text, "eligibility": eligibility}


# ── eligibility self-check ───────────────────────────────────────────────────────────────


async def _eligibility(ctx: ActionContext, policy: str) -> tuple[dict, dict] | None:
    doc = await policy_overrides.resolve(ctx.session, policy, await _village_id(ctx), ctx.locale)
    if doc is None or not doc.get("eligibility", {}).get("questions"):
        return None
    return doc, doc["eligibility"]


def decide(eligibility: dict, answers: dict) -> tuple[dict | None, bool]:
    """(the rule that decides, decided). Rules are tried in order, the first true one wins;
    a rule that reads an unanswered question stops the walk (not decided yet). When every
    rule is false the default decides."""
    params = eligibility.get("params") or {}
    question_ids = {q["id"] for q in eligibility.get("questions", [])}
    env = eligibility_names(eligibility, answers)
    for rule in eligibility.get("rules", []):
        needed = {n.split(".")[0] for n in conditions.names(rule["when"])} & question_ids
        if needed - set(answers) - set(params):
            return None, False
        try:
            if conditions.evaluate(rule["when"], env):
                return rule, True
        except conditions.ConditionError:
            continue
    return None, True


def _unanswered(eligibility: dict, answers: dict) -> dict | None:
    return next((q for q in eligibility.get("questions", []) if q["id"] not in answers), None)


@action("eligibility_next", args={"policy": "text"})
async def eligibility_next(ctx: ActionContext, policy: str) -> dict:
    """The next self-check question for `policy`, or `done` when the answers so far decide.
    Questions and rules come from the policy record (admins edit them); answers are kept in
    the slot `elig_answers`.

        - id: next_question
          action: eligibility_next
          args: {policy: "{{policy}}"}
        - branch:
            - if: result.done
              goto: verdict
            - if: result.type == 'number'
              goto: ask_number
        # result: done, question, type (yes_no | number), min, max, title
    """
    found = await _eligibility(ctx, str(policy or ""))
    if found is None:
        return {"done": True, "missing": True}
    doc, elig = found
    answers = dict(ctx.slots.get("elig_answers") or {})
    _, decided = decide(elig, answers)
    question = None if decided else _unanswered(elig, answers)
    if question is None:
        return {"done": True, "title": doc["title"]}
    ctx.slots["elig_question"] = question["id"]
    text = question["text"].get(ctx.locale) or question["text"].get("zh", "")
    count = len(answers) + 1
    return {"done": False, "question": f"({count}) {text}", "type": question.get("type", "yes_no"),
            "min": question.get("min", 0), "max": question.get("max", 1_000_000), "title": doc["title"]}


@action("eligibility_answer", args={"value": "any"})
async def eligibility_answer(ctx: ActionContext, value) -> dict:
    """Keep the answer to the question eligibility_next asked.

        - action: eligibility_answer
          args: {value: "{{elig_yes}}"}
    """
    qid = ctx.slots.get("elig_question")
    if not qid:
        return {"stored": False}
    answers = dict(ctx.slots.get("elig_answers") or {})
    answers[qid] = value
    ctx.slots["elig_answers"] = answers
    ctx.slots.pop("elig_yes", None)
    ctx.slots.pop("elig_number", None)
    return {"stored": True, "answered": len(answers)}


@action("eligibility_result", args={"policy": "text"})
async def eligibility_result(ctx: ActionContext, policy: str) -> dict:
    """The self-check's verdict — never a promise: `result` likely | unlikely | maybe,
    `text` with the reason and, when likely, how to apply; otherwise policies that may fit
    instead (`suggest`).

        - action: eligibility_result
          args: {policy: "{{policy}}"}
        - say: {zh: "{{result.text}}", en: "{{result.text}}"}
    """
    found = await _eligibility(ctx, str(policy or ""))
    if found is None:
        return {"result": "maybe", "text": pick(ctx.locale, "这个政策没有自测题，请问社工或乡镇。",
                                                "There is no self-check for this policy; ask a social worker.")}
    doc, elig = found
    answers = dict(ctx.slots.get("elig_answers") or {})
    rule, _ = decide(elig, answers)
    verdict = rule["result"] if rule else elig.get("default", "maybe")
    reason = (rule or {}).get("reason") or elig.get("default_reason") or {}
    env = eligibility_names(elig, answers)
    reason_text = render(reason.get(ctx.locale) or reason.get("zh", ""), env)
    head = {
        "likely": pick(ctx.locale, "看起来您可能符合，值得去申请（最后由政府审核决定，不是承诺）。",
                       "You may well qualify — it is worth applying (the government decides; this is no promise)."),
        "maybe": pick(ctx.locale, "说不准，要看当地规定。", "Hard to say — it depends on local rules."),
        "unlikely": pick(ctx.locale, "看起来可能不太符合。", "You probably do not qualify."),
    }[verdict]
    lines = [head, reason_text]
    suggest_titles = []
    if verdict == "likely":
        lines.append(pick(ctx.locale, "怎么申请：", "How to apply:") + "\n" + _first_items(doc.get("how_to_apply", ""), 2))
    else:
        for other in elig.get("suggest_instead") or []:
            pv = await policies.get_policy(ctx.session, other)
            if pv is not None:
                suggest_titles.append((pv.title or {}).get(ctx.locale) or (pv.title or {}).get("zh", other))
        if suggest_titles:
            lines.append(pick(ctx.locale, "这些可能适合您：", "These may fit instead:") + " " +
                         pick(ctx.locale, "、".join(suggest_titles), "; ".join(suggest_titles)))
    ctx.slots["elig_verdict"] = verdict
    return {"result": verdict, "text": "\n".join(line for line in lines if line), "suggest": suggest_titles,
            "title": doc["title"]}


@action("eligibility_to_need", args={"policy": "text"})
async def eligibility_to_need(ctx: ActionContext, policy: str) -> dict:
    """Turn the self-check's answers into the slots of a need request (category and
    description), so `open_need_case` can file it with one tap.

        - action: eligibility_to_need
          args: {policy: "{{policy}}"}
        - action: open_need_case
          args: {category: "{{category}}", description: "{{description}}"}
    """
    found = await _eligibility(ctx, str(policy or ""))
    answers = dict(ctx.slots.get("elig_answers") or {})
    lines = []
    if found is not None:
        doc, elig = found
        lines.append(pick(ctx.locale, f"想申请：{doc['title']}（自测：{ctx.slots.get('elig_verdict', '')}）",
                          f"Wants to apply for: {doc['title']} (self-check: {ctx.slots.get('elig_verdict', '')})"))
        for q in elig.get("questions", []):
            if q["id"] in answers:
                value = answers[q["id"]]
                if isinstance(value, bool):
                    value = pick(ctx.locale, "是" if value else "否", "yes" if value else "no")
                lines.append(f"- {q['text'].get(ctx.locale) or q['text'].get('zh')} {value}")
    ctx.slots["category"] = CASE_CATEGORY.get(str(policy), "other")
    ctx.slots["description"] = "\n".join(lines)[:2000]
    return {"category": ctx.slots["category"], "description": ctx.slots["description"]}


@action("policy_choices")
async def policy_choices(ctx: ActionContext) -> dict:
    """The policies with a self-check, as choices.

        - action: policy_choices
        - ask: {slot: policy, choices_from: result.items}
    """
    items = []
    for pid in ELIGIBILITY_POLICIES:
        pv = await policies.get_policy(ctx.session, pid)
        if pv is not None and (pv.eligibility or {}).get("questions"):
            title = pv.title or {}
            items.append({"value": pid, "title": {"zh": title.get("zh", pid), "en": title.get("en", pid)}})
    return {"items": items, "count": len(items), "ids": [i["value"] for i in items]}

