"""Splitting long texts for Telegram's 4096-character limit (counted in UTF-16 code units)."""
from __future__ import annotations

from bot.channels.telegram.bot_api import MAX_TEXT, file_base_url
from bot.channels.telegram.text import split_text


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_short_text_is_one_message():
    assert split_text("您好，我是乡助。") == ["您好，我是乡助。"]
    assert split_text("x" * MAX_TEXT) == ["x" * MAX_TEXT]


def test_chinese_and_english_sentences_are_kept_whole():
    text = "第一句话比较短。第二句话问一下！第三句呢？" * 5 + "Then English. Another one! Done?"
    parts = split_text(text, limit=30)
    assert "".join(parts) == text
    assert all(units(p) <= 30 for p in parts)
    ends = ("。", "！", "？", ". ", "! ", "?")
    assert all(p.endswith(ends) for p in parts), parts


def test_line_breaks_are_sentence_ends():
    text = "\n".join(f"{n}. 低保申请材料第{n}项" for n in range(1, 40))
    parts = split_text(text, limit=100)
    assert "".join(parts) == text
    assert all(p.endswith("\n") for p in parts[:-1])


def test_a_sentence_longer_than_the_limit_is_cut_at_a_space_or_anywhere():
    words = "word " * 30
    parts = split_text(words, limit=22)
    assert "".join(parts) == words
    assert all(units(p) <= 22 and p.endswith(" ") for p in parts)
    solid = "字" * 50
    assert split_text(solid, limit=20) == ["字" * 20, "字" * 20, "字" * 10]


def test_emoji_count_twice_as_telegram_counts_them():
    text = "😀" * MAX_TEXT  # 8192 UTF-16 code units
    parts = split_text(text)
    assert len(parts) == 2 and all(units(p) == MAX_TEXT for p in parts)
    assert "".join(parts) == text


def test_file_url_follows_the_api_base():
    assert file_base_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_base_url("http://127.0.0.1:9000/bot/") == "http://127.0.0.1:9000/file/bot"
