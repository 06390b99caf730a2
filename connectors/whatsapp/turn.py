"""One claimed inbox message → the channel's own rules, then a Rasa turn.

In order: opt-in keyword (always honoured), opted-out sender (stored, not processed), opt-out keyword,
per-sender rate limit (counted from the inbox, so it holds across instances), numbered-option mapping.
What Rasa receives is saved as `bot_text` before the turn, so a retry sends Rasa the same text even
though the options were already forgotten. A failing turn is retried with backoff up to
`inbox_max_attempts`, then marked failed; never dropped silently. A retry does not answer twice
(`replay.py`): a turn Rasa already logged is not run again, and replies an earlier attempt sent are
not sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage

from connectors.whatsapp import texts
from connectors.whatsapp.dispatcher import OutboundDispatcher
from connectors.whatsapp.inbox_store import InboxRow, InboxStore
from connectors.whatsapp.keywords import is_opt_in, is_opt_out
from connectors.whatsapp.options import choose_option
from connectors.whatsapp.outbound_store import EarlierReply
from connectors.whatsapp.output import CHANNEL_NAME, WhatsAppOutput
from connectors.whatsapp.replay import turn_already_logged
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.tables import DONE, FAILED, OPTED_OUT, RATE_LIMITED
from connectors.whatsapp.twilio_gateway import backoff_delay
from rasa_project.metrics import INBOUND_MESSAGES, TURN_LATENCY, TURNS
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
AgentLookup = Callable[[], Optional[Any]]
MAX_RETRY_DELAY_SECONDS = 60.0


class TurnProcessor:
    def __init__(self, settings: Settings, inbox: InboxStore, senders: SenderStore,
                 dispatcher: OutboundDispatcher, on_new_message: OnNewMessage, owner: str,
                 agent: AgentLookup = lambda: None) -> None:
        """`agent`: Rasa's current agent (it can be replaced at run time), for a retry's tracker check."""
        self.settings = settings
        self.inbox = inbox
        self.senders = senders
        self.dispatcher = dispatcher
        self.on_new_message = on_new_message
        self.owner = owner
        self.agent = agent

    async def _finish(self, row: InboxRow, status: str, error: Optional[str] = None) -> None:
        if not await asyncio.to_thread(self.inbox.finish, row.id, self.owner, status, error):
            logger.warning("Inbox message %d: lease lost before it could be marked %s", row.id, status)

    def _output(self, row: InboxRow, earlier: Dict[int, EarlierReply], kind: str = "bot") -> WhatsAppOutput:
        return WhatsAppOutput(self.dispatcher, inbox_id=row.id, public_base_url=row.public_base_url, kind=kind,
                              earlier=earlier)

    async def _notify(self, row: InboxRow, earlier: Dict[int, EarlierReply], text: str, kind: str) -> None:
        await self._output(row, earlier, kind).send_one(row.sender_id, text, allow_opted_out=True)

    async def _gate(self, row: InboxRow, earlier: Dict[int, EarlierReply]) -> Optional[str]:
        """The text for Rasa, or None when the channel handled the message itself."""
        state = await asyncio.to_thread(self.senders.get, row.sender_id)
        if is_opt_in(row.body):
            await asyncio.to_thread(self.senders.set_opted_out, row.sender_id, False)
            logger.info("Sender %s opted in", row.sender_id)
            await self._notify(row, earlier, texts.OPTED_IN, "opt_in")
            await self._finish(row, DONE)
            return None
        if state.opted_out:
            INBOUND_MESSAGES.labels(outcome="opted_out").inc()
            await self._finish(row, OPTED_OUT)
            return None
        if is_opt_out(row.body):
            await asyncio.to_thread(self.senders.set_opted_out, row.sender_id, True)
            logger.info("Sender %s opted out", row.sender_id)
            await self._notify(row, earlier, texts.OPTED_OUT, "opt_out")
            await self._finish(row, DONE)
            return None
        window = self.settings.rate_limit_window_seconds
        recent = await asyncio.to_thread(self.inbox.count_recent, row.sender_id, row.id,
                                         row.received_at - timedelta(seconds=window))
        if recent >= self.settings.rate_limit_messages:
            INBOUND_MESSAGES.labels(outcome="rate_limited").inc()
            logger.warning("Sender %s rate limited: %d messages in %.0fs (inbox %d not processed)",
                           row.sender_id, recent + 1, window, row.id)
            await self._finish(row, RATE_LIMITED)
            if await asyncio.to_thread(self.senders.take_rate_limit_notice, row.sender_id, window):
                await self._notify(row, earlier, texts.RATE_LIMITED, "rate_limit")
            return None
        chosen = choose_option(row.body, state.options)
        bot_text = chosen.payload if chosen else row.body
        await asyncio.to_thread(self.inbox.set_bot_text, row.id, self.owner, bot_text)
        if state.options:
            await asyncio.to_thread(self.senders.clear_options, row.sender_id)
        return bot_text

    async def _keep_lease(self, row_id: int) -> None:
        interval = max(self.settings.inbox_lease_seconds / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            if not await asyncio.to_thread(self.inbox.renew_lease, row_id, self.owner,
                                           self.settings.inbox_lease_seconds):
                logger.warning("Inbox message %d: lease could not be renewed", row_id)
                return

    async def process(self, row: InboxRow) -> None:
        started = time.monotonic()
        max_attempts = max(1, self.settings.inbox_max_attempts)
        if row.attempts > max_attempts:
            TURNS.labels(outcome="failed").inc()
            logger.error("Inbox message %d from %s failed: its lease expired %d times (worker died mid-turn)",
                         row.id, row.sender_id, row.attempts - 1)
            await self._finish(row, FAILED, "LeaseExpired: processing never finished")
            return
        heartbeat = asyncio.create_task(self._keep_lease(row.id))
        try:
            retry = row.attempts > 1
            earlier = await asyncio.to_thread(self.dispatcher.outbound.earlier_replies, row.id) if retry else {}
            bot_text = row.bot_text if row.bot_text is not None else await self._gate(row, earlier)
            if bot_text is None:
                return
            if retry and row.bot_text is not None and await turn_already_logged(
                    self.agent(), row.sender_id, row.message_sid):
                logger.info("Inbox message %d: Rasa had logged its turn before the attempt stopped; "
                            "not run again", row.id)
            else:
                metadata = dict(row.metadata)
                if bot_text != row.body:
                    metadata["original_text"] = row.body
                await self.on_new_message(UserMessage(bot_text, self._output(row, earlier), row.sender_id,
                                                      input_channel=CHANNEL_NAME, message_id=row.message_sid,
                                                      metadata=metadata))
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.to_thread(self.inbox.release, row.id, self.owner))
            raise
        except Exception as exc:  # any failure of the turn: logged with its type, counted, retried
            await self._failed(row, exc, max_attempts)
            return
        finally:
            heartbeat.cancel()
        await self._finish(row, DONE)
        TURNS.labels(outcome="ok").inc()
        TURN_LATENCY.observe(time.monotonic() - started)

    async def _failed(self, row: InboxRow, exc: Exception, max_attempts: int) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= max_attempts:
            TURNS.labels(outcome="failed").inc()
            logger.error("Inbox message %d from %s failed after %d attempts: %s", row.id, row.sender_id,
                         row.attempts, error, exc_info=exc)
            await self._finish(row, FAILED, error)
            return
        delay = backoff_delay(row.attempts, self.settings.inbox_retry_base_seconds, MAX_RETRY_DELAY_SECONDS)
        TURNS.labels(outcome="retried").inc()
        logger.warning("Inbox message %d from %s: turn failed (attempt %d/%d, %s); retrying in %.1fs",
                       row.id, row.sender_id, row.attempts, max_attempts, error, delay)
        await asyncio.to_thread(self.inbox.retry_later, row.id, self.owner, error, delay)
