"""Hostile or broken callbacks to /webhooks/wechat are refused before anything is stored,
handled or answered: wrong signatures, malformed XML, entity expansion (billion laughs),
external entities (XXE), oversized bodies. Real ASGI app; SQLite and PostgreSQL."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parent))  # wechat_fake, whether or not tests/channels is a package
from wechat_fake import AES_KEY, EchoHandler, FakeWeChatApi, WeChatPeer, make_services, message_xml, running  # noqa: E402

from storage.models import Message, OutboxMessage

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[oEvil]]></FromUserName>
<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[oEvil]]></FromUserName>
<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>&secret;</Content><MsgId>2</MsgId></xml>"""


@pytest.fixture
def fake():
    api = FakeWeChatApi().start()
    yield api
    api.stop()


async def nothing_happened(services, handler, fake) -> None:
    assert handler.turns == []
    async with services.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Message))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == 0
    assert fake.calls == []


def signed(peer: WeChatPeer, body: str | bytes) -> tuple[dict, bytes]:
    params, _ = peer.build(peer.text("oEvil", "x"))
    return params, body.encode("utf-8") if isinstance(body, str) else body


async def test_hostile_plaintext_bodies_are_refused_without_a_reply(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services) as client:
        peer = WeChatPeer(client)
        cases = {
            "malformed": "<xml><FromUserName>oEvil</FromUserName><MsgType>text",
            "not xml": "hello",
            "wrong root": "<message><MsgType>text</MsgType></message>",
            "no MsgType": message_xml({"ToUserName": "gh", "FromUserName": "oEvil", "CreateTime": 1}),
            "billion laughs": BILLION_LAUGHS,
            "xxe": XXE,
        }
        for name, body in cases.items():
            resp = await peer.post(built=signed(peer, body))
            assert resp.status_code == 400, name
            assert "lol" not in resp.text and "root:" not in resp.text and "<xml" not in resp.text, name
        big = ("<xml><Content><![CDATA[" + "啊" * 400_000 + "]]></Content></xml>").encode("utf-8")  # ~1.2 MB
        resp = await peer.post(built=signed(peer, big))
        assert resp.status_code == 413
        # the same oversized body without a Content-Length header (chunked) is cut off too
        params, _ = signed(peer, b"")

        async def chunks():
            for i in range(0, len(big), 16384):
                yield big[i:i + 16384]

        resp = await client.post("/webhooks/wechat", params=params, content=chunks())
        assert resp.status_code == 413
        await nothing_happened(services, handler, fake)


async def test_wrong_signatures_are_403(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services) as client:
        peer = WeChatPeer(client)
        params, body = peer.build(peer.text("oUser", "你好"))
        for bad in ({**params, "signature": "f" * 40}, {k: v for k, v in params.items() if k != "signature"},
                    {**params, "timestamp": str(int(params["timestamp"]) + 1)}):
            resp = await peer.post(built=(bad, body))
            assert resp.status_code == 403
        impostor = WeChatPeer(client, token="not-our-token")
        assert (await impostor.post(impostor.text("oUser", "你好"))).status_code == 403
        await nothing_happened(services, handler, fake)


async def test_safe_mode_checks_msg_signature_and_refuses_plaintext(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler, wechat_aes_key=AES_KEY)
    async with running(services) as client:
        peer = WeChatPeer(client, mode="safe")
        params, body = peer.build(peer.text("oUser", "你好"))
        resp = await peer.post(built=({**params, "msg_signature": "0" * 40}, body))
        assert resp.status_code == 403
        other_key = WeChatPeer(client, mode="safe", aes_key="A" * 43)  # right token, wrong AES key
        assert (await other_key.post(other_key.text("oUser", "你好"))).status_code == 400
        plain = WeChatPeer(client, mode="plain")
        assert (await plain.post(plain.text("oUser", "你好"))).status_code == 403
        # entity tricks inside the encrypted payload are refused as well
        sealed = peer.crypto.encrypt_message(XXE, params["nonce"], params["timestamp"])
        import xmltodict

        enc = xmltodict.parse(sealed)["xml"]
        resp = await peer.post(built=({**params, "msg_signature": enc["MsgSignature"]},
                                      message_xml({"ToUserName": "gh", "Encrypt": enc["Encrypt"]}).encode()))
        assert resp.status_code == 400
        await nothing_happened(services, handler, fake)
        # and a proper encrypted message still works afterwards
        assert peer.reply_of(await peer.post(peer.text("oUser", "你好")))["Content"].startswith("收到：你好")
