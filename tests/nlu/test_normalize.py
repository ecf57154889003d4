from nlu.normalize import normalize, normalize_with_offsets


def test_traditional_fullwidth_case_and_punctuation():
    assert normalize("我們村裡的低保怎麼申請！！！") == "我们村里的低保怎么申请!"
    assert normalize("ＡＢＣ１２３") == "abc123"
    assert normalize("  你好    啊  ") == "你好 啊"


def test_emoji_and_circled_digits_are_kept():
    assert normalize("着火了🔥🔥 选①") == "着火了🔥🔥 选①"


def test_offsets_map_back_to_the_original_text():
    original = "  請問!!!低保"
    norm = normalize_with_offsets(original)
    start = norm.text.index("低保")
    s, e = norm.span_to_original(start, start + 2)
    assert original[s:e] == "低保"
