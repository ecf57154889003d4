"""Emergency detector: immediate danger to life or safety, found anywhere in a message.

Recall comes first. A lexicon of trigger patterns per kind scores the normalized message,
and the score gives one of three levels:

- **certain** (score ≥ ``CERTAIN``) — the bot pages every worker on duty at once (hotlines,
  urgent handoff). Plain words of danger: 我不想活了, 想死, 活不下去 (always certain, also with
  哈哈 around them), 着火了, 他拿刀要砍我, I am going to kill myself, I want to end it all.
- **unsure** (score ≥ ``UNSURE``) — the bot asks one safety question first ("您现在安全吗？
  1 安全 2 不安全"); 2 pages. A *hint* weighs 0.6: a farewell or a plan said without the
  obvious words (这是最后一次给你们发消息, 以后不拖累大家了, I have the pills ready, I've given
  away my things), 撑不下去, 想不开, 解脱. Two different hints of self-harm add up to certain
  (存折交给你们了 + 以后不麻烦大家了; I wrote letters to my kids + tonight I'll finish it).
- **none** — below ``UNSURE``.

Danger told by the scene rather than its name counts too: water up to the window or the
waist, waiting on the roof, a slope sliding or rocks rolling down now, an elder not seen
since morning (到现在没见人), and, as hints, standing on a bridge or a roof's edge or saying
how deep or high it is below. The same in 粤/客家 and non-native English (third round):
nobody answers when called (叫极都唔应, 喊佢佢毋应, not answer when i call), blue lips (发紫),
a weapon in hand (揸住把菜刀), water coming in (水浸到, water coming inside), mud coming down
(泥一路冲落嚟), black smoke; hints: medicine hoarded, goodbyes to the children, things given
away, "I will not come back". A machine that does not respond (部手机郁都唔郁) is no alarm.

A few narrow rules keep figurative and past words out:

- **Figures of speech** — 我想死你了 (I miss you so much), 笑死我了, 热死了, 累成狗, 卡死了,
  手机死机了, 打我电话, 我要打电话, 打死我也不去, 杀价, 砍价, 打call, 群里炸了, 电脑中毒;
  手机快不行了; this heat is killing me, dead tired, killing time, my phone died, bored to
  death: these fixed phrases are removed before matching, so they never fire. Only fixed
  idioms are removed; 我不想活了, 想死, 活不下去 always fire, even with 哈哈 around them.
- **Narrow triggers** — 不动了 but not 干不动了 / 走不动了 (too old or tired to work), 打 not before
  电话 / 工 / 针 / 牌 (我要打电话), an attack but not a panic attack, abuse of a person but not of
  a subsidy, poison taken but not rat poison to buy, "emergency" but not an emergency fund,
  "my son is lost" but not "my son lost his job".
- **Past events, damage reports and policy questions about fire, flood or disaster** —
  去年发洪水冲了房子, 屋顶塌了一块下雨就漏, 房子被火烧了能申请临时救助吗: a past-time, damage or policy
  word cuts *fire, flood, disaster* triggers to 0.4 (none) unless an urgency word (快, 救命,
  被困, 还在里面...) is present.
- **Away for work** — 我爸出去打工过年还没回来, my husband works in the city and is not back
  yet: "not back" said of someone who went away to work is not a missing person; the *not
  back* forms of the missing-person and missing-child triggers are cut to 0.4 (none) when a
  word of working away (打工, 务工, 在外地, went to work...) is present. 不见了, 失踪, 联系不上
  keep their weight.
- **Long-standing illness** — 我爸中风好几年了 一直躺着, 娃有哮喘 经常喘不上气: a word of
  duration (好几年, 常年, 经常, 前年...) cuts *medical* triggers to 0.4 unless a word of
  suddenness or urgency (突然, 刚才, 现在, 快, 叫不醒...) is present. Such messages are a need
  (``report_need``), not a page. Self-harm, violence and missing-person triggers are never
  lowered this way.

- **Told as over, as work, as a story** (eighth round, 2026-12-07) — violence that is over
  (前夫以前天天打我 离婚五年了, my husband beat me before) and an elder once lost and found or
  who habitually loses the way (有一回走丢了 后来送回来的, 出门就找不到回来的路) lower the violence
  and missing-person triggers unless something happens now or again (刚才, 又打, 还没回, 天黑,
  today, again); a knife for the vegetables, a stove forgotten (忘了灶上还烧着火, forget the fire),
  crops killed by frost, a burden that takes the breath, jobs unanswered are idioms; a screen
  or a news story lowers every kind, a fraud told afterwards lowers a cry for help, a move away
  lowers a farewell hint. Such a lowering is *explained*: the parser's classifier alone then
  needs 0.99, as its probability comes from the same word (``EmergencyResult.explained``).
  More past and damage cues for fire, flood, disaster (上年, 前个月, 那晚, 退后, 垮了一截, 烧光了,
  the flood after go, in august), and the lasting states of ``_CHRONIC`` lower them too.

- **Meanings told by their parts** (eighth round (c), 2026-12-07, ``_meaning_hits``): someone
  + not found + now (娃一转头就没了 屋后是鱼塘; 到现在没回来 天黑了 电话打不通), a farewell as a
  plan (two of: affairs settled, a burden, leaving for a place, don't look for me / sorry; three
  page), an acute illness by the scene (拉了一天一夜 + 手脚冰凉 / 说胡话), a weapon at the door
  with the lights off: at least the safety question.

- **Needs told calmly whose content is acute now** (tenth round, 2026-12-07, ``_meaning_hits``):
  someone alone (or a gas smell) + nobody answers the phone or the door + now or for days; a
  scene that fails or comes in (掉土, 裂缝比早上宽, 水漫到灶屋, 房顶在响, gas smell) + still going
  on + someone inside or unable to leave (unless it is a worry: 怕, 一到雨季); confinement (locked
  in + not let out / the phone taken / writing in secret); a threat (让我好看, 找我算账) + fear or
  tonight; a sudden sign of illness (说不出话, 嘴歪, 心口闷, 冷汗, 摔了起不来, 含含糊糊) + now: at
  least the safety question. A trigger with a worry just before it (怕煤气中毒), a news report
  about elsewhere, a leave-taking with a return (下个月见) lower it; a lowered hint adds nothing to
  a lowered trigger; 没反应 / 发青 and 里面还有人 are never a long illness or mere damage.

- **Strong feeling, not now** (eleventh round, 2026-12-07, ``EmergencyResult.feeling_only``): despair
  said plainly (撑不下去, 熬不下去, 活着没意思, can't take it anymore), a plea in one's own name (救救我们家吧)
  or a burden said while asking for a service, with no sign of now (a plan, a means, a farewell, a
  scene, 刚才, 今晚 not of a routine). Despair with a time word of a routine (每天晚上都熬不下去) is
  asked; the parser pages no such text that reads like a need (``reads_as_need``). Anger felt in
  the body (气得我心口疼), 困在床上, a buried field, sleeping pills taken as a routine, a passbook
  handed over to manage are no alarm.

- **Past, habitual and non-person danger words in a need** (twelfth round, 2026-12-07,
  ``_told_as_not_now``): 打 of a thing (打药, 打错针, 冰雹打死了苗), hands or feet purple from the cold
  (冻得手脚发紫), a sign of illness right after a habit or a condition (每次一犯就抽搐, 一变天就喘不上气,
  经常晕倒), a danger word with the experiential 过 (被埋过, 晕倒过), an accident that is over told as
  the cause of a need (出了车祸 … 路费, 老板不赔, 低保), a threat recounted while asking for a ruling
  (他还要打人 村委会管不管), 丢了一条腿: none, unless a sign of now (刚, 突然, 又犯, 这次, 今天, 叫不醒,
  起不来, 路边, 不行了, fear for violence) is present. Every place the rule finds must be so told.

- **Non-native English told indirectly** (thirteenth round, 2026-12-07): debts paid back + no more
  trouble for you, a phone switched off + near the river, take care of our son, no come back, an
  hour without finding a child, flames going up to the roof, much smoke coming from a house, the roof
  blown off, nongyao, "jump is better", a coal stove with the windows shut. Not: the last message of
  the day, a new phone number, someone found already, pesticide for the crops, every rainy season, an
  attempt survived long ago (``_SURVIVED`` with ``_OVER``: explained), "still now" (= until now).
- **English sudden signs** (fourteenth round, 2026-12-07): foam at the mouth, shaking or fits, fell
  and not getting up, not breathing, blue lips, cannot wake, much blood, unconscious, passed out
  (``_ACUTE_EN``, medical, certain). Such a sign, or a now-signal, vetoes the English look-alikes
  (``_LOOK_ALIKE_EN``: pesticide for the crops, the last message of the day, found already), a new
  number and "survived long ago".

- **粤/客家 aftermath, idioms, scams; missing at a fair** (detect9, 2026-12-07): 中咗风之后, 前两个月,
  路断咗, 山泥倾泻𠮶阵 are past or lasting; a scam told afterwards (a claim by a call + found out) is the
  scammer's story; 打不着火, 黑屏…拍不醒, 罢工, 笑得打滚, a lost animal, drowned ducks are idioms. 走散 /
  跟丢 + an hour's search, a car driven into a crowd, a limb bent the wrong way page; one's own funeral
  arranged + unreachable pages, a goodbye said + unreachable is asked.

- **Explosions, washed away, not surfacing** (detect11, 2026-12-07): an explosion of a thing that
  explodes or at a place where things do (烟花厂/鞭炮厂/炮仗厂炸了, 煤气罐/液化气罐/气罐炸了 or 爆了, 矿上/
  井下/窑上/锅炉 爆炸, the firework factory / gas cylinder / boiler exploded, blew up, an explosion at the
  mine): fire or disaster, certain; someone washed away (让大水给冲了, 叫水冲走了, 被水卷走, washed away
  by the river) or clinging to a tree in the middle of the river (抓着河当间的树杈子, holding on to a tree
  in the river), 困在河当中: flood, certain; someone fallen into the water (掉到水头, 西南 头 = 里) or
  who has not come up (冒都冒不起来, 没冒出来, 沉下去了, went under and did not come up), a capsizing with
  people in the water: medical, certain; a capsizing alone (船翻了, the boat turned over): flood, asked.
  Not: 气炸了, 炸锅 (idioms), 炸鸡, 炸了一只眼 (an old injury), 轮胎/水管/暖气 爆了, 矿泉水, a stone
  that sinks; told as past or in a need (去年鞭炮厂炸了 … 补助, last summer) they are lowered like every
  fire, flood and disaster.

- **Things and animals in the water** (detect12, 2026-12-07): a thing or an animal fallen into the water
  (手机掉水里了, 水桶掉井里了, 狗掉井里了, my phone fell into the river, the cow fell into the well) or an
  animal washed away (他让水冲走了两头牛, 鸡鸭被水冲走了, 大水把猪冲走了, the flood washed away our pigs)
  is an idiom (``_NOT_DANGER``), as detect9's drowned ducks: removed before matching, so the old 掉水里 /
  掉河里 / 掉井里, 冲走, 洪水 and "fell into the river" no longer fire on it. The noun must start a word
  (二狗, 牛牛 are children's names; 孩子和狗 keeps the child) and a vehicle is never such a thing. A person
  in the water still pages: 孩子掉河里了, 有人掉水里了, a person who went after it (牛被冲走了 我爹去追 也被
  冲走了; 下河去捞 … 没上来, a new medical rule), the flood swept away our buffalo and my father.

- **Now and past in every voice** (detect13, 2026-12-07): patterns hold only what normalization writes
  (揾, 头先, 个, 电话, 关机; a test holds it); the "now" and "past" context patterns take the shared pieces
  (今儿晚上, 头先, 今日, 赶紧, 旧年, 上年, 上次; 到今日 is "until today", no now). A person into a reservoir
  told water first (水库里掉下去一个人), into a ditch or a cesspit, a fit that goes on (抽了十几分钟), a
  person gone after the animals (把牛冲走了 他也没了) page; a death told with a past time before each sign
  (上个月孩子掉河里淹死了), a sign told as an episode of a condition or with a count (犯病的时候会抽搐,
  喘不上气的时候要用喷雾, 晕倒过好几回) and an attempt survived told as past (喝农药救回来以后) do not.

- **Years back** (detect15, 2026-12-08): 前些年, 好些年前, 那几年, 早些年, 小时候, 年轻时候, 细个时候, a death some
  years since (走了七八年了, 没了有五六年了), long time back, some years ago, since many years, "last time", "before"
  at a clause's end (``_YEARS_BACK``) are past words of ``_NOT_NOW``, ``_CHRONIC``, ``_OVER`` and ``_PAST_WHEN``;
  a trigger so lowered with no sign of now or again is explained. An act of self-harm told as how someone died
  or what they did years back (早些年我哥喝农药走了, 俺娘是喝药走的, my husband drink pesticide long time back) is
  lowered and explained (``_act_told_as_past``); words of intent (不想活, 想死, kill myself) never are, nor an act
  after a wish (也想喝农药) or with 刚才, 今天, 又, just now. 又着火, 又发大水, 快来 are urgent; 人压在车底下 pages.

``detect`` is the lexicon alone (no model needed, any flow state). ``NLU.parse`` adds the
intent classifier: its probability for ``emergency`` can raise the level (see
``nlu/parser.py``), so phrasings the lexicon lacks still reach a human.

Kinds: ``self_harm``, ``violence``, ``fire``, ``flood``, ``disaster`` (earthquake, landslide,
collapse, trapped), ``medical``, ``missing_child``, ``missing_person`` (an adult, usually an
elder), ``distress`` (a bare cry for help: 救命, 快报警).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from nlu.normalize import normalize

__all__ = [
    "CERTAIN", "KINDS", "LEVELS", "THRESHOLD", "UNSURE", "EmergencyResult", "detect", "detect_normalized",
    "has_benign_idiom", "level_of", "reads_as_need", "told_as_past",
]

KINDS = ("self_harm", "violence", "fire", "flood", "disaster", "medical", "missing_child", "missing_person", "distress")
LEVELS = ("none", "unsure", "certain")
CERTAIN = 0.9  # page at once
UNSURE = 0.45  # ask one safety question first
THRESHOLD = CERTAIN  # `is_emergency` (kept for callers that know only yes/no)
HINT = 0.6  # a farewell, a plan or a means said without the obvious words: unsure alone
TIME = 0.3  # "tonight", "much longer": nothing alone, certain with a hint
LOWERED = 0.4  # a trigger in a past, damage, policy or long-illness context: none

_CHILD = r"(?:幺儿|幺妹|娃儿|伢子?|细伢子?|孙仔|孙女仔|妹仔|细妹|阿妹|细路仔?|细佬|细人仔?|个仔|个女|个孙|bb|孩子|娃娃?|儿子|女儿|闺女|孙子|孙女|外孙女?|小孩|宝宝|孩|丫头|小子|我家小的|学生)"
_ELDER = r"(?:阿婆|阿公|阿爷|阿嫲|阿妈|阿爸|阿姆|老豆|老窦|老人|老人家|爷爷|奶奶|姥姥|姥爷|外婆|外公|我爸|我妈|老爹|老娘|老伴|老汉|婆婆|公公|俺爹|俺娘|老父亲|老母亲|男人|老公|老婆|媳妇)"
_LOST = r"(?:(?<![看听瞧])不见了|走散|行散|跟丢|找不到了|找不着了?|找不到人|走丢|丢了(?!(?:一|半)?(?:条|只|个|根)?(?:腿|胳膊|手|脚|眼|命|工作|饭碗|钱|手机|钥匙))|失踪|走失|被人?抱走|被拐|联系不上|一夜没回|一晚上?没回|到现在还?没回|放学.{0,3}没回|放学.{0,8}(?:还|都)?没(?:回|到)(?:家|屋)|(?:出门|出去).{0,4}没回|(?:到现在|到这会儿?|一直|一整天|一下午|一晚上?|半天)(?:都|还)?没(?:见|看见|看到)(?:到|着)?人|不见人影|没见(?:着)?(?:人)?影|冇(?:人)?(?:见过|看到|见到)(?:佢|人)|(?:出门|出去|出咗去).{0,10}(?:未返|吂转|冇返|还没回)|唔见(?:咗|左)|揾(?:极)?唔到(?:人|佢)|(?:寻|揾|找)(?:毋|唔|不)(?:到|着)(?!(?:事|工|活|嘢做|工作))|(?:冇|没|未|吂)(?:有)?(?:返|回|转)(?:屋下|屋企|屋家|家|屋里)|全村(?:都)?找遍)"
_NT = r"(?:n't|n’t|nt| not)"  # don't / dont / do not
_CANT = r"(?:can't|can’t|cant|can not|cannot)"
_HIT = r"打(?!电话|手机|工|针|疫苗|预防|钢板|石膏|吊针|吊瓶|点滴|车|扫|听|印|卡|折|包|牌|麻将|球|游戏|算|字|call|开|个|完|招呼|水|饭|酱油|错|药|农药|除草|虫|谷|麦|稻|豆|枣|核桃|草|柴|井|粮)"

# One vocabulary of time and urgency, by role (detect10, 2026-12-07). The context patterns below
# (``_URGENT``, ``_SUDDEN``, ``_HAPPENING``, ``_NOW_HERE``, ``_NOW_SIGNAL``, ``_NOW_OR_DARK``,
# ``_SCENE_NOW``, ``_ACUTE_NOW``, ``_SIGN_NOW`` …) each join the pieces they share with ``_any`` and
# add only what is their own; a piece is written once. A piece is an alternation.
def _any(*pieces: str) -> str:
    return "|".join(pieces)


def _at_words(starts: tuple[str, ...], rest: str = "", not_after: tuple[str, ...] = ()) -> str:
    r"""``\b(?:start|…)rest`` as one alternative per start, each beginning with its first letter as a
    literal (``k(?<!\wk)ill`` is ``\bkill``). When every alternative of a pattern begins with a
    literal, the engine skips each position where none of those letters stands; an alternative that
    begins with a group or ``\b`` makes it try the whole pattern at every position of an English text.
    ``not_after``: ``(?<!his )(?:start|…)`` is written ``p(?<!his p)hone``."""
    return "|".join(s[0] + r"(?<!\w" + s[0] + ")" + _not_after(s[0], not_after) + s[1:] + rest for s in starts)


def _each(starts: tuple[str, ...], rest: str = "", not_after: tuple[str, ...] = ()) -> str:
    """``(?:start|…)rest`` as one alternative per start, each beginning with a literal (see ``_at_words``)."""
    return "|".join(s[0] + _not_after(s[0], not_after) + s[1:] + rest for s in starts)


def _not_after(first: str, words: tuple[str, ...]) -> str:
    return "".join("(?<!" + w + first + ")" for w in words)


# what marks "now": just now, at present, today, in progress, at once, suddenly
_JUST_ZH = r"刚才|刚刚"
_JUST_YUE = r"头先"  # 粤: a moment ago
_JUST_EN = r"right now|just now"
_AT_PRESENT_ZH = r"现在|这会儿"
_UNTIL_NOW_ZH = r"到现在|到而家|到依家"
_TODAY_ZH = r"今天|今早"
_TODAY_DIALECT = r"今晡|今日|今朝"  # 客家 / 粤
_EVENING_ZH = r"今晚|昨晚"  # tonight, last night
_TONIGHT_ZH = r"今晚|今天晚上|今夜|今儿(?:个)?晚上"
_TODAY_EN = r"today|tonight"
_THIS_MORNING_EN = r"this morning"
_HOURS_ZH = r"(?:一|几|两|三|四|五|\d+)(?:个)?(?:多|把|来)?(?:钟头|小时|钟)"  # an hour, hours
_IN_PROGRESS_ZH = r"正在"
_STILL_ZH = r"还在"
_AT_ONCE_ZH = r"马上|赶紧"
_SUDDEN_ZH = r"突然"
_SUDDEN_EN = r"suddenly"
# "now" of an event, not of a state (now we live with our son, now no money, now every rain)
_NOW_EN = (r"n(?<!\wn)ow\b(?! (?:we|i|they|he|she|our|my|just|only|live|living|have|has|no money|need\w*|want\w*|nothing"
           # a state that lasts (now leg still weak: detect14)
           r"|(?:\w+ ){0,2}still (?:\w+ ){0,2}(?:weak|pain\w*|hurt\w*|swollen|numb|sore|limp\w*|cannot work|can't work|not (?:good|strong|well))"
           r"|every (?:rain\w*|time|year|summer|winter|spring|autumn|season|month|week)"
           # a place told as mended (some years ago … now the village is rebuilt: detect15)
           r"|the (?:\w+ ){1,2}(?:is|are) (?:rebuilt|repaired|fixed|fine|ok|okay|better|safe|good|beautiful)))")
# ... and of a sign of illness (now i am better, now he works: a state)
_NOW_SIGN_EN = r"n(?<!\wn)ow\b(?! (?:i am|i'm|we are|he is|she is|they are|i have|we have|he has|she has|live|living|work|working))"
# a sudden sign: nobody can wake them, no breath
_UNRESPONSIVE_ZH = r"叫不醒|喊不醒|没(?:有)?反应|没呼吸|不省人事"
# a cry for help; someone still inside; trapped
_CRY_ZH = r"救命|救救"
_CRY_EN = r"help me|please help(?! (?:for|with)\b)"  # not a plea in a need (please help for livelihood)
_SOMEONE_INSIDE_ZH = (r"被困|出不来|还在里面|(?:" + _CHILD[3:-1].replace("|bb|", "|") + "|" + _ELDER[3:-1] + r"|俺爸|俺妈)(?:还)?在(?:里头|里面)|bb(?:还)?在(?:里头|里面)|(?:里面|里头|屋里)还有(?:人|一个|个|老人|孩子|娃)|人在(?!外|城里|亲戚|别人|学校|工地|广东|省城|县城)"
                      r"|(?<!得)(?<!要)(?<!没)(?<!未)(?<!冇)(?<!无)有人(?!跟|陪|看|照|管|帮|送|说|问|骗|冒充|假冒|拿|借|来看|上门|打(?:电话|来)|来电话|发(?:消息|信息|短信))")
_TRAPPED_EN = r"still inside|trapped|stuck|can't get out|cannot get out"
_ALONE_AT_HOME = r"一个人在家|独自在家|alone (?:at home|in the house)"

# what marks "past / over / habitual": a year before, that time, long ago, often, a death
_PAST_YEAR_ZH = r"去年|旧年|前年"
_THAT_TIME_ZH = r"那回|那次|上回|上次"
_LONG_AGO_ZH = r"以前|小时候"
_OFTEN_ZH = r"经常|老是"
_OFTEN_EN = r"always"
_AGO_EN = r"years? ago"
_LAST_SEASON_EN = r"last (?:year|month|week|summer|winter|spring|autumn)"
_EVERY_TIME_EN = r"every time|whenever"
_DEATH_ZH = r"走了|去世|过世|没了"
# detect15 (2026-12-08): years back, a youth, a death some years since (前些年, 好些年前, 那几年, 早些年, 小时候,
# 年轻时候, 走了七八年了, long time back, some years ago, since many years, "before" at a clause's end):
# one piece, shared by ``_NOT_NOW``, ``_CHRONIC``, ``_OVER``, ``_PAST_WHEN`` and ``_TOLD_ACT``
_YEARS_BACK_ZH = (r"前些年|好些年|那几年|早些年|早几年|早年|(?:好|很)多年前|多年前|[一两二三四五六七八九十几]+(?:来|多)?年前|年轻(?:的)?(?:时候|时|𠮶阵)"
                  r"|细个(?:时|时候|𠮶阵)|细细个|小时候|那些年"
                  r"|(?:走了|没了|去世|过世|死了|过身|走咗|冇咗)(?:有|都)?(?:[一两二三四五六七八九十几好多]+|十来)(?:来|多)?年")
_YEARS_BACK_EN = ("|".join((_each(("long time", "long long time", "some years", "many years", "few years", "years"), r" (?:back|ago)\b"),
                            _each(("since many", "since some", "since few", "for many"), r" years\b"),
                            r"when (?:i|he|she|we) (?:was|were) (?:in|at) (?:school|university)",
                            _at_words(("last time",), r"\b(?! (?:i|you|u|we)\b)", not_after=("the ", "my ")),
                            )))
# "before" at a clause's end, and no "now" after it (non-native English also says "before" of an hour ago:
# she drank pesticide before, now she vomit): a past for illness and damage, never for an act of self-harm
_BEFORE_EN = _at_words(("before",), r"(?=\s*(?:[,.;!?]|and\b|but\b|$))(?!.*\bnow\b)")
_YEARS_BACK = _any(_YEARS_BACK_ZH, _YEARS_BACK_EN, _BEFORE_EN)
_MONTHS_AGO_ZH = (r"上个月|上(?:个)?礼拜|上周|上星期|前几天|前些天|前两天|前些日子|前几年|那年|当年|几年前|前个月"
                  r"|前[一两二三四五六七八九十几]个月|[一两二三四五六七八九十几]个月前|上年|上半年")

# (kind, weight, pattern) on normalized text
_RULES: list[tuple[str, float, str]] = [
    ("self_harm", 1.0, r"不想活|不想再活|唔想(?:再)?(?:活|生存)|活不下去|活不成了|不活了|想死|寻死|去死|死了算了|不如死了|想自杀|自杀|轻生|自尽|了结自己|结束(?:自己的?)?生命|一了百了|遗书|准备了?绳子|买了?绳子|准备了?农药|买了?农药"),
    ("self_harm", 1.0, r"跳河|跳楼|跳崖|(?:要|想|说要)跳下去|农药.{0,4}(?:要|想)喝|跳水库|跳井|跳江|卧轨|上吊|割腕|割脉|喝了?农药|喝药|喝敌敌畏|敌敌畏|百草枯|(?:吃|吞)了.{0,6}安眠药|(?:一瓶|一把|整瓶|好多|很多)安眠药|吞了?.{0,4}药|吃了?.{0,3}一?(?:瓶|把)药"),
    # English (en-crisis: each alternative begins with a literal, see ``_at_words``)
    ("self_harm", 1.0, "|".join((
        r"kill(?:ing)? (?:my|him|her)self|suicid|end (?:my|his|her) (?:own )?life|tak(?:e|ing) (?:my|his|her) (?:own )?life|end (?:it all|everything)",
        _each(("want", "wanna", "going", "gonna", "ready"), " to die"),
        _each(("n't", "n’t", "nt", " not"), r" want to (?:live|be alive)(?! (?:with|in|at|near|here|there|alone|together|next))"),
        _each(("reason", "point"), r" (?:to |in |for me to |of )?(?:go(?:ing)? on|liv(?:e|ing)|keep(?:ing)? (?:on )?(?:going|living)|carry(?:ing)? on|be(?:ing)? alive)"),
        _each(("better off", "rather be"), " dead"),
        _each(("will", "going to", "gonna", "wants to", "threaten(?:s|ed|ing)? to"), r" jump\b"),
        r"wish i (?:was|were) dead|overdose|pesticide",
        _at_words(("nongyao", "anmianyao"), r"\b"),
        r"dichlorvos|paraquat",
        _each(("think", "thinking", "want", "wanna", "better", "just", "maybe"),
              r"\b.{0,10}\bjump\b(?!.{0,25}\b(?:swim\w*|play\w*|rope|dance|high|higher|far|queue|line|trampoline|joy|fun))"),
        r"jump (?:is|are|will be|more) better|hang(?:ing)? (?:my|him|her)self|slit my wrist|cut (?:my|his|her) wrists?"
        r"|jump(?:ing)? (?:off|from|into) (?:the |a )?(?:bridge|roof|building|river|well|cliff|reservoir)",
        _each(("drank", "drink", "drinking", "swallowed"), r" (?:the |some )?(?:poison|weed ?killer)"),
        _each(("swallowed", "took", "taken"), r" (?:a whole|all|a bottle of|too many|so many|lots of|many|all my)\b.{0,12}(?:pills|tablets)"),
    ))),
    # hints: despair, a farewell, a burden lifted, things handed over, a means ready — said
    # without the obvious words; each group counts once, two different groups are certain
    ("self_harm", HINT, r"撑不下去|撑不住了|不想再撑|熬不下去|想不开|想解脱|活着.{0,3}(?:没意思|没意义|多余)|是.{0,4}累赘|不想再(?:连累|拖累)|就解脱|解脱了|" + _CANT + r" (?:go on|take it any ?more)|tired of (?:living|being alive|life)|(?:feel like|want to|wanna|going to|thinking (?:of|about)) giv(?:e|ing) up(?= *(?:$|[.,!?;:…。]|and\b|but\b|now\b|already\b|today\b|tonight\b|soon\b|everything\b|on (?:life|living|everything|myself|it all)))|giv(?:e|ing) up on (?:life|living|everything|myself)"),
    ("self_harm", HINT, r"交代(?:好了?)?后事|后事.{0,8}(?:交代|安排|准备)好|遗言|告别|永别|下辈子再|下辈子见|最后一次(?:给|跟|和|同)?(?:你们|你哋|我们|大家|您|你)|(?:明天|明儿|明早|今晚|今夜|过了今(?:天|晚)|以后|往后)(?:我)?就不在了|last time i (?:write|talk|speak|message|send)|最后一条(?:消息|信息)|last message|(?:said|say|saying) (?:my )?goodbyes?(?: to (?:every|all|my|you))?|goodbye (?:forever|everyone|world)|wrote (?:letters?|goodbye|a note|notes)|thank you for everything(?! (?:you|u) (?:do|did|have done|are doing))|last time you (?:will |'ll )?(?:hear|see)|(?:never|not) wake up again|to never wake up|sleep forever|(?:when|after) i(?:'m| am) gone|(?:will not|won't|wont|never) see (?:you|u) (?:all )?(?:again|anymore|any more)"),
    ("self_harm", HINT, r"(?:以后|再也|不会再|再不|就不)(?:会|用)?(?:不)?(?:拖累|连累|麻烦|给.{0,4}添麻烦)|不(?:再)?(?:拖累|连累)(?:你们|大家|谁|任何人)了|(?:替我|帮我)(?:照顾|照看)好|(?:拜托|麻烦)(?:你们|大家)照顾|(?:" + _NT + r"|no longer|not going to) be a burden|(?:nobody|no one) (?:will|would|has to|needs to) (?:have to |need to )?(?:worry|miss)|(?:won't|wont|won’t|will not) be (?:around|here)|better (?:off )?without me|take care of my (?:kids|children|son|daughter|cat|dog|mother|mom|wife|husband|family)(?: for me| when)"),
    ("self_harm", HINT, r"以后.{0,6}(?:交给你们|靠你们|拜托你们|拜托大家)了|(?:存折|银行卡|房产证|钱|密码).{0,12}(?:交给|留给)(?!.{0,4}(?:管|打理|保管|存着|代办|办事))|(?:given|give|gave|giving) away (?:all )?my (?:things|stuff|belongings|money|savings|dog|cat)"),
    ("self_harm", HINT, r"安眠药|(?:攒|存)(?:够|好|了|着|下)?.{0,3}药|药.{0,3}(?:攒|存)(?:够|好|齐)|(?:^|\s)药(?:都|也)?(?:准备|备)好了|(?:农药|安眠药|那些药|一堆药|绳子?)(?:都|也)?(?:准备|备|买)好了|(?:pills?|tablets|rope|poison) (?:is |are )?(?:all )?ready|(?:saved|collected|stored|hoarded|saving) (?:up )?(?:all |enough )?(?:my |the )?(?:sleeping )?(?:pills|tablets)|take (?:all|every one) (?:of )?(?:them|the pills|my pills)|sleeping pills|(?:have|got|bought) (?:a|the) rope"),
    ("self_harm", HINT, r"(?:站在|坐在|走到|爬到|爬上|来到|到了)了?.{0,4}(?:桥|楼顶|天台|崖|河边|江边|水库|井边|坝上|大坝)(?!.{0,6}(?:晒|收|修|补|钓|拍|照|风景|乘凉|玩|洗))|(?:standing|sitting|standing here) (?:on|at) (?:the )?(?:bridge|roof|rooftop|edge|cliff|dam)"),
    ("self_harm", HINT, r"(?:底下|下面|下头|下边).{0,4}(?:好深|很深|好高|很高|深得很|高得很)|(?:water|river|drop) (?:below |down there )?(?:is )?(?:so|very|really) (?:deep|high|far)"),
    ("self_harm", TIME, _TONIGHT_ZH + r"|今日夜晚|今晚夜|过了今(?:天|晚)|过咗今(?:日|晚)|after (?:today|tomorrow)|结束(?:这一切|一切)|一切都结束|tonight|much longer|(?:finish|end) (?:it|this|everything)\b|after this (?:weekend|week|day)|last night on|the last night"),
    ("violence", 1.0, r"家暴|往死里打|打死|打我|打得.{0,4}(?:血|伤|不行)|被打|挨打|打孩子|打我孩子|他" + _HIT + r"|要" + _HIT + r"|砍我|砍人|要砍|拿(?:着)?刀|举着刀|持刀|拿棍|捅了|被捅|杀我|杀人|要杀|杀了我|杀了(?:全家|你|他|她)|强奸|性侵|猥亵|绑架|被拐|闯进|被关|掐我|勒我|威胁我|追着打"),
    ("violence", 1.0, r"(?:car|truck|van|bus|tractor|lorry|motorbike|vehicle)\b.{0,30}\binto (?:the |a |many |all )?(?:people|crowd|children|kids|students|pedestrians)\b|(?:drive|drives|drove|driving|ram|rams|rammed|ramming) (?:\w+ ){0,4}into (?:the |a |many |all )?(?:people|crowd|children|kids|students|pedestrians)\b"
     r"|(?:开车|开着车|驾车|车子?)(?:故意)?(?:冲|撞)(?:进|向|入|倒|上)?(?:了)?(?:人群|人堆|好多人|一群人|一堆人)"),
    ("violence", 1.0, "|".join((
        r"beat(?:ing)? me|hurting me|hitting me|hit me|has a knife|with a knife|kill me|a(?<!panic a)(?<!anxiety a)(?<!asthma a)ttack|rape|kidnap",
        r"abus(?:e|es|ed|ing) (?:me|my|us|her|him|the (?:kids|children))|abusive|threaten(?:s|ed|ing)? (?:me|us|my|to)|stab|chok(?:e|ing) me|strangl",
        _each(("broke", "break", "breaking", "burst"), " into"), r"locked me (?:up|in)",
    ))),
    ("fire", 1.0, r"着火|救火|火烛|起火|失火|火灾|烧起来|烧着了|火很大|着大火|大火|火烧到|火烧过来|浓烟|全是烟|满屋(?:子)?(?:都是)?烟|on fire|\bfire\b|(?:thick|heavy|full of) smoke|smoke everywhere"),
    ("flood", 1.0, r"发大水|洪水|山洪|决口|决堤|水淹|淹了|被淹|淹到|淹死|水漫|水进屋|被水冲|冲走|泥石流|水(?:已经|都)?(?:到|淹到|漫到|涨到|没到|齐)了?(?:窗户|窗台|腰|胸口|脖子|二楼|床|屋里|门口|膝盖)|水.{0,4}(?:冲进|灌进|涌进)(?:来|屋|家)|(?:在|爬到|爬上|上了|躲到)(?:房顶|屋顶|楼顶|树上).{0,6}(?:等|下不|出不)"
     r"|flood|(?:washed|swept) away|water is (?:coming|rising)|water\b.{0,12}\b(?:get|gets|getting|go|goes|going|keep\w*|still) (?:higher|deeper)\b|water (?:is |has )?(?:up to|reach(?:ed|es|ing)?|at) (?:the |our )?(?:window|roof|waist|chest|neck|second floor)|(?:on|onto) the roof (?:and )?(?:wait|waiting|cannot|can't)"),
    ("disaster", 1.0, r"地震|滑坡|塌方|山塌|房子?塌|房屋倒塌|房子塌了|塌下来|要塌|快塌|被埋|埋了|被压|压在下面|(?:人|他|她|佢)(?:还)?压在.{0,4}(?:底下|下头|下边)|压在(?:车|墙|房子?|石头|土|砖头?|梁|树|拖拉机|三轮)(?:子)?(?:的)?(?:底下|下头|下边)|砸到人|砸伤了?人|被砸|被困|困在(?!床|炕|轮椅)|(?:坡|山|土坎|岩|崖)(?:上|头)?.{0,3}(?:在|正在)?(?:往下|朝下)(?:梭|滑|垮|掉|滚)|(?:山|坡)(?:在|正在)(?:梭|滑|垮)|石头.{0,6}(?:在|正在|一直)?.{0,2}(?:滚下来|往下滚|一直(?:在)?滚|在滚|砸下来)|滚石|(?:楼上|房顶|屋顶|树上)(?:下不去|下不来)"
     r"|龙卷风(?:过来|来|刮过来)了|earthquake|landslide|mudslide|tornado (?:is )?coming|(?:rocks?|stones?) (?:are |keep |keeps )?(?:falling|rolling)|hill(?:side)? is (?:sliding|coming down)|collapsed building|trapped|buried|stuck under|stuck on (?:the )?roof"),
    ("medical", 1.0, r"晕倒|昏倒|昏过去|晕过去|在流血|流着血|(?:高烧|发烧).{0,4}抽筋|半边身子.{0,3}(?:动不了|不能动)|昏迷|叫不醒|喊不醒|不省人事|人事不省|倒地|突然倒|喘不上气|喘不过气|没呼吸|不呼吸|没气了|没有呼吸|心口疼|胸口疼|心脏病犯|心脏病发|中风|抽搐|抽风|口吐白沫|大出血|流血不止|血止不住|止不住血|流了好多血|满头是血|头破血流|一身血|中毒|毒蘑菇|蛇咬|毒蛇|被狗咬|掉水里|掉河里|掉井里|(?<!一)落水(?!就)|溺水|快不行了|人不行了|不行了快|救人|救护车|(?:打|叫|拨)120|要生了|难产|触电|车祸|摔下来.{0,6}(?:不动|不醒|血)|(?<![走干搬拿跑爬扛推挑背拉骑转咬带做种管养抱洗喂伺扶提耕犁砍割劈锄挖煮扫搞弄])不动了"),
    ("medical", 1.0, "|".join((
        r"not breathing|unconscious|collapsed|ambulance|bleeding|heart attack|stroke|seizure|poisoned|poisoning",
        _each(("drank", "ate", "swallowed", "took"), r" (?:some |the )?(?:rat )?poison"),
        _each(("eat", "eats", "ate", "eaten", "drink", "drinks", "drank", "swallow", "swallows", "swallowed"),
              r"\b(?: some| a little| a bit)?(?: of)?(?: the| our| my)? (?:rat |mouse |weed |bug |insect )?(?:poison|pesticide)"),
        r"snake bit|drown|fell and|faint(?:ed|ing)?\b|passed out",
        _each(("won't", "wont", "won’t", "not", "can't", "cant", "can’t", "cannot"), r" (?:wake (?:up|him|her)|waking up)"),
        r"no pulse|chest pain", _each(("can't", "can’t", "cant", "can not", "cannot"), " breathe"),
        r"gas leak|carbon monoxide|in labou?r|giving birth|electrocuted|car accident|hit by a (?:car|truck|bus)|fell (?:from|off)|convuls",
        r"fell into (?:the )?(?:river|water|well|pond)",
    ))),
    ("missing_child", 1.0, _CHILD + r".{0,8}" + _LOST),
    ("missing_child", 1.0, _CHILD + r".{0,10}(?:到处找|找遍了|满村找|找了一?(?:下午|晚上|整晚|夜|整天|天)(?!工作|活))"),
    ("missing_child", 1.0, r"(?:child|son|daughter|kid|baby|boy|girl)\b.{0,60}\b(?:missing|nobody (?:see|saw|seen|find|found) (?:him|her|them)|(?:not|never|didn't|did not|hasn't|has not) (?:come|came) (?:back|home)|(?:is|got|was|are|were) lost|(?:is|has|have|was) gone|(?:,|\band) (?:now|already) gone\s*(?:[,.!;]|$)|(?:been )?gone since|kidnapped|not back yet|still not back|(?:nobody|no one) (?:can|could) find|(?:looked|searched) everywhere)|(?:not|isn't|is not|still not) (?:at )?home (?:since|until now|yet)|search(?:ed|ing)? (?:the )?whole (?:village|town|mountain|area)|can't find my (?:child|son|daughter|kid)"),
    ("missing_child", 1.0, _CHILD + r".{0,10}没(?:去|到|来)(?:学校|上学|学堂).{0,20}(?:没见|找不到|找不着|不在家|没得人|也没得|也没有|冇人|唔见)"),
    ("missing_person", 1.0, _ELDER + r".{0,8}" + _LOST),
    ("missing_person", 1.0, _ELDER + r".{0,16}(?:痴呆|糊涂|记性不好).{0,16}(?:没回来|没回家|不见|找不到)|" + _ELDER + r".{0,20}(?:没回来|没回家).{0,10}天(?:都|已经)?黑"),
    ("missing_person", 1.0, r"(?:grand(?:pa|ma|father|mother)|father|mother|dad|mom|mum|husband|wife|old man|old woman)\b.{0,60}\b(?:is missing|nobody (?:see|saw|seen|find|found) (?:him|her)|(?:still )?not (?:come|came|coming) (?:back|home)|went missing|gone missing|disappeared|got lost|wandered off|(?:been )?gone since|not back yet|still not back|(?:nobody|no one) (?:can|could) find|(?:looked|searched) everywhere|(?:can't|cant|can’t|cannot|could not|couldn't) (?:be )?f(?:i)?nd|(?:not|never|didn't|did not|hasn't|has not) (?:come|came) back)|" + _CANT + r" find my (?:grand(?:pa|ma|father|mother)|father|mother|dad|mom|husband|wife)"
     r"|(?:brother|sister|uncle|aunt)\b.{0,80}\b(?:is missing|went missing|gone missing|disappeared|(?:nobody|no one) (?:can|could) (?:find|reach) (?:him|her))"),
    # the scene without the danger's name (粤/客家 and non-native English included)
    ("medical", 1.0, r"(?:叫|喊|拍|推|摇|摇晃)(?:极|咗|了|着|佢|他|她|都|也|几声|半天|好久)*(?:都|也)?(?:唔|毋|不|没|冇)(?:应|答应|回应|反应|醒)(?!人)|(?:叫|喊|拍|推|摇)(?:佢|他|她)(?:都|也)?(?:没有?|冇|毋)反应|郁都唔郁|郁唔到|唔识郁|一动不动|动都不动|发紫|憋紫|发青|嘴唇紫|唔清醒|不清醒|神志不清|眼(?:睛)?(?:往上)?反(?:晒|白)|眼睛往上翻|成身抽|抽起了|血止唔住|血(?:一直|不停)(?:往外)?(?:冒|流|涌)|(?:跌|掉|落|碌)(?:咗|了|进|到)?(?:落)?(?:河|塘|井|水塘|水库|江|海)(?:肚|里|度)?|野(?:菇|蘑菇|菌子?).{0,10}(?:吐|呕|站不|晕|唔识|不清)|(?:吞|卡)(?:了|咗|着).{0,4}(?:硬币|骨头|东西).{0,6}(?:卡|憋|喘|紫)"),
    ("medical", 1.0, "|".join((
        _each(("not", "no", "cannot", "can't", "cant", "doesn't", "don't", "dont", "won't", "wont"),
              r" (?:answer|respond|wake|move|moving|breath(?:e|ing)?)\b(?! (?:my|the|your|his|her) (?:call|phone|message|letter|email))"),
        _each(("face", "lips?", "skin"), r" (?:is |are |turn(?:s|ed|ing)? |going )?(?:blue|purple)"),
        r"breath(?:e|ing)? (?:very |so )?(?:strange|hard|bad|strangely)",
        r"blood (?:is )?(?:not stop|won't stop|cannot stop|can't stop|coming out|everywhere)", _each(("too much", "much"), " blood"),
        r"wild mushroom|fall (?:in|into) (?:the )?(?:river|water|well|pond|lake)",
        _each(("vomit", "vomiting"), r"\b.{0,20}(?:can ?not|cannot|can't) (?:stand|talk|walk)"),
        _each(("chest", "heart"), r" (?:very |so )?(?:painful|hurts?)"),
    ))),
    ("violence", 1.0, r"(?:拿|攞|揸|拎|举|提|持|握)(?:住|着|著|起)?(?:把|一把)?(?:菜刀|斧头|镰刀|柴刀|砍刀|刀|锄头|枪)(?!.{0,10}(?:割|砍柴|砍树|砍竹|劈柴|切菜|切肉|剁|杀鸡|杀鸭|杀鱼|杀猪|干活|做饭|下地|去地|到地|上山|除草|锄地|挖地|收麦|收稻|修))|(?:菜刀|斧头|镰刀|柴刀|砍刀)(?:(?!柴|菜|草|树|竹).){0,10}(?:追|砍(?!柴|树|竹|草|骨)|斩|劈(?!柴)|转)|斩死|要斩|追住我|追着我|同归于尽|弄死(?:我|你|他|她|我们|你们)|把我(?:反)?锁|掐(?:着|住)?(?:我的?)?脖子|(?:捉住|揪着|抓着|扯住).{0,6}(?:撞|打)|翻墙(?:进|入)|撬(?:我家?的?)?门|踹(?:我家?的?)?门|(?:揽住|抱着|拉着|带着).{0,6}(?:一起|一齐)死"),
    ("violence", 1.0, "|".join((
        _each(("hold", "holds", "held", "grab", "grabs", "grabbed", "squeeze", "squeezing"), r"\w* (?:my|her|his) (?:neck|throat)"),
        _at_words(("lock",), r"(?:s|ed)? me\b"), _each(("knife", "axe", "machete"), r"\b.{0,30}(?:finish|kill|cut|chase|hurt)"),
        _each(("he", "she", "they"), r"\b.{0,20}(?:finish|kill) (?:me|us|all of us)"),
        _each(("break", "broke", "breaking", "kick", "kicked"), r" (?:my|the|our) door"),
    ))),
    ("violence", HINT, r"(?:拉着|带着|揽住).{0,6}(?:一起|一齐)走"),
    ("flood", 1.0, r"水(?:已经|都|已)?浸(?:到|入|咗|过|埋)|水.{0,6}(?:涌入|冲入|冲进|涌进|灌进|入咗屋|入屋|进屋|漫进|往屋里灌)|(?:漫过|淹过|浸过)门槛|水(?:还在|仍在|一直在?|仲喺度|仲)(?:往上)?(?:涨|升)|升紧|water (?:come|comes|coming|came) (?:in(?:side)?|into)\b"),
    ("disaster", 1.0, r"(?:坡|山|坎|岩|崖|泥|土|石头)(?:上|头)?.{0,5}(?:往下|朝下)(?:梭|滑|垮|掉|滚|落|冲)|(?:泥|土|山|石头)(?:一直|一路|不停)?(?:冲落|冲下|崩|塌)(?:紧|嚟|下来|落嚟)|塌紧|崩紧|(?:里面|里头|屋里|入面)(?:还|仲)有人|(?:mountain|hill|hillside|slope)\b.{0,20}\b(?:is |are )?(?:moving|sliding|coming down|falling)|(?:big )?(?:stones?|rocks?|mud) (?:is |are )?coming down|(?:somebody|someone|people) (?:is |are )?still inside"),
    ("medical", 1.0, r"(?:娃|孩子|小孩|宝宝|细路|bb).{0,4}(?:吃|吞|食)(?:了|咗).{0,3}(?:一把|一瓶|半瓶|好多|几颗|一板).{0,8}药|晕低|瞓低咗.{0,6}(?:唔|冇)(?:醒|反应)|(?:饮|食)(?:咗|了)?(?:啲|些)?(?:农药|毒药|老鼠药)|(?:面|嘴)(?:都)?歪(?:咗|了|晒)|讲唔到嘢.{0,6}歪|煤气味.{0,8}(?:晕|倒|唔醒|叫不醒)|抽紧筋|喺度抽筋"),
    ("violence", 1.0, r"(?:佢|他|她)(?:又)?打(?:佢|我|我哋|细路|个仔|个女)|打到(?:流晒血|成身|成面|佢|我)|要(?:打|斩|㓥)(?:死)?(?:我|佢|我哋)"),
    ("disaster", 1.0, r"山泥倾泻|(?:屋|楼|墙)(?:都)?(?:冧|塌)咗"),
    ("fire", 1.0, r"黑烟|(?:好|很|一)大(?:阵|股)?(?:烟)|火冒|black smoke|smoke (?:everywhere|coming)"
     r"|(?:big|much|so much|lots of|a lot of|thick) smoke (?:from|come|comes|coming|out)|flames?\b.{0,12}\b(?:go|goes|went|going|reach\w*|spread\w*|jump\w*|climb\w*|come|coming) (?:(?:to|up|into|on|onto) ){0,2}(?:the |our |my )?(?:roof|house|wall|ceiling|room|upstairs|door|bed|hay|haystack|straw|shed|barn|curtain|kitchen|bedroom)"
     r"|(?:roof|house|kitchen|room|shed|barn|haystack|bedroom) (?:is |are )?(?:burning|catch(?:es|ing)? fire|caught fire)"),
    ("self_harm", 1.0, r"毋想(?:再)?(?:活|过下去|过了)|唔想(?:再)?(?:做落去|过落去)|(?:don't|dont|do not) want (?:to )?wake up|not want to wake up"),
    ("self_harm", HINT, r"(?:攒|存|储)(?:咗|了|够|好|着|下)?(?:(?!钱).){0,8}药|药.{0,8}(?:攒|存|储)(?:够|好|齐|咗|了)|(?:keep|kept|collect|collected|save|saved|saving|hoard|hoarded)\w* (?:all |many |enough |a lot of )(?:my |the )?(?:medicine|pills|tablets|sleeping)|(?:medicine|pills|tablets)\b.{0,20}(?:is |are )?enough"),
    ("self_harm", HINT, r"(?:同|跟|和)(?:啲|我的|我)?(?:仔女|孩子|儿女|子女|家人|屋企人|大家|老婆|老公).{0,4}(?:讲咗|讲了|说了|道了?)(?:再见|别)|以后.{0,8}(?:帮我|替我)(?:去)?(?:看看|照顾|照看|管管)|(?:送给|送人|分晒|分给|送咗).{0,10}(?:用不着|用不上|用唔着)|(?:我啲嘢|我的东西).{0,4}(?:分晒|送人|都送|分给)|安安静静地?走|静静地走|悄悄地走|没人在乎我|冇人在乎我|(?:没人|冇人|没有人)(?:再)?需要我|(?:nobody|no one) (?:need|needs|want|wants) me\b|(?:nobody|no one) care(?:s)? (?:about|for) me|(?:family|kids|children|everyone|everybody)\b.{0,20}happ(?:y|ier) without me|give (?:all )?my (?:things|stuff|dog|cat|money|savings|belongings) to|\bi (?:will )?(?:not|never|won't|wont) (?:come|coming) back\b(?! (?:to|until|till|before|for|on))"),
    ("self_harm", HINT, r"(?:企喺|企响|徛在|站喺)(?:.{0,4})(?:桥|楼顶|天台|崖|河边|江边|水库|井边|坝)|\b(?:i )?(?:am |'m )?(?:stand|standing|sit|sitting) (?:on|at) (?:the )?(?:top of (?:the )?|edge of (?:the )?)?(?:bridge|roof|rooftop|building|edge|cliff|dam)|it is (?:very|so|really) (?:high|deep)|(?:自己|把自己)(?:反)?锁(?:在)?(?:屋|房)"),
    # nlu4 (2026-12-06): plans and farewells said through what is left behind or arranged
    ("self_harm", 1.0, r"绳(?:子)?.{0,8}(?:绑好|挂好|系好|打好结|绑喺|挂喺|绑在|挂在).{0,4}(?:梁|树|门框)|(?:横梁|房梁|梁上).{0,6}(?:绳|套)|(?:poison|pesticide|weed ?killer|rat poison)\b.{0,40}\b(?:will|gonna|going to|want to|wanna) (?:drink|take|swallow)|(?:rope|noose)\b.{0,30}\b(?:barn|beam|tree|ready|tied)"),
    ("self_harm", HINT, r"(?:你们|大家|您|你)(?:就|以后|明天|再也|都|永远){0,3}(?:见不到|见不着|看不到|见唔到|睇唔到)我|(?:别|不要|不用|莫|唔好|毋好|毋使)(?:再)?(?:去)?(?:找|寻|揾)(?:我|𠊎)(?:了|喇|啦)?(?!.{0,10}(?:办|弄|问|说|要|拿|借|帮|玩|聊|吃|喝|自己|找|寻|揾|社工|村|他|她|佢|有事|电话|微信|打牌|上班|赶集|开会))|(?:我|俺|𠊎)(?:走|死|不在)了?(?:以后|之后|后)|再也不(?:会)?(?:起来|醒来|醒)了|睡过去就(?:好|完|解脱)|一觉(?:睡过去|不醒)|(?:do ?n[o']?t|no need to) (?:look|search) for me|(?:meet|see|join) (?:my \w+|you all|you) in heaven|(?:ready to|going to|will) (?:go and )?(?:meet|join) my (?:wife|husband|mother|mom|father|dad|son|daughter)\b(?! (?:at|in town|for))|my last (?:night|day)\b"),
    ("self_harm", HINT, r"(?:存折|存款单|存单|银行卡|密码|房产证|地契|bank ?book|passbook|bank card|savings book|\bpin\b).{0,20}(?:(?:留给|交给)(?!.{0,4}(?:管|打理|保管|存着|代办|办事))|记得(?:去)?(?:拿|攞)|(?:你们|你哋)(?:去)?(?:拿|攞)|for my (?:daughter|son|kids|children|wife|husband|family)|to my (?:daughter|son|kids|children|wife|husband))"),
    ("medical", 1.0, r"(?:疼|痛)(?:得|到)(?:直|满地|满床)?(?:打滚|碌来碌去)|(?:冒|出|一身|满头|满身)冷汗|脸(?:色)?(?:白得|煞白|惨白|白过纸)|rolling (?:on the floor )?in pain|cold sweat|(?:pain|hurt)\w* so (?:much|bad)\b.{0,20}(?:cannot|can't|cant|can not) (?:stand(?! up straight)|talk|breathe|walk)"),
    ("violence", 1.0, r"(?:在|正在|一直)?砸(?:我家的?|我们家的?)?门|(?:还在|正在|又在)打(?!工|针|电话|牌|麻将|球)|(?:hitting|beating|kicking) (?:me|us|my \w+) (?:right )?now"),
    # nlu4, second pass: charcoal in a sealed room, joining the dead, affairs settled, confinement,
    # beating with a tool, stroke signs, swallowed chemicals, a bite that keeps bleeding, a dam giving way
    ("self_harm", 1.0, r"(?:木炭|炭盆|炭火|一盆炭).{0,12}(?:门窗|窗户|窗|门).{0,4}(?:封|关|堵|糊)|(?:门窗|窗户|窗|门).{0,6}(?:封|堵|糊)(?:好|死|上|严).{0,12}炭|(?:charcoal|coal stove|coal fire|coal burner)\b.{0,40}\b(?:windows?|doors?)|(?:seal|sealed|close|closed|shut)\w* (?:all )?(?:the )?(?:windows?|doors?)\b.{0,40}(?:charcoal|coal)"),
    ("self_harm", HINT, r"(?:走了|没了|去世|过世|死了|不在了|走咗).{0,12}(?:也|就)(?:想|要)跟(?:着)?(?:他|她|佢)?(?:一起|一齐)?(?:去|走)|(?:n't|n’t|wont|not|no longer) be a (?:problem|trouble) (?:for|to) (?:anyone|anybody|you|nobody|my)|no (?:more|longer) (?:be )?(?:a )?(?:trouble|burden|problem)s? (?:for|to) (?:you|anyone|anybody|everyone|everybody|my|family|the family)|(?:nobody|no one) (?:need|needs|will need|has to|have to) (?:to )?(?:worry|care) (?:about |for )?me\b|(?:东西|家当|首饰|衣服|存款|积蓄|我的钱)(?:也|都)*(?:分给|送给|分了|送了|分晒|送晒)"),
    ("self_harm", TIME, r"(?:债|欠的钱|欠人家的钱|账)(?:也|都)*(?:还清|还了|结清|算清|还完)|paid (?:off )?(?:every|all (?:my |the )?)debts?|\b(?:debts?|loans?)\b.{0,12}\b(?:pay|paid|return\w*|give|gave)(?: it| them)? (?:back|off|finish\w*|clear|all)|pa(?:y|id) (?:off |back )?(?:all |every )(?:my |the )?(?:debts?|loans?)|everything is settled|(?:settled|settle) (?:all )?(?:my )?(?:affairs|debts)"),
    ("violence", 1.0, r"把(?:我|娃|孩子|她|他|佢|老人|我妈|我们)(?:反)?(?:关|锁)(?:在|起来|喺)|(?:拿|用|揸住|攞住)(?:着|住)?(?:皮带|棍子|棍|鞭子|竹条|竹枝|扫把|衣架|铁棍|木棒).{0,4}(?:抽|打(?!枣|核桃|板栗|栗子|果|蛇|狗|老鼠|草|谷|麦|豆)|揍|扑)|(?:佢|他|她).{0,4}(?:喺度|正在|还在)打(?:紧)?(?:我|佢|细路|娃)|打紧(?:我|佢|细路|阿妈)"),
    ("medical", 1.0, r"(?:说话|讲嘢|讲话)(?:突然)?(?:含含糊糊|含糊|不清|唔清|大舌头).{0,10}(?:手|脚|半边).{0,4}(?:冇晒力|冇力|没劲|没力|抬不起|动不了|郁唔到)|突然.{0,10}(?:半边|一边|只手|一只手|手脚).{0,3}(?:冇晒力|冇力|没劲|没力|抬不起|动不了)|(?:吃|喝|吞|饮|食)(?:了|咗|下|落)?.{0,4}(?:洗衣粉|洗洁精|消毒水|漂白水|洁厕|汽油|柴油|煤油|老鼠药)|(?:drank|drink|drinks|ate|eat|eats|swallowed|swallow) (?:some |the |a bottle of )?(?:bleach|detergent|washing powder|kerosene|petrol|gasoline|cleaning liquid)|(?:炭|煤炉|煤球|炉子|蜂窝煤|煤气|gas|charcoal|stove).{0,14}(?:头(?:好|很|有点)?晕|恶心|想吐|站不稳|晕(?:倒|过去|了)|dizzy|vomit|faint)|血流个?不停|血(?:一直|不停)在?流|(?:狗|蛇)(?:把|将)?(?:我|娃|孩子|小孩|他|她|佢|人|细路|老人|我妈|我爸|奶奶|爷爷).{0,4}咬(?:了|伤|到|咗)|(?:我|娃|孩子|小孩|他|她|佢|细路|老人|奶奶|爷爷)(?:被|俾|畀)(?:野)?(?:狗|蛇|毒蛇).{0,2}咬|(?:take|takes|took|taken|swallow\w*) all (?:of )?(?:her|his|my|the)\b.{0,10}(?:pills|tablets|medicine)"),
    ("flood", 1.0, r"(?:堤|坝|堤坝|大坝|水库|河堤).{0,6}(?:漏水|渗水|裂|决口|管涌|垮).{0,8}(?:越.越(?:大|多|快|宽)|越来越大|越来越多|要垮|要决|要塌)|(?:dam|levee|embankment)\b.{0,20}(?:breaking|leaking|crack)\w*.{0,20}(?:bigger|more|worse)"),
    # nlu5 (2026-12-07): the meaning of a plan or a farewell, each class its own rule (two different
    # hints page): life is over, don't wait for me, no more trouble to anyone, a letter or papers
    # left where the family will find them, dressed for the grave, gone from now on, a means at hand
    ("self_harm", HINT, r"活(?:了)?.{0,8}(?:够了|够本了|到头了|腻了)|(?:今晚|今儿晚上|今天晚上|今夜|今日|这回|这次|明天|明儿)(?:就|也)?(?:到头|了断)了?|(?:lived|live) (?:long )?enough|had enough of (?:life|living|this life)|(?:就|去)?(?:了断|了结)(?!.{0,3}(?:这事|此事|这件|官司|纠纷|案子|手续))"),
    ("self_harm", HINT, r"(?:别|不要|不用|莫|唔好|毋好|唔使|毋使)(?:再)?等我(?:了|吃饭|回来|回家|返)?.{0,10}(?:以后|往后|再也|都不用等|永远)|(?:以后|往后)(?:都|也)?(?:不用|唔使|毋使|莫)(?:再)?等(?:我)?了|(?:do ?n[o']?t|no need to) wait for me (?:any ?more|again|tonight|from now)"),
    ("self_harm", HINT, r"(?:以后|往后|再也|就|再)(?:也|都)?不(?:会)?(?:再)?给.{0,6}(?:添乱|添堵|添负担)|(?:唔会|毋会|不会|以后唔|以后毋)(?:再)?(?:阻住|阻|碍着|碍事|烦住|累住)(?:大家|你哋|你们|人|屋企人|屋下人)|(?:唔使|毋使|不用|不必|莫)再(?:理|管|顾|操心)(?:我|𠊎)|(?:nobody|no one) (?:has|have|need|needs) to (?:take care of|look after|worry about|feed|visit) me"),
    ("self_harm", HINT, r"留(?:了|下|好|咗)?(?:一)?封信.{0,4}(?:给|畀|俾)(?:闺女|女儿|儿子|孩子|娃|家里|家人|你们|你哋|老伴|老婆|老公|仔|女|孙)|(?:给|畀|俾|同)(?:闺女|女儿|儿子|孩子|娃|家里|家人|你们|你哋|老伴|老婆|老公|仔女|孙).{0,4}留(?:了|下|好|咗)?(?:一)?封信|留(?:了|下|好|咗)?(?:一)?封信.{0,4}(?:在|喺)(?:抽屉|枕头|桌|床|台)|信.{0,4}(?:压在|放在|搁在|放咗喺|放喺).{0,6}(?:枕头|抽屉|桌|床|台面)|(?:存折|存款单|存单|银行卡|密码|房产证|地契).{0,12}(?:压在|放在|藏在|搁在|放咗喺|放喺|放咗).{0,8}(?:枕头|床|抽屉|米缸|柜|箱底)|(?:letter|note)s? (?:is |are )?(?:under|on|in) (?:the |my )?(?:pillow|bed|table|drawer)|wrote to my (?:son|daughter|kids|children|wife|husband|family)"),
    ("self_harm", HINT, r"(?:穿上|穿好|换上|换好)(?:了)?寿衣|寿衣.{0,6}(?:穿上|穿好|换上|换好)|(?<![天午上晚周末])(?:我|俺|𠊎)(?:是|就|也|都)?(?:快)?不在了(?!.{0,3}(?:家|村|这|屋))|sleep for good|(?:sleeping|sleep) (?:medicine|tablets|pills)|药瓶.{0,6}(?:手边|身边|手上|手里|旁边|枕头)|(?:pills?|medicine|pill bottle) (?:is |are )?(?:next to me|in my hand|beside me)"),
    ("self_harm", HINT, r"以后.{0,8}(?:帮我|替我)(?:去)?(?:喂|养|浇|收|种)|tell my (?:son|daughter|kids|children|wife|husband|family|mother|mom|father|dad) (?:that )?(?:i am|i'm|im) sorry|tell my (?:son|daughter|kids|children|wife|husband|family|mother|mom|father|dad) (?:that )?sorry\b.{0,30}\b(?:not (?:a )?good (?:daughter|son|mother|father|wife|husband|mom|dad)|i go now|goodbye|forgive me)"),
    ("self_harm", HINT, r"(?:撑|顶|扛|熬)不了了|撑唔落去|撑毋落去|(?:(?:give|gave|given|giving) (?:away )?(?:all my \w+|my \w+ and (?:my )?\w+|my (?:goats?|cows?|pigs?|sheep|chickens|dog|cat|horse|land|house|savings|money)) to (?:my |the )?(?:neighbou?rs?|friend|brother|sister|cousin|nephew|niece|son|daughter)|(?:won't|wont|will not|not going to|no longer) need (?:them|it|these|those|my \w+)(?= *(?:$|any ?more|after (?:today|tonight|this|that)|ever again)))"),
    ("self_harm", HINT, r"(?:(?:同|跟|和)(?:孙子|孙女|孙仔|外孙|爸妈|阿妈|阿爸|老伴|老婆|老公|儿子|女儿|仔|女).{0,6}(?:讲咗|讲了|说了|道了?)(?:再见|别)|把自己(?:关|锁|反锁)(?:在|喺|进)?.{0,4}(?:屋|房|仓|柴房|厕所|里|度).{0,10}(?:不开门|唔开门|毋开门|不应|唔应|毋应|不出来))"),
    ("self_harm", HINT, r"(?:仓房|柴房|里面|里头|入面).{0,6}(?:农药味|药水味|敌敌畏味)"),
    ("self_harm", HINT, r"(?:写|留|录)(?:了|咗|好|低)?(?:一)?(?:封信|段话|些话|的话).{0,4}(?:给|畀|俾|同)(?:闺女|女儿|儿子|孩子|娃|家里|家人|你们|你哋|老伴|老婆|老公|个女|个仔|仔女|孙)|(?:跟|同|给|畀)(?:孩子|娃|闺女|儿子|女儿|仔女|家里人|屋企人)(?:们)?的话.{0,4}(?:录好|写好|说好|讲好|留好)|(?:wrote|write|written|left) (?:a |the )?(?:letters?|notes?|messages?) (?:for|to) my (?:son|daughter|kids|children|wife|husband|family)|最后一(?:回|趟)(?:跟|同|和|给)(?:你们|你哋|大家|您|你)|(?:想|要)(?:去)?(?:找|见|陪)(?:她|他|佢|我)?(?:妈|爸|娘|爹|老伴|阿妈|阿爸|老公|老婆).{0,12}(?:走了|不在了|去世|过世|没了|死了)"),
    ("self_harm", HINT, r"(?:唔想|毋想)再(?:拖累|连累|阻住|烦住)|(?:样样嘢|所有嘢|什么都|啥都|后事|一切)(?:都)?安排好(?:晒|了|咗)"),
    ("self_harm", 1.0, r"(?:don't|dont|do not|don’t|\bnot|\bno) want (?:to )?(?:live|be alive)\b(?! (?:with|in|at|near|here|there|alone|together|next))|\b(?:i|me) (?:want|wanna|wants|will|going to|gonna) die\b|finish (?:myself|my life|my own life)|跳桥|跳坝|(?:drink|drinks|drinking|drank) (?:the |some )?(?:farm )?chemicals?"),
    ("medical", 1.0, r"(?:气|气都)(?:透唔到|透不过|透不上|喘唔到)|smell (?:of )?gas\b.{0,40}(?:fall|fell|faint|dizzy|down)|(?:lips?|face|skin) (?:is |are )?(?:turn(?:s|ed|ing)? |going )(?:blue|purple|grey|gray)|baby is coming(?: now)?\b.{0,30}blood"),
    ("disaster", 1.0, r"(?:ground|earth|house) is shaking|(?:take|takes|took|taken|blow|blows|blew|blown|rip|ripped|tear|tore|torn)\b.{0,6}\b(?:our|the|my) roof (?:away|off)|(?:took|take|takes|blew|blow|blows|blown|ripped|rip|tore|tear) (?:away|off) (?:our|the|my) roof|(?:is|are) (?:stuck )?under (?:it|the wall|the house|the roof|the stones|the rocks|the mud)"),
    ("flood", 1.0, r"水.{0,4}(?:没过|漫过|淹过)(?:了)?(?:脚背|脚面|脚脖子|膝盖|小腿|大腿|腰|床|炕|灶台)|水(?:已经|都)?(?:到|淹到|漫到|涨到|浸到)了?(?:堂屋|屋头|灶屋|院子|房里|炕)"),
    ("fire", 1.0, r"火(?:窜|蹿|烧)(?:到|上)了?(?:房|屋|楼|山|隔壁)|(?:牛棚|猪圈|柴房|草垛|柴堆|仓房)(?:着了|烧起)"),
    ("missing_child", 1.0, _CHILD + r".{0,30}(?:天(?:都)?黑|到现在|到而家|到依家)(?:了)?.{0,4}(?:还|都|仲)?(?:没|冇|未)(?:见(?:人|影)?|回|返)"),
    # 粤/客家 forms of the plain words (nlu5): not wanting to live, fainted, no breath, chest pain, on fire
    ("self_harm", 1.0, r"(?:唔想|毋想|不想)(?:再)?做人|一死了之|想死(?:咗佢|忒)|死(?:咗|忒)(?:佢)?就(?:好|算|一了百了)|(?:今晚|今日|今夜)(?:之后|以后|过后).{0,4}(?:冇|没|无)(?:咗)?(?:我|𠊎)(?:呢|这)个人"),
    ("medical", 1.0, r"(?<![车船])(?:晕|昏)(?:咗|忒)(?!浪|车|船|机)|冇(?:晒)?知觉(?!.{0,3}(?:几|好)?(?:年|个月))|唔省人事|冇晒反应|唞唔到气|唞(?:气)?唔切|心口(?:好|很|痛到)?痛(?:到|得)?.{0,4}(?:唔|不|毋)(?:郁|动|识|得)|毋会动(?:了)?"),
    ("fire", 1.0, r"着(?:咗|忒)火|烧紧|火烧(?:屋|紧)"),
    # weak farewell signs, nothing alone: thanks for all these years, I go first, I have thought it over, at peace
    ("self_harm", TIME, r"(?:这些年|这么多年|咁多年|这几年|几十年)(?:来)?.{0,4}(?:谢谢|多谢|多亏|感谢|照应)|(?:谢谢|多谢|感谢).{0,6}(?:这些年|这么多年|咁多年)|thank(?:s| you) for (?:helping|everything|all)\b.{0,20}(?:these|those|all the|many) years|先走一步|(?:我)?(?:都|已经)想好了|(?:就|都)清净了|就等天黑|(?:i am|i'm|im) ready to go\b(?! (?:to|out|home|back|shopping|now to))|made (?:my )?peace with"),
    # violence with a weapon in hand and a threat; illness by the scene (fever delirium, a fall with
    # a cold body, a face droop); water over the road
    ("violence", 1.0, r"(?:拿着|拎着|提着|举着|攥着|挥着|揸住|拎住|攞住|执住|拿住|渣住)(?:支|把|条|根|一把|一根)?.{0,3}(?:镰刀|菜刀|柴刀|斧头|锄头|铁锹|铁棍|铁通|木棍|棍子|扁担|刀|棍|铁锤).{0,16}(?:砍(?:我|人|死|她|他|佢|谁|你)|杀(?:我|人|死|她|他|佢|谁|你)|打(?:我|人|死|她|他|佢|娃|孩子|细路)|劈(?:我|人|死|她|他|佢)|追(?:我|人|着我|住我)|等我|要我好|好睇|出来就|斩(?:我|人|死|佢)|㓥(?:我|人|佢))|(?:swing|swinging|waving|holding|with|has|got) (?:a |an |the |his |her )?(?:sickle|knife|axe|machete|hammer|stick|bat|hoe)\b.{0,40}(?:scream|shout|yell|kill|chase|threat)|(?:he|she)\b.{0,20}(?:will|gonna|going to|wants? to|want to) (?:cut|stab|hurt|kill) (?:me|us)\b(?! off| out| a deal| some slack)"),
    ("medical", 1.0, _CHILD + r".{0,3}(?:偷)?(?:吃|吞|喝)(?:了|咗|落)(?:床头柜里的|抽屉里的|大人的|.{0,4})?(?:药|药片|药丸|农药|洗衣液|消毒水|老鼠药)|(?:kid|child|son|daughter|baby)\b.{0,20}(?:ate|swallowed|drank) (?:my |the |some |all )?(?:pills|medicine|tablets|bleach)"),
    # the scene of an injury or a drowning without its name (eighth round): no answer when shaken,
    # breath lost from crying, a shoe floating, a pool of red, skin come off from a scald
    ("medical", 1.0, r"(?:拍|叫|喊|摇|推)(?:了|着|她|他|佢)?(?:半天|几下|好久)?(?:都|也)(?:不|唔|毋|没)(?:睁眼|开眼|睁开)|背过气去|(?:鞋|拖鞋|衣服|帽子)漂在(?:水|河|塘)|一摊(?:红的|血)|(?:烫|烧)(?:伤|了|到)?.{0,10}(?:皮都掉|掉了?一?大?(?:片|层)皮|起了?一?大片(?:泡|水泡))"),
    ("self_harm", 1.0, r"(?:食|吃|吞|服)(?:咗|了|晒)(?:成|一|半|好多|几)(?:板|排|樽|盒).{0,3}(?:药|安眠药|丸|片)"),
    ("medical", 1.0, r"(?:烧|发烧|高烧)(?:得|到)?.{0,4}(?:说胡话|讲胡话|讲乱话|糊涂了|不认人)|一头栽倒(?!(?:在|喺)?(?:床|沙发|炕))|栽倒(?:了|在|喺)(?!(?:床|沙发|炕))|(?:嘴|脸|嘴巴)(?:都)?歪(?:着|了).{0,8}(?:说不出|说不清|讲不出|讲唔到|讲唔清|流口水|半边)|(?:跌|摔|栽)(?:咗|了|倒)?.{0,10}(?:冻冰冰|冰凉|不醒|唔醒|不会动|唔郁)|成身冻冰冰|浑身冰凉|全身冰凉|身子都凉了|face (?:is |turn(?:s|ed)? |going )?(?:grey|gray|white as)|(?:fell|fall|falls|fallen)\b.{0,40}(?:not talk|can ?not talk|can't talk|cannot talk|not move|not wake|not answer)"),
    ("flood", 1.0, r"(?:stuck|trapped) in (?:the )?(?:water|flood|river)\b|(?:river|water|flood) is (?:going|coming|running) over (?:the )?(?:road|bridge|bank|house)|(?:泥|土|山|石头)(?:仲|还)?(?:喺度|在)?(?:一直|一路|不停)?(?:冲落|冲下|崩|塌)(?:紧|嚟|下来|落嚟)"),
    ("distress", 1.0, r"救命|救救|快来人|报警(?!器)|出人命|出事了|救我|please help(?! (?:for|with)\b)|\bhelp!|\bemergency\b(?! (?:fund|money|subsidy|assistance|aid|number|loan|relief|allowance))|sos\b|call (?:the )?police|save (?:me|us)\b"),
    # tenth round (2026-12-07): joining the dead told after the death, things not needed any more,
    # the passbook left where it is found, a weed killer drunk
    ("self_harm", HINT, r"(?:走了|不在了|去世|过世|没了|走咗).{0,30}(?:该|要|想)(?:去)?.{0,6}(?:找|陪|见)(?:陪)?(?:她|他|佢)(?:了|去|啦)?(?:$|[ 。,.!])|(?:坟前|坟上|坟头|坟地|墓前).{0,10}(?:陪|睡|躺|不回来)|(?:以后|往后)(?:都|也|就)?(?:用不着|用不上|用唔着|不需要)(?:了|咯|啦|喇)"),
    ("self_harm", 1.0, r"(?:go|going|leave|leaving|gone) (?:away )?from this world|(?:leave|leaving) this world|离开这个世界"),
    ("self_harm", HINT, r"这辈子就(?:这样|这么地|这么着|这么样)(?:吧|了)|(?:去|要去)(?:找|陪|见)(?:老伴|我老伴|老头子|老婆子|我妈|我爸|俺娘|俺爹)(?:了|去了)(?:$|[ 。,.!])"
     r"|(?:买|攞|拎)(?:咗|了)?.{0,3}(?:樽|瓶|包|盒)?(?:老鼠药|耗子药|杀虫药|敌敌畏)(?!.{0,10}(?:耗子|老鼠|虫)(?:多|太多|闹|咬))"),
    ("medical", 1.0, r"(?:胸口|心口)(?:剧痛|绞痛)|冷汗(?:不止|直流|直冒|一直)"),
    ("violence", 1.0, r"(?:棍|刀|铁通|斧|锄头).{0,6}(?:冲|闯)(?:咗|了)?(?:入|进)(?:来|嚟)?(?:我|我哋|我们|我家)?(?:屋企|屋|家|院|门)|(?:with|holding) (?:sticks?|knives|knife|axes?)\b.{0,20}(?:rush|run|ran|break|broke|came|come) into (?:my|our) (?:house|home)"),
    ("missing_child", 1.0, r"\b(?:boy|girl|son|daughter|child|kid|baby)\b.{0,10}\blost since (?:morning|noon|yesterday|last night)"),
    ("self_harm", HINT, r"(?:存折|存款单|存单|银行卡|房产证|地契)(?:就|都)?(?:在|喺).{0,4}(?:枕头|床|抽屉|米缸|柜|箱底).{0,12}密码"),
    ("medical", 1.0, r"(?:喝|吃|吞|饮|食)(?:了|咗|下|落)?.{0,16}(?:除草的|除草剂|除草药|杀虫的|杀虫剂|草甘膦|灭鼠|草枯|打虫的药)(?!.{0,4}(?:怎么|咋|能不能|哪里|在哪))|(?:咬破|吞|吃|喝|舔)(?:了|咗|下|落)?.{0,6}(?:洗衣凝珠|凝珠|洗衣液|纽扣电池|磁珠)|(?:洗衣凝珠|凝珠|纽扣电池|磁珠|洗衣液)(?:给|被)?.{0,3}(?:咬破|吞|吃|喝)(?:了|咗|下|落)|(?:drank|swallowed|drink|ate) (?:some |the |a bottle of )?(?:weed|grass|insect|bug) ?(?:killer|spray)|swallowed (?:a |the )?(?:button battery|magnet|laundry pod)"),
]
# detect11 (2026-12-07): an explosion now, someone washed away or clinging in the river, someone
# fallen into the water who has not come up. An explosion needs a thing that explodes or a place
# where it does (气炸了, 炸鸡, 炸锅, 水管爆了, 轮胎爆了 do not); told as past (去年鞭炮厂炸了 … 补助) it
# is lowered as every fire and disaster. 头 is 里 in 西南官话 (掉到水头, 河头).
_CAPSIZED = r"(?:船|筏子?|竹排)(?:给|被|让)?(?:浪|风)?(?:打|掀)?翻(?:了|咗|忒|掉了|过来了)|翻(?:了|咗)(?:条|只)?船"
# (without the Latin "bb" of ``_CHILD``: these alternatives then run on Chinese text only)
_PERSON_ZH = _CHILD[3:-1].replace("|bb|", "|") + "|" + _ELDER[3:-1] + r"|人|他|她|佢|老大|老二|老三|兄弟|哥|弟|姐|妹|叔|舅"
_SURFACE_NOT = (r"冒(?:都|也)?冒不(?:起来|出来|上来)|(?:没|冇|未|不)(?:有)?(?:再|见)?(?:冒|浮|漂)(?:出来|上来|起来|出头|返上嚟|上嚟|起身)"
                r"|(?:没|冇|未)(?:有)?(?:见|看见|看到)(?:人)?(?:上来|浮上来|冒出来)|(?:" + _PERSON_ZH + r")(?:就|也)?沉(?:下去|到底|底)了?")
_IN_WATER = r"(?:水|河|塘|江|湖|井|水库|渠)(?:头|里|里头|中|当中|肚|度)"
_DETECT11_RULES: list[tuple[str, float, str]] = [
    ("fire", 1.0, r"(?:鞭炮|烟花|炮仗|花炮|烟火|火药|炸药)(?:厂|作坊|仓库|铺)[^\s。,!?]{0,4}(?:爆炸|(?<!气)炸(?:了|咗|忒|开了)(?!锅|[一二两三几半只条个根块眼手腿脚]))"
     r"|(?:煤气|液化气|天然气)(?:罐|瓶|罐子)?[^\s。,!?]{0,4}(?:爆炸|炸(?:了|咗|忒|开了)(?!锅|[一二两三几半只条个根块眼手腿脚]))|(?:煤气|液化气|天然气)(?:罐|瓶|罐子)(?:突然|又)?爆(?:了|咗)|(?:气罐|气瓶|油罐|加油站)(?:[^\s。,!?]{0,4}(?:爆炸|(?<!气)炸(?:了|咗|忒|开了)(?!锅|[一二两三几半只条个根块眼手腿脚]))|(?:突然|又)?爆(?:了|咗))"),
    ("fire", 1.0, r"(?:fireworks?|firecrackers?|gas (?:tank|cylinder|bottle)|lpg (?:tank|cylinder|bottle)|lpg|cylinder|petrol station|gas station|fuel tank)\b.{0,30}\b(?:explod(?:ed|es|ing)|blew up|blown up|blow(?:s)? up)\b"
     r"|\bexplosion\b.{0,30}\b(?:at|in|from) (?:the |a |our |my )?(?:\w+ ){0,2}(?:factory|kitchen|workshop|warehouse|house|restaurant|shop)\b"),
    ("disaster", 1.0, r"(?:工厂|化工厂|厂里|厂子|厂房|窑厂|砖厂|矿上|矿里|矿井|(?<![金煤铁铜])矿(?!泉)|煤窑|井下|窑上|窑里|锅炉(?!房|工))(?:[^\s。,!?]{0,4}(?:爆炸|(?<!气)炸(?:了|咗|忒|开了)(?!锅|[一二两三几半只条个根块眼手腿脚]))|(?:突然|又)?爆(?:了|咗))"),
    ("disaster", 1.0, r"(?:factory|mine|plant|boiler|kiln|workshop|warehouse|pipeline)\b.{0,30}\b(?:explod(?:ed|es|ing)|blew up|blown up|blow(?:s)? up)\b"
     r"|\b(?:explosion|blast)\b.{0,30}\b(?:at|in) (?:the |a |our )?(?:\w+ ){0,2}(?:mine|plant|boiler|kiln|quarry)\b(?!.{0,30}\b(?:every|each|always|daily)\b)"),
    ("flood", 1.0, r"(?:让|叫|被|给|着)(?:大|洪|河|山)?水(?:给)?(?:冲|卷|带|刮)(?:走|跑|没|下去|咗|起走)|(?:" + _PERSON_ZH + r")(?:让|叫|给)(?:大|洪|河|山)?水(?:给)?冲(?:了|咗)"
     r"|(?:河|江|洪水|大水|水)(?:的)?(?:当中|当间|中间|中央|正中|心)[^。,!?]{0,12}?(?:抓|抱|攥|扒|揪|搂|挂)(?:着|住|紧)[^\s。,!?]{0,4}(?:树|木|枝|杈|石头|桩|电线杆|绳)"
     r"|(?:抓|抱|攥|扒|揪|搂|挂)(?:着|住|紧)[^\s。,!?]{0,8}?(?:树|木|枝|杈|石头|桩|电线杆)[^。,!?]{0,12}?(?:河|江|水)(?:当中|当间|中间|中央|正中|心)"
     r"|(?:抓|抱|攥|扒|揪|搂|挂)(?:着|住|紧)(?:河|江|水)(?:当中|当间|中间|中央|正中|心)(?:的)?[^\s。,!?]{0,2}(?:树|木|枝|杈|石头|桩|电线杆)|困在(?:河|江|水)(?:当中|当间|中间|中央|正中|心)"),
    ("flood", 1.0, r"(?:hold\w*|hang\w*|cling\w*|grab\w*)\b(?: on)?(?: to| onto)? (?:a |the |one )?(?:tree|branch|log|pole|rock)\b.{0,20}\b(?:in|into) (?:the )?(?:middle of (?:the )?)?(?:river|water|flood)\b"
     r"|\b(?:washed|swept|carried) (?:\w+ )?away by (?:the )?(?:river|water|flood)"),
    ("medical", 1.0, r"(?:" + _IN_WATER + r"|船|落水)[^。]{0,20}?(?:" + _SURFACE_NOT + r")"
     r"|(?:" + _PERSON_ZH + r")[^\s。,!?]{0,4}(?:掉|跌|摔|栽)(?:到|进|在|了|咗)+(?:水|河|塘|江)(?:头|当中)|(?:" + _CAPSIZED + r")[^。]{0,20}?(?:人|男人|他|她|佢|叔|哥|弟|爸|娃)[^。]{0,6}(?:掉|跌|落|沉)(?:在|到|进|咗|了)*(?:水|河|江)"),
    ("medical", 1.0, r"(?:capsiz\w*|turn(?:ed|s)? over|overturn\w*|flipp?ed(?: over)?|sank)\b.{0,50}\b(?:(?:are|is|still) (?:in|under) the (?:water|river)|went (?:under|down)|(?:not|never|didn't|did not) (?:come|came) (?:back )?up|drown\w*)"
     r"|\b(?:went|go|goes|gone) under\b.{0,30}\b(?:not|never|didn't|did not|no) (?:come|came|coming) (?:back )?up\b"),
    # detect12: someone went into the water after a thing or an animal and has not come up
    ("medical", 1.0, r"(?:跳|下)(?:下)?(?:水|河|井|塘|去)(?:去)?(?:救|捞|拉|追)[^。]{0,12}?(?:也|还|都)?(?:没|冇|未)(?:有)?(?:上来|出来|起来)"),
    # a capsizing alone is asked; told as past (上个月翻船, last summer) it is lowered as every flood
    # detect13: a person fallen into a reservoir told water first (水库里掉下去一个人), or into a ditch, a pond,
    # a cesspit (a thing or an animal there is an idiom, removed before: 狗掉进水沟里了)
    ("medical", 1.0, r"(?:水库|河|江|湖|塘|井|水沟|河沟|水渠)(?:里|头|中)?(?:掉|跌|落|栽|滑)(?:下去|进去|下来)(?:了)?(?:一个|个|两个|几个)?人"
     r"|(?:(?:" + _PERSON_ZH + r")|(?:跟|和|同|连)[^\s。,!?]{1,4}一起)[^\s。,!?]{0,4}?(?:掉|跌|落|摔|栽|滑)(?:进|到|在|了|咗|下)*"
     r"(?:水沟|河沟|水渠|沟渠|粪坑|茅坑|粪池|化粪池|水坑|池塘|鱼塘|水塘|湖)"),
    # detect13: a fit that goes on (抽了十几分钟还没停)
    ("medical", 1.0, r"抽(?:了|咗)(?:[一两二三四五六七八九十几]|好|\d)+(?:多)?分钟(?!.{0,2}烟)|(?:抽|抽筋|抽搐)(?:了)?(?:还|都|仲)?(?:没|不|唔|未)停"),
    ("flood", HINT, _CAPSIZED + r"|\b(?:boat|ferry|raft)\b.{0,10}\b(?:capsiz\w*|turn(?:ed|s)? over|overturn\w*|flipp?ed(?: over)?)"),
]
_RULES += _DETECT11_RULES

# en-crisis (2026-12-07): crises in non-native English — no articles, base-form verbs, run-ons,
# typos (kil myself, no want live, cant breath). A plan is a means and an intent together (the
# rope … tonight i hang, the pills in my hand … i will swallow them); a farewell is made of groups
# that each weigh a hint, so two of them page: things given away, going where one does not come
# back from (after i go, i go now), a goodbye to the family (forgive me, tell my son sorry).
_MEANS_EN = ("pills?", "tablets?", "sleeping (?:pills?|tablets?|medicine)", "poison", "pesticide", "nongyao", "weed ?killer",
             "rat poison", "rope", "noose")
_I_WILL_EN = ("i", "now i", "tonight i")
_WILL_EN = r"(?: will| 'll|'ll| wanna| want to| am going to| going to| gonna| am gonna| just| now| am| 'm|'m)?"
_WEAPON_EN = ("knife", "axe", "machete", "panga", "spear", "cutlass", "sickle", "hammer")
_EN_CRISIS_RULES: list[tuple[str, float, str]] = [
    ("self_harm", 1.0, "|".join((
        _at_words(("kil",), r"l*(?:ing)? (?:my|him|her) ?self"),
        _at_words(("don't", "dont", "do not", "no", "not"), r" want(?: to)? living\b(?! (?:with|in|at|near|here|there|alone|together|next))"),
        _at_words(("leave", "leaving", "left", "finish", "end"), r"\w* this life\b"),
        _at_words(("i",), r" (?:will |wanna |want to |am going to |going to |gonna )?(?:finish|end) (?:everything|it all)\b.{0,30}\b(?:tonight|today|now)\b"),
        _at_words(("tonight", "today", "now"), r" i (?:will |wanna |am going to |going to |gonna )?(?:finish|end) (?:everything|it all|my (?:life|self))\b"),
        # a means and an intent in one message (either order)
        _at_words(_I_WILL_EN, _WILL_EN + r" (?:swallow|drink|eat) (?:them|it|all|the (?:pills?|tablets?|poison|pesticide|nongyao))\b"
                  r"(?=.{0,80}\b(?:" + "|".join(_MEANS_EN) + "))"),
        _at_words(_MEANS_EN, r"\b.{0,80}\b(?:" + "|".join(_I_WILL_EN) + ")" + _WILL_EN
                  + r" (?:swallow|drink|eat|take (?:them )?all|hang)\b(?! (?:the|my|our|clothes|washing|out|up|around))"),
        _at_words(_MEANS_EN, r"\b.{0,60}\b(?:for|to) (?:drink|swallow|eat) (?:it|them)\b"),
        _at_words(("nongyao", "pesticide", "poison", "rope", "pills", "tablets"), r"\b.{0,40}\bfor myself\b"),
        # going where one does not come back from
        _at_words(("go", "going", "goes", "walk", "went"), r"\w* (?:to|into) (?:the )?(?:river|bridge|well|dam|lake|sea|cliff|reservoir|pond)\b.{0,40}"
                  r"\b(?:never|not|won't|wont|will not|no more) (?:come|coming|came|go|going) (?:back|home)\b"),
        _at_words(("say", "says", "said", "tell", "tells", "told", "threaten"),
                  r"\w* (?:she|he|they|i) (?:will |wants? to |going to |gonna |is going to )?jump\b"),
    ))),
    # a farewell, group 1: things given away (to a neighbour, to the family) in any word order; a gift
    # alone is everyday life, so it weighs a time word: it pages with a hint of another group
    ("self_harm", TIME, "|".join((
        _at_words(("cows?", "goats?", "pigs?", "sheep", "chickens", "buffalo", "dog", "cat", "land", "house", "money", "savings", "things",
                   "stuff", "phone", "papers?"), r"\b.{0,6}\b(?:give|gave|given|send|sent) to (?:my|the|our) \w+"),
        _at_words(("give", "gave", "given"), r" my (?:\w+ )?\w+ and (?:my )?(?:\w+ )?\w+ to (?:my|the) \w+"),
    ))),
    # group 2: going, the writer gone (after i go, when i gone, i go now, i not be here)
    ("self_harm", HINT, "|".join((
        _at_words(("after", "when"), r" i (?:go|gone|die|died|dead|leave|left|not here|no more)\b"
                  r"(?! (?:to|out|home|back|there|shopping|for|with|away|on|into|in|at|from|and))"),
        _at_words(("i",), r" (?:will )?(?:not|no) be here\b(?! (?:tomorrow|next|on|for|until|at|when|this|in|till))"),
        _at_words(("i",), r"(?:'m| am)? (?:go|going|walk\w*) to (?:the )?(?:river|bridge|well|dam|lake|sea|cliff|reservoir|pond)\b"
                  r"(?! (?:to|for|and) (?:wash|fish|swim|get|fetch|bring|take|play|water|see|check|look|work|buy|sell|meet))"),
    ))),
    # "i go now" weighs only a time word: with one of the groups it pages, alone (ok i go now bye) nothing
    ("self_harm", TIME, _at_words(("i",), r" (?:go|going|leave|leaving) now\b(?! (?:to|for|home|back|out|shopping|outside|and))")),
    # group 3: no one needs the writer any more
    ("self_harm", HINT, _at_words(("no need me",), r"\b") + "|" + _at_words(("i am", "i'm", "im"), r" (?:only )?(?:a )?(?:burden|useless)\b")),
    # group 4: a goodbye to the family, a sorry sent through someone
    ("self_harm", HINT, "|".join((
        _at_words(("bye", "goodbye"), r" (?:to )?(?:all of you|all|every(?:one|body)|my (?:children|kids|family|son|daughter|wife|husband"
                  r"|mother|mom|father|dad|baby|babies))\b"),
        _at_words(("tell",), r" my (?:son|daughter|kids|children|wife|husband|family|mother|mom|mama|father|dad|baby) (?:i am |i'm |im )?"
                  r"sorry (?:for me|from me)\b(?!.{0,6}\b(?:i|we) (?:cannot|can't|cant|could not|couldn't|not) (?:come|attend|visit|make it|be there))"),
    ))),
    # group 5: forgiveness asked of everyone
    ("self_harm", HINT, _at_words(("forgive",), r" me\b(?! (?:for (?:the|being|asking|bother\w*|disturb\w*|late|my english)|if|please))")),
    # group 6: means at hand (with one of the others it pages)
    ("self_harm", HINT, "|".join((
        _at_words(("pills?", "tablets?", "medicine", "pill bottle", "poison", "nongyao", "pesticide"),
                  r"\b (?:is |are )?all (?:in my hand|next to me|beside me)"),
        _at_words(("sleep",), r"(?:ing)? (?:tablet|medicine)s?\b.{0,20}\b(?:in my hand|next to me|beside me|ready|all|enough)\b"),
    ))),
    ("violence", 1.0, "|".join((
        _at_words(("beat", "beats", "beating", "hit", "hits", "hitting", "kick", "kicks", "kicking", "strangl", "choke", "chokes", "choking"),
                  r"\w* (?:my|our|his|her) (?:mother|mom|mum|mama|wife|husband|child|children|kids?|son|daughter|sister|brother|father|dad|baby"
                  r"|grand\w+|aunt|uncle)\b"),
        _at_words(_WEAPON_EN, r"\b.{0,30}\bchas(?:e|es|ed|ing)\b"),
        _at_words(("chas",), r"(?:e|es|ed|ing) (?:me|us|my|her|him)\b.{0,20}\b(?:" + "|".join(_WEAPON_EN) + r")\b"),
        _at_words(("broke", "break", "breaking", "burst"), r" in(?:side)? (?:our|my|the) (?:house|home|room|door)\b"),
    ))),
    ("missing_child", 1.0, _at_words(("someone", "somebody", "a man", "a woman", "stranger", "strangers", "some men", "people"),
                                     r" (?:take|took|taken|steal|stole|stolen|grab\w*|snatch\w*|carry|carried) (?:my|our|the) "
                                     r"(?:baby|child|son|daughter|kid|boy|girl)\b")),
    ("flood", 1.0, _at_words(("water",), r"(?: (?:is |has )?(?:reach|reached|reaches|reaching|come|came|coming) (?:to|up to) (?:the |our |my )?"
                                         r"(?:window|roof|waist|chest|neck|second floor|bed)"
                                         r"|\b.{0,6}\b(?:tak\w*|took|carry\w*|break\w*|broke) (?:away )?(?:our|my|the) (?:house|home|roof|wall)\b)")),
    ("disaster", 1.0, "|".join((
        _at_words(("mud", "land"), r" slide\b"),
        _at_words(("we", "i", "he", "she", "they"), r"(?: are| is| am|'m|'re)? (?:stuck|trapped|lost) in (?:the )?(?:mountain|snow|forest|cave|well|mine)"),
    ))),
    ("medical", 1.0, "|".join((
        _at_words(("snake",), r" ?bit(?:e|es|ten)?\b"),
        _at_words(("bite", "bit", "bitten"), r" by (?:a |the )?snake"),
        _at_words(("electric",), r"(?:al)? shock"),
        _at_words(("shocked",), r" by (?:the )?(?:electric|wire|power)"),
        _at_words(("gas",), r" smell\b.{0,40}\b(?:fall|fell|faint|dizzy|down)"),
        _at_words(("face",), r" (?:is )?(?:going|go|goes|went|turn\w*|pull\w*|fall\w*) (?:to )?(?:one side|sideways|crooked)"),
        _at_words(("crash", "accident"), r"\w*\b.{0,30}\b(?:many|some|people|person|he|she|they)\b.{0,10}\b(?:hurt|injured|bleeding|dead|die|dying|trapped)\b"),
        _at_words(("swallow",), r"(?:ed|s)? (?:many|all|a lot of|lots of|so many|too many|a bottle of) (?:\w+ )?(?:pills|tablets)"),
    ))),
]
_RULES += _EN_CRISIS_RULES

# detect14 (2026-12-07): a person fallen into a ditch, a canal, a drain or a pond in English (the Chinese of
# detect13), lowered like it when told calmly (``_CALM_FALL``); a snake that has just bitten
_PERSON_EN_WORDS = ("he", "she", "i", "we", "they", "man", "woman", "son", "daughter", "baby", "child", "kid", "boy", "girl", "father", "mother",
                    "dad", "mom", "mum", "husband", "wife", "grandpa", "grandma", "grandfather", "grandmother", "grandson", "granddaughter",
                    "uncle", "aunt", "brother", "sister", "neighbour", "neighbor", "old man", "old woman", "old lady", "somebody", "someone")
_DETECT14_RULES: list[tuple[str, float, str]] = [
    ("medical", 1.0, _at_words(_PERSON_EN_WORDS, r"\b.{0,25}?\b(?:fell|fall|falls|fallen|slipped|slips|slip|tumbled|rolled)(?: down)? (?:in|into) "
                                                 r"(?:the |a |our |some )?(?:ditch|canal|drain|gutter|pond|pool|well|reservoir|cesspit|septic tank"
                                                 r"|irrigation \w+|fish ?pond|water ?hole)\b")),
    ("medical", 1.0, r"(?:毒)?蛇(?:刚|刚刚|刚才|突然|又)咬"),
    # fallen in the water where it is told first (孙子在河沟里摔了一跤): asked, or explained when told calmly
    ("medical", HINT, r"在(?:水沟|河沟|水渠|沟渠|池塘|鱼塘|水塘|河|塘|井|水库)(?:里|里头|里面|头)(?:摔|滑|跌|栽)(?:了|倒|下去|进去|咗)"),
]
_RULES += _DETECT14_RULES
# English look-alikes of detect7 (thirteenth round), made safe in the fourteenth: the last message of
# the day, someone found already, "the waiting is killing me", pesticide for the crops (a farmer's
# errand, not a means). Removed like ``_NOT_DANGER`` only
# when no sudden sign (``_ACUTE_EN``) and no now-signal is there: a man who falls foaming while
# spraying is poisoned, whatever the errand
_LOOK_ALIKE_EN = re.compile(
    r"last (?:message|time i (?:write|message|talk)) (?:for |of )?(?:today|tonight|the day|this (?:week|evening))"
    # someone told as found already (a search that is over)
    + "|" + _at_words(("found",), " (?:already|safe)") + "|already found|"
    + _each(("pain", "waiting", "wait", "heat", "hot weather", "work", "job", "noise", "prices?", "rent", "bills?", "back", "knee", "tooth",
             "headache", "boredom", "this", "it"), r"\b (?:is |are |just |really |so )*killing me")
    + r"|spray\w* (?:some |the )?(?:pesticides?|nongyao)|"
    # detect14: a request told with the office's silence (i apply medical help two weeks before, until now no answer)
    + _at_words(("apply", "applied", "application", "request", "requested", "pension", "subsid", "allowance", "help line", "helpline", "hotline",
                 "office", "form", "card", "asked for", "ask for"),
                r"\w*\b.{0,60}?\b(?:no|nobody|no one|not any) (?:answer|reply|response|news|call\w*(?: me)? back)\b") + "|"
    + _each(("pesticides?", "nongyao"), r" (?:for|on) (?:the |my |our )?(?:rice|field|crops?|corn|vegetables?|trees?|fruit|bugs|insects|cotton|tea)")
)
# Sudden signs of acute illness or injury in simple or broken English (fourteenth round): foam at
# the mouth, shaking or fits, fell down and does not get up, not breathing, blue lips, cannot wake,
# much blood, unconscious, passed out. A rule of their own (medical, certain) and a veto on the
# English look-alikes and on "survived long ago"
_NOT_ = r"(?:not|no|cannot|can't|cant|can not|could not|couldn't|won't|wont|don't|dont|doesn't|didn't|unable to)"
_NOT_WORDS = ("not", "no", "cannot", "can't", "cant", "can not", "could not", "couldn't", "won't", "wont", "don't", "dont", "doesn't",
              "didn't", "unable to")
# (en-crisis: each alternative begins with a literal, see ``_at_words``; the same matches as before)
_ACUTE_EN = re.compile("|".join((
    _at_words(("foam",), r"\w*\b.{0,24}\bmouth"), _at_words(("mouth",), r"\b.{0,12}\bfoam"), _each(("white foam", "foam"), " (?:on|at|from|out)"),
    _each(("body", "whole body", "all body", "arms? and legs?", "legs? and arms?"), r"\b.{0,6}\b(?:shak\w*|shake|jerk\w*|twitch\w*)"),
    r"shak(?:e|ing) (?:all|whole) (?:the )?body|body shak",
    _at_words(("fall", "fell", "falls", "fallen", "falling", r"collaps\w*"), r"\b.{0,30}\b(?:shak(?:e|es|ing)|convuls\w*|jerk\w*)\b"),
    _each(("having", "had", "got", "in", "into"), r" (?:a |the )?(?:fits?|seizures?|convulsions?)\b"),
    _each(("have", "has"), r" (?:a |the )(?:fit|seizure|convulsion)\b"),
    _at_words(("convuls",), r"\w*"), _at_words(("seizure",), r"\b"),
    r"eyes (?:roll\w*|go|goes|went|going|turn\w*) (?:up|back|white)",
    _at_words(("fall", "fell", "falls", "fallen", "falling", r"collaps\w*", "lie", "lies", "lying", "lay"),
              r"\b.{0,40}\b" + _NOT_ + r" (?:get(?:ting)? up|stand\w*|mov(?:e|ing)|wak(?:e|ing)|answer\w*|talk\w*|speak\w*"
              r"|respond\w*|breath\w*|open\w* (?:his|her) eyes)\b(?! (?:long|for long|well|much|a lot|far|straight|properly|it\b))"),
    _each(_NOT_WORDS, r" (?:breath(?:e|ing)?|breath)\b"),
    r"stop\w* breath\w*|breathing (?:very |so )?(?:slow|weak|strange)",
    r"face (?:one side|half|on one side) (?:down|drop\w*|droop\w*|crooked|twist\w*)",
    r"suddenly (?:cannot|can't|cant|can not|not able to|could not|couldn't) (?:speak|talk|move)",
    _at_words(("lip",), r"s? (?:is |are |go |goes |went |become |turn\w* )?(?:blue|purple)"),
    "|".join(w[0] + r"(?<!\bi " + w[0] + ")" + w[1:]
             + r" wak(?:e|ing)\b(?!(?: up)? (?:early|in the morning|on time|for work|for school|at night)| it\b)"
             for w in ("cannot", "can't", "cant", "can not", "could not", "couldn't", "not", "no", "won't", "wont")),
    _each(("much", "lots of", "lot of", "a lot of", "so much", "very much", "many", "full of"), " blood"),
    r"blood (?:everywhere|all over|cannot stop|not stop|keep\w* (?:coming|flowing)|com(?:e|es|ing) out|from (?:his|her) (?:head|mouth|nose|ears?))",
    r"bleed\w* (?:a lot|so much|very much|heavy|heavily|too much|everywhere|" + _NOT_ + r" stop)",
    _at_words(("unconscious",), r"\b"), r"pass(?:ed|es|ing)? out\b(?! (?:the |leaflets|flyers|papers?|food|gifts))", _at_words(("fainted",), r"\b"),
    _at_words(("leg", "arm", "foot", "ankle", "knee", "hip", "wrist", "elbow", "shoulder", "bone"),
              r"s?\b.{0,12}\b(?:bend|bends|bent|bending|turn\w*|twist\w*|point\w*|go|goes|went|look\w*)\b.{0,8}\b(?:wrong|strange|strangely|funny|weird)\b"),
    r"bone (?:is )?(?:stick\w*|com(?:e|es|ing)|came|poke\w*) out",
    _each(("grab", "hold", "clutch", "press"), r"\w* (?:his|her|the|my) chest"),
    _each(("cannot", "can't", "cant", "not"), r" move (?:one|half|his|her) (?:side|body)"),
)))
_COMPILED = [(kind, weight, re.compile(p)) for kind, weight, p in _RULES]
_COMPILED.append(("medical", 1.0, _ACUTE_EN))
# A top-level alternative written in Latin letters only (English) cannot match a text without one,
# and one written without Latin letters (Chinese) cannot match a text of ASCII characters only. Each
# pattern runs without the alternatives that cannot match the message's script (most messages are
# Chinese; English ones are long, and the Chinese alternatives cost most there), and the English-only
# vetoes are skipped on a text without Latin letters. The first match is the same, as the dropped
# alternatives match nowhere in it (detect10; tests/nlu/test_emergency.py holds that each such
# alternative needs a Latin letter, or a non-ASCII character).
_LATIN = re.compile(r"[A-Za-z]")
_ESCAPE = re.compile(r"\\.")
_SCRIPTS = ("no_latin", "ascii", "mixed")


def _script(text: str) -> str:
    if _LATIN.search(text) is None:
        return "no_latin"
    return "ascii" if text.isascii() else "mixed"


def _latin_only(pattern: str) -> bool:
    return re.search(r"[^\x00-\x7f’]", pattern) is None


def _chinese_only(pattern: str) -> bool:
    return _LATIN.search(_ESCAPE.sub("", pattern)) is None


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regular expression."""
    parts, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 1
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c in "()":
            depth += 1 if c == "(" else -1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return parts + [pattern[start:]]


def _for_script(pattern: re.Pattern, script: str) -> re.Pattern | None:
    """``pattern`` without the alternatives that cannot match a text of ``script`` (None: nothing left)."""
    if script == "mixed":
        return pattern
    cannot = _latin_only if script == "no_latin" else _chinese_only
    alternatives = _alternatives(pattern.pattern)
    kept = [a for a in alternatives if not cannot(a)]
    return pattern if len(kept) == len(alternatives) else re.compile("|".join(kept)) if kept else None


# the rules as they run on each script; the last rule, ``_ACUTE_EN``, is also the veto searched on
# the whole text, whose match it takes when no idiom was removed
assert _COMPILED[-1][2] is _ACUTE_EN
_SCAN = {script: [(kind, weight, p) for kind, weight, pattern in _COMPILED[:-1] if (p := _for_script(pattern, script))]
         for script in _SCRIPTS}
# the sign is an animal's (the dog foam at mouth, our pig is shaking): a vet's need, not a page
_ANIMAL_SIGN = re.compile(r"\b(?:dogs?|pigs?|piglets?|cows?|cattle|buffalo|chickens?|hens?|ducks?|cats?|sheep|goats?|horses?|rabbits?)\b(?! bit)(?:(?!\b(?:he|she|him|her|man|woman|son|daughter|baby|child|kid|father|mother|husband|wife)\b).){0,14}\b(?:foam|shak|fit|seizure|convuls|not breath|cannot stand|blood|bleed|fell|fall|lying|lie)")
_PERSON_EN = re.compile(r"\b(?:he|she|him|her|i|me|we|man|woman|son|daughter|baby|child|kid|boy|girl|father|mother|dad|mom|mum|husband|wife|grand\w+|uncle|aunt|brother|sister|neighbou?r|old (?:man|woman|lady))\b")
_SIGN_NOW = re.compile(_any(_NOW_SIGN_EN, "just", _SUDDEN_EN, _THIS_MORNING_EN, _TODAY_EN, "right away"))
_PAST_EN = re.compile(_YEARS_BACK_EN + "|" + _BEFORE_EN + r"|when (?:i|he|she|we) (?:was|were) (?:young|small|little|a child|a kid)|every (?:day|time|year)|" + _at_words(("sometimes",), r"\b"))

# Meanings told by two or three parts together (eighth round (c), 2026-12-07): each part alone is
# everyday talk, together they tell a danger now. A question at least; see ``_meaning_hits``.
# 1. a person missing now: someone + not found / unreachable / a search + now or dark
_SOMEONE = re.compile(_CHILD + "|" + _ELDER + r"|他|她|佢|老头子?|老太太?|老爷子|小宝|[\d一二三四五六七八九十两]岁|\b(?:son|daughter|boy|girl|baby|child|kid|grand(?:pa|ma|father|mother|son|daughter)|mother|father|mom|mum|dad|husband|wife|he|she|old (?:man|woman|lady))\b")
_NOT_FOUND = re.compile(
    r"没(?:有)?下(?:车|来)|冇落(?:车|嚟|来)?(?!雨)|(?:一转头|一转身|一转眼|一眨眼|一回头|一会儿工夫).{0,8}(?:没了|不见|唔见|冇咗|找不|不晓得|没影|人就)"
    r"|不知道(?:在哪|跑(?:到)?哪|(?:他|她|人)(?:去|在|跑)?(?:了)?哪)|不晓得(?:跑|在)(?:到)?(?:哪|啥子地方)|唔知(?:去咗|喺)边"
    r"|(?:电话|手机)(?:也|都|又|一直)?(?:打不通|关机|没人接|打唔通|唔通|不通|冇人听)|人(?:就|都|却)?(?:没了|不见了?|没回来|冇返|唔见)|(?:满坡|满山|满村|到处|四处)(?:喊|叫|找|寻|揾)|(?:寻|揾)(?:遍|极)|揾唔到"
    r"|(?:都说|个个都话|谁都说|都话)(?:不知道|没看到|没看见|唔知|冇见)|问了.{0,8}(?:都说|都话)?(?:不知道|没看到|没看见|唔知)"
    r"|(?:没|还没|冇|未|吂)(?:到|回到|返到)(?:家|屋|屋企|屋下)|(?:出去|出门|出咗去|出嘅门)(?:了)?.{0,14}(?:到现在|到而家|天(?:都|快|已经)?(?:黑|乌))|哪(?:儿|里|都|哈)?(?:都|也)(?:没有|没见|找不|冇|没得|不见)|还是没得|(?:都|也)冇见(?:人|佢)|问遍|找遍|揾(?:过|遍)|寻(?:过|遍)|到处找|满村找|(?:找|揾|寻)了.{0,6}(?:没有|没找到|都没|冇)|搜遍"
    r"|(?:衣服|衫|鞋|拖鞋)(?:子)?(?:还|仲)?(?:在|放在|喺).{0,4}(?:河|塘|水库|岸|坝)"
    r"|(?:nobody|no one|no body) know(?:s)? where|(?:cannot|can't|cant|can not|could not|couldn't|not) (?:find|see) (?:him|her|them)\b|not get off|(?:was|is|were)(?:n't| not) (?:on|in|inside)(?: it\b| the (?:bus|van|car|boat|truck)|\s*[,.!]|$)|(?:is |are )?not (?:at )?home\b|not (?:arrive|reach)\w* (?:at )?home|(?:search|look)(?:ed)? everywhere"
    r"|phone (?:cannot|can't|cant|not) (?:call|reach|answer|connect)|clothes? (?:is |are )?still on|(?:not|no) (?:come|came|coming) (?:back|home)|not back"
    # tenth round: not found yet, still not back, not seen for hours (还没找着, 仲未返, 都没回, dont see her for three hours)
    r"|(?:还|都|仍)?没(?:有)?(?:找着|找到|寻着|寻到)(?:人)?(?=\s|$|[。,.!?])|(?:仲|都|还|仍)(?:未|冇|没|吂)(?:返|回|转|见)|(?:到现在|到这会儿?|到而家|到依家)(?:都|还|仲)?(?:没|未|冇)(?:回|返|见|下来)"
    r"|(?:don't|dont|do not|didn't|did not|not) see (?:him|her|them)\b|(?:friends?|others|the other \w+) (?:came|come) back (?:and|but) (?:he|she) (?:didn't|did not|not)"
)
_NOW_OR_DARK = re.compile(_any(
    _UNTIL_NOW_ZH, r"到这会儿?|天(?:都|快|已经|要)?擦?(?:黑|乌)", _TODAY_ZH, _TODAY_DIALECT, _JUST_ZH, r"刚(?:还|在)|才还", _JUST_YUE,
    r"一转头|一转身|一转眼|一眨眼|这都|还没|仲未|都未|一会儿工夫",
    r"(?:别的|其他|其它).{0,4}都.{0,2}(?:下车|下来|落(?:晒)?车|到|回)|校车|接送车|(?:幼儿园|学校)(?:的|嘅|架|个)?车",
    _each(("school bus", "kindergarten bus", "bus"), r"\b"), _at_words(("now", "night"), r"\b"), _TODAY_EN,
    _at_words(("dark",), r"\b"), r"the other (?:kids|children)|hours? ago|minutes? ago", _at_words(("still",), r"\b"), _THIS_MORNING_EN,
    _at_words(("one", "an", "half an?", "two", "three"), r" hours?\b"),
    _at_words(tuple("0123456789"), r"\d* hours?\b"), r"而家|依家|这会儿", _HOURS_ZH,
    r"for (?:two|three|four|five|six|several|many|\d+) hours|this evening|getting dark"))
# a farewell that arranges one's own funeral (他的丧事要怎么办, what he wants at his funeral), and
# someone nobody can find or reach (detect9, 2026-12-07): a page
_OWN_FUNERAL = re.compile(
    r"(?:他|她|佢|我|俺|𠊎|自己)(?:的|嘅|个)?(?:丧事|后事|身后事|葬礼|追悼会|坟|墓)"
    r"|(?:his|her|my) (?:own )?(?:funeral|grave|burial)|(?:bury|burn) (?:him|her|me)\b")
_UNREACHABLE = re.compile(
    r"(?:谁|哪个|边个|冇人|没人|都)(?:都|也)?(?:找不到|找不着|揾唔到|寻毋到|联系不上|联系唔到)|揾唔到(?:佢|人)|找不(?:到|着)(?:他|她|人)|(?:电话|手机)(?:就|也|都|又|一直)*(?:关机|关咗机|打不通|打唔通|没人接|冇人听)"
    r"|(?:nobody|no one|we|they) (?:can|could|cannot|can't|cant|can not|could not|couldn't) (?:find|reach|contact|call) (?:him|her)\b|(?:phone|mobile) (?:is )?(?:off|switched off|turned off|no answer)")
_SAID_BYE = re.compile(r"(?:说|讲|话|发)(?:句|声)?(?:再见|拜拜)(?:了|咗|啦)|\b(?:said|say|says|send|sent) (?:goodbye|bye bye)\b")
_DIED = re.compile(_any(_DEATH_ZH, r"走咗|过身|死了|死咗|\b(?:died|dies|die|dead|passed away)\b"))
# 2. a farewell told as a plan: two of settling affairs, a burden, leaving for a place, don't look
#    for me or sorry (a move away lowers it, as every farewell hint)
_PLAN_PARTS = [re.compile(p) for p in (
    r"(?:债|账|钱|数).{0,6}(?:都|全|晒)?(?:还清|还了|还完|还净|还晒|还上)|(?:一笔一笔|都)还了|(?:都|全)送(?:人|给人|晒)|(?:事情?|东西|后事)(?:我)?(?:都|全)?(?:安排|收拾|交代|料理)(?:好|完)|give back (?:all )?(?:the )?money|(?:钱|存折|卡|地契|房契|钥匙|锁匙|钱).{0,10}(?:打给|转给|转咗俾|留给|交给|放在|放喺|搁|压在)"
    r"|pa(?:y|id) back (?:all )?(?:my|the)|(?:send|give|gave) (?:the |all )?(?:my )?money to|sell\w* (?:the |my )?(?:cow|pig|house|land|yak)s? and give|keys? (?:is |are )?under",
    r"累赘|拖累|包袱|添累|废人|活着(?:有啥|有什么|也没|冇)用|\bburden\b|\buseless\b",
    r"(?:今晚|今夜|今儿夜里|今天晚上|今晚上)(?:我|俺)?(?:就)?(?:走|去)|(?:我|俺)(?:也)?该走了|(?:我|俺|𠊎)走了|就这样吧|(?:去|到|在|往|朝)(?:了)?.{0,2}(?:塘|河|江|井|水库|大桥|桥|湖|崖|坝)(?:边|那边|坝|上|头|去|走)|(?:near|at|by|on) the (?:lake|river|pond|bridge|dam|well|sea|cliff)|喺桥上|(?:tonight|today) i (?:go|leave|walk)|walk into the (?:river|water|lake|sea|pond)|(?:去|上)(?:了)?后山|i go to the (?:pond|river|lake|bridge|dam|well)|on the bridge",
    r"(?:别|不要|莫|唔好|唔使|毋使|不用)(?:来|再)?(?:找|寻|揾|等)(?:我|俺|𠊎)|对不起|对不住|对唔住|不想回(?:去|家)了|(?:dont|don't|do not) (?:look for|wait|search)|\bsorry\b",
    r"谢谢.{0,4}养(?:我|她|他)?|(?:电话|手机)(?:就)?关机|关(?:咗|了)机|phone (?:is |was |then )?(?:turn(?:ed|s)? off|switch(?:ed|es)? off|off\b)(?!.{0,16}(?:battery|charg|no power|no signal))|(?:turn|switch)(?:ed|s)? off (?:her|his|my|the) phone"
    r"|take care (?:of )?(?:our|my) (?:son|daughter|kids|children|baby|family|mother|mom|father|dad)",
)]
# 3. acute illness told by the scene: cold hands, confusion, no answer + a sickness of a day and night
_ILL_STATE = re.compile(
    r"手脚(?:都|也|很|好)?(?:冰凉|冰冷|发凉|冰|凉|冻|冷)|冻冰冰|企唔稳|站都站不稳|嘴唇(?:发白|发干|发紫)|只(?:会)?哼|(?:小便|尿)(?:都|也)?没(?:有)?了|哭(?:都|也)?没(?:有)?眼泪|(?:说|讲)胡话|乱讲嘢|迷迷糊糊|人(?:都)?糊涂了|叫(?:她|他|佢)?(?:都)?不(?:怎么|太)?应|不睁眼|唔识人|唔认得人|不认人|认不得人|软绵绵|眼睛(?:都)?睁不开|脱水|眼窝.{0,3}陷|(?:叫|喊)(?:他|她)?(?:也|都)?没(?:什么|啥)?反应"
    r"|(?:hands?|feet|foot|skin|body)\b.{0,10}\bcold\b|confused|not know who|(?:cannot|can't|cant|not) (?:stand|talk clear)|not (?:open|opening) (?:his|her) eyes"
)
_ILL_ONSET = re.compile(r"一天一暝|(?:开始|一直|又)(?:拉|吐)|(?:拉|吐|屙|呕)(?:了|咗)|拉肚|拉稀|跑肚|屙|泻|吐|呕|烧|一天一夜|一宿|一整天|成日成夜|一晚上|diarrh|vomit|fever|all night|one day one night")
# 4. violence at the door now: a weapon or a beating at the door, lights out, hiding
_WEAPON = re.compile(r"锤|斧|铁锹|镰刀|铁棍|棍|刀|枪|\b(?:hammer|knife|axe|stick|gun|machete)\b")
_AT_DOOR = re.compile(r"门外|门口|院门|外面|外头|(?:把)?灯(?:都)?关|关了灯|熄(?:晒)?灯|躲|顶上|outside|at the (?:gate|door)|turn(?:ed)? off the light|\bhid(?:e|ing)?\b")
_WORK_TOOL = re.compile(r"杀(?:鸡|鸭|鱼|猪|鹅|羊)|宰|剁|干活|下地|上山|砍柴|劈柴|切菜|修|磨|卖|买|for work|to work")

# Tenth round (2026-12-07): meanings of needs told calmly whose content is acute now.
# 5. someone alone who does not answer now or for days (a fall, a stove, a stroke behind the door)
_FUMES = re.compile(r"煤气味|炭盆|炭火|煤炉|gas smell|smell of gas")
_ALONE = re.compile(r"一个人(?:在家|住|在屋|过)|独居|独自(?:在家|住)|留守老人|孤老|\b(?:lives?|living|is|stays?) (?:there |here )?alone\b|alone at home")
_NO_ANSWER = re.compile(
    r"(?:敲门|叫门)(?:也|都)?(?:没人|冇人|不)开|没人开门|敲门.{0,4}(?:没人|不|冇人|唔)应|(?:电话|手机)(?:也|都|就|又)?(?:没人接|打不通|不接|关机|断了)|没(?:有)?接电话|再打(?:也|都)?没人接|(?:叫|喊)(?:门|她|他)?.{0,3}(?:没人|不)应"
    r"|(?:not|doesn't|does not|don't|didn't) (?:pick up|answer)|no ?(?:one|body) (?:answer|open)")
_DAYS = re.compile(r"[两三几]天(?:都|了|没)|一整天|昨天(?:也|都)?没|好几天|(?:two|three|several) days")
# 6. a scene of danger now with someone in it: what fails or comes in, still going on, someone inside
_SCENE = re.compile(
    r"(?:往下|一直)(?:掉|滑|落|垮|塌)(?:土|泥|石|砖)?|掉(?:土|石头|砖)|裂(?:缝|口)?.{0,6}(?:宽|大|长)|(?:屋顶|房顶|瓦).{0,6}(?:掀|吹)(?:走|掉|翻)|往屋里(?:灌|流|进)|水(?:漫|涨|进|灌).{0,6}(?:屋|灶|床|门|院|台阶|路)"
    r"|(?:冒烟|火苗|火星).{0,8}(?:房梁|屋顶|房子|草房|上了|落到)|煤气味|气味.{0,4}(?:浓|重)|(?:房顶|屋顶|梁|墙)(?:一直)?(?:在)?(?:响|晃)|怪味.{0,10}(?:头晕|想吐|迷糊)"
    r"|(?:wall|roof|ceiling|hill|slope)\b.{0,20}\b(?:crack|moving|falling|coming down|blown)|(?:gas|smoke) smell|(?:water|river)\b.{0,20}\b(?:come|coming|came|is) up\b.{0,20}\b(?:fast|door|house)|smell (?:of )?(?:gas|smoke)|water\b.{0,20}\b(?:in|into) (?:our|the) house")
_SCENE_NOW = re.compile(_any(_at_words(("fast",), r"\b"), _AT_PRESENT_ZH, _JUST_ZH, r"刚(?:被|才)|一直|越来越|越.越|比.{0,4}(?:早上|刚才|昨天).{0,3}(?:宽|大|多|高)",
                           _STILL_ZH, _IN_PROGRESS_ZH, r"now\b", _at_words(("keep",)), "getting|still"))
_INSIDE = re.compile(
    r"在(?:床上|楼上|房顶|屋顶)|(?:还|仲)(?:在|喺)(?:屋|里|家|床)|(?:在|喺)(?:屋里|里屋|屋头|屋企|屋下|楼上|二楼)|出不去|走不了|背不动|抬不动|行唔到|没地方躲|躲不|(?:睡|躺)着|腿脚不(?:好|方便|利索)"
    r"|\b(?:still |people |are |is )inside|upstairs|cannot (?:walk|get out|move)|sleeping|we are \w+ people")
_WORRY = re.compile(r"怕|担心|万一|预防|防止|以防|一到|每年|每次|雨季|afraid|worried that|in case|every (?:year|time)")
# 7. confinement: locked in, not let out, the phone taken, writing in secret
_CONFINE_PARTS = [re.compile(p) for p in (
    r"锁着门|锁(?:着|住|在|喺)(?:我|她|他|佢|我们|我哋)?|关着(?:我|她|他|佢)|(?:关|锁)在屋里|\block(?:s|ed)? (?:me|her|him|us|my \w+)\b",
    r"不(?:让|准|畀|俾)(?:我|她|他|佢|我们)?出(?:门|去|屋|街)|(?:don't|dont|not) let (?:me|her|him) (?:go|out|leave)",
    r"(?:手机|电话)(?:也|都)?(?:被)?.{0,3}(?:收走|抢走|没收|拿走|摔了)|借.{0,6}(?:手机|电话)|偷偷|(?:take|took|takes) (?:my|her|his) phone|from the window",
)]
# 8. a threat and fear now: told to "see what happens", hiding, not daring to open the door
_THREAT = re.compile(r"(?:让|要|给)(?:我|你|我们|我哋)(?:好看|好睇)|不会放过|饶不了|要(?:我|你)的命|找(?:我|你)算账|(?:把|将)(?:我家?|我们家?)?(?:的)?(?:房子?|屋)(?:给)?(?:点|烧)了|(?:kill|hurt|burn)\b.{0,12}\b(?:me|us|house)|make (?:me|us) pay")
_FEAR_NOW = re.compile(_any(_TONIGHT_ZH, "tonight", _ALONE_AT_HOME, r"不敢(?:开门|出声|出去|回去|回家|睡|出门)|唔敢(?:开门|出声|出去|返)|躲(?:在|到|着|喺|埋)|把门(?:顶|闩|锁)|(?:am|are) (?:scared|afraid|hiding)|lock(?:ed)? (?:the|our) door"))
# 9. a sudden illness told by its signs now: a stroke, a heart, choking, a fall, poison, a wound
_ACUTE_SIGN = re.compile(
    r"说不出话|(?:嘴|脸)(?:有点|都)?歪|拿不住|抬不起|(?:胸口|心口)(?:闷|疼|痛|像|压)|(?:出|冒)(?:冷|虚)汗|(?:浑身|全身)(?:发抖|抽)|(?:喘气|呼吸)(?:有(?:响)?声|急|困难|不上)|喘(?:不|得急)|气(?:也)?出得急"
    r"|(?:脸|嘴唇)(?:色)?(?:发白|发紫|发青|憋得)|眼睛(?:都)?(?:睁不开|半睁)|(?:反应慢|不怎么理人|不理人|叫不应)|一直(?:吐|想睡|流血)|(?:摔|跌|倒|滑).{0,6}(?:起不来|爬不起来|站不起来)|含含糊糊|说(?:话)?(?:都)?说不清|讲嘢.{0,3}(?:黐脷|唔清)|行(?:路)?(?:都)?行唔稳|呼吸有声|喉咙(?:好)?紧|肿得|(?:血|水)(?:还在|一直)?(?:渗|流)|流了好多(?:水|血)|乱讲|(?:压|轧)烂|烧得慌|迷迷糊糊|喘(?:唔|不)顺|软晒|瘫软|(?:唔识|不会)(?:讲嘢|说话)了?|(?:叫|喊).{0,4}没(?:有)?动静"
    r"|cannot (?:lift|move|stand up|breathe)|speech is strange|(?:very )?(?:sleepy|weak|confused)\b.{0,20}\b(?:not|confused|weak)|body is soft|lot of blood|still coming|cannot stand")
_ACUTE_NOW = re.compile(_any(_TODAY_ZH, _TODAY_DIALECT, "今儿", _JUST_ZH, _JUST_YUE, _SUDDEN_ZH, _AT_PRESENT_ZH, "而家",
                            "下午开始|早上起来|开始|当时没事", r"now\b", "since one hour", "today", _THIS_MORNING_EN, "just"))

# idioms and phrases that contain a trigger but never mean danger; removed before matching
# detect12 (2026-12-07): things and animals that fall into the water or are washed away (``_NOT_DANGER``).
# A noun starts a word: after the start, a space or punctuation, 的/家/我/俺…, or a measure word.
_NOUN_START = r"(?:^|(?<=[\s。,!?的家我俺咱你他她们嘅啲把只头条匹群窝些个串副块部台双根支张]))"
_THING_ZH = (r"(?:手机|电话|车钥匙|钥匙|锁匙|钱包|荷包|水桶|吊桶|提桶|铁桶|桶|脸盆|盆|水瓢|瓢|碗|勺子?|拖鞋|鞋子?|草帽|帽子"
             r"|老花镜|眼镜|书包|包|锄头|镰刀|扁担|衣服|衣裳|床单|被单|戒指|耳环|项链|手表|本子|身份证|存折|银行卡|充电宝"
             r"|耳机|手电筒|电筒|竹竿|篮子|筐|绳子|伞|饭盒|水壶|保温杯|杯子|瓶子|斧头|铲子|秤|玩具)")
_ANIMAL_ZH_WORD = (r"(?:小狗|狗仔|狗|小猫|猫|小牛|牛犊|水牛|黄牛|牛|羊羔|小羊|羊|小猪|猪仔|猪|小鸡|鸡仔|鸡鸭|鸡|鸭子|鸭仔|鸭|鹅"
                   r"|马|驴|骡子|兔子|大黄|小黑)")
_ANIMAL_ZH = (r"(?:(?:我|俺|咱|我们|他|她)?家(?:里)?的?|(?:我|俺|他|她)的)?(?:[一两二三四五六七八九十几好\d]+(?:头|只|条|匹|群|窝|个))?"
              + _NOUN_START + _ANIMAL_ZH_WORD)
_THING_OR_ANIMAL_ZH = _NOUN_START + r"(?:" + _THING_ZH[3:-1] + "|" + _ANIMAL_ZH_WORD[3:-1] + ")"
_WATER_ZH = r"(?:水|河|井|鱼塘|水塘|池塘|塘|水沟|河沟|沟|水渠|渠|江|湖|水库|粪坑|茅坑|海)(?:里|里头|头|中|底|度|肚)?"
# ... unless a person went too (把牛冲走了 他也没了, 狗掉河里了 我爸去捞 人也没上来): then the water words page (detect13)
_GONE_TOO_ZH = (r"(?![^。]{0,12}?(?:" + _PERSON_ZH + r")(?:也|都|跟着|一起|也跟着)(?:被|让|叫|给)?(?:水)?"
                r"(?:冲走|卷走|冲没|没了|不见|没影|没上来|没出来|找不着|找不到|沉|淹))")
_THING_EN = r"phones?|mobile|cellphone|keys?|bucket|pail|wallet|purse|bag|shoes?|slippers?|hat|glasses|ball|ring|watch|hoe|tools?"
_ANIMAL_EN = r"dogs?|puppy|cats?|cows?|cattle|buffalo|calf|pigs?|piglets?|chickens?|hens?|ducks?|geese|goose|sheep|goats?|horses?|donkeys?|rabbits?|animals?|livestock"
_WATER_EN = r"(?:river|water|well|pond|lake|ditch|canal|toilet|sea)\b"
_SEARCH_EN = ("look", "looking", "looked", r"search\w*")
_LOST_ANIMAL_EN = (r"\b(?:(?!\b(?:son|daughter|child|kid|boy|girl|baby|grand\w+|mother|father|husband|wife|brother|sister)\b).){0,30}"
                   r"\b(?:lost|missing|run away|ran away|cannot find|can't find|not find|find (?:him|her|it))\b")
_LIVESTOCK_EN = ("dog", "cat", "cow", "goat", "sheep", "pig", "buffalo", "horse", "donkey")
_DROWNED_EN = ("ducks?", "chickens?", "hens?", "pigs?", "piglets?", "cows?", "cattle", "buffalo", "sheep", "goats?", "fish", "geese", "goose",
               "rabbits?", "animals?", "livestock")
_NOT_DANGER = re.compile(
    r"想死(?:你|您|我|你们|大家)了?"
    # a greeting after a long silence, to the helpers themselves (好久没跟你们聊了 都好吧)
    r"|没(?:跟|和|同|与|给)(?:你们|您们|大家|大伙儿?|你哋)(?:说|聊|讲|联系|倾|打招呼|问好)"
    r"|(?:笑|热|冷|累|饿|困|渴|烦|气|急|忙|吵|美|馋|闷|懒|丑|晒|挤|疼|痛|难受|无聊|麻烦|高兴|开心|羡慕|折腾|愁|卡|坑|穷)死(?:我|人|了|啦|掉)+"
    r"|压力(?:太|好|很|特别)?大.{0,4}喘不(?:过|上)气(?:来)?|压得.{0,6}喘不(?:过|上)气(?:来)?"
    # anger felt in the chest (气得我心口疼): an intensifier, like 气死了 (detect5)
    r"|(?:气|憋|急|嬲)(?:得|到)(?:我|人|俺)?(?:(?:心口|胸口|心|肝)(?:都|也)?(?:疼|痛|发疼)|(?:浑身|全身|手|手脚)?(?:直)?(?:发抖|哆嗦|打颤|震))"
    r"|(?:拿|用|拎|提)(?:着|把)?(?:菜|柴|镰)?刀(?=.{0,3}(?:切|剁|削|割|砍柴|劈柴|杀了?(?:一|两|几)?(?:只|条|头)?(?:鸡|鸭|鹅|鱼|猪|羊)))"
    "|" + _each(("knife", "axe", "sickle", "machete", "cleaver"), r" (?:to|for) (?:cut|chop|slice|cook|kill the (?:chicken|fish|pig))")
    + r"|(?:cut|cutting|chop|chopping) (?:the )?(?:vegetables?|meat|grass|wood|firewood)"
    r"|(?:忘|唔记得|不记得|记不得|记不住)(?:了|记|咗|得)?.{0,8}(?:烧着火|着火|关火|熄火|火)|forget\w*\b.{0,24}(?:fire|stove|gas)"
    + "|" + _each(("cooking", "camp", "wood", "kitchen", "stove"), r" ?fire\b(?!\W{0,3}(?:(?:is|are|very|so|too|now|getting|very very) )*(?:flames?|big|spread\w*|burning|go|goes|went|out of control|everywhere))")
    + r"|by the fire|firewood"
    r"|(?:苗|豆子?|庄稼|菜|麦子?|稻子?|玉米|苞谷|花|果子?|秧|叶子)(?:全|都|给)?(?:打|冻|晒|旱|淹)死"
    # ... and the other way round (冰雹打死晒啲菜苗, 打死了好多苗): the object is a plant (detect6)
    r"|(?:打|冻|晒|旱|淹)死(?:了|咗|晒|光)*(?:我家的?|俺家的?|好多|一大片|一大半|大半|不少|啲|些|一片)?(?:的)?(?:苗|秧|庄稼|菜|麦|稻|玉米|苞谷|果|花|树|叶|辣椒|烟叶|豆)"
    # hands or feet purple from the cold (冬天冻得手脚发紫): a hard winter, not blue lips now
    r"|(?:手|脚|手脚|耳朵|指头|手指|脚趾)(?:都|也)?冻(?:得|到|成)?(?:都|也)?(?:发紫|青紫|发青|紫)|冻(?:得|到)(?:我)?(?:的)?(?:手|脚|手脚|耳朵|指头|手指|脚趾)(?:都|也)?(?:发紫|青紫|发青|紫)"
    r"|(?:近的|合适的|好的|便宜的|这样的)(?:找|寻)不(?:到|着)"
    + "|" + _each(("jobs?", "apply", "applied", "application", "online", "email", "letter"), r"\b.{0,24}no answer")
    + "|" + _at_words(("paper", "papers", "form", "forms", "documents?", "office", "request", "complaint", "report"), r"\b.{0,40}\bno (?:answer|reply|response)\b")
    + r"|(?:只能|只好|只得|不得不|没办法只能?)把(?:孩子|娃娃?|娃儿|小孩|仔女|细路)(?:们)?(?:反)?锁在(?:屋里|家里|屋头|家|屋企|房里)"
    r"|(?:不弄了|不搞了|不需要了?|不用了|不参加了?|不去了|退出|退订|别发了?|不要再发|不要了)[^。]{0,6}(?:以后)?(?:别|不要|不用|莫)(?:再)?(?:找|联系)我了?"
    r"|打我(?:的|这个|这|家)?(?:电话|手机|号码|号|座机)|给我打|打我一下电话|打死(?:我)?也不|死机|累成狗|打call"
    # detect11: furious (气炸了), an uproar (炸锅): no explosion
    r"|气炸|炸(?:了|开了|开)?锅"
    r"|(?:找|寻|揾)(?:不|毋|唔)(?:到|着)(?:工作|工|活|事做|事|嘢做|对象|媳妇|学校|人管|地方)"
    r"|杀(?:猪|鸡|鸭|鱼|羊|牛|价|熟|毒|虫|菌)|砍价|压价|砍一刀|秒杀|被杀了?(?:好几次|一次)|游戏"
    r"|(?:电脑|手机|电视|电池|系统|软件|网站|网页|文件|车|摩托|机器|电瓶)(?:也|又|都|彻底)?(?:快)?(?:中毒|中了毒|不动了|卡死|不行了|郁都唔郁|唔郁|一动不动|(?:都|也)?(?:没有?|冇)反应)|u盘(?:也|又|都|彻底)?(?:快)?(?:中毒|中了毒|不动了|卡死|不行了|郁都唔郁|唔郁|一动不动|(?:都|也)?(?:没有?|冇)反应)"
    r"|火锅|上火|发火|火车|火腿|火柴|打火机|火力|火龙果|火爆"
    r"|不能不管|要打工|要打针|打疫苗|他打工|打工"
    r"|fired from|fire (?:me|him|her|us|them) from|fired me|no fire|ceasefire"
    r"|(?:事|案|纠纷|官司|账|手续|心愿|心事|债).{0,4}(?:了结|了断)|(?:了结|了断)(?:了)?(?:这事|此事|这件|官司|纠纷|案子|手续|心愿|心事)|(?:和|跟|同)(?:他|她|佢|你|前夫|前妻).{0,4}(?:了断|了结)"
    + "|" + _each(("game", "heat", "cold", "snow", "rain", "wind", "weather", "winter", "summer", "season", "day", "week", "sun", "show", "movie",
                   "joke", "work", "job", "exam", "test", "homework", "traffic", "back", "feet", "legs?", "knees?", "head", "tooth", "teeth",
                   "pain", "noise", "price", "prices", "bills?", "this", "that", "it", "you"),
                  r"(?:'s|’s| is| are| was| will| would| gonna| is going to)? kill(?:s|ing)? me")
    + r"|kill(?:ing)? (?:some |the )?time|dead tired|dead beat|"
    + _each(("bored", "scared", "worried", "starving", "freezing", "sick"), " to death")
    + r"|dying (?:to|for|of laugh)|died laughing|to die for"
    + "|" + _each(("phone", "battery", "laptop", "computer", "car", "tv", "screen", "charger"),
                  r"(?:'s|’s| is| was| has| just)?(?: been| is)? (?:dead|died|die|dies)")
    + r"|dead (?:battery|phone)"
    # detect14: "end it all" said of an account or a contract (i want to end it all with this bank), "please help"
    # asking for a check (please help check my application)
    + r"|end (?:it all|everything) with (?:this|the|that|my|your|our) (?:\w+ )?(?:bank|company|insurance|account|contract|provider|landlord"
    r"|shop|store|agency|loan|card|subscription|plan|club|business|job|boss|school|network)s?\b"
    # a rope made ready for the animals or a load
    r"|rope (?:is |are )?(?:all )?ready (?:for|to tie) (?:the |my |our )?(?:goats?|cows?|buffalo|pigs?|sheep|horses?|donkeys?|dogs?|animals?|cattle"
    r"|washing|clothes|tent|load|cart|firewood|wood)\b"
    r"|please help (?:me )?(?:to )?(?:check|apply|confirm|fill|look (?:at|into) (?:my|the|this)|see (?:my|if|whether)) (?:my|the|this|if|whether|for|about|on)\b"
    # en-crisis: laughing till one cannot breathe, a boss or a teacher who "will kill me", a fire to cook on
    + "|" + _at_words(("laugh",), r"\w*\b.{0,20}\b(?:cannot|can't|cant|not|no) breath\w*")
    + "|" + _at_words(("boss", "teacher", "coach", "manager"), r" (?:will|gonna|going to|is going to|would) kill me")
    + "|" + _at_words(("fire",), r"\b.{0,20}\b(?:for|to) (?:cook\w*|boil\w*|warm\w*|heat\w*|roast\w*)")
    # detect9: an engine that will not start (打不着火), a black screen that will not wake (黑屏 … 拍不醒),
    # a machine "on strike", laughing till one rolls, a lost animal
    + r"|(?:打|点|踩|踹|发动|启动|拧)(?:不|唔|毋)(?:着|燃)火?|趴窝|黑屏.{0,12}?(?:拍|叫|按|点|戳|摇|弄|敲)[^\s。,!?]{0,6}(?:不|唔|毋|没|冇)(?:醒|亮|开|反应)"
    + "|" + _each(("black screen", r"screen (?:is |go |goes |went |turn\w* )?black"),
                  r"\b.{0,50}?\bit (?:still )?(?:is )?" + _NOT_ + r" (?:wake|respond|turn on|work|start)\w*(?: up)?")
    + "|" + _each(("tablet", "ipad", "phone", "laptop", "computer", "tv", "screen", "tricycle", "motorbike", "engine", "machine"),
                  r"\b.{0,50}?\bit (?:still )?(?:is )?" + _NOT_ + r" (?:wake|respond|turn on|work|start)\w*(?: up)?")
    + r"|(?:又|也|都|彻底)?罢(?:工|咗工)|笑(?:得|到)[^\s。,!?]{0,5}(?:打滚|碌地|碌来碌去)|(?:晒|热)(?:得|到)[^\s。,!?]{0,5}冒烟|laugh\w* (?:so hard |so much )?(?:\w+ ){0,2}roll\w*"
    r"|(?:狗|猫|牛|羊|猪|鸡|鸭|鹅|大黄|小黑|马|驴)(?:仔)?(?:又|也)?(?:丢了|走丢|走失|跑丢|不见了|唔见(?:咗)?|走失咗|跑了)"
    + "|" + _each(_SEARCH_EN, r" for (?:our|my|the) \b(?:dog|cat|cow|goat|sheep|pig|buffalo|horse|donkey)" + _LOST_ANIMAL_EN)
    + "|" + _at_words(_LIVESTOCK_EN, _LOST_ANIMAL_EN)
    + "|" + _each(_SEARCH_EN, r" for (?:our|my|the) (?:dog|cat|cow|goat|sheep|pig|buffalo|horse|donkey)\b")
    + "|" + _at_words(_DROWNED_EN, r"\b(?: \w+){0,2} (?:drown\w*|die[ds]?|dead)\b")
    + "|" + _at_words(("drown",), r"\w* (?:all |many |most |some |half )?(?:of )?(?:our |my |the |his |her )?(?:" + "|".join(_DROWNED_EN) + r")\b")
    + "|" + _each(("phone", "laptop", "computer", "tv", "screen", "machine", "app", "car", "motorbike"),
                  r"\b.{0,12}(?:not|doesn't|does not|won't|will not|can't|cannot) (?:respond|answer|move|wake|work)",
                  not_after=("his ", "her ", "watch ", "their "))
    # detect12: a thing or an animal fallen into the water (手机掉水里了, 狗掉井里了, my phone fell into the
    # river) or an animal washed away (水冲走了两头牛, the flood washed away our pigs) — not a person. The
    # noun must start a word (二狗, 牛牛 are children's names); a vehicle is never here (people inside).
    + r"|" + _THING_OR_ANIMAL_ZH + r"(?:又|还)?(?:不小心|一不小心|一下子?)?(?:给|被)?(?:掉|落|跌|滑|丢)(?:进|到|在|下|咗|了|落|入)*" + _WATER_ZH + _GONE_TOO_ZH
    + r"|" + _ANIMAL_ZH + r"(?:都|全)?(?:被|让|叫|给)(?:大|洪|河|山)?水(?:给)?(?:冲|卷|带)(?:走|跑|没|咗)" + _GONE_TOO_ZH
    + r"|(?:洪水|大水|山洪|河水|水)?(?:把|将)" + _ANIMAL_ZH + r"(?:都|全)?(?:冲|卷|带)(?:走|跑|没)" + _GONE_TOO_ZH
    + r"|(?:让|叫|被|给)?(?:洪水|大水|山洪|河水|水)(?:给)?(?:冲|卷|带)(?:走|跑)(?:了|咗)" + _ANIMAL_ZH + _GONE_TOO_ZH
    + "|" + _at_words(tuple((_THING_EN + "|" + _ANIMAL_EN).split("|")),
                      r"\b (?:\w+ )?(?:fell|fall|falls|dropped|drop|slipped|went) (?:in|into|down) (?:the |a |our |my )?" + _WATER_EN,
                      not_after=("and ", "with ", "& ", "and the ", "and my ", "and our "))
    + "|" + _each(("the flood", "the river", "the water", "flood", "river", "water"),
                  r"s?(?: water)? (?:has |have |had )?(?:washed|swept|carried) away (?:all |many |most |some |half |\w+ )?(?:of )?(?:our |my |the |his |her |their )?(?:\w+ )?(?:"
                  + _ANIMAL_EN + r")\b(?!(?: \w+)? (?:and|with|too)\b)")
    + "|" + _at_words(tuple(_ANIMAL_EN.split("|")), r"\b (?:were|was|are|got|have been|has been) (?:all )?(?:washed|swept|carried) away(?: by (?:the )?(?:flood|river|water))?")
)
_NOT_DANGER_BY_SCRIPT = {script: _for_script(_NOT_DANGER, script) for script in _SCRIPTS}
# a past, damage or policy context: fire, flood and disaster triggers are lowered
_NOT_NOW = re.compile(_any(_YEARS_BACK, _PAST_YEAR_ZH, _THAT_TIME_ZH, _LONG_AGO_ZH, _AGO_EN, _LAST_SEASON_EN, _EVERY_TIME_EN,
    r"漏|裂|冲毁|冲垮|毁了|过后|之后|(?:泡|淹|冲|烧|震|塌|浸)过(?!来|去)|(?:洪水|大水|火|地震|滑坡|泥石流)(?:过去)?以后|水退了|还没修|没修好|绝收|收成|庄稼|稻田|秧苗|田里|玉米地|菜地|鱼塘|禾|前几年|那年|当年|之前|过去|曾经|上个月|几年前|前几天|前些天|前两天|前些日子|上礼拜|上周|上星期|那场|前个月|前[一两二三四五六七八九十几]个月|[一两二三四五六七八九十几]个月前|上(?:个|只)月|(?:路|桥)(?:都)?(?:断|冲断|冲烂|烂)(?:咗|了|忒)|转来以后|上年|上半年|那阵|那晚|那夜|那一夜|那天(?:晚上|夜里)|彼暝|退后|退了以后|雨后|常年|"
    r"(?:洪水|大水|发水|水浸|火灾|失火|火烛|地震|滑坡|泥石流|山泥倾泻|台风|打风|风台|山火)(?:的|嘅)?(?:时候|那会儿?|𠮶阵|𠮶时|果阵|个时候)|(?:垮|塌|倒)了(?:一截|一块|一角|半边|一段|一半|一面|一堵|一间)|(?:烧|冲|淹|砸|埋)(?:完|光|没|坏|烂|死|起走)了?|(?:都|全)没了|"
    r"(?:把|将).{0,6}(?:路|地|田|庄稼|后院|院子|草场|树|果园|菜|猪圈|牛棚|鸡棚|大棚).{0,6}(?:都|全)?(?:埋|冲|淹|砸|烧)|"
    r"(?:埋|冲|淹|砸|压)(?:了|咗|忒|坏了|烂了|没了|走了)(?:我|俺|𠊎)?(?:家|屋下)?(?:的)?[一二两三四五六七八九十几半\d]*(?:(?:亩|块|分)?(?:田|稻田|庄稼|苞谷|玉米|稻子|菜园|果园|鱼塘)|(?:亩|块|分)地)|冇得种|没得种|种不成|"
    r"一(?:下|落)(?:大)?雨就|一(?:烧火|生火|做饭|烧炕)就|烟囱|(?:鸭子?|鸡|猪圈|猪棚|牛棚|羊圈|鱼苗)|" + _each(("pig", "cow", "chicken", "duck"), r" ?(?:shed|pen|house)") + "|livestock|"
    r"一刮(?:大)?风就|每次(?:下雨|刮风|落雨)|每逢|下雨天|落雨天|雨季|"
    r"(?:每年|年年|每回|每到)(?:一)?(?:下雨|落雨|雨季|汛期)|(?:下|落)(?:大)?雨(?:都|就)(?:会|要)|"
    r"补助|补贴|政策|申请|能领|报销|救助|保险|电视|新闻|听说|演的"
    r"|rice fields?\b|corn fields?\b|fields?\b|crops?\b|months? ago|apply|application|subsidy|subsidies"
    r"|assistance|allowance|insurance|policy|compensation|repair|damaged|broken|destroyed|news"
    "|" + _each(("after", "since"), r" the (?:flood|fire|storm|earthquake|landslide)")
    + r"|every (?:rain(?:y)? season|rain|summer|spring|autumn|winter|year)|since then|rain(?:y)? season|"
    + _at_words(("can", "could", "who", "someone", "somebody", "help", "to", "need", "needs", "please"), r" (?:\w+ )?fix\b")
    + "|" + _each(("flood", "water", "fire"), r"\b.{0,6}after (?:go|gone|went)")
    + "|" + _each(("in", "since"), r" (?:january|february|march|april|may|june|july|august|september|october|november|december)")
    + "|" + _each(("two", "three", "four", "five", "many", "some"), r" (?:summers?|winters?|years?) ago")
    + r"|the other day|few days ago|still (?:broken|not|no)|in (?:spring|summer|autumn|winter)"))
_URGENT = re.compile(_any(
    # detect15: again now, come quick (早几年失过一回火 现在又着火了 快来)
    r"又(?:着火|起火|失火|发(?:大|洪)?水|涨水|淹|塌|垮|滑坡|地震|冲|烧起来)|快(?:来|救)",
    r"越.越(?:大|多|快|高)|比.{0,4}(?:早上|刚才|昨天|昨晚|上午)(?:还)?(?:宽|大|多|高|深)", _CRY_ZH, _IN_PROGRESS_ZH, _SOMEONE_INSIDE_ZH, _AT_ONCE_ZH,
    _CRY_EN, "help us|help!", _NOW_EN[:9] + _not_after("n", ("still ", "until ", "till ")) + _NOW_EN[9:], "hurry", _TRAPPED_EN))
_SOFTENABLE = {"fire", "flood", "disaster"}
# a question about a policy or help for an event told as over (a stay in hospital, a death, money
# spent): medical triggers are lowered too (ninth round (b): 生二胎大出血 住了半个月 … 俺能领不)
_POLICY_ASK = re.compile(
    r"(?:政府|国家|村里|民政|镇上|乡里)(?:有)?.{0,6}(?:帮|补|管|修|救|钱)|补助|补贴|救助|政策|能领|领不|报销|低保|帮扶|津贴|够(?:吗|不|唔|冇)"
    r"|subsid|allowance|government\b.{0,12}(?:help|support|pay)|any (?:help|support|program)|can (?:we|i) (?:get|apply)"
)
_EVENT_OVER = re.compile(_any(_DEATH_ZH, _PAST_YEAR_ZH, r"(?:住|躺|治|花|用)了|住院|出院|后来|之后|以后|那次|上个月|in hospital for|passed away|died|last (?:year|month)|after (?:the|he|she)"))
# away for work: "not back" is no alarm (matched on the text before idioms like 打工 are removed)
_AWAY_FOR_WORK = re.compile(
    r"打工|务工|做工|外出(?:打工|务工|挣钱)|在外地|在外面(?:干活|做事|上班)|出去(?:挣钱|干活|上班|找活)|去.{0,6}(?:上班|挣钱)|进城(?:打工|干活|上班)"
    r"|went (?:away |out )?(?:to|for) work|(?:working|works|work) (?:in|away)|migrant work"
)
_NOT_BACK = re.compile(r"没回|未返|吂转|冇返|not back|(?:not|no) (?:come|came|coming) (?:back|home)|(?:come|came) back|gone since")
_MISSING = {"missing_person", "missing_child"}

# issue 13, detect6 (2026-12-07): danger words told as past, habitual or as a cause of a need now.
# (a) a sign of illness right after a habitual or conditional marker (每次一犯就抽搐, 一变天就喘不上气,
#     一听到打雷就冒冷汗): a chronic condition; every place the word occurs must be so told
_HABIT_BEFORE = re.compile(
    r"(?:每次|每回|每逢|经常|老是|总是|时常|常常|动不动|(?:每|一)到(?:冬天|夏天|春天|秋天|晚上|夜里|半夜|雨天|阴天|下雨|变天|天冷|冬|夏|黑)"
    r"|一(?!下子?|直|点|个|天|夜|晚|早|会|进|回|到|看|见|开|推|转|抬|睁|觉)[^\s。,!?]{1,5}就"
    # detect13: an episode of a condition (犯病的时候会抽搐, 发作起来嘴唇发紫)
    r"|(?:犯病|发病|发作|犯起病)(?:的时候|时|起来))"
    # ... and what follows it is not a thing seen (一回家就看见他倒了 is a scene)
    r"(?:(?!看|见|发现|瞧|听说)[^\s。,!?]){0,8}$")
# ... or a habit or a count right after it (喘不上气的时候要用喷雾, 低血糖晕倒好几次了: detect13)
_HABIT_AFTER = re.compile(r"(?:的时候|时)(?:要|得|会|就要|就得|都要|就会)|过?(?:好几|好多)(?:次|回)")
# (e) when a death told happened: a past time (detect13)
_PAST_WHEN = re.compile(_any(_YEARS_BACK, _PAST_YEAR_ZH, _THAT_TIME_ZH, _LONG_AGO_ZH, _MONTHS_AGO_ZH))
# (b) a danger word with the experiential 过 (被埋过, 晕倒过): it happened once, before
_ONCE = re.compile(r"过(?![去来头门膝腰胸窗道路河桥])")
# (c) an accident that already happened (出了车祸, 出咗意外) told as the cause of a need now: in a
#     hospital, a limb broken, no money to visit, a claim
_ACCIDENT = re.compile(r"车祸|意外|accident")
_ACCIDENT_DONE = re.compile(r"(?:出了|出咗|出过|遇了|遭了|出左)(?:一场|一次|个|场)?(?:车祸|意外|事故)|(?:had|was in) an accident")
_AFTERMATH = re.compile(
    r"没钱|冇钱|钱|路费|车票|去看|去睇|睇佢|看望|告|赔|老板|工伤|保险|养着|养伤|收入|低保|补助|补贴|救助|干不了|做不了|开不了工"
    r"|visit|money|compensation|insurance")
# (d) a threat (要打人, 说要打死我) told while asking for a ruling, with no fear or sign of now
_THREAT_WORDS = re.compile(r"^(?:要|他|她|佢)?(?:打|砍|杀|斩)(?:死|人)?$|打死")
_RULING = re.compile(
    r"谁管|边个管|哪个管|找谁|揾边个|(?:哪|边)(?:里|度|位)(?:投诉|告|讲理)|管不管|管一管|管管|能不能管|调解|评理|讲理|说理|讲道理|法律援助|村委会?|居委会?|司法所|地界|宅基地|告他|起诉|打官司|赔偿"
    r"|mediat|legal aid|village committee")
# what says the danger is here and now (a sudden onset, again, a scene, a cry, fear now)
_NOW_HERE = re.compile(_any(
    r"刚", _SUDDEN_ZH, r"又(?:犯|发作|发病|抽|晕|倒|喘|开始|来|在|打|要|拿)", _IN_PROGRESS_ZH, _STILL_ZH, r"这会儿|此刻", _AT_ONCE_ZH, r"快(?:来|点|叫|救|打|帮)", _CRY_ZH,
    _UNRESPONSIVE_ZH, r"没气|昏迷|抢救|病危|不行了|唔应", _JUST_YUE, r"流(?:了)?(?:好多|很多)?血|在流|起不来|爬不起来|路边|现场|(?:去|送|上|到)(?:医院|卫生院|诊所)",
    r"这次|这回", _TODAY_ZH, _TODAY_DIALECT, _EVENING_ZH, r"昨天|还没停|停不下来|不停|一直在|半个钟|几分钟", _TODAY_EN, _JUST_EN, _SUDDEN_EN, "again"))
_FEAR = re.compile(r"怕|惊|躲|不敢(?:开门|出声|回|出去)|afraid|scared|hiding")


class _Text:
    """One message's cleaned text, as the context patterns see it: each searched at most once (the
    same "now" or "past" is asked by several rules), without the alternatives that cannot match its
    script (``_for_script``). Patterns are module constants, known by their id (a pattern's own hash
    reads its whole code each time)."""

    __slots__ = ("text", "script", "found")

    def __init__(self, text: str, script: str) -> None:
        self.text = text
        self.script = script
        self.found: dict[int, re.Match | None] = {}

    def find(self, pattern: re.Pattern) -> re.Match | None:
        key = id(pattern)
        if key in self.found:
            return self.found[key]
        if (self.script, key) not in _FOR_SCRIPT:
            _FOR_SCRIPT[self.script, key] = _for_script(pattern, self.script)
        pattern = _FOR_SCRIPT[self.script, key]
        m = self.found[key] = pattern.search(self.text) if pattern is not None else None
        return m

    def __call__(self, pattern: re.Pattern) -> bool:
        return self.find(pattern) is not None


# each module pattern (by script and id) without the alternatives that cannot match, made when first needed
_FOR_SCRIPT: dict[tuple[str, int], re.Pattern | None] = {}


def _told_as_not_now(kind: str, m: re.Match, cleaned: str, on: _Text) -> bool:
    """The trigger ``m`` of ``kind`` is told as habitual, once before, an accident that is over,
    or a threat recounted while asking for a ruling — and nothing says danger is here now."""
    if on(_NOW_HERE) or on(_URGENT):
        return False
    # every place the rule finds in the text must be so told (车祸 … 人快不行了 is not)
    found = list(m.re.finditer(cleaned))
    if kind == "medical" and all(_HABIT_BEFORE.search(cleaned[:x.start()]) or _HABIT_AFTER.match(cleaned, x.end())
                                 for x in found):
        return True
    if kind in ("medical", "disaster") and all(_ONCE.match(cleaned, x.end()) for x in found):
        return True
    if (kind == "medical" and all(_ACCIDENT.search(x.group(0)) for x in found)
            and on(_ACCIDENT_DONE) and on(_AFTERMATH)):
        return True
    # (e) a death told with a past time before each sign (上个月孩子掉河里淹死了): a report, not a rescue
    if kind == "medical" and on(_DIED) and all(_PAST_WHEN.search(cleaned, 0, x.start()) for x in found):
        return True
    return (kind == "violence" and all(_THREAT_WORDS.search(x.group(0)) for x in found) and on(_RULING)
            and not on(_FEAR) and not on(_HAPPENING))
# detect14 (2026-12-07): a fall into the water told calmly — out of it, a scratch, fine — is a need:
# the trigger of the fall (``_FALL_IN``) is explained unless something says the danger stays
_FALL_IN = re.compile(r"(?:掉|跌|落|摔|栽|滑).{0,6}(?:水|河|井|沟|渠|塘|坑|池|湖|江)|(?:水|河|井|沟|渠|塘|坑|池|湖|江).{0,4}(?:掉|跌|落|摔|栽|滑)"
                      r"|\b(?:fell|fall|falls|fallen|slipp?\w*|tumbled|rolled)\b")
_CALM_FALL = re.compile(
    r"爬(?:了)?(?:起来|上来|出来)|(?:拉|捞|救|拽|扶|抱|拖)(?:了)?(?:起来|上来|出来)了|自己(?:爬|走|回)|没事|冇事|无事|没大碍|没啥事|没什么事|没多大事"
    r"|擦破|划破|划了|擦伤|擦损|磕(?:了|破)|崴|扭(?:了|伤)|皮外伤|湿(?:了|透)|全湿|感冒|回(?:了)?家了|跌打|创可贴"
    r"|climb(?:ed|s)? out|got out|pulled (?:him|her|them|me|us) out|(?:is|are|was|were|'s) (?:fine|ok|okay|alright|all right)|scratch|bruise"
    r"|\bcut (?:a little|a bit|on)\b|(?:knee|arm|leg|hand|foot|ankle|elbow)s? (?:is |are )?(?:hurt|swollen|sore)|walk(?:ed|s)? home|went home|\bwet\b|bandage")
_DANGER_STAYS = re.compile(
    r"爬不(?:上来|出来|起来)|上不来|出不来|拉不(?:上来|出来|动)|捞不(?:上来|着)|(?:没|冇|未)(?:有)?(?:上来|出来|冒)|沉|找不(?:到|着)|看不(?:到|见)|不见"
    r"|没影|反应|叫不醒|喊不醒|不醒|一动不动|不动了|动不了|没气|呼吸|昏|晕|流血|止不住|水(?:很|好|太)?急|冲走|快来|救命|快点|赶紧|还在(?:水|沟|河|塘|渠|井|里)"
    r"|头朝下|脸朝下|迷糊|站不起来|起不来|医院|(?:打|叫|拨)120|救护车"
    r"|can ?not (?:get|climb) out|can't (?:get|climb) out|still in|not moving|breath|can ?not find|can't find|missing|unconscious|under (?:the )?water"
    r"|(?:not|never|didn't) (?:come|came|coming) (?:back )?up|help!|hurry|wake|answer|face down|drown|bleed|blood|stand|ambulance|hospital|not (?:talk|speak|respond)")
# ... and medicine said ready for someone else or as the doctor ordered (the pills are all ready for grandma)
_MEDICINE_READY = re.compile(r"^\s?药|^(?:pills?|tablets)\b")
_FOR_SOMEONE = re.compile(
    r"医生|大夫|药店|药房|卫生院|诊所|饭后|饭前|一天[一两二三]次|送(?:去|过去|给)|拿(?:去|过去|给)|给(?:他|她|佢|奶奶|爷爷|外婆|外公|姥姥|姥爷|俺爹|俺娘|我爸|我妈|老人|孩子|娃)"
    r"|doctor|pharmacy|clinic|chemist|prescription|(?:after|before) (?:food|meals?|eating)|times a day|pick (?:it|them) up|(?:take|bring|give|send) (?:it|them) to (?:him|her|grand\w+|my \w+)"
    r"|for (?:grandma|grandpa|granny|him|her|my \w+|the (?:old|baby|kids?|children))\b")
# habitual, reported speech: hints of self-harm alone are asked about, not paged (nlu5)
_HABITUAL_SPEECH = re.compile(r"(?:老|总|成天|整天|天天|经常|一直|成日|日日)(?:是)?(?:说|念叨|讲|嚷|话|讲住)|(?:always|keeps?) (?:says?|said|saying|talks?|talking)")
# a long-standing illness: medical triggers are lowered unless something happened just now
_CHRONIC = re.compile(_any(_YEARS_BACK, _PAST_YEAR_ZH, _THAT_TIME_ZH, "上年", _LONG_AGO_ZH, _OFTEN_ZH, _OFTEN_EN,
    r"好几年|几年了|[两三四五六七八九十几多]年|多年|常年|长期|老毛病|一直(?:瞓|躺|卧)|瞓喺床|躺在床上|瘫在床|那年|每个月|每月|每天|天天|瘫在|瘫痪"
    r"|(?:中风|脑梗|脑溢血|偏瘫|车祸|手术|开刀|摔伤|工伤)(?:以后|之后|过后|后)"
    # detect9: a stroke or a crash told with 粤/客家 aftermath markers (中咗风之后, 中风转来以后)
    r"|中(?:咗|了|过|忒)风(?:以后|之后|后|过后)|(?:中风|脑梗|车祸|撞车)(?:咗|了|忒)(?:转来|返来|回来)?(?:以后|之后|后|过后)|(?:中风|脑梗|车祸|撞车)(?:转来|返来|回来)(?:以后|之后|后)"
    r"|(?:没了|走了|去世|过世)(?:以后|之后|后)|一(?:疼|痛|累|冷|走|动|干活|爬坡)就|想起|忘不了|忘不掉|梦见|梦到|做梦|噩梦|一闭眼|闭上眼|那天|remember|nightmare|flashback"
    r"|从小|打小|自小|自细|细细个|生下来|天生|一辈子|这辈子|(?:腿|脚|手|胳膊|手臂|眼睛?)(?:都|也)?(?:没了|冇咗|断了几年|残了)|截肢|拄拐"
    r"|since (?:birth|he was|she was|i was|childhood)|all (?:his|her|my) life|born with|lost (?:his|her|my) (?:leg|arm|hand|eye)s?"
    r"|since (?:small|young|little|a child|a baby|baby|born)|" + _at_words(("sometimes?",), r"\b") + r"|from time to time|now and then|last (?:month|week|winter|summer|spring|autumn)"
    r"|几个月|半年了|欠(?:了)?.{0,4}(?:医院|医药费)|医药费|住院费|hospital bills?|medical bills?|had a stroke|months"
    r"|years|for a long time|chronic|when (?:i|he|she|we) (?:was|were) (?:young|small|little|a child|a kid|a boy|a girl)|" + _each(("since", "after"), r" (?:the|his|her|my) (?:\w+ )?(?:stroke|accident|operation|surgery)")
    + r"|(?:都|还)(?:未识|不会|没学会)(?:讲|说|行|走)|(?:咋个|怎么|怎样|点样)?去告|起诉|打官司|索赔|" + _at_words(("sue",), r"\b") + r"|lawyer|every (?:day|month|week)|since (?:last|he|she|i)|last year|" + _each(("ago",), "", not_after=("hour ", "hours ", "minute ", "minutes ", "mins "))))
# a lasting state or a plan, for the classifier's bar only (nlu5): never lowers a lexicon trigger
_LASTING = re.compile(
    # a hazard that stands, reported (a pole leaning, wires hanging low: detect9)
    r"(?:电线杆|电杆|电火柱|电线|电缆)(?:子)?.{0,6}(?:歪|斜|吊|垂|耷拉)|"
    + _each(("electric(?:ity)?", "power", "telephone", "phone"), r" (?:pole|post|wire|line)s?\b.{0,30}\b(?:lean\w*|tilt\w*|hang\w*|low)\b") + "|"
    r"由细|从细|从小到大|每晚|每天晚上|天天晚上|每夜|成日|日日|(?:医生|大夫|医院|村医)(?:说|话|讲|叫)(?:要|得)|"
    r"every night|all the time|since (?:he|she|i) (?:was|were) (?:born|small|little|a child)|the doctor (?:says?|said) (?:he|she|i|we) (?:need|must|should)"
)
_SUDDEN = re.compile(_any(
    _UNRESPONSIVE_ZH, r"发青|发紫|憋紫|没气了", _SUDDEN_ZH, r"突发|又犯|又发作", _JUST_ZH, _JUST_YUE, _AT_ONCE_ZH, "快", _CRY_ZH, "不行了", _TODAY_ZH, _TODAY_DIALECT, _EVENING_ZH, "误",
    _SUDDEN_EN, _JUST_EN, _NOW_EN, _TODAY_EN, _CRY_EN))

# violence that is over, a lost elder who was found or who habitually loses the way: told as a
# need (以前他天天打我 现在离了, 有一回走丢了 后来找回来了, 出门就找不到回来的路) — eighth round
_OVER = re.compile(_any(_YEARS_BACK, _PAST_YEAR_ZH, _THAT_TIME_ZH, _LONG_AGO_ZH, _OFTEN_ZH, _OFTEN_EN, _AGO_EN, _LAST_SEASON_EN, _EVERY_TIME_EN,
    r"从前|过去|那些年|那几年|那时候?|年轻(?:的)?时候?|早就|早年|离婚|离了婚?|(?:已经|早)?离了|分开(?:了|几年)|[一两三四五六七八九十几多]年前|上年"
    r"|有一回|有一次|走失过|走丢过|丢过|过一(?:次|回)|后来|找回来|找到了|送回来|寻回来|揾返|(?:出门|出去)就|一出门|总是|动不动"
    r"|(?:救|抢救)(?:回来|过来|活)(?:了)?(?:以后|之后|后)"
    "|" + _at_words(("before",), r"\b") + r"|long (?:time )?ago|" + _at_words(("once",), r"\b")
    + "|used to|" + _each(("is found", "was found", "been found", "found"), " (?:already|now)") + r"|already found|(?:bring|brings|brought) (?:her|him) back|in the past|divorced?|ex[- ]?husband|was found|found (?:her|him)|brought (?:her|him) back|forget everything"))
# ... unless it happens now or again
# (today, but not "until today": 到今日都唔敢放佢出去 tells a lasting fear)
_UNTIL_TODAY_NOT = r"(?<!到)(?:" + _any(_TODAY_ZH, _TODAY_DIALECT) + ")"
_HAPPENING = re.compile(_any(
    _JUST_ZH, _JUST_YUE, _IN_PROGRESS_ZH, _STILL_ZH, r"又(?:打|来|在|拿|要|喝)", _UNTIL_TODAY_NOT, _EVENING_ZH, _TONIGHT_ZH, r"今儿|昨天|马上|快来|快救", _CRY_ZH, "躲",
    r"到现在(?!(?:都|也|还)?(?:没人管|没(?:有)?(?:处理|解决|说法|结果|赔|给钱|人理)))|到而家|到依家", r"天(?:都|已经)?黑|还没|一直没|报警",
    r"灯(?:都)?关|熄(?:晒)?灯", _at_words(("hid",), r"(?:e|ing)\b"), _JUST_EN, "again", _TODAY_EN, r"this (?:morning|evening|afternoon)|still (?:missing|outside|not (?:back|home|found|come))|hiding",
    r"please help|help!|help (?:me|us)\b(?! (?:to|with|apply|get|find|pay|ask))|dark"))
# a story on a screen or in the news, a fraud told afterwards, a move away: no danger to the writer
_FICTION = re.compile(r"电视剧|电影|剧里|片子里|小说|视频里|新闻|游戏|\bmovie|\bfilm\b|tv show|the show|in the game|on the news")
# ... whose time word, just before it, says when it was seen, not that something happens now
# (昨晚的电影里…, today on the news); "tonight my son watched a film and now…" keeps its time word
_WHEN_SEEN = re.compile(r"(?:今天|今晚|今早|今儿|昨晚|昨天|today|tonight|yesterday|last night|this (?:morning|evening|afternoon))"
                        r"[^。,.!?]{0,8}?(?=" + _FICTION.pattern + ")")
# ... or told as reported by the news elsewhere (新闻说邻县发大水了 好多人被困), unless it is here
_REPORTED = re.compile(r"(?:新闻|电视|广播)(?:上|里)?(?:说|讲|报|播)|(?:网上|视频里|视频上)(?:说|讲)|on the news|news (?:say|said|says)")
_HERE = re.compile(_any(r"我家|我们家|俺家|我们(?:村|这)|俺们|我屋|屋头", _CRY_ZH, r"help (?:me|us)|my (?:house|family|home)|our (?:house|village)"))
# a worry about a risk (怕煤气中毒, 怕哪天滑下来, afraid of a fire): the word just before the trigger
_FEARED = re.compile(r"(?:怕|担心|预防|防止|万一|以防|免得|afraid|worried|in case)[^。,.!?]{0,8}$")
# an attempt told as survived long ago (my uncle drink pesticide many years ago but he survive): with
# ``_OVER`` and nothing happening now or again, self-harm and medical words are explained (detect7)
_SURVIVED = re.compile(r"活过来|救(?:回来|活|过来)|抢救过来|捡回(?:一条)?命|\bsurviv\w*|(?:was|were|got) saved|saved (?:him|her|me|them)")
_FRAUD = re.compile(r"骗|诈骗|呃咗|scam|fraud|cheat")
# ... a danger claimed by a caller or a message and found out afterwards to be a scam (骗子打电话说孙子
#出了车祸 … 后来才知道是骗子): every kind but self-harm is that story, explained (detect9)
_CLAIMED = re.compile(
    r"(?:打|来|打来)(?:个|了|咗)?电话(?:来)?(?:说|讲|话)|电话(?:里|里头|度)?(?:说|讲|话)|(?:发|来)(?:了|咗)?(?:个)?(?:消息|短信|信息|微信)(?:说|讲|话)"
    r"|\bcall(?:s|ed|ing)? (?:me|us|my \w+)\b.{0,12}\b(?:say|says|said|tell|told)\b|\b(?:message|text|sms)\b.{0,12}\b(?:say|says|said)\b|phone (?:me )?(?:and )?(?:say|said)")
_JUST_NOW = re.compile(_any(_JUST_ZH, _IN_PROGRESS_ZH, _JUST_YUE, r"而家(?:仲)?喺", _JUST_EN))
_FOUND_OUT = re.compile(r"后来|才知道|才发现|原来|发现是|上当|被骗|呃人|骗子|\blater\b|turn(?:s|ed)? out|then (?:i |we )?(?:know|knew|find out|found out)|realis|realiz")
_MOVING = re.compile(r"下(?:个月|个礼拜|礼拜|周|星期|次|回)见|明天见|回头见|改天见|过几天见|see you (?:tomorrow|next|soon|later|again)|搬家|搬到|搬去|搬走|去.{0,6}(?:打工|上班|上学|读书|读大学|当兵)|" + _at_words(("mov",), r"(?:e|ing) to\b") + r"|go to (?:work|study) in|leave for (?:work|school)|(?:change|changed|changing) (?:my )?(?:phone|number)|new (?:phone )?number|see you (?:next|tomorrow|soon|later)")
# detect14: animals or things left with someone for a while, with a return (give my cow to neighbour for one
# week, 过几天就回来): the gift (``_GIFT``) is no farewell; other hints keep their weight
_BACK_SOON = re.compile(
    r"过(?:几|两|三|一)天(?:就)?(?:回来|回家|返来)(?!不)|(?:回来|返来)(?:再|就)(?:接|拿|领|牵|赶)|去住院|住(?:几天|一阵|段时间)院|(?:照看|喂|养)(?:几|两|三)天"
    r"|\bfor (?:a|one|two|three|few|some|\d+) (?:days?|weeks?|months?)\b|while i (?:am|'m) (?:in (?:the )?(?:hospital|city|town)|at work|away)"
    r"|until i (?:come|get) back\b(?! never)|(?:when|after) i (?:come|get) back|i (?:will )?come back (?:after|next|in|on|from)"
    r"|during the (?:festival|holiday|new year)|(?:go|going) (?:to )?visit (?:my|our) (?:\w+ )?(?:son|daughter|family|brother|sister|relatives|cousin|children|kids)\b(?!.{0,12}(?:heaven|grave))")
_GIFT = re.compile(r"giv|gave|照看|照顾|喂|养|交给|送给|留给")


def has_benign_idiom(norm: str) -> bool:
    """True when the normalized text holds one of the idioms that look like danger but are
    not (我想死你了, 笑死我了...); the parser then asks more of the classifier."""
    return _NOT_DANGER.search(norm) is not None


def told_as_past(norm: str, benign_idiom: bool | None = None) -> bool:
    """True when the normalized text places what it tells in the past or as a lasting state
    (去年, 好几年, last month, 一下雨就, 中风以后) and nothing in it happens now (快, 刚才, 突然,
    now): the parser then asks more of the classifier before the safety question (nlu4).
    ``benign_idiom`` (``EmergencyResult.benign_idiom`` of the same text), when known, spares
    removing idioms from a text that holds none."""
    cleaned = norm if benign_idiom is False else _NOT_DANGER.sub(" ", norm)
    over = _OVER.search(cleaned) is not None and _HAPPENING.search(cleaned) is None
    return bool((_NOT_NOW.search(cleaned) or _CHRONIC.search(cleaned) or _LASTING.search(cleaned) or over)
                and not _URGENT.search(cleaned) and not _SUDDEN.search(cleaned))


@dataclass(frozen=True, slots=True)
class EmergencyResult:
    is_emergency: bool  # level == "certain": page at once
    kinds: list[str] = field(default_factory=list)
    matched: str = ""
    score: float = 0.0
    level: str = "none"  # certain | unsure | none
    explained: bool = False  # a trigger was found and its context (past, over, work, fiction...) lowered it
    # the text holds a harmless idiom (我想死你了): ``has_benign_idiom``, found by the same pass
    benign_idiom: bool = False
    # what was found is only strong feeling — despair said plainly (撑不下去, 熬不下去, can't take it
    # anymore), a cry for help (救救我), a time word in a routine (每天晚上) — with no sign that
    # danger happens now or soon (a plan, a means, a farewell, a scene, 今晚, 刚才): ``feeling_only``
    feeling_only: bool = False

    @property
    def unsure(self) -> bool:
        return self.level == "unsure"


_NONE = EmergencyResult(False)
_NONE_IDIOM = EmergencyResult(False, benign_idiom=True)
_EXPLAINED = EmergencyResult(False, explained=True, benign_idiom=True)


def _idiom_hides_a_trigger(norm: str) -> bool:
    """A removed idiom held a danger word (忘了灶上还烧着火, 我想死你了): the word is explained."""
    spans = " ".join(m.group(0) for m in _NOT_DANGER.finditer(norm))
    return any(weight >= 1.0 and pattern.search(spans) for _, weight, pattern in _COMPILED)


def _meaning_hits(text: _Text) -> list[tuple[str, float, re.Match]]:
    """The meanings told by parts together (see ``_SOMEONE`` … ``_WORK_TOOL``), as hints."""
    hits = []
    # the rarer part first (these run on every message)
    lost = text.find(_NOT_FOUND)
    if lost and text.find(_SOMEONE) and text.find(_NOW_OR_DARK) and not (
            text.find(_AWAY_FOR_WORK) or (text.find(_OVER) and not text.find(_HAPPENING))):
        child = re.search(_CHILD + r"|\b(?:son|daughter|boy|girl|baby|child|kid)\b", text.text)
        hits.append(("missing_child" if child else "missing_person", HINT, lost))
    parts = [m for pattern in _PLAN_PARTS if (m := text.find(pattern))]
    if len(parts) >= 2:
        hits.append(("self_harm", HINT if len(parts) == 2 else 0.95, parts[0]))
    # detect9: one's own funeral arranged in a message, and now nobody can find or reach the writer
    if ((funeral := text.find(_OWN_FUNERAL)) and (lost or text.find(_UNREACHABLE))
            and not text.find(_DIED)):
        hits.append(("self_harm", 0.95, funeral))
    if ((bye := text.find(_SAID_BYE)) and (lost or text.find(_UNREACHABLE))
            and not text.find(_MOVING)):
        hits.append(("self_harm", HINT, bye))
    if (state := text.find(_ILL_STATE)) and text.find(_ILL_ONSET):
        hits.append(("medical", HINT, state))
    if (weapon := text.find(_WEAPON)) and text.find(_AT_DOOR) and not text.find(_WORK_TOOL):
        hits.append(("violence", HINT, weapon))
    # tenth round: a need told calmly whose content is acute now
    # (the rarer part first: these run on every message)
    if text.find(_NO_ANSWER) and ((alone := text.find(_FUMES)) or (
            (alone := text.find(_ALONE)) and (text.find(_DAYS) or text.find(_NOW_OR_DARK)))):
        hits.append(("medical", HINT, alone))
    if ((scene := text.find(_SCENE)) and text.find(_SCENE_NOW) and text.find(_INSIDE)
            and not (text.find(_WORRY) and not text.find(_URGENT))):
        hits.append(("disaster", HINT, scene))
    if (first := text.find(_CONFINE_PARTS[0])) and any(text.find(p) for p in _CONFINE_PARTS[1:]):
        hits.append(("violence", HINT, first))
    elif text.find(_CONFINE_PARTS[1]) and (first := text.find(_CONFINE_PARTS[2])):
        hits.append(("violence", HINT, first))
    if (threat := text.find(_THREAT)) and text.find(_FEAR_NOW):
        hits.append(("violence", HINT, threat))
    if text.find(_ACUTE_NOW) and (sign := text.find(_ACUTE_SIGN)):
        hits.append(("medical", HINT, sign))
    return hits


# issue 13, detect5 (2026-12-07): hard lives told with strong feeling. Despair said plainly (a hint)
# and a cry for help are *feelings*: without a sign that danger happens now or soon they never page
# a text that reads like a need (``EmergencyResult.feeling_only``, ``nlu/parser.py``)
_DESPAIR = re.compile(
    r"撑不下去|撑不住了|不想再撑|熬不下去|想不开|活着.{0,3}(?:没意思|没意义|多余)|累赘|(?:撑|顶|扛|熬)不了了|撑唔落去|撑毋落去"
    r"|go on|take it any ?more|tired of|giv(?:e|ing) up")
# a plea for help in one's own name (救救我们家吧), not a cry heard or a call for the police
_PLEA = re.compile(r"救救|救我|please help|save (?:me|us)")
# a burden said while asking for a service (我不想再拖累儿女 想问问能不能进敬老院): a need (GUIDE)
_BURDEN = re.compile(r"拖累|连累|累赘|burden")
_ASKS_SERVICE = re.compile(
    r"想(?:问问|问下|申请|进|去住|找个|找人)|能不能|能否|可不可以|有没有(?:啥|什么|甚么)?(?:救助|补助|办法|政策|地方|人)|敬老院|养老院|福利院|低保|申请|补助|救助|护工"
    r"|want to (?:apply|go to|ask|move)|care home|nursing home|old people'?s? home|can i (?:get|apply)|how (?:can|do) i|is there (?:any )?(?:help|support)")
# the now: danger happening or about to (a time word in a routine — 每天晚上 — is not one)
_NOW_SIGNAL = re.compile(_any(
    _JUST_ZH, _IN_PROGRESS_ZH, r"马上|立刻|现在就|这会儿|此刻|过了今|就在今|快来|快点|赶紧", _JUST_YUE, "而家就",
    _JUST_EN, r"hurry|come quick|this is (?:it|the end)"))
_NOW_TIME = re.compile(_any(_TONIGHT_ZH, "tonight"))
# a routine or a lasting state: every day, for years, always (what a hard life is told by)
_ROUTINE = re.compile(
    r"每晚|每天|天天|每日|日日|成日|夜夜|每个晚上|一直(?!(?:都|还)?在)|总是|老是|又是|每次|每年|每个月|这些年|这几年|几年|多年|一辈子|半辈子|这么久|好久了"
    r"|always|every (?:day|night|week|month|year)|all the time|for (?:years|months|weeks)|" + _each(("many", "few", "two", "three", "four", "five", "ten"), " (?:years|months)") + "|since")


# sleeping pills taken as a routine (天天靠安眠药才睡得着, sleeping pills every night) and not hoarded
# or counted: a need (the hint of a means is lowered)
_PILLS = re.compile(r"安眠药|sleep(?:ing)? (?:pills?|tablets|medicine)")
_PILL_ROUTINE = re.compile(r"每天|天天|每晚|每天晚上|夜夜|晚晚|靠.{0,3}安眠药|长期|一直|几年|好久|every (?:night|day)|each night|for (?:years|months)|since")
_HOARDED = re.compile(r"攒|存|储|一把|一瓶|整瓶|半瓶|好多|全部|都吃|吃光|够了|准备|备好|all\b|enough|saved|sav(?:e|ing)|collect|hoard|bottle|many|ready|whole")


def reads_as_need(norm: str) -> bool:
    """True when the normalized text tells a routine or a lasting state (每天, 好几年, always, for
    years, since …) or asks for a service (敬老院, 低保, 能不能): how a hard life is told, rather
    than what happens now."""
    return bool(_ROUTINE.search(norm) or _CHRONIC.search(norm) or _LASTING.search(norm) or _ASKS_SERVICE.search(norm))


def _feeling_only(on: _Text, hits: list[tuple[str, float, re.Match]]) -> bool:
    """Only strong feeling was found (despair said plainly, a cry for help, a time word in a
    routine) and nothing says that danger happens now or soon."""
    routine = on(_ROUTINE)
    if on(_NOW_SIGNAL) or (on(_NOW_TIME) and not routine):
        return False
    asks = on(_ASKS_SERVICE)
    for kind, trigger, m in hits:
        if (kind == "distress" and _PLEA.fullmatch(m.group(0))) or (kind == "self_harm" and trigger == HINT and (
                _DESPAIR.search(m.group(0)) or (asks and _BURDEN.search(m.group(0))))):
            continue
        if trigger <= TIME and routine:
            continue
        return False
    return True


def level_of(score: float) -> str:
    return "certain" if score >= CERTAIN else "unsure" if score >= UNSURE else "none"


def detect(text: str) -> EmergencyResult:
    """Scan one message (raw or normalized) for an emergency; see the module docstring."""
    return detect_normalized(normalize(text))


def detect_normalized(norm: str) -> EmergencyResult:
    """``detect`` for text that ``nlu.normalize.normalize`` has already processed."""
    script = _script(norm)
    latin = script != "no_latin"  # else every English-only pattern is skipped
    cleaned = _NOT_DANGER_BY_SCRIPT[script].sub(" ", norm)
    animal = latin and _ANIMAL_SIGN.search(norm) is not None and not _PERSON_EN.search(norm)
    acute_sign = _ACUTE_EN.search(norm) if latin else None
    acute = acute_sign is not None and not animal
    if latin and not (acute or _NOW_SIGNAL.search(norm) or _URGENT.search(norm)):
        cleaned = _LOOK_ALIKE_EN.sub(" ", cleaned)
    # every idiom holds a non-space character, so the text changed exactly when one was found
    idiom = cleaned != norm
    hits = [(kind, weight, m) for kind, weight, pattern in _SCAN[script] if (m := pattern.search(cleaned))]
    if latin and (m := acute_sign if cleaned == norm else _ACUTE_EN.search(cleaned)):
        hits.append(("medical", 1.0, m))
    on = _Text(cleaned, script)
    hits += _meaning_hits(on)
    if not hits:
        if not idiom:
            return _NONE
        return _EXPLAINED if _idiom_hides_a_trigger(norm) else _NONE_IDIOM
    not_now = on(_NOT_NOW) and not on(_URGENT)
    # a sudden sign with a now or again (now she fell down again): no long-standing illness explains it
    acute_now = acute and (on(_HAPPENING) or on(_SIGN_NOW))
    chronic = on(_CHRONIC) and not on(_SUDDEN) and not acute_now
    away = bool(_AWAY_FOR_WORK.search(norm))
    lasting = on(_CHRONIC) and not on(_URGENT) and not on(_SUDDEN)
    happening = on(_HAPPENING)
    over = on(_OVER) and not happening
    story = _WHEN_SEEN.sub(" ", cleaned)
    fiction = (bool(_FICTION.search(norm)) and not _HAPPENING.search(story) and not _URGENT.search(story)
               and not _SUDDEN.search(story)) or (bool(_REPORTED.search(norm)) and not _HERE.search(norm))
    moving = on(_MOVING) and not happening and not acute
    # a sudden sign told as past or lasting (fainted once when I was young): no page
    acute_past = (acute and (over or on(_CHRONIC) or on(_PAST_EN))
                  and not acute_now and not on(_NOW_SIGNAL) and not on(_URGENT) and not on(_SUDDEN))
    survived = over and on(_SURVIVED) and not acute and not on(_NOW_SIGNAL) and not on(_URGENT)
    policy_past = on(_POLICY_ASK) and on(_EVENT_OVER) and not on(_URGENT) and not on(_SUDDEN) and not happening
    scam_told = on(_FRAUD) and on(_CLAIMED) and on(_FOUND_OUT) and not on(_JUST_NOW)
    pills_routine = on(_PILL_ROUTINE) and not on(_HOARDED) and not on(_NOW_SIGNAL)
    calm_fall = on(_CALM_FALL) and not on(_DANGER_STAYS) and not acute
    errand = on(_FOR_SOMEONE) and not on(_NOW_SIGNAL) and not on(_NOW_TIME)
    back_soon = on(_BACK_SOON) and not on(_NOW_SIGNAL) and not on(_NOW_TIME) and not acute
    # detect15: told years back (前些年, 走了七八年了, long time back) with no sign of now or again: a
    # trigger lowered there is explained, as the classifier's probability comes from the same word
    long_past = on(_YEARS_BACK_RE) and not _now_or_again(on) and not (acute and on(_SIGN_NOW))
    per_kind: dict[str, float] = {}
    found: dict[str, list[str]] = {}
    weak_seen: set[str] = set()
    explained = False
    plain = {kind for kind, trigger, _ in hits if trigger >= 1.0}
    for kind, trigger, m in hits:
        if trigger <= TIME:  # weak signs (tonight, thanks for all these years…) count once together: never a hint
            if kind in weak_seen:
                continue
            weak_seen.add(kind)
        weight = trigger
        # the told meaning explains the word away (eighth round): the classifier alone then
        # needs EMERGENCY_PROBABILITY_EXPLAINED, as its probability comes from the same word
        meaning = ((over and kind in ("violence", *_MISSING)) or fiction or (survived and kind in ("self_harm", "medical"))
                   or (kind == "distress" and on(_FRAUD)) or (scam_told and kind != "self_harm")
                   or (moving and kind == "self_harm" and trigger < 1.0)
                   or (trigger >= HINT and kind in ("medical", "disaster", "violence") and _told_as_not_now(kind, m, cleaned, on))
                   or (kind == "self_harm" and trigger >= 1.0 and _act_told_as_past(m, cleaned, on))
                   or (calm_fall and kind == "medical" and _FALL_IN.search(m.group(0)) is not None)
                   or (errand and kind == "self_harm" and trigger == HINT and _MEDICINE_READY.search(m.group(0)) is not None)
                   or (back_soon and kind == "self_harm" and trigger < 1.0 and _GIFT.search(m.group(0)) is not None))
        if ((trigger == HINT and kind == "self_harm" and _PILLS.search(m.group(0)) and pills_routine)
                or ((acute_past or animal) and kind == "medical" and _ACUTE_EN.search(m.group(0)))
                or (not_now and kind in _SOFTENABLE) or (lasting and kind in _SOFTENABLE) or (chronic and kind == "medical") or (policy_past and kind in ("medical", *_SOFTENABLE))
                or (away and kind in _MISSING and _NOT_BACK.search(m.group(0))) or meaning
                or (kind in ("medical", *_SOFTENABLE) and not happening and not on(_URGENT)
                    and _FEARED.search(cleaned[:m.start()]))):
            weight = min(weight, LOWERED)
            explained = explained or meaning or (long_past and kind in ("medical", *_SOFTENABLE))
        # certain triggers count once (also when lowered: two lowered ones are still none);
        # hints and time words add up
        # (and a lowered hint adds nothing to what the same context lowered: tenth round)
        per_kind[kind] = (max(per_kind.get(kind, 0.0), weight) if trigger >= 1.0 or weight < trigger
                          else round(per_kind.get(kind, 0.0) + weight, 3))
        found.setdefault(kind, []).append(m.group(0))
    if per_kind.get("self_harm", 0.0) >= CERTAIN and "self_harm" not in plain and _HABITUAL_SPEECH.search(cleaned):
        per_kind["self_harm"] = HINT  # hints someone keeps saying (婆婆老说活够了): ask, do not page
    best = min(max(per_kind.values(), default=0.0), 1.0)
    kinds = [k for k, s in per_kind.items() if s >= UNSURE]
    if len(kinds) > 1 and "distress" in kinds:  # a specific kind says more than a cry for help
        kinds.remove("distress")
    matched = "|".join(found[k][0] for k in kinds)
    feeling = _feeling_only(on, hits)
    if feeling and best >= CERTAIN and "distress" not in kinds:
        best = HINT  # despair with a time word of a routine (每天晚上都熬不下去): asked, not paged
    level = level_of(best)
    return EmergencyResult(level == "certain", kinds, matched, round(best, 3), level, explained and level == "none",
                           idiom, feeling and level != "none")


# detect15 (2026-12-08): an act of self-harm told as what someone did years back, or how someone died
# (早些年我哥喝农药走了, 俺娘是喝药走的, my husband drink pesticide long time back): a death or a past in the
# family, a need now. Lowered (explained) only when every place the rule finds is such an act, each
# followed closely by its death, its rescue or its time, none after a wish (也想喝农药, want to kill
# himself), the text holds a time of years back (``_YEARS_BACK``) or a death with a past time, and no
# sign of now or again; words of intent (不想活, 想死, kill myself) are never lowered
_SELF_HARM_ACT = re.compile(
    r"喝了?农药|喝药|喝敌敌畏|敌敌畏|百草枯|跳河|跳楼|跳崖|跳水库|跳井|跳江|卧轨|上吊|割腕|割脉|自杀|轻生|自尽|寻死"
    r"|(?:drank|drink|drinks|drinking|took|take|ate) (?:the |some )?(?:pesticide|poison|nongyao)|pesticide|nongyao"
    r"|kill(?:ed|s)? (?:him|her)self|suicid\w*|hang(?:ed)? (?:him|her)self")
_ACT_TOLD = re.compile(_any(_YEARS_BACK_ZH, _YEARS_BACK_EN, _DEATH_ZH, r"走的|没的|死的|死了|走咗|冇咗|过身|\b(?:died|dead|passed away)\b", _SURVIVED.pattern))
_WISH_BEFORE = re.compile(r"(?:想|要|准备|打算|说要|want\w* to|will|going to|gonna|wanna|tries to|try to again)\s?$")
_AGAIN = re.compile(r"又|再次|again")


def _now_or_again(on: _Text) -> bool:
    return on(_NOW_HERE) or on(_NOW_SIGNAL) or on(_SUDDEN) or on(_AGAIN)


def _act_told_as_past(m: re.Match, cleaned: str, on: _Text) -> bool:
    if _now_or_again(on):
        return False
    if not (on(_YEARS_BACK_ACT) or (on(_DIED) and on(_PAST_WHEN))):
        return False
    return all(_SELF_HARM_ACT.fullmatch(x.group(0)) and _ACT_TOLD.search(cleaned, x.end(), x.end() + 20)
               and not _WISH_BEFORE.search(cleaned, max(0, x.start() - 10), x.start())
               for x in m.re.finditer(cleaned))


_YEARS_BACK_RE = re.compile(_YEARS_BACK)
_YEARS_BACK_ACT = re.compile(_any(_YEARS_BACK_ZH, _YEARS_BACK_EN))
