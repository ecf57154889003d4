"""The consequence-concept lexicon (nlu/data/need_concepts.yml) as features of the need model."""
import pytest

from nlu.entities.concepts import CONCEPTS_FILE, ConceptLexicon
from nlu.normalize import normalize
from nlu.training_data import DATA_DIR, data_files, fingerprint
from vocab.cases import CATEGORIES


def _need(nlu, text):
    result = nlu.parse(text)
    found = next((e for e in result["entities"] if e["entity"] == "need_category"), None)
    return result["intent"]["name"], found


def test_every_concept_belongs_to_a_case_category_and_compiles():
    lexicon = ConceptLexicon.load()
    assert lexicon.patterns
    assert {category[2:] for _, category, _ in lexicon.patterns} <= set(CATEGORIES)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("后墙让雨泡软了", "housing"),
        ("屋顶的油毡让风揭跑了 躺在床上能看见星星", "housing"),
        ("老师催校服钱", "education"),
        ("茶场老板今年不要人了", "employment"),
        ("冰雹把大棚全砸烂了", "disaster"),
        ("my grandfather live alone on the mountain", "elderly_care"),
    ],
)
def test_a_message_names_the_concepts_of_its_category(nlu, text, category):
    named = ConceptLexicon.load().categories(nlu.canonicalize(normalize(text)))
    assert named and named.most_common(1)[0][0] == category


def test_dialect_is_matched_after_canonicalization(nlu):
    """冇人请 (粤) reads 没有人请 after canonical.py: the concept patterns match that form."""
    named = ConceptLexicon.load().categories(nlu.canonicalize(normalize("返咗嚟半年 周围问都冇人请")))
    assert named["employment"] >= 1


def test_the_need_model_sees_concept_features(nlu):
    featurizer = nlu.trained.need_model.featurizer
    assert featurizer.extra is not None
    assert any(name.startswith("k=") for name in featurizer.vocabulary)
    assert not any(name.startswith("k") and name[1] in ":=" for name in nlu.model.featurizer.vocabulary), \
        "the intent model has no concept features"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # words the training data does not hold, concepts the lexicon knows
        ("灶屋顶上的油毡纸烂穿了 一下雨锅里都是水", "housing"),
        ("闺女考进县一中了 可住宿和伙食那一大笔还没着落", "education"),
        ("窑厂关了 俺这烧窑的手艺再没人要", "employment"),
        ("my uncle is 88 and lives by himself, nobody bring him food", "elderly_care"),
    ],
)
def test_unseen_sentences_with_known_concepts_get_their_category(nlu, text, category):
    intent, found = _need(nlu, text)
    assert intent == "report_need"
    assert found is not None and (found["value"] == category or category in found.get("alternatives", ()))


def test_the_concept_file_is_no_intent_training_data_but_retrains_the_model(tmp_path):
    assert CONCEPTS_FILE.parent == DATA_DIR
    assert CONCEPTS_FILE not in data_files(DATA_DIR)
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "train" / "a.yml").write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n', encoding="utf-8")
    (data / CONCEPTS_FILE.name).write_text("housing:\n  roof: ['屋顶']\n", encoding="utf-8")
    before = fingerprint(data)
    (data / CONCEPTS_FILE.name).write_text("housing:\n  roof: ['屋顶', '房顶']\n", encoding="utf-8")
    assert fingerprint(data) != before
