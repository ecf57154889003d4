"""The policy knowledge base: built-in content, publishing, overrides, hotlines (storage/policies.py,
policy_checks.py, policy_overrides.py). The self-check's verdicts: tests/mission/test_eligibility.py."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from vocab.conditions import check, names
from storage import policies, policy_checks, policy_overrides
from storage.demo import builtin_policies, load_data, seed_content
from storage.models import PolicyVersion
from tests.support import add_areas

DOMAIN = Path(__file__).resolve().parents[3] / "shared" / "DOMAIN.md"
DOMAIN_IDS = [
    "dibao", "tekun", "linshi_jiuzhu", "yiliao_jiuzhu", "canji_butie", "jiaoyu_zizhu", "yulu_jihua",
    "weifang_gaizao", "xiaoe_xindai", "gongyi_gangwei", "fanpin_jiance", "yanglao_baoxian",
    "jiuye_peixun", "liushou_ertong",
]
WITH_ELIGIBILITY = {"dibao", "tekun", "canji_butie", "yulu_jihua"}


def _minimal(title="测试政策", **extra):
    return {"title": {"zh": title, "en": "Test policy"}, "summary": {"zh": "全国的说法", "en": "National text"}, **extra}


# ── built-in content ─────────────────────────────────────────────────────────────────────


def test_the_fourteen_policies_of_the_domain_brief_are_all_there():
    ids = [p["id"] for p in builtin_policies()]
    assert ids == DOMAIN_IDS
    if DOMAIN.exists():  # the brief names the same ids
        table_ids = re.findall(r"^\| (\w+) \|", DOMAIN.read_text(encoding="utf-8"), re.M)
        assert set(DOMAIN_IDS) <= set(table_ids)


@pytest.mark.parametrize("record", builtin_policies(), ids=lambda r: r["id"])
def test_every_policy_has_every_field_in_both_languages_a_source_and_a_date(record):
    for name in policy_checks.TEXT_FIELDS:
        assert record[name]["zh"].strip(), f"{record['id']}.{name} zh"
        assert record[name]["en"].strip(), f"{record['id']}.{name} en"
        # Chinese first: the zh text really is Chinese, the en text is not
        assert re.search(r"[\u4e00-\u9fff]", record[name]["zh"]), f"{record['id']}.{name} zh"
        assert not re.search(r"[\u4e00-\u9fff]", record[name]["en"]), f"{record['id']}.{name} en"
    assert record["sources"] and all(s.startswith(("http://", "https://")) for s in record["sources"])
    assert isinstance(record["effective_date"], date)
    assert len(record["keywords"]) >= 10
    assert ("eligibility" in record) == (record["id"] in WITH_ELIGIBILITY)
    assert policy_checks.policy_problems({k: v for k, v in record.items() if k != "id"}, complete=True) == []


def test_the_keywords_villagers_use_reach_the_right_policy():
    by_keyword = {}
    for rec in builtin_policies():
        for kw in rec["keywords"]:
            by_keyword.setdefault(kw, set()).add(rec["id"])
    expected = {
        "五保户": "tekun", "吃低保": "dibao", "扶贫贷款": "xiaoe_xindai", "危房": "weifang_gaizao",
        "雨露": "yulu_jihua", "两项补贴": "canji_butie", "残补": "canji_butie", "护理补贴": "canji_butie",
        "助学金": "jiaoyu_zizhu", "公益岗": "gongyi_gangwei", "养老金": "yanglao_baoxian",
        "外出务工补贴": "jiuye_peixun", "留守娃": "liushou_ertong", "医疗救助": "yiliao_jiuzhu",
        "临时救助": "linshi_jiuzhu", "防返贫": "fanpin_jiance",
    }
    for keyword, policy_id in expected.items():
        assert by_keyword.get(keyword) == {policy_id}, keyword


def test_programmes_tied_to_the_transition_period_do_not_promise_to_continue():
    """2026 is the first year of regular support: the uncertain programmes say to ask."""
    recs = {r["id"]: r for r in builtin_policies()}
    for pid in ("yulu_jihua", "xiaoe_xindai", "fanpin_jiance", "gongyi_gangwei", "weifang_gaizao", "jiuye_peixun"):
        notes = recs[pid]["notes"]["zh"] + recs[pid]["what_you_get"]["zh"]
        assert "2026" in notes, pid
        assert "县" in notes, pid  # says where to confirm


@pytest.mark.parametrize("record", [r for r in builtin_policies() if "eligibility" in r], ids=lambda r: r["id"])
def test_every_eligibility_rule_parses_and_uses_only_questions_and_params(record):
    elig = record["eligibility"]
    known = {q["id"] for q in elig["questions"]} | set(elig.get("params") or {})
    assert 3 <= len(elig["questions"]) <= 5
    for rule in elig["rules"]:
        assert check(rule["when"]) == [], rule["when"]
        assert names(rule["when"]) <= known, rule["when"]
        assert rule["result"] in ("likely", "unlikely", "maybe")
    results = {r["result"] for r in elig["rules"]}
    assert {"likely", "unlikely"} <= results
    assert set(elig["suggest_instead"]) <= set(DOMAIN_IDS) - {record["id"]}
    assert policy_checks.eligibility_problems(elig) == []


def test_a_broken_rule_is_refused_in_words_an_admin_understands():
    elig = {
        "questions": [{"id": "age", "type": "number", "text": {"zh": "几岁?", "en": "Age?"}}],
        "rules": [
            {"when": "age >= ", "result": "likely", "reason": {"zh": "是", "en": "yes"}},
            {"when": "agee >= 60", "result": "sure", "reason": {"zh": "是", "en": "yes"}},
        ],
    }
    problems = policy_checks.eligibility_problems(elig)
    assert any(p.startswith("rule 1:") and "age >=" in p for p in problems)
    assert any("agee" in p and "neither a question nor a param" in p for p in problems)
    assert any("rule 2 has result 'sure'" in p for p in problems)


# ── publishing ───────────────────────────────────────────────────────────────────────────


async def test_publish_makes_a_new_immutable_version_and_bumps_the_kb_version(db):
    async with db.session() as s:
        assert await policies.kb_version(s) == "0"
        v1 = await policies.publish_policy(s, "test_policy", _minimal("第一版"), by="admin")
    async with db.session() as s:
        assert await policies.kb_version(s) == "1"
        v2 = await policies.publish_policy(s, "test_policy", _minimal("第二版"), by="admin")
    async with db.session() as s:
        assert await policies.kb_version(s) == "2"
        current = await policies.get_policy(s, "test_policy")
        assert (current.id, current.version, current.title["zh"]) == (v2.id, 2, "第二版")
        old = await s.get(PolicyVersion, v1.id)
        assert (old.version, old.title["zh"], old.created_by) == (1, "第一版", "admin")
        assert [p.policy_id for p in await policies.current_policies(s)] == ["test_policy"]


async def test_publish_refuses_bad_content_and_changes_nothing(db):
    bad = _minimal(eligibility={"questions": [], "rules": [{"when": "x >", "result": "likely"}]})
    async with db.session() as s:
        with pytest.raises(policy_checks.PolicyDataError) as err:
            await policies.publish_policy(s, "bad", {**bad, "colour": "red"}, by="admin")
    assert "unknown field 'colour'" in err.value.problems
    assert "eligibility has no questions" in err.value.problems
    async with db.session() as s:
        assert await policies.get_policy(s, "bad") is None
        assert await policies.kb_version(s) == "0"


# ── overrides ────────────────────────────────────────────────────────────────────────────


async def _areas(s):
    areas = await add_areas(s, ("c", "某县", "county", None, "Some County"), ("c.t", "某镇", "township", "c", "Some Town"),
                            ("c.t.v1", "一村", "village", "c.t", "Village One"),
                            ("c.t.v2", "二村", "village", "c.t", "Village Two"))
    return tuple(areas.values())


async def test_overrides_resolve_village_then_township_then_county_then_national(db):
    async with db.session() as s:
        county, town, v1, v2 = await _areas(s)
        await policies.publish_policy(
            s, "p", _minimal(contact={"zh": "全国联系", "en": "National contact"}, sources=["https://national.example"]), by="t"
        )
        await policy_overrides.set_override(s, "p", county.id, {
            "contact": {"zh": "县里联系", "en": "County contact"},
            "what_you_get": {"zh": "县标准"},
        })
        await policy_overrides.set_override(s, "p", town.id, {
            "what_you_get": {"zh": "镇标准", "en": "Town standard"},
            "sources": ["https://town.example"],
        }, effective_date="2026-03-01")
        await policy_overrides.set_override(s, "p", v1.id, {"contact": {"zh": "村里联系", "en": "Village contact"}})

    async with db.session() as s:
        r = await policy_overrides.resolve(s, "p", v1.id, "zh")
        assert (r["summary"], r["what_you_get"], r["contact"]) == ("全国的说法", "镇标准", "村里联系")
        assert r["overrides"]["contact"]["area_code"] == "c.t.v1"
        assert r["overrides"]["what_you_get"] == {
            "area_id": town.id, "area_code": "c.t", "area_name": "某镇", "level": "township",
            "effective_date": "2026-03-01",
        }
        assert "summary" not in r["overrides"]
        assert r["sources"] == ["https://town.example", "https://national.example"]

        r = await policy_overrides.resolve(s, "p", v2.id, "en")
        assert (r["what_you_get"], r["contact"]) == ("Town standard", "County contact")
        assert r["overrides"]["contact"]["area_name"] == "Some County"

        r = await policy_overrides.resolve(s, "p", county.id, "en")
        # the county override has no English: the local fact in Chinese beats the national text
        assert (r["what_you_get"], r["contact"]) == ("县标准", "County contact")

        r = await policy_overrides.resolve(s, "p", None, "zh")
        assert (r["what_you_get"], r["contact"], r["overrides"]) == ("", "全国联系", {})
        assert await policy_overrides.resolve(s, "nothing", v1.id, "zh") is None


async def test_set_override_replaces_and_refuses_unknown_fields(db):
    async with db.session() as s:
        _, town, _, _ = await _areas(s)
        await policies.publish_policy(s, "p", _minimal(), by="t")
        await policy_overrides.set_override(s, "p", town.id, {"contact": {"zh": "旧"}})
        await policy_overrides.set_override(s, "p", town.id, {"notes": {"zh": "新"}})
        with pytest.raises(policy_checks.PolicyDataError, match="unknown field 'amount'"):
            await policy_overrides.set_override(s, "p", town.id, {"amount": 5})
        with pytest.raises(policy_checks.PolicyDataError, match="no policy 'nope'"):
            await policy_overrides.set_override(s, "nope", town.id, {})
    async with db.session() as s:
        r = await policy_overrides.resolve(s, "p", town.id, "zh")
        assert (r["notes"], r["contact"]) == ("新", "")


# ── search documents and hotlines ────────────────────────────────────────────────────────


async def test_kb_documents_cover_every_policy_in_the_asked_language(db):
    async with db.session() as s:
        await seed_content(s)
        zh = await policies.kb_documents(s)
        en = await policies.kb_documents(s, "en")
        version = await policies.kb_version(s)
    assert version == "14"
    assert sorted(d["policy_id"] for d in zh) == sorted(DOMAIN_IDS)
    dibao = next(d for d in zh if d["policy_id"] == "dibao")
    assert dibao["title"].startswith("农村低保") and "吃低保" in dibao["keywords"]
    assert "户口" in dibao["text"]
    dibao_en = next(d for d in en if d["policy_id"] == "dibao")
    assert "hukou" in dibao_en["text"] and not re.search(r"[\u4e00-\u9fff]", dibao_en["text"])


async def test_hotlines_round_trip_and_refuse_bad_numbers(db):
    seeded = load_data("hotlines")["hotlines"]
    async with db.session() as s:
        assert await policies.get_hotlines(s) == []
        await seed_content(s)
    async with db.session() as s:
        stored = await policies.get_hotlines(s)
        assert [h["number"] for h in stored] == ["110", "119", "120", "12338", "12355", "12356", "12345"]
        assert stored == seeded
        by_number = {h["number"]: h for h in stored}
        assert "self_harm" in by_number["12356"]["situations"]
        assert "domestic_violence" in by_number["12338"]["situations"]
        assert "fire" in by_number["119"]["situations"]
        with pytest.raises(policy_checks.PolicyDataError, match="use digits only"):
            await policies.set_hotlines(s, [{"number": "1l0", "label": {"zh": "报警", "en": "Police"},
                                             "when": {"zh": "危险", "en": "danger"}, "situations": ["danger"]}])
        await policies.set_hotlines(s, stored[:2])
    async with db.session() as s:
        assert [h["number"] for h in await policies.get_hotlines(s)] == ["110", "119"]
