"""A retried turn answers once: the replies an earlier attempt got to Twilio are not sent again, an
interrupted send is looked up at Twilio, and a turn Rasa already logged is not run again."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from connectors.whatsapp.inbound import parse_inbound_form
from connectors.whatsapp.inbox_store import InboxStore
from connectors.whatsapp.outbound_store import OutboundStore
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.whatsapp_simulator import build_inbound_form
from tests.connector.support import ACCOUNT_SID, AUTH_TOKEN, eventually

A, B = "+5215533330001", "+5215533330002"


def left_by_a_dead_worker(settings, number: str, body: str, bot_text: str | None = None):
    """An inbox message an instance claimed and then died on (its lease already expired)."""
    engine = create_log_engine(settings.tracker_db_url, settings)
    migrate(engine)
    inbox = InboxStore(engine)
    message = parse_inbound_form(build_inbound_form(number, body), 1000)
    inbox.accept(message, "http://127.0.0.1:1")
    row = inbox.claim_next(number, "dead-instance", lease_seconds=-1).row
    if bot_text is not None:
        inbox.set_bot_text(row.id, "dead-instance", bot_text)
    return engine, row


async def test_replies_twilio_accepted_before_the_turn_failed_are_not_sent_again(start_channel, sandbox):
    calls = {"n": 0}

    async def handler(message):
        calls["n"] += 1
        out = message.output_channel
        if calls["n"] == 1:
            await out.send_text_message(message.sender_id, "Hola, te ayudo con tu reserva.")
            raise ConnectionError("tracker store went away after the first reply")
        await out.send_text_message(message.sender_id, "¡Hola! Te ayudo con tu reserva.")  # reworded
        await out.send_text_message(message.sender_id, "¿Para qué día?")

    channel = await start_channel(handler)
    await channel.send(A, "quiero reservar")
    replies = await channel.replies(sandbox, A, min_count=2)
    await eventually(lambda: channel.query("SELECT status, attempts FROM whatsapp_inbox") == [("done", 2)])
    assert [r["body"] for r in replies] == ["Hola, te ayudo con tu reserva.", "¿Para qué día?"]
    assert calls["n"] == 2
    rows = channel.query("SELECT reply_index, status, twilio_sid IS NOT NULL FROM whatsapp_outbound ORDER BY id")
    assert [(i, sid) for i, _, sid in rows] == [(0, True), (1, True)]
    assert (await sandbox.stats())["accepted"] == 2


async def test_an_interrupted_send_that_reached_twilio_is_not_sent_again(settings, start_channel, sandbox):
    engine, row = left_by_a_dead_worker(settings, A, "hola", bot_text="hola")
    outbound = OutboundStore(engine)
    cut = outbound.create(A, row.id, "bot", "¡Hola! ¿En qué te ayudo?", None, reply_index=0)
    # the dead worker's request did reach Twilio; its answer (the SID) never made it to our row
    twilio = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=AsyncTwilioHttpClient())
    twilio.api.base_url = sandbox.url
    sent = await twilio.messages.create_async(to=f"whatsapp:{A}", from_=settings.twilio_sender,
                                              body="¡Hola! ¿En qué te ayudo?")
    await twilio.http_client.close()
    engine.dispose()

    async def handler(message):
        await message.output_channel.send_text_message(message.sender_id, "¡Hola! ¿En qué te ayudo?")
        await message.output_channel.send_text_message(message.sender_id, "Escribe *menu* para ver opciones.")

    channel = await start_channel(handler)
    replies = await channel.replies(sandbox, A, min_count=2)
    await eventually(lambda: channel.query("SELECT status FROM whatsapp_inbox") == [("done",)])
    assert [r["body"] for r in replies] == ["¡Hola! ¿En qué te ayudo?", "Escribe *menu* para ver opciones."]
    assert channel.query("SELECT twilio_sid FROM whatsapp_outbound WHERE id = :i", i=cut) == [(sent.sid,)]
    assert channel.query("SELECT count(*) FROM whatsapp_outbound") == [(2,)]


async def test_an_interrupted_send_twilio_never_got_is_sent_by_the_retry(settings, start_channel, sandbox):
    engine, row = left_by_a_dead_worker(settings, A, "hola", bot_text="hola")
    cut = OutboundStore(engine).create(A, row.id, "bot", "¡Hola! ¿En qué te ayudo?", None, reply_index=0)
    engine.dispose()

    channel = await start_channel()
    replies = await channel.replies(sandbox, A)
    await eventually(lambda: channel.query("SELECT status FROM whatsapp_inbox") == [("done",)])
    assert [r["body"] for r in replies] == ["eco: hola"]
    statuses = channel.query("SELECT id, status FROM whatsapp_outbound ORDER BY id")
    assert statuses[0] == (cut, "interrupted") and statuses[1][1] != "interrupted" and len(statuses) == 2


@pytest.mark.parametrize("pinned", [True, False], ids=["text pinned", "plain text unpinned"])
async def test_a_turn_rasa_already_logged_is_not_run_again(settings, start_channel, sandbox, pinned):
    """Pinned: the gate saved what Rasa got; unpinned: a plain text the gate maps again on the retry (gate.py)."""
    engine, logged = left_by_a_dead_worker(settings, A, "gracias, chao", bot_text="gracias, chao" if pinned else None)
    _, not_logged = left_by_a_dead_worker(settings, B, "hola", bot_text="hola" if pinned else None)
    engine.dispose()
    store = InMemoryTrackerStore(Domain.empty())
    tracker = DialogueStateTracker(A, slots=[])
    tracker.update(UserUttered("gracias, chao", message_id=logged.message_sid))
    await store.save(tracker)
    tracker_b = DialogueStateTracker(B, slots=[])
    tracker_b.update(UserUttered("un mensaje anterior", message_id="SM" + "0" * 32))
    await store.save(tracker_b)

    channel = await start_channel(agent=SimpleNamespace(tracker_store=store, processor=None))
    replies_b = await channel.replies(sandbox, B)
    await eventually(lambda: channel.query("SELECT count(*) FROM whatsapp_inbox WHERE status = 'done'") == [(2,)])
    assert [r["body"] for r in replies_b] == ["eco: hola"]
    assert [m.text for m in channel.received] == ["hola"]  # A's turn was not handed to Rasa again
    assert await sandbox.messages(f"whatsapp:{A}") == []
