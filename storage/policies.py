"""The policy knowledge base: immutable policy versions, per-area overrides, hotlines.

Services take an `AsyncSession`; the caller owns the transaction.

A policy's text fields are `{"zh": ..., "en": ...}`. `publish_policy` writes a new immutable
`PolicyVersion`, makes it current and bumps the knowledge-base version (kv key
`kb_version`), which the NLU's search index is cached by. Overrides hold local facts for one
area; `resolve` merges them field by field, village → township → county → national.

Eligibility (for the self-check) is data in the policy record::

    eligibility:
      questions: [{id: age, type: number, text: {zh, en}, min: 0, max: 120}, ...]
      params: {local_standard: 0}         # extra names for the rules; overrides may set them
      rules:                              # evaluated in order, the first match wins
      - {when: "age >= 60 and has_income == false", result: likely, reason: {zh, en}}
      default: maybe                      # when no rule matches (default_reason says why)
      suggest_instead: [dibao, linshi_jiuzhu]

Expressions are Python-like (`and`, `or`, `not`, comparisons, `true`/`false`) over the
question ids and params, in the condition language of `vocab.conditions` (the flows' own), and
checked with it when a policy is published.
"""
from __future__ import annotations

import ast
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage import driver
from storage.models import Area, KeyValue, Policy, PolicyOverride, PolicyVersion, utcnow
from vocab import conditions

__all__ = [
    "ELIGIBILITY_RESULTS",
    "assess_eligibility",
    "LOCALES",
    "OTHER_FIELDS",
    "POLICY_FIELDS",
    "PolicyDataError",
    "TEXT_FIELDS",
    "current_policies",
    "eligibility_names",
    "eligibility_problems",
    "get_hotlines",
    "get_policy",
    "hotline_problems",
    "kb_documents",
    "KB_VERSION",
    "kb_version",
    "policy_problems",
    "publish_policy",
    "resolve",
    "set_hotlines",
    "remember_kb_version",
    "set_override",
]

LOCALES = ("zh", "en")
TEXT_FIELDS = (
    "title",
    "summary",
    "who_qualifies",
    "what_you_get",
    "how_to_apply",
    "documents",
    "contact",
    "notes",
    "legal_basis",
)
OTHER_FIELDS = ("sources", "keywords", "effective_date", "eligibility")
POLICY_FIELDS = TEXT_FIELDS + OTHER_FIELDS
ELIGIBILITY_RESULTS = ("likely", "unlikely", "maybe")
QUESTION_TYPES = ("yes_no", "number")
KB_VERSION_KEY = "kb_version"
HOTLINES_KEY = "hotlines"
# the text an answer is searched by, in this order
SEARCH_FIELDS = ("summary", "who_qualifies", "what_you_get", "how_to_apply", "documents", "notes")
# names an expression may use besides question ids and params
_LITERAL_NAMES = {"true", "false", "True", "False", "none", "None"}


class PolicyDataError(StorageError, ValueError):
    """Policy content that cannot be stored; `problems` lists every reason in plain words."""

    def __init__(self, where: str, problems: list[str]):
        self.where = where
        self.problems = problems
        super().__init__(f"{where}: " + "; ".join(problems))


# ── checks ───────────────────────────────────────────────────────────────────────────────


def _expression_problems(expr: Any, known: set[str]) -> list[str]:
    if not isinstance(expr, str) or not expr.strip():
        return ["the condition is empty"]
    problems: list[str] = []
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        return [f"cannot read the condition {expr!r}: {exc.msg}"]
    unknown = sorted(
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - known - _LITERAL_NAMES
    )
    if unknown:
        problems.append(
            f"the condition {expr!r} uses {', '.join(unknown)}, which is neither a question nor a param"
        )
    problems.extend(f"the condition {expr!r} is not valid: {p}" for p in conditions.check(expr))
    return problems


def _text_problems(name: str, value: Any, *, complete: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{name} must have a text per language ({{zh: ..., en: ...}})"]
    problems = [f"{name} has an unknown language {k!r}" for k in value if k not in LOCALES]
    missing = [loc for loc in (LOCALES if complete else ("zh",)) if not str(value.get(loc) or "").strip()]
    problems += [f"{name} has no {loc} text" for loc in missing]
    return problems


def eligibility_problems(eligibility: Any) -> list[str]:
    """Everything wrong with an eligibility record, in words an admin understands."""
    if not eligibility:
        return []
    if not isinstance(eligibility, dict):
        return ["eligibility must be a mapping with questions and rules"]
    problems: list[str] = []
    unknown = set(eligibility) - {"questions", "params", "rules", "default", "default_reason", "suggest_instead"}
    problems += [f"eligibility has an unknown key {k!r}" for k in sorted(unknown)]
    questions = eligibility.get("questions") or []
    ids: list[str] = []
    for i, q in enumerate(questions):
        where = f"question {i + 1}"
        if not isinstance(q, dict) or not q.get("id"):
            problems.append(f"{where} has no id")
            continue
        qid = q["id"]
        where = f"question {qid!r}"
        if not str(qid).isidentifier():
            problems.append(f"{where}: an id must be one word (letters, digits, _)")
        if qid in ids:
            problems.append(f"{where} appears twice")
        ids.append(qid)
        if q.get("type") not in QUESTION_TYPES:
            problems.append(f"{where} has type {q.get('type')!r}; use yes_no or number")
        problems += [f"{where}: {p}" for p in _text_problems("text", q.get("text"), complete=True)]
    if not questions:
        problems.append("eligibility has no questions")
    params = eligibility.get("params") or {}
    if not isinstance(params, dict):
        problems.append("eligibility params must be a mapping of name: value")
        params = {}
    known = set(ids) | set(params)
    rules = eligibility.get("rules") or []
    if not rules:
        problems.append("eligibility has no rules")
    for i, rule in enumerate(rules):
        where = f"rule {i + 1}"
        if not isinstance(rule, dict):
            problems.append(f"{where} must be a mapping with when, result and reason")
            continue
        problems += [f"{where}: {p}" for p in _expression_problems(rule.get("when"), known)]
        if rule.get("result") not in ELIGIBILITY_RESULTS:
            problems.append(f"{where} has result {rule.get('result')!r}; use likely, unlikely or maybe")
        problems += [f"{where}: {p}" for p in _text_problems("reason", rule.get("reason"), complete=True)]
    if eligibility.get("default", "maybe") not in ELIGIBILITY_RESULTS:
        problems.append(f"default {eligibility.get('default')!r} must be likely, unlikely or maybe")
    if "default_reason" in eligibility:
        problems += _text_problems("default_reason", eligibility["default_reason"], complete=True)
    suggest = eligibility.get("suggest_instead") or []
    if not isinstance(suggest, list) or not all(isinstance(s, str) for s in suggest):
        problems.append("suggest_instead must be a list of policy ids")
    return problems


def policy_problems(fields: dict[str, Any], *, complete: bool = False) -> list[str]:
    """What is wrong with a policy's fields. `complete` also demands every text field in every
    language, a source and an effective date (the built-in content must be complete)."""
    problems = [f"unknown field {k!r}" for k in fields if k not in POLICY_FIELDS]
    for name in TEXT_FIELDS:
        if name in fields:
            problems += _text_problems(name, fields[name], complete=complete)
        elif complete or name == "title":
            problems.append(f"{name} is missing")
    sources = fields.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) and s.startswith("http") for s in sources):
        problems.append("sources must be a list of web addresses (http…)")
    elif complete and not sources:
        problems.append("sources is empty: name where the facts come from")
    keywords = fields.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        problems.append("keywords must be a list of words")
    if fields.get("effective_date") is not None:
        try:
            _as_date(fields["effective_date"])
        except ValueError:
            problems.append(f"effective_date {fields['effective_date']!r} is not a date like 2026-01-01")
    elif complete:
        problems.append("effective_date is missing")
    problems += eligibility_problems(fields.get("eligibility"))
    return problems


def _as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


# ── versions ─────────────────────────────────────────────────────────────────────────────


async def publish_policy(session: AsyncSession, policy_id: str, fields: dict[str, Any], by: str) -> PolicyVersion:
    """Store `fields` as a new immutable version of `policy_id`, make it current and bump the
    knowledge-base version. Raises PolicyDataError when the fields cannot be stored."""
    problems = policy_problems(fields)
    if problems:
        raise PolicyDataError(f"policy {policy_id}", problems)
    policy = await session.get(Policy, policy_id, with_for_update=True)
    if policy is None:
        policy = Policy(id=policy_id)
        session.add(policy)
        await session.flush()
    last = await session.scalar(
        select(func.max(PolicyVersion.version)).where(PolicyVersion.policy_id == policy_id)
    )
    values = {k: fields[k] for k in POLICY_FIELDS if k in fields}
    values["effective_date"] = _as_date(values.get("effective_date"))
    version = PolicyVersion(
        policy_id=policy_id, version=(last or 0) + 1, created_by=by, published_at=utcnow(), **values
    )
    session.add(version)
    await session.flush()
    policy.current_version_id = version.id
    policy.updated_at = utcnow()
    await _bump_kb_version(session)
    await session.flush()
    return version


async def current_policies(session: AsyncSession) -> list[PolicyVersion]:
    """The published version of every policy, ordered by policy id."""
    rows = await session.scalars(
        select(PolicyVersion)
        .join(Policy, Policy.current_version_id == PolicyVersion.id)
        .order_by(PolicyVersion.policy_id)
    )
    return list(rows)


async def get_policy(session: AsyncSession, policy_id: str) -> PolicyVersion | None:
    """The published version of one policy, or None."""
    return await session.scalar(
        select(PolicyVersion)
        .join(Policy, Policy.current_version_id == PolicyVersion.id)
        .where(Policy.id == policy_id)
    )


_KB_VERSION = driver.Sql('SELECT value FROM kv WHERE "key" = ?')
_KV_VALUE = driver.Columns(KeyValue.__table__, "kv", ("value",))


def _version_of(value: Any) -> str:
    return str(value.get("version", 0)) if isinstance(value, dict) else "0"


def _read_kb_version(cur: driver.Cursor) -> str:
    row = cur.one(_KB_VERSION, (KB_VERSION_KEY,))
    return _version_of(_KV_VALUE.read(row)["value"] if row else None)


# the same as a column of another statement (the turn reads it with the sender's row)
KB_VERSION = driver.Scalar(f"""(SELECT value FROM kv WHERE "key" = '{KB_VERSION_KEY}')""",
                           read=lambda value: _version_of(driver.read_json(value)))


def remember_kb_version(session: AsyncSession, version: str) -> None:
    """`kb_version` for the rest of this session's transaction, read by the caller along with
    other rows (`KB_VERSION`); a publish or override change in the session forgets it."""
    session.info[KB_VERSION_KEY] = version


async def kb_version(session: AsyncSession) -> str:
    """The knowledge-base version: changes whenever a policy is published or a local
    override changes ("0" before). Read on every policy question, so on the driver, and once
    per session (a publish in the session forgets it)."""
    version = session.info.get(KB_VERSION_KEY)
    if version is None:
        version = session.info[KB_VERSION_KEY] = await driver.run(session, _read_kb_version)
    return version


async def _bump_kb_version(session: AsyncSession) -> None:
    session.info.pop(KB_VERSION_KEY, None)
    row = await session.get(KeyValue, KB_VERSION_KEY, with_for_update=True)
    if row is None:
        session.add(KeyValue(key=KB_VERSION_KEY, value={"version": 1}))
    else:
        row.value = {"version": int(row.value.get("version", 0)) + 1}
        row.updated_at = utcnow()


async def kb_documents(session: AsyncSession, locale: str = "zh") -> list[dict[str, Any]]:
    """What the knowledge search is built from: one document per published policy, national
    text in `locale` (falling back to zh), with every keyword."""
    docs = []
    for pv in await current_policies(session):
        text = "\n".join(_localized(getattr(pv, f), locale) for f in SEARCH_FIELDS)
        docs.append(
            {
                "policy_id": pv.policy_id,
                "title": _localized(pv.title, locale),
                "text": text,
                "keywords": list(pv.keywords or []),
            }
        )
    return docs


def _localized(value: Any, locale: str) -> str:
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    return value.get(locale) or value.get("zh") or next((v for v in value.values() if v), "")


# ── overrides and resolution ─────────────────────────────────────────────────────────────


async def set_override(
    session: AsyncSession,
    policy_id: str,
    area_id: int,
    fields: dict[str, Any],
    effective_date: date | str | None = None,
) -> PolicyOverride:
    """Set the local facts of `policy_id` for one area (replacing what was there). Text fields
    may be given in one language only; `eligibility` may hold only `params`."""
    if await session.get(Policy, policy_id) is None:
        raise PolicyDataError(f"override of {policy_id}", [f"there is no policy {policy_id!r}"])
    if await session.get(Area, area_id) is None:
        raise PolicyDataError(f"override of {policy_id}", [f"there is no area {area_id}"])
    problems = [f"unknown field {k!r}" for k in fields if k not in POLICY_FIELDS]
    for name in TEXT_FIELDS:
        if name in fields:
            problems += _text_problems(name, fields[name], complete=False)
    elig = fields.get("eligibility")
    if elig:
        if not isinstance(elig, dict):
            problems.append("eligibility must be a mapping")
        elif set(elig) - {"params"}:
            problems += eligibility_problems(elig)
        elif not isinstance(elig.get("params"), dict):
            problems.append("eligibility params must be a mapping of name: value")
    if problems:
        raise PolicyDataError(f"override of {policy_id} for area {area_id}", problems)
    row = await session.scalar(
        select(PolicyOverride).where(PolicyOverride.policy_id == policy_id, PolicyOverride.area_id == area_id)
    )
    if row is None:
        row = PolicyOverride(policy_id=policy_id, area_id=area_id)
        session.add(row)
    row.fields = dict(fields)
    row.effective_date = _as_date(effective_date)
    row.updated_at = utcnow()
    await session.flush()
    await _bump_kb_version(session)  # answers are cached by this version; local facts changed
    return row


async def _area_chain(session: AsyncSession, area_id: int | None) -> list[Area]:
    """The area and its parents, closest first (village, township, county)."""
    chain: list[Area] = []
    seen: set[int] = set()
    while area_id is not None and area_id not in seen:
        seen.add(area_id)
        area = await session.get(Area, area_id)
        if area is None:
            break
        chain.append(area)
        area_id = area.parent_id
    return chain


# (engine, KB version) -> {(policy, village, locale): resolved}; a version number means something
# only in its own database, and every change to policies or overrides bumps it
_RESOLVED: dict[tuple[Any, str], dict[tuple, dict[str, Any] | None]] = {}


async def resolve(
    session: AsyncSession, policy_id: str, village_id: int | None, locale: str = "zh"
) -> dict[str, Any] | None:
    """The policy as a villager in `village_id` should read it, in `locale` (see `_resolve`),
    cached by the knowledge-base version: equal arguments give the same dict until the next
    publish or override change — read it, do not change it. (Renaming an area shows in the
    `overrides` origins after the next such change.)"""
    version = await kb_version(session)
    key = (session.bind, version)
    cached = _RESOLVED.get(key)
    if cached is None:
        _RESOLVED.clear()  # older versions are never asked for again
        cached = _RESOLVED[key] = {}
    args = (policy_id, village_id, locale)
    if args not in cached:
        cached[args] = await _resolve(session, policy_id, village_id, locale)
    return cached[args]


async def _resolve(
    session: AsyncSession, policy_id: str, village_id: int | None, locale: str = "zh"
) -> dict[str, Any] | None:
    """`resolve` without the cache. The policy as a villager in `village_id` should read it, in `locale`: national text
    with the overrides of the village, its township and its county merged field by field (the
    closest area wins). None when the policy is not published.

    Returns `{policy_id, version, version_id, locale, title, summary, …text fields as
    strings…, sources, keywords, effective_date (ISO), eligibility (with params merged),
    overrides: {field: {area_id, area_code, area_name, level, effective_date}}}`.
    """
    pv = await get_policy(session, policy_id)
    if pv is None:
        return None
    out: dict[str, Any] = {
        "policy_id": pv.policy_id,
        "version": pv.version,
        "version_id": pv.id,
        "locale": locale,
    }
    for name in TEXT_FIELDS:
        out[name] = _localized(getattr(pv, name), locale)
    out["sources"] = list(pv.sources or [])
    out["keywords"] = list(pv.keywords or [])
    out["effective_date"] = pv.effective_date.isoformat() if pv.effective_date else None
    eligibility = dict(pv.eligibility or {})
    if eligibility:
        eligibility["params"] = dict(eligibility.get("params") or {})
    out["eligibility"] = eligibility
    out["overrides"] = {}

    chain = await _area_chain(session, village_id)
    if chain:
        rows = await session.scalars(
            select(PolicyOverride).where(
                PolicyOverride.policy_id == policy_id,
                PolicyOverride.area_id.in_([a.id for a in chain]),
            )
        )
        by_area = {r.area_id: r for r in rows}
        # apply the farthest first, so the closest area wins
        for area in reversed(chain):
            row = by_area.get(area.id)
            if row is None:
                continue
            origin = {
                "area_id": area.id,
                "area_code": area.code,
                "area_name": area.name if locale == "zh" else (area.name_en or area.name),
                "level": area.level,
                "effective_date": row.effective_date.isoformat() if row.effective_date else None,
            }
            _apply_override(out, row.fields or {}, locale, origin)
    return out


def _apply_override(out: dict[str, Any], fields: dict[str, Any], locale: str, origin: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name in TEXT_FIELDS:
            text = _localized(value, locale)
            if text:
                out[name] = text
                out["overrides"][name] = origin
        elif name == "sources":
            out["sources"] = list(value) + [s for s in out["sources"] if s not in value]
            out["overrides"][name] = origin
        elif name == "keywords":
            out["keywords"] = out["keywords"] + [k for k in value if k not in out["keywords"]]
        elif name == "effective_date" and value:
            out["effective_date"] = _as_date(value).isoformat()
            out["overrides"][name] = origin
        elif name == "eligibility" and value:
            merged = dict(out["eligibility"])
            params = dict(merged.get("params") or {})
            params.update(value.get("params") or {})
            merged.update({k: v for k, v in value.items() if k != "params"})
            merged["params"] = params
            out["eligibility"] = merged
            out["overrides"][name] = origin


def eligibility_names(eligibility: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The names a rule is evaluated with: the params, then the villager's answers."""
    names = dict(eligibility.get("params") or {})
    names.update(answers)
    return names


def assess_eligibility(eligibility: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Apply the rules in order to the villager's answers (with the params); the first match
    wins, else the default. Returns `{result, reason: {zh, en}, rule (index or None),
    suggest_instead}` — `suggest_instead` is empty when the result is likely. `{{name}}` in a
    reason is filled from the params and answers."""
    names = eligibility_names(eligibility, answers)
    for index, rule in enumerate(eligibility.get("rules") or []):
        if conditions.evaluate(rule["when"], names):
            result, reason, matched = rule["result"], rule.get("reason") or {}, index
            break
    else:
        result, reason, matched = eligibility.get("default", "maybe"), eligibility.get("default_reason") or {}, None
    filled = {loc: _fill(text, names) for loc, text in reason.items()}
    suggest = [] if result == "likely" else list(eligibility.get("suggest_instead") or [])
    return {"result": result, "reason": filled, "rule": matched, "suggest_instead": suggest}


def _fill(text: str, names: dict[str, Any]) -> str:
    def value(m: re.Match) -> str:
        v = names.get(m.group(1))
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return "" if v is None else str(v)

    return re.sub(r"\{\{\s*(\w+)\s*\}\}", value, text)


# ── hotlines ─────────────────────────────────────────────────────────────────────────────


def hotline_problems(hotlines: Any) -> list[str]:
    if not isinstance(hotlines, list) or not hotlines:
        return ["hotlines must be a non-empty list"]
    problems: list[str] = []
    for i, h in enumerate(hotlines):
        where = f"hotline {i + 1}"
        if not isinstance(h, dict):
            problems.append(f"{where} must be a mapping")
            continue
        number = str(h.get("number") or "")
        if not number.isdigit():
            problems.append(f"{where} has number {h.get('number')!r}; use digits only")
        where = f"hotline {number or i + 1}"
        problems += [f"{where}: {p}" for p in _text_problems("label", h.get("label"), complete=True)]
        problems += [f"{where}: {p}" for p in _text_problems("when", h.get("when"), complete=True)]
        situations = h.get("situations")
        if not isinstance(situations, list) or not situations:
            problems.append(f"{where} needs a list of situations it fits")
    return problems


async def get_hotlines(session: AsyncSession) -> list[dict[str, Any]]:
    """The emergency hotlines: `[{number, label: {zh,en}, when: {zh,en}, situations: [...]}]`."""
    row = await session.get(KeyValue, HOTLINES_KEY)
    return list(row.value.get("hotlines", [])) if row else []


async def set_hotlines(session: AsyncSession, hotlines: list[dict[str, Any]]) -> None:
    problems = hotline_problems(hotlines)
    if problems:
        raise PolicyDataError("hotlines", problems)
    value = {"hotlines": [dict(h, number=str(h["number"])) for h in hotlines]}
    row = await session.get(KeyValue, HOTLINES_KEY)
    if row is None:
        session.add(KeyValue(key=HOTLINES_KEY, value=value))
    else:
        row.value = value
        row.updated_at = utcnow()
    await session.flush()
