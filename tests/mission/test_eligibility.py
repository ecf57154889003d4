"""The eligibility self-check's verdicts (flows/mission/eligibility.py) with the seeded policy
records and a township's local standard."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from flows.mission.eligibility import assess_eligibility
from storage import policy_overrides
from storage.demo import builtin_policies, seed_demo
from storage.models import Area


async def test_the_township_dibao_standard_drives_the_self_check(db):
    async with db.session() as s:
        await seed_demo(s, date(2026, 11, 23))
    async with db.session() as s:
        dongpo = await s.scalar(select(Area).where(Area.code == "qingshan.shiqiao.dongpo"))
        local = await policy_overrides.resolve(s, "dibao", dongpo.id, "zh")
        national = await policy_overrides.resolve(s, "dibao", None, "zh")
    assert "演示" in local["what_you_get"] and "620" in local["what_you_get"]
    assert local["overrides"]["what_you_get"]["area_name"] == "石桥镇"
    assert local["eligibility"]["params"] == {"local_standard": 620}
    assert national["eligibility"]["params"] == {"local_standard": 0}

    answers = {"hukou_local": True, "has_big_property": False, "serious_illness_or_disability": False}
    poor = assess_eligibility(local["eligibility"], {**answers, "income_per_person": 300})
    assert poor["result"] == "likely" and poor["suggest_instead"] == []
    assert "620" in poor["reason"]["zh"] and "620" in poor["reason"]["en"]
    richer = assess_eligibility(local["eligibility"], {**answers, "income_per_person": 900})
    assert richer["result"] == "unlikely"
    assert richer["suggest_instead"] == ["linshi_jiuzhu", "yiliao_jiuzhu", "fanpin_jiance"]
    ill = assess_eligibility(
        local["eligibility"], {**answers, "income_per_person": 900, "serious_illness_or_disability": True}
    )
    assert ill["result"] == "maybe" and "单人户" in ill["reason"]["zh"]
    # without a local standard the bot cannot judge the income: maybe, ask the township
    unknown = assess_eligibility(national["eligibility"], {**answers, "income_per_person": 300})
    assert unknown["result"] == "maybe" and unknown["rule"] is None and "乡镇" in unknown["reason"]["zh"]


@pytest.mark.parametrize(
    "policy_id, answers, result",
    [
        ("tekun", {"hukou_local": True, "age": 72, "severe_disability": False, "has_income": False, "has_supporter": False}, "likely"),
        ("tekun", {"hukou_local": True, "age": 72, "severe_disability": False, "has_income": False, "has_supporter": True}, "unlikely"),
        ("tekun", {"hukou_local": True, "age": 40, "severe_disability": False, "has_income": False, "has_supporter": False}, "unlikely"),
        ("tekun", {"hukou_local": True, "age": 40, "severe_disability": True, "has_income": False, "has_supporter": False}, "likely"),
        ("canji_butie", {"has_disability_card": False, "disability_grade": 1, "needs_long_term_care": True, "in_dibao": True}, "unlikely"),
        ("canji_butie", {"has_disability_card": True, "disability_grade": 1, "needs_long_term_care": True, "in_dibao": False}, "likely"),
        ("canji_butie", {"has_disability_card": True, "disability_grade": 3, "needs_long_term_care": False, "in_dibao": True}, "likely"),
        ("canji_butie", {"has_disability_card": True, "disability_grade": 4, "needs_long_term_care": False, "in_dibao": False}, "maybe"),
        ("yulu_jihua", {"family_registered": True, "in_vocational_school": True, "in_bachelor": False, "suspended": False}, "likely"),
        ("yulu_jihua", {"family_registered": True, "in_vocational_school": False, "in_bachelor": True, "suspended": False}, "unlikely"),
        ("yulu_jihua", {"family_registered": False, "in_vocational_school": True, "in_bachelor": False, "suspended": False}, "unlikely"),
    ],
)
def test_self_check_outcomes(policy_id, answers, result):
    record = next(r for r in builtin_policies() if r["id"] == policy_id)
    assert set(answers) == {q["id"] for q in record["eligibility"]["questions"]}
    outcome = assess_eligibility(record["eligibility"], answers)
    assert outcome["result"] == result
    assert outcome["reason"]["zh"] and outcome["reason"]["en"]
