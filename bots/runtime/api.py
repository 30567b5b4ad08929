"""REST client for the Parley API, the Python twin of frontend/js/api.js: JSON in and out,
every failure an ApiError carrying the server's code, and the page's retry rule for
requests that are safe to send again (a ticket with its idempotency key)."""

import asyncio
import json
import logging
import uuid
from urllib.parse import quote

import aiohttp

log = logging.getLogger("parley.bot")
TIMEOUT = 20  # a request that hangs must not block what waits on it
RETRIES = 4  # the page sends a ticket at most 5 times in all
RETRYABLE = ("rate_limited", "network_error", "internal_error", "try_again")


class ApiError(Exception):
    """An answer that is not a success: `status` 0 for a network error."""

    def __init__(self, status: int, code: str, message: str = "", retry_after: float = 0):
        super().__init__(f"{status} {code}: {message}" if message else f"{status} {code}")
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE or self.status == 429 or self.status >= 500


def _seconds(header: str | None) -> float:
    try:
        return max(0.0, float(header or 0))
    except ValueError:  # an HTTP date: wait the default
        return 0.0


def new_key() -> str:
    """An idempotency key: the server stores a ticket once however often it is sent."""
    return uuid.uuid4().hex


class Api:
    def __init__(self, base: str, token: str | None = None):
        self.base = base.rstrip("/")
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, method: str, path: str, body=None, *, auth: bool = True) -> dict:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            data = None if body is None else json.dumps(body)
            async with self._http().request(method, self.base + path, data=data,
                                            headers=headers) as res:
                status, text = res.status, await res.text()
                retry_after = _seconds(res.headers.get("Retry-After"))
        except (TimeoutError, aiohttp.ClientError) as err:
            raise ApiError(0, "network_error", str(err) or type(err).__name__) from None
        try:
            data = json.loads(text) if text else {}
        except ValueError:  # a gateway's HTML error page
            data = {}
        if not isinstance(data, dict):
            data = {}
        if status < 400:
            return data
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        raise ApiError(status, error.get("code") or f"http_{status}", error.get("message", ""),
                       retry_after)

    async def retrying(self, method: str, path: str, body=None, *, tries: int = RETRIES + 1,
                       stop=None) -> dict:
        """`call`, sent again after a network error, 429 or 5xx (waiting Retry-After, else
        1 s) up to `tries` times; only for requests that are safe to repeat. `stop()` true
        ends the retries early (the bot is leaving)."""
        for attempt in range(tries):
            try:
                return await self.call(method, path, body)
            except ApiError as err:
                if not err.retryable or attempt == tries - 1 or (stop and stop()):
                    raise
                log.info("%s %s: %s, sending again", method, path, err.code)
                await asyncio.sleep(err.retry_after or 1)
        raise AssertionError("unreachable")

    # The routes a bot uses, as the page names them.
    @staticmethod
    def meeting_path(mid: str) -> str:
        return "/meetings/" + quote(mid, safe="")

    async def join(self, mid: str, name: str, bot_token: str | None = None) -> dict:
        """The join response; with a bot invite the server makes us a participant of role
        bot (no seat, no lobby, no passcode). Sent again on network errors, 429 and 5xx:
        a join that failed on the way has taken no seat a retry could miss."""
        body = {"name": name, "botToken": bot_token} if bot_token else {"name": name}
        return await self.retrying("POST", self.meeting_path(mid) + "/join", body)

    async def post_ticket(self, mid: str, to: str, kind: str, data, key: str | None = None,
                          stop=None) -> dict:
        body = {"to": to, "kind": kind, "data": data, "key": key or new_key()}
        return await self.retrying("POST", self.meeting_path(mid) + "/tickets", body, stop=stop)

    async def tickets(self, mid: str, after: str | None) -> list[dict]:
        query = f"?after={after}" if after else ""
        return (await self.call("GET", self.meeting_path(mid) + "/tickets" + query))["tickets"]

    async def participants(self, mid: str) -> list[dict]:
        return (await self.call("GET", self.meeting_path(mid) + "/participants"))["participants"]

    async def leave(self, mid: str) -> None:
        await self.call("DELETE", self.meeting_path(mid) + "/participants/me")
