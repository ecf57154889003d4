"""WeChat Official Account (微信公众号): the `/webhooks/wechat` callback, the adapter that sends
customer-service and template messages, and the API client. The only module that imports
wechatpy.

Inbound (WeChat → us)

    GET  /webhooks/wechat?signature&timestamp&nonce&echostr        URL check: echo `echostr`
    POST /webhooks/wechat?signature&timestamp&nonce[&encrypt_type=aes&msg_signature]

  1. over 64 KB → 413; wrong `signature` → 403; with XIANGZHU_WECHAT_AES_KEY set, only
     encrypted bodies are taken (a plaintext body is not covered by the signature) and a wrong
     `msg_signature` → 403;
  2. the body (and the decrypted message) must be plain XML: a DTD, an entity or an external
     reference → 400 (defusedxml looks before wechatpy parses);
  3. text, voice (`Recognition` as text, the voice downloaded into the media store), image
     (downloaded), location (an attachment of kind `location`, the label as its text), link;
     events: subscribe → payload "/start" (a QR scene → "/start SCENE"), CLICK → payload =
     the menu key, unsubscribe → the identity is marked unreachable, VIEW and the rest ignored;
  4. dedupe: messages by MsgId, events by FromUserName + CreateTime + event; the work starts
     once per id in this process (an in-flight task map: a retry joins the running task, which
     is never cancelled) and the dispatcher's (channel, message id) dedupe covers the rest;
  5. WeChat waits 5 s and retries 3 times. A reply ready within `passive_seconds` (4 s) goes
     back in the HTTP answer (passive reply); otherwise the answer is `success` and the
     outbox delivers through `message/custom/send` when ready.

How replies reach the outbox. The adapter declares `replies_in_response`, so the dispatcher
writes a turn's replies as `sent` / delivery `response`: reserved for the HTTP answer. Then,
with conditional UPDATEs (safe across processes and in any order):
  - the first reserved row of the message becomes delivery `passive` when an HTTP answer
    (the first delivery or a retry) carries it;
  - every row still reserved goes back to `pending` once nobody waits for it (the answer was
    sent, or WeChat stopped waiting), and the outbox sends it as a customer-service message;
  - rows left reserved by a process that died are put back to `pending` by the leader's
    `wechat_release_reserved` job after `RESERVE_LEASE`.

Outbound (`WeChatAdapter.send`, called by the outbox sender): within 48 hours of the
person's last message (ChannelIdentity.last_inbound_at) a customer-service text message,
choices as numbered lines (render_numbered); outside the window, or when WeChat answers 45015
/ 45047: the template message XIANGZHU_WECHAT_TEMPLATE_ID when one is configured, else the row
is held (status `held`) until the person's next message. `outbox.delivery` records which:
passive | custom | template | held.

access_token: kept in the database (storage/wechat_token.py); the leader's `wechat_token` job
refreshes it before it expires; every process reads it from there; on 40001/40014/42001 a
process refreshes once (unless another process already did) and retries once.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

import defusedxml.ElementTree as SafeET
import requests
from apscheduler.triggers.interval import IntervalTrigger
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select, update
from wechatpy import WeChatClient, create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException
from wechatpy.utils import check_signature

from bot.errors import BotError
from bot.channels.base import (
    ChannelAdapter,
    PermanentSendError,
    RecipientUnreachable,
    RetryableSendError,
    render_numbered,
)
from vocab.errors import DatabaseUnavailable
from bot.media import MediaStore
from vocab.messages import Attachment, Button, Inbound, Outbound
from storage import people
from storage import wechat_token
from storage.models import ChannelIdentity, Message, OutboxMessage, Person

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services

__all__ = [
    "CHANNEL",
    "AccessTokens",
    "WeChatAdapter",
    "WeChatApi",
    "WeChatApiError",
    "XiangzhuWeChatClient",
    "mount",
    "wechat_enabled",
]

log = logging.getLogger("xiangzhu.wechat")

CHANNEL = "wechat"
MAX_BODY = 64 * 1024
PASSIVE_SECONDS = 4.0  # WeChat gives up after 5 s
WINDOW = timedelta(hours=48)  # customer-service messages only within 48 h of the person's last message
RESERVE_LEASE = timedelta(seconds=60)  # WeChat's retries are over after ~15 s
HOLD_RETRY = timedelta(days=3)  # a held row is looked at again after this even without contact
HOLD_MARK = "wechat:held-outside-48h-window"
TOKEN_REFRESH_MARGIN = timedelta(minutes=10)
TOKEN_JOB_SECONDS = 60

TOKEN_ERRORS = {40001, 40014, 42001}  # invalid credential, invalid token, expired token
OUTSIDE_WINDOW = {45015, 45047}  # reply time limit passed; too many messages without a reply
UNREACHABLE = {43004, 43019, 40003}  # not subscribed; blocked the account; invalid openid
RETRYABLE = {-1, 45009, 45011}  # system busy; API call quota; frequency limit

_INVITE = re.compile(r"^\s*(?:/start\s+)?(w-[A-Za-z0-9]{4,64})\s*$", re.IGNORECASE)


def wechat_enabled(settings: "Settings") -> bool:
    """The channel is on when the callback token and the AppID are configured."""
    return bool(settings.wechat_token and settings.wechat_appid)


# ── the API client ───────────────────────────────────────────────────────────────────────


class WeChatApiError(BotError):
    """WeChat answered with an error code (or an HTTP error: errcode None)."""

    def __init__(self, errcode: int | None, errmsg: str = ""):
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class _TimeoutSession(requests.Session):
    """requests has no session-wide timeout; wechatpy's token fetch passes none."""

    def __init__(self, timeout: float):
        super().__init__()
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, **kwargs)


class XiangzhuWeChatClient(WeChatClient):
    """wechatpy's client with three changes: the API host comes from
    XIANGZHU_WECHAT_API_BASE_URL (wechatpy hard-codes it for the token request), the token of
    a call is given by the caller (it lives in our database, not in wechatpy's session), and
    wechatpy's own unbounded 40001 retry is off (AccessTokens retries once)."""

    def __init__(self, appid: str, secret: str, api_base_url: str, timeout: float = 10.0):
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
        self._http = _TimeoutSession(timeout)
        self._local = threading.local()

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )

    @property
    def access_token(self) -> str:
        token = getattr(self._local, "token", "")
        if not token:
            raise RuntimeError("no access_token given for this call; use WeChatApi")
        return token

    def call_with_token(self, token: str, fn: Callable[["XiangzhuWeChatClient"], Any]) -> Any:
        """Run `fn(self)` (blocking; run it in a thread) with `token` as the access_token."""
        self._local.token = token
        try:
            return fn(self)
        finally:
            self._local.token = ""


def _api_error(exc: WeChatClientException) -> WeChatApiError:
    errcode = exc.errcode
    try:
        errcode = int(errcode) if errcode is not None else None
    except (TypeError, ValueError):
        errcode = None
    return WeChatApiError(errcode, str(exc.errmsg or ""))


class AccessTokens:
    """The access_token: read from the database (cached in memory for at most a minute — an
    old token stays valid about 5 minutes after a refresh), fetched from WeChat only by
    `refresh`."""

    def __init__(self, services: "Services", client: XiangzhuWeChatClient, cache_seconds: float = 60.0):
        self.services = services
        self.client = client
        self.cache_seconds = cache_seconds
        self._cached: tuple[str, float] | None = None  # token, monotonic deadline
        self._lock = asyncio.Lock()

    async def current(self) -> str:
        if self._cached and time.monotonic() < self._cached[1]:
            return self._cached[0]
        now = self.services.clock()
        async with self.services.db.session() as session:
            stored = await wechat_token.load(session, now=now)
        if stored is None or stored.expires_at - now < timedelta(minutes=1):
            return await self.refresh(stale=stored.token if stored else None)
        self._remember(stored, now)
        return stored.token

    def _remember(self, stored: wechat_token.StoredToken, now: datetime) -> None:
        ttl = min(self.cache_seconds, (stored.expires_at - now).total_seconds() - 60)
        self._cached = (stored.token, time.monotonic() + max(0.0, ttl))

    async def refresh(self, *, stale: str | None = None, margin: timedelta = timedelta(minutes=1)) -> str:
        """Fetch a new token unless the stored one is not `stale` and lives longer than
        `margin` (another process refreshed meanwhile). Returns the token to use."""
        async with self._lock:
            self._cached = None
            db = self.services.db
            if db.is_sqlite:  # one process; never hold the single connection during HTTP
                now = self.services.clock()
                async with db.session() as session:
                    stored = await wechat_token.load(session, now=now)
                if self._still_good(stored, stale, margin, now):
                    self._remember(stored, now)
                    return stored.token
                result = await self._fetch()
                now = self.services.clock()
                async with db.session() as session:
                    token, expires_at = self._token_of(result, now)
                    stored = await wechat_token.store(session, token, expires_at=expires_at, now=now)
            else:  # one refresher across processes: an advisory lock held while fetching
                async with db.session() as session:
                    await wechat_token.lock_for_refresh(session)
                    now = self.services.clock()
                    stored = await wechat_token.load(session, now=now)
                    if self._still_good(stored, stale, margin, now):
                        self._remember(stored, now)
                        return stored.token
                    result = await self._fetch()
                    now = self.services.clock()
                    token, expires_at = self._token_of(result, now)
                    stored = await wechat_token.store(session, token, expires_at=expires_at, now=now)
            log.info("wechat: new access_token stored, valid until %s", stored.expires_at.isoformat())
            self._remember(stored, now)
            return stored.token

    @staticmethod
    def _still_good(stored, stale, margin, now) -> bool:
        return stored is not None and stored.token != stale and stored.expires_at - now > margin

    @staticmethod
    def _token_of(result: dict, now: datetime) -> tuple[str, datetime]:
        expires_in = int(result.get("expires_in") or 7200)
        return result["access_token"], now + timedelta(seconds=expires_in)

    async def _fetch(self) -> dict:
        try:
            return await asyncio.to_thread(self.client.fetch_access_token)
        except WeChatClientException as exc:
            raise _api_error(exc) from exc


class WeChatApi:
    """Async calls to the WeChat API through wechatpy (run in threads), with the token from
    the database; on a token error it refreshes once and retries once. Errors come out as
    `WeChatApiError` (WeChat said no) or `requests.RequestException` (network)."""

    def __init__(self, services: "Services", settings: "Settings | None" = None):
        settings = settings or services.settings
        self.client = XiangzhuWeChatClient(settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base_url)
        self.tokens = AccessTokens(services, self.client)

    async def call(self, fn: Callable[[XiangzhuWeChatClient], Any]) -> Any:
        token = await self.tokens.current()
        try:
            return await asyncio.to_thread(self.client.call_with_token, token, fn)
        except WeChatClientException as exc:
            error = _api_error(exc)
            if error.errcode not in TOKEN_ERRORS:
                raise error from exc
            log.info("wechat: access_token refused (%s); refreshing once", error.errcode)
        token = await self.tokens.refresh(stale=token)
        try:
            return await asyncio.to_thread(self.client.call_with_token, token, fn)
        except WeChatClientException as exc:
            raise _api_error(exc) from exc

    async def send_text(self, openid: str, text: str) -> dict:
        return await self.call(lambda c: c.message.send_text(openid, text))

    async def send_template(self, openid: str, template_id: str, data: dict) -> dict:
        return await self.call(lambda c: c.message.send_template(openid, template_id, data))

    async def create_menu(self, menu: dict) -> dict:
        return await self.call(lambda c: c.menu.create(menu))

    async def download_media(self, media_id: str) -> tuple[bytes, str]:
        """The bytes and MIME type of a temporary media file (valid 3 days at WeChat)."""
        res = await self.call(lambda c: c.media.download(media_id))
        if not isinstance(res, requests.Response):
            raise WeChatApiError(None, f"media/get answered JSON, not a file: {str(res)[:200]}")
        return res.content, res.headers.get("Content-Type", "")


# ── the outbox rows of one message: reserved → passive | pending ─────────────────────────


async def _claim_passive(session, inbound_message_id: int, now: datetime) -> tuple[OutboxMessage, str] | None:
    """The first reply row of the message if it is still reserved for the HTTP answer (it
    becomes delivery `passive`) or already went out passively — WeChat retries only when it
    did not get our answer, so a retry carries it again. Returns (row, locale) or None."""
    first = (
        await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.inbound_message_id == inbound_message_id, OutboxMessage.channel == CHANNEL)
            .order_by(OutboxMessage.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if first is None:
        return None
    won = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == first.id, OutboxMessage.status == "sent",
               OutboxMessage.delivery.in_(("response", "passive")))
        .values(delivery="passive", sent_at=now)
    )
    if won.rowcount != 1:
        return None
    locale = ""
    if first.person_id is not None:
        locale = (await session.execute(select(Person.locale).where(Person.id == first.person_id))).scalar_one_or_none() or ""
    return first, locale


async def _release_reserved(session, *, now: datetime, inbound_message_id: int | None = None,
                            older_than: datetime | None = None) -> int:
    """Rows still reserved for an HTTP answer go to the outbox sender (`pending`): those of one
    message, or all WeChat rows reserved before `older_than`."""
    stmt = update(OutboxMessage).where(
        OutboxMessage.channel == CHANNEL, OutboxMessage.status == "sent", OutboxMessage.delivery == "response"
    )
    if inbound_message_id is not None:
        stmt = stmt.where(OutboxMessage.inbound_message_id == inbound_message_id)
    if older_than is not None:
        stmt = stmt.where(OutboxMessage.created_at < older_than)
    result = await session.execute(
        stmt.values(status="pending", delivery="", sent_at=None, next_attempt_at=now, claimed_by=None)
    )
    return result.rowcount or 0


async def _release_held(session, recipient: str, now: datetime) -> int:
    """The person wrote again: their held rows go out now, in order."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == CHANNEL,
            OutboxMessage.recipient == recipient,
            OutboxMessage.status.in_(("held", "pending")),
            OutboxMessage.error.contains(HOLD_MARK),
        )
        .values(status="pending", delivery="", next_attempt_at=now, attempts=0, error="", claimed_by=None)
    )
    return result.rowcount or 0


async def _mark_held(session, row_id: int) -> bool:
    """After the outbox sender put a held row back to `pending` (far in the future), show it as
    `held`."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending", OutboxMessage.error.contains(HOLD_MARK))
        .values(status="held", delivery="held")
    )
    return (result.rowcount or 0) == 1


# ── parsing a callback ───────────────────────────────────────────────────────────────────


class CallbackRejected(BotError):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_plain_xml(data: bytes | str) -> None:
    """Raise CallbackRejected(400) unless `data` is one well-formed XML document with an `xml`
    root and no DTD, entity declaration or external reference."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except SafeET.ParseError as exc:
        raise CallbackRejected(400, f"malformed XML: {exc}") from exc
    except ValueError as exc:  # defusedxml's DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
        raise CallbackRejected(400, f"forbidden XML construct: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise CallbackRejected(400, f"unexpected XML root <{root.tag}>")


@dataclass(frozen=True)
class _MediaToFetch:
    index: int  # position in inbound.attachments
    media_id: str
    fallback_suffix: str


@dataclass(frozen=True)
class _Parsed:
    """What one callback asks of us."""

    kind: str  # dispatch | unsubscribe | ignore
    message: Any = None  # the wechatpy message (to address the passive reply)
    inbound: Inbound | None = None
    media: tuple[_MediaToFetch, ...] = ()


def _event_id(msg, event: str, extra: str = "") -> str:
    """Events carry no MsgId: the sender, CreateTime and the event (a menu key hashed, to stay
    within the 128 characters of a message id)."""
    tail = ":" + hashlib.sha1(extra.encode("utf-8")).hexdigest()[:12] if extra else ""
    return f"ev:{msg.source[:64]}:{msg.time}:{event}{tail}"


def _message_id(msg) -> str:
    """MsgId; a message without one (WeChat always sends it) falls back to sender + time."""
    return str(msg.id) if msg.id else _event_id(msg, getattr(msg, "type", "message"))


def to_inbound(msg) -> _Parsed:
    """A parsed wechatpy message as what the dispatcher should see."""
    mtype = getattr(msg, "type", "")
    base = dict(channel=CHANNEL, sender=msg.source, received_at=msg.create_time)
    if mtype == "text":
        content = msg.content or ""
        invite = _INVITE.match(content)
        payload = f"/start {invite.group(1)}" if invite else ""  # WeChat has no deep links
        return _Parsed("dispatch", msg, Inbound(text=content, message_id=_message_id(msg), payload=payload, **base))
    if mtype == "voice":
        recognition = (msg.recognition or "").strip()
        fmt = (msg.format or "amr").lower()
        att = Attachment(kind="voice", mime=f"audio/{fmt}", platform_id=msg.media_id or "", text=recognition)
        inbound = Inbound(text=recognition, message_id=_message_id(msg), attachments=(att,), **base)
        media = (_MediaToFetch(0, msg.media_id, fmt),) if msg.media_id else ()
        return _Parsed("dispatch", msg, inbound, media)
    if mtype == "image":
        att = Attachment(kind="photo", mime="image/jpeg", platform_id=msg.media_id or "")
        media = (_MediaToFetch(0, msg.media_id, "jpg"),) if msg.media_id else ()
        return _Parsed("dispatch", msg, Inbound(text="", message_id=_message_id(msg), attachments=(att,), **base), media)
    if mtype == "location":
        att = Attachment(kind="location", text=msg.label or "", platform_id=f"geo:{msg.location_x},{msg.location_y}")
        inbound = Inbound(text="", message_id=_message_id(msg), attachments=(att,),
                          metadata={"latitude": msg.location_x, "longitude": msg.location_y, "scale": msg.scale}, **base)
        return _Parsed("dispatch", msg, inbound)
    if mtype == "link":
        text = " ".join(p for p in (msg.title, msg.url) if p)
        return _Parsed("dispatch", msg, Inbound(text=text, message_id=_message_id(msg), **base))
    if mtype in ("video", "shortvideo", "miniprogrampage"):
        return _Parsed("dispatch", msg, Inbound(text="", message_id=_message_id(msg), **base))
    if mtype == "event":
        event = getattr(msg, "event", "")
        if event == "subscribe":
            return _Parsed("dispatch", msg, Inbound(text="", payload="/start", message_id=_event_id(msg, event), **base))
        if event == "subscribe_scan":  # scanned a QR code with a scene: like a Telegram deep link
            scene = str(msg.scene_id or "").strip()
            payload = f"/start {scene}" if scene else "/start"
            return _Parsed("dispatch", msg, Inbound(text="", payload=payload, message_id=_event_id(msg, event), **base))
        if event == "click":
            key = (msg.key or "").strip()
            if not key:
                return _Parsed("ignore", msg)
            return _Parsed("dispatch", msg, Inbound(text="", payload=key, message_id=_event_id(msg, event, key), **base))
        if event == "unsubscribe":
            return _Parsed("unsubscribe", msg)
    return _Parsed("ignore", msg)  # VIEW (opens a link), location reports, job reports, …


# ── the adapter ──────────────────────────────────────────────────────────────────────────


@dataclass
class _InFlight:
    task: asyncio.Task
    waiters: int = 0


class WeChatAdapter(ChannelAdapter):
    name = CHANNEL
    renders_buttons = False
    replies_in_response = True  # reserved for the passive reply; see the module docstring
    pushes = True
    rate_per_second = 50.0
    burst = 20

    def __init__(self, services: "Services", *, api: WeChatApi | None = None, passive_seconds: float = PASSIVE_SECONDS):
        s = services.settings
        self.services = services
        self.token = s.wechat_token
        self.appid = s.wechat_appid
        self.template_id = getattr(s, "wechat_template_id", "") or ""
        self.crypto = WeChatCrypto(s.wechat_token, s.wechat_aes_key, s.wechat_appid) if s.wechat_aes_key else None
        self.api = api or WeChatApi(services)
        self.media = MediaStore(s.media_dir)
        self.passive_seconds = passive_seconds
        self._inflight: dict[str, _InFlight] = {}
        self._background: set[asyncio.Task] = set()

    async def stop(self) -> None:
        pending = [t for t in [*(e.task for e in self._inflight.values()), *self._background] if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=10)

    # inbound ------------------------------------------------------------------------------

    def signature_ok(self, signature: str, timestamp: str, nonce: str) -> bool:
        try:
            check_signature(self.token, signature or "", timestamp or "", nonce or "")
        except InvalidSignatureException:
            return False
        return True

    def parse_callback(self, body: bytes, query) -> tuple[_Parsed, bool]:
        """Check and decrypt one POST body; returns what it asks and whether it was encrypted.
        Raises CallbackRejected."""
        encrypted = (query.get("encrypt_type") or "raw").lower() == "aes"
        if self.crypto is not None and not encrypted:
            raise CallbackRejected(403, "safe mode is configured: plaintext callbacks are refused")
        if encrypted and self.crypto is None:
            raise CallbackRejected(400, "encrypted callback but XIANGZHU_WECHAT_AES_KEY is not set")
        check_plain_xml(body)
        xml: bytes | str = body
        if encrypted:
            try:
                xml = self.crypto.decrypt_message(body, query.get("msg_signature") or "",
                                                  query.get("timestamp") or "", query.get("nonce") or "")
            except InvalidSignatureException as exc:
                raise CallbackRejected(403, "wrong msg_signature") from exc
            except Exception as exc:  # no <Encrypt>, bad base64/padding, another AppID
                raise CallbackRejected(400, f"cannot decrypt: {type(exc).__name__}") from exc
            check_plain_xml(xml)
        try:
            msg = parse_message(xml)
        except Exception as exc:  # missing MsgType and the like
            raise CallbackRejected(400, f"not a WeChat message: {type(exc).__name__}") from exc
        if msg is None or not getattr(msg, "source", None):
            raise CallbackRejected(400, "not a WeChat message: no FromUserName")
        return to_inbound(msg), encrypted

    async def receive(self, request: Request) -> Response:
        started = time.monotonic()
        q = request.query_params
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return _rejected(413, "body too large")
        if not self.signature_ok(q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", "")):
            return _rejected(403, "wrong signature")
        body = await _read_capped(request, MAX_BODY)
        if body is None:
            return _rejected(413, "body too large")
        try:
            parsed, encrypted = self.parse_callback(body, q)
        except CallbackRejected as exc:
            return _rejected(exc.status, exc.reason)
        if parsed.kind == "unsubscribe":
            await self._unsubscribed(parsed.message.source)
            return _success()
        if parsed.kind != "dispatch":
            return _success()
        entry = self._inflight.get(parsed.inbound.message_id)
        if entry is None:
            entry = self._start(parsed)
        else:
            log.info("wechat: delivery %s again while it is being handled; joining", parsed.inbound.message_id)
        entry.waiters += 1
        remaining = max(0.0, self.passive_seconds - (time.monotonic() - started))
        try:
            await asyncio.wait_for(asyncio.shield(entry.task), timeout=remaining)
        except asyncio.TimeoutError:
            if not entry.task.done():
                return _success()  # the outbox sends the replies when they are ready
        except DatabaseUnavailable:
            return _rejected(503, "database unavailable")  # nothing stored: let WeChat retry
        except Exception:
            log.exception("wechat: handling %s failed", parsed.inbound.message_id)
            return _success()
        finally:
            entry.waiters -= 1
        if entry.task.cancelled() or entry.task.exception() is not None:
            return _success()
        reply = await self._passive_reply(parsed.inbound, entry.task.result())
        if not reply:
            return _success()
        xml = create_reply(reply, parsed.message).render()
        if encrypted:
            xml = self.crypto.encrypt_message(xml, q.get("nonce", ""), q.get("timestamp") or None)
        return Response(content=xml, media_type="application/xml")

    def _start(self, parsed: _Parsed) -> _InFlight:
        message_id = parsed.inbound.message_id
        task = asyncio.get_running_loop().create_task(self._process(parsed), name=f"wechat:{message_id}")
        entry = self._inflight[message_id] = _InFlight(task)

        def done(t: asyncio.Task) -> None:
            if self._inflight.get(message_id) is entry:
                del self._inflight[message_id]
            if not t.cancelled() and t.exception() is not None:
                return
            if entry.waiters == 0:  # WeChat stopped waiting: the outbox sends everything
                self._spawn(self._release(message_id))

        task.add_done_callback(done)
        return entry

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _process(self, parsed: _Parsed) -> list[Outbound]:
        """The work of one message, run once however often WeChat delivers it."""
        s = self.services
        inbound = parsed.inbound
        if parsed.media:
            inbound = await self._with_media(inbound, parsed.media)
        replies = await s.dispatcher.handle(inbound)
        # the dispatcher has recorded this contact (last_inbound_at): the window is open again
        async with s.db.session() as session:
            released = await _release_held(session, inbound.sender, s.clock())
        if released:
            log.info("wechat: %d held messages for a returning person go out now", released)
            s.wake_outbox()
        return replies

    async def _with_media(self, inbound: Inbound, media: tuple[_MediaToFetch, ...]) -> Inbound:
        attachments = list(inbound.attachments)
        for item in media:
            att = attachments[item.index]
            try:
                data, mime = await self.api.download_media(item.media_id)
                path = await asyncio.to_thread(self.media.save, data, mime=mime or att.mime, suffix=item.fallback_suffix)
            except Exception as exc:  # keep the media id; a worker can still see that something came
                log.warning("wechat: downloading media %s failed: %s", item.media_id, exc)
                continue
            attachments[item.index] = Attachment(att.kind, path, mime.split(";")[0].strip() or att.mime,
                                                 att.platform_id, att.text)
        return replace(inbound, attachments=tuple(attachments))

    async def _passive_reply(self, inbound: Inbound, replies: list[Outbound]) -> str:
        """The text for the HTTP answer, if this answer may carry the first reply; the other
        replies go to the outbox sender."""
        s = self.services
        now = s.clock()
        async with s.db.session() as session:
            stored = (
                await session.execute(
                    select(Message.id).where(Message.channel == CHANNEL, Message.channel_message_id == inbound.message_id,
                                             Message.direction == "in")
                )
            ).scalar_one_or_none()
            if stored is None:  # not stored (the sender's lane was full): say it passively, once
                return render_numbered(replies[0].text, replies[0].buttons) if replies else ""
            claimed = await _claim_passive(session, stored, now)
            released = await _release_reserved(session, now=now, inbound_message_id=stored)
        if released:
            s.wake_outbox()
        if claimed is None:
            return ""
        row, locale = claimed
        return render_numbered(row.text, _buttons(row.buttons), locale or s.settings.default_locale)

    async def _release(self, message_id: str) -> None:
        s = self.services
        try:
            async with s.db.session() as session:
                stored = (
                    await session.execute(
                        select(Message.id).where(Message.channel == CHANNEL, Message.channel_message_id == message_id,
                                                 Message.direction == "in")
                    )
                ).scalar_one_or_none()
                n = await _release_reserved(session, now=s.clock(), inbound_message_id=stored) if stored else 0
            if n:
                s.wake_outbox()
        except Exception:  # the leader's wechat_release_reserved job will release them
            log.exception("wechat: releasing the replies of %s failed", message_id)

    async def _unsubscribed(self, openid: str) -> None:
        async with self.services.db.session() as session:
            await people.mark_unreachable(session, CHANNEL, openid)
        log.info("wechat: a follower unsubscribed; marked unreachable")

    # outbound -----------------------------------------------------------------------------

    async def send(self, out: Outbound) -> None:
        s = self.services
        now = s.clock()
        async with s.db.session() as session:
            found = (
                await session.execute(
                    select(ChannelIdentity, Person.locale)
                    .join(Person, Person.id == ChannelIdentity.person_id)
                    .where(ChannelIdentity.channel == CHANNEL, ChannelIdentity.external_id == out.recipient)
                )
            ).first()
            row_id = await self._claimed_row(session, out.recipient)
        identity, locale = (found[0], found[1]) if found else (None, "")
        if identity is not None and identity.unreachable:
            raise RecipientUnreachable("the follower unsubscribed")
        text = render_numbered(out.text, out.buttons, locale or s.settings.default_locale)
        last = identity.last_inbound_at if identity is not None else None
        if last is not None and now - last < WINDOW:
            try:
                await self.api.send_text(out.recipient, text)
                await self._record_delivery(row_id, "custom")
                return
            except WeChatApiError as exc:
                if exc.errcode not in OUTSIDE_WINDOW:
                    raise _send_error(exc) from exc
                log.info("wechat: %s outside the customer-service window (%s)", _mask(out.recipient), exc.errcode)
            except requests.RequestException as exc:
                raise RetryableSendError(f"wechat: {type(exc).__name__}: {exc}") from exc
        if self.template_id:
            try:
                await self.api.send_template(out.recipient, self.template_id, _template_data(text))
            except WeChatApiError as exc:
                raise _send_error(exc) from exc
            except requests.RequestException as exc:
                raise RetryableSendError(f"wechat: {type(exc).__name__}: {exc}") from exc
            await self._record_delivery(row_id, "template")
            return
        if row_id is not None:
            self._spawn(self._show_held(row_id))
        raise RetryableSendError(f"{HOLD_MARK}: waits for the person's next message",
                                 retry_after=HOLD_RETRY.total_seconds())

    async def _claimed_row(self, session, recipient: str) -> int | None:
        """The outbox row the sender is sending now (claim_heads claims one per recipient)."""
        worker = getattr(getattr(self.services, "outbox", None), "worker", None)
        if worker is None:
            return None
        return (
            await session.execute(
                select(OutboxMessage.id)
                .where(OutboxMessage.channel == CHANNEL, OutboxMessage.recipient == recipient,
                       OutboxMessage.status == "sending", OutboxMessage.claimed_by == worker)
                .order_by(OutboxMessage.id)
                .limit(1)
            )
        ).scalar_one_or_none()

    async def _record_delivery(self, row_id: int | None, delivery: str) -> None:
        if row_id is None:
            return
        async with self.services.db.session() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(delivery=delivery))

    async def _show_held(self, row_id: int, timeout: float = 30.0) -> None:
        """The outbox sender records the hold as a retry far ahead; once it has, mark the row
        `held` (the person's next message releases it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            try:
                async with self.services.db.session() as session:
                    if await _mark_held(session, row_id):
                        return
            except Exception as exc:
                log.warning("wechat: marking outbox row %d held failed: %s", row_id, exc)
                return


# ── helpers ──────────────────────────────────────────────────────────────────────────────


def _buttons(raw) -> list[Button]:
    return [Button(b.get("title", ""), b.get("payload", "")) for b in raw or []]


def _template_data(text: str) -> dict:
    """One template field `content` with the message; the template in the console must show
    {{content.DATA}}."""
    return {"content": {"value": text[:1000]}}


def _send_error(exc: WeChatApiError) -> Exception:
    if exc.errcode in UNREACHABLE:
        return RecipientUnreachable(str(exc))
    if exc.errcode is None or exc.errcode in RETRYABLE or exc.errcode in TOKEN_ERRORS:
        return RetryableSendError(str(exc))
    return PermanentSendError(str(exc))


def _mask(openid: str) -> str:
    return openid[:4] + "…" if len(openid) > 4 else "…"


def _success() -> Response:
    return PlainTextResponse("success")


def _rejected(status: int, reason: str) -> Response:
    log.warning("wechat: callback rejected (%d): %s", status, reason)
    return PlainTextResponse(reason, status_code=status)


async def _read_capped(request: Request, limit: int) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# ── periodic jobs (run by the leader; see bot/scheduler.py) ──────────────────────────────


def _adapter_of(services) -> WeChatAdapter | None:
    adapter = services.channels.get(CHANNEL) if getattr(services, "channels", None) else None
    return adapter if isinstance(adapter, WeChatAdapter) else None


async def refresh_token_job(services) -> None:
    """Refresh the access_token when it expires within TOKEN_REFRESH_MARGIN (or is missing)."""
    adapter = _adapter_of(services)
    if adapter is None:
        return
    await adapter.api.tokens.refresh(margin=TOKEN_REFRESH_MARGIN)


async def release_reserved_job(services) -> None:
    """Replies reserved for a passive answer by a process that stopped: send them."""
    if _adapter_of(services) is None:
        return
    now = services.clock()
    async with services.db.session() as session:
        n = await _release_reserved(session, now=now, older_than=now - RESERVE_LEASE)
    if n:
        log.warning("wechat: %d replies left reserved by a stopped process go out now", n)
        services.wake_outbox()


def _register_jobs() -> None:
    from bot.scheduler import register_periodic

    register_periodic("wechat_token", IntervalTrigger(seconds=TOKEN_JOB_SECONDS), refresh_token_job,
                      "刷新微信 access_token / refresh the WeChat access_token")
    register_periodic("wechat_release_reserved", IntervalTrigger(seconds=30), release_reserved_job,
                      "补发未被动回复的微信消息 / send WeChat replies left reserved")


_register_jobs()


# ── mounting ─────────────────────────────────────────────────────────────────────────────


def mount(app: FastAPI, services: "Services") -> WeChatAdapter | None:
    """Called by bot/app.py: the channel is on when XIANGZHU_WECHAT_TOKEN and
    XIANGZHU_WECHAT_APPID are set."""
    settings = services.settings
    if not wechat_enabled(settings):
        return None
    if settings.wechat_aes_key and len(settings.wechat_aes_key) != 43:
        raise ValueError("Config 'XIANGZHU_WECHAT_AES_KEY' must be the 43-character EncodingAESKey "
                         f"from the WeChat console; it has {len(settings.wechat_aes_key)} characters")
    adapter = services.channels.register(WeChatAdapter(services))
    app.state.wechat = adapter

    @app.get("/webhooks/wechat")
    async def wechat_verify(signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = ""):
        if not adapter.signature_ok(signature, timestamp, nonce):
            return _rejected(403, "wrong signature")
        return PlainTextResponse(echostr)

    @app.post("/webhooks/wechat")
    async def wechat_callback(request: Request):
        return await adapter.receive(request)

    return adapter
