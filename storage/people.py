"""People and their channel identities: find or create the person behind a messenger
account, consent, opting out, unreachable identities, and the conversation row that
serialises one person's turns.

Row locks (PostgreSQL): the person's conversation row is the first lock of any transaction
that changes a person's rows — a turn's read takes it, then the person's and the identity's
rows (last seen), then what the dialogue changes (handoff, case…). Paths that start elsewhere
(a worker closing a handoff, an erasure, a merge of two people) call `lock_people` first, so
no transaction holds a person's row while it waits for a turn that waits for that row
(docs/performance.md, "Row lock order").

The caller owns the transaction. Creation is race-safe on both databases: on SQLite every
transaction is BEGIN IMMEDIATE (one writer), on PostgreSQL the unique constraints decide and a
loser of the race re-reads the winner's rows inside a SAVEPOINT.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from sqlalchemy.dialects import postgresql

from storage import driver, messages
from storage.models import ChannelIdentity, Conversation, Message, Person, UTCDateTime, utcnow

__all__ = [
    "LAST_SEEN_RESOLUTION",
    "TurnConversation",
    "TurnPerson",
    "attach_person",
    "create_for_turn",
    "first_contact",
    "find_or_create_by_identity",
    "get_conversation_for_update",
    "give_consent",
    "lock_people",
    "load_for_turn",
    "read_turn",
    "mark_unreachable",
    "set_opted_out",
    "write_conversation",
    "conversation_write",
    "conversation_written",
]


# last-seen times are written when they are older than this: one fewer UPDATE per message
# for a person who is chatting (nothing reads them more precisely: the WeChat reply window is
# 48 hours, the worker's view shows minutes)
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def _stale(value: datetime | None, now: datetime) -> bool:
    if value is None:
        return True
    if (value.tzinfo is None) != (now.tzinfo is None):  # both are UTC; one may come back naive
        value, now = value.replace(tzinfo=None), now.replace(tzinfo=None)
    return now - value >= LAST_SEEN_RESOLUTION or value > now


def _seen(identity: dict, person: dict, display_name: str, now: datetime) -> tuple[dict, dict]:
    """What a message from the person changes: ({identity column: value}, {person column:
    value}) — last-seen times when stale, reachable again, the display name if there was none."""
    seen, touched = {}, {}
    if _stale(identity["last_inbound_at"], now):
        seen["last_inbound_at"] = now
    if identity["unreachable"]:
        seen["unreachable"] = False  # they wrote to us: reachable again
    if _stale(person["last_seen_at"], now):
        touched["last_seen_at"] = now
    if display_name and not person["display_name"] and not person["erased"]:
        touched["display_name"] = display_name[:100]
    return seen, touched


def _touch(person: Person, identity: ChannelIdentity, display_name: str, now: datetime) -> None:
    seen, touched = _seen(
        {"last_inbound_at": identity.last_inbound_at, "unreachable": identity.unreachable},
        {"last_seen_at": person.last_seen_at, "display_name": person.display_name, "erased": person.erased},
        display_name, now,
    )
    for obj, changes in ((identity, seen), (person, touched)):
        for name, value in changes.items():
            setattr(obj, name, value)


async def _identity_with_person(session: AsyncSession, channel: str, external_id: str):
    row = (
        await session.execute(
            select(ChannelIdentity, Person)
            .join(Person, Person.id == ChannelIdentity.person_id)
            .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def identity_with_locale(session: AsyncSession, channel: str, external_id: str
                               ) -> tuple[ChannelIdentity, str] | None:
    """The channel identity and its person's locale, or None."""
    row = (
        await session.execute(
            select(ChannelIdentity, Person.locale)
            .join(Person, Person.id == ChannelIdentity.person_id)
            .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
        )
    ).first()
    return (row[0], row[1] or "") if row else None


async def locale_of(session: AsyncSession, person_id: int) -> str:
    return (await session.execute(select(Person.locale).where(Person.id == person_id))).scalar_one_or_none() or ""


async def find_or_create_by_identity(
    session: AsyncSession,
    channel: str,
    external_id: str,
    display_name: str = "",
    locale: str | None = None,
    *,
    now: datetime | None = None,
) -> tuple[Person, ChannelIdentity, bool]:
    """The person behind (channel, external_id), created on first contact with an empty
    conversation. Returns (person, identity, created). Updates last-seen times."""
    now = now or utcnow()
    found = await _identity_with_person(session, channel, external_id)
    created = False
    if found is None:
        try:
            async with session.begin_nested():
                person = Person(display_name=display_name[:100], locale=locale or "zh", created_at=now)
                session.add(person)
                await session.flush()
                identity = ChannelIdentity(
                    channel=channel, external_id=external_id, person_id=person.id, created_at=now
                )
                session.add(identity)
                session.add(Conversation(person_id=person.id, updated_at=now))
                await session.flush()
            created = True
            found = (identity, person)
        except IntegrityError:
            # another process created the identity between our read and our insert
            found = await _identity_with_person(session, channel, external_id)
            if found is None:
                raise
    identity, person = found
    _touch(person, identity, display_name, now)
    return person, identity, created


NOT_READ: Any = object()


class TurnConversation:
    """The person's conversation row as a plain object for one turn: the flow engine reads
    and sets its attributes like the ORM row's, and `write_conversation` writes back only what
    changed, with one UPDATE (no ORM unit of work on the hot path)."""

    FIELDS = ("flow_id", "flow_version_id", "step", "slots", "stack", "mode", "state")
    # open_handoff: the person's open handoff as read with the row in human mode
    # (storage.handoffs.OpenHandoff or None), NOT_READ when the turn did not read it
    __slots__ = ("id", "person_id", "updated_at", *FIELDS, "_loaded", "open_handoff")

    def __init__(self, id: int, person_id: int, updated_at: datetime | None, **fields: Any):
        self.id, self.person_id, self.updated_at = id, person_id, updated_at
        self.open_handoff = NOT_READ
        for name in self.FIELDS:
            setattr(self, name, fields[name])
        self._loaded = {name: _fingerprint(fields[name]) for name in self.FIELDS}

    @classmethod
    def from_row(cls, row) -> "TurnConversation":
        """From the values of id, person_id, updated_at and FIELDS, in that order."""
        id, person_id, updated_at, *values = row
        return cls(id, person_id, updated_at, **dict(zip(cls.FIELDS, values)))

    @classmethod
    def from_orm(cls, conv: Conversation) -> "TurnConversation":
        return cls(conv.id, conv.person_id, conv.updated_at, **{n: getattr(conv, n) for n in cls.FIELDS})

    def changes(self) -> dict[str, Any]:
        """{column: new value} for every field that differs from the row as loaded."""
        return {n: getattr(self, n) for n in self.FIELDS if _fingerprint(getattr(self, n)) != self._loaded[n]}


# what json.dumps(value, sort_keys=True, ensure_ascii=False, default=str) builds on every call
_FINGERPRINT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str).encode


def _fingerprint(value: Any) -> Any:
    # JSON columns are compared by content (a nested value may have been changed in place)
    if isinstance(value, (dict, list)):
        return _FINGERPRINT(value)
    return value


# ── the turn's rows on the driver (storage/driver.py) ────────────────────────────────────

_PEOPLE, _IDENTITIES, _CONVERSATIONS = Person.__table__, ChannelIdentity.__table__, Conversation.__table__
_MESSAGES = Message.__table__
_PERSON_NAMES = tuple(c.key for c in _PEOPLE.columns)
_IDENTITY_COLUMNS = (_IDENTITIES.c.id, _IDENTITIES.c.unreachable, _IDENTITIES.c.last_inbound_at, _IDENTITIES.c.staff_id)
_CONVERSATION_COLUMNS = tuple(_CONVERSATIONS.c[n] for n in ("id", "person_id", "updated_at", *TurnConversation.FIELDS))
_PERSON_AT = len(_IDENTITY_COLUMNS)
_CONVERSATION_AT = _PERSON_AT + len(_PERSON_NAMES)
_ALSO_AT = _CONVERSATION_AT + len(_CONVERSATION_COLUMNS)
_turn_row_queries: dict[tuple, driver.Query] = {}


def _turn_row(lock: bool, also: tuple[driver.Scalar, ...], store: bool = False) -> driver.Query:
    """identity, person and conversation behind (channel, external_id), the conversation
    row locked on PostgreSQL (on SQLite the writer lock serialises turns), and `also`.
    `store` (PostgreSQL only): the statement also stores the inbound message (parameters
    `in_` + messages.INBOUND_COLUMNS) for the person it finds, ON CONFLICT DO NOTHING, in a
    WITH, and its last column is the new message's id (NULL: a repeated delivery)."""
    key = (lock, also, store)
    query = _turn_row_queries.get(key)
    if query is None:
        def build(dialect_name: str):
            rows = (_IDENTITIES.join(_PEOPLE, _PEOPLE.c.id == _IDENTITIES.c.person_id)
                    .join(_CONVERSATIONS, _CONVERSATIONS.c.person_id == _PEOPLE.c.id))
            sender = (_IDENTITIES.c.channel == bindparam("channel"),
                      _IDENTITIES.c.external_id == bindparam("external_id"))
            columns = [*_IDENTITY_COLUMNS, *_PEOPLE.columns, *_CONVERSATION_COLUMNS,
                       *(scalar.build(dialect_name) for scalar in also)]
            inbound = None
            if store:
                # the same rows as the main query: no message without the turn's row
                found = select(*(bindparam(f"in_{c}", type_=_MESSAGES.c[c].type) for c in messages.INBOUND_COLUMNS),
                               _IDENTITIES.c.person_id).select_from(rows).where(*sender)
                inbound = (postgresql.insert(_MESSAGES)
                           .from_select([*messages.INBOUND_COLUMNS, "person_id"], found)
                           .on_conflict_do_nothing(index_elements=["channel", "channel_message_id"])
                           .returning(_MESSAGES.c.id).cte("inbound"))
                columns.append(select(inbound.c.id).scalar_subquery())
            stmt = select(*columns).select_from(rows).where(*sender)
            if inbound is not None:
                stmt = stmt.add_cte(inbound, *_seen_writes(rows, sender))
            return stmt.with_for_update(of=_CONVERSATIONS) if lock and dialect_name == "postgresql" else stmt

        query = _turn_row_queries[key] = driver.Query(
            build, names=[*(f"in_{c}" for c in messages.INBOUND_COLUMNS), *_SEEN_NAMES] if store else ())
    return query


def _seen_writes(rows, sender) -> tuple:
    """`_seen`'s UPDATEs as data-modifying WITHs of the turn's read (PostgreSQL): the same
    decisions taken in SQL on the rows as they were (the main query reads them as they were,
    and `_seen` decides again in Python from those values) — two round trips fewer a turn
    whose last-seen times are stale, as most are in a village. Parameters: `seen_now`,
    `seen_before` (now − LAST_SEEN_RESOLUTION) and `seen_name` (the display name, cut)."""
    now = bindparam("seen_now", type_=_PEOPLE.c.last_seen_at.type)
    before = bindparam("seen_before", type_=_PEOPLE.c.last_seen_at.type)
    name = bindparam("seen_name", type_=_PEOPLE.c.display_name.type)

    def stale(column):  # _stale
        return or_(column.is_(None), column <= before, column > now)

    identity, person = _IDENTITIES.c, _PEOPLE.c
    # only for the rows the main query finds (the identity with its person and conversation)
    found_identity = select(identity.id).select_from(rows).where(*sender).scalar_subquery()
    found_person = select(identity.person_id).select_from(rows).where(*sender).scalar_subquery()
    inbound_stale = stale(identity.last_inbound_at)
    seen = (update(_IDENTITIES)
            .where(identity.id == found_identity, or_(inbound_stale, identity.unreachable))
            .values(last_inbound_at=case((inbound_stale, now), else_=identity.last_inbound_at), unreachable=False)
            .returning(identity.id).cte("seen"))
    person_stale = stale(person.last_seen_at)
    named = and_(name != "", func.coalesce(person.display_name, "") == "", person.erased.isnot(True))
    touched = (update(_PEOPLE)
               .where(person.id == found_person, or_(person_stale, named))
               .values(last_seen_at=case((person_stale, now), else_=person.last_seen_at),
                       display_name=case((named, name), else_=person.display_name))
               .returning(person.id).cte("touched"))
    return seen, touched


_SEEN_NAMES = ("seen_now", "seen_before", "seen_name")
_UPDATE_PERSON = driver.UpdateById(_PEOPLE)
_UPDATE_IDENTITY = driver.UpdateById(_IDENTITIES)
_UPDATE_CONVERSATION = driver.UpdateById(_CONVERSATIONS)


def load_for_turn(cur: driver.Cursor, channel: str, external_id: str, display_name: str, now: datetime,
                  lock: bool = True, also: tuple[driver.Scalar, ...] = ()
                  ) -> tuple[dict[str, Any], TurnConversation, list, int | None] | None:
    """On a driver cursor: the person's columns and conversation behind (channel,
    external_id), the conversation row locked on PostgreSQL (`lock`), the values of the
    scalar subqueries `also` and the identity's staff id (a staff member's linked
    messenger), in one statement; last-seen times written when stale (`_seen`).
    None when the identity or its conversation row does not exist."""
    found = read_turn(cur, channel, external_id, display_name, now, lock, also)
    return None if found is None else found[:4]


NOT_STORED = object()  # read_turn did not store the inbound message: the caller does


def read_turn(cur: driver.Cursor, channel: str, external_id: str, display_name: str, now: datetime,
              lock: bool = True, also: tuple[driver.Scalar, ...] = (), inbound: dict | None = None
              ) -> tuple[dict[str, Any], TurnConversation, list, int | None, Any] | None:
    """`load_for_turn`, and a fifth value: on PostgreSQL, with `inbound` (`messages.inbound_row`),
    the same statement stores the inbound message for the person it finds — one round trip
    fewer a turn — and the fifth value is its id, or None when it was stored before (a
    repeated delivery); otherwise NOT_STORED. Nothing is stored when no row is found."""
    store = inbound is not None and cur.dialect == "postgresql"
    params = {}
    if store:
        params = {f"in_{c}": inbound[c] for c in messages.INBOUND_COLUMNS}
        params.update(seen_now=now, seen_before=now - LAST_SEEN_RESOLUTION, seen_name=(display_name or "")[:100])
    row = cur.one(_turn_row(lock, also, store), channel=channel, external_id=external_id, **params)
    if row is None:
        return None
    identity_id, unreachable, last_inbound_at, staff_id = row[:_PERSON_AT]
    person = dict(zip(_PERSON_NAMES, row[_PERSON_AT:_CONVERSATION_AT]))
    seen, touched = _seen({"unreachable": unreachable, "last_inbound_at": last_inbound_at}, person, display_name, now)
    if not store:  # otherwise the read wrote them (`_seen_writes`)
        cur.update(_UPDATE_IDENTITY, identity_id, seen)
        cur.update(_UPDATE_PERSON, person["id"], touched)
    person.update(touched)
    conversation = TurnConversation.from_row(row[_CONVERSATION_AT:_ALSO_AT])
    versions = [scalar.read(v) for scalar, v in zip(also, row[_ALSO_AT:_ALSO_AT + len(also)])]
    return person, conversation, versions, staff_id, (row[-1] if store else NOT_STORED)


_INSERT_PERSON = driver.Insert(_PEOPLE, returning="id")
_INSERT_IDENTITY = driver.Insert(_IDENTITIES, on_conflict=("channel", "external_id"), returning="id")
_INSERT_CONVERSATION = driver.Insert(_CONVERSATIONS, on_conflict=("person_id",))
_insert_conversation_returning: dict[tuple, driver.Insert] = {}
_DELETE_PERSON = driver.Query(delete(_PEOPLE).where(_PEOPLE.c.id == bindparam("person_id")))
_IDENTITY_PERSON = driver.Query(select(_IDENTITIES.c.person_id).where(
    _IDENTITIES.c.channel == bindparam("channel"), _IDENTITIES.c.external_id == bindparam("external_id")))
# a datetime column's value as a read gives it back (aware, in UTC): models.UTCDateTime both ways
_AS_READ = {c.key: (lambda v, t=c.type: t.process_result_value(t.process_bind_param(v, None), None))
            for table in (_PEOPLE, _CONVERSATIONS) for c in table.columns if isinstance(c.type, UTCDateTime)}


def _as_read(row: dict[str, Any]) -> dict[str, Any]:
    for key, value in row.items():
        if value is not None and key in _AS_READ:
            row[key] = _AS_READ[key](value)
    return row


def create_for_turn(cur: driver.Cursor, channel: str, external_id: str, display_name: str, locale: str | None,
                    now: datetime, also: tuple[driver.Scalar, ...] = ()
                    ) -> tuple[dict[str, Any], TurnConversation, list, int | None] | None:
    """On a driver cursor, for a sender `load_for_turn` did not find: the person, the channel
    identity and an empty conversation, whichever are missing. Race-safe without a
    savepoint: when another process created the identity first (on PostgreSQL the insert
    waits for it and then does nothing), the person made here is deleted again and the
    winner's is used; a person without a conversation row gets one.
    Returns what `load_for_turn` would read now — built from the values inserted, the
    conversation's id and `also` returned by its INSERT, so the rows are not read again —
    or None when the sender's rows were not all made here (the caller reads them)."""
    person = {"display_name": display_name[:100], "locale": locale or "zh", "created_at": now, "last_seen_at": now}
    person_id = cur.insert(_INSERT_PERSON, [person])[0][0]
    created = cur.insert(_INSERT_IDENTITY, [{
        "channel": channel, "external_id": external_id, "person_id": person_id, "created_at": now,
        "last_inbound_at": now,
    }])
    if not created:
        cur.execute(_DELETE_PERSON, person_id=person_id)
        person_id = cur.one(_IDENTITY_PERSON, channel=channel, external_id=external_id)[0]
        cur.insert(_INSERT_CONVERSATION, [{"person_id": person_id, "updated_at": now}])
        return None
    insert = _insert_conversation_returning.get(also)
    if insert is None:
        insert = _insert_conversation_returning[also] = driver.Insert(
            _CONVERSATIONS, on_conflict=("person_id",), returning="id", also=also)
    conversation = {"person_id": person_id, "updated_at": now}
    returned = cur.insert(insert, [conversation])
    if not returned:  # the new person has a conversation already: cannot happen, but read it
        return None
    conversation_id, *values = returned[0]
    person = _as_read({"id": person_id, **_INSERT_PERSON.whole_row(person)})
    conversation = _as_read(_INSERT_CONVERSATION.whole_row(conversation))
    turn_conversation = TurnConversation(conversation_id, person_id, conversation["updated_at"],
                                         **{n: conversation[n] for n in TurnConversation.FIELDS})
    # a new identity is nobody's messenger (staff_id), and nothing in it is stale (`_seen`)
    return ({name: person[name] for name in _PERSON_NAMES}, turn_conversation,
            [scalar.read(v) for scalar, v in zip(also, values)], None)


_first_contact_queries: dict[tuple, driver.Query] = {}
_IDENTITY_GIVEN = ("channel", "external_id", "created_at", "last_inbound_at")


def _first_contact_query(also: tuple[driver.Scalar, ...]) -> driver.Query:
    """PostgreSQL: the person, the channel identity, the conversation and the inbound message
    in one statement (data-modifying WITHs, every column a parameter: `p_`, `i_`, `c_`,
    `in_` + the column), the identity ON CONFLICT DO NOTHING and the rows after it made from
    what it returns, so a lost race inserts only the person. Its row: the person's id, then
    the ids of the identity, the conversation and the message (NULL when not made), then
    `also`."""
    query = _first_contact_queries.get(also)
    if query is None:
        person_keys = [k for k in _INSERT_PERSON.whole_row({"created_at": None}) if k != "id"]
        identity_keys = [k for k in _INSERT_IDENTITY.whole_row(dict.fromkeys(_IDENTITY_GIVEN)) if k != "person_id"]
        conversation_keys = [k for k in _INSERT_CONVERSATION.whole_row({}) if k != "person_id"]
        names = [*(f"p_{k}" for k in person_keys), *(f"i_{k}" for k in identity_keys),
                 *(f"c_{k}" for k in conversation_keys), *(f"in_{k}" for k in messages.INBOUND_COLUMNS)]

        def build(dialect_name: str):
            def given(prefix, table, keys):
                return [bindparam(f"{prefix}_{k}", type_=table.c[k].type) for k in keys]

            person = (postgresql.insert(_PEOPLE).values(dict(zip(person_keys, given("p", _PEOPLE, person_keys))))
                      .returning(_PEOPLE.c.id).cte("person"))
            identity = (postgresql.insert(_IDENTITIES)
                        .from_select([*identity_keys, "person_id"],
                                     select(*given("i", _IDENTITIES, identity_keys), person.c.id))
                        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
                        .returning(_IDENTITIES.c.id, _IDENTITIES.c.person_id).cte("identity"))
            conversation = (postgresql.insert(_CONVERSATIONS)
                            .from_select([*conversation_keys, "person_id"],
                                         select(*given("c", _CONVERSATIONS, conversation_keys), identity.c.person_id))
                            .on_conflict_do_nothing(index_elements=["person_id"])
                            .returning(_CONVERSATIONS.c.id).cte("conversation"))
            message = (postgresql.insert(_MESSAGES)
                       .from_select([*messages.INBOUND_COLUMNS, "person_id"],
                                    select(*given("in", _MESSAGES, messages.INBOUND_COLUMNS), identity.c.person_id))
                       .on_conflict_do_nothing(index_elements=["channel", "channel_message_id"])
                       .returning(_MESSAGES.c.id).cte("inbound"))
            return (select(person.c.id, select(identity.c.id).scalar_subquery(),
                           select(conversation.c.id).scalar_subquery(), select(message.c.id).scalar_subquery(),
                           *(scalar.build(dialect_name) for scalar in also))
                    .add_cte(person, identity, conversation, message))

        query = _first_contact_queries[also] = driver.Query(build, names=names)
    return query


def first_contact(cur: driver.Cursor, channel: str, external_id: str, display_name: str, locale: str | None,
                  now: datetime, also: tuple[driver.Scalar, ...] = (), inbound: dict | None = None
                  ) -> tuple[dict[str, Any], TurnConversation, list, int | None, Any] | None:
    """`create_for_turn`, and a fifth value as `read_turn`'s: on PostgreSQL, with `inbound`,
    the person, identity, conversation and inbound message are one statement (one round
    trip instead of four) and the fifth value is the message's id (None: stored before);
    otherwise NOT_STORED. None as `create_for_turn`: the caller reads the rows (`read_turn`)."""
    if inbound is None or cur.dialect != "postgresql":
        made = create_for_turn(cur, channel, external_id, display_name, locale, now, also)
        return None if made is None else (*made, NOT_STORED)
    person = {"display_name": display_name[:100], "locale": locale or "zh", "created_at": now, "last_seen_at": now}
    person = _INSERT_PERSON.whole_row(person)
    identity = _INSERT_IDENTITY.whole_row({"channel": channel, "external_id": external_id, "person_id": None,
                                           "created_at": now, "last_inbound_at": now})
    conversation = _INSERT_CONVERSATION.whole_row({"person_id": None, "updated_at": now})
    params = {f"p_{k}": v for k, v in person.items()}
    params.update((f"i_{k}", v) for k, v in identity.items() if k != "person_id")
    params.update((f"c_{k}", v) for k, v in conversation.items() if k != "person_id")
    params.update((f"in_{k}", inbound[k]) for k in messages.INBOUND_COLUMNS)
    person_id, identity_id, conversation_id, message_id, *values = cur.one(_first_contact_query(also), **params)
    if identity_id is None:  # another process made the sender first: as create_for_turn does
        cur.execute(_DELETE_PERSON, person_id=person_id)
        person_id = cur.one(_IDENTITY_PERSON, channel=channel, external_id=external_id)[0]
        cur.insert(_INSERT_CONVERSATION, [{"person_id": person_id, "updated_at": now}])
        return None
    if conversation_id is None:  # the new person has a conversation already: cannot happen, but read it
        return None
    person = _as_read({"id": person_id, **person})
    conversation = _as_read(conversation)
    turn_conversation = TurnConversation(conversation_id, person_id, conversation["updated_at"],
                                         **{n: conversation[n] for n in TurnConversation.FIELDS})
    return ({name: person[name] for name in _PERSON_NAMES}, turn_conversation,
            [scalar.read(v) for scalar, v in zip(also, values)], None, message_id)


def attach_person(session: AsyncSession, columns: dict[str, Any]) -> Person:
    """The person as a persistent ORM object built from columns just read (no SELECT): the
    session's identity map holds it, so services that `get` the person in this turn see the
    same object, and changes made to it are flushed as usual."""
    person = Person(**columns)
    make_transient_to_detached(person)
    session.add(person)
    return person


class TurnPerson:
    """The person behind a turn, read like the ORM row (`turn.person.locale`) without building
    one: attributes come from the columns as loaded — or from the ORM object once the session
    has one (a service loaded it, or an attribute was set). Setting an attribute attaches the
    ORM object (`attach_person`) and sets it there, so the change is flushed with the turn.
    Most turns only read, and building and attaching an ORM object costs more than the rest
    of reading the person."""

    __slots__ = ("_session", "_columns", "_orm", "_key")

    def __init__(self, session: AsyncSession, columns: dict[str, Any] | None = None, orm: Person | None = None):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_columns", columns)
        object.__setattr__(self, "_orm", orm)
        object.__setattr__(self, "_key", None if orm is not None
                           else Person.__mapper__.identity_key_from_primary_key((columns["id"],)))

    def _current(self) -> Person | None:
        orm = self._orm
        if orm is None:
            orm = self._session.identity_map.get(self._key)  # loaded by a service this turn
            if orm is not None:
                object.__setattr__(self, "_orm", orm)
        return orm

    def orm(self) -> Person:
        """The persistent ORM object (attached on first use)."""
        orm = self._current()
        if orm is None:
            orm = attach_person(self._session, self._columns)
            object.__setattr__(self, "_orm", orm)
        return orm

    def __getattr__(self, name: str) -> Any:
        orm = self._current()
        if orm is not None:
            return getattr(orm, name)
        try:
            return self._columns[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.orm(), name, value)


def write_conversation(cur: driver.Cursor, conversation: TurnConversation, now: datetime,
                       changes: dict[str, Any] | None = None) -> None:
    """On a driver cursor: what the turn changed in the conversation (nothing when nothing
    did). Columns the turn did not change are left alone, so a statement that set one of them
    during the turn (e.g. the handoff mode) stands. `changes`: `conversation.changes()`, when
    the caller has just computed it."""
    if changes is None:
        changes = conversation.changes()
    cur.write(conversation_write(conversation, now, changes))
    conversation_written(conversation, changes)


def conversation_write(conversation: TurnConversation, now: datetime, changes: dict[str, Any]) -> driver.Write | None:
    """`write_conversation` as one of several writes (`driver.Cursor.write`); after it ran,
    `conversation_written`."""
    return _UPDATE_CONVERSATION.of(conversation.id, {**changes, "updated_at": now}) if changes else None


def conversation_written(conversation: TurnConversation, changes: dict[str, Any]) -> None:
    """The changes written are the conversation's row as loaded now."""
    conversation._loaded.update((n, _fingerprint(v)) for n, v in changes.items())


_LOCK_CONVERSATIONS = (select(Conversation.id).where(Conversation.person_id.in_(bindparam("person_ids", expanding=True)))
                       .order_by(Conversation.person_id).with_for_update())


async def lock_people(session: AsyncSession, *person_ids: int) -> None:
    """Lock these people's conversation rows, in person id order (PostgreSQL): the first lock
    of a transaction that changes a person's rows and is not a turn (a turn's read takes it).
    On SQLite the transaction holds the database's write lock already: nothing to do."""
    if session.bind.dialect.name != "postgresql" or not person_ids:
        return
    await session.execute(_LOCK_CONVERSATIONS, {"person_ids": sorted(set(person_ids))})


async def get_conversation_for_update(session: AsyncSession, person_id: int, lock: bool = True) -> Conversation:
    """The person's conversation row, created if missing. With `lock` on PostgreSQL the row
    stays locked (SELECT … FOR UPDATE) until the transaction ends, so one person's turns run
    one at a time across processes. On SQLite the transaction already holds the write lock."""
    stmt = select(Conversation).where(Conversation.person_id == person_id)
    if lock:
        stmt = stmt.with_for_update()
    conv = (await session.execute(stmt)).scalar_one_or_none()
    if conv is not None:
        return conv
    try:
        async with session.begin_nested():
            conv = Conversation(person_id=person_id)
            session.add(conv)
            await session.flush()
        return conv
    except IntegrityError:
        return (await session.execute(stmt)).scalar_one()


_PEOPLE = Person.__table__
# Core UPDATEs of one person, built once (an ORM-enabled UPDATE built per call cost about
# 1.5 M instructions); `_loaded_sees` does what synchronize_session="fetch" did
_GIVE_CONSENT = update(_PEOPLE).where(_PEOPLE.c.id == bindparam("person_id")).values(
    consent_given=True, consent_at=bindparam("consent_now", type_=_PEOPLE.c.consent_at.type))
_SET_OPTED_OUT = update(_PEOPLE).where(_PEOPLE.c.id == bindparam("person_id")).values(
    opted_out=bindparam("opted", type_=_PEOPLE.c.opted_out.type))


def _loaded_sees(session: AsyncSession, person_id: int, **values: Any) -> None:
    """A Person this session already holds takes the values just written, as loaded state."""
    person = session.identity_map.get(Person.__mapper__.identity_key_from_primary_key((person_id,)))
    if person is not None:
        for name, value in values.items():
            set_committed_value(person, name, value)


async def give_consent(session: AsyncSession, person_id: int, now: datetime | None = None) -> None:
    now = now or utcnow()
    await session.execute(_GIVE_CONSENT, {"person_id": person_id, "consent_now": now})
    _loaded_sees(session, person_id, consent_given=True, consent_at=now)


async def set_opted_out(session: AsyncSession, person_id: int, opted_out: bool = True) -> None:
    """Opt out of (or back into) reminders and broadcasts; replies to the person's own
    messages still go out."""
    await session.execute(_SET_OPTED_OUT, {"person_id": person_id, "opted": bool(opted_out)})
    _loaded_sees(session, person_id, opted_out=bool(opted_out))


async def mark_unreachable(session: AsyncSession, channel: str, external_id: str, unreachable: bool = True) -> None:
    """The messenger says the account blocked the bot or is gone; a later inbound message
    from it clears the flag (see `find_or_create_by_identity`)."""
    await session.execute(
        update(ChannelIdentity)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
        .values(unreachable=unreachable)
        .execution_options(synchronize_session="fetch")
    )


async def search_people(session: AsyncSession, text: str, *, visible: ColumnElement[bool], limit: int = 50
                        ) -> list[Person]:
    """People `visible` lets through, not erased, whose name or phone contains `text`."""
    query = select(Person).where(visible, Person.erased.is_(False))
    if text.strip():
        pattern = f"%{text.strip()}%"
        query = query.where(or_(Person.display_name.ilike(pattern), Person.phone.ilike(pattern)))
    return list((await session.execute(query.order_by(Person.id).limit(limit))).scalars())


async def channels_of(session: AsyncSession, person_id: int) -> list[str]:
    """The channels the person has written from, sorted."""
    rows = await session.execute(select(ChannelIdentity.channel).where(ChannelIdentity.person_id == person_id))
    return sorted(set(rows.scalars()))
