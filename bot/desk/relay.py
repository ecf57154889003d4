"""Both directions of a claimed handoff, and what the dispatcher asks before a turn:

- a message from a staff member's linked messenger is a desk turn (commands.WorkerDesk);
- a villager in human mode: their text, photos and voice (from the media store, so they
  cross messengers) go to the claiming worker, prefixed with the handoff, name and case;
  the bot itself says nothing (the dispatcher still runs the emergency path);
- a villager just handed back answers "这次帮到您了吗？" with 1, 2 or 3.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import bindparam, select

from bot.desk.commands import WorkerDesk
from flows.turn import Turn
from storage import handoffs as store, outbox as outbox_store, routing, timers
from storage.models import ChannelIdentity, Handoff, Staff
from storage.notify import best_identity
from storage.people import NOT_READ

QUEUED = {
    "zh": "收到了。社工接手后会在这里回复您。有危险请马上打 110 或 120。",
    "en": "Received. A social worker will answer here once they pick this up. In danger, call 110 or 120 now.",
}
THANKS = {"zh": "谢谢您的评价！有事再发消息给我就行。", "en": "Thank you for your feedback!"}
_SCORES = {"1": 1, "2": 2, "3": 3, "满意": 1, "一般": 2, "不满意": 3, "satisfied": 1, "so-so": 2,
           "not satisfied": 3, "sat:1": 1, "sat:2": 2, "sat:3": 3, "１": 1, "２": 2, "３": 3}


def rules_of(turn: Turn) -> routing.DeskRules:
    return routing.DeskRules.from_settings(getattr(turn.services, "settings", None))


async def staff_of_sender(turn: Turn) -> int | None:
    """The active staff member whose messenger sent this turn, if any; marks that messenger
    as the one they used last (notifications go there)."""
    identity = (await turn.session.execute(select(ChannelIdentity).where(
        ChannelIdentity.channel == turn.channel, ChannelIdentity.external_id == turn.sender))).scalar_one_or_none()
    if identity is None or identity.staff_id is None:
        return None
    staff = await turn.session.get(Staff, identity.staff_id)
    if staff is None or not staff.active:
        return None
    identity.last_inbound_at = turn.now
    return staff.id


async def handle_worker_turn(turn: Turn, staff_id: int) -> None:
    await WorkerDesk(turn, staff_id, rules_of(turn)).handle()


async def take_satisfaction(turn: Turn) -> bool:
    """After a close: a 1/2/3 (or 满意/一般/不满意, or the button) is stored as the rating and
    thanked for; anything else drops the question and goes on as usual. True when taken."""
    state = dict(turn.conversation.state or {})
    handoff_id = state.pop(store.SATISFACTION_KEY, None)
    if handoff_id is None:
        return False
    turn.conversation.state = state
    answer = (turn.payload or turn.text or "").strip().lower()
    score = _SCORES.get(answer) or _SCORES.get((turn.text or "").strip().lower())
    if score is None:
        return False
    await store.record_satisfaction(turn.session, int(handoff_id), turn.person.id, score)
    turn.say(THANKS["en" if turn.locale == "en" else "zh"])
    return True


def _attachment_note(attachments: list[dict]) -> str:
    kinds = {"photo": "照片", "voice": "语音", "document": "文件", "video": "视频", "location": "位置"}
    found = [kinds.get(a.get("kind", ""), "附件") for a in attachments]
    return f"（{'、'.join(found)}）" if found else ""


# the person's open handoff as columns, built once (SQLAlchemy memoizes its cache key)
_OPEN_HANDOFF = (select(Handoff.id, Handoff.status, Handoff.claimed_by_staff_id)
                 .where(Handoff.person_id == bindparam("person_id"), Handoff.status.in_(store.OPEN))
                 .order_by(Handoff.id.desc()).limit(1))


async def relay_to_worker(turn: Turn, inbound_message_id: int) -> None:
    """A villager in human mode. Claimed: the message goes to the worker's messenger (the one
    they used last) and the no-reply clock starts; waiting: the villager is told it is queued."""
    session = turn.session
    # columns first: most of these villagers wait unclaimed, and a text needs no ORM object;
    # the turn's read gives them along with the conversation row (storage/turns.py)
    row = getattr(turn.conversation, "open_handoff", NOT_READ)
    if row is NOT_READ:
        row = (await session.execute(_OPEN_HANDOFF, {"person_id": turn.person.id})).first()
    attachments = [asdict(a) for a in turn.attachments]
    claimed = row is not None and row.status == "claimed" and row.claimed_by_staff_id is not None
    handoff = await session.get(Handoff, row.id) if row is not None and (claimed or attachments) else None
    if handoff is not None and attachments:
        handoff.attachments = [*(handoff.attachments or []), *attachments]
    if not claimed:
        if turn.emergency is None:  # the emergency flow answers instead
            turn.say(QUEUED["en" if turn.locale == "en" else "zh"])
        return
    handoff.last_villager_at = turn.now
    rules = rules_of(turn)
    await timers.add(session, "desk_no_reply", turn.now + timedelta(minutes=rules.no_reply_minutes),
                     target=f"handoff:{handoff.id}", dedupe_key=f"desk_no_reply:{handoff.id}:{inbound_message_id}")
    identity = await best_identity(session, staff_id=handoff.claimed_by_staff_id)
    if identity is None:
        return  # the web inbox shows it
    s = await store.summary(session, handoff, messages=0)
    unsure = (turn.parse.get("emergency") or {}).get("level") == "unsure"
    mark = "⚠ " if turn.emergency is not None or unsure else ""  # the worker judges an unsure one
    label = " · ".join(p for p in (s.name, s.case_label()) if p)
    base = str(getattr(getattr(turn.services, "settings", None), "web_base_url", "") or "").rstrip("/")
    link = f"{base}/handoffs/{handoff.id}" if base else ""  # for a messenger that cannot carry the file
    await outbox_store.enqueue(
        session, channel=identity.channel, recipient=identity.external_id,
        text=f"{mark}#{handoff.id}【{label}】{turn.text}{_attachment_note(attachments)}",
        attachments=[{**a, "link": link} for a in attachments], person_id=turn.person.id,
        staff_id=handoff.claimed_by_staff_id, kind="relay", now=turn.now)
