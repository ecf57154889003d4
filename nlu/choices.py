"""Mapping a reply to one of the options the bot offered: "2", "二", "②", "第二个", "2号",
"选2", "two", the option's own words (fuzzy), or — when the options' roles are given — a
plain or dialect "yes" (好的, 得行, 要得, 係) or "no" (不要, 算了, 唔要) → a 0-based index, or None.

An option's role comes from its value (``role_of``): ``agree``, ``join``, ``confirm``,
``continue``, ``yes``, ``resume``, ``submit``… are the "yes" option, ``refuse``, ``decline``,
``no``, ``skip``, ``cancel``… the "no" option. The words are data: the ``affirm`` and ``deny``
lookups of ``nlu/data/yes_no.yml``.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from rapidfuzz import fuzz

from nlu.entities.numbers import CIRCLED, chinese_to_int
from nlu.normalize import normalize
from nlu.training_data import DATA_DIR, load_training_data

__all__ = ["NO_VALUES", "YES_NO_FILE", "YES_VALUES", "parse_choice", "role_of", "yes_or_no"]

YES_NO_FILE = DATA_DIR / "yes_no.yml"
YES_VALUES = frozenset({"yes", "true", "ok", "agree", "accept", "join", "signup", "sign_up", "register", "confirm",
                        "continue", "resume", "submit", "proceed", "go"})
# change/edit: the "no" to "is this right?" (对，提交 / 要改一下) is a correction, not a cancel
NO_VALUES = frozenset({"no", "false", "refuse", "disagree", "decline", "reject", "skip", "cancel", "stop", "quit",
                       "not_now", "later", "change", "edit"})

_EN = {"one": 1, "first": 1, "two": 2, "second": 2, "three": 3, "third": 3, "four": 4, "fourth": 4,
       "five": 5, "fifth": 5, "six": 6, "sixth": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "last": -1}
_NUM = r"(?P<n>\d{1,2}|[一二两三四五六七八九十]{1,3}|[" + "".join(CIRCLED) + r"])"
_CHOICE = re.compile(
    rf"^(?:我?(?:选|要|报|选择|就要|挑)?(?:第|no\.?|number|option|#)?\s*{_NUM}\s*(?:个|号|项|条|种|个吧|号吧|吧|啊)?)$"
)
_LAST = re.compile(r"^(?:我?(?:选|要)?)?最后一个$")
_FILLER = re.compile(r"[\s,.!?。,!?、~…’']+")
# closing particles and thanks after a yes or no: 好嘛, 要得噻, 行吧, yes please, 不用了谢谢
_TAIL_ONE = re.compile(r"(?:[啊呀吧嘛哦啦嘞噻哈咯呢了的嗷喔哟撒]|please|thanks|thankyou|谢谢|谢了|谢谢你)$")
# who is speaking, before the yes or no: 我唔要, 俺同意, i agree
_LEAD = re.compile(r"^(?:我|俺|偶|阿拉|i(?=[a-z]))")
# a reply that starts by saying no: it never picks a "yes" option by its words (不同意 ∌ 同意)
_NEGATED = re.compile(r"^(?:我|俺)?(?:不|没|别|甭|莫|唔|冇|毋|勿|覅|不要|no\b|not\b|don'?t|never)")


def role_of(value: Any) -> str | None:
    """"yes", "no" or None: what choosing an option with this value means."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    key = str(value).strip().lower()
    return "yes" if key in YES_VALUES else "no" if key in NO_VALUES else None


@cache
def _words() -> tuple[frozenset[str], frozenset[str]]:
    lookups = load_training_data(YES_NO_FILE).lookups
    def compact(words):
        return frozenset(filter(None, (_FILLER.sub("", normalize(w)) for w in words)))
    return compact(lookups.get("affirm", ())), compact(lookups.get("deny", ()))


def _said(t: str, affirm: frozenset[str], deny: frozenset[str]) -> bool | None:
    if t in deny:
        return False
    if t in affirm:
        return True
    return None


def yes_or_no(text: str, *, normalized: bool = False) -> bool | None:
    """True for a whole reply that agrees (好的, 得行, 要得嘛, 嗯嗯, ok sure), False for one that
    refuses (不要, 算了, 唔使, no thanks), None otherwise (要报名 is not a bare yes)."""
    compact = _FILLER.sub("", text if normalized else normalize(text))
    if not compact or len(compact) > 16:
        return None
    affirm, deny = _words()
    shorter = [compact]  # 算了吧 → 算了 → 算: one closing particle off at a time
    while (m := _TAIL_ONE.search(shorter[-1])) and m.start() > 0:
        shorter.append(shorter[-1][:m.start()])
    for t in dict.fromkeys([*shorter, *(_LEAD.sub("", x) for x in shorter)]):
        said = _said(t, affirm, deny)
        if said is not None:
            return said
        for n in (1, 2, 3):  # repeated: 好好好, 嗯嗯, 要得要得
            if len(t) > n and len(t) % n == 0 and t == t[:n] * (len(t) // n):
                said = _said(t[:n], affirm, deny)
                if said is not None:
                    return said
        for i in range(1, len(t)):  # two in a row: 嗯好的, 好的没问题, ok好的, 不用不用
            first, second = _said(t[:i], affirm, deny), _said(t[i:], affirm, deny)
            if first is not None and first == second:
                return first
    return None


def _number(token: str) -> int | None:
    if token in CIRCLED:  # before isdigit(): "①".isdigit() is True
        return CIRCLED[token]
    if token.isascii() and token.isdigit():
        return int(token)
    return chinese_to_int(token)


def parse_choice(text: str, options: Sequence[str], roles: Sequence[str | None] | None = None,
                 min_score: float = 70.0) -> int | None:
    """`roles` (parallel to `options`, from ``role_of``) lets a yes or no word pick the one
    "yes" / "no" option; without them only numbers and the options' words count."""
    if not options:
        return None
    norm = normalize(text)
    compact = _FILLER.sub("", norm)
    if not compact:
        return None
    if _LAST.match(compact) or compact in ("last", "thelastone"):
        return len(options) - 1
    m = _CHOICE.match(compact)
    if m:
        n = _number(m.group("n"))
        return n - 1 if n is not None and 1 <= n <= len(options) else None
    words = norm.replace("the", " ").split()
    for word in words:
        if word in _EN:
            n = _EN[word]
            if n == -1:
                return len(options) - 1
            return n - 1 if n <= len(options) else None
    # the option's own words
    normalized = [_FILLER.sub("", normalize(o)) for o in options]
    if compact in normalized:
        return normalized.index(compact)
    if roles:
        said = yes_or_no(compact, normalized=True)
        if said is not None:
            wanted = [i for i, role in enumerate(roles) if role == ("yes" if said else "no")]
            return wanted[0] if len(wanted) == 1 else None
    if _NEGATED.match(compact) and roles:
        normalized = ["" if role == "yes" else o for o, role in zip(normalized, roles)]
    for i, option in enumerate(normalized):
        if option and (option in compact or (len(compact) >= 2 and compact in option)):
            return i
    scores = [fuzz.partial_ratio(compact, option) if option else 0.0 for option in normalized]
    best = max(range(len(options)), key=lambda i: scores[i])
    tied = sum(1 for s in scores if s == scores[best]) > 1
    return best if scores[best] >= min_score and not tied else None
