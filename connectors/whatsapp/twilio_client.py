"""The one Twilio client of the channel: async sends with retries, backoff and jitter.

twilio 8.2.2's async path (`AsyncTwilioHttpClient` + `messages.create_async`) never blocks the event
loop. Its Messages API base URL is the plain attribute `client.api.base_url` (see the Twilio sandbox's
docstring), set from `twilio_api_base_url`, so tests and the demo talk to the sandbox unchanged; the
Content API (`client.content.base_url`, content.twilio.com) follows it to the same host whenever it is
not Twilio's own, since the sandbox serves both. twilio-python 8.2.2 generates no Content create, so
`create_content` posts the JSON through the Content domain's `Version.create_async`, as its generated
creates do (same auth, same `TwilioRestException`s).

Retried: HTTP 429 and 5xx, network errors and timeouts. Not retried: other 4xx (a bad number or an
opted-out WhatsApp user stays bad). A timeout after Twilio accepted can duplicate a message; we accept
that over losing one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, cast

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from rasa_project.backoff import backoff_delay
from rasa_project.phones import WHATSAPP_PREFIX, normalize_e164
from rasa_project.settings import TWILIO_DEFAULT_API_BASE_URL, Settings

logger = logging.getLogger(__name__)
# twilio's HTTP client logs every request and response at INFO, the client's number and message text
# included (PII in the log, and CPU on every send): its own logger here, warnings only
http_logger = logging.getLogger(f"{__name__}.http")
http_logger.setLevel(logging.WARNING)


# How far back (and how many of the recipient's messages) a lookup of an interrupted send goes.
LOOKUP_CLOCK_SKEW = timedelta(minutes=2)
LOOKUP_LIMIT = 50


@dataclass(frozen=True)
class SentMessage:
    sid: str
    status: str


@dataclass(frozen=True)
class SendResult:
    ok: bool
    attempts: int
    sid: Optional[str] = None
    status: Optional[str] = None
    error_code: Optional[int] = None
    error_message: Optional[str] = None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, TwilioRestException):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError))


def _describe(exc: BaseException) -> Tuple[Optional[int], str]:
    if isinstance(exc, TwilioRestException):
        return (exc.code or exc.status), f"HTTP {exc.status}: {exc.msg}"
    return None, f"{type(exc).__name__}: {exc}"


class TwilioClient:
    """Owns the Twilio client and its aiohttp session; create and close it inside the event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        http_client = AsyncTwilioHttpClient(pool_connections=False, logger=http_logger)
        http_client.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.twilio_timeout_seconds))
        self._http_client = http_client
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)
        self.client.api.base_url = settings.twilio_api_base_url.rstrip("/")
        if self.client.api.base_url != TWILIO_DEFAULT_API_BASE_URL:
            self.client.content.base_url = self.client.api.base_url

    async def close(self) -> None:
        await self._http_client.close()

    def _params(self, to: str, body: Optional[str], media_url: Optional[str],
                status_callback: Optional[str], content_sid: Optional[str] = None,
                content_variables: Optional[str] = None) -> Dict[str, Any]:
        params: Dict[str, Any] = {"to": to}
        if not to.startswith(WHATSAPP_PREFIX):  # SMS: always our SMS number (a Messaging Service is for WhatsApp)
            params["from_"] = normalize_e164(self.settings.twilio_sms_number)
        elif self.settings.twilio_messaging_service_sid:
            params["messaging_service_sid"] = self.settings.twilio_messaging_service_sid
        else:
            params["from_"] = self.settings.twilio_sender
        if content_sid:  # the Content renders the body from the variables; a Body beside it is ignored
            params["content_sid"] = content_sid
            if content_variables:
                params["content_variables"] = content_variables
        elif body:
            params["body"] = body
        if media_url:
            params["media_url"] = [media_url]
        if status_callback:
            params["status_callback"] = status_callback
        return params

    async def send(
        self,
        to: str,
        body: Optional[str],
        media_url: Optional[str] = None,
        status_callback: Optional[str] = None,
        on_attempt: Optional[Callable[[int, Optional[int], str], Awaitable[None]]] = None,
        content_sid: Optional[str] = None,
        content_variables: Optional[str] = None,
    ) -> SendResult:
        """Send until Twilio accepts, a non-retryable error, or `outbound_max_attempts` is reached.

        With `content_sid`, the message is that Content filled with `content_variables` (JSON), not `body`.
        """
        params = self._params(to, body, media_url, status_callback, content_sid, content_variables)
        s = self.settings
        max_attempts = max(1, s.outbound_max_attempts)
        for attempt in range(1, max_attempts + 1):
            try:
                message = await self.client.messages.create_async(**params)
            except (TwilioRestException, aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
                code, text = _describe(exc)
                if not _retryable(exc) or attempt == max_attempts:
                    logger.error("Twilio send to %s failed after %d attempt(s): %s", to, attempt, text)
                    return SendResult(False, attempt, error_code=code, error_message=text)
                delay = backoff_delay(attempt, s.outbound_backoff_base_seconds, s.outbound_backoff_max_seconds)
                logger.warning("Twilio send to %s attempt %d failed (%s); retrying in %.2fs",
                               to, attempt, text, delay)
                if on_attempt is not None:
                    await on_attempt(attempt, code, text)
                await asyncio.sleep(delay)
            else:
                return SendResult(True, attempt, sid=message.sid, status=str(message.status or "queued"))
        raise AssertionError("unreachable")  # the loop always returns

    async def create_content(self, definition: Dict[str, Any]) -> str:
        """`POST /v1/Content` with the same retries as a send; the new Content's SID (HX...).

        Raises the last error when Twilio refuses it or every attempt failed; the caller falls back.
        """
        s = self.settings
        max_attempts = max(1, s.outbound_max_attempts)
        for attempt in range(1, max_attempts + 1):
            try:
                created = await self.client.content.v1.create_async(
                    method="POST", uri="/Content", data=cast(Any, json.dumps(definition, ensure_ascii=False)),
                    headers={"Content-Type": "application/json"})
                return str(created["sid"])
            except (TwilioRestException, aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
                if not _retryable(exc) or attempt == max_attempts:
                    raise
                delay = backoff_delay(attempt, s.outbound_backoff_base_seconds, s.outbound_backoff_max_seconds)
                logger.warning("Twilio Content create attempt %d failed (%s); retrying in %.2fs",
                               attempt, _describe(exc)[1], delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def find_sent(self, to: str, body: Optional[str], media_url: Optional[str],
                        since: datetime) -> List[SentMessage]:
        """Messages Twilio accepted for `to` with this body since `since` (naive UTC), oldest first.

        For a send a crash interrupted: the Messages list (`GET .../Messages.json?To=...`, newest first)
        tells whether Twilio took it. Raises what the client raises; the caller decides.
        """
        params: Dict[str, Any] = {"to": to, "limit": LOOKUP_LIMIT, "page_size": LOOKUP_LIMIT}
        if not to.startswith(WHATSAPP_PREFIX):
            params["from_"] = normalize_e164(self.settings.twilio_sms_number)
        elif not self.settings.twilio_messaging_service_sid:
            params["from_"] = self.settings.twilio_sender
        earliest = since.replace(tzinfo=timezone.utc) - LOOKUP_CLOCK_SKEW
        found = []
        for message in await self.client.messages.list_async(**params):
            created = message.date_created
            if isinstance(created, datetime) and created.tzinfo is None:
                created = created.replace(tzinfo=timezone.utc)
            if isinstance(created, datetime) and created < earliest:
                continue
            if (message.body or "") != (body or "") or int(message.num_media or 0) != (1 if media_url else 0):
                continue
            found.append(SentMessage(str(message.sid), str(message.status or "queued")))
        return list(reversed(found))

