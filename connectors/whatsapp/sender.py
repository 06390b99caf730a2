"""Outbound sending: one message at a time per recipient, each recorded, none silently dropped.

The stock connector fires sends without waiting, so a turn's messages reach WhatsApp out of order
(rasa#11680). Here a per-recipient lock makes every send wait for Twilio's acceptance of the previous
one; each message gets a `whatsapp_outbound` row before the first attempt and ends `queued`/`accepted`
(then moved by status callbacks), `failed` (counted, logged) or `suppressed` (recipient opted out).
A reply of a retried turn that an earlier attempt already sent is skipped (`retried_turn.py`).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator, Dict, Optional

from connectors.whatsapp.outbound_store import OutboundStore
from connectors.whatsapp.retried_turn import RetriedTurn
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.twilio_client import TwilioClient
from rasa_project.metrics import OUTBOUND_SENDS
from rasa_project.phones import normalize_e164, whatsapp_address

logger = logging.getLogger(__name__)


class OutboundSender:
    def __init__(self, twilio: TwilioClient, outbound: OutboundStore, senders: SenderStore) -> None:
        self.twilio = twilio
        self.outbound = outbound
        self.senders = senders
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
    ) -> bool:
        """Send one message and wait until Twilio accepted it (True) or it finally failed/was refused."""
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
            row_id = await asyncio.to_thread(self.outbound.create, key, inbox_id, kind, body, media_url,
                                             reply_index=reply_index)

            async def on_retry(attempt: int, code: Optional[int], text: str) -> None:
                OUTBOUND_SENDS.labels(status="retried").inc()
                await asyncio.to_thread(self.outbound.record_attempt, row_id, attempt, code, text)

            result = await self.twilio.send(to, body, media_url, status_callback, on_retry)
            if result.ok:
                assert result.sid is not None and result.status is not None
                await asyncio.to_thread(self.outbound.record_accepted, row_id, result.sid, result.status,
                                        result.attempts)
                OUTBOUND_SENDS.labels(status="accepted").inc()
                return True
            await asyncio.to_thread(self.outbound.record_failed, row_id, result.attempts, result.error_code,
                                    result.error_message or "unknown error")
            OUTBOUND_SENDS.labels(status="failed").inc()
            logger.error("Outbound message %d to %s failed for good after %d attempt(s): %s",
                         row_id, key, result.attempts, result.error_message)
            return False
