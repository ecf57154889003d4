"""State across restarts and publishes, through the real dispatcher, on SQLite and PostgreSQL.

"Another process" is a second Database + FlowRuntime + Services built from the same URL in
this process: nothing is shared between them but the database (no server subprocesses here).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from vocab.messages import Inbound
from bot.services import Services
from flows.runtime import FlowRuntime
from flows.store import BUILTIN_DIR, save_draft, seed_builtin
from storage import flow_store
from storage.db import Database

FLOWS = Path(__file__).parent / "data" / "flows"
WATER = (FLOWS / "water_report.yaml").read_text(encoding="utf-8")


class Process:
    """What one server process holds: its own engine, runtime cache and dispatcher."""

    def __init__(self, url: str, nlu, registry):
        self.db = Database(url)
        self.runtime = FlowRuntime(registry=registry)
        self.services = Services(load_settings(database_url=url), self.db, nlu=nlu, handler=self.runtime,
                                 emergency_detector=None)
        self.n = 0

    async def say(self, sender: str, text: str, channel: str = "rest") -> list[str]:
        self.n += 1
        out = await self.services.dispatcher.handle(
            Inbound(channel=channel, sender=sender, text=text, message_id=f"{id(self)}-{self.n}"))
        return [o.text for o in out]

    async def close(self) -> None:
        await self.services.stop()
        await self.db.dispose()


async def _seed(url: str, registry, flows: Path = FLOWS) -> None:
    db = Database(url)
    async with db.session() as s:
        await seed_builtin(s, flows, registry=registry)
    await db.dispose()


async def _publish(url: str, yaml_text: str) -> None:
    db = Database(url)
    async with db.session() as s:
        version = await save_draft(s, "water_report", yaml_text, "staff:1")
        await flow_store.publish(s, "water_report", version.id, by="staff:1")
    await db.dispose()


async def test_restart_mid_flow_resumes_at_the_same_step(db_url, nlu, registry):
    await _seed(db_url, registry)
    first = Process(db_url, nlu, registry)
    assert await first.say("u1", "停水了") == ["您是哪个村的？"]
    assert await first.say("u1", "西坡村") == ["停水几天了？"]
    await first.close()  # the process dies

    second = Process(db_url, nlu, registry)
    assert await second.say("u1", "4") == ["家里还有喝的水吗？"]
    assert await second.say("u1", "有") == ["谢谢，西坡村停水4天，已记下。"]
    await second.close()


async def test_a_conversation_finishes_on_the_version_it_started_on(db_url, nlu, registry):
    await _seed(db_url, registry)
    proc = Process(db_url, nlu, registry)
    await proc.say("old", "停水了")
    await _publish(db_url, WATER.replace("您是哪个村的？", "请问您在哪个村？").replace("已记下", "新版已记下"))
    # the running conversation stays on version 1 …
    assert await proc.say("old", "东沟村") == ["停水几天了？"]
    assert await proc.say("old", "1") == ["谢谢，东沟村停水1天，已记下。"]
    # … while a new one starts on version 2
    assert await proc.say("new", "停水了") == ["请问您在哪个村？"]
    await proc.close()


async def test_a_publish_reaches_another_process_on_its_next_message(db_url, nlu, registry):
    await _seed(db_url, registry)
    a, b = Process(db_url, nlu, registry), Process(db_url, nlu, registry)
    assert await b.say("x", "停水了") == ["您是哪个村的？"]  # b has version 1 cached
    await b.say("x", "算了")
    # an admin publishes through process a's database connection
    async with a.db.session() as s:
        version = await save_draft(s, "water_report", WATER.replace("您是哪个村的？", "哪个村停水了？"), "staff:1")
        await flow_store.publish(s, "water_report", version.id, by="staff:1")
    assert await b.say("x", "停水了") == ["哪个村停水了？"]
    # and a rollback reaches it the same way
    async with a.db.session() as s:
        await flow_store.rollback(s, "water_report", to_version=1, by="staff:1")
    await b.say("x", "算了")
    assert await b.say("x", "停水了") == ["您是哪个村的？"]
    await a.close()
    await b.close()


async def test_seed_builtin_keeps_admin_edits(db, registry):
    async with db.session() as s:
        assert "water_report" in await seed_builtin(s, FLOWS, registry=registry)
    async with db.session() as s:
        v = await save_draft(s, "water_report", WATER.replace("已记下", "管理员改过"), "staff:1")
        await flow_store.publish(s, "water_report", v.id, by="staff:1")
    async with db.session() as s:
        assert await seed_builtin(s, FLOWS, registry=registry) == []
        current = await flow_store.current_version(s, "water_report")
        assert "管理员改过" in current.yaml and current.version == 2
        listed = {f.id: f for f in await flow_store.list_flows(s)}
        assert listed["water_report"].current_version == 2 and listed["water_report"].latest_version == 2


async def test_save_draft_refuses_a_broken_flow(db):
    import pytest

    from flows.validate import FlowValidationError

    async with db.session() as s:
        with pytest.raises(FlowValidationError) as info:
            await save_draft(s, "water_report", WATER.replace("goto: ask_urgent", "goto: ask_urgnt"))
    assert "step 'check' jumps to 'ask_urgnt', which does not exist — did you mean 'ask_urgent'?" in str(info.value)


@pytest.mark.parametrize("channel", ["rest", "telegram", "wechat"])
async def test_the_choices_shown_with_no_flow_running_survive_a_restart(db_url, nlu, registry, channel):
    """The menu is shown and its flow has ended; after a restart "二" still picks its second
    entry; a title picks too, on every channel; a number with no choices shown is a number."""
    await _seed(db_url, registry, BUILTIN_DIR)
    first = Process(db_url, nlu, registry)
    menu = await first.say("u1", "菜单", channel)
    assert "我能帮您做这些" in menu[-1]
    await first.close()

    second = Process(db_url, nlu, registry)
    assert "为了帮您办事" in (await second.say("u1", "二", channel))[-1]  # 我要求助 asks for consent first
    assert "取消" in (await second.say("u1", "取消", channel))[0]
    await second.say("u1", "菜单", channel)
    assert "还没有求助" in (await second.say("u1", "我的求助进度", channel))[-1]  # the title
    assert "为了帮您办事" in (await second.say("u1", "第一个", channel))[-1]  # its 我要求助 button
    assert not any("为了帮您办事" in t for t in await second.say("u2", "2", channel))  # nothing shown to u2
    await second.close()
