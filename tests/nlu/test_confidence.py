"""The band of the confirming question (nlu/confidence.py) and how the evaluation counts what
villagers get from it: started at once, offered in the question, asked at all."""
from __future__ import annotations

from nlu.confidence import CONFIRM_FLOOR, CONFIRM_MARGIN, INTENT_THRESHOLD, to_confirm
from nlu.evaluation import evaluate
from nlu.training_data import Example


def _parse(ranking: list[tuple[str, float]], level: str = "none", fallback: float = 0.3) -> dict:
    top, p = ranking[0]
    intent = {"name": top, "confidence": p} if p >= fallback else {"name": "nlu_fallback", "confidence": fallback}
    rows = [{"name": n, "confidence": c} for n, c in ranking]
    if intent["name"] == "nlu_fallback":
        rows.insert(0, dict(intent))
    return {"text": "", "intent": intent, "entities": [], "intent_ranking": rows, "emergency": {"level": level}}


def test_the_band_lies_below_the_threshold():
    assert 0 < CONFIRM_FLOOR < INTENT_THRESHOLD and 0 < CONFIRM_MARGIN < INTENT_THRESHOLD - CONFIRM_FLOOR


def test_only_the_band_is_asked_about():
    assert to_confirm(_parse([("report_need", INTENT_THRESHOLD), ("ask_policy", 0.4)])) == []
    assert to_confirm(_parse([("report_need", 0.44), ("emergency", 0.4)])) == ["report_need"]
    assert to_confirm(_parse([("report_need", CONFIRM_FLOOR - 0.01), ("ask_policy", 0.2)])) == []


def test_a_close_runner_up_is_offered_too_a_far_one_not():
    assert to_confirm(_parse([("report_need", 0.38), ("join_activity", 0.35)])) == ["report_need", "join_activity"]
    assert to_confirm(_parse([("report_need", 0.45), ("join_activity", 0.30)])) == ["report_need"]


def test_never_emergency_chat_or_an_alarm():
    assert to_confirm(_parse([("emergency", 0.45), ("report_need", 0.4)])) == []
    assert to_confirm(_parse([("report_need", 0.45), ("emergency", 0.4)], level="unsure")) == []
    assert to_confirm(_parse([("greet", 0.45), ("help", 0.1)])) == []
    assert to_confirm(_parse([("report_need", 0.45), ("thanks", 0.44)])) == ["report_need"]


def test_below_the_parsers_fallback_the_ranking_still_counts():
    parse = _parse([("help", 0.31), ("report_need", 0.2)], fallback=0.35)
    assert parse["intent"]["name"] == "nlu_fallback"
    assert to_confirm(parse) == ["help"]


def test_the_evaluation_counts_started_offered_and_asked():
    parses = {
        "a": _parse([("report_need", 0.9), ("ask_policy", 0.05)]),  # started
        "b": _parse([("report_need", 0.4), ("ask_policy", 0.1)]),  # asked, right
        "c": _parse([("ask_policy", 0.4), ("report_need", 0.35)]),  # asked, right as the runner-up
        "d": _parse([("help", 0.4), ("greet", 0.3)]),  # asked, wrong
        "e": _parse([("report_need", 0.2), ("help", 0.1)]),  # below the floor: neither
    }
    examples = [Example(text=t, intent="report_need" if t != "d" else "stop", entities=[]) for t in parses]
    report = evaluate(lambda text, now=None: parses[text], examples)
    assert report["started_share"] == 0.2
    assert report["confirm_share"] == 0.4
    assert report["confirm_question_rate"] == 0.6
    assert report["intent_accuracy"] == 0.4  # a, b right; c, d, e wrong (e is the fallback)
