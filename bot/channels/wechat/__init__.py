"""WeChat Official Account (微信公众号): the `/webhooks/wechat` callback, the adapter that sends
customer-service and template messages, and the API client. The only package that imports
wechatpy.

    client.py    the API client and the access_token
    callback.py  a callback's XML: safety checks, parsing into an Inbound
    adapter.py   the adapter: receiving (passive replies) and sending (window, template, hold)
    jobs.py      the leader's periodic jobs (token, reserved replies, pending messages)

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
     outbox delivers through `message/custom/send` when ready;
  6. WeChat never sends a message again after `success`, and the message is stored only when
     its turn commits (it may still be waiting in the line, bot/turn_gate.py). So before
     `success` the parsed message is kept as pending in the `kv` table (through the channel
     store; `success` waits for that write at most KEEP_WAIT), and forgotten once its turn
     has committed. The leader's `wechat_recover_pending` job handles, through the same path,
     the entries older than PENDING_AGE (60 s) whose message is still not stored — their
     process stopped — and forgets those that are; the replies go out through the outbox.
     A message handled twice (its process alive but slower than PENDING_AGE) is stored and
     answered once: the dispatcher's dedupe. Entries expire after the 48-hour window; the
     sender's erasure drops them (storage/pending.py).

How replies reach the outbox. The adapter declares `replies_in_response`, so the dispatcher
writes a turn's replies as `sent` / delivery `response`: reserved for the HTTP answer. Then,
through the app's channel store (bot/channel_store.py; conditional UPDATEs, safe across
processes and in any order):
  - the first reserved row of the message becomes delivery `passive` when an HTTP answer
    (the first delivery or a retry) carries it;
  - every row still reserved goes back to `pending` once nobody waits for it (the answer was
    sent, or WeChat stopped waiting), and the outbox sends it as a customer-service message;
  - rows left reserved by a process that died are put back to `pending` by the leader's
    `wechat_release_reserved` job after `RESERVE_LEASE`.

Outbound (`WeChatAdapter.send`, called by the outbox sender): within 48 hours of the
person's last message (ChannelIdentity.last_inbound_at) a customer-service text message,
choices as numbered lines (render_numbered); outside the window, or when WeChat answers 45015
/ 45047: the template message XIANGZHU_WECHAT_TEMPLATE_ID when one is configured, else the
adapter raises `DeliveryHeld` and the outbox sender holds the row (status `held`) until the
person's next message (or, without one, for HOLD_RETRY before it tries again). `outbox.delivery` records which:
passive | custom | template | held.

access_token: kept in the database (through the channel store); the leader's `wechat_token`
job refreshes it before it expires; every process reads it from there; on 40001/40014/42001 a
process refreshes once (unless another process already did) and retries once.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from bot.channels.wechat import jobs  # noqa: F401  (registers the leader's jobs)
from bot.channels.wechat.adapter import WeChatAdapter, rejected, wechat_enabled

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["mount"]


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
            return rejected(403, "wrong signature")
        return PlainTextResponse(echostr)

    @app.post("/webhooks/wechat")
    async def wechat_callback(request: Request):
        return await adapter.receive(request)

    return adapter
