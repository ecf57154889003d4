"""The figures behind the dashboard (bot/web/dashboard.py) and the CSV exports
(bot/api/exports.py): one function per chart and one per record export.

A chart is a `Table` of totals (no personal field; viewers see these too) with what ECharts
needs to draw it. A record export is a `Table` with one row per record and personal fields
(names, phones, descriptions): admins only, and the route audits it.

Every function takes a `Window` (the date range in local days and the areas asked for) and a
`visible` clause from bot/authz.py limiting the rows to the caller's areas.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk.report import percentile
from storage import offers as offer_service
from storage.areas import all_areas
from storage.cases import OPEN_STATUSES
from storage.models import (
    Activity,
    Agency,
    Area,
    AuditEntry,
    Enrollment,
    Flag,
    Handoff,
    Match,
    NeedRequest,
    Offer,
    Person,
    Referral,
    Staff,
)
from vocab.cases import CATEGORY_WORDS

DEFAULT_DAYS = 90
HARDSHIPS = ("income_dropped", "illness", "disaster")

WORDS = {
    "zh": {
        "referral": {"sent": "已转介", "accepted": "已接收", "done": "已办好", "declined": "已拒绝"},
        "enrollment": {"confirmed": "已报名", "waitlisted": "候补", "offered": "候补让位中", "attended": "已出席",
                       "cancelled": "已取消"},
        "satisfaction": {1: "满意", 2: "一般", 3: "不满意"},
        "ages": ("0–7天", "8–30天", "31–90天", "90天以上"),
        "unknown": "未知", "p50": "中位数（分钟）", "p90": "90% 在（分钟）内",
        "hardship": {"fine": "都还好", "income_dropped": "收入减少", "illness": "大病或意外", "disaster": "受灾"},
        "matches": {"made": "配对", "delivered": "送达"},
    },
    "en": {
        "referral": {"sent": "sent", "accepted": "accepted", "done": "done", "declined": "declined"},
        "enrollment": {"confirmed": "signed up", "waitlisted": "waitlisted", "offered": "seat offered",
                       "attended": "attended", "cancelled": "cancelled"},
        "satisfaction": {1: "satisfied", 2: "so-so", 3: "not satisfied"},
        "ages": ("0–7 days", "8–30 days", "31–90 days", "over 90 days"),
        "unknown": "unknown", "p50": "median (minutes)", "p90": "90% within (minutes)",
        "hardship": {"fine": "all well", "income_dropped": "income dropped", "illness": "illness or accident",
                     "disaster": "disaster"},
        "matches": {"made": "made", "delivered": "delivered"},
    },
}


@dataclass(frozen=True)
class Window:
    """Local days [first, last] in `tz`, and the areas asked for (None: every area)."""

    first: date
    last: date
    tz: ZoneInfo
    village_ids: frozenset[int] | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), self.tz)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), self.tz)

    @classmethod
    def of(cls, first: date | None, last: date | None, *, now: datetime, tz: ZoneInfo,
           village_ids: set[int] | None = None) -> "Window":
        last = last or now.astimezone(tz).date()
        first = first or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise ValueError("first day after last day")
        return cls(first, last, tz, frozenset(village_ids) if village_ids is not None else None)

    def in_areas(self, column) -> ColumnElement[bool]:
        return column.in_(sorted(self.village_ids)) if self.village_ids is not None else true()

    def local(self, t: datetime | None) -> str:
        return t.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if t else ""

    def month(self, t: datetime) -> str:
        return t.astimezone(self.tz).strftime("%Y-%m")

    def week(self, t: datetime) -> str:
        """The Monday of the local week."""
        d = t.astimezone(self.tz).date()
        return (d - timedelta(days=d.weekday())).isoformat()


@dataclass
class Table:
    """Columns (key, Chinese, English) and rows; `chart` is what static/dashboard.js draws:
    {"kind": "bar"|"line"|"pie", "x": [labels], "series": [{"name", "data"}], "stack": bool}."""

    name: str
    columns: list[tuple[str, str, str]]
    rows: list[dict]
    chart: dict = field(default_factory=dict)

    def headers(self, lang: str) -> list[str]:
        return [zh if lang == "zh" else en for _, zh, en in self.columns]

    def cells(self) -> list[list]:
        return [[row.get(key, "") for key, _, _ in self.columns] for row in self.rows]

    def csv_text(self) -> str:
        """UTF-8 with a byte-order mark, so Excel opens the Chinese intact; headers "中文 English".
        A text that Excel would take for a formula (=, +, -, @ first) gets a leading
        apostrophe: villagers' words never run as formulas (OWASP "CSV injection")."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([f"{zh} {en}" for _, zh, en in self.columns])
        writer.writerows([[_inert(v) for v in row] for row in self.cells()])
        return "\ufeff" + out.getvalue()


def _inert(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def _area_names(s: AsyncSession, lang: str) -> dict[int, str]:
    return {a.id: (a.name_en or a.name) if lang == "en" else a.name for a in (await s.execute(select(Area))).scalars()}


def _category(key: str, lang: str) -> str:
    return CATEGORY_WORDS[lang].get(key, key)


def _stacked(rows: list[dict], x_key: str, series_key: str, value_key: str, *, kind: str = "bar",
             stack: bool = True, x_order: list[str] | None = None) -> dict:
    xs = x_order or sorted({r[x_key] for r in rows})
    names = sorted({r[series_key] for r in rows})
    data = {n: {x: 0 for x in xs} for n in names}
    for r in rows:
        if r[x_key] in data[r[series_key]]:
            data[r[series_key]][r[x_key]] += r[value_key]
    return {"kind": kind, "x": xs, "stack": stack,
            "series": [{"name": n, "data": [data[n][x] for x in xs]} for n in names]}


def _columns(*x: tuple[str, str, str]) -> list[tuple[str, str, str]]:
    return list(x)


# ── charts: totals only ──────────────────────────────────────────────────────────────────


async def needs(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str) -> Table:
    """Cases opened per month, by category and village."""
    names, words = await _area_names(s, lang), WORDS[lang]
    found = await s.execute(select(NeedRequest.created_at, NeedRequest.category, NeedRequest.village_id).where(
        visible, w.in_areas(NeedRequest.village_id), NeedRequest.created_at >= w.since, NeedRequest.created_at < w.until))
    counts: dict[tuple[str, str, str], int] = {}
    for created, category, village_id in found.all():
        key = (w.month(created), _category(category, lang), names.get(village_id, words["unknown"]))
        counts[key] = counts.get(key, 0) + 1
    rows = [{"month": m, "category": c, "village": v, "count": n} for (m, c, v), n in sorted(counts.items())]
    return Table("needs", _columns(("month", "月份", "month"), ("category", "类别", "category"),
                                   ("village", "村", "village"), ("count", "个案数", "cases")),
                 rows, _stacked(rows, "month", "category", "count"))


async def case_age(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str, *, now: datetime) -> Table:
    """Open cases now, by how long ago they were opened (the date range does not apply)."""
    words = WORDS[lang]
    found = await s.execute(select(NeedRequest.created_at, NeedRequest.category).where(
        visible, w.in_areas(NeedRequest.village_id), NeedRequest.status.in_(OPEN_STATUSES)))
    limits = (7, 30, 90)
    counts: dict[tuple[str, str], int] = {}
    for created, category in found.all():
        days = (now - created).days
        bucket = next((i for i, limit in enumerate(limits) if days <= limit), len(limits))
        key = (words["ages"][bucket], _category(category, lang))
        counts[key] = counts.get(key, 0) + 1
    order = {label: i for i, label in enumerate(words["ages"])}
    rows = [{"age": a, "category": c, "count": n} for (a, c), n in sorted(counts.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))]
    return Table("case_age", _columns(("age", "已开多久", "age"), ("category", "类别", "category"),
                                      ("count", "未结个案", "open cases")),
                 rows, _stacked(rows, "age", "category", "count", x_order=list(words["ages"])))


async def first_reply(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str) -> Table:
    """Minutes from a handoff's creation to the first human reply, per week."""
    words = WORDS[lang]
    found = await s.execute(select(Handoff.created_at, Handoff.first_reply_at).where(
        visible, w.in_areas(Handoff.village_id), Handoff.created_at >= w.since, Handoff.created_at < w.until))
    weeks: dict[str, list] = {}
    for created, replied in found.all():
        weeks.setdefault(w.week(created), []).append((replied - created).total_seconds() / 60 if replied else None)
    rows = []
    for week, values in sorted(weeks.items()):
        answered = [v for v in values if v is not None]
        rows.append({"week": week, "handoffs": len(values), "replied": len(answered),
                     "p50": percentile(answered, 50) if answered else "", "p90": percentile(answered, 90) if answered else ""})
    chart = {"kind": "line", "x": [r["week"] for r in rows], "stack": False,
             "series": [{"name": words[k], "data": [r[k] if r[k] != "" else None for r in rows]} for k in ("p50", "p90")]}
    return Table("first_reply", _columns(("week", "周（周一）", "week of"), ("handoffs", "转人工", "handoffs"),
                                         ("replied", "已回复", "replied"), ("p50", "中位数（分钟）", "median minutes"),
                                         ("p90", "90% 在（分钟）内", "p90 minutes")), rows, chart)


async def referrals(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str) -> Table:
    """Referrals sent in the range, by agency and where they stand."""
    words = WORDS[lang]
    found = await s.execute(select(Agency.name, Agency.name_en, Referral.status).select_from(Referral)
                            .join(NeedRequest, NeedRequest.id == Referral.case_id)
                            .join(Agency, Agency.id == Referral.agency_id).where(
        visible, w.in_areas(NeedRequest.village_id), Referral.sent_at >= w.since, Referral.sent_at < w.until))
    counts: dict[tuple[str, str], int] = {}
    for name, name_en, status in found.all():
        key = ((name_en or name) if lang == "en" else name, words["referral"].get(status, status))
        counts[key] = counts.get(key, 0) + 1
    rows = [{"agency": a, "outcome": o, "count": n} for (a, o), n in sorted(counts.items())]
    return Table("referrals", _columns(("agency", "机构", "agency"), ("outcome", "结果", "outcome"),
                                       ("count", "转介数", "referrals")), rows, _stacked(rows, "agency", "outcome", "count"))


async def signups(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str) -> Table:
    """Sign-ups made in the range, per activity, by where they stand now: signed up,
    waitlisted, attended, cancelled."""
    words = WORDS[lang]
    found = await s.execute(select(Activity.id, Activity.title, Activity.title_en, Activity.starts_at, Enrollment.status)
                            .select_from(Activity).join(Enrollment, Enrollment.activity_id == Activity.id).where(
        visible, w.in_areas(Activity.area_id), Enrollment.created_at >= w.since, Enrollment.created_at < w.until))
    acts: dict[int, dict] = {}
    for activity_id, title, title_en, starts, status in found.all():
        row = acts.setdefault(activity_id, {"activity": (title_en or title) if lang == "en" else title,
                                            "date": w.local(starts)[:10], "confirmed": 0, "waitlisted": 0,
                                            "attended": 0, "cancelled": 0})
        key = "waitlisted" if status == "offered" else status
        row[key] = row.get(key, 0) + 1
    rows = sorted(acts.values(), key=lambda r: (r["date"], r["activity"]))
    labels = [f"{r['date'][5:]} {r['activity']}" for r in rows]
    chart = {"kind": "bar", "x": labels, "stack": False,
             "series": [{"name": words["enrollment"][k], "data": [r[k] for r in rows]}
                        for k in ("confirmed", "waitlisted", "attended", "cancelled")]}
    return Table("signups", _columns(("date", "日期", "date"), ("activity", "活动", "activity"),
                                     ("confirmed", "已报名", "signed up"), ("waitlisted", "候补", "waitlisted"),
                                     ("attended", "已出席", "attended"), ("cancelled", "已取消", "cancelled")), rows, chart)


async def _checkin_answers(s: AsyncSession, w: Window, visible: ColumnElement[bool]):
    """(audit entry, person) of each check-in answer in the range: the answers are recorded in
    the audit log by storage/flags.record_checkin."""
    entries = list((await s.execute(select(AuditEntry).where(
        AuditEntry.action == "checkin.answer", AuditEntry.at >= w.since, AuditEntry.at < w.until)
        .order_by(AuditEntry.at))).scalars())
    flag_ids = {int(e.target.split(":", 1)[1]) for e in entries if e.target.startswith("flag:")}
    people = {}
    if flag_ids:
        found = await s.execute(select(Flag.id, Person).join(Person, Person.id == Flag.person_id).where(
            Flag.id.in_(sorted(flag_ids)), visible, w.in_areas(Person.village_id)))
        people = {flag_id: person for flag_id, person in found.all()}
    return [(e, people[int(e.target.split(":", 1)[1])]) for e in entries
            if e.target.startswith("flag:") and int(e.target.split(":", 1)[1]) in people]


async def checkins(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str) -> Table:
    """Return-to-poverty check-in answers per month: all well, or which hardship."""
    words = WORDS[lang]["hardship"]
    months: dict[str, dict] = {}
    for entry, _person in await _checkin_answers(s, w, visible):
        row = months.setdefault(w.month(entry.at), {"month": w.month(entry.at), "answered": 0, "fine": 0,
                                                    **{k: 0 for k in HARDSHIPS}})
        row["answered"] += 1
        hard = [k for k in HARDSHIPS if (entry.data or {}).get(k)]
        row["fine"] += not hard
        for k in hard:
            row[k] += 1
    rows = [months[m] for m in sorted(months)]
    chart = {"kind": "bar", "x": [r["month"] for r in rows], "stack": False,
             "series": [{"name": words[k], "data": [r[k] for r in rows]} for k in ("fine", *HARDSHIPS)]}
    return Table("checkins", _columns(("month", "月份", "month"), ("answered", "回答户数", "answers"),
                                      ("fine", "都还好", "all well"), ("income_dropped", "收入减少", "income dropped"),
                                      ("illness", "大病或意外", "illness"), ("disaster", "受灾", "disaster")), rows, chart)


async def satisfaction(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str) -> Table:
    """How villagers rated handoffs closed in the range."""
    words = WORDS[lang]["satisfaction"]
    found = await s.execute(select(Handoff.satisfaction).where(
        visible, w.in_areas(Handoff.village_id), Handoff.satisfaction.is_not(None),
        Handoff.created_at >= w.since, Handoff.created_at < w.until))
    scores = [v for (v,) in found.all()]
    rows = [{"rating": words[k], "count": scores.count(k)} for k in (1, 2, 3)] if scores else []
    chart = {"kind": "pie", "x": [r["rating"] for r in rows], "stack": False,
             "series": [{"name": "", "data": [r["count"] for r in rows]}]}
    return Table("satisfaction", _columns(("rating", "评价", "rating"), ("count", "次数", "answers")), rows, chart)


async def offers(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str) -> Table:
    """Offers of help registered in the range, by category and where they stand now (an offer
    for two categories counts under each). An offer counts in the areas it serves, as on the
    offers page: its own area and all below it; one without an area serves the whole county.
    `visible` and the window limit the areas (villages, townships, the county) looked at."""
    statuses = offer_service.OFFER_STATUS_WORDS[lang]
    looked_at = set((await s.execute(select(Area.id).where(visible, w.in_areas(Area.id)))).scalars())
    parents = {a.id: a.parent_id for a in await all_areas(s)}
    serving = set()
    for area_id in looked_at:  # an offer of a township or the county serves the villages below it
        while area_id is not None and area_id not in serving:
            serving.add(area_id)
            area_id = parents.get(area_id)
    found = await s.execute(select(Offer.categories, Offer.status, Offer.area_id).where(
        Offer.created_at >= w.since, Offer.created_at < w.until))
    counts: dict[tuple[str, str], int] = {}
    for categories, status, area_id in found.all():
        if area_id is not None and area_id not in serving:
            continue
        for category in categories or []:
            key = (_category(category, lang), statuses.get(status, status))
            counts[key] = counts.get(key, 0) + 1
    rows = [{"category": c, "status": st, "count": n} for (c, st), n in sorted(counts.items())]
    return Table("offers", _columns(("category", "类别", "category"), ("status", "状态", "status"),
                                    ("count", "帮助资源数", "offers")), rows, _stacked(rows, "category", "status", "count"))


async def matches(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str) -> Table:
    """Matches made (proposed) and delivered per month in the range, placed by the case's village."""
    words = WORDS[lang]["matches"]
    months: dict[str, dict] = {}
    for key, column in (("made", Match.created_at), ("delivered", Match.delivered_at)):
        found = await s.execute(select(column).select_from(Match).join(NeedRequest, NeedRequest.id == Match.case_id)
                                .where(visible, w.in_areas(NeedRequest.village_id), column >= w.since,
                                       column < w.until))
        for (at,) in found.all():
            row = months.setdefault(w.month(at), {"month": w.month(at), "made": 0, "delivered": 0})
            row[key] += 1
    rows = [months[m] for m in sorted(months)]
    chart = {"kind": "bar", "x": [r["month"] for r in rows], "stack": False,
             "series": [{"name": words[k], "data": [r[k] for r in rows]} for k in ("made", "delivered")]}
    return Table("matches", _columns(("month", "月份", "month"), ("made", "配对数", "matches made"),
                                     ("delivered", "送达数", "delivered")), rows, chart)


async def unmet(s: AsyncSession, w: Window, visible: ColumnElement[bool], lang: str, *, now: datetime) -> Table:
    """Cases opened in the range and still open that no offer could serve now (storage/offers.py's
    matching rules) and that have no match: by category and village — what help to look for next."""
    names, words = await _area_names(s, lang), WORDS[lang]
    cases = list((await s.execute(select(NeedRequest).where(
        visible, w.in_areas(NeedRequest.village_id), NeedRequest.status.in_(OPEN_STATUSES),
        NeedRequest.created_at >= w.since, NeedRequest.created_at < w.until))).scalars())
    counts: dict[tuple[str, str], int] = {}
    for case in await offer_service.cases_without_offer(s, cases, now=now):
        key = (_category(case.category, lang), names.get(case.village_id, words["unknown"]))
        counts[key] = counts.get(key, 0) + 1
    rows = [{"category": c, "village": v, "count": n} for (c, v), n in sorted(counts.items())]
    return Table("unmet", _columns(("category", "类别", "category"), ("village", "村", "village"),
                                   ("count", "没有帮助的个案", "cases without an offer")),
                 rows, _stacked(rows, "village", "category", "count"))


CHARTS = ("needs", "case_age", "first_reply", "referrals", "signups", "checkins", "satisfaction", "offers", "matches",
          "unmet")
CHART_TITLES = {
    "needs": ("按类别和村的求助（每月）", "Needs by category and village, per month"),
    "case_age": ("未结个案已开多久", "Open cases by age"),
    "first_reply": ("转人工后多久有社工第一次回复", "Time to the first human reply"),
    "referrals": ("转介：机构和结果", "Referrals by agency and outcome"),
    "signups": ("活动报名和出席", "Sign-ups and attendance"),
    "checkins": ("防返贫回访结果", "Check-in results"),
    "satisfaction": ("转人工后的满意度", "Satisfaction after handoffs"),
    "offers": ("帮助资源：类别和状态", "Offers of help by category and status"),
    "matches": ("配对和送达（每月）", "Matches made and delivered, per month"),
    "unmet": ("还没有帮助资源的求助：类别和村", "Needs with no offer yet, by category and village"),
}
# the column each chart's rows are placed by (for bot/authz.py's area rules)
CHART_AREA = {"needs": NeedRequest.village_id, "case_age": NeedRequest.village_id,
              "first_reply": Handoff.village_id, "referrals": NeedRequest.village_id,
              "signups": Activity.area_id, "checkins": Person.village_id, "satisfaction": Handoff.village_id,
              "offers": Area.id, "matches": NeedRequest.village_id, "unmet": NeedRequest.village_id}


async def chart(s: AsyncSession, name: str, w: Window, visible: ColumnElement[bool], lang: str, *,
                now: datetime) -> Table:
    if name in ("case_age", "unmet"):
        return await {"case_age": case_age, "unmet": unmet}[name](s, w, visible, lang, now=now)
    return await {"needs": needs, "first_reply": first_reply, "referrals": referrals, "signups": signups,
                  "checkins": checkins, "satisfaction": satisfaction, "offers": offers,
                  "matches": matches}[name](s, w, visible, lang)


# ── record exports: personal fields, admins only ─────────────────────────────────────────


async def _staff_names(s: AsyncSession) -> dict[int, str]:
    return {st.id: st.username for st in (await s.execute(select(Staff))).scalars()}


def _name(person: Person | None) -> str:
    if person is None:
        return ""
    return "" if person.erased else person.display_name


async def _people(s: AsyncSession, ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    return {p.id: p for p in (await s.execute(select(Person).where(Person.id.in_(sorted(ids))))).scalars()}


async def cases_export(s: AsyncSession, w: Window) -> Table:
    names, staff = await _area_names(s, "zh"), await _staff_names(s)
    found = list((await s.execute(select(NeedRequest).where(
        w.in_areas(NeedRequest.village_id), NeedRequest.created_at >= w.since, NeedRequest.created_at < w.until)
        .order_by(NeedRequest.id))).scalars())
    people = await _people(s, {c.person_id for c in found})
    rows = [{"number": c.number, "created": w.local(c.created_at), "category": c.category,
             "category_zh": _category(c.category, "zh"), "status": c.status, "stage": c.stage, "urgency": c.urgency,
             "village": names.get(c.village_id, ""), "name": _name(people.get(c.person_id)), "phone": c.phone,
             "description": c.description, "assignee": staff.get(c.assigned_staff_id, ""),
             "closed": w.local(c.closed_at), "outcome": c.outcome} for c in found]
    return Table("cases", _columns(
        ("number", "个案号", "case"), ("created", "提交时间", "created"), ("category", "类别代码", "category"),
        ("category_zh", "类别", "category (zh)"), ("status", "状态", "status"), ("stage", "阶段", "stage"),
        ("urgency", "紧急程度", "urgency"), ("village", "村", "village"), ("name", "姓名", "name"),
        ("phone", "电话", "phone"), ("description", "情况", "description"), ("assignee", "社工", "assignee"),
        ("closed", "结案时间", "closed"), ("outcome", "结果", "outcome")), rows)


async def activities_export(s: AsyncSession, w: Window) -> Table:
    names = await _area_names(s, "zh")
    found = (await s.execute(select(Activity, Enrollment).join(Enrollment, Enrollment.activity_id == Activity.id).where(
        w.in_areas(Activity.area_id), Enrollment.created_at >= w.since, Enrollment.created_at < w.until)
        .order_by(Activity.starts_at, Activity.id, Enrollment.id))).all()
    people = await _people(s, {e.person_id for _, e in found})
    rows = [{"activity_id": a.id, "activity": a.title, "starts": w.local(a.starts_at), "place": a.place,
             "area": names.get(a.area_id, ""), "name": _name(people.get(e.person_id)),
             "participant": e.participant_name or _name(people.get(e.person_id)), "status": e.status,
             "waitlist_position": e.waitlist_position or "", "signed_up": w.local(e.created_at)} for a, e in found]
    return Table("activities", _columns(
        ("activity_id", "活动编号", "activity id"), ("activity", "活动", "activity"), ("starts", "开始时间", "starts"),
        ("place", "地点", "place"), ("area", "地区", "area"), ("name", "报名人", "signed up by"),
        ("participant", "参加人", "participant"), ("status", "状态", "status"),
        ("waitlist_position", "候补位置", "waitlist position"), ("signed_up", "报名时间", "signed up at")), rows)


async def handoffs_export(s: AsyncSession, w: Window) -> Table:
    names, staff = await _area_names(s, "zh"), await _staff_names(s)
    found = list((await s.execute(select(Handoff).where(
        w.in_areas(Handoff.village_id), Handoff.created_at >= w.since, Handoff.created_at < w.until)
        .order_by(Handoff.id))).scalars())
    people = await _people(s, {h.person_id for h in found})
    rows = [{"id": h.id, "created": w.local(h.created_at), "priority": h.priority, "reason": h.reason,
             "status": h.status, "village": names.get(h.village_id, ""), "name": _name(people.get(h.person_id)),
             "claimed_by": staff.get(h.claimed_by_staff_id, ""), "claimed": w.local(h.claimed_at),
             "first_reply": w.local(h.first_reply_at),
             "minutes_to_first_reply": round((h.first_reply_at - h.created_at).total_seconds() / 60, 1)
             if h.first_reply_at else "",
             "closed": w.local(h.closed_at), "escalated": "yes" if h.escalated_at else "",
             "satisfaction": h.satisfaction or ""} for h in found]
    return Table("handoffs", _columns(
        ("id", "编号", "id"), ("created", "开始时间", "created"), ("priority", "优先级", "priority"),
        ("reason", "原因", "reason"), ("status", "状态", "status"), ("village", "村", "village"),
        ("name", "村民", "villager"), ("claimed_by", "认领人", "claimed by"), ("claimed", "认领时间", "claimed at"),
        ("first_reply", "第一次回复", "first reply"), ("minutes_to_first_reply", "回复用时（分钟）", "minutes to reply"),
        ("closed", "结束时间", "closed"), ("escalated", "升级", "escalated"),
        ("satisfaction", "满意度(1满意 2一般 3不满意)", "satisfaction (1 good, 2 so-so, 3 bad)")), rows)


async def referrals_export(s: AsyncSession, w: Window) -> Table:
    names, staff = await _area_names(s, "zh"), await _staff_names(s)
    found = (await s.execute(select(Referral, NeedRequest, Agency)
                             .join(NeedRequest, NeedRequest.id == Referral.case_id)
                             .join(Agency, Agency.id == Referral.agency_id).where(
        w.in_areas(NeedRequest.village_id), Referral.sent_at >= w.since, Referral.sent_at < w.until)
        .order_by(Referral.id))).all()
    people = await _people(s, {c.person_id for _, c, _ in found})
    rows = [{"id": r.id, "case": c.number, "agency": a.name, "status": r.status, "reason": r.reason,
             "village": names.get(c.village_id, ""), "name": _name(people.get(c.person_id)),
             "staff": staff.get(r.staff_id, ""), "sent": w.local(r.sent_at), "accepted": w.local(r.accepted_at),
             "closed": w.local(r.closed_at)} for r, c, a in found]
    return Table("referrals", _columns(
        ("id", "编号", "id"), ("case", "个案号", "case"), ("agency", "机构", "agency"), ("status", "状态", "status"),
        ("reason", "转介原因", "reason"), ("village", "村", "village"), ("name", "村民", "villager"),
        ("staff", "社工", "staff"), ("sent", "转介时间", "sent"), ("accepted", "接收时间", "accepted"),
        ("closed", "完成时间", "closed")), rows)


async def checkins_export(s: AsyncSession, w: Window) -> Table:
    names = await _area_names(s, "zh")
    rows = []
    for entry, person in await _checkin_answers(s, w, true()):
        data = entry.data or {}
        hard = [k for k in HARDSHIPS if data.get(k)]
        rows.append({"at": w.local(entry.at), "flag": entry.target.split(":", 1)[1], "name": _name(person),
                     "village": names.get(person.village_id, ""),
                     **{k: "是" if data.get(k) else "否" for k in HARDSHIPS},
                     "result": "case_opened" if hard else "fine"})
    return Table("checkins", _columns(
        ("at", "回答时间", "answered at"), ("flag", "标记编号", "flag"), ("name", "村民", "villager"),
        ("village", "村", "village"), ("income_dropped", "收入减少", "income dropped"),
        ("illness", "大病或意外", "illness"), ("disaster", "受灾", "disaster"), ("result", "结果", "result")), rows)


RECORD_EXPORTS = {"cases": cases_export, "activities": activities_export, "handoffs": handoffs_export,
                  "referrals": referrals_export, "checkins": checkins_export}
