from bot.textclean import clean_text


def test_long_text_is_cut_and_flagged():
    c = clean_text("字" * 4001, 4000)
    assert len(c.text) == 4000 and c.truncated


def test_whitespace_and_control_characters():
    assert clean_text(" \t\r\n ").empty
    assert clean_text(None).empty
    c = clean_text("a\x00b\x1b[31mc\u200b\ufeff")
    assert c.text == "ab[31mc" and c.had_invalid
    assert clean_text("第一行\r\n\r\n\r\n\r\n第二行").text == "第一行\n\n第二行"


def test_invalid_utf8_and_lone_surrogates():
    assert clean_text(b"ok\xff\xfe!").text == "ok!"
    assert clean_text("x\ud800y").text == "xy"
    assert clean_text("\ud83d\ude00").text == "😀"  # a valid pair written as surrogates
    assert clean_text("👨\u200d👩\u200d👧").text == "👨\u200d👩\u200d👧"  # ZWJ emoji kept


def test_the_quick_check_finds_every_character_the_loop_would_touch():
    """`_TOUCHED` (text without any skips the per-character loop) matches exactly the
    characters the loop drops or changes, over every code point."""
    import unicodedata

    from bot.textclean import _INVISIBLE, _TOUCHED

    for cp in range(0x110000):
        ch = chr(cp)
        touched = ch != "\n" and (ch == "\t" or cp in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs"))
        assert (_TOUCHED.match(ch) is not None) == touched, hex(cp)


def test_text_without_such_characters_is_cleaned_as_through_the_loop():
    """The quick path (no character to touch) against the loop (a zero-width space added, which
    the loop drops and flags): the same text, the same cut."""
    for raw in ("你好  世界", "  a\u3000b\n\n\n\nc ", "好的", "x" * 50, "第一行\n  第二行  ", "\u200d👨\u200d👩", ""):
        quick, loop = clean_text(raw, 20), clean_text(raw + "\u200b", 20)
        assert (quick.text, quick.truncated, quick.had_invalid) == (loop.text, loop.truncated, False), raw
        assert loop.had_invalid
