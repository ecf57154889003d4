"""A situation that ends by asking whether help exists for it is a policy question.

The GUIDE's boundary: ``ask_policy`` asks what help there is, who qualifies and where to
apply — even when the asker tells their own situation first; ``report_need`` states a
hardship or asks to be helped with it. A villager often tells the situation at length and
asks only in the last words: 没儿没女 饭都做不动了 **有没有管我这种人的**, 后墙鼓了 没钱翻修
**这事能找谁**, never paid into the pension **will I get nothing**. The classifier sees mostly
the hardship and reads ``report_need``; ``asks_about_help`` finds the closing question (help for
"people like me", who is in charge, where to turn, whether one gets anything), unless the
message also asks to be helped (帮帮我, 派人来, please help) — then it is a need.
"""
from __future__ import annotations

import re

__all__ = ["asks_about_help"]

_KIND = r"(这种|这样|这类|这号|这些|像我|像俺|我们这|俺们这|我这|俺这)"
_AUTHORITY = r"(上面|上头|上边|公家|政府|国家|民政)"
_EXISTS = r"(有没有|有冇|有没|有无|有啥|有什么|有么个|可有)"
_CARE = r"(管|照顾|照应|帮扶|扶持|补|说法|章程|政策|办法|待遇|名堂)"

_ASKS_ZH = re.compile(
    "|".join([
        _EXISTS + r".{0,8}" + _CARE + r".{0,8}" + _KIND,          # 有没有管我这种人的
        _EXISTS + r"(专门)?(管|照顾)(这|这个|这些|这种|这样)",     # 有没有专门管这个的
        _KIND + r".{0,8}(有人管|有没有人管|有冇人理|有人理|有没有人理|归谁管|谁来管|有啥说法|有没有份|有冇份|有份没|能享受|算不算)",
        _AUTHORITY + r".{0,6}(有没有|有冇|管不管|有人管|有啥|有什么|给不给)",  # 上面有没有人管这些娃
        r"(能|该|要|得|可以|应该)(去)?找(谁|哪个|哪里|哪儿|哪家|啥人|什么人|什么部门|哪个部门)(?!聊|说|谈|陪|倾)",  # 这事能找谁 (not 找谁聊聊)
        r"(是不是|会不会|岂不是).{0,4}(啥|什么|么个)(也|都)(落不着|落不到|拿不到|领不到|没有|没得|没份)",
    ])
)
_ASKS_EN = re.compile(
    r"\b(people|families|family|folks|ones|someone|somebody|persons?|households?|old people|kids|children) like (me|us|mine|ours|him|her|them)\b"
    r"|\bwho (do|can|should) (i|we) (go|turn|talk|ask|speak)( to)?\b"
    r"|\bwho (is|are|takes) (in charge|responsible)\b"
    r"|\b(will|would|do|does) (i|we|she|he) get (nothing|anything)\b"
    r"|\bis there (anything|something|anyone|anybody|any help|any money|any support) for\b",
    re.IGNORECASE,
)
# asking to be helped: then the situation is a need, whatever else is asked
_HELP_ME = re.compile(
    r"帮帮|帮我|帮下我|帮忙|求求|求你|救救|派人|派个人|来人|来看看|来看一下|想想办法|想个办法|给我找|麻烦你们"
    r"|\bhelp (me|us)\b|\bplease help\b|\bcan you help\b|\bsend (someone|somebody)\b",
    re.IGNORECASE,
)


def asks_about_help(normalized: str) -> bool:
    """Whether a normalized message asks whether help exists for its situation, and not to be helped."""
    return bool(_ASKS_ZH.search(normalized) or _ASKS_EN.search(normalized)) and not _HELP_ME.search(normalized)
