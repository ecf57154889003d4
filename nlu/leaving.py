"""Leaving, told loosely: stop the messages, leave an activity, or delete my data?

别给我发了 is clear (the messages), 报的课不去了 too (the activity), 把我的资料删了 too (the data);
我不想弄了, 把我的东西都删了, 退出, i want quit this are not. When the intent model reads a
message as ``stop`` or ``cancel_signup`` and the message names none — or more than one — of
the three things, the parse says ``leave_unclear`` and the flow ``leave`` asks
"您是想：1 不再收消息 2 退出报名的活动 3 删除我的信息 4 都不是". A clear request to delete
one's data is found by the flow ``erase`` itself (its trigger patterns), not here.

``mark_unclear`` applies this to a finished parse of any backend (the built-in model or a
Rasa server), so the question is asked whichever NLU runs.
"""
from __future__ import annotations

import re

__all__ = ["LEAVE_UNCLEAR", "LEAVING_INTENTS", "mark_unclear", "unclear"]

LEAVE_UNCLEAR = "leave_unclear"
LEAVING_INTENTS = frozenset({"stop", "cancel_signup"})
OTHER_LEAVING = 0.15  # a cancel_signup reading is unsure when stop gets at least this

_MESSAGES = re.compile(r"发|消息|通知|提醒|推送|订阅|退订|短信|打扰|messag|notic|notif|remind|send|subscri|spam|\bsms\b")
_ACTIVITY = re.compile(r"报名|报的|活动|参加|参与|班|课|培训|小组|名额|名字划|activit|class|training|course|sign|join|participat")
_DELETE = re.compile(r"删|清掉|清除|清空|消了|销了|注销|抹掉|\bdelete|\berase|\bremove|\bforget|\bwipe")
_DATA = re.compile(r"信息|资料|记录|数据|档案|电话|号码|名字|\bdata\b|\binfo|\brecord|\bdetails\b|\bphone\b")


def unclear(text: str, intent: str, other: float = 0.0) -> bool:
    """Whether a normalized message the model reads as ``intent`` may mean any of the three.

    ``other``: the model's probability of the other leaving intent. A message read as
    ``stop`` is unclear unless it names exactly one of the three; one read as
    ``cancel_signup`` (明天的班我不去了) only when it names several, deletes something
    unnamed, or the model also thinks of ``stop``."""
    if intent not in LEAVING_INTENTS:
        return False
    deletes = bool(_DELETE.search(text))
    erase = deletes and bool(_DATA.search(text))
    named = bool(_MESSAGES.search(text)) + bool(_ACTIVITY.search(text)) + erase
    if named > 1 or (deletes and not erase):
        return True
    if intent == "cancel_signup":
        return other >= OTHER_LEAVING
    return named == 0


def mark_unclear(result: dict, normalized_text: str) -> dict:
    """Turn a parse (Rasa's ``/model/parse`` shape) read as a leaving intent into
    ``leave_unclear`` when ``unclear`` says so; the model's reading stays second in the ranking."""
    intent = result["intent"]
    if intent.get("name") not in LEAVING_INTENTS:
        return result
    ranking = result.get("intent_ranking") or []
    other = next((r["confidence"] for r in ranking[1:3] if r.get("name") in LEAVING_INTENTS and r.get("name") != intent["name"]), 0.0)
    if unclear(normalized_text, intent["name"], other):
        result["intent"] = {"name": LEAVE_UNCLEAR, "confidence": intent.get("confidence", 0.0)}
        if not ranking or ranking[0].get("name") != intent["name"]:
            ranking.insert(0, {"name": intent["name"], "confidence": intent.get("confidence", 0.0)})
        ranking.insert(0, dict(result["intent"]))
        result["intent_ranking"] = ranking
    return result
