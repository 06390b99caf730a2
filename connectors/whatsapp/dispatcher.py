"""Outbound sending: one message at a time per recipient, each recorded, none silently dropped.

The stock connector fires sends without waiting, so a turn's messages reach WhatsApp out of order
(rasa#11680). Here a per-recipient lock makes every send wait for Twilio's acceptance of the previous
one; each message gets a `whatsapp_outbound` row before the first attempt and ends `queued`/`accepted`
(then moved by status callbacks), `failed` (counted, logged) or `suppressed` (recipient opted out).
A retried turn passes what its earlier attempts did at the same reply position (`replay.py`): a reply
Twilio accepted is not sent again; an interrupted send is looked up at Twilio first.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator, Dict, Optional

from connectors.whatsapp.outbound_store import EarlierReply, OutboundStore
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.twilio_gateway import TwilioGateway
from rasa_project.metrics import OUTBOUND_SENDS

logger = logging.getLogger(__name__)


def whatsapp_address(recipient_id: str) -> str:
    """Rasa's sender id (`+52...`) → Twilio's `whatsapp:+52...`."""
    recipient = recipient_id.strip()
    return recipient if recipient.startswith("whatsapp:") else f"whatsapp:{recipient}"


def sender_key(recipient_id: str) -> str:
    return recipient_id.strip().removeprefix("whatsapp:")


class OutboundDispatcher:
    def __init__(self, gateway: TwilioGateway, outbound: OutboundStore, senders: SenderStore) -> None:
        self.gateway = gateway
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
        earlier: Optional[EarlierReply] = None,
    ) -> bool:
        """Send one message and wait until Twilio accepted it (True) or it finally failed/was refused."""
        key = sender_key(recipient_id)
        async with self._recipient_lock(key):
            if earlier is not None and await self._sent_before(key, body, media_url, earlier, reply_index):
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

            result = await self.gateway.send(whatsapp_address(key), body, media_url, status_callback, on_retry)
            if result.ok:
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

    async def _sent_before(self, key: str, body: Optional[str], media_url: Optional[str],
                           earlier: EarlierReply, reply_index: Optional[int]) -> bool:
        """Did an earlier attempt of this turn already get this reply to Twilio?"""
        if earlier.interrupted:
            try:
                candidates = await self.gateway.find_sent(whatsapp_address(key), body, media_url,
                                                          earlier.created_at)
                known = await asyncio.to_thread(self.outbound.known_sids, [c.sid for c in candidates])
            except Exception as exc:  # the lookup is best effort: a duplicate beats a lost reply
                logger.warning("Reply %s to %s: could not look up its interrupted send at Twilio (%s: %s); "
                               "sending it again", reply_index, key, type(exc).__name__, exc)
                return False
            found = next((c for c in candidates if c.sid not in known), None)
            if found is None:
                await asyncio.to_thread(self.outbound.mark_interrupted, earlier.row_id)
                return False
            await asyncio.to_thread(self.outbound.record_accepted, earlier.row_id, found.sid, found.status, 1)
            logger.info("Reply %s to %s: its interrupted send reached Twilio as %s; not sent again",
                        reply_index, key, found.sid)
        elif not earlier.accepted:
            return False
        OUTBOUND_SENDS.labels(status="not_repeated").inc()
        logger.info("Reply %s to %s already sent by an earlier attempt of the turn%s; not repeated",
                    reply_index, key, "" if earlier.body == body else " (other wording)")
        return True
