"""The Rasa backend against Rasa's recorded /model/parse contract.

No Rasa server runs in the test suite: httpx.MockTransport stands in for it and answers with
a response body in the shape Rasa 3.6 returns (recorded below)."""
import json
import logging

import httpx

from nlu.rasa_backend import RasaNLU

# The body of POST /model/parse as Rasa 3.6 answers it (DIET + RegexEntityExtractor +
# EntitySynonymMapper), for {"text": "低保怎么申请"}.
RASA_RESPONSE = {
    "text": "低保怎么申请",
    "intent": {"name": "ask_policy", "confidence": 0.9876},
    "entities": [
        {
            "entity": "policy",
            "start": 0,
            "end": 2,
            "confidence_entity": 0.9734,
            "value": "dibao",
            "extractor": "DIETClassifier",
            "processors": ["EntitySynonymMapper"],
        }
    ],
    "text_tokens": [[0, 2], [2, 4], [4, 6]],
    "intent_ranking": [
        {"name": "ask_policy", "confidence": 0.9876},
        {"name": "check_status", "confidence": 0.0071},
    ],
    "response_selector": {"all_retrieval_intents": [], "default": {"response": {}, "ranking": []}},
}


def _recording_transport(calls, body=RASA_RESPONSE, status=200):
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path, json.loads(request.content)))
        return httpx.Response(status, json=body)

    return handler


def test_parse_posts_to_model_parse_and_keeps_the_shape(nlu):
    calls = []
    rasa = RasaNLU("http://rasa.test:5005", fallback=nlu, transport=httpx.MockTransport(_recording_transport(calls)))
    result = rasa.parse("低保怎么申请")
    assert calls == [("POST", "/model/parse", {"text": "低保怎么申请"})]
    assert result["intent"] == {"name": "ask_policy", "confidence": 0.9876}
    assert result["entities"][0] == {
        "entity": "policy", "value": "dibao", "start": 0, "end": 2, "confidence": 0.9734, "extractor": "DIETClassifier",
    }
    assert [r["name"] for r in result["intent_ranking"]] == ["ask_policy", "check_status"]


async def test_async_parse(nlu):
    calls = []
    transport = httpx.MockTransport(_recording_transport(calls))
    rasa = RasaNLU("http://rasa.test:5005", fallback=nlu, async_transport=transport)
    result = await rasa.aparse("低保怎么申请")
    await rasa.aclose()
    assert result["intent"]["name"] == "ask_policy"
    assert calls[0][1] == "/model/parse"


def test_server_error_falls_back_with_a_warning(nlu, caplog):
    rasa = RasaNLU("http://rasa.test:5005", fallback=nlu, transport=httpx.MockTransport(_recording_transport([], {}, 500)))
    with caplog.at_level(logging.WARNING, logger="nlu.rasa_backend"):
        result = rasa.parse("取消报名")
    assert result == nlu.parse("取消报名")
    assert "using the built-in NLU" in caplog.text


def test_timeout_falls_back(nlu):
    def handler(request):
        raise httpx.ReadTimeout("timed out", request=request)

    rasa = RasaNLU("http://rasa.test:5005", fallback=nlu, transport=httpx.MockTransport(handler))
    assert rasa.parse("转人工")["intent"]["name"] == "request_human"


def test_malformed_answer_falls_back(nlu):
    rasa = RasaNLU("http://rasa.test:5005", fallback=nlu, transport=httpx.MockTransport(_recording_transport([], {"oops": 1})))
    assert rasa.parse("转人工")["intent"]["name"] == "request_human"


def test_emergency_detector_overrides_rasa(nlu):
    body = dict(RASA_RESPONSE, text="我不想活了", intent={"name": "report_need", "confidence": 0.6}, entities=[])
    rasa = RasaNLU("http://rasa.test:5005", fallback=nlu, transport=httpx.MockTransport(_recording_transport([], body)))
    result = rasa.parse("我不想活了")
    assert result["intent"]["name"] == "emergency"
    assert result["intent_ranking"][0]["name"] == "emergency"


def _rasa_answering(nlu, text, intent, ranking):
    body = dict(RASA_RESPONSE, text=text, intent={"name": intent, "confidence": 0.7}, entities=[],
                intent_ranking=[{"name": n, "confidence": c} for n, c in ranking])
    return RasaNLU("http://rasa.test:5005", fallback=nlu, transport=httpx.MockTransport(_recording_transport([], body)))


def test_a_loose_leaving_from_rasa_asks_which_one(nlu):
    rasa = _rasa_answering(nlu, "我不想弄了", "stop", [("stop", 0.7), ("goodbye", 0.2)])
    result = rasa.parse("我不想弄了")
    assert result["intent"]["name"] == "leave_unclear"
    assert [r["name"] for r in result["intent_ranking"][:2]] == ["leave_unclear", "stop"]


def test_a_clear_leaving_from_rasa_keeps_its_intent(nlu):
    rasa = _rasa_answering(nlu, "别给我发消息了", "stop", [("stop", 0.9)])
    assert rasa.parse("别给我发消息了")["intent"]["name"] == "stop"
    rasa = _rasa_answering(nlu, "明天的课我不去了", "cancel_signup", [("cancel_signup", 0.9), ("stop", 0.05)])
    assert rasa.parse("明天的课我不去了")["intent"]["name"] == "cancel_signup"
