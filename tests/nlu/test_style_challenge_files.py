"""The challenge set by style (nlu/data/test/styles) is well-formed and held out.

Checks the files themselves, not the NLU: they parse, every intent has examples, annotations
are well-formed with canonical values, need_category sits on report_need only, and no
sentence occurs twice across the style files or in any other NLU data file.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parents[2] / "nlu" / "data"
STYLES = sorted((DATA / "test" / "styles").glob("*.yml"))
INTENTS = {
    "greet", "goodbye", "thanks", "help", "affirm", "deny", "stop", "ask_policy", "report_need",
    "check_status", "list_activities", "join_activity", "cancel_signup", "request_human",
    "emergency", "out_of_scope",
}
POLICIES = {
    "dibao", "tekun", "linshi_jiuzhu", "yiliao_jiuzhu", "canji_butie", "jiaoyu_zizhu", "yulu_jihua",
    "weifang_gaizao", "xiaoe_xindai", "gongyi_gangwei", "fanpin_jiance", "yanglao_baoxian",
    "jiuye_peixun", "liushou_ertong",
}
NEEDS = {
    "education", "medical", "housing", "employment", "elderly_care", "child_care", "disability",
    "livelihood", "disaster", "psychological", "legal", "other",
}
ANNOTATION = re.compile(r"\[([^\]]+)\](\{[^}]*\}|\([^)]*\))")


def _examples(path: Path) -> list[tuple[str, str]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for block in doc.get("nlu") or []:
        if "intent" not in block:
            continue
        for line in str(block.get("examples", "")).splitlines():
            if line.strip():
                out.append((block["intent"], line.strip()[2:].strip()))
    return out


def _key(text: str) -> str:
    plain = ANNOTATION.sub(lambda m: m.group(1), text)
    return re.sub(r"[\W_]+", "", plain).lower()


def test_there_are_seven_styles():
    assert [p.stem for p in STYLES] == [
        "beifang", "en_nonnative", "indirect", "runon", "typos", "xinan", "yue_hakka"]


@pytest.mark.parametrize("path", STYLES, ids=lambda p: p.stem)
def test_style_file_is_well_formed(path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert str(doc["version"]) == "3.1"
    counts: Counter[str] = Counter()
    for intent, text in _examples(path):
        assert intent in INTENTS, intent
        counts[intent] += 1
        found = ANNOTATION.findall(text)
        assert text.count("[") == len(found), text
        needs = 0
        for _, raw in found:
            ann = json.loads(raw)
            assert set(ann) == {"entity", "value"}, text
            if ann["entity"] == "policy":
                assert ann["value"] in POLICIES, text
            else:
                assert ann["entity"] == "need_category", text
                assert ann["value"] in NEEDS, text
                needs += 1
        assert needs == (1 if intent == "report_need" else 0), text
    assert {i for i in INTENTS if counts[i] < 3} == set()
    assert counts["emergency"] >= 8


def test_no_sentence_repeats_across_styles_or_other_nlu_data():
    seen: dict[str, str] = {}
    for path in STYLES:
        for _, text in _examples(path):
            key = _key(text)
            assert key not in seen, f"{path.name}: {text!r} also in {seen[key]}"
            seen[key] = path.name
    others = [p for p in DATA.rglob("*.yml") if p.parent.name != "styles" and not p.name.startswith("kb_")]
    clashes = [
        (seen[_key(text)], text, p.name)
        for p in others for _, text in _examples(p) if _key(text) in seen
    ]
    assert clashes == []
