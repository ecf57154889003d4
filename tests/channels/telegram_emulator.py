"""The npm `telegram-test-api` Bot API emulator (installed by `make peers` into
tests/peers/node_modules), started on a free loopback port through tests/peers/telegram_emulator.js,
which bridges its gaps with python-telegram-bot 22 (see that script). The bot is pointed at it
with XIANGZHU_TELEGRAM_BASE_URL and knows nothing of it.

`EmulatorUser` is a Telegram user on the emulator's client API: it sends texts and commands,
presses inline buttons and reads what the bot sent to its chat.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx

from tests.support import free_port

PEERS = Path(__file__).resolve().parents[1] / "peers"
SCRIPT = PEERS / "telegram_emulator.js"
PACKAGE = PEERS / "node_modules" / "telegram-test-api"
TOKEN = "424242:EMULATOR_token-for-tests"


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the emulator did not listen on port {port} within {timeout}s")


class Emulator:
    def __init__(self, log_path: Path):
        node = shutil.which("node")
        if node is None or not PACKAGE.exists():
            raise RuntimeError("node or telegram-test-api missing: run `make peers`")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_base = f"{self.url}/bot"  # → XIANGZHU_TELEGRAM_BASE_URL
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([node, str(SCRIPT), str(self.port), "127.0.0.1"], cwd=PEERS,
                                     stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ})
        wait_for_port(self.port, self.proc)

    def calls(self, method: str) -> list[dict]:
        """The Bot API calls the bot made (recorded by the bridge script)."""
        result = httpx.get(f"{self.url}/_bridge/calls", timeout=5).json()["result"]
        return [c["params"] for c in result if c["method"] == method]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def run_cli(env: dict, *args: str, cwd: Path) -> str:
    """`xiangzhu ARGS` in a subprocess (the installed CLI's module); its stdout, or the test fails."""
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@contextmanager
def serve_against(emulator: "Emulator", home: Path, demo_databases, start_timeout: float = 180.0):
    """`xiangzhu serve` in a subprocess on a copy of the session's demo SQLite database
    (tests/support.DemoDatabases) under `home`, its Telegram channel pointed at the emulator.
    Yields a namespace: db_file, env, home, port, log."""
    db_file = home / "xiangzhu.db"
    port = free_port()
    env = {**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
           "XIANGZHU_DATA_DIR": str(home / "data"), "XIANGZHU_MEDIA_DIR": str(home / "media"),
           "XIANGZHU_TELEGRAM_TOKEN": TOKEN, "XIANGZHU_TELEGRAM_BASE_URL": emulator.api_base,
           "XIANGZHU_OUTBOX_POLL_SECONDS": "0.05"}
    env.pop("XIANGZHU_TELEGRAM_WEBHOOK_URL", None)
    demo_databases.copy_to(db_file)
    log_path = home / "serve.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("xiangzhu serve did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.1)  # polling interval of the wait above
        yield SimpleNamespace(db_file=db_file, env=env, home=home, port=port, log=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class EmulatorUser:
    def __init__(self, emulator: Emulator, chat_id: int, name: str = "李秀英", token: str = TOKEN):
        self.emulator = emulator
        self.chat_id = chat_id
        self.name = name
        self.token = token
        self.received: list[dict] = []  # the bot's messages to this chat, oldest first

    def _who(self) -> dict:
        return {
            "botToken": self.token,
            "date": int(time.time()),
            "from": {"id": self.chat_id, "is_bot": False, "first_name": self.name, "language_code": "zh-hans"},
            "chat": {"id": self.chat_id, "type": "private", "first_name": self.name},
        }

    def _post(self, path: str, body: dict) -> None:
        resp = httpx.post(f"{self.emulator.url}{path}", json=body, timeout=5)
        resp.raise_for_status()

    def say(self, text: str) -> None:
        self._post("/sendMessage", {**self._who(), "text": text})

    def command(self, text: str) -> None:
        entity = {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        self._post("/sendCommand", {**self._who(), "text": text, "entities": [entity]})

    def press(self, message: dict, title: str) -> str:
        """Press the inline button `title` on a message the bot sent; returns its callback data."""
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        data = next((b["callback_data"] for row in rows for b in row if b["text"] == title), None)
        if data is None:
            raise AssertionError(f"no button {title!r} on {message.get('text')!r}")
        who = self._who()
        self._post("/sendCallback", {
            "botToken": self.token, "data": data, "from": who["from"],
            # as Telegram does, the pressed message comes with its keyboard
            "message": {"message_id": message["message_id"], "date": who["date"], "chat": who["chat"],
                        "text": message.get("text", ""), "reply_markup": message.get("reply_markup")},
        })
        return data

    def _fetch(self) -> None:
        resp = httpx.post(f"{self.emulator.url}/getUpdates", json={"token": self.token, "chatId": self.chat_id},
                          timeout=5)
        for item in resp.json()["result"]:
            self.received.append({**item["message"], "message_id": item["messageId"]})

    def wait_for(self, predicate, timeout: float = 30.0) -> dict:
        """The first message not yet looked at for which predicate(message) is true; earlier
        ones are passed over. Polls the emulator until the deadline."""
        deadline = time.monotonic() + timeout
        start = getattr(self, "_cursor", 0)
        while True:
            self._fetch()
            for i in range(start, len(self.received)):
                if predicate(self.received[i]):
                    self._cursor = i + 1
                    return self.received[i]
            if time.monotonic() > deadline:
                texts = [m.get("text", "")[:60] for m in self.received[start:]]
                raise AssertionError(f"no matching message for chat {self.chat_id} within {timeout}s; got {texts}")
            time.sleep(0.1)

    def wait_text(self, fragment: str, timeout: float = 30.0) -> dict:
        return self.wait_for(lambda m: fragment in (m.get("text") or ""), timeout)
