from datetime import datetime

import pytest

from nlu.entities.dates import DateTimeExtractor

NOW = datetime(2026, 3, 2, 10, 0)  # Monday 2 March 2026, Asia/Shanghai


@pytest.mark.parametrize(
    "text, entity, value",
    [
        ("明天", "date", "2026-03-03"),
        ("后天", "date", "2026-03-04"),
        ("周六", "date", "2026-03-07"),
        ("星期天", "date", "2026-03-08"),
        ("下周三", "date", "2026-03-11"),
        ("3月5号", "date", "2026-03-05"),
        ("三月一号", "date", "2027-03-01"),  # already past this year
        ("后天下午", "time", "2026-03-04T15:00:00+08:00"),
        ("周六上午9点半", "time", "2026-03-07T09:30:00+08:00"),
        ("晚上8点", "time", "2026-03-02T20:00:00+08:00"),
        ("next saturday", "date", "2026-03-14"),
    ],
)
def test_dates_relative_to_now(text, entity, value):
    [span] = DateTimeExtractor().extract(text, NOW)
    assert (span.entity, span.value) == (entity, value)
    assert (span.start, span.end) == (0, len(text))


@pytest.mark.parametrize("text", ["我一点点都不懂", "报1号活动", "晚安"])
def test_not_dates(text):
    assert DateTimeExtractor().extract(text, NOW) == []
