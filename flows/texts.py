"""The engine's own words: what it says in zh and en (TEXTS, `phrase`), the words it
understands by itself (cancel, correction) and the payloads of its own buttons."""
from __future__ import annotations

from typing import Any

__all__ = ["ENDS", "SAFETY_FLOW", "CANCEL_WORDS", "CONFIRM_LABELS", "CONFIRM_NO_PAYLOAD", "CONFIRM_PAYLOAD",
           "CORRECTION_MARKERS", "HUMAN_PAYLOAD", "RESUME_NO_PAYLOAD", "RESUME_PAYLOAD", "SKIP_VALUE", "TEXTS",
           "localized", "phrase"]

SAFETY_FLOW = "safety_check"  # the flow that asks "are you safe?"
ENDS = " .!?。！？，,~…"  # around a whole-message word or pattern
HUMAN_PAYLOAD = "/human"
RESUME_PAYLOAD = "/resume"
RESUME_NO_PAYLOAD = "/resume no"
SKIP_VALUE = "__skip__"
CONFIRM_PAYLOAD = "/confirm "  # + the intent offered: "/confirm report_need"
CONFIRM_NO_PAYLOAD = "/confirm no"
CANCEL_WORDS = {"取消", "算了", "不弄了", "不办了", "不要了", "不用了", "不填了", "退出", "结束", "算了吧", "不问了",
                "cancel", "stop", "quit", "exit", "never mind", "nevermind", "forget it"}
CORRECTION_MARKERS = ("不对", "不是", "错了", "搞错", "改成", "改为", "改一下", "应该是", "更正", "说错",
                      "actually", "i meant", "correction", "change it", "not ")

TEXTS = {
    "zh": {
        "cancelled": "好的，已取消「{title}」。需要别的帮助，回复“菜单”。",
        "resume": "要继续刚才的「{title}」吗？",
        "continue": "继续",
        "no_thanks": "不用了",
        "resume_dropped": "好的。需要别的帮助，回复“菜单”。",
        "corrected": "好的，{what}改为“{label}”。",
        "corrected_plain": "好的，已改为“{label}”。",
        "not_understood": "抱歉，我没听懂。您可以从菜单里选，或找社工帮忙。",
        "human": "找社工",
        "skip": "跳过",
        "yes": "是",
        "no": "否",
        "broken": "抱歉，这个流程出了问题，我们已经记录。回复“人工”找社工。",
        "fallback": "抱歉，我没听懂。回复“菜单”看看我能做什么，或回复“人工”找社工。",
        "safe_offer": "好的。想找人聊聊，或者需要帮忙，社工随时在。",
        "emergency": "如有危险，请马上拨打：110 报警，120 急救，119 火警，12356 心理援助。我们也在通知社工。",
        "confirm_hello": "您好，我是乡助。",
        "confirm_one": "您是想{label}吗？",
        "confirm_two": "您是想{first}，还是{second}？",
        "confirm_yes": "是",
        "confirm_no": "不是",
        "confirm_neither": "都不是",
    },
    "en": {
        "cancelled": "OK, \"{title}\" is cancelled. Reply \"menu\" for anything else.",
        "resume": "Shall we continue with \"{title}\"?",
        "continue": "Continue",
        "no_thanks": "No, thanks",
        "resume_dropped": "OK. Reply \"menu\" for anything else.",
        "corrected": "OK, {what} changed to \"{label}\".",
        "corrected_plain": "OK, changed to \"{label}\".",
        "not_understood": "Sorry, I did not understand. Pick from the menu, or ask a social worker.",
        "human": "Talk to a worker",
        "skip": "Skip",
        "yes": "Yes",
        "no": "No",
        "broken": "Sorry, something is wrong with this conversation and we have logged it. Reply \"human\".",
        "fallback": "Sorry, I did not understand. Reply \"menu\" to see what I can do, or \"human\" for a worker.",
        "safe_offer": "OK. If you want to talk or need help, a social worker is here for you.",
        "emergency": "If you are in danger call now: 110 police, 120 ambulance, 119 fire, 12356 crisis line. "
                     "We are alerting a social worker.",
        "confirm_hello": "Hello, I am Xiangzhu.",
        "confirm_one": "Do you want to {label}?",
        "confirm_two": "Do you want to {first}, or to {second}?",
        "confirm_yes": "Yes",
        "confirm_no": "No",
        "confirm_neither": "Neither",
    },
}

# what the confirming question calls each intent it may offer (nlu/confidence.py CONFIRMABLE):
# "您是想<label>吗？" / "Do you want to <label>?"; in a two-way question the label is a button.
# The menu's own words where it has them (求助, 问政策, 找社工), a few everyday words with no
# comma inside (a second option follows a comma); English for a reader of simple English:
# common verbs, no idioms, no "hardship" or "sign-up".
CONFIRM_LABELS = {
    "report_need": {"zh": "求助", "en": "ask for help with a problem"},
    "ask_policy": {"zh": "问政策", "en": "ask about a policy"},
    "check_status": {"zh": "查求助进度", "en": "check your case"},
    "list_activities": {"zh": "看看有什么活动", "en": "see the activities"},
    "join_activity": {"zh": "报名活动", "en": "join an activity"},
    "cancel_signup": {"zh": "取消报名", "en": "cancel an activity you joined"},
    "request_human": {"zh": "找社工", "en": "talk to a social worker"},
    "help": {"zh": "看看我能做什么", "en": "see what I can do"},
    "stop": {"zh": "不再收提醒", "en": "stop getting reminders"},
    "offer_help": {"zh": "帮助别人", "en": "help other people"},
}


def phrase(locale: str, key: str, **kw) -> str:
    return TEXTS.get(locale, TEXTS["zh"])[key].format(**kw)


def localized(value: Any, locale: str) -> str:
    if isinstance(value, dict):
        return str(value.get(locale) or value.get("zh") or value.get("en") or "")
    return "" if value is None else str(value)
