"""What the open-loop driver sends: which sender says what, message by message.

`realistic` (default): hundreds of senders, each message from a sender drawn at random, its
text drawn at random from the NLU test split (nlu/data/test/test.yml — villagers' phrasings
the model never trained on, every intent) or, for `SHORT_SHARE` of the messages, from short
answers and numbers (a menu choice, yes / no, a name, a phone number, an age, a date), so
senders walk into the flows (need intakes, activity lists, sign-ups, policy answers) and
answer their questions. Seeded: the same `--seed` sends the same messages in the same order.

`fixed`: the six texts the benchmark used before, round-robin over the senders.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from nlu.training_data import TEST_DIR, load_training_data

__all__ = ["FIXED_TEXTS", "SHORT_ANSWERS", "SHORT_SHARE", "Workload", "corpus"]

FIXED_TEXTS = ("你好", "帮助", "我想问问低保怎么申请", "谢谢", "1", "孩子上学有补助吗")

# what people type when the bot asks them something (numbered choices, yes / no, details)
SHORT_ANSWERS = (
    "1", "2", "3", "4", "5", "0", "1", "2",
    "好的", "好", "是的", "对", "可以", "嗯", "行",
    "不要", "不是", "不用了", "算了", "取消", "没有",
    "王秀英", "李大山", "13812345678", "15900001111", "68", "75",
    "明天", "下午", "张家村", "家里漏雨了", "腿脚不方便",
)
SHORT_SHARE = 0.3  # of the realistic messages


def corpus() -> list[str]:
    """The held-out NLU test split's texts (not the blind sets: they stay unseen)."""
    return [example.text for example in load_training_data(TEST_DIR / "test.yml").examples]


@dataclass
class Workload:
    """`plan(count)`: the messages to send, in order, as (sender number, text)."""

    kind: str
    senders: int
    seed: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("realistic", "fixed"):
            raise ValueError(f"unknown workload {self.kind!r}")
        self._sentences = corpus() if self.kind == "realistic" else []

    def plan(self, count: int, start: int = 0) -> list[tuple[int, str]]:
        """Messages `start` … `start + count - 1` (each run of a bench continues the plan)."""
        if self.kind == "fixed":
            return [(i % self.senders, FIXED_TEXTS[i % len(FIXED_TEXTS)]) for i in range(start, start + count)]
        r = random.Random(f"{self.seed}:{start}")
        out = []
        for _ in range(count):
            sender = r.randrange(self.senders)
            out.append((sender, r.choice(SHORT_ANSWERS if r.random() < SHORT_SHARE else self._sentences)))
        return out

    def describe(self) -> dict:
        return {"texts": self.kind, "seed": self.seed if self.kind == "realistic" else None,
                "corpus_sentences": len(self._sentences), "short_answers": len(SHORT_ANSWERS)}
