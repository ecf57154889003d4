"""The WeChat API through wechatpy (blocking calls run in threads), with the access_token kept
in the database and shared by every process."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.channel_store import StoredToken
from bot.errors import BotError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services

__all__ = ["AccessTokens", "WeChatApi", "WeChatApiError", "XiangzhuWeChatClient"]

log = logging.getLogger("xiangzhu.wechat")

TOKEN_ERRORS = {40001, 40014, 42001}  # invalid credential, invalid token, expired token


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


def api_error(exc: WeChatClientException) -> WeChatApiError:
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
        stored = await self.services.channel_store.access_token(now)
        if stored is None or stored.expires_at - now < timedelta(minutes=1):
            return await self.refresh(stale=stored.token if stored else None)
        self._remember(stored, now)
        return stored.token

    def _remember(self, stored: StoredToken, now: datetime) -> None:
        ttl = min(self.cache_seconds, (stored.expires_at - now).total_seconds() - 60)
        self._cached = (stored.token, time.monotonic() + max(0.0, ttl))

    async def refresh(self, *, stale: str | None = None, margin: timedelta = timedelta(minutes=1)) -> str:
        """Fetch a new token unless the stored one is not `stale` and lives longer than
        `margin` (another process refreshed meanwhile). Returns the token to use."""
        async with self._lock:
            self._cached = None

            async def fetch() -> tuple[str, timedelta]:
                result = await self._fetch()
                return result["access_token"], timedelta(seconds=int(result.get("expires_in") or 7200))

            stored, fetched = await self.services.channel_store.refresh_access_token(
                keep=lambda stored, now: self._still_good(stored, stale, margin, now), fetch=fetch,
                clock=self.services.clock)
            if fetched:
                log.info("wechat: new access_token stored, valid until %s", stored.expires_at.isoformat())
            self._remember(stored, self.services.clock())
            return stored.token

    @staticmethod
    def _still_good(stored, stale, margin, now) -> bool:
        return stored is not None and stored.token != stale and stored.expires_at - now > margin

    async def _fetch(self) -> dict:
        try:
            return await asyncio.to_thread(self.client.fetch_access_token)
        except WeChatClientException as exc:
            raise api_error(exc) from exc


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
            error = api_error(exc)
            if error.errcode not in TOKEN_ERRORS:
                raise error from exc
            log.info("wechat: access_token refused (%s); refreshing once", error.errcode)
        token = await self.tokens.refresh(stale=token)
        try:
            return await asyncio.to_thread(self.client.call_with_token, token, fn)
        except WeChatClientException as exc:
            raise api_error(exc) from exc

    async def send_text(self, openid: str, text: str) -> dict:
        return await self.call(lambda c: c.message.send_text(openid, text))

    async def send_template(self, openid: str, template_id: str, data: dict) -> dict:
        return await self.call(lambda c: c.message.send_template(openid, template_id, data))

    async def upload_media(self, media_type: str, filename: str, data: bytes, mime: str) -> str:
        """A temporary media file (image, voice, video; kept 3 days by WeChat): its media_id."""
        res = await self.call(lambda c: c.media.upload(media_type, (filename, data, mime or "application/octet-stream")))
        media_id = (res or {}).get("media_id") if isinstance(res, dict) else None
        if not media_id:
            raise WeChatApiError(None, f"media/upload answered no media_id: {str(res)[:200]}")
        return media_id

    async def send_media(self, openid: str, media_type: str, media_id: str) -> dict:
        """A customer-service image, voice or video message."""
        if media_type == "image":
            return await self.call(lambda c: c.message.send_image(openid, media_id))
        if media_type == "voice":
            return await self.call(lambda c: c.message.send_voice(openid, media_id))
        return await self.call(lambda c: c.message.send_video(openid, media_id))

    async def create_menu(self, menu: dict) -> dict:
        return await self.call(lambda c: c.menu.create(menu))

    async def download_media(self, media_id: str) -> tuple[bytes, str]:
        """The bytes and MIME type of a temporary media file (valid 3 days at WeChat)."""
        res = await self.call(lambda c: c.media.download(media_id))
        if not isinstance(res, requests.Response):
            raise WeChatApiError(None, f"media/get answered JSON, not a file: {str(res)[:200]}")
        return res.content, res.headers.get("Content-Type", "")
