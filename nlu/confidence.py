"""How sure is sure: the confidence at which a flow starts by intent, and the band below it
where the bot asks one confirming question instead ("您是想求助吗？1 是 2 不是").

One place for these figures: the flow runtime acts on them, the evaluation (nlu/evaluation.py)
counts what villagers get with them.

Chosen on the dev, test and style files of nlu/data/test (2026-12-07, docs/nlu.md "Asked, not
guessed"): of the messages below INTENT_THRESHOLD whose best intent has a flow, 39 % of those
at 0.30–0.35 have it right, 29 % at 0.25–0.30 and 17 % at 0.20–0.25; below CONFIRM_FLOOR most
questions would ask about the wrong thing. A runner-up within CONFIRM_MARGIN is offered too
(1 A 2 B 3 neither): at 0.1, 15 of 112 questions offer two and 5 more are right; wider margins
make two-option questions common for few more right answers.
"""
from __future__ import annotations

__all__ = ["CONFIRMABLE", "CONFIRM_FLOOR", "CONFIRM_MARGIN", "INTENT_THRESHOLD", "to_confirm"]

INTENT_THRESHOLD = 0.5  # at or above it, the intent starts its flow
CONFIRM_FLOOR = 0.3
CONFIRM_MARGIN = 0.1
# intents a confirming question may offer: each has a flow of its own and a short label
# (flows/texts.py). Never emergency (the safety question asks about that), nor chat
# (greet, thanks, goodbye, affirm, deny, out_of_scope): "did you want to say hello?" helps nobody.
CONFIRMABLE = frozenset({"report_need", "ask_policy", "check_status", "list_activities", "join_activity",
                         "cancel_signup", "request_human", "help", "stop", "offer_help"})


def to_confirm(parse: dict) -> list[str]:
    """The intents to ask about ([], one, or the best two when they are close), best first, for a
    message no intent is sure of. The ranking, not the intent: below the parser's fallback
    threshold the intent is ``nlu_fallback`` and the ranking still holds the model's guesses."""
    intent = parse.get("intent") or {}
    if intent.get("name") != "nlu_fallback" and float(intent.get("confidence") or 0.0) >= INTENT_THRESHOLD:
        return []
    if intent.get("name") == "emergency" or (parse.get("emergency") or {}).get("level", "none") != "none":
        return []  # an emergency pages; an unsure one gets the safety question, never this one
    ranking = [r for r in parse.get("intent_ranking") or () if r.get("name") != "nlu_fallback"]
    if not ranking:
        return []
    best = ranking[0]
    top = float(best.get("confidence") or 0.0)
    if best.get("name") not in CONFIRMABLE or not CONFIRM_FLOOR <= top < INTENT_THRESHOLD:
        return []
    offered = [best["name"]]
    if len(ranking) > 1:
        second = ranking[1]
        if second.get("name") in CONFIRMABLE and top - float(second.get("confidence") or 0.0) <= CONFIRM_MARGIN:
            offered.append(second["name"])
    return offered
