"""The WeChat adapter: a callback in (passive reply within PASSIVE_SECONDS, else the outbox),
a message out (customer-service message within the 48-hour window, else the template, else
held until the person writes). The package docstring (bot/channels/wechat/__init__.py) tells
the whole story. Storage is reached only through `services.channel_store`."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import requests
from fastapi import Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.channels.base import (
    ChannelAdapter,
    DeliveryHeld,
    PermanentSendError,
    RecipientUnreachable,
    RetryableSendError,
    render_numbered,
)
from bot.channels.wechat.callback import CHANNEL, CallbackRejected, MediaToFetch, Parsed, check_plain_xml, to_inbound
from bot.channels.wechat.client import TOKEN_ERRORS, WeChatApi, WeChatApiError
from bot.media import MediaStore
from vocab.errors import DatabaseUnavailable
from vocab.messages import Attachment, Button, Inbound, Outbound
from vocab.wechat import CUSTOMER_SERVICE_WINDOW

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services

__all__ = ["CHANNEL", "HOLD_RETRY", "PASSIVE_SECONDS", "PENDING_AGE", "RESERVE_LEASE", "WINDOW", "WeChatAdapter",
           "wechat_enabled"]

log = logging.getLogger("xiangzhu.wechat")

MAX_BODY = 64 * 1024
PASSIVE_SECONDS = 4.0  # WeChat gives up after 5 s
WINDOW = CUSTOMER_SERVICE_WINDOW  # customer-service messages only within 48 h of the person's last message
RESERVE_LEASE = timedelta(seconds=60)  # WeChat's retries are over after ~15 s
HOLD_RETRY = timedelta(days=3)  # a held row is looked at again after this even without contact
PENDING_AGE = timedelta(seconds=60)  # answered `success` and still not stored after this: its process died
KEEP_WAIT = 0.5  # seconds `success` waits for the pending message's write (WeChat gives up after 5 s)

OUTSIDE_WINDOW = {45015, 45047}  # reply time limit passed; too many messages without a reply
UNREACHABLE = {43004, 43019, 40003}  # not subscribed; blocked the account; invalid openid
RETRYABLE = {-1, 45009, 45011}  # system busy; API call quota; frequency limit
MEDIA_TYPES = {"photo": "image", "voice": "voice", "video": "video"}  # ours → WeChat's temporary media
VOICE_MIMES = {"audio/amr", "audio/mpeg", "audio/mp3", "audio/speex"}  # what WeChat's voice takes


def wechat_enabled(settings: "Settings") -> bool:
    """The channel is on when the callback token and the AppID are configured."""
    return bool(settings.wechat_token and settings.wechat_appid)


@dataclass
class _InFlight:
    task: asyncio.Task
    waiters: int = 0
    kept: bool = False  # kept as pending (answered `success` before its turn committed)
    write: asyncio.Task | None = None  # the pending entry's write


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

    def parse_callback(self, body: bytes, query) -> tuple[Parsed, bool]:
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
            return rejected(413, "body too large")
        if not self.signature_ok(q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", "")):
            return rejected(403, "wrong signature")
        body = await _read_capped(request, MAX_BODY)
        if body is None:
            return rejected(413, "body too large")
        try:
            parsed, encrypted = self.parse_callback(body, q)
        except CallbackRejected as exc:
            return rejected(exc.status, exc.reason)
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
            pass
        except DatabaseUnavailable:
            return rejected(503, "database unavailable")  # nothing stored: let WeChat retry
        except Exception:
            log.exception("wechat: handling %s failed", parsed.inbound.message_id)
            return _success()
        finally:
            entry.waiters -= 1
        if not entry.task.done():
            await self._keep_pending(parsed, entry)
            return _success()  # the outbox sends the replies when they are ready
        if entry.task.cancelled() or entry.task.exception() is not None:
            return _success()
        reply = await self._passive_reply(parsed.inbound, entry.task.result())
        if not reply:
            return _success()
        xml = create_reply(reply, parsed.message).render()
        if encrypted:
            xml = self.crypto.encrypt_message(xml, q.get("nonce", ""), q.get("timestamp") or None)
        return Response(content=xml, media_type="application/xml")

    def _start(self, parsed: Parsed) -> _InFlight:
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

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _process(self, parsed: Parsed) -> list[Outbound]:
        """The work of one message, run once however often WeChat delivers it."""
        s = self.services
        inbound = parsed.inbound
        if parsed.media:
            inbound = await self._with_media(inbound, parsed.media)
        replies = await s.dispatcher.handle(inbound)
        # the dispatcher has recorded this contact (last_inbound_at): the window is open again
        released = await s.channel_store.release_held(CHANNEL, inbound.sender, s.clock())
        if released:
            log.info("wechat: %d held messages for a returning person go out now", released)
            s.wake_outbox()
        # last: a `success` not yet kept by now never will be (the task is done when this returns)
        entry = self._inflight.get(inbound.message_id)
        if entry is not None and entry.kept:  # stored now (or found stored before)
            if entry.write is not None:
                await entry.write
            await self._forget_pending(inbound.message_id)
        return replies

    async def _keep_pending(self, parsed: Parsed, entry: _InFlight) -> None:
        """WeChat will not send the message again after `success`: until its turn commits it
        is kept in the database, for `recover_pending` if this process dies first. `success`
        waits for the write at most KEEP_WAIT (on SQLite's one connection it waits for the
        running turn's commit); the write goes on after the answer if it takes longer."""
        if entry.kept:
            return
        entry.kept = True
        entry.write = self._spawn(self._write_pending(parsed))
        await asyncio.wait([entry.write], timeout=KEEP_WAIT)

    async def _write_pending(self, parsed: Parsed) -> None:
        s = self.services
        now = s.clock()
        try:
            await s.channel_store.keep_pending(CHANNEL, parsed.inbound.message_id, parsed.inbound.sender,
                                               _pack(parsed, now), expires_at=now + WINDOW)
        except Exception:  # the turn goes on; only a crash before it commits would lose the message
            log.exception("wechat: keeping %s as pending failed", parsed.inbound.message_id)

    async def _forget_pending(self, message_id: str) -> None:
        try:
            await self.services.channel_store.forget_pending(CHANNEL, message_id)
        except Exception:  # recover_pending finds it stored and forgets it then
            log.exception("wechat: forgetting pending %s failed", message_id)

    async def recover_pending(self, older_than: datetime) -> int:
        """Handle the messages answered `success` before `older_than` whose turn never
        committed (the process handling them stopped), through the same path as a callback;
        their replies go out through the outbox. Returns how many were handled."""
        s = self.services
        handled = 0
        for kept in await s.channel_store.pending(CHANNEL, s.clock()):
            parsed, at = _unpack(kept)
            message_id = parsed.inbound.message_id
            if at > older_than or message_id in self._inflight:
                continue
            if await s.channel_store.inbound_stored(CHANNEL, message_id):
                await self._forget_pending(message_id)
                continue
            log.warning("wechat: %s was answered `success` at %s and never stored; handling it now", message_id, at)
            entry = self._start(parsed)
            entry.kept = True
            try:
                await asyncio.shield(entry.task)
            except Exception:  # still kept: the next run tries again
                log.exception("wechat: handling pending %s failed", message_id)
            else:
                handled += 1
        return handled

    async def _with_media(self, inbound: Inbound, media: tuple[MediaToFetch, ...]) -> Inbound:
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
        claim = await s.channel_store.take_response(CHANNEL, inbound.message_id, s.clock())
        if not claim.stored:  # not stored (the sender's lane was full): say it passively, once
            return render_numbered(replies[0].text, replies[0].buttons) if replies else ""
        if claim.released:
            s.wake_outbox()
        if not claim.claimed:
            return ""
        return render_numbered(claim.text, _buttons(claim.buttons), claim.locale or s.settings.default_locale)

    async def _release(self, message_id: str) -> None:
        s = self.services
        try:
            if await s.channel_store.release_responses(CHANNEL, s.clock(), channel_message_id=message_id):
                s.wake_outbox()
        except Exception:  # the leader's wechat_release_reserved job will release them
            log.exception("wechat: releasing the replies of %s failed", message_id)

    async def _unsubscribed(self, openid: str) -> None:
        await self.services.channel_store.mark_unreachable(CHANNEL, openid)
        log.info("wechat: a follower unsubscribed; marked unreachable")

    # outbound -----------------------------------------------------------------------------

    async def send(self, out: Outbound) -> None:
        s = self.services
        now = s.clock()
        recipient = await s.channel_store.recipient(CHANNEL, out.recipient)
        row_id = await self._sending_row(out.recipient)
        if recipient is not None and recipient.unreachable:
            raise RecipientUnreachable("the follower unsubscribed")
        locale = recipient.locale if recipient is not None else ""
        text = render_numbered(out.text, out.buttons, locale or s.settings.default_locale)
        last = recipient.last_inbound_at if recipient is not None else None
        if last is not None and now - last < WINDOW:
            try:
                await self.api.send_text(out.recipient, text)
                await self._record_delivery(row_id, "custom")
            except WeChatApiError as exc:
                if exc.errcode not in OUTSIDE_WINDOW:
                    raise _send_error(exc) from exc
                log.info("wechat: %s outside the customer-service window (%s)", _mask(out.recipient), exc.errcode)
            except requests.RequestException as exc:
                raise RetryableSendError(f"wechat: {type(exc).__name__}: {exc}") from exc
            else:
                for attachment in out.attachments:
                    await self._send_attachment(out.recipient, attachment, locale or s.settings.default_locale)
                return
        if self.template_id:
            try:
                await self.api.send_template(out.recipient, self.template_id, _template_data(text))
            except WeChatApiError as exc:
                raise _send_error(exc) from exc
            except requests.RequestException as exc:
                raise RetryableSendError(f"wechat: {type(exc).__name__}: {exc}") from exc
            await self._record_delivery(row_id, "template")
            return
        raise DeliveryHeld("wechat: outside the 48-hour window; waits for the person's next message",
                           retry_after=HOLD_RETRY.total_seconds())

    async def _send_attachment(self, openid: str, att: Attachment, locale: str) -> None:
        """After the text of a relayed message: the photo, voice or video itself, uploaded as
        temporary media and sent as a customer-service message. WeChat has no customer-service
        file message and takes voice only as AMR/MP3/Speex, so a document, a Telegram voice
        (OGG) or a failed upload is sent as a line with the link to the conversation page."""
        if att.kind == "location" or not att.path:
            return  # the text says what came
        media_type = MEDIA_TYPES.get(att.kind)
        mime = (att.mime or "").split(";")[0].strip().lower()
        if media_type == "voice" and mime not in VOICE_MIMES:
            media_type = None
        try:
            if media_type is None:
                raise WeChatApiError(None, f"WeChat cannot send a {att.kind} ({mime or 'unknown type'}) to a follower")
            data = await asyncio.to_thread(self.media.resolve(att.path).read_bytes)
            filename = att.path.rsplit("/", 1)[-1]
            media_id = await self.api.upload_media(media_type, filename, data, mime)
            await self.api.send_media(openid, media_type, media_id)
            return
        except (WeChatApiError, requests.RequestException, OSError, ValueError) as exc:
            log.info("wechat: sending a %s to %s as media failed (%s); sending its link", att.kind, _mask(openid), exc)
        try:
            await self.api.send_text(openid, _media_fallback(att, locale))
        except (WeChatApiError, requests.RequestException) as exc:  # the text already said what came
            log.warning("wechat: the link to a %s for %s was not sent either: %s", att.kind, _mask(openid), exc)

    async def _sending_row(self, recipient: str) -> int | None:
        """The outbox row the sender is sending now (claim_heads claims one per recipient)."""
        worker = getattr(getattr(self.services, "outbox", None), "worker", None)
        if worker is None:
            return None
        return await self.services.channel_store.sending_row(CHANNEL, recipient, worker)

    async def _record_delivery(self, row_id: int | None, delivery: str) -> None:
        if row_id is not None:
            await self.services.channel_store.record_delivery(row_id, delivery)


# ── helpers ──────────────────────────────────────────────────────────────────────────────


def _pack(parsed: Parsed, now: datetime) -> dict:
    """What `_unpack` needs to handle a parsed callback again, as JSON."""
    inbound = asdict(parsed.inbound)
    inbound["received_at"] = parsed.inbound.received_at.isoformat() if parsed.inbound.received_at else None
    return {"inbound": inbound, "media": [asdict(m) for m in parsed.media], "at": now.isoformat()}


def _unpack(kept: dict) -> tuple[Parsed, datetime]:
    fields = dict(kept["inbound"])
    fields["attachments"] = tuple(Attachment(**a) for a in fields.get("attachments") or ())
    if fields.get("received_at"):
        fields["received_at"] = datetime.fromisoformat(fields["received_at"])
    media = tuple(MediaToFetch(**m) for m in kept.get("media") or ())
    return Parsed("dispatch", None, Inbound(**fields), media), datetime.fromisoformat(kept["at"])


def _buttons(raw) -> list[Button]:
    return [Button(b.get("title", ""), b.get("payload", "")) for b in raw or []]


def _media_fallback(att: Attachment, locale: str) -> str:
    """The line sent when a file cannot go as WeChat media: what it is, and where to see it."""
    zh = {"photo": "照片", "voice": "语音", "video": "视频", "document": "文件"}.get(att.kind, "附件")
    if locale == "en":
        what = {"photo": "photo", "voice": "voice message", "video": "video", "document": "file"}.get(att.kind, "file")
        return f"(The {what} could not be sent here; see it on the web: {att.link})" if att.link else \
            f"(The {what} could not be sent here; see it in the web inbox.)"
    return f"（{zh}无法在微信里发送，请在网页上查看：{att.link}）" if att.link else f"（{zh}无法在微信里发送，请在网页收件箱查看。）"


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


def rejected(status: int, reason: str) -> Response:
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
