"""The shared vocabulary (vocab/) is the one the other packages speak: the built-in policy
records, the NLU's entities and the flows' commands use exactly these ids."""
from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from bot.channels.telegram.updates import MAIN_MENU as TELEGRAM_KEYBOARD
from bot.channels.wechat.cli import DEFAULT_MENU, menu_problems
from nlu.training_data import load_training_data
from storage.demo import builtin_policies
from vocab.cases import CATEGORIES, CATEGORY_WORDS
from vocab.menu import MAIN_MENU
from vocab.policies import POLICY_IDS

BUILTIN_FLOWS = Path(__file__).resolve().parents[2] / "flows" / "builtin"


def test_the_built_in_policy_records_are_the_policy_ids():
    assert [p["id"] for p in builtin_policies()] == list(POLICY_IDS)


def test_the_nlu_names_every_policy_and_only_known_policies_and_categories():
    canonical = set(load_training_data().synonyms.values())
    assert set(POLICY_IDS) <= canonical
    assert canonical <= set(POLICY_IDS) | set(CATEGORIES)


def test_every_case_category_has_words_in_both_languages():
    for locale in ("zh", "en"):
        assert set(CATEGORY_WORDS[locale]) == set(CATEGORIES)
        assert all(CATEGORY_WORDS[locale].values())


def test_every_main_menu_entry_starts_a_built_in_flow():
    payloads = set()
    for path in BUILTIN_FLOWS.glob("*.yaml"):
        flow = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        payloads |= set((flow.get("triggers") or flow.get("trigger") or {}).get("payloads") or [])
    assert {item.payload for item in MAIN_MENU} <= payloads


def test_telegram_and_wechat_show_the_same_main_menu():
    assert [(b.title, b.payload) for b in TELEGRAM_KEYBOARD] == [(f"{m.zh} {m.en}", m.payload) for m in MAIN_MENU]
    keys = [e["key"] for e in DEFAULT_MENU["button"] if "key" in e]
    keys += [s["key"] for e in DEFAULT_MENU["button"] for s in e.get("sub_button", [])]
    assert sorted(keys) == sorted(m.payload for m in MAIN_MENU)
    assert menu_problems(DEFAULT_MENU) == []
