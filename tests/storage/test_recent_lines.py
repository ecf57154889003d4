from datetime import timedelta

from storage.messages import recent_history, recent_lines
from storage.models import Message
from tests.storage.helpers import NOW, make_person


async def test_recent_lines_are_recent_history_as_direction_and_text(db):
    async with db.session() as s:
        p = await make_person(s)
        other = await make_person(s, ext="u2")
        for i in range(6):
            s.add(Message(person_id=p.id, channel="rest", direction="in" if i % 2 == 0 else "out",
                          text=f"第{i}句", created_at=NOW + timedelta(seconds=i)))
        s.add(Message(person_id=other.id, channel="rest", direction="in", text="别人", created_at=NOW))
        await s.flush()
        lines = await recent_lines(s, p.id, limit=4)
        history = await recent_history(s, p.id, limit=4)
    assert [(r.direction, r.text) for r in lines] == [(m.direction, m.text) for m in history]
    assert [r.text for r in lines] == ["第2句", "第3句", "第4句", "第5句"]
