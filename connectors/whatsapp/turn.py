"""One claimed inbox message → the channel's gate, then a Rasa turn, then its final status.

A voice note is first replaced by its transcript (`voice.py`; the client is shown "🎤 Entendí: «…»"
before the answer, except while the team has the conversation: then Rasa stays silent, and so do we).
The gate (`gate.py`) may answer the message itself (opt-out, rate limit...);
otherwise Rasa runs the turn with an output channel bound to this message. A failing turn is retried with backoff up to
`inbox_max_attempts`, then marked failed; never dropped silently. A retry does not answer twice
(`retried_turn.py`): a turn Rasa already logged is not run again, and replies an earlier attempt sent
are not sent again. The row's lease (`lease.py`) is renewed while the turn runs, so a slow turn is not
taken over by another instance, and its final mark survives a database error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore

from connectors.whatsapp.gate import ChannelGate
from connectors.whatsapp.inbound import MEDIA_PAYLOAD
from connectors.whatsapp.inbox_store import InboxRow, InboxStore
from connectors.whatsapp.lease import Lease
from connectors.whatsapp.outbound_store import OutboundStore
from connectors.whatsapp.output import WhatsAppOutput
from connectors.whatsapp.paths import CHANNEL_NAME
from connectors.whatsapp.proactive import ProactiveMessage, UnknownIntent, request_of, trigger
from connectors.whatsapp.retried_turn import RetriedTurn, turn_already_logged
from connectors.whatsapp.sender import OutboundSender
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.tables import DONE, FAILED, OPTED_OUT
from connectors.whatsapp.voice import voice_media, voice_metadata, voice_text
from rasa_project.backoff import backoff_delay
from rasa_project.conversation_log.save_along import SaveAlong, saving_along
from rasa_project.handoff.store import HandoffStore
from rasa_project.handoff.tables import HUMAN
from rasa_project.metrics import TURN_LATENCY, TURNS
from rasa_project.phones import SMS, WHATSAPP
from rasa_project.settings import Settings
from rasa_project.transcription import Transcriber

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
AgentLookup = Callable[[], Optional[Any]]
MAX_RETRY_DELAY_SECONDS = 60.0
VOICE_ECHO = "🎤 Entendí: «{}»"


class TurnProcessor:
    def __init__(self, settings: Settings, inbox: InboxStore, senders: SenderStore, outbound: OutboundStore,
                 sender: OutboundSender, on_new_message: OnNewMessage, owner: str,
                 agent: AgentLookup = lambda: None, transcriber: Optional[Transcriber] = None,
                 handoffs: Optional[HandoffStore] = None) -> None:
        """`agent`: Rasa's current agent (it can be replaced at run time), for a retry's tracker check;
        `transcriber`: voice notes are transcribed when set (None: the polite "text only" reply);
        `handoffs`: asked before the voice echo whether the team has the conversation."""
        self.settings = settings
        self.inbox = inbox
        self.senders = senders
        self.outbound = outbound
        self.sender = sender
        self.gate = ChannelGate(settings, inbox, senders, owner)
        self.on_new_message = on_new_message
        self.owner = owner
        self.agent = agent
        self.transcriber = transcriber
        self.handoffs = handoffs

    def _output(self, row: InboxRow, retry: RetriedTurn, kind: str = "bot") -> WhatsAppOutput:
        """Bound to the inbound message: replies go on the medium the client used for it (no lookup)."""
        medium = SMS if row.metadata.get("medium") == SMS else WHATSAPP
        return WhatsAppOutput(self.sender, self.senders, inbox_id=row.id, public_base_url=row.public_base_url,
                              kind=kind, retry=retry, medium=medium,
                              recipient=row.context.recipient if row.context is not None else None)

    def _lease(self, row: InboxRow) -> Lease:
        return Lease(self.inbox, row.id, self.owner, self.settings.inbox_lease_seconds)

    async def process(self, row: InboxRow) -> bool:
        """True when the row got its final status (done, failed...); False when it waits for a retry."""
        started = time.monotonic()
        lease = self._lease(row)
        max_attempts = max(1, self.settings.inbox_max_attempts)
        if row.attempts > max_attempts:
            TURNS.labels(outcome="failed").inc()
            logger.error("Inbox message %d from %s failed: its lease expired %d times (worker died mid-turn)",
                         row.id, row.sender_id, row.attempts - 1)
            await lease.finish(FAILED, "LeaseExpired: processing never finished")
            return True
        heartbeat = asyncio.create_task(lease.keep())
        along: Optional[SaveAlong] = None
        try:
            retry = await RetriedTurn.load(self.outbound, row.id, row.attempts)
            output = self._output(row, retry)
            metadata = dict(row.metadata)
            request = request_of(row.sender_id, row.metadata)
            if request is not None:
                status = await self._proactive(request, output, row)
                await lease.finish(status)
                TURNS.labels(outcome="ok" if status == DONE else "skipped").inc()
                return True
            if row.bot_text is None:
                voice = await voice_text(row.metadata, self.transcriber, text=row.body)
                metadata.update(voice_metadata(voice))
                verdict = await self.gate.check(row, voice.text if voice.is_voice_note else None)
                if verdict.text is None:
                    if verdict.notice:
                        await self._output(row, retry, verdict.notice_kind).send_one(
                            row.sender_id, verdict.notice, allow_opted_out=True)
                    await lease.finish(verdict.status)
                    return True
                bot_text: Optional[str] = verdict.text
                transcript = voice.transcript
            else:
                bot_text = row.bot_text
                transcript = bot_text if voice_media(row.metadata, row.body) and bot_text != MEDIA_PAYLOAD else None
                if transcript is not None:
                    metadata["voice"] = {"transcript": transcript}
            # a retry (the text pinned or, for a plain text, mapped again by the gate: `gate.py`)
            if row.attempts > 1 and bot_text is not None and await turn_already_logged(
                    self.agent(), row.sender_id, row.message_sid):
                logger.info("Inbox message %d: Rasa had logged its turn before the attempt stopped; "
                            "not run again", row.id)
                bot_text = None
            if bot_text is not None:
                if bot_text != row.body:
                    metadata["original_text"] = row.body
                if transcript is not None and not await self._handed_off(row.sender_id):
                    # the first reply shows what was understood (reply 0 on a retry too)
                    await output.send_one(row.sender_id, VOICE_ECHO.format(transcript))
                message = UserMessage(bot_text, output, row.sender_id, input_channel=CHANNEL_NAME,
                                      message_id=row.message_sid, metadata=metadata)
                if self.lock_is_local():  # the tracker save that logs the turn marks the row done with it
                    along = SaveAlong(row.message_sid, lambda: self.inbox.finish_statement(row.id, self.owner, DONE))
                    with saving_along(along):
                        await self.on_new_message(message)
                else:
                    await self.on_new_message(message)
        except UnknownIntent as exc:  # a producer's mistake: retrying cannot help
            logger.error("Proactive message %d for %s failed: %s", row.id, row.sender_id, exc)
            TURNS.labels(outcome="failed").inc()
            await lease.finish(FAILED, f"UnknownIntent: {exc}")
            return True
        except asyncio.CancelledError:
            await asyncio.shield(lease.release())
            raise
        except Exception as exc:  # any failure of the turn: logged with its type, counted, retried
            return await self._failed(row, lease, exc, max_attempts)
        finally:
            heartbeat.cancel()
        if along is None or along.applied is None:
            await lease.finish(DONE)
        elif not along.applied:
            lease.lost(DONE)
        TURNS.labels(outcome="ok").inc()
        TURN_LATENCY.observe(time.monotonic() - started)
        return True

    def lock_is_local(self) -> bool:
        """May the finish ride along with the tracker save? Only when Rasa's lock store is this process's
        own: then the sender's next message is claimed by this drain after Rasa released its lock. With a
        shared lock store (Redis, several instances) a row marked done inside Rasa's turn lets another
        instance claim the sender's next message while this one still holds the lock, and that turn then
        waits on Rasa's lock poll (1 s per try), so the row is finished after the turn instead."""
        agent = self.agent()
        store = getattr(agent, "lock_store", None)
        return store is None or isinstance(store, InMemoryLockStore)

    async def _proactive(self, request: ProactiveMessage, output: WhatsAppOutput, row: InboxRow) -> str:
        """A reminder or an offer (`proactive.py`): Rasa's external event, unless the client opted out."""
        if row.context is not None:
            opted_out = row.context.sender.opted_out  # read by the claim
        else:
            opted_out = await asyncio.to_thread(self.senders.is_opted_out, request.sender_id)
        if opted_out:
            logger.info("Proactive message %s not sent: %s opted out", request.key, request.sender_id)
            return OPTED_OUT
        agent = self.agent()
        if agent is None:
            raise RuntimeError("no Rasa agent loaded yet")
        if not await trigger(agent, request, output):
            logger.info("Proactive message %s: Rasa had run it before the attempt stopped; not run again",
                        request.key)
        return DONE

    async def _handed_off(self, sender_id: str) -> bool:
        """One small query, only for a voice note: the bot's own replies need no check (Rasa is paused)."""
        if self.handoffs is None:
            return False
        return await asyncio.to_thread(self.handoffs.state, sender_id) == HUMAN

    async def _failed(self, row: InboxRow, lease: Lease, exc: Exception, max_attempts: int) -> bool:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= max_attempts:
            TURNS.labels(outcome="failed").inc()
            logger.error("Inbox message %d from %s failed after %d attempts: %s", row.id, row.sender_id,
                         row.attempts, error, exc_info=exc)
            await lease.finish(FAILED, error)
            return True
        delay = backoff_delay(row.attempts, self.settings.inbox_retry_base_seconds, MAX_RETRY_DELAY_SECONDS)
        TURNS.labels(outcome="retried").inc()
        logger.warning("Inbox message %d from %s: turn failed (attempt %d/%d, %s); retrying in %.1fs",
                       row.id, row.sender_id, row.attempts, max_attempts, error, delay)
        await lease.retry_later(error, delay)
        return False
