"""A typed case number opens that case's timeline for its owner only (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import NeedRequest

INTAKE = ["你好", "1", "1", "俺娘一个人在家没人照顾", "是", "3", "我在外地打工，我娘腿脚不好", "2", "东坡村"]


async def _texts(runner, sender, text, payload=""):
    return [o.text for o in await runner.send(sender, text, payload)]


async def test_someone_elses_case_number_reveals_nothing(runner):
    for text in INTAKE:
        await runner.send("owner", text)
    await runner.send("owner", "", "choice:__skip__")
    done = await _texts(runner, "owner", "1")
    async with runner.services.db.session() as s:
        number = (await s.execute(select(NeedRequest.number))).scalar_one()
    assert any(number in t for t in done)

    typed = number.lower().replace("-", " ")  # "xz 2026 000001"
    own = "\n".join(await _texts(runner, "owner", typed))
    assert number in own and "收到求助" in own

    for text in ("你好", "1", "1"):
        await runner.send("other", text)
    other = "\n".join(await _texts(runner, "other", number))
    assert "您名下没有这个求助编号" in other
    assert number not in other and "照顾老人" not in other and "收到求助" not in other
    missing = "\n".join(await _texts(runner, "other", "XZ-2026-999999"))
    assert missing == other  # the same words for a case that does not exist: nothing to tell apart
