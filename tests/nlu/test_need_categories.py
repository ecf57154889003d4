"""The need category of needs told by their consequence, through ``NLU.parse`` (tenth round,
docs/nlu.md). The sentences are written for this test: none is a training, dev or test line."""
import pytest

from nlu.entities.need import MIN_SCORE


def _need(result: dict) -> dict | None:
    return next((e for e in result["entities"] if e["entity"] == "need_category"), None)


@pytest.mark.parametrize(
    "text, category",
    [
        # the village's common things (water, roads) are `other`, not disability or housing
        ("自来水管子冻住了 这一冬天吃水都得去河里砸冰", "other"),
        # an event that damaged the house or the yard lately is a disaster
        ("前几天下暴雨 后坡的土冲下来 把我家猪圈和灶房埋了一半", "disaster"),
        # no work is employment; a boss who keeps the pay is legal
        ("饭店关门了 我这个厨子在家歇了俩月 到处问都不缺人", "employment"),
        ("包工头说好年底结账 现在人跑了 电话也打不通", "legal"),
        # who is looked after: a small child alone at night, an old father alone
        ("我在厂里上两班倒 闺女才四岁 下夜班回来她一个人睡在屋里", "child_care"),
        ("我爹九十了 一个人在老家 吃饭都是凑合 没人管", "elderly_care"),
        # a lasting limitation from birth is disability, not education
        ("孙子生下来就不会说话 也听不见 别的孩子都不跟他玩", "disability"),
    ],
)
def test_a_need_told_by_its_consequence_gets_its_category(nlu, text, category):
    result = nlu.parse(text)
    assert result["intent"]["name"] == "report_need"
    found = _need(result)
    assert found is not None and found["value"] == category, found


def test_broken_street_lights_offer_other(nlu):
    """看不见 pulls toward disability (since the detector round's need lines, the first guess);
    the village's lights must at least be offered as `other`."""
    found = _need(nlu.parse("村里的路灯全坏了 晚上出门啥也看不见"))
    assert found is not None
    assert "other" in {found["value"], *found.get("alternatives", ())}, found


def test_sent_home_by_the_boss_offers_work(nlu):
    """Sent home for lack of work: 老板 pulls toward legal (unpaid wages); work must be offered."""
    found = _need(nlu.parse("厂里活少了 老板让我先回去歇着 到现在也没叫我回去"))
    assert found is not None
    assert "employment" in {found["value"], *found.get("alternatives", ())}, found


def test_an_unsure_category_is_offered_with_the_runner_up(nlu):
    """Below MIN_SCORE the category is a guess: it is given with a second one, so that the intake
    asks "是A还是B？" (before the tenth round such a need got no category at all)."""
    vague = ["村头到镇上没有车 去一趟要走半天", "男人不在了 地里的活和娃娃都靠我", "家里出了好多事 我也说不清",
             "唉 一言难尽", "事情太多了 不知道先说哪样"]
    for text in vague:
        result = nlu.parse(text)
        assert result["intent"]["name"] == "report_need"
        found = _need(result)
        assert found is not None, text
        if found["confidence"] < MIN_SCORE:
            assert len(found.get("alternatives", ())) == 1 and found["alternatives"][0] != found["value"], found


def test_a_guess_below_min_score_comes_with_the_runner_up(nlu):
    """The MIN_SCORE branch itself, with the trained need model's weights flattened (the eleventh
    round's data made the model sure of the vague lines above): every category scores alike, so
    the best is a guess and the runner-up is offered."""
    import numpy as np

    from nlu.classifier import IntentModel
    from nlu.entities.need import NeedChooser

    trained = nlu.trained.need_model
    flat = IntentModel(trained.featurizer, trained.labels, np.zeros_like(trained.weights),
                       np.linspace(0.0, 0.1, len(trained.labels)), trained.algorithm)
    choice = NeedChooser(flat).choose(nlu.canonicalize("家里出了好多事"), [], 7)
    assert choice.span.confidence < MIN_SCORE
    assert choice.span.value == trained.labels[-1] and choice.alternative == trained.labels[-2]


def test_the_needs10_dev_sets_hold(nlu):
    """nlu/data/test/dev8_needs.yml and dev8_boundary.yml (tenth round, 2026-12-07): a development
    set (its first misses were seen), so floors against losing it, not fair figures. Measured
    0.887 top-1 / 0.913 with the runner-up, and 0.975 intent accuracy on the boundary."""
    from nlu.evaluation import evaluate
    from nlu.training_data import TEST_DIR, load_training_data

    needs = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev8_needs.yml", synonyms_from=nlu.data).examples)
    assert needs["need_category_recall"] >= 0.86 and needs["need_category_offered_recall"] >= 0.89
    boundary = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev8_boundary.yml", synonyms_from=nlu.data).examples)
    assert boundary["intent_accuracy"] >= 0.95


@pytest.mark.parametrize(
    "text, pair",
    [
        # a deaf child behind at school: disability or education — both offered (eleventh round)
        ("娃儿耳朵不好 老师讲课他听不清 成绩老是垫底", {"disability", "education"}),
        # sent home without work and a month's pay still owed: employment or legal
        ("老板说厂里没活了 让我们回家 工钱还差一个月没结", {"employment", "legal"}),
        # an old father who cannot leave his bed: elderly_care or disability
        ("俺爹腿脚不行了 下不了床 俺得伺候他", {"elderly_care", "disability"}),
        # a house an earthquake cracked: disaster or housing (the authors label it both ways)
        ("地震过后 墙上那几道缝越裂越宽", {"disaster", "housing"}),
    ],
)
def test_a_need_between_two_neighbours_offers_both(nlu, text, pair):
    """NEIGHBOURS (nlu/entities/need.py): the pairs the author hold-out confuses most; the
    neighbour the model gives at least NEIGHBOUR_MIN is offered with the winner, so the intake
    asks "是A还是B？" instead of proposing one."""
    result = nlu.parse(text)
    assert result["intent"]["name"] == "report_need"
    found = _need(result)
    assert found is not None
    assert pair == {found["value"], *found.get("alternatives", ())}, found


def test_the_needs11_dev_sets_hold(nlu):
    """Floors (development sets, their misses were seen) after the eleventh round, 2026-12-07:
    dev8_needs 0.907 top-1 / 0.927 offered, dev6_hard_lives 0.812 / 0.871 (docs/nlu.md)."""
    from nlu.evaluation import evaluate
    from nlu.training_data import TEST_DIR, load_training_data

    needs = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev8_needs.yml", synonyms_from=nlu.data).examples)
    assert needs["need_category_recall"] >= 0.89 and needs["need_category_offered_recall"] >= 0.91
    hard = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev6_hard_lives.yml", synonyms_from=nlu.data).examples)
    assert hard["need_category_offered_recall"] >= 0.86


@pytest.mark.parametrize(
    "text",
    [
        # twelfth round: a village's public service or shared works gone wrong is `other`
        # (main read them as medical, disaster, legal and disaster)
        "镇上的汽车站搬到城外去了 去县里得先走半个钟头",
        "村边新开的石灰窑天天冒烟 地里的菜叶子都黄了",
        "the only pump of the village well is broken since new year and the committee say wait",
        "𠊎村个水闸锈死了 水放毋到田里",
    ],
)
def test_a_village_service_gone_wrong_is_other(nlu, text):
    result = nlu.parse(text)
    assert result["intent"]["name"] == "report_need"
    found = _need(result)
    assert found is not None and found["value"] == "other", found


@pytest.mark.parametrize(
    "text, category",
    [
        # 粵 and 客家 with their own words: a landslide, an insurer who will not pay, a stroke
        ("山泥傾瀉冲爛咗我哋個魚塘 啲魚全部走晒", "disaster"),
        ("個保險公司話我間鋪水浸唔關佢事 一蚊都唔賠", "legal"),
        ("𠊎阿哥中风以后半边身毋会郁 坐轮椅出门都难", "disability"),
        # a trade banned is a job lost (employment), a baby in the orchard is child_care
        ("县城不许跑黑车了 我开了六年车 现在天天蹲在家里", "employment"),
        ("我们两口子在果园里摘果子 娃才半岁 只能放在树底下的筐里", "child_care"),
    ],
)
def test_dialect_and_neighbour_needs_keep_their_category(nlu, text, category):
    result = nlu.parse(text)
    assert result["intent"]["name"] == "report_need"
    found = _need(result)
    assert found is not None and found["value"] == category, found


def test_the_needs12_dev_set_holds(nlu):
    """nlu/data/test/dev13_needs.yml (twelfth round, 2026-12-07; written before any model output,
    never trained on): main 0.766 top-1 / 0.779 offered, this round 0.935 / 0.948 (docs/nlu.md)."""
    from nlu.evaluation import evaluate
    from nlu.training_data import TEST_DIR, load_training_data

    needs = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev13_needs.yml", synonyms_from=nlu.data).examples)
    assert needs["need_category_recall"] >= 0.91 and needs["need_category_offered_recall"] >= 0.93
