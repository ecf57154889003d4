"""The reply language from a message's text (nlu/language.py)."""
from __future__ import annotations

import pytest

from nlu.language import detect_language


@pytest.mark.parametrize("text, expected", [
    ("I want to sign up for an activity", "en"),
    ("hello", "en"),
    ("I need help with 低保", "en"),
    ("我家孩子上学交不起学费", "zh"),
    ("我要报名 activity", "zh"),
    ("你好", "zh"),
    ("xz 2026 000123", None),
    ("I am 80 years old", "en"),
    ("123", None),
    ("😀👍", None),
    ("", None),
])
def test_detect_language(text, expected):
    assert detect_language(text) == expected
