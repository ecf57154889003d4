"""A Rasa server as the NLU (``XIANGZHU_NLU=rasa``, ``XIANGZHU_RASA_URL``).

``POST {url}/model/parse`` with ``{"text": ...}``; Rasa's answer already has the ParseResult
shape. Timeouts, connection errors, HTTP errors and malformed answers fall back to the
built-in NLU with a logged warning. The emergency detector runs on every message either way:
when it fires, the intent is ``emergency`` whatever Rasa said (recall first). A leaving
intent said loosely becomes ``leave_unclear`` as with the built-in NLU (``nlu/leaving.py``), so
the bot asks which of the three is meant.
"""
from __future__ import annotations

import logging
from datetime import datetime

import httpx

from nlu.errors import NluError
from nlu.emergency import detect
from nlu.leaving import mark_unclear
from nlu.normalize import normalize

__all__ = ["RasaNLU"]

log = logging.getLogger(__name__)


class RasaUnavailable(NluError):
    """The Rasa server could not give a usable parse."""


class RasaNLU:
    def __init__(
        self,
        url: str,
        fallback,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.url = url.rstrip("/")
        self.fallback = fallback
        self._client = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self._async_client = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=async_transport)

    def set_gazetteer(self, activities, villages) -> None:
        self.fallback.set_gazetteer(activities, villages)

    def parse(self, text: str, now: datetime | None = None) -> dict:
        try:
            response = self._client.post("/model/parse", json={"text": text})
            return self._result(text, response)
        except (httpx.HTTPError, RasaUnavailable, ValueError) as exc:
            log.warning("Rasa NLU at %s failed (%s); using the built-in NLU", self.url, exc)
            return self.fallback.parse(text, now=now)

    async def aparse(self, text: str, now: datetime | None = None) -> dict:
        try:
            response = await self._async_client.post("/model/parse", json={"text": text})
            return self._result(text, response)
        except (httpx.HTTPError, RasaUnavailable, ValueError) as exc:
            log.warning("Rasa NLU at %s failed (%s); using the built-in NLU", self.url, exc)
            return self.fallback.parse(text, now=now)

    def close(self) -> None:
        self._client.close()

    async def aclose(self) -> None:
        await self._async_client.aclose()

    @staticmethod
    def _result(text: str, response: httpx.Response) -> dict:
        response.raise_for_status()
        body = response.json()
        intent = body.get("intent") if isinstance(body, dict) else None
        if not isinstance(intent, dict) or "name" not in intent:
            raise RasaUnavailable(f"answer without an intent: {str(body)[:200]}")
        result = {
            "text": text,
            "intent": {"name": intent.get("name") or "nlu_fallback", "confidence": float(intent.get("confidence") or 0.0)},
            "entities": [
                {
                    "entity": e.get("entity"),
                    "value": e.get("value"),
                    "start": e.get("start"),
                    "end": e.get("end"),
                    "confidence": e.get("confidence_entity", e.get("confidence", 1.0)),
                    "extractor": e.get("extractor", "rasa"),
                }
                for e in body.get("entities", []) or []
            ],
            "intent_ranking": [
                {"name": r.get("name"), "confidence": float(r.get("confidence") or 0.0)}
                for r in body.get("intent_ranking", []) or []
            ],
        }
        alarm = detect(text)
        if alarm.is_emergency and result["intent"]["name"] != "emergency":
            result["intent"] = {"name": "emergency", "confidence": alarm.score}
            result["intent_ranking"].insert(0, dict(result["intent"]))
        return mark_unclear(result, normalize(text))
