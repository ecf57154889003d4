"""WeChat's side of the Official Account channel, for the tests.

`FakeWeChatApi` is a FAKE of the WeChat HTTP API (api.weixin.qq.com/cgi-bin/…): the real API
cannot be reached from the test machines and needs a registered account, so this small HTTP
server on loopback answers the calls the bot makes — `token`, `message/custom/send`,
`message/template/send`, `menu/create`, `media/get`, `media/upload` (multipart, as wechatpy
sends it) — with WeChat's documented JSON shapes and error codes (40001 invalid token, 45015
outside the reply window, 43004 not subscribed, 40007 invalid media id, 40004 invalid media
type), and records every call (an upload's file bytes in `uploads`).

`WeChatPeer` plays WeChat calling our webhook: it builds the callback XML, signs it and, in
safe or compatible mode, encrypts it with wechatpy's own crypto (`WeChatCrypto`,
`WeChatSigner`) exactly as WeChat does, and decrypts passive replies.

Also here (tests/ has no packages): `make_services`, `running`, `eventually` and test handlers.
"""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from tests.support import eventually, running  # noqa: F401  (re-exported for the tests)
from bot.config import load_settings
from vocab.messages import Button
from bot.services import Services
from tests.standin import StandinNLU

APPID = "wx1234567890abcdef"
SECRET = "test-app-secret"
TOKEN = "xiangzhu-callback-token"
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")  # 43 chars
ACCOUNT = "gh_0123456789ab"


# ── the fake API ─────────────────────────────────────────────────────────────────────────


class FakeWeChatApi:
    def __init__(self, appid: str = APPID, secret: str = SECRET):
        self.appid = appid
        self.secret = secret
        self.calls: list[dict] = []  # {"path", "query", "body"} for every API call but token
        self.token_fetches = 0
        self.valid_tokens: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.outside_window: set[str] = set()  # openids → 45015 on custom send
        self.unsubscribed: set[str] = set()  # openids → 43004
        self.refuse_all_tokens = False  # every API call answers 40001
        self.refuse_uploads = False  # media/upload answers 40004 (WeChat refuses the file)
        self.uploads: dict[str, dict] = {}  # media_id → {"type", "data", "filename"}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/cgi-bin/"

    def start(self) -> "FakeWeChatApi":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (as after a refresh elsewhere)."""
        with self._lock:
            self.valid_tokens.clear()

    def calls_to(self, path: str) -> list[dict]:
        with self._lock:
            return [c for c in self.calls if c["path"] == path]

    # handling -----------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(req.path)
        path = url.path.removeprefix("/cgi-bin/")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        if path == "media/upload":
            return self._upload(req, query, raw)
        body = json.loads(raw.decode("utf-8")) if raw else None
        if path == "token":
            return self._json(req, self._token(query))
        with self._lock:
            if self.refuse_all_tokens or query.get("access_token") not in self.valid_tokens:
                return self._json(req, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            self.calls.append({"path": path, "query": query, "body": body, "method": method})
        if path == "media/get":
            item = self.media.get(query.get("media_id", ""))
            if item is None:
                return self._json(req, {"errcode": 40007, "errmsg": "invalid media_id"})
            data, mime = item
            req.send_response(200)
            req.send_header("Content-Type", mime)
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
            return
        if path in ("message/custom/send", "message/template/send"):
            to = (body or {}).get("touser", "")
            if to in self.unsubscribed:
                return self._json(req, {"errcode": 43004, "errmsg": "require subscribe"})
            if path == "message/custom/send" and to in self.outside_window:
                return self._json(req, {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"})
            extra = {"msgid": next(self._counter)} if path == "message/template/send" else {}
            return self._json(req, {"errcode": 0, "errmsg": "ok", **extra})
        if path == "menu/create":
            return self._json(req, {"errcode": 0, "errmsg": "ok"})
        return self._json(req, {"errcode": 40066, "errmsg": "invalid url"})

    def _upload(self, req: BaseHTTPRequestHandler, query: dict, raw: bytes) -> None:
        from email.parser import BytesParser
        from email.policy import HTTP

        with self._lock:
            if self.refuse_all_tokens or query.get("access_token") not in self.valid_tokens:
                return self._json(req, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            self.calls.append({"path": "media/upload", "query": query, "body": None, "method": "POST"})
            if self.refuse_uploads:
                return self._json(req, {"errcode": 40004, "errmsg": "invalid media type"})
        head = f"Content-Type: {req.headers.get('Content-Type', '')}\r\n\r\n".encode()
        parts = [p for p in BytesParser(policy=HTTP).parsebytes(head + raw).iter_parts()
                 if p.get_param("name", header="content-disposition") == "media"]
        if query.get("type") not in ("image", "voice", "video", "thumb") or not parts:
            return self._json(req, {"errcode": 40004, "errmsg": "invalid media type"})
        media_id = f"up-{next(self._counter)}"
        with self._lock:
            self.uploads[media_id] = {"type": query["type"], "data": parts[0].get_payload(decode=True),
                                      "filename": parts[0].get_filename()}
        return self._json(req, {"type": query["type"], "media_id": media_id, "created_at": int(time.time())})

    def _token(self, query: dict) -> dict:
        if query.get("grant_type") != "client_credential" or query.get("appid") != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        with self._lock:
            self.token_fetches += 1
            token = f"token-{self.token_fetches}-{os.urandom(4).hex()}"
            self.valid_tokens.add(token)
        return {"access_token": token, "expires_in": 7200}

    @staticmethod
    def _json(req: BaseHTTPRequestHandler, data: dict) -> None:
        raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
        req.send_response(200)
        req.send_header("Content-Type", "application/json; encoding=utf-8")
        req.send_header("Content-Length", str(len(raw)))
        req.end_headers()
        req.wfile.write(raw)


# ── WeChat calling our webhook ───────────────────────────────────────────────────────────


def _cdata(value) -> str:
    return f"<![CDATA[{value}]]>" if isinstance(value, str) else str(value)


def message_xml(fields: dict) -> str:
    return "<xml>" + "".join(f"<{k}>{_cdata(v)}</{k}>" for k, v in fields.items()) + "</xml>"


class WeChatPeer:
    """Builds, signs and (in `safe`/`compat` mode) encrypts callbacks as WeChat sends them."""

    def __init__(self, client: httpx.AsyncClient, *, mode: str = "plain", token: str = TOKEN,
                 aes_key: str = AES_KEY, appid: str = APPID):
        self.client = client
        self.mode = mode  # plain | compat | safe
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, appid)
        self._ids = itertools.count(int(time.time()) * 1000)
        self._now = int(time.time())

    # messages -----------------------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def fields(self, openid: str, msg_type: str, **extra) -> dict:
        self._now += 1
        return {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": self._now, "MsgType": msg_type, **extra}

    def text(self, openid: str, content: str, msg_id: int | None = None) -> dict:
        return self.fields(openid, "text", Content=content, MsgId=msg_id or self.next_id())

    def voice(self, openid: str, media_id: str, recognition: str = "") -> dict:
        extra = {"MediaId": media_id, "Format": "amr", "MsgId": self.next_id()}
        if recognition:
            extra["Recognition"] = recognition
        return self.fields(openid, "voice", **extra)

    def image(self, openid: str, media_id: str) -> dict:
        return self.fields(openid, "image", PicUrl="http://mmbiz.qpic.cn/x", MediaId=media_id, MsgId=self.next_id())

    def location(self, openid: str, x: float, y: float, label: str) -> dict:
        return self.fields(openid, "location", Location_X=x, Location_Y=y, Scale=15, Label=label, MsgId=self.next_id())

    def event(self, openid: str, event: str, key: str | None = None) -> dict:
        extra = {"Event": event}
        if key is not None:
            extra["EventKey"] = key
        return self.fields(openid, "event", **extra)

    # signing and sending ------------------------------------------------------------------

    def signature(self, timestamp: str, nonce: str) -> str:
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce)
        return signer.signature

    def build(self, fields: dict) -> tuple[dict, bytes]:
        """Query parameters and body of one callback."""
        timestamp, nonce = str(int(time.time())), os.urandom(5).hex()
        params = {"signature": self.signature(timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                  "openid": fields.get("FromUserName", "")}
        plain = message_xml(fields)
        if self.mode == "plain":
            return params, plain.encode("utf-8")
        sealed = xmltodict.parse(self.crypto.encrypt_message(plain, nonce, timestamp))["xml"]
        params.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
        if self.mode == "safe":
            body = message_xml({"ToUserName": ACCOUNT, "Encrypt": sealed["Encrypt"]})
        else:  # compatible mode: the plaintext fields and the ciphertext together
            body = message_xml({**fields, "Encrypt": sealed["Encrypt"]})
        return params, body.encode("utf-8")

    async def post(self, fields: dict | None = None, *, params: dict | None = None, body: bytes | None = None,
                   built: tuple[dict, bytes] | None = None) -> httpx.Response:
        if built is None:
            built = self.build(fields) if fields is not None else (params or {}, body or b"")
        p, b = built
        return await self.client.post("/webhooks/wechat", params=p, content=b,
                                      headers={"Content-Type": "text/xml"})

    def reply_of(self, resp: httpx.Response) -> dict | None:
        """The passive reply in a webhook answer, decrypted when encrypted; None for
        `success` or an empty answer."""
        assert resp.status_code == 200, resp.text
        if resp.text in ("success", ""):
            return None
        xml = xmltodict.parse(resp.text)["xml"]
        if "Encrypt" in xml:
            assert self.mode != "plain"
            plain = self.crypto.decrypt_message(resp.text, xml["MsgSignature"], xml["TimeStamp"], xml["Nonce"])
            xml = xmltodict.parse(plain)["xml"]
        return xml


# ── app and helpers ──────────────────────────────────────────────────────────────────────


class EchoHandler:
    """A dialogue stand-in that says what it was given, with two choices; with a `gate` it
    waits for the test to open it (slow handling without sleeping)."""

    def __init__(self, gate: asyncio.Event | None = None, replies: int = 1):
        self.turns: list = []
        self.gate = gate
        self.replies = replies

    async def handle(self, turn) -> None:
        self.turns.append(turn)
        if self.gate is not None:
            await self.gate.wait()
        kinds = ",".join(a.kind for a in turn.attachments) or "-"
        turn.say(f"收到：{turn.text or '-'}｜按钮：{turn.payload or '-'}｜附件：{kinds}",
                 (Button("是", "yes"), Button("否", "no")))
        for n in range(2, self.replies + 1):
            turn.say(f"第{n}条")


def make_services(db, fake: FakeWeChatApi, tmp_path, *, handler=None, clock=None, **settings) -> Services:
    values = dict(database_url=db.url, wechat_token=TOKEN, wechat_appid=APPID, wechat_secret=SECRET,
                  wechat_api_base_url=fake.base_url, media_dir=tmp_path / "media")
    values.update(settings)
    return Services(
        load_settings(**values), db, nlu=StandinNLU(), handler=handler or EchoHandler(), emergency_detector=None,
        clock=clock,
        sender_options={"poll_seconds": 0.02, "backoff_base": 0.01, "backoff_cap": 0.05},
    )
