"""Proactive messages through the inbox: queued once, run once as Rasa's external event, outcome known.

The agent here is a stand-in with Rasa's real lock store and tracker store: it records the external event
in the tracker and answers through the output channel, as the trigger_intent path does. The real model
runs the same path in tests/e2e/test_reminders.py.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict, List

import sqlalchemy as sa
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.whatsapp.proactive import KEY_ENTITY, ProactiveMessage, enqueue, outcomes
from tests.connector.support import client_wrote, eventually

A, B, C, D, E = "+5215550001001", "+5215550001002", "+5215550001003", "+5215550001004", "+5215550001005"
INTENT = "EXTERNAL_recordatorio"


class ExternalEventAgent:
    """Rasa's agent as far as the channel uses it for an external event."""

    def __init__(self) -> None:
        self.tracker_store = InMemoryTrackerStore(Domain.empty())
        self.lock_store = InMemoryLockStore()
        self.domain = SimpleNamespace(intents=[INTENT])
        self.triggered: List[Dict[str, Any]] = []
        self.processor = SimpleNamespace(fetch_tracker_and_update_session=self._fetch)

    async def _fetch(self, sender_id: str, output: Any) -> DialogueStateTracker:
        return await self.tracker_store.get_or_create_tracker(sender_id)

    async def trigger_intent(self, intent: str, entities: Dict[str, Any], output: Any,
                             tracker: DialogueStateTracker) -> None:
        self.triggered.append({"sender": tracker.sender_id, "intent": intent, **entities})
        tracker.update(UserUttered.create_external(intent, [{"entity": k, "value": v} for k, v in entities.items()]))
        await self.tracker_store.save(tracker)
        await output.send_text_message(tracker.sender_id, f"Tu clase es mañana ({entities['reserva_id']})")


def _enqueue(url: str, message: ProactiveMessage) -> bool:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.begin() as conn:
            return enqueue(conn, message)
    finally:
        engine.dispose()


def wrote_now(url: str, phone: str) -> None:
    """The client wrote a moment ago (`support.client_wrote`): the window is open for free-form text."""
    engine = sa.create_engine(url, future=True)
    try:
        client_wrote(engine, phone)
    finally:
        engine.dispose()


def _outcome(url: str, key: str) -> Any:
    engine = sa.create_engine(url, future=True)
    try:
        return outcomes(engine, [key]).get(key)
    finally:
        engine.dispose()


async def test_a_queued_message_runs_once_as_an_external_event(start_channel, sandbox, settings) -> None:
    agent = ExternalEventAgent()
    channel = await start_channel(agent=agent)
    wrote_now(settings.tracker_db_url, A)
    before = channel.query("SELECT last_inbound_at FROM whatsapp_senders WHERE sender_id = :s", s=A)
    message = ProactiveMessage(A, "reminder-1", INTENT, {"reserva_id": "B1"})
    assert _enqueue(settings.tracker_db_url, message)
    assert not _enqueue(settings.tracker_db_url, message)  # a second enqueue of the key is a no-op

    replies = await channel.replies(sandbox, A)
    outcome = await eventually(lambda: (o := _outcome(settings.tracker_db_url, "reminder-1")) and
                               o.state != "pending" and o)
    assert [r["body"] for r in replies] == ["Tu clase es mañana (B1)"]
    assert outcome.state == "sent" and outcome.twilio_sid == replies[0]["sid"]
    assert agent.triggered == [{"sender": A, "intent": INTENT, "reserva_id": "B1", KEY_ENTITY: "reminder-1"}]
    assert channel.received == []  # not a client message: Rasa's handle_message never saw it
    # the bot wrote, not the client: the window (last inbound) is untouched
    assert channel.query("SELECT last_inbound_at FROM whatsapp_senders WHERE sender_id = :s", s=A) == before


async def test_free_text_to_a_client_outside_the_window_is_skipped(start_channel, sandbox, settings) -> None:
    """A client who never wrote: WhatsApp allows only an approved template (the real reminder action sends
    one; this stand-in sends plain text), so nothing reaches Twilio and the outcome says why."""
    agent = ExternalEventAgent()
    await start_channel(agent=agent)
    assert _enqueue(settings.tracker_db_url, ProactiveMessage(E, "reminder-5", INTENT, {"reserva_id": "B5"}))

    outcome = await eventually(lambda: (o := _outcome(settings.tracker_db_url, "reminder-5")) and
                               o.state != "pending" and o)
    assert outcome.state == "skipped" and (outcome.reason or "").startswith("outside_window"), outcome
    assert len(agent.triggered) == 1
    assert await sandbox.messages(f"whatsapp:{E}") == []


async def test_an_event_the_tracker_already_has_is_not_run_again(start_channel, sandbox, settings) -> None:
    agent = ExternalEventAgent()
    tracker = await agent.tracker_store.get_or_create_tracker(B)
    tracker.update(UserUttered.create_external(INTENT, [{"entity": KEY_ENTITY, "value": "reminder-2"}]))
    await agent.tracker_store.save(tracker)
    await start_channel(agent=agent)
    assert _enqueue(settings.tracker_db_url, ProactiveMessage(B, "reminder-2", INTENT, {"reserva_id": "B2"}))

    outcome = await eventually(lambda: (o := _outcome(settings.tracker_db_url, "reminder-2")) and
                               o.state != "pending" and o)
    assert (outcome.state, outcome.reason) == ("skipped", "no_message")
    assert agent.triggered == []
    assert await sandbox.messages(f"whatsapp:{B}") == []


async def test_an_opted_out_client_gets_nothing(start_channel, sandbox, settings) -> None:
    agent = ExternalEventAgent()
    channel = await start_channel(agent=agent)
    await channel.send(C, "BAJA")
    await channel.replies(sandbox, C)  # the opt-out confirmation
    assert _enqueue(settings.tracker_db_url, ProactiveMessage(C, "reminder-3", INTENT, {"reserva_id": "B3"}))

    outcome = await eventually(lambda: (o := _outcome(settings.tracker_db_url, "reminder-3")) and
                               o.state != "pending" and o)
    assert (outcome.state, outcome.reason) == ("skipped", "opted_out")
    assert agent.triggered == []
    assert len(await sandbox.messages(f"whatsapp:{C}")) == 1


async def test_an_intent_the_domain_lacks_fails_at_once(start_channel, sandbox, settings) -> None:
    agent = ExternalEventAgent()
    await start_channel(agent=agent)
    assert _enqueue(settings.tracker_db_url, ProactiveMessage(D, "reminder-4", "EXTERNAL_nada", {}))

    outcome = await eventually(lambda: (o := _outcome(settings.tracker_db_url, "reminder-4")) and
                               o.state != "pending" and o)
    assert outcome.state == "failed" and "EXTERNAL_nada" in (outcome.reason or "")
    assert agent.triggered == []
