"""Case categories: what a villager's need is about, as nlu names it (`need_category`) and
storage files it, with the words a person reads."""
from __future__ import annotations

__all__ = ["CATEGORIES", "CATEGORY_WORDS"]

CATEGORIES = ("education", "medical", "housing", "employment", "elderly_care", "child_care", "disability",
              "livelihood", "disaster", "psychological", "legal", "other")

CATEGORY_WORDS = {
    "zh": {"education": "上学", "medical": "看病", "housing": "住房", "employment": "找工作",
           "elderly_care": "照顾老人", "child_care": "照顾孩子", "disability": "残疾", "livelihood": "生活困难",
           "disaster": "受灾", "psychological": "心理", "legal": "法律", "other": "其他"},
    "en": {"education": "schooling", "medical": "illness", "housing": "housing", "employment": "work",
           "elderly_care": "elder care", "child_care": "child care", "disability": "disability",
           "livelihood": "living costs", "disaster": "disaster", "psychological": "emotional support",
           "legal": "legal help", "other": "other"},
}
