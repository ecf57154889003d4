"""What a channel may ask of storage, and nothing more: the narrow interface the app gives the
channel adapters (`services.channel_store`). Channels never open a session or write a
statement themselves; each verb here is one short transaction of its own.

    unavailable         does this error mean the database is away (answer 503, retry)?
    mark_unreachable    the person blocked or left the bot: stop pushing to them
    recipient           what a send needs to know: unreachable?, last inbound message, locale
    state / set_state   small key-value state of a channel (e.g. Telegram's update offset)
    pending messages    a message accepted but not yet stored (its turn still to commit),
                        kept so that another process can handle it if this one dies
    outbox verbs        answer in the HTTP response, release what nobody waits for, release
                        the rows held until the person writes, record how a row was delivered,
                        hand a polling client its messages
    access token        a messenger's API token shared by every process, refreshed by one
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any, Awaitable, Callable

from storage import kv, messages, people, wechat_token
from storage import pending as pending_store
from storage import outbox as outbox_store
from storage.db import Database, is_db_unavailable

__all__ = ["ChannelStore", "Recipient", "ResponseClaim", "StoredToken"]

StoredToken = wechat_token.StoredToken


@dataclass(frozen=True)
class Recipient:
    unreachable: bool
    last_inbound_at: datetime | None
    locale: str  # "" when unknown


@dataclass(frozen=True)
class ResponseClaim:
    """The outcome of `take_response` for one inbound message."""

    stored: bool  # the inbound message is in the database
    claimed: bool = False  # this HTTP response carries the first reply (now delivery `passive`)
    text: str = ""
    buttons: tuple = ()
    locale: str = ""
    released: int = 0  # other replies handed to the outbox sender


class ChannelStore:
    def __init__(self, db: Database):
        self.db = db

    @classmethod
    def open(cls, database_url: str) -> "ChannelStore":
        """A store of its own, for a command run outside the server (`close()` it)."""
        return cls(Database(database_url))

    async def close(self) -> None:
        await self.db.dispose()

    @staticmethod
    def unavailable(exc: BaseException) -> bool:
        """True when `exc` says the database cannot be reached (answer 503 or try again later)
        rather than that a statement was wrong."""
        return is_db_unavailable(exc)

    async def mark_unreachable(self, channel: str, external_id: str, unreachable: bool = True) -> None:
        async with self.db.session() as session:
            await people.mark_unreachable(session, channel, external_id, unreachable)

    async def recipient(self, channel: str, external_id: str) -> Recipient | None:
        async with self.db.session() as session:
            found = await people.identity_with_locale(session, channel, external_id)
        if found is None:
            return None
        identity, locale = found
        return Recipient(bool(identity.unreachable), identity.last_inbound_at, locale or "")

    async def state(self, key: str) -> Any:
        async with self.db.session() as session:
            return await kv.get(session, key)

    async def set_state(self, key: str, value: Any) -> None:
        async with self.db.session() as session:
            await kv.put(session, key, value)

    # pending messages -------------------------------------------------------------------

    async def keep_pending(self, channel: str, message_id: str, sender: str, entry: dict, *,
                           expires_at: datetime) -> None:
        """Keep `entry` (what the channel needs to handle the message again) until
        `forget_pending`, `expires_at` or the sender's erasure (storage/pending.py)."""
        async with self.db.session() as session:
            await pending_store.keep(session, channel, message_id, sender, entry, expires_at=expires_at)

    async def forget_pending(self, channel: str, message_id: str) -> None:
        async with self.db.session() as session:
            await pending_store.forget(session, channel, message_id)

    async def pending(self, channel: str, now: datetime) -> list[dict]:
        """The entries kept for the channel's messages (expired ones are dropped)."""
        async with self.db.session() as session:
            return await pending_store.of_channel(session, channel, now)

    async def inbound_stored(self, channel: str, channel_message_id: str) -> bool:
        async with self.db.session() as session:
            return await messages.inbound_id(session, channel, channel_message_id) is not None

    # the outbox ---------------------------------------------------------------------------

    async def take_response(self, channel: str, channel_message_id: str, now: datetime) -> ResponseClaim:
        """For the HTTP response to one delivery of an inbound message: the first reply if the
        response may carry it (it becomes delivery `passive`); the message's other reserved
        replies go to the outbox sender."""
        async with self.db.session() as session:
            stored = await messages.inbound_id(session, channel, channel_message_id)
            if stored is None:
                return ResponseClaim(stored=False)
            first = await outbox_store.claim_response(session, channel=channel, inbound_message_id=stored, now=now)
            released = await outbox_store.release_responses(session, channel=channel, now=now,
                                                            inbound_message_id=stored)
            locale = ""
            if first is not None and first.person_id is not None:
                locale = await people.locale_of(session, first.person_id)
            if first is None:
                return ResponseClaim(True, released=released)
            return ResponseClaim(True, True, first.text, tuple(first.buttons or ()), locale, released)

    async def release_responses(self, channel: str, now: datetime, *, channel_message_id: str | None = None,
                                older_than: datetime | None = None) -> int:
        """Replies reserved for an HTTP response that nobody waits for any more go to the sender:
        those of one inbound message, or all of the channel's reserved before `older_than`."""
        async with self.db.session() as session:
            inbound = None
            if channel_message_id is not None:
                inbound = await messages.inbound_id(session, channel, channel_message_id)
                if inbound is None:
                    return 0
            return await outbox_store.release_responses(session, channel=channel, now=now,
                                                        inbound_message_id=inbound, older_than=older_than)

    async def poll(self, channel: str, recipient: str, *, after: int, now: datetime) -> tuple[int, list]:
        """For a channel whose clients poll (REST): everything up to `after` has arrived
        (counted), and the rows after it. Returns (how many arrived, rows)."""
        async with self.db.session() as session:
            arrived = 0
            if after > 0:
                arrived = await outbox_store.mark_read_through(session, channel=channel, recipient=recipient,
                                                               upto=after, now=now)
            rows = await outbox_store.poll(session, channel=channel, recipient=recipient, after=after)
        return arrived, rows

    async def release_held(self, channel: str, recipient: str, now: datetime) -> int:
        async with self.db.session() as session:
            return await outbox_store.release_held(session, channel=channel, recipient=recipient, now=now)

    async def sending_row(self, channel: str, recipient: str, worker: str) -> int | None:
        """The outbox row `worker` (the outbox sender of this process) is sending now."""
        async with self.db.session() as session:
            return await outbox_store.claimed_row(session, channel=channel, recipient=recipient, worker=worker)

    async def record_delivery(self, row_id: int, delivery: str) -> None:
        async with self.db.session() as session:
            await outbox_store.set_delivery(session, row_id, delivery)

    # the access token ---------------------------------------------------------------------

    async def access_token(self, now: datetime) -> StoredToken | None:
        """The stored token, or None when there is none or it has expired."""
        async with self.db.session() as session:
            return await wechat_token.load(session, now=now)

    async def refresh_access_token(self, *, keep: Callable[[StoredToken | None, datetime], bool],
                                   fetch: Callable[[], Awaitable[tuple[str, timedelta]]],
                                   clock: Callable[[], datetime]) -> tuple[StoredToken, bool]:
        """The stored token if `keep(stored, now)` (another process refreshed meanwhile), else
        `await fetch()` → (token, lifetime), stored. Returns (token, fetched). On PostgreSQL one
        process at a time refreshes (an advisory lock held while fetching); on SQLite there is
        one process, and the single connection is never held during the fetch."""
        if self.db.is_sqlite:
            now = clock()
            stored = await self.access_token(now)
            if keep(stored, now):
                return stored, False
            token, lifetime = await fetch()
            now = clock()
            async with self.db.session() as session:
                return await wechat_token.store(session, token, expires_at=now + lifetime, now=now), True
        async with self.db.session() as session:
            await wechat_token.lock_for_refresh(session)
            now = clock()
            stored = await wechat_token.load(session, now=now)
            if keep(stored, now):
                return stored, False
            token, lifetime = await fetch()
            now = clock()
            return await wechat_token.store(session, token, expires_at=now + lifetime, now=now), True
