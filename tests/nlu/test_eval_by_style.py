"""`xiangzhu nlu eval --by-style`: one row per style file (issue 13)."""
import json

from click.testing import CliRunner

from nlu.cli import nlu_group
from nlu.training_data import TEST_DIR

STYLES = sorted(p.stem for p in (TEST_DIR / "styles").glob("*.yml"))


def test_by_style_json_has_one_report_per_style_file(nlu_cache):
    result = CliRunner().invoke(nlu_group, ["eval", "--by-style", "--json", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert sorted(body) == STYLES and len(STYLES) == 7
    for style, report in body.items():
        assert report["n"] >= 80, style
        assert 0.5 <= report["intent_accuracy"] <= 1.0
        assert report["emergency_recall"] is not None and report["need_category_recall"] is not None
        assert set(report) >= {"intent_macro_f1", "emergency_false_positive_rate", "safety_question_rate", "errors"}
        assert 0.0 <= report["safety_question_rate"] <= 1.0


def test_by_style_table_on_a_directory(tmp_path, nlu_cache):
    (tmp_path / "plain.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: emergency\n  examples: |\n    - 我不想活了\n"
        "- intent: greet\n  examples: |\n    - 你好\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(nlu_group, ["eval", str(tmp_path), "--by-style", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 0, result.output
    header, row = result.output.strip().splitlines()
    assert header.split()[:3] == ["style", "n", "accuracy"]
    assert row.split()[:5] == ["plain", "2", "1.000", "1.000", "1.000"]
    assert row.split()[-1] == "—"  # no need examples in that file


def test_eval_without_a_file_or_by_style_is_a_usage_error(nlu_cache):
    result = CliRunner().invoke(nlu_group, ["eval", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 2
    assert "--by-style" in result.output


BLIND2 = TEST_DIR / "blind2"


def test_by_style_on_the_blind2_set(nlu_cache):
    result = CliRunner().invoke(nlu_group, ["eval", "--set", "blind2", "--by-style", "--json", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert sorted(body) == sorted(p.stem for p in (BLIND2 / "styles").glob("*.yml")) == STYLES
    for style, report in body.items():
        assert report["n"] >= 40, style
        assert report["emergency_recall"] is not None and report["need_category_recall"] is not None


def test_needs_recall_on_the_blind2_set(nlu_cache):
    result = CliRunner().invoke(nlu_group, ["eval", "--set", "blind2", "--needs", "--json", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == report["need_examples"] >= 100  # every example is a need with its category
    assert 0.0 <= report["need_category_recall"] <= report["need_category_offered_recall"] <= 1.0


def test_needs_without_a_set_is_the_first_needs_file(nlu_cache):
    result = CliRunner().invoke(nlu_group, ["eval", "--needs", "--json", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 0, result.output
    direct = CliRunner().invoke(nlu_group, ["eval", str(TEST_DIR / "needs_indirect.yml"), "--json",
                                            "--cache-dir", str(nlu_cache)])
    assert json.loads(result.output)["need_examples"] == json.loads(direct.output)["need_examples"]


def test_an_unknown_set_is_a_usage_error_that_names_the_sets(nlu_cache):
    result = CliRunner().invoke(nlu_group, ["eval", "--set", "nosuchset", "--by-style", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 2
    assert "blind2" in result.output
    result = CliRunner().invoke(nlu_group, ["eval", "--set", "../train", "--needs", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 2
