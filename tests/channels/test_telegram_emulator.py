"""The real bot (`xiangzhu serve` in a subprocess: flows, NLU, outbox, our getUpdates loop)
against the npm `telegram-test-api` Bot API emulator, pointed at it with
XIANGZHU_TELEGRAM_BASE_URL. Users send commands and text and press inline buttons through the
emulator's client API; the bot's answers are read back from the emulator. The emulator's gaps
with python-telegram-bot 22 are bridged by tests/peers/telegram_emulator.js (test code only).
SQLite, demo data (`xiangzhu seed --demo`)."""
from __future__ import annotations

import re
import sqlite3

import pytest

from tests.channels.telegram_emulator import TOKEN, Emulator, EmulatorUser, run_cli, serve_against

pytestmark = pytest.mark.slow

MENU_KEYS = {"问政策 Policies", "找社工 Social worker"}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("emulator") / "emulator.log")
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def bot_server(emulator, tmp_path_factory, demo_databases):
    with serve_against(emulator, tmp_path_factory.mktemp("bot"), demo_databases) as server:
        yield server
    assert TOKEN not in server.log.read_text(), "the bot token leaked into the log"


def query(server, sql, *args):
    with sqlite3.connect(server.db_file) as conn:
        return conn.execute(sql, args).fetchall()


def buttons(message) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b["text"] for row in rows for b in row]


def test_start_then_language_and_consent_by_inline_buttons(emulator, bot_server):
    user = EmulatorUser(emulator, chat_id=610001)
    user.command("/start")
    hello = user.wait_text("请选择语言")
    assert buttons(hello) == ["中文", "English"]
    data = user.press(hello, "中文")
    consent = user.wait_text("您同意吗")
    assert {"同意", "不同意"} <= set(buttons(consent))
    answered = emulator.calls("answerCallbackQuery")
    assert answered, "the button press was answered"
    user.press(consent, "同意")
    thanks = user.wait_text("谢谢")
    keys = {k["text"] for row in thanks["reply_markup"]["keyboard"] for k in row}
    assert MENU_KEYS <= keys  # a message without choices carries the main-menu keyboard
    menu = user.wait_text("我能帮您做这些")
    assert "问政策" in buttons(menu)
    stored = query(bot_server, "SELECT text FROM messages WHERE channel='telegram' AND direction='in' "
                               "AND channel_message_id LIKE 'cb:%' ORDER BY id")
    assert [row[0] for row in stored][:2] == ["中文", "同意"]  # a press is stored as the button's title
    assert data == "choice:zh"


def test_deep_link_opens_the_activity(emulator, bot_server):
    [(activity_id, title)] = query(bot_server, "SELECT id, title FROM activities ORDER BY id LIMIT 1")
    user = EmulatorUser(emulator, chat_id=610002)
    user.command(f"/start act-{activity_id}")
    shown = user.wait_text(title)
    assert "我要报名" in buttons(shown)


def test_a_policy_question_in_words_gets_a_sourced_answer(emulator, bot_server):
    user = EmulatorUser(emulator, chat_id=610003)
    user.say("低保怎么申请")
    answer = user.wait_text("低保")
    assert "来源" in answer["text"] and len(answer["text"]) <= 4096
    assert buttons(answer), "follow-up choices as inline buttons"


def test_a_main_menu_key_is_understood(emulator, bot_server):
    user = EmulatorUser(emulator, chat_id=610004)
    user.say("问政策 Policies")
    reply = user.wait_for(lambda m: m.get("text"))
    assert "政策" in reply["text"]


def test_worker_invite_by_deep_link_links_the_telegram_account(emulator, bot_server):
    out = run_cli(bot_server.env, "workers", "invite", "wangfang", cwd=bot_server.home)
    code = re.search(r"/start (w-\S+)", out).group(1)
    user = EmulatorUser(emulator, chat_id=610005, name="王芳")
    user.command(f"/start {code}")
    user.wait_text("绑定好了")
    [(staff_username,)] = query(
        bot_server, "SELECT s.username FROM channel_identities i JOIN staff s ON s.id = i.staff_id "
                    "WHERE i.channel='telegram' AND i.external_id='610005'")
    assert staff_username == "wangfang"


def test_a_real_message_after_start_answers_the_language_question_and_is_handled(emulator, bot_server):
    user = EmulatorUser(emulator, chat_id=610006)
    user.command("/start")
    user.wait_text("请选择语言")
    user.say("我家孩子上学交不起学费")
    intake = user.wait_for(lambda m: "您同意吗" in (m.get("text") or "") or "请回复 1（中文）" in (m.get("text") or ""))
    assert "您同意吗" in intake["text"]  # the need intake asks for consent first, in Chinese
    user.press(intake, "同意")
    user.wait_text("上学")  # the category, taken from the message
    [(flow, locale)] = query(bot_server, "SELECT c.flow_id, p.locale FROM conversations c JOIN people p "
                                         "ON p.id = c.person_id JOIN channel_identities i ON i.person_id = p.id "
                                         "WHERE i.channel='telegram' AND i.external_id='610006'")
    assert (flow, locale) == ("need_request", "zh")
