"""The emergency detector's three levels (certain: page; unsure: ask one safety question;
none), in Chinese and English, by class of message (nlu/emergency.py explains the rules);
what NLU.parse adds from the classifier; and how the evaluation counts the levels."""
import pytest

from nlu.emergency import detect
from nlu.evaluation import evaluate
from nlu.training_data import Example


@pytest.mark.parametrize(
    "text, kind",
    [
        ("我不想活了", "self_harm"),
        ("活着没意思 我想去死", "self_harm"),
        ("俺男人喝了农药", "self_harm"),
        ("嗯那个我妈就是说她有点老年痴呆出去就没回来了那个天都黑了", "missing_person"),  # found by the fuzzer
        ("奶奶有点糊涂 中午出门到现在没回家", "missing_person"),
        ("我不想活了 哈哈", "self_harm"),  # always certain, also as a possible joke
        ("不想再活了", "self_harm"),
        ("我真的活不下去了", "self_harm"),
        ("他拿刀要砍我", "violence"),
        ("我家着火了", "fire"),
        ("洪水冲进村了", "flood"),
        ("地震了 房子塌了 有人被压", "disaster"),
        ("我爸晕倒了叫不醒", "medical"),
        ("我爸心脏病好几年了 刚才突然心口疼 叫不醒", "medical"),  # long illness, but sudden now
        ("娃不见了 找了一下午", "missing_child"),
        ("闺女放学没回来 满村找都没找着", "missing_child"),
        ("屋里火烛呀 快来", "fire"),
        # farewell + plan: two hints add up
        ("存折放在柜子里 交给你们了 以后不麻烦大家了", "self_harm"),
        ("后事都跟儿子交代好了 今晚就走", "self_harm"),
        # English, plainly worded
        ("i want to kill myself", "self_harm"),
        ("I am going to kill myself tonight", "self_harm"),
        ("I want to end it all", "self_harm"),
        ("I don't see a reason to go on", "self_harm"),
        ("there is no point in living anymore", "self_harm"),
        ("I'd be better off dead", "self_harm"),
        # English, a farewell or a burden with a time
        ("I wrote letters to my kids, tonight I'll finish it", "self_harm"),
        ("I won't be a burden to anyone much longer", "self_harm"),
        ("he said he will kill me", "violence"),
        ("my husband passed out in the field", "medical"),
        ("my grandma has gone missing since lunch", "missing_person"),
        ("you know what, yesterday was fine but today my daughter is missing", "missing_child"),
        ("他躺地上不动了", "medical"),
        ("my son drank rat poison", "medical"),
        ("my husband abuses me", "violence"),
        ("my son is not back yet from school and it is dark", "missing_child"),
    ],
)
def test_certain_emergencies_page_at_once(text, kind):
    result = detect(text)
    assert result.level == "certain" and result.is_emergency
    assert kind in result.kinds
    assert result.matched and result.score >= 0.9


@pytest.mark.parametrize(
    "text",
    [
        "不想再撑了",
        # a farewell, a plan or a means said without the obvious words: one hint alone
        "这是最后一次给你们发消息",
        "后事我都交代好了",
        "以后再也不拖累你们了",
        "最近压力大 快撑不下去了 钱不够",  # 撑不下去 may be about money: ask
        "想不开",
        "I've given away my things",
        "this is my last message",
        "I have the pills ready",
        "I can't go on like this, the rent is too high",
    ],
)
def test_hints_are_unsure_and_get_the_safety_question(text):
    result = detect(text)
    assert result.level == "unsure" and result.unsure and not result.is_emergency
    assert result.kinds == ["self_harm"]


@pytest.mark.parametrize(
    "text",
    [
        # jokes and intensifiers
        "我爸年纪大了记性不好 老是忘事",  # forgetful, not lost
        "我想死你了",  # "I missed you so much"
        "笑死我了",
        "笑死 这视频太逗了",
        "今天热死了",
        "累死了 先不聊了",
        "干了一天活 累成狗",
        "打死我也不去",
        # phone and chat idioms
        "手机死机了 怎么重启",
        "网太卡了 视频卡死了",
        "电脑中毒了 找谁修",
        "给我打电话",
        "我要打电话给社工",
        "大家一起为村晚打call",
        "群里炸了 谁发的红包",
        # haggling
        "收粮的又来杀价",
        "去镇上买电视能砍价不",
        "帮我砍一刀",
        # not danger
        "孩子找不到工作",
        "火锅店在哪",
        "我奶奶眼睛看不见了 要人照顾",  # 看不见 is blindness, not a missing person
        "孩子找了一天工作 没找到",
        "不麻烦你们了 我自己去办",  # polite, not a farewell
        "我不想拖累孩子 想申请低保",
        "今晚有活动吗",  # a time word alone is nothing
        # past damage, policy questions, long illness: a need, not a page
        "去年发洪水冲了房子 现在还没修好",
        "去年洪水冲坏的房子还没修",
        "房子被火烧了能申请临时救助吗",
        "俺娘有高血压 常年吃药",
        "老人瘫痪在床好几年",
        "娃娃有癫痫常年吃药",
        "我爸中风好几年了 一直躺着",
        "娃有哮喘 经常喘不上气 药钱贵",
        "老伴前年车祸腿断了 现在干不了活",
        # English figures of speech
        "this heat is killing me",
        "my feet are killing me",
        "i am dead tired",
        "just killing time",
        "my phone died",
        "my battery is dead again",
        "you kill me haha",
        "bored to death",
        "how can you help me",
        "I can't wait much longer for the subsidy",
        "my father had a stroke years ago and needs care every day",
        "temporary assistance after a fire last year, how do I apply",
        "after the flood in spring our kitchen is still broken",
        "年纪大了 干不动了",  # too old to work: a need
        "手机快不行了",
        "打我这个号码",
        "the officials abuse the subsidy",
        "is there emergency money for poor families",
        "my son lost his job",
        "my daughter lost her phone",
        "I had a panic attack last night",
    ],
)
def test_figures_of_speech_and_needs_are_not_emergencies(text):
    result = detect(text)
    assert result.level == "none" and not result.is_emergency, result


def test_parse_keeps_the_joke_out_of_the_emergency_path(nlu):
    assert nlu.parse("我想死你了 好久不见")["intent"]["name"] != "emergency"
    assert nlu.parse("我想死")["intent"]["name"] == "emergency"


def test_a_greeting_after_a_long_silence_gets_no_safety_question(nlu):
    """Addressed to the helpers (没跟你们聊): a greeting; someone who stopped talking is not."""
    from nlu.emergency import has_benign_idiom
    for text in ("好一阵没和大家聊了 大伙都好吧", "半年没同你哋倾过 大家都好嘛", "好久没跟你们联系 都还好不"):
        assert has_benign_idiom(text), text
        assert nlu.parse(text)["emergency"]["level"] == "none", text
    assert not has_benign_idiom("我爸从昨天起就不跟我们说话了 叫也不应")
    assert nlu.parse("我爸从昨天起就不跟我们说话了 叫也不应")["emergency"]["level"] != "none"


def test_a_short_message_the_classifier_barely_knows_is_not_an_emergency(nlu):
    for text in ("妥了", "嗯呐", "好咧"):
        assert nlu.parse(text)["intent"]["name"] != "emergency", text
        assert nlu.parse(text)["emergency"]["level"] == "none", text
    for text in ("救命", "着火了", "想死"):
        assert nlu.parse(text)["intent"]["name"] == "emergency", text


def test_parse_reports_the_level_and_an_unsure_message_keeps_its_meaning(nlu):
    certain = nlu.parse("我不想活了")
    assert certain["emergency"]["level"] == "certain" and certain["intent"]["name"] == "emergency"
    assert certain["emergency"]["kinds"] == ["self_harm"]
    unsure = nlu.parse("娃的学费交不起 真的熬不下去了")
    assert unsure["emergency"]["level"] == "unsure"
    assert unsure["intent"]["name"] == "report_need"  # what to do once the person says they are safe
    assert all(r["name"] != "emergency" for r in unsure["intent_ranking"][:1])
    plain = nlu.parse("低保怎么申请")
    assert plain["emergency"]["level"] == "none" and plain["intent"]["name"] == "ask_policy"


def test_a_hint_the_classifier_backs_pages(nlu):
    """One lexicon hint is unsure; the classifier agreeing (p ≥ 0.5) makes it certain."""
    assert detect("后事都交代好了 你们保重").level == "unsure"
    assert nlu.parse("后事都交代好了 你们保重")["emergency"]["level"] == "certain"


def test_evaluation_counts_a_safety_question_as_caught_and_only_pages_as_false_alarms():
    levels = {"救命": "certain", "最后一条消息": "unsure", "漏网": "none",
              "笑死": "none", "熬不下去 学费": "unsure", "卡死": "certain", "你好": "none"}

    def parse(text, now=None):
        level = levels[text]
        name = "emergency" if level == "certain" else "report_need" if "学费" in text else "greet"
        return {"intent": {"name": name, "confidence": 1.0}, "entities": [], "emergency": {"level": level}}

    examples = [Example("救命", "emergency"), Example("最后一条消息", "emergency"), Example("漏网", "emergency"),
                Example("笑死", "greet"), Example("熬不下去 学费", "report_need"), Example("卡死", "greet"),
                Example("你好", "greet")]
    report = evaluate(parse, examples)
    assert report["emergency_recall"] == round(2 / 3, 4)  # the unsure one is caught, "漏网" is missed
    assert report["emergency_recall_by_language"] == {"zh": round(2 / 3, 4)}
    assert report["emergency_false_positive_rate"] == 0.25  # one page ("卡死") on four non-emergencies
    assert report["safety_question_rate"] == 0.25  # one question on four non-emergencies
    # an unsure emergency counts as `emergency` (the person answers "not safe"), an unsure need as its intent
    assert report["intent_accuracy"] == round(5 / 7, 4)


@pytest.mark.parametrize("text", [
    "我爸出去打工过年还没回来",
    "我老公在外地打工 到现在还没回来",
    "my husband works in shenzhen, not back yet this year",
])
def test_someone_away_for_work_and_not_back_is_not_missing(nlu, text):
    assert detect(text).level == "none"
    result = nlu.parse(text)
    assert result["emergency"]["level"] != "certain" and result["intent"]["name"] != "emergency"


@pytest.mark.parametrize("text", ["我爸出门一天了还没回来", "我妈出去打工 联系不上了", "我家娃去工地找他爸 一晚上没回来"])
def test_not_back_without_work_away_or_out_of_contact_still_pages(text):
    assert detect(text).is_emergency


def test_giving_up_is_a_hint_but_giving_up_a_habit_or_a_place_is_not():
    assert detect("I feel like giving up").level == "unsure"
    assert detect("i am thinking about giving up on everything").level == "unsure"
    for text in ("i want to give up smoking", "i want to give up my place in the class"):
        assert detect(text).level == "none", text


# third round (issue 13): the scene without the danger's name, in 粤/客家 and non-native English
@pytest.mark.parametrize("text", [
    "阿爷喺厨房瞓低咗 点叫都唔应",
    "个细路跌咗落塘 我哋搵唔到佢",
    "水已经浸到床边 仲喺度升",
    "后山啲泥一路冲落嚟 屋企有人",
    "佢揸住把菜刀喺屋企 话要斩我",
    "𠊎阿婆倒在地上 喊佢佢毋应",
    "𠊎毋想活了",
    "my grandmother on the floor, she not answer me and her lips are blue",
    "he hold my neck and lock me in the room",
    "the hill is sliding now, big stones coming down on the road",
    "i keep all my sleeping pills for months, now it is enough",
    "tell my kids sorry, i give my dog to my neighbour and i will not come back",
    "奶奶躺着一动不动 嘴唇发紫",
    "他拎着斧头追着我打",
    "药我一粒一粒存了好几个月",
])
def test_emergencies_told_by_the_scene_reach_a_human(text):
    assert detect(text).level in ("unsure", "certain")


@pytest.mark.parametrize("text", [
    "材料交上去好久了 一直没反应",
    "部手机郁都唔郁",
    "i keep my medicine in the fridge",
    "i will not come back to the class next week",
    "thank you for everything you do for our village",
    "旧年水浸过间屋 有冇补助",
    "存了点钱给老人买药",
    "我们全家一起走亲戚",
])
def test_scene_words_without_danger_stay_quiet(text):
    assert detect(text).level == "none"


@pytest.mark.parametrize("text", ["河水漫进田里 秧苗全淹了", "屋后头山上的土往下掉 房子墙裂了", "连着下了几天雨 稻田全淹了"])
def test_two_lowered_triggers_of_one_kind_do_not_add_up(text):
    assert detect(text).level == "none"


# nlu4 (2026-12-06): plans and farewells told by what is left behind or arranged, violence
# happening now, a child not home in 客家 or non-native English, acute pain; each sentence
# written for this test (none is in a held-out set).
@pytest.mark.parametrize("text, kind", [
    ("麻绳我已经系好在房梁上了", "self_harm"),
    ("the weed killer is on the table i am going to drink it when they sleep", "self_harm"),
    ("老三家的妹仔食完晏昼冇返屋下 寻唔到人", "missing_child"),
    ("our boy is not home since morning and we searched the whole village", "missing_child"),
    ("俺爹心口疼得满床打滚 出了一身冷汗", "medical"),
    ("他还在打 孩子在哭", "violence"),
    ("my little one ate some of the rat poison from the shed", "medical"),
])
def test_plans_acute_scenes_and_violence_now_page(text, kind):
    result = detect(text)
    assert result.level == "certain" and kind in result.kinds, result


@pytest.mark.parametrize("text", [
    "你们以后再也见不着我了",
    "以后就别找我了",
    "银行卡密码写在纸上了 留给闺女",
    "dont search for me after tonight",
    "tomorrow i will meet my wife in heaven",
])
def test_a_farewell_told_by_what_is_left_behind_is_asked(text):
    assert detect(text).level in ("unsure", "certain")


@pytest.mark.parametrize("text", [
    "别找我了 我自己去镇上办",
    "不用找我 找社工就行",
    "we want to give up smoking together",
    "the cold this winter will kill me haha",
    "一下大雨就有泥巴从墙上往下掉",
    "我爸中风以后一直躺着 要人喂饭",
    "房子前年被水泡过 墙都酥了",
    "𠊎从厂里转来以后 寻毋到工做",
    "我儿子从小腿就没了 想给他申请个轮椅",
    "两个外孙都放我这 我六十多了真带不动了",
    "娃下个月要打预防针 要不要钱",
    "不参加了 以后别再找我",
])
def test_redirects_habits_and_lasting_damage_are_not_emergencies(text):
    assert detect(text).level == "none", detect(text)


def test_a_need_told_in_the_past_needs_more_of_the_classifier(nlu):
    # only the classifier could see danger here; told in the past, it asks for 0.7, not 0.5
    from nlu.emergency import told_as_past

    assert told_as_past("我儿子上个月丢了工作 整天闷着") and not told_as_past("他上个月丢了工作 刚才突然晕倒")
    assert nlu.parse("my son lost his job last month and now he stay in bed all day")["emergency"]["level"] == "none"


@pytest.mark.parametrize("text, kind", [
    ("炭盆点上了 门窗也用纸糊严了", "self_harm"),
    ("he closed the windows and lit the charcoal in the small room", "self_harm"),
    ("他把娃锁在柴房里两天了", "violence"),
    ("男人用竹条抽孩子 抽得直叫", "violence"),
    ("我爸突然半边手脚没劲 说话含糊", "medical"),
    ("细路饮咗啲漂白水", "medical"),
    ("the boy drank some kerosene from the bottle", "medical"),
    ("河堤那里在渗水 越来越多", "flood"),
    ("屋里的煤炉子一晚上没灭 早上起来全家头晕想吐", "medical"),
    ("伢子上午没到学校 老师说一直没见人 家里也没有", "missing_child"),
])
def test_second_pass_classes_page(text, kind):
    result = detect(text)
    assert result.level == "certain" and kind in result.kinds, result


def test_settled_affairs_and_things_given_away_together_page():
    assert detect("债都还清了 家当也都分给侄儿了").level == "certain"
    assert detect("今年的债都还清了 明年好好干").level == "none"
    assert detect("老伴没了 我也想跟着她去").level == "unsure"
    assert detect("你们去镇上 我也想跟着去").level == "none"
    assert detect("since my wife died nobody needs me").level == "unsure"


@pytest.mark.parametrize("text", ["冬天烧炭取暖 有补贴没", "羊被野狗咬死了一只", "煤炉子坏了 想换个新的",
                                  "娃今天没去学校 拉肚子在家歇着"])
def test_second_pass_look_alikes_stay_quiet(text):
    assert detect(text).level == "none", detect(text)


# nlu5 (2026-12-07): plans and farewells by their meaning — each class its own hint, two pages
@pytest.mark.parametrize("text", [
    "日子到这就够了 今晚就了断",  # life is over + tonight
    "往后别等我回家吃饭了 以后也不会再给你们添乱了",  # don't wait for me + no more trouble
    "寿衣换好了 信压在枕头底下",  # dressed for the grave + a letter left
    "多谢你哋咁多年 以后唔会再阻住你哋",  # thanks for all these years + not in your way
    "阿爸 我个存折放喺床底 你哋记得攞",  # papers left where the family will find them
    "i wrote to my kids and the pill bottle is next to me",
    "tell my daughter i am sorry, the letter is on the table",
    "i gave my cows and my land to my nephew, after tonight i won't need them",
])
def test_two_signs_of_a_farewell_page(text):
    result = detect(text)
    assert result.level == "certain" and "self_harm" in result.kinds, result


@pytest.mark.parametrize("text", [
    "我活够了",
    "以后都不用等我了",
    "跟老伴讲了再见",
    "以后鸡你们帮我喂着",
    "nobody has to look after me anymore",
])
def test_one_sign_of_a_farewell_is_asked(text):
    assert detect(text).level == "unsure", detect(text)


@pytest.mark.parametrize("text, kind", [
    ("佢揸住把菜刀喺门口 话要斩死我", "violence"),
    ("he is waving an axe and shouting at the kids", "violence"),
    ("孙子烧得直说胡话", "medical"),
    ("奶奶在院子里栽倒了 叫不应", "medical"),
    ("我妈嘴歪了 说话也说不清", "medical"),
    ("阿公食咗成板安眠药", "self_harm"),
    ("the bus is stuck in the water and the river keeps rising", "flood"),
    ("the ground is shaking and my father is under the wall", "disaster"),
])
def test_nlu5_scenes_page(text, kind):
    result = detect(text)
    assert result.level == "certain" and kind in result.kinds, result


@pytest.mark.parametrize("text", [
    "我先走一步 你们慢慢聊",  # leaving a chat
    "我都想好了 报名那个培训班",
    "这些年谢谢你们照应 我家的低保批下来了",
    "别等我吃饭了 我今天加班",
    "明天我不在了 去县城赶集",
    "钥匙放在抽屉里了 你们记得拿",
    "他拿着镰刀去割麦了",  # a farm tool in hand is no weapon
    "拿着柴刀去山上砍柴",
    "他拿着棍子打枣",
    "这事总算了结了",
    "和他做个了断 离婚",
    "我上个月摔了一跤 头磕破了",
    "他嘴歪着笑",
    "累得一头栽倒在床上就睡着了",
    "they will cut us off if we do not pay the power bill",
    "my tractor is stuck in the mud",
    "i gave my bike to my son",
    "i won't need my umbrella after the rain",
    "this homework is killing me after tonight i never study math again",  # two weak signs are not a hint
    "我不想拖累孩子 想申请低保",
    "我最近老想起出车祸那天 一闭眼就是那个场面",  # a memory, not an accident now
])
def test_nlu5_look_alikes_stay_quiet(text):
    assert detect(text).level == "none", detect(text)


def test_hints_someone_keeps_saying_are_asked_not_paged():
    assert detect("婆婆老说活够了 不想再拖累我们").level == "unsure"
    assert detect("我活够了 不想再拖累你们了").level == "certain"


def test_a_lasting_state_or_a_plan_raises_the_classifiers_bar_only():
    from nlu.emergency import told_as_past

    assert told_as_past("佢对耳仔由细到大都听唔到") and told_as_past("i can not sleep every night")
    assert not told_as_past("我爸刚才晕倒了 医生说要住院")
    assert detect("我爸晕倒了 医生说要住院").level == "certain"  # never lowers a trigger


@pytest.mark.parametrize("text, kind", [
    ("阿妈晕咗喺厨房", "medical"),
    ("𠊎唔想再做人了", "self_harm"),
    ("屋企着咗火", "fire"),
    ("阿爸跌倒了 毋会动", "medical"),
    ("心口痛到唔识郁", "medical"),
])
def test_yue_and_hakka_forms_of_the_plain_words_page(text, kind):
    result = detect(text)
    assert result.level == "certain" and kind in result.kinds, result


@pytest.mark.parametrize("text", ["我个仔晕车晕咗", "我腰以下冇知觉好几年了"])
def test_car_sickness_and_lasting_numbness_stay_quiet(text):
    assert detect(text).level == "none", detect(text)


@pytest.mark.parametrize("text", ["i want die", "i not want live anymore", "i will finish myself", "i dont want to live like this"])
def test_non_native_english_of_the_plain_words_pages(text):
    assert detect(text).level == "certain", detect(text)


@pytest.mark.parametrize("text", ["i no want live with my husband family", "i don't want to live alone in the old house",
                                  "the plants will die if no rain"])
def test_where_to_live_is_no_emergency(text):
    assert detect(text).level == "none", detect(text)


# eighth round (b): hard lives told plainly, past disasters and the seventh round's false-alarm
# probes get neither a page nor a safety question through the parser
@pytest.mark.parametrize("text", [
    "洪水退了以后 一楼全是泥 冰箱和床都泡坏了 想找人帮忙清一清",  # a past flood
    "the flood after go our first floor full of mud the beds all spoil",
    "上年山泥倾泻 条路断咗 啲菜运唔出去",  # a past landslide
    "我婆婆有一回在镇上走丢了 后来派出所送回来的 现在出门得有人跟着",  # once lost and found
    "my grandma got lost once last year the police bring her back now she need someone to watch her",
    "俺爹老糊涂了 老是忘了灶上还烧着火 得有人白天看着",  # a father who forgets the fire
    "my father always forget the fire on the stove he is old we need someone in the day",
    "屋后的堡坎垮了一截 下雨水往屋里灌 想找人修",  # a 堡坎 fallen
    "那年台风夜里屋顶掀了 一家人躲在床底下 到现在一刮风娃就哭",  # a typhoon night of the past
    "前年网上找兼职被人骗了两万 说是先交押金 交了就拉黑了",  # an online job fraud
    "someone online say can give me job i pay deposit then he block me",
    "我天天拿刀切菜 手切了好几个口子 想开个小饭馆",  # a knife used for its work
    "i am holding a knife to cut vegetables for dinner",
    "前夫以前天天打我 离婚五年了 就是他不给娃抚养费",  # violence that is over
    "my husband beat me before we divorce now he not pay for the kids",
])
def test_eighth_round_probes_get_no_page_and_no_question(nlu, text):
    parsed = nlu.parse(text)
    assert parsed["emergency"]["level"] == "none", parsed["emergency"]
    assert parsed["intent"]["name"] != "emergency"



def test_a_means_said_ready_is_a_hint():
    assert detect("药都准备好了").level == "unsure"
    assert detect("绳子都准备好了 你们别找我").level == "certain"
    assert detect("我把降压药都准备好了 明天带老伴去县里复查").level == "none"


# Emergencies told indirectly (a scene, a plan, a worry, a need told calmly): each gets at least
# the safety question through the parser. One list for the rounds that wrote them.
ASKED_INDIRECT = [
    # eighth round (b): a farewell, danger told by the scene
    "你们不用再给我发消息了 我明天就不在了",  # a farewell
    "多謝你哋 呢個係我最後一次同你哋講嘢",
    "this is the last time i write here thank you for all you do",
    "娃吃了床头柜里的药 一整板都没了 现在迷迷糊糊的",  # danger told by the scene
    "我家娃放学四个钟头了还没到家 老师说早走了",
    "老伴倒在院子里 我怎么喊都不睁眼",  # the scene of an injury or a drowning
    "孙子在河边玩 只剩一只拖鞋漂在水上",
    # eighth round (c), 2026-12-07: meanings told by parts together (nlu/emergency.py `_meaning_hits`)
    # a person missing now
    "幼儿园的车把别的娃都送到了 就我家囡囡没到家 老师也说不清",
    "我姑娘今天上学到现在没到家 天烏了 打她手机没人接",
    "我家老三中午去河里游泳 到现在四个钟头了 人没回来 衣裳还在石头上",
    "我妈有老年痴呆 一大早就出去了 到现在天都黑了 亲戚家都问遍了",
    "grandpa with memory problem walk out after lunch it is night now we look in all the fields",
    # non-native English drops the verb: "now gone" (lead, 2026-12-07)
    "my son 3 years old play near the pond, now gone, we shout his name nobody answer",
    "the little boy was with me at the market, already gone, i cannot see him anywhere",
    # a farewell told as a plan
    "替我给娃他爹说一声 对不起 我不回去了 我现在在桥头",
    "i sell the cow and give money to my daughter, i am useless, today i walk into the river",
    # acute illness told by the scene
    "娃吐了一晚上 现在软绵绵的 眼睛都睁不开 嘴巴干得很",
    "孙子拉了一天肚子 现在小便都没有了 哭都没眼泪 一直睡",
    "屋里的鸡都送人了 我一个人活着有啥用 你们别来找我",
    "my mother vomit and diarrhea since last night now she cannot stand and not talk clear",
    # violence at the door now
    "佢又嚟咗 揸住支鐵通喺門外面 我哋唔敢開燈",
    # ninth round (b), 2026-12-07: a child not off the school van, a watch phone that does not answer
    "the school bus came but my girl was not on it, the driver dont know where she is",
    "the van from the kindergarten came but my boy was not inside. teacher says he got on this morning",
    "学校的车到了 别的娃都下来了 我孙子没有下来 老师说早上上车了",
    "學校架車到咗 其他細路都落晒車 我個仔冇落",
    "my son should be home from school 2 hours ago, its dark now, his watch phone not answering",
    # tenth round, 2026-12-07: a need told calmly whose content is acute now (my own sentences,
    # written from the classes, not from nlu/data/test/dev8_emergency.yml)
    # ... someone alone who does not answer, gas and nobody opens
    "我姨一个人住在坡上 今天一早到现在电话都没人接 门也叫不开",
    "对门那家一股煤气味 叫门没人开",
    # ... a scene failing with someone in it, told as a request
    "想问问能不能来个人 我家灶房的墙一直在往下掉砖 裂口比上午还宽 我婆婆还在里面",
    "我们这边的水这会儿已经漫到院门了 屋里老人腿脚不方便 出不去",
    # ... missing today told as a worry
    "我家老头上午去镇上卖菜 到这会儿都没回 他平时晌午就回",
    "my son go to the river with friends, they came back but he did not, now it is getting dark",
    "阿爷食完早餐出去 而家仲未返 佢唔记得路",
    # ... sudden signs of illness told as a question
    "请问卫生院几点开门 我妈刚才突然说不出话 嘴也歪了",
    "俺爹刚从地里回来说心口闷 一直冒虚汗 这会儿脸色发白",
    "老人摔了一跤 起不来了 这会儿躺在院子里",
    "孩子把纽扣电池吞了 现在说喉咙疼",
    "my father today cannot lift his right arm and his speech is strange",
    # ... violence told as a household problem
    "公公把门锁着不让我出门 手机也被收走了",
    "他说今晚回来就要我好看 我带着娃不敢回家",
    # ... a farewell told as arrangements
    "老伴走了两年了 屋里收拾干净了 我也该去找她了",
    "你们不用再给我送菜了 以后用不着了",
    "i finish everything, i will not see you again, thank you",
]


@pytest.mark.parametrize("text", ASKED_INDIRECT)
def test_emergencies_told_indirectly_get_at_least_the_question(nlu, text):
    assert nlu.parse(text)["emergency"]["level"] in ("unsure", "certain")


# Their look-alikes: a need, a past event, a policy question — no page (a question is allowed)
NO_PAGE = [
    "我孙子前年在赶集的时候走丢了一回 后来找回来了 想给他办个身份证",
    "老人有老年痴呆走失过一次 有没有什么补贴可以申请",
    "儿子去深圳打工了 说别惦记他 家里就我一个人 能不能帮我申请个低保",
    "我公公有时候出门就找不到家 我们上班顾不过来 想找个日间照料的地方",
    "我把债都还清了 准备下个月搬去县城 房子想租出去",
    "我爸老拉肚子 看了好多回也没好 想问问大病救助",
    "好了我先走了 你们忙 别找我了我自己会办",
    "房东让我们月底搬走 还没找到住的地方 带着三个娃不知道去哪",
    "涯膝头痛 一落水就肿起来 上楼梯要扶住墙",
    "他拿着刀在门口杀鸡 过年了",
    "我爹拉肚子好多年了 身上老是冰凉 想申请点医药费",
    "my husband hit me many years ago we divorce now but he still not pay for the kids",
    "my son went to the city to work, now gone two years, we need help with the farm",
    "my daughter married and already gone to her husband village, i am alone, can i get dibao",
    "my son work in shenzhen, the money he send is already gone. we need food",
    # ninth round (b): a policy question about an event that is over
    "俺闺女去年生娃大出血 在县医院住了二十天 花了好几万 这种有救助能领不",
    "我老汉前年在外地出车祸走了 政府有没有什么补助给我们这样的",
    "去年冬天羊圈塌了一面墙 国家修棚圈的钱我家够不够",
    # tenth round: a worry about a risk, a chronic state, a leave-taking with a return
    "冬天烧炉子怕煤气中毒 想问问烟囱怎么装",
    "怕哪天后山滑坡 想请人来看看要不要砌挡墙",
    "我爸脑梗好几年了 说话说不清 想申请护理补贴",
    "我一个人住 手机老是打不通 想换个号",
    "那我走了 钥匙交给邻居了 下个月见",
]


@pytest.mark.parametrize("text", NO_PAGE)
def test_look_alikes_of_indirect_emergencies_get_no_page(nlu, text):
    assert nlu.parse(text)["emergency"]["level"] != "certain"


@pytest.mark.parametrize("text", [
    "冬天烧炉子怕煤气中毒 想问问有没有人来装烟囱",  # a worry before the trigger
    "今天新闻说邻县发大水了 好多人被困",  # reported elsewhere
    "那我走了啊 东西都收拾好了 下个月见",  # a leave-taking with a return
    "想问问村里有没有发煤气报警器",  # an alarm, not a call to the police
    "我喘不上气 好几个月了 一直没查",  # a long illness: a lowered sign adds nothing to a lowered trigger
    "房东让我们月底搬走 还没找到住的地方",  # a flat not found
])
def test_tenth_round_look_alikes_are_none_for_the_lexicon(text):
    assert detect(text).level == "none", detect(text)


@pytest.mark.parametrize("text", [
    "the fire from the stove catch the roof, my grandfather is inside",  # not "fired from"
    "村里有户人家房子着火了 里面还有一个瘫痪的老人",  # someone inside is urgent, not a long illness
    "奶奶躺在床上 脸发青 叫她没反应",
    "我家着火了 怕烧到隔壁",  # a worry after the fire, not before it
])
def test_tenth_round_danger_words_with_a_lasting_or_worried_word_still_page(text):
    assert detect(text).level == "certain", detect(text)


@pytest.mark.parametrize("text", [
    "my son is not in school today because he is sick, can i get a note",
    "the school bus was late today again, my girl waited one hour, can you tell the driver",
    "今日冇落雨 田都干晒",
    "my phone not answering calls since yesterday can you fix",
])
def test_look_alikes_of_a_child_not_off_the_van_are_not_asked(text):
    assert detect(text).level == "none"


@pytest.mark.parametrize("text", ["我老婆刚才生娃大出血 县医院在哪 有救助吗", "我妈刚刚出车祸了 政府管不管"])
def test_a_policy_word_does_not_lower_an_event_happening_now(text):
    assert detect(text).level == "certain"


def test_the_danger_model_alone_asks_where_nothing_explains_the_message(nlu, monkeypatch):
    import nlu.parser as parser

    text = "想找人帮忙修一下屋顶的瓦"
    assert nlu.parse(text)["emergency"]["level"] == "none"
    monkeypatch.setattr(parser, "DANGER_ALONE", 0.0)  # any danger probability now suffices
    monkeypatch.setattr(parser, "DANGER_ALONE_FLOOR", 0.0)  # ... whatever the classifier says
    assert nlu.parse(text)["emergency"]["level"] == "unsure"
    # ... but not for a word or two, a film (explained by the lexicon) or a message told as past
    for quiet in ("好的", "电视剧里那个人跳河了 看得我直哭", "去年发大水 冲了俺家的田 现在想申请补助"):
        assert nlu.parse(quiet)["emergency"]["level"] == "none", quiet


@pytest.mark.parametrize("text", ["昨晚的电影里那个人跳河了", "今天新闻说有个人跳河了", "昨天看的电视剧里 女主角被人捅了一刀",
                                  "today on the news a boy drowned"])
def test_a_story_seen_last_night_or_today_is_no_emergency(text):
    """The time word says when the story was seen (it used to cancel the story and page)."""
    assert detect(text).level == "none", detect(text)


@pytest.mark.parametrize("text", ["昨晚看电影的时候我爸突然倒了", "昨晚的电影里有人跳河 我也想跳河",
                                  "tonight my son watched a film and now he wants to kill himself"])
def test_danger_beside_a_story_still_pages(text):
    assert detect(text).level == "certain", detect(text)


# issue 13, detect5 (2026-12-07): hard lives told with strong feeling — despair said plainly, a cry
# for help — are at most asked about when the text reads like a need and nothing happens now
@pytest.mark.parametrize("text", [
    "救救我们家吧 欠了一屁股债 娃还要读书 男人又病倒了",   # a cry for help about a need
    "今晚又是一个人 老伴走了以后每天晚上都熬不下去",         # a time word in a routine
    "每天都熬不下去 这些年欠的债越滚越多 救救我们吧",
    "活着真没意思 老伴没了 儿女也不管我",                   # the classifier leans to emergency
    "我不想再拖累儿女了 想问问能不能进敬老院",               # a burden said asking for a service
])
def test_strong_feeling_in_a_need_is_asked_not_paged(nlu, text):
    parsed = nlu.parse(text)
    assert parsed["emergency"]["level"] == "unsure", parsed["emergency"]
    assert parsed["intent"]["name"] != "emergency"


@pytest.mark.parametrize("text", [
    "上个月我被人打伤了 住了半个月院 派出所一直拖着不处理 气得我心口疼",  # anger felt in the chest
    "我爸困在床上好几年了 翻身都要人帮",                                  # bedridden, not trapped
    "后山垮下来 埋了我家三亩地 今年种不成了",                            # a field buried, told by its loss
    "老伴走了以后我天天靠安眠药才能睡着 心里空得很",                      # sleeping pills as a routine
    "i take sleeping pills every night since my wife die i am so sad",
    "我把存折交给儿子管了 自己手头一分钱没有 想问问养老金的事",          # handed over to manage
    "老板欠了我一年的工钱 到现在都没人管 气得我浑身发抖",
])
def test_hard_lives_told_with_feeling_get_no_alarm(nlu, text):
    assert nlu.parse(text)["emergency"]["level"] == "none", nlu.parse(text)["emergency"]


@pytest.mark.parametrize("text", [
    "我撑不下去了",                                # despair alone, not told as a need: as before
    "我真的撑不下去了 今晚就到头了",              # despair and a plan for tonight
    "我熬不下去了 药都攒够了",                    # despair and a means
    "救命 他又在打我",                            # a cry for help and violence now
    "我想死 欠的债这辈子都还不清",                # the plain words always page, even about debts
    "活不下去了 每天都是这样",
    "救救我 我好害怕 他喝醉了",
    "i cant take it anymore, tonight i finish it",
    "my sister text me goodbye forever and now her phone is off",
])
def test_despair_with_a_sign_of_now_still_pages(nlu, text):
    assert nlu.parse(text)["emergency"]["level"] == "certain", nlu.parse(text)["emergency"]


@pytest.mark.parametrize("text", [
    "钥匙和存折都放桌上了 以后别等我吃饭了",
    "这几年真是熬够了 绳子也备好了",
    "楼上那家一直在喊救命 还有东西砸碎的声音",   # a cry heard now, not a plea told with a routine
    "我妈一个人在屋里 煤气味好重 敲门没人应",
])
def test_indirect_emergencies_with_a_now_are_still_caught(nlu, text):
    assert nlu.parse(text)["emergency"]["level"] in ("unsure", "certain"), text


def test_the_feeling_gate_follows_the_need_reading(nlu, monkeypatch):
    """The same despair pages when report_need is not close and nothing lasting is told."""
    import nlu.parser as parser

    text = "救救我们家吧 欠了一屁股债 娃还要读书 男人又病倒了"
    assert nlu.parse(text)["emergency"]["level"] == "unsure"
    monkeypatch.setattr(parser, "NEED_CLOSE", 1.01)  # report_need never close ...
    monkeypatch.setattr(parser, "DANGER_NEED_READING", 0.0)  # ... nor the danger model unsure
    assert nlu.parse(text)["emergency"]["level"] == "certain"


# issue 13, detect6 (twelfth round): danger words that are past, habitual or about things in a need
@pytest.mark.parametrize("text", [
    # 1. the object of the violence word is no person: crops, an injection, spraying
    "昨晚下雹子 把地里的玉米苗打死了一大片 有没有受灾补助",
    "卫生室给娃打错了针 胳膊肿了好几天 找谁说理",
    "明天要打农药了 我腰不好背不动 谁能帮个忙",
    # 2. a threat told afterwards while asking for a ruling
    "他占了我家的地 我去找他评理 他还要打人 这事村委会管不管",
    # 3. an accident that already happened, told as the cause of a need
    "我侄子在城里打工出了车祸 腿断了 老板一分钱不赔 咋个去告",
    "老公在工地出了事 丢了一只手 回来以后就不爱说话了",
    # 4. a chronic condition with a habitual or conditional marker
    "我有心脏病 一干重活就心口疼 每个月药钱好几百 能报销吗",
    "娃有癫痫 经常抽搐 药不能断 家里快供不起了 有啥救助",
    "以前在矿上被埋过 现在一进黑屋子就喘不过气 想找个心理医生",
    # 5. a lasting hardship
    "一个人住山上 冬天柴不够 冻得手脚发紫 孩子半年才回来一次",
])
def test_past_habitual_and_non_person_danger_words_in_a_need_are_not_paged(nlu, text):
    assert nlu.parse(text)["emergency"]["level"] == "none", nlu.parse(text)["emergency"]


@pytest.mark.parametrize("text", [
    # the same words, happening now
    "他拿着锄头冲过来了 要打人 快来",
    "他又在打我 打得我满脸是血",
    "我爸出了车祸 躺在路边起不来",
    "我爸出了车祸 在医院 医生说人快不行了",
    "娃有癫痫 刚才又抽搐了 叫不醒",
    "奶奶每次一犯病就抽搐 这次抽了半个钟头还没停",
    "我妈有哮喘 现在喘不过气了 嘴唇都紫了",
    "我一进屋就发现他晕倒了 手脚冰凉",
    "娃冻得嘴唇发紫 叫也叫不醒",
    "儿子丢了 到处找不到",
    "村里有人被埋过 现在山又在往下滑 屋里还有人",
])
def test_the_same_danger_words_happening_now_still_page(nlu, text):
    assert nlu.parse(text)["emergency"]["level"] == "certain", nlu.parse(text)["emergency"]


# issue 13, detect8 (fourteenth round): English sudden signs of acute illness page on their own, and
# detect7's look-alikes (pesticide for the crops, the last message of the day, found already,
# survived long ago) never lower a message that holds such a sign
@pytest.mark.parametrize("text", [
    # poisoned while spraying: the crops' errand does not explain the signs away
    "my cousin was spraying pesticide for the corn, now he fall down, foam from mouth, body shaking",
    "spraying the pesticide on tea trees all day, then she lie on ground, cannot stand, lips blue",
    "he use nongyao for the vegetable field, he fell and convulsing, not answer",
    # the other sudden signs after an everyday context
    "after drink with friends my uncle fell on the road, not getting up, breathing very slow",
    "fell from the ladder picking pears, she not moving, so much blood from her head",
    "we burn charcoal in the bedroom for warm, my grandpa cannot wake up this morning",
    "cutting the corn stalks the machine cut his hand, bleeding a lot, cannot stop",
    "eating noodles, my son suddenly having a seizure, eyes roll up",
    # a look-alike's words with a sign: still paged
    "last message for today. my father just now fainted and not breathing",
    "my uncle drank pesticide long time ago and survived, but now he fell down foam at the mouth",
    # an animal in the scene does not explain a person's signs
    "the dog bit my son, now he shaking and foam at mouth",
    # an old illness told too: a sign now or again is not explained by it
    "grandma fainted last year in the field, now she fell down again and not breathing",
])
def test_english_sudden_signs_page_even_after_a_look_alike_context(nlu, text):
    assert nlu.parse(text)["emergency"]["level"] == "certain", nlu.parse(text)["emergency"]


@pytest.mark.parametrize("text", [
    "i am spraying pesticide for the rice tomorrow, where can buy the sprayer",
    "my husband spray nongyao on the cotton, how much water mix with it",
    "last message for tonight, thank you teacher, see you tomorrow",
    "my little daughter found already, she was sleeping at grandma house",
    "my aunt drink pesticide many years ago, they saved her, now she want a job",
    "my grandma shakes her head and says no to the hospital food, very funny",
    "my father blood pressure high, he want check at the clinic",
    # a sign told as past
    "when i was young i fainted once in the field, now i am strong farmer",
    # an animal's signs: a vet's need
    "the dog foam at mouth, is it rabies, where vaccine",
])
def test_english_look_alikes_without_a_sign_are_not_paged(nlu, text):
    emergency = nlu.parse(text)["emergency"]
    # not paged, and no rule finds a danger (the classifier alone may still ask)
    assert emergency["level"] != "certain" and emergency["kinds"] == [], emergency


# issue 13, detect9 (2026-12-07): past or chronic danger told with 粤/客家 and English aftermath
# markers, device and daily idioms, a scam told afterwards — no page; a child separated at a fair,
# a car driven into a crowd, a limb bent the wrong way, one's own funeral arranged and then nobody
# can reach the writer — a page. The dev sets nlu/data/test/dev13_detect9_*.yml hold other lines.
@pytest.mark.parametrize("text", [
    "阿婆中咗風之後隻手郁唔到 要人餵飯 有冇人可以上門幫手",
    "𠊎阿爸中風轉來以後講話毋清楚 坐輪椅 想申請補助",
    "前三個月山泥傾瀉 條橋斷咗 啲果運唔出去",
    "the big water in june drown all our chickens, now no money to buy new ones",
    "有人打电话说我外孙打架被抓了 要交钱 我转了两万 后来才知道是骗子",
    "somebody call my mother and say i was in car accident, she send money, later we know it is a scam",
    "摩托车打不着火 踹了好几脚都不行",
    "电视黑屏了 拍了半天都拍不亮",
    "my phone black screen, i press and press but it still not turn on",
    "洗衣机罢工了 还有股焦味",
    "孙女讲笑话 我们笑得满炕打滚",
    "我家的羊跑丢了 找了一下午都没找着",
])
def test_detect9_past_aftermath_idioms_and_scams_are_not_paged(nlu, text):
    emergency = nlu.parse(text)["emergency"]
    assert emergency["level"] == "none", emergency


@pytest.mark.parametrize("text", [
    "逛庙会跟老伴走散了 找了两个钟头 电话也打不通",
    "赶集的时候孩子跟丢了 找了一个多钟头 哪里都没有",
    "去墟嗰陣個孫行散咗 搵咗成個鐘",
    "a man drove a van into the crowd at the market, people lying on the ground",
    "grandma slip on the ice, her ankle bend the wrong way, she cannot stand",
    "my uncle fall from the roof, bone come out of his leg",
    "my sister wrote to everyone what clothes she want to wear at her funeral, now we cannot reach her",
    "我弟在群里说了他的后事怎么办 然后手机就关机了",
])
def test_detect9_missing_now_a_crowd_a_bent_limb_and_a_funeral_then_silence_page(nlu, text):
    emergency = nlu.parse(text)["emergency"]
    assert emergency["level"] == "certain", emergency


@pytest.mark.parametrize("text", [
    "小时候跟家里走散了 后来被人收养了 想找亲生父母",  # separated long ago: over
    "last year a drunk man drove his car into the people at the market, my leg was hurt, now i cannot work",
    "我爸走了 他的后事要花好多钱 村里能帮吗",  # a funeral of someone who died: grief, a need
    "骗子打电话说我儿子出车祸 我没信 刚才我儿子真的出车祸了 在流血",  # a real danger just now pages
])
def test_detect9_rules_keep_their_safeguards(nlu, text):
    emergency = nlu.parse(text)["emergency"]
    expected = "certain" if "刚才" in text else "none"
    assert emergency["level"] == expected, emergency


@pytest.mark.parametrize("text, levels", [
    ("我表哥在群里发了张水库的照片 说再见了 然后手机就关机了", {"unsure", "certain"}),  # a farewell, then silence
    ("tell my father sorry, i am not good son, goodbye", {"unsure", "certain"}),
    ("I send the form to the town office two months ago, still no reply", {"none"}),
    ("我要去地里干活 只好把娃锁在家里 心里总不踏实", {"none"}),  # a parent's need, not confinement
    ("他把孩子锁在屋里不让出来 还打她", {"certain"}),
])
def test_detect9_farewell_then_silence_and_two_look_alikes(nlu, text, levels):
    emergency = nlu.parse(text)["emergency"]
    assert emergency["level"] in levels, emergency


def test_detect9_a_plain_goodbye_before_silence_is_no_rule_alarm():
    # 说了再见就走了: a goodbye before a trip, not a farewell (the classifier may still ask)
    assert detect("他说了再见就走了 电话打不通 可能山里没信号").level == "none"
    assert detect("他说再见了 电话打不通").level == "unsure"




@pytest.mark.parametrize("text, kind", [
    ("县里花炮厂刚刚爆炸了 我姐在里面上班", "fire"),
    ("楼下饭馆的液化气瓶炸了 好多人跑不出来", "fire"),
    ("煤窑里炸了 我男人在井下", "disaster"),
    ("砖厂锅炉突然爆了 两个人倒在地上", "disaster"),
    ("the gas cylinder in my neighbour kitchen exploded, the old lady is inside", "fire"),
    ("big explosion at the chemical factory near our village, black smoke", "fire"),
    ("老汉让河水给冲走了 快来人", "flood"),
    ("我侄儿叫洪水冲了 找不到人", "flood"),
    ("他搂着电线杆子困在河中间 水还在涨", "flood"),
    ("my son is clinging to a branch in the river, the water is too strong", "flood"),
    ("娃娃掉到塘头了 半天冒不出来", "medical"),
    ("渡船翻了 我弟掉进河里 没见上来", "medical"),
    ("the ferry overturned and my cousin went under, he did not come up", "medical"),
])
def test_detect11_explosions_washed_away_and_not_surfacing_page(text, kind):
    result = detect(text)
    assert result.level == "certain" and kind in result.kinds, result


@pytest.mark.parametrize("text", [
    "厂里一听说要裁员都炸锅了",  # an uproar
    "老板气炸了 骂了我们一上午",
    "矿泉水放冰箱冻炸了",
    "前年花炮厂爆炸 我爸伤了手 现在能领啥补贴",  # past, the cause of a need
    "以前在窑上炸了一只眼 现在看不清 能办残疾证吗",
    "电动车电池爆了 去哪修",
    "锅炉房的暖气管爆了 屋里冷得很",
    "石场每天放炮 炸得窗户直响 找谁管",
    "a firework factory exploded in the news today, so sad",  # a story elsewhere
    "two years ago the gas tank exploded and burned my arm, can i get help for the hospital bills",
    "the chat group blew up last night with wedding photos",
    "手机掉到水里捞出来了 还能用吗",
    "石头沉下去了 水好深",
    "our boat turned over last summer, now we need money for a new one",
    "那年发洪水我三叔叫水冲走了 到现在没办死亡证明",
])
def test_detect11_look_alikes_and_past_are_not_paged(text):
    result = detect(text)
    assert result.level == "none", result


@pytest.mark.parametrize("text", [
    "电话掉进茅坑里了 还能要吗",  # a thing fallen in (detect12)
    "吊桶又掉井里了 绳子断了",
    "锄头掉渠里了 冲跑了",
    "俺的眼镜一不小心掉江里了",
    "我家两只鹅掉进水库里了",  # an animal
    "驴掉到沟里了 拉不上来",
    "山洪把俺的五只羊冲走了",  # an animal washed away
    "猪仔全让大水冲走了",
    "河水冲走了我家三头黄牛",
    "my keys fell into the canal when i crossed the bridge",
    "the river swept away most of our sheep",
    "the goats were carried away by the flood",
])
def test_detect12_things_and_animals_in_the_water_are_not_paged(text):
    assert detect(text).level == "none", detect(text)


@pytest.mark.parametrize("text", [
    "姥姥掉到井里了",  # a person (detect12)
    "二狗掉河里了",  # a child's nickname, not a dog
    "有人掉进塘里了 快来",
    "猪让水冲走了 我哥去追 也叫水冲走了",
    "鹅掉进河里 俺男人下河去捞 到现在没上来",
    "my daughter and the puppy fell into the well",
    "the flood swept away our buffalo and my father with it",
])
def test_detect12_people_in_the_water_still_page(text):
    assert detect(text).level == "certain", detect(text)


def test_alternatives_dropped_for_a_script_cannot_match_it():
    """detect10: each pattern runs without the top-level alternatives written in Latin letters only on a
    text without one, and without those written with no Latin letter on an ASCII text. That is right
    only if every match of the first holds a Latin letter and of the second a non-ASCII character
    (r"\\d+ hours" or r"\\s+" would not), and the English-only vetoes likewise."""
    import re
    import re._parser as sre_parse
    from re._constants import BRANCH, IN, LITERAL, MAX_REPEAT, MIN_REPEAT, SUBPATTERN

    from nlu import emergency

    def needs(seq, ok) -> bool:
        for op, av in seq:
            if ((op is LITERAL and ok(av))
                    or (op is IN and all(o is LITERAL and ok(a) for o, a in av))
                    or (op is SUBPATTERN and needs(av[3], ok))
                    or (op is BRANCH and all(needs(b, ok) for b in av[1]))
                    or (op in (MAX_REPEAT, MIN_REPEAT) and av[0] >= 1 and needs(av[2], ok))):
                return True
        return False

    def letter(c: int) -> bool:
        return chr(c).isascii() and chr(c).isalpha()

    patterns = [p for _, _, p in emergency._COMPILED] + [v for v in vars(emergency).values() if isinstance(v, re.Pattern)
                                                        and v not in (emergency._LATIN, emergency._ESCAPE)]
    patterns += emergency._PLAN_PARTS + emergency._CONFINE_PARTS
    assert all("|".join(emergency._alternatives(p.pattern)) == p.pattern for p in patterns)
    alternatives = [a for p in patterns for a in emergency._alternatives(p.pattern)]
    english = [a for a in alternatives if emergency._latin_only(a)]
    chinese = [a for a in alternatives if emergency._chinese_only(a)]
    assert len(english) > 200 and len(chinese) > 500
    assert [a[:40] for a in english if not needs(sre_parse.parse(a), letter)] == []
    assert [a[:40] for a in chinese if not needs(sre_parse.parse(a), lambda c: c > 127)] == []
    vetoes = (emergency._ACUTE_EN, emergency._ANIMAL_SIGN, emergency._PERSON_EN, emergency._LOOK_ALIKE_EN,
              emergency._SIGN_NOW, emergency._PAST_EN)
    assert all(emergency._latin_only(p.pattern) for p in vetoes)
    assert emergency._chinese_only(r"\d+|\s") and not needs(sre_parse.parse(r"\d+|(?:, )?hours?"), letter)
    assert emergency._alternatives("a(?:b|c)|[|]d") == ["a(?:b|c)", "[|]d"]
    assert emergency._for_script(re.compile("火|fire"), "ascii").pattern == "fire"
    assert emergency._for_script(re.compile("火|fire"), "no_latin").pattern == "火"


def _alternatives_and_their_characters():
    """Each top-level alternative of the detector's patterns, with the characters it can match literally."""
    import re
    import re._parser as sre_parse
    from re._constants import ASSERT, ASSERT_NOT, BRANCH, IN, LITERAL, MAX_REPEAT, MIN_REPEAT, NOT_LITERAL, RANGE, SUBPATTERN

    from nlu import emergency

    def chars(seq):
        for op, av in seq:
            if op in (LITERAL, NOT_LITERAL):
                yield chr(av)
            elif op is IN:
                for o, a in av:
                    if o is LITERAL:
                        yield chr(a)
                    elif o is RANGE:
                        yield from (chr(a[0]), chr(a[1]))
            elif op is SUBPATTERN:
                yield from chars(av[3])
            elif op is BRANCH:
                for branch in av[1]:
                    yield from chars(branch)
            elif op in (MAX_REPEAT, MIN_REPEAT):
                yield from chars(av[2])
            elif op in (ASSERT, ASSERT_NOT):
                yield from chars(av[1])

    patterns = ([p for _, _, p in emergency._COMPILED] + list(emergency._PLAN_PARTS) + list(emergency._CONFINE_PARTS)
                + [v for v in vars(emergency).values() if isinstance(v, re.Pattern)])
    for pattern in patterns:
        for alternative in emergency._alternatives(pattern.pattern):
            yield alternative, set(chars(sre_parse.parse(alternative)))


def test_chinese_patterns_hold_no_character_that_normalization_rewrites():
    """detect13: the detector matches normalized text, where traditional characters are simplified (搵 → 揾,
    頭 → 头), full-width punctuation is half-width (，→ ,) and letters are lower-case; a pattern holding such
    a character never matches there. Checked for every top-level alternative holding a Chinese character,
    with normalize's own folding of each character the alternative can match literally (English
    alternatives are the English rounds')."""
    import unicodedata

    from nlu.normalize import normalize

    dead = []
    for alternative, found in _alternatives_and_their_characters():
        if any(unicodedata.category(c) == "Lo" for c in found):
            dead += [(c, alternative[:40]) for c in sorted(found) if normalize(c) not in ("", c)]
    assert dead == []
    assert normalize("搵") != "搵" and normalize("，") != "，"  # the check can fail


@pytest.mark.parametrize("text", [
    "头先阿妈喺厨房晕低咗 叫极都唔应",  # 头先 is "just now" in 粤: a stroke is not explained by years of illness
    "我阿公有高血压十几年 今日突然讲唔到嘢 半边冇力",
    "赶紧来 我妈哮喘好多年了 这会儿喘不过气",
    "江边有个人掉下去了 河里掉下去一个人 快叫人",
    "我孙仔跌咗落水渠度 水好急",
    "大水把我家的羊冲走了 我哥去拦 他也被冲走了",
    "上个月村里有人淹死了 刚才我侄子也掉河里了",
    "娃抽了二十分钟了 还没停",
])
def test_detect13_now_in_every_voice_pages(text):
    assert detect(text).level == "certain"


@pytest.mark.parametrize("text", [
    "前年我男人掉进水库淹死了 娃的学费能不能减免",  # a death told with a past time: a report
    "上礼拜隔壁老汉掉井里没了 我们想把那口井封了",
    "旧年阿爸落水过咗身 阿妈一个人带我哋",
    "上次我妈心口疼住了院 这回医药费还能报吗",
    "我闺女哮喘 喘不上气的时候要用那个喷的药 太贵了",
    "俺爹低血糖 晕倒过好几回了 想找个人白天看着他",
    "我家的鸭子掉进水沟里了 捞上来了",
])
def test_detect13_told_as_past_or_as_a_habit_is_no_page(text):
    assert detect(text).level == "none"


def test_english_patterns_hold_no_full_width_character_that_normalization_rewrites():
    """detect14: the same for the alternatives without a Chinese character (English): full-width
    punctuation (，！？) is half-width after normalization, so it never matches there (the giving-up
    hint held ，！？ beside , ! ?). ASCII characters are left out (``_LATIN`` names A-Z on purpose)."""
    import unicodedata

    from nlu.normalize import normalize

    dead, english = [], 0
    for alternative, found in _alternatives_and_their_characters():
        if not any(unicodedata.category(c) == "Lo" for c in found):
            english += 1
            dead += [(c, alternative[:40]) for c in sorted(found) if not c.isascii() and normalize(c) not in ("", c)]
    assert english > 200 and dead == []
    assert normalize("！") == "!" and normalize("’") == "’"  # the check can fail; ’ is kept


def test_english_context_patterns_and_idioms_begin_with_a_literal():
    """detect14: as the English rules (en-crisis), the idioms removed before matching and the patterns
    of time and context run on an English text with each top-level alternative beginning with a
    literal character, so that the engine skips each position where none of those letters stands."""
    import re._parser as sre_parse
    from re._constants import LITERAL

    from nlu import emergency

    names = ("_NOT_DANGER", "_URGENT", "_SUDDEN", "_HAPPENING", "_NOW_HERE", "_NOW_SIGNAL", "_NOW_TIME", "_NOW_OR_DARK",
             "_SCENE_NOW", "_ACUTE_NOW", "_SIGN_NOW", "_NOT_NOW", "_OVER", "_CHRONIC", "_LASTING", "_PAST_EN", "_ROUTINE",
             "_JUST_NOW", "_EVENT_OVER", "_FEAR_NOW", "_LOOK_ALIKE_EN")
    late = [(name, a[:50]) for name in names
            for a in emergency._alternatives(emergency._for_script(getattr(emergency, name), "ascii").pattern)
            if sre_parse.parse(a).data[0][0] is not LITERAL]
    assert late == []
    assert sre_parse.parse(r"\bnow").data[0][0] is not LITERAL  # the check can fail
    # the words' own boundaries and lookbehinds, written after the first letter, match as before
    for pattern, text in ((emergency._URGENT, "until now"), (emergency._URGENT, "snow"), (emergency._NOW_OR_DARK, "a12 hours"),
                          (emergency._NOT_DANGER, "my son and phone fell in the river")):
        assert not pattern.search(text)
    assert emergency._URGENT.search("come now") and emergency._NOW_OR_DARK.search("12 hours")


@pytest.mark.parametrize("text", [
    # a fall into the water told calmly: out of it, a scratch, fine
    "我爸喝了酒跌进河沟 自己爬出来了 就是膝盖擦伤了",
    "老太太滑到鱼塘里 被人拉上来了 衣服全湿了",
    "细路仔跌咗落水渠 冇事 就系湿晒身",
    "she fell into the ditch, she is ok, just her ankle is sore",
    "my brother slipped into the canal on his bike, he climbed out and went home",
    # a request whose office does not answer
    "i applied for the old age allowance in march, nobody answer yet",
    "please help me check my low income status",
    "my pension form i send to the office long ago, until now no reply",
    # medicine ready for someone else, a rope for the animals, "end it all" with a company
    "grandpa's tablets all ready, i will take them to him tomorrow",
    "the pills are ready at the clinic, can someone pick them up for my mother",
    "the rope is ready for the goats",
    "i want to end everything with this mobile company, they charge too much",
    # a bite long ago, an animal left for a while
    "snake bite him three years ago, now still his leg weak",
    "give my buffalo to my uncle for two months while i work in the city",
    "我去闺女家住几天 鸡帮我喂几天 过两天就回来",
])
def test_detect14_look_alikes_are_no_alarm(text):
    assert detect(text).level == "none", detect(text)


@pytest.mark.parametrize("text", [
    "孩子掉水沟里了 还没上来",
    "孩子掉水沟里了 脸上划破了 叫他没反应",
    "我妈摔进水渠 爬不上来 水好急",
    "my boy slipped into the fish pond and he is not come up",
    "he fell into the canal and was pulled out but he is not breathing",
    "my daughter fell in the ditch, she is ok she say but now she is not answer me",
    "grandma slipped into the pond, we cannot find her",
    "please help me my son fell in the river",
    "i want to end it all with this life",
    "the rope is ready for the goats and tonight i will hang myself on the tree",
    "the pills are ready for me tonight",
    "a snake bit my daughter, now her leg black",
    "毒蛇突然咬了奶奶一口 腿肿得发亮",
    "give my buffalo to my uncle, i wont need it after tonight",
    "i called the ambulance one hour ago, nobody come yet, my husband not breathing",
    # a time or a return beside a farewell does not lower it (only a gift with a return is no farewell)
    "i have saved the sleeping pills for two weeks, goodbye everyone",
    "after i go, my goats give to my brother, until i come back never",
    "我把存折交给你们了 过几天就回来不了了",
])
def test_detect14_the_same_shapes_in_danger_page(text):
    assert detect(text).level == "certain", detect(text)
    assert detect("i gave my dog to my neighbour, i go visit my wife in heaven").level == "unsure"


# detect15 (2026-12-08): a death, an accident, an attempt, a fire told years back (前些年, 走了十来年了, long time
# back, "before" at a clause's end) in a need is no alarm; the same shapes now or again, or a wish, page
@pytest.mark.parametrize("text", [
    "我舅舅前些年跳井没了 舅妈一个人种地 想问问有没有啥帮扶",
    "他爸喝敌敌畏走了有十来年了 娃现在上大学 学费差一截",
    "my uncle drank pesticide many years back, his wife is still sad",
    "早几年我们这儿失过一回火 烧了两间仓房 现在还没盖起来",
    "my grandfather have heart attack before, now he need medicine every month",
    "年轻时候我在河里差点淹死 现在看到水就怕",
])
def test_detect15_told_years_back_is_no_alarm(text):
    assert detect(text).level == "none", detect(text)


@pytest.mark.parametrize("text", [
    "我舅舅前些年跳井没了 今天我表哥也跳井了",
    "他爸前些年喝敌敌畏走了 他刚才也喝了敌敌畏",
    "我姐早些年喝过农药 她又说要喝农药",
    "my uncle drank pesticide years back, my aunt drank pesticide just now",
    "早几年失过一回火 现在又着火了 快来",
    "我老伴走了好些年了 我也不想活了",
    "my father killed himself some years ago and i want to kill myself",
    "my mother had a stroke before, now she fell and not breathing",
    "前些年他掉河里淹死了 刚才他儿子也掉河里了",
    "拖拉机翻了 人压在车底下",
    # "before" of an hour ago in non-native English: never for an act, and not with a "now" after it
    "my wife drank pesticide before, she is vomiting",
    "my father have stroke before, now he cannot talk",
])
def test_detect15_the_same_shapes_now_page(text):
    assert detect(text).level == "certain", detect(text)

