import pytest

from nlu.choices import parse_choice

OPTIONS = ["巧娘班", "广场舞队", "电商培训"]


@pytest.mark.parametrize(
    "text, index",
    [
        ("1", 0), ("一", 0), ("①", 0), ("１", 0), ("第一个", 0), ("二号", 1), ("2号", 1), ("选2", 1),
        ("我选3", 2), ("第3个", 2), ("最后一个", 2), ("the second one", 1), ("two", 1),
        ("广场舞", 1), ("电商", 2), ("巧娘斑", 0),
    ],
)
def test_choices(text, index):
    assert parse_choice(text, OPTIONS) == index


@pytest.mark.parametrize("text", ["4", "第五个", "随便", "是", ""])
def test_no_choice(text):
    assert parse_choice(text, OPTIONS) is None
