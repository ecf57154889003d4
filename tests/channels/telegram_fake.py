"""A FAKE Telegram Bot API on loopback, for what the telegram-test-api emulator cannot show:
files (getFile + the file URL), `getUpdates` offsets (updates stay until a later offset confirms
them, so offsets across a restart can be checked), 429 `retry_after`, 403 "bot was blocked",
dropped connections, webhook registration. It is a stand-in written for these tests, not a
protocol peer: every answer follows the Bot API documentation's shapes.

    fake = FakeBotApi().start()         # fake.base_url → XIANGZHU_TELEGRAM_BASE_URL
    fake.push_message(chat_id=42, text="你好")
    fake.calls_to("sendMessage")        # [{"chat_id": "42", "text": ..., "reply_markup": {...}}]
    fake.stop()
"""
from __future__ import annotations

import email
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


from tests.support import eventually, running  # noqa: F401  (re-exported for the tests)
from bot.config import load_settings
from vocab.messages import Button
from bot.services import Services
from tests.standin import StandinNLU

TOKEN = "123456:FAKE-token_for-tests"


def _parse_body(content_type: str, body: bytes) -> dict:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body)
    if content_type.startswith("multipart/form-data"):
        msg = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        out = {}
        for part in msg.get_payload():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True)
            if part.get_filename() is not None:
                out[name] = {"filename": part.get_filename(), "size": len(data), "data": data}
            else:
                out[name] = data.decode("utf-8")
        return out
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}


def _decoded(params: dict) -> dict:
    """Form values that are JSON (reply_markup, allowed_updates) as objects."""
    out = dict(params)
    for key in ("reply_markup", "allowed_updates"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


class FakeBotApi:
    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: list[tuple[str, dict, float]] = []
        self.updates: list[dict] = []  # not yet confirmed by an offset
        self.history: dict[int, dict] = {}  # every update pushed, by id
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id → (file_path, bytes)
        self.blocked: set[str] = set()
        self.held_files: dict[str, threading.Event] = {}
        self.failures: list[dict] = []
        self.webhook: dict | None = None
        self._update_ids = itertools.count(700_000)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(9_000)
        self._cond = threading.Condition()
        self._stopping = False
        self._server: ThreadingHTTPServer | None = None

    # test side ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> "FakeBotApi":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._http(self, b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake._http(self, self.rfile.read(length))

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that went away (a cancelled long poll, a dropped connection)

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def push(self, **update) -> int:
        """Queue an update (its kind as keyword: message=…, callback_query=…); returns its id."""
        with self._cond:
            update_id = next(self._update_ids)
            self.updates.append({"update_id": update_id, **update})
            self.history[update_id] = self.updates[-1]
            self._cond.notify_all()
        return update_id

    def user(self, chat_id: int, name: str = "李大爷", language_code: str = "zh-hans") -> dict:
        return {"id": chat_id, "is_bot": False, "first_name": name, "language_code": language_code}

    def message(self, chat_id: int, text: str | None = None, **extra) -> dict:
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group", "first_name": "李大爷"}
        msg = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
               "from": self.user(abs(chat_id))}
        if text is not None:
            msg["text"] = text
            if text.startswith("/"):
                msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        msg.update(extra)
        return msg

    def push_message(self, chat_id: int, text: str | None = None, **extra) -> int:
        return self.push(message=self.message(chat_id, text, **extra))

    def push_callback(self, chat_id: int, data: str, *, message_id: int = 1) -> tuple[int, str]:
        query_id = str(next(self._callback_ids))
        update_id = self.push(callback_query={
            "id": query_id, "from": self.user(chat_id), "chat_instance": f"ci{chat_id}", "data": data,
            "message": {"message_id": message_id, "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private"}},
        })
        return update_id, query_id

    def add_file(self, file_id: str, data: bytes, file_path: str) -> dict:
        self.files[file_id] = (file_path, data)
        return {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": len(data)}

    def hold_file(self, file_path: str) -> threading.Event:
        """Downloads of this file wait until the returned event is set (a slow download)."""
        self.held_files[file_path] = threading.Event()
        return self.held_files[file_path]

    def fail(self, method: str, status: int, description: str, *, retry_after: int | None = None,
             times: int = 1, after: int = 0) -> None:
        """After `after` successful calls, the next `times` calls of `method` answer with this error."""
        self.failures.append({"method": method, "status": status, "description": description,
                              "retry_after": retry_after, "times": times, "after": after})

    def drop(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` get the connection closed without an answer."""
        self.failures.append({"method": method, "status": None, "times": times})

    def forget_confirmations(self, update_ids) -> None:
        """As if Telegram never saw the offsets that confirmed these updates: it sends them again."""
        with self._cond:
            again = [self.history[u] for u in update_ids if all(x["update_id"] != u for x in self.updates)]
            self.updates = sorted(again + self.updates, key=lambda u: u["update_id"])
            self._cond.notify_all()

    def calls_to(self, method: str) -> list[dict]:
        return [params for m, params, _ in list(self.calls) if m == method]

    # server side -------------------------------------------------------------------------

    def _answer(self, handler, status: int, payload: dict | bytes) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json" if not isinstance(payload, bytes)
                            else "application/octet-stream")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _http(self, handler, body: bytes) -> None:
        path = unquote(urlsplit(handler.path).path)
        file_prefix = f"/file/bot{self.token}/"
        if path.startswith(file_prefix):
            wanted = path[len(file_prefix):]
            for file_path, data in self.files.values():
                if file_path == wanted:
                    held = self.held_files.get(file_path)
                    if held is not None:
                        held.wait(timeout=30)
                    return self._answer(handler, 200, data)
            return self._answer(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return self._answer(handler, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = path[len(prefix):]
        params = _decoded(_parse_body(handler.headers.get("Content-Type", ""), body))
        params.update({k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()})
        self.calls.append((method, params, time.monotonic()))
        failure = next((f for f in self.failures if f["method"] == method and f["times"] > 0), None)
        if failure is not None and failure.get("after", 0) > 0:
            failure["after"] -= 1
            failure = None
        if failure is not None:
            failure["times"] -= 1
            if failure["status"] is None:
                handler.close_connection = True
                handler.connection.close()
                return None
            error = {"ok": False, "error_code": failure["status"], "description": failure["description"]}
            if failure.get("retry_after") is not None:
                error["parameters"] = {"retry_after": failure["retry_after"]}
            return self._answer(handler, failure["status"], error)
        if str(params.get("chat_id")) in self.blocked:
            return self._answer(handler, 403, {"ok": False, "error_code": 403,
                                               "description": "Forbidden: bot was blocked by the user"})
        try:
            result = getattr(self, f"_m_{method}")(params)
        except AttributeError:
            return self._answer(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        self._answer(handler, 200, {"ok": True, "result": result})

    def _m_getMe(self, p):
        return {"id": 4242, "is_bot": True, "first_name": "乡助", "username": "xiangzhu_test_bot"}

    def _m_getUpdates(self, p):
        offset = int(p["offset"]) if p.get("offset") not in (None, "") else None
        limit = int(p.get("limit") or 100)
        deadline = time.monotonic() + float(p.get("timeout") or 0)
        with self._cond:
            if offset is not None:  # confirms every update before it
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and not self._stopping and time.monotonic() < deadline:
                self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))
            return list(self.updates[:limit])

    def _m_deleteWebhook(self, p):
        self.webhook = None
        return True

    def _m_setWebhook(self, p):
        self.webhook = dict(p)
        return True

    def _m_answerCallbackQuery(self, p):
        return True

    def _sent(self, p, **extra):
        chat_id = int(p["chat_id"])
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"}, **extra}

    def _m_sendMessage(self, p):
        return self._sent(p, text=p.get("text", ""))

    def _m_sendPhoto(self, p):
        return self._sent(p, photo=[{"file_id": "sent-photo", "file_unique_id": "sp", "width": 1, "height": 1}])

    def _m_sendVoice(self, p):
        return self._sent(p, voice={"file_id": "sent-voice", "file_unique_id": "sv", "duration": 1})

    def _m_sendDocument(self, p):
        return self._sent(p, document={"file_id": "sent-doc", "file_unique_id": "sd"})

    def _m_sendLocation(self, p):
        return self._sent(p, location={"latitude": float(p["latitude"]), "longitude": float(p["longitude"])})

    def _m_getFile(self, p):
        file_path, data = self.files[p["file_id"]]
        return {"file_id": p["file_id"], "file_unique_id": "u" + p["file_id"], "file_size": len(data),
                "file_path": file_path}


# ── helpers for the tests ────────────────────────────────────────────────────────────────


class EchoHandler:
    """A dialogue stand-in: says what it was given, with two choices (or the text it is told to
    say). Records the turns."""

    def __init__(self, say: str | None = None):
        self.turns: list = []
        self.say = say

    async def handle(self, turn) -> None:
        self.turns.append(turn)
        if self.say is not None:
            turn.say(self.say, (Button("好的", "ok"),))
            return
        kinds = ",".join(a.kind for a in turn.attachments) or "-"
        turn.say(f"收到：{turn.text or '-'}｜按钮：{turn.payload or '-'}｜附件：{kinds}",
                 (Button("是", "yes"), Button("否", "no")))


def make_services(db, fake: FakeBotApi, tmp_path, *, handler=None, **settings) -> Services:
    values = dict(database_url=db.url, telegram_token=fake.token, telegram_base_url=fake.base_url,
                  media_dir=tmp_path / "media", data_dir=tmp_path / "data")
    values.update(settings)
    return Services(
        load_settings(**values), db, nlu=StandinNLU(), handler=handler or EchoHandler(), emergency_detector=None,
        sender_options={"poll_seconds": 0.02, "backoff_base": 0.01, "backoff_cap": 0.05},
    )
