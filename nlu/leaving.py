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

__all__ = ["LEAVE_UNCLEAR", "LEAVING_INTENTS", "gives_up_a_place", "mark_unclear", "unclear"]

LEAVE_UNCLEAR = "leave_unclear"
LEAVING_INTENTS = frozenset({"stop", "cancel_signup"})
OTHER_LEAVING = 0.15  # a cancel_signup reading is unsure when stop gets at least this

_MESSAGES = re.compile(r"发|消息|通知|提醒|推送|订阅|退订|短信|打扰|往.{0,3}手机|手机上|messag|notic|notif|remind|send|subscri|spam|\bsms\b"
                       r"|(给我|往我|别|莫|不要)推|手机(老|总|一直|天天)?响|叮叮|\btexts?\b|(to|on|into) my (phone|mobile)")
_ACTIVITY = re.compile(r"报名|报的|活动|参加|参与|班|课|培训|小组|名额|名字划|activit|class|training|course|sign|join|participat")
_DELETE = re.compile(r"删|清掉|清除|清空|消了|销了|注销|抹掉|\bdelete|\berase|\bremove|\bforget|\bwipe")
_DATA = re.compile(r"信息|资料|记录|数据|档案|电话|号码|名字|\bdata\b|\binfo|\brecord|\bdetails\b|\bphone\b")


# A place given up by its reason (工地喊我上工 名额给别人吧, he changed his mind, count me out): the
# model, which learnt mostly 不去了 and "cancel", may read the class named in it as joining
_GIVE_UP = re.compile(
    r"不去了|去不了|去不成|去不到|不想去|不乐意去|不愿意去|不得去|唔去|另外安排|另外找人|找别人顶|让给|让出来|给别人|给旁人|改主意|变卦|就当我没说|划了|划掉"
    r"|chang\w* (his|her|my|their|our) minds?|count (me|him|her|us|them) out|\b(i'?m|he'?s|she'?s|we'?re) out\b"
    r"|(give|let) (my|his|her|our|the) (place|spot|seat) (to|away)|give (it|them) away|forget what i said"
    r"|\b(won'?t|can'?t|cannot|not) (go|come|make it|be there)\b|doesn'?t want to go|don'?t want to go|not going",
    re.IGNORECASE,
)
_A_PLACE = re.compile(
    r"报|名额|位子|位置|名字|活动|班|课|培训|那个|这个|礼拜|星期|周[一二三四五六日天末]|那天|那回"
    r"|\b(the|that|this)( \w+)? (one|thing|class|course|day|training|lesson|talk)\b|next week|tomorrow|明天|后天|\bthing\b|class|course|lesson|training|activit"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|\bspot\b|\bplace\b|\bseat\b|\bwas (down|in) for\b",
    re.IGNORECASE,
)
# what the model reads such a message as, when cancel_signup is close behind
GIVE_UP_MISREAD = frozenset({"join_activity", "nlu_fallback", "deny", "report_need"})
GIVE_UP_CLOSE = 0.1  # cancel_signup's probability at least this
# the confidence of a reading this module decides: above INTENT_THRESHOLD (0.5, nlu/confidence.py),
# which starts a flow by intent only at or above it
RULE_CONFIDENCE = 0.6


def gives_up_a_place(text: str) -> bool:
    """Whether a normalized message gives up a place in something (a reason and a pointer to it)."""
    return bool(_GIVE_UP.search(text) and _A_PLACE.search(text))


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
    ``leave_unclear`` when ``unclear`` says so; the model's reading stays second in the ranking.
    A message that gives up a place (``gives_up_a_place``) and that the model reads otherwise, with
    ``cancel_signup`` close behind, is ``cancel_signup`` first."""
    intent = result["intent"]
    ranking = result.get("intent_ranking") or []
    if intent.get("name") in GIVE_UP_MISREAD and gives_up_a_place(normalized_text):
        cancel = next((r["confidence"] for r in ranking if r.get("name") == "cancel_signup"), 0.0)
        if cancel >= GIVE_UP_CLOSE:
            intent = result["intent"] = {"name": "cancel_signup", "confidence": max(cancel, RULE_CONFIDENCE)}
            ranking = result["intent_ranking"] = [dict(intent)] + [r for r in ranking if r.get("name") != "cancel_signup"]
            result["entities"] = [e for e in result.get("entities", ()) if e.get("entity") != "need_category"]
    if intent.get("name") not in LEAVING_INTENTS:
        return result
    other = next((r["confidence"] for r in ranking[1:3] if r.get("name") in LEAVING_INTENTS and r.get("name") != intent["name"]), 0.0)
    if unclear(normalized_text, intent["name"], other):
        result["intent"] = {"name": LEAVE_UNCLEAR, "confidence": intent.get("confidence", 0.0)}
        if not ranking or ranking[0].get("name") != intent["name"]:
            ranking.insert(0, {"name": intent["name"], "confidence": intent.get("confidence", 0.0)})
        ranking.insert(0, dict(result["intent"]))
        result["intent_ranking"] = ranking
    return result
