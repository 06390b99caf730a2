"""Outbound sending: one message at a time per recipient, each recorded, none silently dropped.

The stock connector fires sends without waiting, so a turn's messages reach WhatsApp out of order
(rasa#11680). Here a per-recipient lock makes every send wait for Twilio's acceptance of the previous
one; each message gets a `whatsapp_outbound` row before the first attempt and ends `queued`/`accepted`
(then moved by status callbacks), `failed` (counted, logged) or `suppressed` (recipient opted out).
A reply of a retried turn that an earlier attempt already sent is skipped (`retried_turn.py`).
A message with buttons goes by Content SID (`content`); its row records the text the client reads, and
when Twilio no longer knows the SID (21655) the cached SID is forgotten and the numbered text goes
instead, so the message is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Dict, Optional

from connectors.whatsapp.content_store import ContentTemplates
from connectors.whatsapp.outbound_store import OutboundStore
from connectors.whatsapp.retried_turn import RetriedTurn
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.twilio_client import TwilioClient
from rasa_project.metrics import OUTBOUND_SENDS
from rasa_project.phones import normalize_e164, whatsapp_address

logger = logging.getLogger(__name__)

UNKNOWN_CONTENT = 21655  # Twilio: "The ContentSid is Invalid" (never created, or deleted since)


@dataclass(frozen=True)
class ContentMessage:
    """A send by Content SID; `fallback` is the numbered text sent if Twilio does not know the SID."""

    sid: str
    variables: str
    fallback: str


class OutboundSender:
    def __init__(self, twilio: TwilioClient, outbound: OutboundStore, senders: SenderStore,
                 contents: Optional[ContentTemplates] = None) -> None:
        """`contents`: the per-process Content cache (built here over the outbound store's engine by default)."""
        self.twilio = twilio
        self.outbound = outbound
        self.senders = senders
        self.contents = contents or ContentTemplates(twilio, outbound.engine)
        self._locks: Dict[str, asyncio.Lock] = {}
        self._users: Dict[str, int] = {}

    @asynccontextmanager
    async def _recipient_lock(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    async def send(
        self,
        recipient_id: str,
        body: Optional[str] = None,
        media_url: Optional[str] = None,
        *,
        inbox_id: Optional[int] = None,
        status_callback: Optional[str] = None,
        kind: str = "bot",
        allow_opted_out: bool = False,
        reply_index: Optional[int] = None,
        retry: Optional[RetriedTurn] = None,
        content: Optional[ContentMessage] = None,
    ) -> bool:
        """Send one message and wait until Twilio accepted it (True) or it finally failed/was refused.

        With `content`, `body` is the text the Content shows (recorded, and compared by retries).
        """
        key = normalize_e164(recipient_id)
        to = whatsapp_address(key)
        async with self._recipient_lock(key):
            if retry is not None and await retry.already_sent(reply_index, to, body, media_url,
                                                              self.twilio, self.outbound):
                return True
            if not allow_opted_out and await asyncio.to_thread(self.senders.is_opted_out, key):
                await asyncio.to_thread(self.outbound.create, key, inbox_id, kind, body, media_url,
                                        "suppressed", "recipient opted out", reply_index)
                OUTBOUND_SENDS.labels(status="suppressed").inc()
                logger.info("Not sending to %s: opted out (%s message suppressed)", key, kind)
                return False
            error_code = await self._send_recorded(key, to, body, media_url, inbox_id, status_callback, kind,
                                                   reply_index, content)
            if error_code == UNKNOWN_CONTENT and content is not None:
                await self.contents.forget(content.sid)
                logger.warning("Content %s unknown at Twilio; sending the numbered text to %s", content.sid, key)
                error_code = await self._send_recorded(key, to, content.fallback, None, inbox_id, status_callback,
                                                       kind, reply_index, None)
            return error_code is None

    async def _send_recorded(self, key: str, to: str, body: Optional[str], media_url: Optional[str],
                             inbox_id: Optional[int], status_callback: Optional[str], kind: str,
                             reply_index: Optional[int], content: Optional[ContentMessage]) -> Optional[int]:
        """One recorded send (the caller holds the recipient's lock): None when accepted, else the error code
        (0 when Twilio gave none)."""
        row_id = await asyncio.to_thread(self.outbound.create, key, inbox_id, kind, body, media_url,
                                         reply_index=reply_index)

        async def on_retry(attempt: int, code: Optional[int], text: str) -> None:
            OUTBOUND_SENDS.labels(status="retried").inc()
            await asyncio.to_thread(self.outbound.record_attempt, row_id, attempt, code, text)

        result = await self.twilio.send(to, body, media_url, status_callback, on_retry,
                                        content_sid=content.sid if content else None,
                                        content_variables=content.variables if content else None)
        if result.ok:
            assert result.sid is not None and result.status is not None
            await asyncio.to_thread(self.outbound.record_accepted, row_id, result.sid, result.status,
                                    result.attempts)
            OUTBOUND_SENDS.labels(status="accepted").inc()
            return None
        await asyncio.to_thread(self.outbound.record_failed, row_id, result.attempts, result.error_code,
                                result.error_message or "unknown error")
        OUTBOUND_SENDS.labels(status="failed").inc()
        logger.error("Outbound message %d to %s failed for good after %d attempt(s): %s",
                     row_id, key, result.attempts, result.error_message)
        return result.error_code or 0
