"""Outbound sending: one message at a time per recipient, each recorded, none silently dropped.

The stock connector fires sends without waiting, so a turn's messages reach WhatsApp out of order
(rasa#11680). Here a per-recipient lock makes every send wait for Twilio's acceptance of the previous
one; each message gets a `whatsapp_outbound` row before the first attempt and ends `queued`/`accepted`
(then moved by status callbacks), `failed` (counted, logged) or `suppressed` (recipient opted out).
A reply of a retried turn that an earlier attempt already sent is skipped (`retried_turn.py`).
A message with buttons goes by Content SID (`content`); its row records the text the client reads, and
when Twilio no longer knows the SID (21655) the cached SID is forgotten and the numbered text goes
instead, so the message is never lost.

The delivery rules (docs/whatsapp-window.md, decisions in `delivery_rules.py`) are applied here, so every
path (turn replies, notices, proactive sends, the team's messages) obeys them: the client's state is read
once per message (`SenderStore.recipient`, or handed in by the output); on WhatsApp outside the window a
free-form message is `skipped` (never sent to Twilio, the reason recorded), except a late reply of a retried
turn, which becomes the `seguimiento` template once; a proactive message to a number Twilio called
undeliverable is `skipped`; SMS recipients get text from our SMS number (a media URL as text). A 63016
for a message that carried a template retries it once as that template; an undeliverable code marks the
client.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Dict, Optional, Set

from connectors.whatsapp.content_store import ContentTemplates
from connectors.whatsapp.delivery_rules import (
    NO_TEMPLATE,
    OUTSIDE_WINDOW,
    UNDELIVERABLE_CODES,
    TemplateRef,
    follow_up,
    window_open,
)
from connectors.whatsapp.outbound_store import OFFERED, SENT_AS_TEMPLATE, OutboundStore
from connectors.whatsapp.retried_turn import RetriedTurn
from connectors.whatsapp.sender_store import Recipient, SenderStore
from connectors.whatsapp.tables import utcnow
from connectors.whatsapp.twilio_client import TwilioClient
from rasa_project.metrics import OUTBOUND_SENDS, OUTSIDE_WINDOW_MESSAGES, UNDELIVERABLE_MARKS
from rasa_project.phones import SMS, WHATSAPP, Address, normalize_e164

logger = logging.getLogger(__name__)

UNKNOWN_CONTENT = 21655  # Twilio: "The ContentSid is Invalid" (never created, or deleted since)


@dataclass(frozen=True)
class ContentMessage:
    """A send by Content SID; `fallback` is the numbered text sent if Twilio does not know the SID."""

    sid: str
    variables: str
    fallback: str
    template: Optional[TemplateRef] = None  # an approved WhatsApp template: it may go outside the window


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
        self._retries: Set[asyncio.Task] = set()

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
        recipient: Optional[Recipient] = None,
        medium: Optional[str] = None,
        offer: Optional[TemplateRef] = None,
    ) -> bool:
        """Send one message and wait until Twilio accepted it (True) or it finally failed/was refused/skipped.

        With `content`, `body` is the text the Content shows (recorded, and compared by retries).
        `recipient`: the client's state when the caller already read it (else read here, once); `medium`:
        how to reach them when the caller knows (the turn's inbound message), else the state's; `offer`: the
        template this free-form message may be retried as after a 63016.
        """
        key = normalize_e164(recipient_id)
        async with self._recipient_lock(key):
            state = recipient if recipient is not None else await asyncio.to_thread(self.senders.recipient, key)
            medium = medium or state.medium
            to = Address(key, medium).twilio
            if medium == SMS:  # no media, buttons nor templates on SMS: the URL as text
                body = f"{body}\n{media_url}" if body and media_url else (body or media_url)
                media_url, content, offer = None, None, None
            if retry is not None and await retry.already_sent(reply_index, to, body, media_url,
                                                              self.twilio, self.outbound):
                return True
            if not allow_opted_out and state.opted_out:
                await asyncio.to_thread(self.outbound.create, key, inbox_id, kind, body, media_url,
                                        "suppressed", "recipient opted out", reply_index)
                OUTBOUND_SENDS.labels(status="suppressed").inc()
                logger.info("Not sending to %s: opted out (%s message suppressed)", key, kind)
                return False
            if state.undeliverable_code is not None and inbox_id is None:
                return await self.skip(key, inbox_id, kind, body, media_url, reply_index,
                                        f"undeliverable:{state.undeliverable_code}", "undeliverable")
            is_template = content is not None and content.template is not None
            if medium == WHATSAPP and not is_template and not window_open(
                    state.last_inbound_at, utcnow(), self.twilio.settings.whatsapp_window_hours, medium):
                late = await self._late_follow_up(key, state, inbox_id, kind, body, media_url, reply_index)
                if late is not None:
                    content, body, media_url, offer = late, late.fallback, None, None
                else:
                    return await self.skip(key, inbox_id, kind, body, media_url, reply_index, NO_TEMPLATE,
                                            "skipped")
            error_code = await self._send_recorded(key, to, body, media_url, inbox_id, status_callback, kind,
                                                   reply_index, content, offer)
            if error_code == UNKNOWN_CONTENT and content is not None and content.template is None:
                await self.contents.forget(content.sid)
                logger.warning("Content %s unknown at Twilio; sending the numbered text to %s", content.sid, key)
                error_code = await self._send_recorded(key, to, content.fallback, None, inbox_id, status_callback,
                                                       kind, reply_index, None, offer)
            if error_code in UNDELIVERABLE_CODES:
                await self.mark_undeliverable(key, int(error_code or 0))
            return error_code is None

    async def skip(self, key: str, inbox_id: Optional[int], kind: str, body: Optional[str],
                    media_url: Optional[str], reply_index: Optional[int], reason: str, outcome: str) -> bool:
        """Recorded `skipped` with its reason, counted; Twilio never sees it."""
        await asyncio.to_thread(self.outbound.create, key, inbox_id, kind, body, media_url, "skipped", reason,
                                reply_index)
        OUTSIDE_WINDOW_MESSAGES.labels(outcome=outcome).inc()
        OUTBOUND_SENDS.labels(status="skipped").inc()
        logger.info("Not sending a %s message to %s: %s", kind, key, reason)
        return False

    async def _late_follow_up(self, key: str, state: Recipient, inbox_id: Optional[int], kind: str,
                              body: Optional[str], media_url: Optional[str],
                              reply_index: Optional[int]) -> Optional[ContentMessage]:
        """A reply of a turn retried past the window: the `seguimiento` template once per inbound message
        (when mapped), so the client knows to write; None = skip this reply."""
        if inbox_id is None or kind != "bot" or not body:
            return None
        ref = follow_up(state.profile_name)
        sid = self.twilio.settings.template_sids.get(ref.name)
        if sid is None or await asyncio.to_thread(self.outbound.has_template_for, inbox_id, ref.name):
            return None
        OUTSIDE_WINDOW_MESSAGES.labels(outcome="follow_up").inc()
        return ContentMessage(sid, ref.content_variables, body, ref)

    async def mark_undeliverable(self, sender_id: str, code: int) -> None:
        await asyncio.to_thread(self.senders.mark_undeliverable, sender_id, code)
        UNDELIVERABLE_MARKS.labels(code=str(code)).inc()
        logger.warning("Client %s marked undeliverable (Twilio error %d): proactive messages stop until they "
                       "write again", sender_id, code)

    def schedule_template_retry(self, row_id: int, status_callback: Optional[str]) -> None:
        """A 63016 status callback: retry that message as its template in the background (the callback is
        answered at once)."""
        task = asyncio.create_task(self.retry_as_template(row_id, status_callback))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def retry_as_template(self, row_id: int, status_callback: Optional[str]) -> bool:
        """Send outbound row `row_id` again as the template it carried, once (True when Twilio accepted)."""
        row = await asyncio.to_thread(self.outbound.by_id, row_id)
        if row is None or row.template is None or not await asyncio.to_thread(self.outbound.claim_template_retry,
                                                                               row_id):
            return False
        sid = self.twilio.settings.template_sids.get(row.template.name)
        if sid is None:
            await self.skip(row.sender_id, None, row.kind, row.body, None, None,
                             f"{NO_TEMPLATE}:{row.template.name}", "skipped")
            return False
        OUTSIDE_WINDOW_MESSAGES.labels(outcome="template_retry").inc()
        logger.info("Outbound %d to %s failed with 63016: retried once as template %s", row_id, row.sender_id,
                    row.template.name)
        content = ContentMessage(sid, row.template.content_variables, row.body or "", row.template)
        return await self.send(row.sender_id, row.body, kind=row.kind, status_callback=status_callback,
                               content=content, medium=WHATSAPP)

    async def _send_recorded(self, key: str, to: str, body: Optional[str], media_url: Optional[str],
                             inbox_id: Optional[int], status_callback: Optional[str], kind: str,
                             reply_index: Optional[int], content: Optional[ContentMessage],
                             offer: Optional[TemplateRef] = None) -> Optional[int]:
        """One recorded send (the caller holds the recipient's lock): None when accepted, else the error code
        (0 when Twilio gave none). A refusal with 63016 of a message that offered a template is retried as it."""
        template = content.template if content is not None and content.template is not None else offer
        state = SENT_AS_TEMPLATE if content is not None and content.template is not None else OFFERED
        row_id = await asyncio.to_thread(self.outbound.create, key, inbox_id, kind, body, media_url,
                                         reply_index=reply_index, template=template, template_state=state)

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
        if result.error_code == OUTSIDE_WINDOW and offer is not None and (content is None or content.template is None):
            settings = self.twilio.settings
            sid = settings.template_sids.get(offer.name)
            if sid is not None and await asyncio.to_thread(self.outbound.claim_template_retry, row_id):
                OUTSIDE_WINDOW_MESSAGES.labels(outcome="template_retry").inc()
                retried = ContentMessage(sid, offer.content_variables, body or "", offer)
                return await self._send_recorded(key, to, body, None, inbox_id, status_callback, kind, None, retried)
        return result.error_code or 0
