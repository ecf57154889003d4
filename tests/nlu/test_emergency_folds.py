"""The fold tool's offline rule (nlu/emergency_folds.py) follows the parser's: the danger model asks
alone only where the parse saw nothing, the gate is open and the classifier reaches the floor."""
from nlu.emergency_folds import level_with, summary


def _record(**kw):
    base = {"intent": "emergency", "need_line": False, "level": "none", "gate": True, "p_emergency": 0.2, "danger": 0.5}
    return {**base, **kw}


def test_the_danger_model_asks_alone_only_where_the_parse_saw_nothing():
    assert level_with(_record(), 0.3) == "unsure"
    assert level_with(_record(danger=0.29), 0.3) == "none"
    assert level_with(_record(gate=False), 0.3) == "none"  # short, idiom, explained or past
    assert level_with(_record(p_emergency=0.01), 0.3) == "none"  # under DANGER_ALONE_FLOOR
    assert level_with(_record(level="certain", danger=0.0), 0.3) == "certain"


def test_summary_counts_need_lines_apart():
    records = [_record(), _record(intent="report_need", need_line=True), _record(intent="greet", danger=0.1)]
    text = summary(records, 0.3)
    assert "emergencies 1 caught 1" in text
    assert "need lines 1: pages 0 (0.00%) questions 1" in text
    assert "other intent lines 1: pages 0 (0.00%) questions 0" in text
