"""Emergency detector: immediate danger to life or safety, found anywhere in a message.

Recall comes first. A lexicon of trigger patterns per kind scores the normalized message;
a few narrow rules lower the score where the words are not about danger now:

- **Jokes and intensifiers** — 我想死你了 (I miss you so much), 笑死我了, 热死了, 累死了, 气死我了,
  打我电话: these phrases are removed before matching, so they never fire. Only these fixed
  idioms are removed; 我不想活了, 想死, 活不下去 always fire, even with 哈哈 around them
  (when unsure, the bot errs toward a human).
- **Past events, damage reports and policy questions about fire, flood or disaster** —
  去年发洪水冲了房子, 屋顶塌了一块下雨就漏, 房子被火烧了能申请临时救助吗: a past-time, damage or policy
  word cuts the score to 0.4 of *fire, flood,
  disaster* triggers unless an urgency word (快, 救命, 被困, 还在里面...) is present. Self-harm,
  violence, medical and missing-person triggers are never lowered this way.

``detect`` is the lexicon alone (no model needed, any flow state). ``NLU.parse`` also
reports ``emergency`` when the intent classifier gives it probability ≥ its emergency
threshold, so phrasings the lexicon lacks still reach a human.

Kinds: ``self_harm``, ``violence``, ``fire``, ``flood``, ``disaster`` (earthquake, landslide,
collapse, trapped), ``medical``, ``missing_child``, ``missing_person`` (an adult, usually an
elder), ``distress`` (a bare cry for help: 救命, 快报警).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from nlu.normalize import normalize

__all__ = ["KINDS", "THRESHOLD", "EmergencyResult", "detect", "detect_normalized", "has_benign_idiom"]

KINDS = ("self_harm", "violence", "fire", "flood", "disaster", "medical", "missing_child", "missing_person", "distress")
THRESHOLD = 0.5

_CHILD = r"(?:孩子|娃娃?|儿子|女儿|闺女|孙子|孙女|外孙女?|小孩|宝宝|孩|丫头|小子|我家小的|学生)"
_ELDER = r"(?:老人|老人家|爷爷|奶奶|姥姥|姥爷|外婆|外公|我爸|我妈|老爹|老娘|老伴|老汉|婆婆|公公|俺爹|俺娘|老父亲|老母亲|男人|老公|老婆|媳妇)"
_LOST = r"(?:(?<![看听瞧])不见了|找不到了|找不着了?|找不到人|走丢|丢了|失踪|走失|被人?抱走|被拐|联系不上|一夜没回|一晚上?没回|到现在还?没回|放学.{0,3}没回)"

# (kind, weight, pattern) on normalized text
_RULES: list[tuple[str, float, str]] = [
    ("self_harm", 1.0, r"不想活|活不下去|活不成了|不活了|想死|寻死|去死|死了算了|不如死了|想自杀|自杀|轻生|自尽|了结自己|结束(?:自己的?)?生命|一了百了|遗书|准备了?绳子|买了?绳子|准备了?农药|买了?农药"),
    ("self_harm", 1.0, r"跳河|跳楼|跳崖|跳水库|跳井|跳江|卧轨|上吊|割腕|割脉|喝了?农药|喝药|喝敌敌畏|敌敌畏|百草枯|安眠药|吞了?.{0,4}药|吃了?.{0,3}一?(?:瓶|把)药"),
    ("self_harm", 0.7, r"撑不下去|熬不下去|想不开|不想再活"),
    ("self_harm", 1.0, r"kill (?:my|him|her)self|suicid|end (?:my|his|her) life|want to die|don't want to live|do not want to live|overdose|pesticide|hang (?:my|him|her)self"),
    ("violence", 1.0, r"家暴|往死里打|打死|打我|打得.{0,4}(?:血|伤|不行)|被打|挨打|打孩子|打我孩子|他打|要打|砍我|砍人|要砍|拿(?:着)?刀|举着刀|持刀|拿棍|捅了|被捅|杀我|杀人|要杀|杀了我|杀了(?:全家|你|他|她)|强奸|性侵|猥亵|绑架|被拐|闯进|被关|掐我|勒我|威胁我|追着打"),
    ("violence", 1.0, r"beat(?:ing)? me|hitting me|hit me|has a knife|with a knife|kill me|attack|rape|kidnap|abus(?:e|ing)|threaten"),
    ("fire", 1.0, r"着火|救火|火烛|起火|失火|火灾|烧起来|烧着了|火很大|着大火|大火|火烧到|火烧过来|浓烟|on fire|\bfire\b"),
    ("flood", 1.0, r"发大水|洪水|山洪|决口|决堤|水淹|淹了|被淹|淹到|淹死|水漫|水进屋|被水冲|冲走|泥石流|flood"),
    ("disaster", 1.0, r"地震|滑坡|塌方|山塌|房子?塌|房屋倒塌|房子塌了|塌下来|要塌|快塌|被埋|埋了|被压|压在下面|被困|困在|earthquake|landslide|collapsed building|trapped"),
    ("medical", 1.0, r"晕倒|昏倒|昏过去|昏迷|叫不醒|喊不醒|不省人事|人事不省|倒地|突然倒|喘不上气|喘不过气|没呼吸|不呼吸|没气了|没有呼吸|心口疼|胸口疼|心脏病犯|心脏病发|中风|抽搐|抽风|口吐白沫|大出血|流血不止|血止不住|止不住血|流了好多血|满头是血|头破血流|一身血|中毒|毒蘑菇|蛇咬|毒蛇|被狗咬|掉水里|掉河里|掉井里|落水|溺水|快不行了|人不行了|不行了快|救人|救护车|(?:打|叫|拨)120|要生了|难产|触电|车祸|摔下来.{0,6}(?:不动|不醒|血)|不动了"),
    ("medical", 1.0, r"not breathing|unconscious|collapsed|ambulance|bleeding|heart attack|stroke|seizure|poison|snake bit|drown|fell and"),
    ("missing_child", 1.0, _CHILD + r".{0,8}" + _LOST),
    ("missing_child", 1.0, _CHILD + r".{0,10}(?:到处找|找遍了|满村找|找了一?(?:下午|晚上|整晚|夜|整天|天)(?!工作|活))"),
    ("missing_child", 1.0, r"(?:child|son|daughter|kid|baby|boy|girl)\b.{0,12}\b(?:missing|lost|gone|kidnapped)|can't find my (?:child|son|daughter|kid)"),
    ("missing_person", 1.0, _ELDER + r".{0,8}" + _LOST),
    ("distress", 1.0, r"救命|救救|快来人|报警|出人命|出事了|救我|please help|\bhelp!|emergency|sos\b|call (?:the )?police"),
]
_COMPILED = [(kind, weight, re.compile(p)) for kind, weight, p in _RULES]

# idioms and phrases that contain a trigger but never mean danger; removed before matching
_NOT_DANGER = re.compile(
    r"想死(?:你|您|我|你们|大家)了?"
    r"|(?:笑|热|冷|累|饿|困|渴|烦|气|急|忙|吵|美|馋|闷|懒|丑|晒|挤|疼|痛|难受|无聊|麻烦|高兴|开心|羡慕|折腾|愁)死(?:我|人|了|啦|掉)+"
    r"|打我(?:的)?(?:电话|手机|号码)|给我打|打我一下电话"
    r"|找不到(?:工作|活|对象|媳妇|学校|人管|地方)"
    r"|杀(?:猪|鸡|鸭|鱼|羊|牛)|被杀了?(?:好几次|一次)|游戏"
    r"|火锅|上火|发火|火车|火腿|火柴|打火机|火力|火龙果"
    r"|不能不管|要打工|要打针|打疫苗|他打工|打工"
    r"|fire(?:d)? from|fired me|no fire"
)
_NOT_NOW = re.compile(r"漏|裂|还没修|没修好|绝收|收成|庄稼|去年|前年|那年|当年|以前|之前|过去|曾经|上个月|上次|几年前|补助|补贴|政策|申请|能领|报销|救助|保险|电视|新闻|听说|演的|小时候")
_URGENT = re.compile(r"快|救命|救救|正在|被困|出不来|还在里面|人在|有人|赶紧|马上|help|now")
_SOFTENABLE = {"fire", "flood", "disaster"}


def has_benign_idiom(norm: str) -> bool:
    """True when the normalized text holds one of the idioms that look like danger but are
    not (我想死你了, 笑死我了...); the parser then asks more of the classifier."""
    return _NOT_DANGER.search(norm) is not None


@dataclass(frozen=True, slots=True)
class EmergencyResult:
    is_emergency: bool
    kinds: list[str] = field(default_factory=list)
    matched: str = ""
    score: float = 0.0


def detect(text: str) -> EmergencyResult:
    """Scan one message (raw or normalized) for an emergency; see the module docstring."""
    return detect_normalized(normalize(text))


def detect_normalized(norm: str) -> EmergencyResult:
    """``detect`` for text that ``nlu.normalize.normalize`` has already processed."""
    cleaned = _NOT_DANGER.sub(" ", norm)
    soften = bool(_NOT_NOW.search(cleaned)) and not _URGENT.search(cleaned)
    best, kinds, matched = 0.0, [], []
    for kind, weight, pattern in _COMPILED:
        m = pattern.search(cleaned)
        if m is None:
            continue
        score = weight * (0.4 if soften and kind in _SOFTENABLE else 1.0)
        if score >= THRESHOLD and kind not in kinds:
            kinds.append(kind)
            matched.append(m.group(0))
        best = max(best, score)
    if len(kinds) > 1 and "distress" in kinds:  # a specific kind says more than a cry for help
        i = kinds.index("distress")
        kinds.pop(i)
        matched.pop(i)
    return EmergencyResult(best >= THRESHOLD, kinds, "|".join(matched), round(best, 3))
