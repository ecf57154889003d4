"""What a simulated villager may send: the NLU test split, yes/no and dialect answers, numbers
in every form, the buttons last shown, and the awkward texts (empty, emoji, very long, mixed
script, case numbers, the privacy and language words). Every draw takes the walk's own
`random.Random`, so a seed gives the same walk again."""
from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

from nlu.training_data import load_training_data

TEST_SPLIT = Path(__file__).resolve().parents[2] / "nlu" / "data" / "test"

AFFIRM = ["好的", "好", "行", "可以", "没问题", "嗯", "嗯嗯", "对", "是的", "要", "OK", "ok", "yes", "Yes please", "sure",
          "得行", "要得", "中", "中嘞", "冇问题", "好嘅", "係", "得", "对头", "巴适", "可以嘛", "晓得了", "好咧", "要得嘛"]
NEGATE = ["不要", "不用", "不行", "不", "没有", "算了", "不要了", "no", "No thanks", "nope", "冇", "唔要", "唔使",
          "莫得", "不得行", "要不得", "甭了", "弗要", "取消", "cancel"]
SPECIAL = ["删除我的信息", "退订", "中文", "English", "菜单", "人工", "转人工", "帮助", "menu", "help", "human",
           "/start", "/start act-1", "/start act-2", "/start w-ABC123", "/human", "/cancel", "我的报名", "查进度",
           "我能申请吗", "am i eligible", "订阅", "subscribe",
           "XZ-2026-000001", "xz 2026 000123", "XZ2026000002", "xz-2026-999999"]
EMOJI = ["👍", "😂😂😂", "🙏🏻", "❤️", "👌👌", "🤔", "😭😭", "👨‍👩‍👧"]
MIXED = ["我want报名activity", "help 我 plz 低保", "申请dibao怎么弄", "孩子school学费交不起", "ok的 好的 yes",
         "老人 elderly 体检 check", "Пожалуйста 帮我", "にほんご 你好", "停水了 no water 三天"]
# answers to the flows' open questions other than choices (villages come from the database)
SLOT_ANSWERS = ["13812345678", "+86 139-0000-1234", "1381234", "明天", "3月5日", "2026-03-09", "后天", "小花", "Lily",
                "张大爷", "我今年68岁", "三口人", "家里房子漏雨好几天了，下雨就往屋里灌水", "孩子生病了要住院，没钱交押金",
                "My roof leaks and I cannot pay to fix it", "跳过", "skip"]
DIGITS_CN = "零一二三四五六七八九十"
CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨⑩"


@lru_cache(maxsize=1)
def test_utterances() -> tuple[str, ...]:
    """The held-out NLU test split, read with the project's own loader."""
    return tuple(e.text for e in load_training_data(TEST_SPLIT).examples)


@lru_cache(maxsize=1)
def english_utterances() -> tuple[str, ...]:
    return tuple(t for t in test_utterances() if t.isascii())


def number_forms(n: int) -> list[str]:
    """n as people type it: 2, ２, 二, ②, 第二个, 2号, 二号, 第2个, 2."""
    forms = [str(n), str(n).translate({ord(str(i)): chr(0xFF10 + i) for i in range(10)}), f"{n}号", f"第{n}个", f"{n}."]
    if 0 <= n <= 10:
        forms += [DIGITS_CN[n], CIRCLED[n], f"第{DIGITS_CN[n]}个", f"{DIGITS_CN[n]}号"]
    return forms


def as_number(rng: random.Random, n: int) -> str:
    return rng.choice(number_forms(n))


def long_text(rng: random.Random) -> str:
    base = rng.choice(test_utterances())
    out = base
    while len(out) < 3000 + rng.randrange(500):
        out += rng.choice(["，", " ", "。", "！"]) + rng.choice(test_utterances())
    return out


def free_message(rng: random.Random, locale: str, seen_payloads: list[str], villages: list[str]
                 ) -> tuple[str, str]:
    """(kind, text) of a message that does not answer the last buttons on purpose."""
    r = rng.random()
    if r < 0.08:
        return "answer", rng.choice(SLOT_ANSWERS + villages)
    if r < 0.40:
        english = locale == "en" and rng.random() < 0.7
        return "utterance", rng.choice(english_utterances() if english else test_utterances())
    if r < 0.52:
        return "affirm", rng.choice(AFFIRM)
    if r < 0.60:
        return "negate", rng.choice(NEGATE)
    if r < 0.70:
        return "number", as_number(rng, rng.choice([0, 1, 1, 2, 2, 3, 4, 5, 7, 12, 99]))
    if r < 0.80:
        return "special", rng.choice(SPECIAL)
    if r < 0.84:
        return "stale_payload", rng.choice(seen_payloads) if seen_payloads else "choice:join"
    if r < 0.87:
        return "empty", rng.choice(["", " ", "\n"])
    if r < 0.91:
        return "emoji", rng.choice(EMOJI)
    if r < 0.96:
        return "mixed", rng.choice(MIXED)
    return "long", long_text(rng)


def button_answer(rng: random.Random, buttons: list[dict]) -> tuple[str, str, int]:
    """(form, text, index) answering one of the last buttons by its payload, title or number."""
    i = rng.randrange(len(buttons))
    form = rng.choice(["payload", "title", "number"])
    if form == "payload":
        return form, buttons[i]["payload"], i
    if form == "title":
        return form, buttons[i]["title"], i
    return form, as_number(rng, i + 1), i
