"""Status progression and signed status callbacks, as Twilio sends them.

Each accepted message walks queued → sent → delivered (or queued → failed, queued → sent → undelivered
when a delivery rule, the WhatsApp window or its content says so) in one task, so its callbacks arrive
in order. As on Twilio, the status a message is created with gets no callback (the create response
carries it): created `queued` (sent from a number), its callbacks are sent → delivered; created
`accepted` (through a Messaging Service), they are queued → sent → delivered
(https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks).
Each callback is a form-encoded POST signed with `X-Twilio-Signature` by twilio's own `RequestValidator`
over the exact callback URL and params, so a receiver validates it exactly as it would a real one.
A receiver that is down or slow is logged and counted, never fatal to the sandbox.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, List, Sequence, Set

import aiohttp
from twilio.request_validator import RequestValidator

from rasa_project.sandboxes.twilio_api.store import API_VERSION, Message, SandboxStore

logger = logging.getLogger(__name__)

CALLBACK_TIMEOUT_SECONDS = 5.0


def status_path(final_status: str) -> List[str]:
    """The statuses a message passes through from `queued`, ending in `final_status` (a message created
    `queued` is called back for the rest: `StatusReporter.callback_statuses`)."""
    if final_status == "failed":
        return ["queued", "failed"]
    if final_status == "undelivered":
        return ["queued", "sent", "undelivered"]
    if final_status == "read":
        return ["queued", "sent", "delivered", "read"]
    return ["queued", "sent", "delivered"]


def callback_params(message: Message) -> Dict[str, str]:
    """The fields Twilio posts to a StatusCallback for a WhatsApp message."""
    params = {
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "MessageStatus": message.status,
        "SmsStatus": message.status,
        "AccountSid": message.account_sid,
        "From": message.from_ or "",
        "To": message.to,
        "ApiVersion": API_VERSION,
    }
    if message.to.startswith("whatsapp:"):
        params["ChannelPrefix"] = "whatsapp"
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.status in ("failed", "undelivered") and message.error_code is not None:
        params["ErrorCode"] = str(message.error_code)
        params["ErrorMessage"] = message.error_message or ""
    return params


class StatusReporter:
    """Runs one progression task per message and owns the HTTP session used for callbacks."""

    def __init__(self, store: SandboxStore, auth_token: str, delays: Sequence[float]) -> None:
        self._store = store
        self._validator = RequestValidator(auth_token)
        self._delays = list(delays) or [0.0]
        self._tasks: Set[asyncio.Task] = set()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALLBACK_TIMEOUT_SECONDS))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def track(self, message: Message) -> None:
        task = asyncio.get_running_loop().create_task(self._progress(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _delay(self, step: int) -> float:
        return self._delays[min(step, len(self._delays) - 1)]

    def callback_statuses(self, message: Message) -> List[str]:
        """The status changes `message` reports, in order: its path without the status it was created with."""
        return [status for status in status_path(message.final_status) if status != message.status]

    async def _progress(self, message: Message) -> None:
        for step, status in enumerate(self.callback_statuses(message)):
            await asyncio.sleep(self._delay(step))
            message.set_status(status, self._store.clock.rfc2822())
            if message.status_callback:
                await self._post(message.status_callback, callback_params(message))

    async def _post(self, url: str, params: Dict[str, str]) -> None:
        headers = {
            "X-Twilio-Signature": self._validator.compute_signature(url, params),
            "User-Agent": "TwilioProxy/1.1",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "*/*",
        }
        assert self._session is not None, "StatusReporter.start() was not awaited"
        try:
            async with self._session.post(url, data=params, headers=headers) as response:
                await response.read()
                if response.status >= 400:
                    self._store.stats["callback_failures"] += 1
                    logger.warning("status callback %s got HTTP %s for %s (%s)", url, response.status,
                                   params["MessageSid"], params["MessageStatus"])
                    return
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self._store.stats["callback_failures"] += 1
            logger.warning("status callback %s failed for %s (%s): %s: %s", url, params["MessageSid"],
                           params["MessageStatus"], type(exc).__name__, exc)
            return
        self._store.stats["callbacks_sent"] += 1
