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
