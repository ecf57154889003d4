"""The desk with the real bot (`xiangzhu serve` in a subprocess, demo data, SQLite) and the npm
`telegram-test-api` emulator: a villager and a social worker as two Telegram users. The
worker links with an invite code, goes on duty, gets the handoff with Claim/Skip buttons,
claims it, the two talk through the bot, the worker closes, the villager rates it, and the
bot answers the villager again. The report then counts it (CLI, JSON)."""
from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tests.channels.telegram_emulator import Emulator, EmulatorUser, run_cli, serve_against

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("emulator") / "emulator.log")
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def bot_server(emulator, tmp_path_factory, demo_databases):
    with serve_against(emulator, tmp_path_factory.mktemp("bot"), demo_databases) as server:
        yield server


def query(server, sql, *args):
    with sqlite3.connect(server.db_file) as conn:
        return conn.execute(sql, args).fetchall()


def test_villager_and_worker_talk_through_the_bot_on_telegram(emulator, bot_server):
    # the township's supervisor links Telegram and goes on duty (whatever the hour)
    out = run_cli(bot_server.env, "workers", "invite", "liuzhan", cwd=bot_server.home)
    code = re.search(r"/start (w-\S+)", out).group(1)
    worker = EmulatorUser(emulator, chat_id=620001, name="刘建国")
    worker.command(f"/start {code}")
    worker.wait_text("绑定好了")
    worker.say("上班")
    worker.wait_text("已上班")

    villager = EmulatorUser(emulator, chat_id=620002, name="李秀英")
    villager.command("/start")
    villager.press(villager.wait_text("请选择语言"), "中文")
    villager.press(villager.wait_text("您同意吗"), "同意")
    villager.wait_text("我能帮您做这些")
    villager.say("转人工")
    villager.wait_text("已通知社工")

    offer = worker.wait_text("新求助")
    [(handoff_id,)] = query(bot_server, "SELECT id FROM handoffs")
    assert f"#{handoff_id}" in offer["text"] and "李秀英" in offer["text"]
    worker.press(offer, "认领 Claim")
    worker.wait_text(f"您认领了 #{handoff_id}")
    villager.wait_text("社工刘建国来了")

    villager.say("我家的低保这个月没发")
    relayed = worker.wait_text("我家的低保这个月没发")
    assert relayed["text"] == f"#{handoff_id}【李秀英】我家的低保这个月没发"
    worker.say("您好，我帮您查一下")
    assert villager.wait_text("您好，我帮您查一下")["text"] == "【社工刘建国】您好，我帮您查一下"

    # casework from the phone: a case from the conversation, its summary, a flag on the household
    worker.say("个案")
    number = re.search(r"已关联个案 (XZ-\d{4}-\d{6})", worker.wait_text("已关联个案")["text"]).group(1)
    short = str(int(number.rsplit("-", 1)[1]))
    worker.command(f"/case {short}")
    assert "李秀英" in worker.wait_text(f"个案 {number} ·")["text"]
    worker.command(f"/flag {short} 因病返贫风险")
    worker.wait_text("防返贫关注")
    assert query(bot_server, "SELECT f.kind, f.reason FROM flags f JOIN need_requests n ON n.person_id = f.person_id "
                             "WHERE n.number = ?", number) == [("return_to_poverty_watch", "因病返贫风险")]

    worker.say("结束 已解答")
    worker.wait_text("已结束")
    question = villager.wait_text("这次帮到您了吗")
    villager.press(question, "1 满意")
    villager.wait_text("谢谢您的评价")
    assert query(bot_server, "SELECT status, satisfaction FROM handoffs") == [("closed", 1)]

    villager.say("低保怎么申请")
    assert "低保" in villager.wait_for(lambda m: "低保" in (m.get("text") or ""))["text"]  # the bot again

    report = json.loads(run_cli(bot_server.env, "report", "handoffs", "--json", cwd=bot_server.home))
    assert report["count"] == 1 and report["satisfaction"]["satisfied"] == 1
    assert report["seconds_to_claim"]["p50"] is not None and report["seconds_to_first_reply"]["p50"] is not None
    assert list(report["by_priority"]) == ["normal"]
