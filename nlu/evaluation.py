"""Evaluating a parser on a Rasa-format NLU file.

Intent accuracy, macro-F1 and per-intent precision/recall/F1 (``nlu_fallback`` counts as a
wrong answer), the most confused pairs, entity precision/recall/F1 per entity type at value
level — each example's multiset of (entity, value) against its annotations, offsets
ignored — and the emergency figures from the parse's ``emergency`` level (certain: page at
once; unsure: ask one safety question first; a parser without that key counts an
``emergency`` intent as certain):

- ``emergency_recall``: share of emergency examples that page or get the safety question
  (also per language, ``emergency_recall_by_language``: ``zh`` when the text holds a Chinese
  character, else ``en``);
- ``emergency_false_positive_rate``: share of non-emergency examples that page (certain);
- ``safety_question_rate``: share of non-emergency examples that get the safety question.

An unsure message is scored for intent as its outcome after the safety question: an emergency
example counts as ``emergency`` (the person answers "not safe"), any other as its parsed intent.
Entity types the file never annotates are not scored (a file without date annotations says
nothing about date predictions). ``need_category_recall``: the share of examples annotated
with a need category whose predicted category is that one; ``need_category_offered_recall``
counts also the runner-up the intake offers ("是A还是B？").
``leave_unclear`` (the bot asks "stop the messages, leave an activity or delete my data?")
counts as right for a ``stop`` or ``cancel_signup`` example; ``leave_questions`` says how
often it was asked.

What villagers get (nlu/confidence.py): ``started_share``, the share of examples whose right
intent starts its flow at once (at or above INTENT_THRESHOLD; an emergency caught counts);
``confirm_share``, the share whose right intent the confirming question offers ("您是想…吗？");
``confirm_question_rate``, the share of examples that get that question at all. Accuracy counts
a right intent at any confidence, so it is at most ``started_share + confirm_share`` plus the
right answers below CONFIRM_FLOOR.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from nlu.confidence import INTENT_THRESHOLD, to_confirm
from nlu.leaving import LEAVE_UNCLEAR, LEAVING_INTENTS
from nlu.training_data import Example

__all__ = ["evaluate", "format_report"]

Parse = Callable[..., dict]


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}


def _language(text: str) -> str:
    return "zh" if re.search(r"[\u3400-\u9fff]", text) else "en"


def evaluate(parse: Parse, examples: Sequence[Example], now: datetime | None = None) -> dict:
    gold_intents = sorted({ex.intent for ex in examples})
    tp, fp, fn = Counter(), Counter(), Counter()
    confused: Counter = Counter()
    entity_types = {a.entity for ex in examples for a in ex.entities}
    etp, efp, efn = Counter(), Counter(), Counter()
    errors = []
    correct = 0
    emergencies = caught = non_emergencies = false_alarms = questions = 0
    by_language: dict[str, list[int]] = {}
    needs = needs_found = needs_offered = 0
    leave_questions = started = confirmed = confirm_questions = 0
    for ex in examples:
        result = parse(ex.text, now=now)
        predicted = result["intent"]["name"]
        level = (result.get("emergency") or {}).get("level") or ("certain" if predicted == "emergency" else "none")
        if level == "unsure" and ex.intent == "emergency":
            predicted = "emergency"
        if predicted == LEAVE_UNCLEAR:  # the flow `leave` asks which: right for either of its intents
            leave_questions += 1
            predicted = ex.intent if ex.intent in LEAVING_INTENTS else predicted
        offered = to_confirm(result)
        confirm_questions += bool(offered)
        confirmed += ex.intent in offered
        if predicted == ex.intent:
            correct += 1
            tp[ex.intent] += 1
            started += predicted == "emergency" or result["intent"]["confidence"] >= INTENT_THRESHOLD
        else:
            fn[ex.intent] += 1
            fp[predicted] += 1
            confused[(ex.intent, predicted)] += 1
            errors.append({"text": ex.text, "expected": ex.intent, "predicted": predicted,
                           "confidence": result["intent"]["confidence"]})
        if ex.intent == "emergency":
            emergencies += 1
            caught += level != "none"
            counts = by_language.setdefault(_language(ex.text), [0, 0])
            counts[0] += level != "none"
            counts[1] += 1
        else:
            non_emergencies += 1
            false_alarms += level == "certain"
            questions += level == "unsure"
        gold_needs = [str(a.value) for a in ex.entities if a.entity == "need_category"]
        if gold_needs:
            needs += 1
            found = next((e for e in result["entities"] if e["entity"] == "need_category"), None)
            offered = [str(found["value"]), *map(str, found.get("alternatives", ()))] if found else []
            needs_found += bool(offered) and offered[0] in gold_needs
            needs_offered += any(v in gold_needs for v in offered)
        gold = Counter((a.entity, str(a.value)) for a in ex.entities)
        pred = Counter((e["entity"], str(e["value"])) for e in result["entities"] if e["entity"] in entity_types)
        for key in gold.keys() | pred.keys():
            both = min(gold[key], pred[key])
            etp[key[0]] += both
            efp[key[0]] += pred[key] - both
            efn[key[0]] += gold[key] - both
    per_intent = {name: _prf(tp[name], fp[name], fn[name]) for name in gold_intents}
    n = len(examples)
    return {
        "n": n,
        "intent_accuracy": round(correct / n, 4) if n else 0.0,
        "intent_macro_f1": round(sum(v["f1"] for v in per_intent.values()) / len(per_intent), 4) if per_intent else 0.0,
        "per_intent": per_intent,
        "confused_pairs": [{"expected": a, "predicted": b, "count": c} for (a, b), c in confused.most_common(10)],
        "entities": {t: _prf(etp[t], efp[t], efn[t]) for t in sorted(entity_types)},
        "emergency_recall": round(caught / emergencies, 4) if emergencies else None,
        "emergency_recall_by_language": {k: round(c / t, 4) for k, (c, t) in sorted(by_language.items())},
        "emergency_false_positive_rate": round(false_alarms / non_emergencies, 4) if non_emergencies else None,
        "safety_question_rate": round(questions / non_emergencies, 4) if non_emergencies else None,
        "need_category_recall": round(needs_found / needs, 4) if needs else None,
        "need_category_offered_recall": round(needs_offered / needs, 4) if needs else None,
        "need_examples": needs,
        "leave_questions": leave_questions,
        "started_share": round(started / n, 4) if n else 0.0,
        "confirm_share": round(confirmed / n, 4) if n else 0.0,
        "confirm_question_rate": round(confirm_questions / n, 4) if n else 0.0,
        "errors": errors,
    }


def format_report(report: dict, max_errors: int = 20) -> str:
    lines = [
        f"examples             {report['n']}",
        f"intent accuracy      {report['intent_accuracy']:.4f}",
        f"intent macro-F1      {report['intent_macro_f1']:.4f}",
        f"emergency recall     {report['emergency_recall']}"
        + "".join(f"  {k} {v}" for k, v in report.get("emergency_recall_by_language", {}).items()),
        f"emergency FP rate    {report['emergency_false_positive_rate']}  (pages on non-emergencies)",
        f"safety question rate {report.get('safety_question_rate')}  (asked on non-emergencies)",
        f"need category recall {report['need_category_recall']} (with the offered runner-up: "
        f"{report['need_category_offered_recall']}; {report['need_examples']} examples)",
        f"leave questions      {report['leave_questions']} (stop / leave an activity / erase?)",
        f"started at once      {report['started_share']:.4f}  (right intent at or above the threshold)",
        f"offered in question  {report['confirm_share']:.4f}  (right intent in \"您是想…吗？\"; "
        f"asked on {report['confirm_question_rate']:.4f} of examples)",
        "",
        f"{'intent':<16} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>4}",
    ]
    for name, m in report["per_intent"].items():
        lines.append(f"{name:<16} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} {m['support']:>4}")
    if report["entities"]:
        lines += ["", f"{'entity':<16} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>4}"]
        for name, m in report["entities"].items():
            lines.append(f"{name:<16} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} {m['support']:>4}")
    if report["confused_pairs"]:
        lines += ["", "most confused (expected → predicted):"]
        lines += [f"  {c['expected']} → {c['predicted']}: {c['count']}" for c in report["confused_pairs"]]
    if report["errors"]:
        lines += ["", f"errors (first {max_errors}):"]
        lines += [f"  {e['text']!r}: {e['expected']} → {e['predicted']} ({e['confidence']})" for e in report["errors"][:max_errors]]
    return "\n".join(lines)
