"""Test doubles for the NLU and the flow engine: tests of a channel, the pipeline or the staff
API need a person's message to get *a* reply, not the real understanding (which the nlu and
flow tests drive). Production has no stand-in: bot/services.py builds the real ones.

`StandinNLU.parse` answers Rasa's ParseResult shape from a few keywords; `StandinHandler`
answers a greeting or a request for help with a numbered menu, an emergency with the
hotlines, and anything else by saying it did not understand, with the menu.
"""
from __future__ import annotations

from datetime import datetime

from vocab.menu import MAIN_MENU
from vocab.messages import Button
from flows.turn import Turn

__all__ = ["MENU", "StandinHandler", "StandinNLU"]

_KEYWORDS = [
    ("emergency", ("救命", "着火", "失火", "自杀", "不想活", "打人", "help me", "fire", "suicide")),
    ("human", ("人工", "社工", "真人", "human", "agent")),
    ("greet", ("你好", "您好", "在吗", "早上好", "hello", "hi", "hey")),
    ("help", ("帮助", "菜单", "干啥", "能做什么", "help", "menu", "?", "？")),
]

MENU = {
    "zh": ("您好，我是乡助。请选择：", tuple(Button(item.zh, item.payload) for item in MAIN_MENU)),
    "en": ("Hello, I am Xiangzhu. Please choose:", tuple(Button(item.en, item.payload) for item in MAIN_MENU)),
}

_TEXTS = {
    "zh": {
        "fallback": "我没听懂。请选一个数字：",
        "soon": "这项服务还在准备中。急事请打 12345。",
        "emergency": "请马上打电话：报警 110，火警 119，急救 120，心理援助 12356。",
    },
    "en": {
        "fallback": "Sorry, I did not understand. Please choose a number:",
        "soon": "This service is not ready yet. For urgent matters call 12345.",
        "emergency": "Call now: police 110, fire 119, ambulance 120, mental health 12356.",
    },
}


class StandinNLU:
    """Keyword intents in Rasa's parse shape."""

    def parse(self, text: str, now: datetime | None = None) -> dict:
        low = text.strip().lower()
        name, confidence = "nlu_fallback", 0.0
        for intent, words in _KEYWORDS:
            if any(w in low for w in words if len(w) > 2 or not w.isascii()) or low in words:
                name, confidence = intent, 1.0
                break
        ranking = [{"name": name, "confidence": confidence}]
        return {"text": text, "intent": ranking[0], "entities": [], "intent_ranking": ranking}


class StandinHandler:
    """Greeting and help → the numbered menu; everything else → "not understood" + menu."""

    async def handle(self, turn: Turn) -> None:
        locale = turn.locale if turn.locale in MENU else "zh"
        texts = _TEXTS[locale]
        menu_text, buttons = MENU[locale]
        intent = turn.parse.get("intent", {}).get("name", "")
        if turn.emergency is not None or intent == "emergency":
            turn.say(texts["emergency"])
        elif intent == "human" or turn.payload in {b.payload for b in buttons}:
            turn.say(texts["soon"], buttons)
        elif intent in ("greet", "help"):
            turn.say(menu_text, buttons)
        else:
            turn.say(texts["fallback"], buttons)
