"""The REST channel, compatible with Rasa's:

    POST /webhooks/rest/webhook  {"sender": "u1", "message": "你好", "metadata": {"message_id": "m1"}}
      → [{"recipient_id": "u1", "text": "...", "buttons": [{"title": "...", "payload": "/..."}]}]

A repeated `message_id` returns the stored replies; without one, each POST is a new message.
A message that is a button's payload ("/menu", "choice:join") is that button pressed: Rasa
clients send payloads that way (the dispatcher recognises them, on every channel).

Later messages (a worker's reply, a reminder) wait in the outbox:

    GET /webhooks/rest/outbox?sender=u1&after=CURSOR → {"messages": [...], "cursor": "17"}

Asking with `after=N` confirms everything up to N arrived (those rows are marked sent), so a
lost response loses nothing: ask again with the old cursor. With XIANGZHU_REST_CALLBACK_URL
set, later messages are also POSTed there (same item shape). With XIANGZHU_REST_TOKEN set,
both endpoints require `Authorization: Bearer <token>` (401 otherwise). A body that is not a
JSON object with string `sender` and `message` gets 400 `{"error": "..."}`; a body over 64 KB
gets 413 (refused from its Content-Length, or while it streams in); a database that does not
answer gets 503.

When the server is far behind — a new message would wait in line longer than
XIANGZHU_MAX_QUEUE_SECONDS before its turn starts (bot/turn_gate.py) — the webhook answers
at once 503 with `Retry-After` (seconds) and `{"error": "服务器繁忙… / server busy…"}`. Such a
message was **not accepted**: nothing of it is stored or parsed, and the client sends it again
(with the same `message_id`, so a message that did get through once is never handled twice).
A message the webhook took (200) is stored and answered, however long it waited.
"""
from __future__ import annotations

import hmac
import json
import logging
import uuid
from typing import TYPE_CHECKING

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.channel_store import ChannelStore
from bot.channels.base import ChannelAdapter, PermanentSendError, RetryableSendError
from bot.dispatcher import Overloaded
from vocab.errors import DatabaseUnavailable
from vocab.messages import Inbound, Outbound
from bot.outbox import outbound_from_row

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["BUSY", "WEBHOOK", "RestAdapter", "fast_webhook", "handle_webhook", "mount", "reply_json"]

log = logging.getLogger("xiangzhu.rest")

MAX_ID = 128
MAX_BODY = 64 * 1024  # bytes; a chat message is far smaller (Telegram and WeChat cap theirs too)
# the reply body: json.dumps(body, ensure_ascii=False, separators=(",", ":")) without a new encoder per call
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
TOO_LARGE = (413, {"error": "消息太大（最多 64 KB） / body too large (64 KB at most)"})


def _declared_too_large(content_length: str | None) -> bool:
    try:
        return content_length is not None and int(content_length) > MAX_BODY
    except ValueError:
        return False


def reply_json(out: Outbound) -> dict:
    item = {"recipient_id": out.recipient, "text": out.text}
    if out.buttons:
        item["buttons"] = [{"title": b.title, "payload": b.payload} for b in out.buttons]
    if out.attachments:
        item["attachments"] = [{"kind": a.kind, "path": a.path, "mime": a.mime} for a in out.attachments]
    return item


class RestAdapter(ChannelAdapter):
    """Replies go back in the HTTP response; later messages are polled, or POSTed to the
    callback URL when one is configured."""

    name = "rest"
    renders_buttons = True
    replies_in_response = True

    def __init__(self, callback_url: str = "", token: str = "", transport: httpx.AsyncBaseTransport | None = None):
        self.callback_url = callback_url
        self.token = token
        self.pushes = bool(callback_url)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        if self.callback_url and self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0, transport=self._transport)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, out: Outbound) -> None:
        if not self.callback_url:
            raise PermanentSendError("no callback URL configured")
        if self._client is None:
            await self.start()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            resp = await self._client.post(self.callback_url, json=reply_json(out), headers=headers)
        except httpx.HTTPError as exc:
            raise RetryableSendError(f"callback: {type(exc).__name__}: {exc}") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            retry_after = resp.headers.get("Retry-After")
            raise RetryableSendError(
                f"callback answered {resp.status_code}",
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if resp.status_code >= 400:
            raise PermanentSendError(f"callback answered {resp.status_code}")


def _error(status: int, zh: str, en: str) -> JSONResponse:
    return JSONResponse({"error": f"{zh} / {en}"}, status_code=status)


def _error_body(zh: str, en: str) -> dict:
    return {"error": f"{zh} / {en}"}


def _authorized(request: Request, token: str) -> bool:
    return _token_ok(request.headers.get("authorization", ""), token)


def _token_ok(given: str, token: str) -> bool:
    if not token:
        return True
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _as_id(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        value = str(value).strip()
        return value if 0 < len(value) <= MAX_ID else None
    return None


WEBHOOK = "/webhooks/rest/webhook"
UNAVAILABLE = (503, {"error": "数据库暂时不可用，请稍后重试 / database unavailable, retry later"})
BUSY = (503, {"error": "服务器繁忙，消息未收下，请稍后重发 / server busy, message not taken, send it again later"})


async def handle_webhook(services: "Services", raw: bytes, authorization: str) -> tuple[int, object]:
    """One POST to the webhook: (status, JSON body). Raises DatabaseUnavailable and
    Overloaded (→ 503)."""
    if not _token_ok(authorization, services.settings.rest_token):
        return 401, _error_body("需要正确的 Authorization: Bearer 令牌", "missing or wrong bearer token")
    try:
        body = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        return 400, _error_body("请求体不是 JSON", "body is not JSON")
    if not isinstance(body, dict):
        return 400, _error_body("请求体应是 JSON 对象", "body must be a JSON object")
    sender = _as_id(body.get("sender"))
    message = body.get("message")
    if sender is None or not isinstance(message, str):
        return 400, _error_body("需要 sender 和 message 两个字段",
                                'body needs "sender" (1-128 characters) and "message" (a string)')
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    message_id = metadata.get("message_id")
    if message_id is not None:
        message_id = _as_id(message_id)
        if message_id is None:
            return 400, _error_body("metadata.message_id 应是 1–128 个字符", "metadata.message_id must be 1-128 characters")
    locale = metadata.get("locale") if metadata.get("locale") in ("zh", "en") else ""
    inbound = Inbound(
        channel="rest",
        sender=sender,
        text=message,
        message_id=message_id or uuid.uuid4().hex,
        locale_hint=locale,
        metadata=metadata,
    )
    replies = await services.dispatcher.handle(inbound, refuse_when_behind=True)
    return 200, [reply_json(r) for r in replies]


def fast_webhook(services: "Services"):
    """The webhook as a bare ASGI app, for `bot.app` to answer it before FastAPI's routing and
    middleware — the busiest route, and FastAPI's share of a request was 0.11 of 0.17 ms CPU
    (measured with wrk, docs/performance.md). Same contract as the FastAPI route."""

    async def app(scope, receive, send) -> None:
        authorization, length = "", None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                length = value.decode("latin-1")
        headers = [(b"content-type", b"application/json")]
        chunks, size = [], 0
        too_large = _declared_too_large(length)
        while not too_large:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            too_large = size > MAX_BODY  # a chunked body without Content-Length
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        try:
            if too_large:
                status, body = TOO_LARGE
            else:
                status, body = await handle_webhook(services, b"".join(chunks), authorization)
        except DatabaseUnavailable:
            (status, body), headers = UNAVAILABLE, headers + [(b"retry-after", b"2")]
        except Overloaded as exc:
            (status, body), headers = BUSY, headers + [(b"retry-after", str(exc.retry_after).encode())]
        except Exception:
            log.exception("REST webhook failed")
            status, body = 500, _error_body("服务器出错", "internal server error")
        data = _ENCODE(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": headers + [(b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    return app


def mount(app: FastAPI, services: "Services") -> RestAdapter:
    settings = services.settings
    adapter = services.channels.register(
        RestAdapter(callback_url=settings.rest_callback_url, token=settings.rest_token)
    )
    token = settings.rest_token

    @app.post(WEBHOOK)
    async def rest_webhook(request: Request):
        """Rasa-compatible REST webhook (served by `fast_webhook`; this route documents it and
        answers when the app is mounted inside another)."""
        if _declared_too_large(request.headers.get("content-length")):
            return JSONResponse(TOO_LARGE[1], status_code=413)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                return JSONResponse(TOO_LARGE[1], status_code=413)
            chunks.append(chunk)
        status, body = await handle_webhook(services, b"".join(chunks), request.headers.get("authorization", ""))
        return JSONResponse(body, status_code=status)

    @app.get("/webhooks/rest/outbox")
    async def rest_outbox(request: Request, sender: str = "", after: str = "0"):
        if not _authorized(request, token):
            return _error(401, "需要正确的 Authorization: Bearer 令牌", "missing or wrong bearer token")
        if _as_id(sender) is None:
            return _error(400, "需要 sender 参数", "query parameter sender is required")
        try:
            cursor = int(after or "0")
            if cursor < 0:
                raise ValueError
        except ValueError:
            return _error(400, "after 应是之前返回的 cursor", "after must be a cursor returned earlier")
        try:
            arrived, rows = await services.channel_store.poll("rest", sender, after=cursor, now=services.clock())
            if arrived:
                services.metrics.outbound("rest", arrived)
            items = [{"id": str(r.id), **_row_json(r)} for r in rows]
        except Exception as exc:
            if ChannelStore.unavailable(exc):
                raise DatabaseUnavailable(str(exc)) from exc
            raise
        return {"messages": items, "cursor": str(rows[-1].id if rows else cursor)}

    return adapter


def _row_json(row) -> dict:
    return reply_json(outbound_from_row(row))
