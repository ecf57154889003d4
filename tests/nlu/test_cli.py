import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from nlu.cli import nlu_group

FIXTURE = Path(__file__).parent / "data" / "policies_fixture.yaml"


def test_parse_prints_a_parse_result(nlu_cache):
    result = CliRunner().invoke(nlu_group, ["parse", "明天的巧娘班我不去了", "--now", "2026-03-02T10:00", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["intent"]["name"] == "cancel_signup"
    assert {"entity": "date", "value": "2026-03-03"}.items() <= body["entities"][0].items()


def test_parse_rejects_a_bad_now(nlu_cache):
    result = CliRunner().invoke(nlu_group, ["parse", "你好", "--now", "tomorrow", "--cache-dir", str(nlu_cache)])
    assert result.exit_code != 0
    assert "ISO 8601" in result.output


def test_train_writes_the_model_into_the_cache_dir(tmp_path):
    result = CliRunner().invoke(nlu_group, ["train", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert list(tmp_path.glob("intent-logreg-*.pkl"))


def test_eval_json_on_a_small_file(tmp_path, nlu_cache):
    data = tmp_path / "small.yml"
    data.write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: ask_policy\n  examples: |\n    - [低保](policy)怎么申请\n"
        "- intent: emergency\n  examples: |\n    - 我不想活了\n"
        "- intent: greet\n  examples: |\n    - 你好\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(nlu_group, ["eval", str(data), "--json", "--cache-dir", str(nlu_cache)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for key in ("intent_accuracy", "intent_macro_f1", "per_intent", "entities", "emergency_recall",
                "emergency_false_positive_rate", "safety_question_rate", "emergency_recall_by_language"):
        assert key in report
    assert report["entities"]["policy"]["f1"] == 1.0  # the short annotation maps through the synonyms
    assert report["emergency_recall"] == 1.0 and report["emergency_recall_by_language"] == {"zh": 1.0}
    assert report["emergency_false_positive_rate"] == 0.0 and report["safety_question_rate"] == 0.0
    text = CliRunner().invoke(nlu_group, ["eval", str(data), "--cache-dir", str(nlu_cache)])
    assert "emergency recall     1.0  zh 1.0" in text.output
    assert "emergency FP rate    0.0" in text.output and "safety question rate 0.0" in text.output


def test_eval_kb_with_a_policy_file(tmp_path):
    questions = tmp_path / "kb.yml"
    questions.write_text(
        yaml.safe_dump([{"question": "房子快塌了政府给修不", "policy": "weifang_gaizao"},
                        {"question": "贷款养牛要抵押吗", "policy": ["xiaoe_xindai", "dibao"]}], allow_unicode=True),
        encoding="utf-8",
    )
    result = CliRunner().invoke(nlu_group, ["eval-kb", str(questions), "--policies", str(FIXTURE), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == 2 and report["top3"] == 1.0 and 0.0 <= report["top1"] <= 1.0


def test_export_rasa_writes_a_project(tmp_path):
    result = CliRunner().invoke(nlu_group, ["export-rasa", str(tmp_path / "rasa")])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "rasa" / "config.yml").read_text(encoding="utf-8"))
    names = [c["name"] for c in config["pipeline"]]
    assert "JiebaTokenizer" in names and "DIETClassifier" in names
    domain = yaml.safe_load((tmp_path / "rasa" / "domain.yml").read_text(encoding="utf-8"))
    assert "emergency" in domain["intents"] and "policy" in domain["entities"]
    nlu_files = list((tmp_path / "rasa" / "data").glob("*.yml"))
    assert nlu_files and all(yaml.safe_load(f.read_text(encoding="utf-8"))["version"] == "3.1" for f in nlu_files)
    assert not any("test" in f.name for f in nlu_files)
