import pytest

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


def test_canonical_text_folds_dialect_cantonese_pinyin_initials_and_policy_typos():
    from nlu.canonical import Canonicalizer

    canon = Canonicalizer(policy_surfaces=["低保", "五保"])
    assert canon("抵保咋办") == "政策名 怎么办"  # typo of a policy name → the policy token
    assert canon("唔该") == "谢谢"
    assert canon("冇问题") == "没问题"
    assert canon("要不得") == "不行"
    assert canon("rg") == "人工"
    assert canon("hd有哪些") == "活动有哪些"
    assert canon("stop by") == "stop by"  # English words are not pinyin initials


@pytest.mark.parametrize("text, expected", [
    ("bb", "再见"),
    ("好 我去喂猪了 bb", "好 我去喂猪了 再见"),
    ("thanks bb!", "thanks 再见!"),
    ("我家bb发烧了", "我家宝宝发烧了"),
    ("生bb能领啥补贴", "生宝宝能领什么补贴"),
    ("bb 不见了", "宝宝 不见了"),
])
def test_bb_is_bye_bye_only_as_the_last_word(text, expected):
    from nlu.canonical import Canonicalizer

    assert Canonicalizer()(text) == expected
