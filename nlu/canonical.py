"""Canonical text for the intent classifier: dialect, typos and synonyms folded together.

Applied to *normalized* text before features are taken, so that 咋/啥/俺/娃/莫得 and
common homophone typos look like the Mandarin the classifier mostly saw, and every policy
or activity name looks the same (``政策名`` / ``活动名``), so an intent learnt from 低保
questions carries over to 危房改造 questions. Entities are extracted from the normalized
text, not from this one (the canonical text has no offset map).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from nlu.literals import alternation

__all__ = ["Canonicalizer", "DIALECT", "TYPOS", "ENGLISH", "PINYIN_INITIALS"]

# dialect / colloquial → Mandarin
DIALECT: dict[str, str] = {
    "咋个": "怎么", "咋整": "怎么办", "咋办": "怎么办", "咋弄": "怎么弄", "咋样": "怎么样", "咋": "怎么",
    "啷个": "怎么", "哪个办": "怎么办", "怎么整": "怎么办", "么样": "怎样", "怎个": "怎么",
    "啥子": "什么", "啥": "什么", "么子": "什么", "甚么": "什么", "神马": "什么", "撒子": "什么",
    "俺们": "我们", "俺": "我", "咱家": "我家", "额滴": "我的", "阿拉": "我们",
    "娃娃": "孩子", "娃儿": "孩子", "娃子": "孩子", "娃": "孩子", "伢子": "孩子", "伢": "孩子",
    "崽崽": "孩子", "崽": "孩子", "细伢": "孩子", "小囡": "孩子", "孙娃": "孙子",
    "莫得": "没有", "没得": "没有", "木有": "没有", "冇": "没有", "么有": "没有", "没啥": "没什么",
    "要得": "好的", "中不中": "行不行", "对头": "对的", "晓得": "知道", "晓不得": "不知道",
    "屋头": "家里", "屋里头": "家里", "屋里": "家里", "婆娘": "老婆", "堂客": "老婆", "婆姨": "老婆",
    "老汉": "老人", "老头子": "老人", "老倌": "老人", "老几位": "老人", "爹娘": "父母", "老娘": "母亲",
    "巴适": "好", "得行": "可以", "搞快": "快", "整不来": "不会", 
    "咋回事": "怎么回事", "啥时候": "什么时候", "啥时": "什么时候", "多会儿": "什么时候",
    "不咯": "不", "噻": "", "咯": "", "嘞": "", 
    "得不得": "能不能", "可不可以": "能不能", "能不": "能不能", "管不管": "能不能",
    "干啥": "干什么", "弄啥": "干什么", "搞么子": "干什么", "揍啥": "干什么",
    "俺娘": "我妈", "俺爹": "我爸", "老爹": "父亲",
    # 东北 / 华北
    "嘎哈": "干什么", "干哈": "干什么", "整啥": "干什么", "咋地": "怎么样", "咋的": "怎么样", "啥玩意儿": "什么",
    "啥玩意": "什么", "哪疙瘩": "哪里", "埋汰": "脏", "唠嗑": "聊天", "唠唠": "聊聊", "嘛事": "什么事",
    "得劲": "舒服", "老妹儿": "你", "老妹": "你", "大妹子": "你", "大兄弟": "你", "老铁": "你",
    "中不": "行不行", "中啊": "行", "妥妥": "好的", "妥了": "好的", "稳了": "好的", "阔以": "可以",
    # 川渝 / 西南
    "要不得": "不行", "不得行": "不行", "冒得": "没有", "么得": "没有", "没得": "没有", "啥子嘛": "什么",
    "咋个办": "怎么办", "老汉儿": "父亲", "老汉": "老人", "耍": "玩", "摆龙门阵": "聊天", "晓得不": "知道吗",
    # 粤语 (Cantonese written colloquially)
    "唔该晒": "谢谢", "唔该": "谢谢", "多谢晒": "谢谢", "唔系": "不是", "唔使": "不用", "唔好": "不要",
    "唔要": "不要", "唔知": "不知道", "唔得": "不行", "冇问题": "没问题", "冇事": "没事", "冇得": "没有",
    "乜嘢": "什么", "咩嘢": "什么", "点样": "怎么", "点解": "为什么", "边度": "哪里", "喺度": "在这里",
    "喺": "在", "佢哋": "他们", "佢": "他", "我哋": "我们", "你哋": "你们", "嘅": "的", "咗": "了",
    "屋企": "家里", "几多钱": "多少钱", "几时": "什么时候", "靓仔": "你", "系咪": "是不是",
    # 河南 / 西北
    "弄啥嘞": "干什么", "恁": "你", "俺家": "我家", "啥事儿": "什么事",
    # more 北方 (issue 13): time words, 瞅, 甭, 屯
    "瞅瞅": "看看", "瞅": "看", "寻思": "想", "贼拉": "很", "杠杠的": "很好", "老鼻子": "很多", "忒": "太",
    "甭": "不用", "屯子": "村子", "屯里": "村里", "啥前儿": "什么时候", "信儿": "消息", "整明白": "弄明白",
    "整不明白": "弄不明白", "整一下": "弄一下", "今儿个": "今天", "明儿个": "明天", "夜儿个": "昨天", "夜个": "昨天",
    "前儿个": "前天", "晌午": "中午", "后晌": "下午", "不赖": "不错", "咱": "我们",
    # more 西南官话
    "好多钱": "多少钱", "搞忘": "忘", "安逸": "舒服", "造孽": "可怜", "恼火": "难办", "落屋": "回家",
    "幺儿": "孩子", "勒个": "这个", "朗个": "怎么", "郎个": "怎么", "哪阵": "什么时候", "莫要": "不要",
    "莫来头": "没关系", "老辈子": "老人", "瓜娃子": "傻子", "背时": "倒霉", "扯拐": "出问题", "冲壳子": "聊天",
    # more 粤 (after traditional → simplified: 係 → 系, 喺 and 嘅 stay)
    "系唔系": "是不是", "系咪": "是不是", "都系": "都是", "就系": "就是", "我系": "我是", "唔": "不",
    "乜": "什么", "咩": "什么", "嘢": "东西", "啲": "些", "畀": "给", "俾": "给", "睇": "看", "搵": "找",
    "揾": "找", "咁样": "这样", "噉": "这样", "咁": "这么", "边个": "谁", "而家": "现在", "宜家": "现在",
    "依家": "现在", "食饭": "吃饭", "嚟": "来", "啱": "对", "仲有": "还有", "仲未": "还没", "攞": "拿",
    "点算": "怎么办", "做咩": "干什么", "嗰": "那", "呢个": "这个", "呢度": "这里", "老豆": "父亲",
    "老窦": "父亲", "阿妈": "妈妈", "细路": "孩子", "返工": "上班", "搵工": "找工作", "揾工": "找工作",
    "攰": "累", "几钱": "多少钱", "几多": "多少", "得闲": "有空", "有冇": "有没有", "好彩": "幸好",
    # 客家
    "𠊎兜": "我们", "𠊎": "我", "毋使": "不用", "毋好": "不要", "毋知": "不知道", "毋": "不", "么个": "什么",
    "脉个": "什么", "屋下": "家里", "恁仔细": "谢谢", "承蒙": "谢谢", "细人仔": "孩子", "么人": "谁",
}

# homophone / pinyin-input typos villagers make → intended word
TYPOS: dict[str, str] = {
    "底保": "低保", "低宝": "低保", "抵保": "低保", "低报": "低保", "地保": "低保",
    "五宝": "五保", "物保": "五保", "补帖": "补贴", "补铁": "补贴", "布贴": "补贴",
    "报明": "报名", "抱名": "报名", "保名": "报名", "爆名": "报名", "包名": "报名",
    "活东": "活动", "或动": "活动", "火动": "活动", "在见": "再见", "再建": "再见", "拜拜": "再见",
    "谢拉": "谢啦", "感射": "感谢", "谢射": "谢谢", "写写": "谢谢", "xiexie": "谢谢", "3q": "谢谢",
    "帮主": "帮助", "帮帮忙": "帮忙", "申情": "申请", "伸请": "申请", "深请": "申请", "神请": "申请",
    "政册": "政策", "正策": "政策", "政侧": "政策", "镇策": "政策", "贷宽": "贷款", "代款": "贷款",
    "取肖": "取消", "取效": "取消", "去消": "取消", "进渡": "进度", "近度": "进度",
    "社公": "社工", "设工": "社工", "社宫": "社工", "人公": "人工", "真人工": "人工",
    "医僚": "医疗", "医了": "医疗", "学肥": "学费", "学废": "学费", "房紫": "房子", "房字": "房子",
    "工做": "工作", "工坐": "工作", "养劳": "养老", "养者": "养老", "残急": "残疾", "残及": "残疾",
    "你号": "你好", "尼好": "你好", "您号": "您好", "早尚好": "早上好",
    "咋么": "怎么", "怎末": "怎么", "怎莫": "怎么", "怎摸": "怎么", "为啥": "为什么",
    "那里": "哪里", "那儿": "哪儿", "多少前": "多少钱", "多钱": "多少钱",
    "恩": "嗯", "嗯嗯": "嗯", "好滴": "好的", "好哒": "好的",
    "木问题": "没问题", "没问提": "没问题", "可以滴": "可以的",
    "无保": "五保", "舞保": "五保", "五包": "五保", "雨路": "雨露", "危方": "危房", "为房": "危房",
    "残补": "残疾补贴", "残疾补助": "残疾补贴", "报命": "报名", "活懂": "活动", "人攻": "人工",
    "近展": "进展", "到帐": "到账", "救名": "救命", "着伙": "着火",
    # voice-recognition homophones and pinyin policy words (issue 13)
    "保显": "保险", "低包": "低保", "临时求助": "临时救助", "医疗求助": "医疗救助", "陪训": "培训",
    "培讯": "培训", "信代": "信贷", "残疾正": "残疾证", "身分证": "身份证", "申清": "申请", "想s": "想死",
    "wubao": "五保", "tekun": "特困", "yulu": "雨露",
}

# pinyin initials typed instead of characters; whole words of ASCII letters only
PINYIN_INITIALS: dict[str, str] = {
    "xx": "谢谢", "xxl": "谢谢了", "xxn": "谢谢你", "dx": "多谢", "nh": "你好", "nhnh": "你好", "zsh": "早上好",
    "bb": "再见", "zj": "再见", "rg": "人工", "zrg": "转人工", "sg": "社工", "hd": "活动", "bm": "报名",
    "qx": "取消", "qxbm": "取消报名", "zm": "怎么", "zmb": "怎么办", "sm": "什么", "wsm": "为什么",
    "bzd": "不知道", "db": "低保", "jd": "进度", "kk": "看看", "hh": "哈哈", "hhh": "哈哈",
    "hhhh": "哈哈", "xs": "笑死", "xswl": "笑死我了", "zs": "自杀", "yyds": "厉害", "dbq": "对不起",
    "kyl": "可以了", "bx": "不行",
    "tk": "特困", "wb": "五保", "yl": "雨露", "cj": "残疾", "yb": "医保", "zc": "政策", "sq": "申请",
    "td": "退订", "zx": "注销",
}

ENGLISH: dict[str, str] = {
    "don't": "do not", "dont": "do not", "can't": "can not", "cant": "can not", "cannot": "can not",
    "won't": "will not", "i'm": "i am", "im": "i am", "i've": "i have", "it's": "it is",
    "what's": "what is", "whats": "what is", "how's": "how is", "where's": "where is",
    "pls": "please", "plz": "please", "u": "you", "ur": "your", "thx": "thanks", "ty": "thanks",
    "thank": "thanks", "hiya": "hi", "hey": "hi", "yeah": "yes", "yep": "yes", "yup": "yes",
    "nope": "no", "ok": "okay", "okey": "okay", "k": "okay", "nah": "no", "bye-bye": "bye", "byebye": "bye", "goodbye": "bye",
    "sign-up": "sign up", "signup": "sign up", "register": "sign up", "enroll": "sign up", "enrol": "sign up",
    "wanna": "want to", "gonna": "going to", "dunno": "do not know", "wat": "what", "becuz": "because",
    "bcoz": "because", "cuz": "because", "tks": "thanks", "thks": "thanks", "tnx": "thanks", "thanx": "thanks",
    "halp": "help", "r": "are", "msg": "message", "msgs": "messages", "pple": "people", "ppl": "people",
}

_WHOLE_MESSAGE: dict[str, str] = {
    # whole-message dialect answers that would be ambiguous inside a sentence
    "中": "好", "中中": "好", "中啊": "好", "中嘞": "好", "中吧": "好", "中了": "好", "能中": "好",
    "不中": "不行", "冇": "没有", "得": "好", "得嘞": "好的", "要得": "好的", "对头": "对的",
    "嗯": "嗯", "恩": "嗯", "嗯呐": "嗯", "昂": "嗯", "en": "嗯", "ok": "好的", "k": "好的",
    "系": "是的", "系啊": "是的", "系呀": "是的", "系嘅": "是的", "唔": "不", "妥": "好的", "得咧": "好的",
    "做得": "好的", "做得呀": "好的", "做得哦": "好的",
    "👌": "好的", "👌🏻": "好的", "🙆": "好的", "✅": "好的", "❌": "不", "🙅": "不", "👋": "再见", "🙏": "谢谢",
}

_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_CIRCLED = str.maketrans({chr(0x2460 + i): str(i + 1) for i in range(20)})


# "bb" is bye-bye only as the last word of a message (好的 bb, ok thanks bb); anywhere else, or
# after a word that takes a noun (我家bb, 生bb, 个bb, 佢啲bb), it is a baby (宝宝), as in 粤 and
# online Mandarin: 家里bb发烧, 生bb有什么补助, 我想帮我家bb报名.
_BB_BABY = re.compile(
    r"(?<![a-z])bb(?![a-z])(?=.*[^\s!?.,。!?,~…、])"  # something follows: not a closing bye-bye
    r"|(?<=[家的嘅个個生我你佢他她只隻啲小养養带帶凑湊抱])\s*bb(?![a-z])"
)


class Canonicalizer:
    """Rewrites normalized text into the classifier's canonical form."""

    def __init__(self, policy_surfaces: Iterable[str] = (), activity_surfaces: Iterable[str] = ()):
        table: dict[str, str] = {}
        table.update(TYPOS)
        table.update(DIALECT)
        for s in policy_surfaces:
            if len(s) >= 2:
                table[s] = " 政策名 "
        for s in activity_surfaces:
            if len(s) >= 2:
                table[s] = " 活动名 "
        self._table = table
        self._pattern = re.compile(alternation(table))  # the longest key first where several match
        # a typo of a policy or activity name becomes the name token too (抵保 → 低保 → 政策名)
        for key, value in list(table.items()):
            chained = table.get(value.strip())
            if chained is not None and chained.strip() in ("政策名", "活动名"):
                table[key] = chained
        py_keys = [k for k in PINYIN_INITIALS if k.strip() == k and k.isascii()]
        self._pinyin = re.compile(r"(?<![a-z])(" + alternation(py_keys) + r")(?![a-z])")
        self._en = re.compile(r"\b(" + alternation(ENGLISH) + r")\b")

    def __call__(self, text: str) -> str:
        stripped = text.strip(" !?.,。!?,~…、")
        if stripped in _WHOLE_MESSAGE:
            return _WHOLE_MESSAGE[stripped]
        text = text.translate(_CIRCLED)
        text = self._en.sub(lambda m: ENGLISH[m.group(1)], text)
        text = _BB_BABY.sub("宝宝", text)
        text = self._pinyin.sub(lambda m: PINYIN_INITIALS[m.group(1)], text)
        text = self._pattern.sub(lambda m: self._table[m.group(0)], text)
        text = _DIGITS.sub("0", text)
        return " ".join(text.split())
