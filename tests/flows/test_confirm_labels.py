"""The confirming question's labels (flows/texts.py CONFIRM_LABELS): one per intent it may offer,
each a short phrase a person who reads little can follow, that fits "您是想<label>吗？" and
"Do you want to <label>?" and, in a two-way question, stands alone as a button."""
from __future__ import annotations

from pathlib import Path

import pytest
from flows.registry import load_actions
from flows.texts import CONFIRM_LABELS, phrase
from flows.validate import load_flow
from nlu.confidence import CONFIRMABLE

BUILTIN = Path(__file__).resolve().parents[2] / "flows" / "builtin"


def test_one_label_per_confirmable_intent():
    assert set(CONFIRM_LABELS) == set(CONFIRMABLE)
    assert all(set(label) == {"zh", "en"} for label in CONFIRM_LABELS.values())


def test_every_confirmable_intent_starts_a_built_in_flow():
    registry, intents = load_actions(), set()
    for path in BUILTIN.glob("*.yaml"):
        intents.update(load_flow(path.read_text(encoding="utf-8"), path.name, registry).triggers.intents)
    assert set(CONFIRMABLE) <= intents, set(CONFIRMABLE) - intents


@pytest.mark.parametrize("intent", sorted(CONFIRMABLE))
def test_a_label_is_short_and_has_no_comma_inside(intent):
    zh, en = CONFIRM_LABELS[intent]["zh"], CONFIRM_LABELS[intent]["en"]
    # a comma inside would blur "您是想A，还是B？" into three options
    assert not any(c in zh for c in "，,、；") and "," not in en, (zh, en)
    assert len(zh) <= 7, zh
    assert len(en.split()) <= 6 and en[0].islower(), en
    assert phrase("zh", "confirm_one", label=zh).endswith("吗？")
    assert phrase("en", "confirm_one", label=en).startswith("Do you want to ")
