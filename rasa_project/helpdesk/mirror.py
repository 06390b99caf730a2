"""The helpdesk mirror: copies every WhatsApp conversation into Chatwoot from `helpdesk_outbox`.

The tracker store writes an outbox row in the same transaction as the events (the client's message, the
bot's, a handoff, a handback), so a turn never waits for Chatwoot and nothing is lost when it is down.
This loop, in the Rasa process beside the channel's, claims due rows (`outbox.py`: per sender in order,
once across workers), finds or creates the sender's Chatwoot contact and conversation (`pending` while the
bot has it; cached in `helpdesk_conversations`), and posts:
- message_in → an incoming message; message_out → an outgoing one (the bot's words, for the team to read);
- handoff → a private note (reason, hours, the last turns), then the conversation `open`: the team's;
- handback → a private note, then `pending` again (an incoming message would otherwise reopen it).
Every post carries `source_id` = `assistant:<row id>`; a retry first looks for it among the conversation's
latest messages, so a timeout after Chatwoot stored the message does not double it. Chatwoot refusing a
row for good (422) marks it done with the reason, so one bad row never blocks the sender's later ones;
anything else is retried with backoff, and the sender's later rows wait behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rasa_project.backoff import backoff_delay
from rasa_project.handoff.tables import HANDBACK, HANDOFF, MESSAGE_IN, MESSAGE_OUT, handoffs
from rasa_project.helpdesk.chatwoot_client import (
    ChatwootClient,
    ChatwootError,
    ChatwootInvalid,
    ChatwootNotFound,
)
from rasa_project.helpdesk.outbox import OutboxRow, OutboxStore, utcnow
from rasa_project.helpdesk.tables import conversations
from rasa_project.metrics import HELPDESK_MIRROR, HELPDESK_OUTBOX_BACKLOG

logger = logging.getLogger(__name__)

SOURCE_PREFIX = "assistant:"  # on every message we post: our webhook skips them, retries find them
KINDS = (MESSAGE_IN, MESSAGE_OUT, HANDOFF, HANDBACK)
WHO = {"client": "Cliente", "user": "Cliente", "bot": "Asistente", "team": "Equipo"}  # last_turns' `who`


def source_id_of(row: OutboxRow, part: str = "") -> str:
    return f"{SOURCE_PREFIX}{row.id}{part}"


@dataclass(frozen=True)
class ConversationRef:
    contact_id: int
    conversation_id: int


class ConversationMap:
    """sender_id ↔ Chatwoot conversation (sync; called through `asyncio.to_thread`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, sender_id: str) -> Optional[ConversationRef]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(conversations.c.contact_id, conversations.c.conversation_id)
                               .where(conversations.c.sender_id == sender_id)).first()
        return ConversationRef(int(row[0]), int(row[1])) if row else None

    def sender_of(self, conversation_id: int) -> Optional[str]:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(conversations.c.sender_id)
                                .where(conversations.c.conversation_id == str(conversation_id))).scalar()

    def put(self, sender_id: str, ref: ConversationRef, source_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(conversations.delete().where(conversations.c.sender_id == sender_id))
            conn.execute(conversations.insert().values(
                sender_id=sender_id, contact_id=str(ref.contact_id), conversation_id=str(ref.conversation_id),
                source_id=source_id, created_at=utcnow()))

    def forget(self, sender_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(conversations.delete().where(conversations.c.sender_id == sender_id))

    def note_on_handoff(self, sender_id: str, ref: ConversationRef) -> None:
        """Copy the ids onto the sender's `handoffs` row, for the operator API and the team's tools."""
        with self.engine.begin() as conn:
            conn.execute(handoffs.update().where(handoffs.c.sender_id == sender_id).values(
                helpdesk_conversation_id=str(ref.conversation_id), helpdesk_contact_id=str(ref.contact_id)))

    def profile_name(self, sender_id: str) -> Optional[str]:
        """The WhatsApp profile name the channel recorded, so agents see a name rather than a number."""
        try:
            with self.engine.connect() as conn:
                name = conn.execute(sa.text("SELECT profile_name FROM whatsapp_senders WHERE sender_id = :s"),
                                    {"s": sender_id}).scalar()
        except sa.exc.SQLAlchemyError:
            return None
        return str(name) if name else None


def handoff_note(payload: Dict[str, Any]) -> str:
    lines = [f"🤝 El cliente pide una persona. Motivo: {payload.get('reason') or 'sin motivo'}."]
    if payload.get("in_hours") is False:
        opens = payload.get("next_open")
        lines.append(f"Fuera de horario{f'; abrimos {opens}' if opens else ''}: se le ha avisado.")
    turns: List[Dict[str, Any]] = [t for t in payload.get("last_turns") or [] if isinstance(t, dict)]
    if turns:
        lines.append("Últimos mensajes:")
        lines += [f"{WHO.get(str(t.get('who', '')).lower(), str(t.get('who') or '?'))}: {t.get('text') or ''}"
                  for t in turns]
    return "\n".join(lines)


def handback_note(payload: Dict[str, Any]) -> str:
    by = payload.get("by") or payload.get("ended_by")
    return f"🤖 El asistente vuelve a atender esta conversación{f' ({by})' if by else ''}."


class HelpdeskMirror:
    """`lanes` concurrent claimers in this process; more processes may run their own on the same database."""

    def __init__(self, engine: Engine, client: ChatwootClient, *, lanes: int = 2, poll_seconds: float = 1.0,
                 lease_seconds: float = 120.0, backoff_base: float = 1.0, backoff_cap: float = 60.0) -> None:
        self.outbox, self.map, self.client = OutboxStore(engine), ConversationMap(engine), client
        self.lanes, self.poll_seconds, self.lease_seconds = max(1, lanes), poll_seconds, lease_seconds
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self._tasks: List[asyncio.Task] = []
        self._wake = asyncio.Event()

    # -- the loop ------------------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [asyncio.get_running_loop().create_task(self._lane(n), name=f"helpdesk-mirror-{n}")
                       for n in range(self.lanes)]

    async def stop(self) -> None:
        """Cancel at once: a row cut short keeps its lease, is retried after it and found by its source id."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def wake(self) -> None:
        self._wake.set()

    async def _lane(self, number: int) -> None:
        while True:
            try:
                worked = await self.run_once()
            except sa.exc.SQLAlchemyError as exc:  # the database is away: the rows wait there
                logger.warning("helpdesk mirror: database error (%s: %s)", type(exc).__name__, exc)
                worked = 0
            except Exception:  # a bug must not kill the loop for good
                logger.exception("helpdesk mirror lane %d crashed; continuing", number)
                worked = 0
            if worked:
                continue
            if number == 0:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    HELPDESK_OUTBOX_BACKLOG.set(await asyncio.to_thread(self.outbox.backlog))
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_once(self) -> int:
        """Claim and handle one due row; 1 if one was handled (sent or retried), 0 when none was due."""
        row = await asyncio.to_thread(self.outbox.claim, self.lease_seconds)
        if row is None:
            return 0
        await self.handle(row)
        return 1

    async def drain(self) -> int:
        """Handle due rows until none is (tests, catch-up); returns how many were handled."""
        handled = 0
        while await self.run_once():
            handled += 1
        return handled

    # -- one row -------------------------------------------------------------------------------------

    async def handle(self, row: OutboxRow) -> None:
        kind = row.kind if row.kind in KINDS else "other"
        try:
            if row.kind in KINDS:
                outcome = await self._mirror(row)
            else:
                outcome = "skipped"
                logger.warning("helpdesk outbox row %s has unknown kind %r: skipped", row.id, row.kind)
        except ChatwootInvalid as exc:
            logger.error("Chatwoot refused outbox row %s (%s) for good: %s", row.id, row.kind, exc)
            await asyncio.to_thread(self.outbox.mark_sent, row, f"rejected: {exc}"[:1000])
            HELPDESK_MIRROR.labels(kind=kind, outcome="rejected").inc()
            return
        except ChatwootError as exc:
            if isinstance(exc, ChatwootNotFound):  # deleted in the console: a new conversation next time
                await asyncio.to_thread(self.map.forget, row.sender_id)
            delay = backoff_delay(row.attempts, self.backoff_base, self.backoff_cap)
            logger.warning("helpdesk outbox row %s (%s) for %s: %s; retry %d in %.1fs", row.id, row.kind,
                           row.sender_id, exc, row.attempts, delay)
            await asyncio.to_thread(self.outbox.retry_later, row, f"{exc.kind}: {exc}", delay)
            HELPDESK_MIRROR.labels(kind=kind, outcome="retried").inc()
            return
        if not await asyncio.to_thread(self.outbox.mark_sent, row, None if outcome != "skipped" else "unknown kind"):
            logger.warning("helpdesk outbox row %s: lease lost before it was marked sent", row.id)
        HELPDESK_MIRROR.labels(kind=kind, outcome=outcome).inc()

    async def _mirror(self, row: OutboxRow) -> str:
        ref = await self._conversation(row.sender_id)
        text = str(row.payload.get("text") or "").strip() or "(mensaje sin texto)"
        if row.kind == MESSAGE_IN:
            return await self._post_once(row, ref, text, incoming=True)
        if row.kind == MESSAGE_OUT:
            return await self._post_once(row, ref, text)
        if row.kind == HANDOFF:
            outcome = await self._post_once(row, ref, handoff_note(row.payload), private=True)
            await self.client.toggle_status(ref.conversation_id, "open")
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                await asyncio.to_thread(self.map.note_on_handoff, row.sender_id, ref)
            return outcome
        outcome = await self._post_once(row, ref, handback_note(row.payload), private=True)
        await self.client.toggle_status(ref.conversation_id, "pending")
        return outcome

    async def _post_once(self, row: OutboxRow, ref: ConversationRef, content: str, *, incoming: bool = False,
                         private: bool = False) -> str:
        source_id = source_id_of(row)
        if row.attempts > 1 and await self.client.find_message(ref.conversation_id, source_id) is not None:
            return "already_there"  # an earlier attempt landed although we never heard the answer
        await self.client.post_message(ref.conversation_id, content, incoming=incoming, private=private,
                                       source_id=source_id)
        return "sent"

    async def _conversation(self, sender_id: str) -> ConversationRef:
        ref = await asyncio.to_thread(self.map.get, sender_id)
        if ref is not None:
            return ref
        name = await asyncio.to_thread(self.map.profile_name, sender_id)
        contact = await self.client.find_or_create_contact(sender_id, name)
        conversation_id = await self.client.create_conversation(
            contact, status="pending", custom_attributes={"whatsapp": sender_id})
        ref = ConversationRef(contact.contact_id, conversation_id)
        await asyncio.to_thread(self.map.put, sender_id, ref, contact.source_id)
        logger.info("helpdesk: %s mirrored to Chatwoot conversation %s", sender_id, conversation_id)
        return ref
